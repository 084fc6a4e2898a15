//! API keys (issue 3): scoped, shown once, stored hashed, revocable, last-used time.
use reqwest::Method;
use roster_tests::*;
use serde_json::json;

#[tokio::test]
async fn a_key_acts_with_exactly_its_scopes_until_revoked() {
    let s = stack().await;
    let acme = s.account().await;
    let created =
        s.post("/v1/api-keys", Some(&acme.token), json!({ "name": "Ticketing", "scopes": ["members_read"] })).await;
    let created = created.ok(201).clone();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("rk_"));

    // The secret is never shown again, nor stored.
    let listed = s.get("/v1/api-keys", Some(&acme.token)).await;
    assert!(!listed.text.contains(&secret[secret.len() - 20..]));
    let stored = s.partition(&acme.id).await;
    assert!(stored.iter().all(|i| !format!("{i:?}").contains(&secret[secret.len() - 20..])), "secret stored in clear");

    // It reads members, and nothing beyond its scope.
    s.get("/v1/members", Some(&secret)).await.ok(200);
    assert_eq!(
        s.invite(&Account { token: secret.clone(), ..acme.clone() }, "k@example.com", "agent").await.problem(403),
        "forbidden"
    );
    assert_eq!(s.get("/v1/me", Some(&secret)).await.problem(403), "forbidden");
    assert_eq!(
        s.post("/v1/api-keys", Some(&secret), json!({ "name": "x", "scopes": ["members_read"] })).await.problem(403),
        "forbidden"
    );
    let used = s.get("/v1/api-keys", Some(&acme.token)).await;
    assert!(used.ok(200)["items"][0]["last_used_at"].is_string());

    // A wrong secret for the same key, or a revoked key, is refused.
    let forged = format!("{}x", &secret[..secret.len() - 1]);
    assert_eq!(s.get("/v1/members", Some(&forged)).await.problem(401), "unauthenticated");
    let revoked = s
        .json(Method::DELETE, &format!("/v1/api-keys/{id}"), &acme.token, Some(json!({ "memo": "rotated" })), None)
        .await;
    assert!(revoked.ok(200)["revoked_at"].is_string());
    assert_eq!(s.get("/v1/members", Some(&secret)).await.problem(401), "unauthenticated");
    s.json(Method::DELETE, &format!("/v1/api-keys/{id}"), &acme.token, None, None).await.problem(404);
    let actions = s.audit_actions(&acme.id).await;
    assert!(actions.contains(&"api_key.created".to_owned()) && actions.contains(&"api_key.revoked".to_owned()));
}

#[tokio::test]
async fn keys_refuse_bad_input_and_stay_in_their_account() {
    let s = stack().await;
    let (acme, other) = (s.account().await, s.account().await);
    for (body, field) in [
        (json!({ "name": "x", "scopes": [] }), "scopes"),
        (json!({ "name": "", "scopes": ["members_read"] }), "name"),
        (json!({ "name": "x", "scopes": ["root"] }), "scopes[0]"),
        (json!({ "name": "x", "scopes": ["members_read"], "admin": true }), "admin"),
    ] {
        let r = s.post("/v1/api-keys", Some(&acme.token), body.clone()).await;
        assert_eq!(r.problem(422), "validation_failed", "{body}");
        assert!(r.body["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{body}: {}", r.text);
    }
    let key = s.post("/v1/api-keys", Some(&acme.token), json!({ "name": "k", "scopes": ["members_read"] })).await;
    let (id, secret) = (key.body["id"].as_str().unwrap().to_owned(), key.body["secret"].as_str().unwrap().to_owned());
    // Another account cannot see or revoke it, and the key sees only its own account.
    s.json(Method::DELETE, &format!("/v1/api-keys/{id}"), &other.token, None, None).await.problem(404);
    assert!(s.get("/v1/api-keys", Some(&other.token)).await.ok(200)["items"].as_array().unwrap().is_empty());
    let members = s.get("/v1/members", Some(&secret)).await;
    let ids: Vec<_> =
        members.ok(200)["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, vec![acme.owner_id.clone()]);
    s.get(&format!("/v1/members/{}", other.owner_id), Some(&secret)).await.problem(404);
    // A key whose account part is changed to another account's id does not verify.
    let swapped = secret.replacen(&acme.id, &other.id, 1);
    assert_eq!(s.get("/v1/members", Some(&swapped)).await.problem(401), "unauthenticated");
}

/// A key never grants more than its creator holds now (issue 10, finding 1).
#[tokio::test]
async fn a_key_loses_what_its_creator_loses() {
    let s = stack().await;
    let acme = s.account().await;
    let mail = |n: &str| format!("{n}@{}.test", acme.web_address);
    let (admin_id, admin_token, _) = s.active_member(&acme, &mail("keymaker"), "admin").await;
    let key = s
        .post(
            "/v1/api-keys",
            Some(&admin_token),
            // Inviting an agent needs the agent's permissions too (nobody grants what they lack).
            json!({ "name": "HR feed", "scopes": [
                "members_read", "invitations_manage", "groups_read", "assignments_create",
                "organizations_read", "users_read", "users_manage"
            ] }),
        )
        .await;
    let secret = key.ok(201)["secret"].as_str().unwrap().to_owned();
    let as_key = Account { token: secret.clone(), ..acme.clone() };
    s.invite(&as_key, &mail("first"), "agent").await.ok(201);

    // GIVEN the creator is demoted to agent (no invitations_manage), THEN the key cannot invite.
    let member = format!("/v1/members/{admin_id}");
    s.json(Method::PATCH, &member, &acme.token, Some(json!({ "role": "agent" })), None).await.ok(200);
    assert_eq!(s.invite(&as_key, &mail("second"), "admin").await.problem(403), "forbidden");
    assert_eq!(s.invite(&as_key, &mail("second"), "agent").await.problem(403), "forbidden");
    s.get("/v1/members", Some(&secret)).await.ok(200);

    // Promoted back, the key does what it was made for again.
    s.json(Method::PATCH, &member, &acme.token, Some(json!({ "role": "admin" })), None).await.ok(200);
    s.invite(&as_key, &mail("second"), "agent").await.ok(201);

    // Deactivated creator → the key is refused with its own code; deleted creator → the same.
    s.post(&format!("{member}/deactivate"), Some(&acme.token), json!({})).await.ok(200);
    assert_eq!(s.get("/v1/members", Some(&secret)).await.problem(401), "api_key_creator_inactive");
    assert_eq!(s.invite(&as_key, &mail("third"), "agent").await.problem(401), "api_key_creator_inactive");
    s.json(Method::DELETE, &member, &acme.token, None, None).await.ok(204);
    assert_eq!(s.get("/v1/members", Some(&secret)).await.problem(401), "api_key_creator_inactive");
    assert_eq!(s.mails_to(&mail("third")).await, 0);
}
