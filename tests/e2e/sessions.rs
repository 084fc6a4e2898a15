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

/// Issue 10, finding 5: the ids inside an access token are enough to name a session, but not to
/// end it — replay detection needs a refresh token Roster signed.
#[tokio::test]
async fn a_leaked_access_token_cannot_revoke_its_session() {
    use base64::Engine as _;
    let s = stack().await;
    let acme = s.account().await;
    let payload = acme.token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let (account, session) = (claims["acc"].as_str().unwrap(), claims["sid"].as_str().unwrap());
    let signature = acme.refresh_token.rsplit_once('.').unwrap().1;
    for forged in [
        format!("{account}.{session}.guess"),
        format!("{account}.{session}.guess.{signature}"),
        format!("{account}.{session}"),
    ] {
        let r = s.post("/v1/auth/refresh", None, json!({ "refresh_token": forged })).await;
        assert_eq!(r.problem(401), "unauthenticated", "{forged}");
    }
    // The session is untouched: its access token works and its real refresh token rotates.
    s.get("/v1/me", Some(&acme.token)).await.ok(200);
    s.post("/v1/auth/refresh", None, json!({ "refresh_token": acme.refresh_token })).await.ok(200);
    assert!(!s.audit_actions(&acme.id).await.contains(&"session.revoked_reuse".to_owned()));
}

/// Issue 10, finding 2: attempts are counted before the password is checked, so 50 parallel
/// guesses cannot get more than the limit checked; then the account+email is locked for a while
/// (the answer says how long), other people are not.
#[tokio::test]
async fn parallel_guesses_get_no_more_than_the_limit_checked() {
    let _load = heavy_load().await;
    let s = stack().await;
    let acme = s.account().await;
    let guesses = (0..50).map(|i| {
        let s = &s;
        let acme = &acme;
        async move { s.login(&acme.web_address, &acme.owner_email, &format!("wrong guess number {i}")).await }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers.iter().filter(|r| r.status == 401).count();
    let refused = answers.iter().filter(|r| r.status == 429).count();
    assert_eq!(checked + refused, 50, "only 401 and 429 answers");
    assert!(checked <= 10, "{checked} guesses reached the password check (limit 10)");
    let locked = s.login(&acme.web_address, &acme.owner_email, PASSWORD).await;
    assert_eq!(locked.problem(429), "rate_limited");
    // The answer names the wait: at least a minute, at most the cap (an hour).
    let res = s
        .http
        .post(format!("{}/v1/auth/login", s.api))
        .json(&json!({ "web_address": acme.web_address, "email": acme.owner_email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let retry: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((60..=3600).contains(&retry), "Retry-After {retry}");
    // The same account's other people, and the same email's session, are untouched.
    let other = s.active_member(&acme, &format!("other@{}.test", acme.web_address), "agent").await;
    assert!(!other.1.is_empty());
    s.get("/v1/me", Some(&acme.token)).await.ok(200);
}

/// Issue 10, finding 6: wrong password, unknown email and unknown web address walk the same
/// steps. 30 logins of each kind, interleaved; their medians stay within 20% of each other.
#[tokio::test]
async fn failed_logins_take_as_long_whatever_was_wrong() {
    let _quiet = quiet_stack().await;
    let s = stack().await;
    let accounts = [s.account().await, s.account().await, s.account().await];
    let mut times: [Vec<f64>; 3] = Default::default();
    for i in 0..30 {
        let acme = &accounts[i % 3];
        let kinds = [
            (acme.web_address.clone(), acme.owner_email.clone()),
            (acme.web_address.clone(), format!("nobody{i}@{}.test", acme.web_address)),
            (unique("nowhere"), format!("nobody{i}@nowhere.test")),
        ];
        for (k, (address, email)) in kinds.into_iter().enumerate() {
            let started = std::time::Instant::now();
            let r = s.login(&address, &email, "not the right password").await;
            times[k].push(started.elapsed().as_secs_f64());
            assert_eq!(r.problem(401), "unauthenticated", "kind {k}, try {i}");
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m: Vec<f64> = times.iter_mut().map(median).collect();
    let mid = m.iter().sum::<f64>() / 3.0;
    let spread = m.iter().cloned().fold(f64::MIN, f64::max) - m.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 0.2 * mid, "medians {m:?}: wrong password, unknown email, unknown address");
}

/// Issue 10: changing one's password re-checks the current one, ends every session (this one
/// too) and hands back a fresh session; the old password stops working.
#[tokio::test]
async fn a_password_change_ends_every_other_session() {
    let s = stack().await;
    let acme = s.account().await;
    let other = s.login(&acme.web_address, &acme.owner_email, PASSWORD).await.ok(200).clone();
    let change = |current: &str, new: &str| {
        s.post("/v1/me/password", Some(&acme.token), json!({ "current_password": current, "new_password": new }))
    };
    let wrong = change("not my password at all", "a brand new passphrase").await;
    assert_eq!(wrong.problem(403), "not_confirmed");
    assert_eq!(wrong.body["errors"][0]["field"], "current_password");
    let weak = change(PASSWORD, "short").await;
    assert_eq!(weak.body["errors"][0]["field"], "new_password");
    s.get("/v1/me", Some(&acme.token)).await.ok(200);

    let fresh = change(PASSWORD, "a brand new passphrase").await.ok(200).clone();
    for old in [&acme.token, other["access_token"].as_str().unwrap()] {
        assert_eq!(s.get("/v1/me", Some(old)).await.problem(401), "unauthenticated");
    }
    let refresh = s.post("/v1/auth/refresh", None, json!({ "refresh_token": other["refresh_token"] })).await;
    refresh.problem(401);
    s.get("/v1/me", Some(fresh["access_token"].as_str().unwrap())).await.ok(200);
    s.post("/v1/auth/refresh", None, json!({ "refresh_token": fresh["refresh_token"] })).await.ok(200);
    s.login(&acme.web_address, &acme.owner_email, PASSWORD).await.problem(401);
    s.login(&acme.web_address, &acme.owner_email, "a brand new passphrase").await.ok(200);
    assert!(s.audit_actions(&acme.id).await.contains(&"member.password_changed".to_owned()));
}
