//! Refresh-token rotation, reuse detection and logout (SPEC §7).
use roster_tests::*;
use serde_json::json;

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_ends_the_session() {
    let s = stack().await;
    let acme = s.account().await;

    let first = s.post("/v1/auth/refresh", None, json!({ "refresh_token": acme.refresh_token })).await;
    let first = first.ok(200).clone();
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, acme.refresh_token);
    assert_eq!(s.get("/v1/me", Some(first["access_token"].as_str().unwrap())).await.status, 200);

    // Presenting the spent token again looks like theft: the whole session ends.
    let replay = s.post("/v1/auth/refresh", None, json!({ "refresh_token": acme.refresh_token })).await;
    replay.problem(401);
    let after = s.post("/v1/auth/refresh", None, json!({ "refresh_token": rotated })).await;
    after.problem(401);
    assert_eq!(s.get("/v1/me", Some(&acme.token)).await.problem(401), "unauthenticated");
}

#[tokio::test]
async fn logout_ends_access_and_refresh_at_once() {
    let s = stack().await;
    let acme = s.account().await;
    let out = s.post("/v1/auth/logout", Some(&acme.token), json!({})).await;
    assert_eq!(out.status, 204);
    s.get("/v1/me", Some(&acme.token)).await.problem(401);
    s.post("/v1/auth/refresh", None, json!({ "refresh_token": acme.refresh_token })).await.problem(401);
    // A new login still works.
    s.login(&acme.web_address, &acme.owner_email, PASSWORD).await.ok(200);
    assert!(s.audit_actions(&acme.id).await.contains(&"member.logged_out".to_owned()));
}

#[tokio::test]
async fn login_failures_do_not_reveal_which_part_was_wrong_and_are_rate_limited() {
    let s = stack().await;
    let acme = s.account().await;
    let wrong_password = s.login(&acme.web_address, &acme.owner_email, "not the password at all").await;
    let unknown_email = s.login(&acme.web_address, "nobody@nowhere.test", PASSWORD).await;
    let unknown_account = s.login("nosuchaccount0", &acme.owner_email, PASSWORD).await;
    for r in [&wrong_password, &unknown_email, &unknown_account] {
        assert_eq!(r.problem(401), "unauthenticated");
        assert_eq!(r.body["detail"], wrong_password.body["detail"]);
    }
    // Nine more failures reach the limit; then even the right password waits.
    for _ in 0..9 {
        s.login(&acme.web_address, &acme.owner_email, "not the password at all").await.problem(401);
    }
    assert_eq!(s.login(&acme.web_address, &acme.owner_email, PASSWORD).await.problem(429), "rate_limited");
    // Other people of the account are not locked out.
    let other = s.account().await;
    s.login(&other.web_address, &other.owner_email, PASSWORD).await.ok(200);
}
