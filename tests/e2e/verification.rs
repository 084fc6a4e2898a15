//! The owner's email is confirmed through an emailed link; until then the account invites at
//! most 20 people, and every account has an hourly invitation limit (issue 10, finding 4).
//! Password reset through an emailed one-hour link (SPEC §7).
use reqwest::Method;
use roster_tests::*;
use serde_json::json;

fn invitee(acme: &Account, n: usize) -> String {
    format!("person{n}@{}.test", acme.web_address)
}

#[tokio::test]
async fn an_unverified_account_invites_twenty_people_until_its_owner_confirms() {
    let s = stack().await;
    let acme = s.unverified_account().await;
    assert_eq!(s.get("/v1/me", Some(&acme.token)).await.ok(200)["account"]["email_verified"], false);
    let invites = (0..25).map(|n| {
        let (s, acme) = (&s, &acme);
        async move { s.invite(acme, &invitee(acme, n), "agent").await }
    });
    let invited = futures::future::join_all(invites).await;
    let sent = invited.iter().filter(|r| r.status == 201).count();
    assert_eq!(sent, 20, "{:?}", invited.iter().map(|r| r.status).collect::<Vec<_>>());
    for refused in invited.iter().filter(|r| r.status != 201) {
        assert_eq!(refused.problem(403), "email_not_verified");
    }

    // The sign-up email holds the link; the page asks for a click (a mail scanner confirms nothing).
    let mail = s.mail_matching(&acme.owner_email, "/account/verify").await;
    let token = token_from(&mail);
    let page = s.get(&format!("/account/verify?token={token}"), None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<form"), "{}", page.text);
    assert_eq!(s.get("/v1/me", Some(&acme.token)).await.body["account"]["email_verified"], false);
    let form = [("token", token.as_str())];
    let done = s.send(s.http.post(format!("{}/account/verify", s.api)).form(&form)).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(s.get("/v1/me", Some(&acme.token)).await.body["account"]["email_verified"], true);
    s.invite(&acme, &invitee(&acme, 99), "agent").await.ok(201);
    // Single use.
    let again = s.send(s.http.post(format!("{}/account/verify", s.api)).form(&form)).await;
    assert_eq!(again.status, 404);
    assert!(s.audit_actions(&acme.id).await.contains(&"account.email_verified".to_owned()));
}

#[tokio::test]
async fn a_new_confirmation_link_replaces_the_old_one() {
    let s = stack().await;
    let acme = s.unverified_account().await;
    let first = token_from(&s.mail_matching(&acme.owner_email, "/account/verify").await);
    s.post("/v1/account/verification", Some(&acme.token), json!({})).await.ok(202);
    let second = s.newer_token(&acme.owner_email, "/account/verify", &first).await;
    let post = |t: String| s.send(s.http.post(format!("{}/account/verify", s.api)).form(&[("token", t)]));
    assert_eq!(post(first).await.status, 404);
    assert_eq!(post(second).await.status, 200);
    let twice = s.post("/v1/account/verification", Some(&acme.token), json!({})).await;
    assert_eq!(twice.problem(409), "already_verified");
    // Only the owner asks.
    let other = s.unverified_account().await;
    let (_, admin, _) = s.active_member(&other, &invitee(&other, 1), "admin").await;
    assert_eq!(s.post("/v1/account/verification", Some(&admin), json!({})).await.problem(403), "forbidden");
}

#[tokio::test]
async fn the_hourly_invitation_limit_is_the_owners_and_answers_429_with_retry_after() {
    let s = stack().await;
    let acme = s.account().await;
    let (_, admin, _) = s.active_member(&acme, &invitee(&acme, 0), "admin").await;
    let limit = json!({ "invitations_per_hour": 3 });
    let by_admin = s.json(Method::PATCH, "/v1/account/preferences", &admin, Some(limit.clone()), None).await;
    assert_eq!(by_admin.problem(403), "forbidden");
    for bad in [json!(0), json!(10_001)] {
        let body = json!({ "invitations_per_hour": bad });
        let r = s.json(Method::PATCH, "/v1/account/preferences", &acme.token, Some(body), None).await;
        assert_eq!(r.problem(422), "validation_failed");
    }
    s.json(Method::PATCH, "/v1/account/preferences", &acme.token, Some(limit), None).await.ok(200);
    // The admin's own invitation counted this hour; a refused duplicate gives its count back.
    s.invite(&acme, &invitee(&acme, 1), "agent").await.ok(201);
    assert_eq!(s.invite(&acme, &invitee(&acme, 1), "agent").await.problem(409), "already_member");
    s.invite(&acme, &invitee(&acme, 2), "agent").await.ok(201);
    let over = s
        .http
        .post(format!("{}/v1/invitations", s.api))
        .bearer_auth(&acme.token)
        .json(&json!({ "email": invitee(&acme, 3), "first_name": "A", "last_name": "B", "role": "agent" }))
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), 429);
    let retry: i64 = over.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(s.mails_to(&invitee(&acme, 3)).await, 0);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_a_one_hour_link() {
    let s = stack().await;
    let acme = s.account().await;
    let email = invitee(&acme, 7);
    let (_, token, refresh) = s.active_member(&acme, &email, "agent").await;
    let ask = |web_address: String, email: String| {
        s.post("/v1/auth/password-reset", None, json!({ "web_address": web_address, "email": email }))
    };
    let known = ask(acme.web_address.clone(), email.clone()).await;
    let unknown_email = ask(acme.web_address.clone(), invitee(&acme, 8)).await;
    let unknown_address = ask(unique("nowhere"), email.clone()).await;
    for r in [&known, &unknown_email, &unknown_address] {
        assert_eq!((r.status.as_u16(), &r.text), (202, &known.text));
    }
    let mail = s.mail_matching(&email, "/password-reset").await;
    assert_eq!(s.mails_to(&invitee(&acme, 8)).await, 0);
    let link = token_from(&mail);
    assert_eq!(s.get(&format!("/password-reset?token={link}"), None).await.status, 200);
    let submit = |pw: &str, confirm: &str| {
        let form = [("token", link.as_str()), ("password", pw), ("password_confirmation", confirm)];
        s.send(s.http.post(format!("{}/password-reset", s.api)).form(&form))
    };
    assert_eq!(submit("short", "short").await.status, 422);
    assert_eq!(submit("a fresh passphrase 1", "a different one 22").await.status, 422);
    assert_eq!(submit("a fresh passphrase 1", "a fresh passphrase 1").await.status, 200);
    // Every session ended; the old password is gone, the new one works; the link is spent.
    assert_eq!(s.get("/v1/me", Some(&token)).await.problem(401), "unauthenticated");
    s.post("/v1/auth/refresh", None, json!({ "refresh_token": refresh })).await.problem(401);
    s.login(&acme.web_address, &email, "member passphrase 42").await.problem(401);
    s.login(&acme.web_address, &email, "a fresh passphrase 1").await.ok(200);
    assert_eq!(submit("another passphrase 3", "another passphrase 3").await.status, 404);
    assert!(s.audit_actions(&acme.id).await.contains(&"member.password_reset".to_owned()));

    // A link past its hour is refused.
    ask(acme.web_address.clone(), email.clone()).await.ok(202);
    let late = s.newer_token(&email, "/password-reset", &link).await;
    let key = roster::store::keys::link(&roster::service::secrets::token_hash(&late));
    s.dynamo
        .update_item()
        .table_name(&s.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(key.pk.clone()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(key.sk.clone()))
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", aws_sdk_dynamodb::types::AttributeValue::N("1000".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(s.get(&format!("/password-reset?token={late}"), None).await.status, 404);

    // Five requests an hour per email, then 429 — known or not.
    for _ in 0..3 {
        ask(acme.web_address.clone(), email.clone()).await.ok(202);
    }
    assert_eq!(ask(acme.web_address.clone(), email.clone()).await.problem(429), "rate_limited");
}
