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

    // An accepted invitation can be neither resent nor cancelled.
    s.json(Method::POST, &format!("/v1/invitations/{a_id}/resend"), &acme.token, None, None).await.problem(404);
    s.json(Method::DELETE, &format!("/v1/invitations/{a_id}"), &acme.token, None, None).await.problem(404);
    let actions = s.audit_actions(&acme.id).await;
    for expected in ["invitation.resent", "invitation.cancelled"] {
        assert!(actions.contains(&expected.to_owned()), "{expected}");
    }
}
