//! Pending invitations (issue 3): list, resend (old link dead), cancel (link says so).
use reqwest::Method;
use roster_tests::*;

#[tokio::test]
async fn resend_replaces_the_link_and_cancel_withdraws_it() {
    let s = stack().await;
    let acme = s.account().await;
    let (a, b) = (format!("a@{}.test", acme.web_address), format!("b@{}.test", acme.web_address));
    let a_id = s.invite(&acme, &a, "agent").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    let b_id = s.invite(&acme, &b, "viewer").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    let first_link = token_from(&s.mail_to(&a).await);

    let pending = s.get("/v1/invitations", Some(&acme.token)).await;
    let items = pending.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["expired"] == false && i["member"]["status"] == "invited"));

    // Resend: a new email with a new link; the old link now explains itself.
    let resent = s.json(Method::POST, &format!("/v1/invitations/{a_id}/resend"), &acme.token, None, None).await;
    assert_eq!(resent.ok(200)["email_sent"], true);
    assert_eq!(s.mails_to(&a).await, 2);
    let second_link = token_from(&s.mail_to(&a).await);
    assert_ne!(first_link, second_link);
    // The list shows the new link's dates.
    let sent_at = |items: &[serde_json::Value]| {
        let item = items.iter().find(|i| i["member"]["id"] == a_id.as_str()).unwrap();
        let at = |k: &str| chrono::DateTime::parse_from_rfc3339(item[k].as_str().unwrap()).unwrap();
        (at("invited_at"), at("expires_at"))
    };
    let relisted = s.get("/v1/invitations", Some(&acme.token)).await;
    let (before, after) = (sent_at(&items), sent_at(relisted.ok(200)["items"].as_array().unwrap()));
    assert!(after.0 > before.0 && after.1 > before.1, "{before:?} → {after:?}");
    let old = s.get(&format!("/invitations/accept?token={first_link}"), None).await;
    assert_eq!(old.status, 410);
    assert!(old.text.contains("A newer invitation was sent"));
    assert_eq!(s.accept(&first_link, "member passphrase 42", "member passphrase 42").await.status, 410);
    assert_eq!(s.accept(&second_link, "member passphrase 42", "member passphrase 42").await.status, 200);

    // Cancel: the link says so, the person is gone and can be invited again.
    let b_link = token_from(&s.mail_to(&b).await);
    let cancelled = s.json(Method::DELETE, &format!("/v1/invitations/{b_id}"), &acme.token, None, None).await;
    assert_eq!(cancelled.status, 204);
    let page = s.get(&format!("/invitations/accept?token={b_link}"), None).await;
    assert_eq!(page.status, 410);
    assert!(page.text.contains("This invitation was cancelled"));
    s.get(&format!("/v1/members/{b_id}"), Some(&acme.token)).await.problem(404);
    assert_eq!(s.get("/v1/invitations", Some(&acme.token)).await.ok(200)["items"].as_array().unwrap().len(), 0);
    s.invite(&acme, &b, "viewer").await.ok(201);
    // Members stored before they carried their link's dates are listed from their invitation.
    let old_style = s.seed_members(&acme, 1, |_, _| {}).await;
    let listed = s.get("/v1/invitations", Some(&acme.token)).await;
    let item = listed.ok(200)["items"].as_array().unwrap().iter().find(|i| i["member"]["id"] == old_style[0].as_str());
    assert!(item.is_some_and(|i| i["expires_at"].is_string()), "{}", listed.text);

    // An accepted invitation can be neither resent nor cancelled.
    s.json(Method::POST, &format!("/v1/invitations/{a_id}/resend"), &acme.token, None, None).await.problem(404);
    s.json(Method::DELETE, &format!("/v1/invitations/{a_id}"), &acme.token, None, None).await.problem(404);
    let actions = s.audit_actions(&acme.id).await;
    for expected in ["invitation.resent", "invitation.cancelled"] {
        assert!(actions.contains(&expected.to_owned()), "{expected}");
    }
}
