//! Tenant isolation: the account comes only from the verified token.
use roster_tests::*;

#[tokio::test]
async fn a_member_of_one_account_cannot_see_another_accounts_members() {
    let s = stack().await;
    let (a, b) = (s.account().await, s.account().await);
    let b_invited = s.invite(&b, &format!("x@{}.test", b.web_address), "agent").await;
    let b_member = b_invited.ok(201)["member"]["id"].as_str().unwrap().to_owned();

    // B's ids through A's token are simply not found.
    for id in [&b.owner_id, &b_member] {
        assert_eq!(s.get(&format!("/v1/members/{id}"), Some(&a.token)).await.problem(404), "not_found");
    }
    // A's list holds only A's people.
    let list = s.get("/v1/members?limit=200", Some(&a.token)).await;
    let ids: Vec<_> =
        list.ok(200)["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, vec![a.owner_id.clone()]);

    // A cursor made for B is refused for A, even though it is validly signed.
    for i in 0..2 {
        s.invite(&b, &format!("p{i}@{}.test", b.web_address), "viewer").await.ok(201);
    }
    let page = s.get("/v1/members?limit=1", Some(&b.token)).await;
    let cursor = page.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    let stolen = s.get(&format!("/v1/members?limit=1&cursor={cursor}"), Some(&a.token)).await;
    assert_eq!(stolen.problem(404), "unknown_reference");
    assert_eq!(stolen.body["errors"][0]["field"], "cursor");
}

#[tokio::test]
async fn the_agent_role_cannot_invite_and_tokens_of_others_do_not_work() {
    let s = stack().await;
    let acme = s.account().await;
    let email = format!("agent@{}.test", acme.web_address);
    s.invite(&acme, &email, "agent").await.ok(201);
    let token = token_from(&s.mail_to(&email).await);
    let accepted = s.accept(&token, "agent passphrase 123", "agent passphrase 123").await;
    assert_eq!(accepted.status, 200);
    let agent = s.login(&acme.web_address, &email, "agent passphrase 123").await;
    let agent_token = agent.ok(200)["access_token"].as_str().unwrap().to_owned();
    let mut as_agent = acme;
    as_agent.token = agent_token;
    let before = s.partition_keys(&as_agent.id).await;
    assert_eq!(s.invite(&as_agent, "new@example.com", "admin").await.problem(403), "forbidden");
    assert_eq!(s.partition_keys(&as_agent.id).await, before, "a refused invitation wrote something");

    // A token whose signature does not verify is refused.
    let mut parts: Vec<String> = as_agent.token.split('.').map(str::to_owned).collect();
    parts[2] = "AAAA".into();
    assert_eq!(s.get("/v1/me", Some(&parts.join("."))).await.problem(401), "unauthenticated");
}

/// Issue 5's account-wide routes name no account in their path: each acts only on the caller's.
#[tokio::test]
async fn settings_system_log_and_deletion_stay_within_the_callers_account() {
    use reqwest::Method;
    use serde_json::json;
    let s = stack().await;
    let (a, b) = (s.account().await, s.account().await);
    let b_keys = s.partition_keys(&b.id).await;
    let sections = ["/v1/account/registration", "/v1/account/preferences", "/v1/account/design"];
    let mut b_views = Vec::new();
    for path in sections {
        b_views.push(s.get(path, Some(&b.token)).await.text);
    }
    for (path, body) in [
        (sections[0], json!({ "company_name": "A only" })),
        (sections[1], json!({ "language": "th" })),
        (sections[2], json!({ "website_name": "A only" })),
    ] {
        s.json(Method::PATCH, path, &a.token, Some(body), None).await.ok(200);
    }
    let png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    let req = s.http.put(format!("{}/v1/account/design/logo", s.api)).bearer_auth(&a.token).body(png);
    s.send(req).await.ok(200);
    for (path, before) in sections.iter().zip(&b_views) {
        assert_eq!(&s.get(path, Some(&b.token)).await.text, before, "{path}");
    }
    assert_eq!(s.get("/v1/account/design/logo", Some(&b.token)).await.problem(404), "not_found");

    // A's system log, its export and its verification hold only A's entries.
    let log = s.get("/v1/audit?limit=200", Some(&a.token)).await;
    let text = log.ok(200).to_string();
    assert!(!text.contains(&b.id) && !text.contains(&b.owner_id));
    let export = s.get("/v1/audit/export.csv", Some(&a.token)).await.text;
    assert!(export.contains(&a.id) && !export.contains(&b.id));
    let verified = s.get("/v1/audit/verify", Some(&a.token)).await;
    assert_eq!(verified.ok(200)["unsealed_entries"], s.audit_actions(&a.id).await.len());

    // A's deletion leaves B untouched.
    let body = json!({ "web_address": a.web_address, "password": PASSWORD });
    s.json(Method::DELETE, "/v1/account", &a.token, Some(body), None).await.ok(202);
    s.get("/v1/me", Some(&b.token)).await.ok(200);
    assert_eq!(s.partition_keys(&b.id).await, b_keys);
}

#[tokio::test]
async fn another_accounts_jobs_are_not_found_and_not_cancelled() {
    let s = stack().await;
    let (a, b) = (s.account().await, s.account().await);
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    let row = serde_json::json!({ "email": format!("row@{}.test", b.web_address), "first_name": "R", "last_name": "W", "role": "agent" });
    let job =
        s.post("/v1/invitation-jobs", Some(&b.token), serde_json::json!({ "rows": [row], "run_at": later })).await;
    let id = job.ok(202)["id"].as_str().unwrap().to_owned();
    for path in [format!("/v1/invitation-jobs/{id}"), format!("/v1/invitation-jobs/{id}/results")] {
        assert_eq!(s.get(&path, Some(&a.token)).await.problem(404), "not_found", "{path}");
    }
    let cancel = s.post(&format!("/v1/invitation-jobs/{id}/cancel"), Some(&a.token), serde_json::json!({})).await;
    assert_eq!(cancel.problem(404), "not_found");
    let listed = s.get("/v1/invitation-jobs", Some(&a.token)).await;
    assert_eq!(listed.ok(200)["items"], serde_json::json!([]));
    // B's job is untouched.
    assert_eq!(s.get(&format!("/v1/invitation-jobs/{id}"), Some(&b.token)).await.ok(200)["status"], "queued");
}
