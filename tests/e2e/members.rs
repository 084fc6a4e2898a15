//! Managing members (issue 3): edit, role change with If-Match, deactivate/reactivate with the
//! session cut-off, delete, stats, filters and search, CSV export.
use futures::future::join_all;
use reqwest::Method;
use roster_tests::*;
use serde_json::json;

#[tokio::test]
async fn deactivation_ends_every_session_at_once_and_reactivation_does_not_revive_them() {
    let s = stack().await;
    let acme = s.account().await;
    let email = format!("agent@{}.test", acme.web_address);
    let (id, agent_token, agent_refresh) = s.active_member(&acme, &email, "agent").await;
    s.get("/v1/me", Some(&agent_token)).await.ok(200);

    // WHEN an admin deactivates the agent, with a reason
    let off = s
        .json(
            Method::POST,
            &format!("/v1/members/{id}/deactivate"),
            &acme.token,
            Some(json!({ "memo": "left the team" })),
            None,
        )
        .await;
    assert_eq!(off.ok(200)["status"], "deactivated");

    // THEN the agent's existing tokens stop working on the very next request, and login fails
    assert_eq!(s.get("/v1/me", Some(&agent_token)).await.problem(401), "unauthenticated");
    s.post("/v1/auth/refresh", None, json!({ "refresh_token": agent_refresh })).await.problem(401);
    s.login(&acme.web_address, &email, "member passphrase 42").await.problem(401);

    // WHEN reactivated, the old session stays dead but a new login works
    let on = s.json(Method::POST, &format!("/v1/members/{id}/reactivate"), &acme.token, None, None).await;
    assert_eq!(on.ok(200)["status"], "active");
    s.get("/v1/me", Some(&agent_token)).await.problem(401);
    s.post("/v1/auth/refresh", None, json!({ "refresh_token": agent_refresh })).await.problem(401);
    let again = s.login(&acme.web_address, &email, "member passphrase 42").await;
    s.get("/v1/me", Some(again.ok(200)["access_token"].as_str().unwrap())).await.ok(200);

    // AND the system log has both, with the memo
    let entries = s.partition(&acme.id).await;
    let deactivated = entries
        .iter()
        .find(|i| i.get("action").and_then(|a| a.as_s().ok()).map(String::as_str) == Some("member.deactivated"))
        .unwrap();
    assert_eq!(deactivated.get("memo").unwrap().as_s().unwrap(), "left the team");
    assert!(s.audit_actions(&acme.id).await.contains(&"member.reactivated".to_owned()));
}

#[tokio::test]
async fn role_changes_take_effect_on_the_next_request_and_honour_if_match() {
    let s = stack().await;
    let acme = s.account().await;
    let email = format!("viewer@{}.test", acme.web_address);
    let (id, viewer_token, _) = s.active_member(&acme, &email, "viewer").await;
    let viewer = roster_tests::Account { token: viewer_token.clone(), ..acme.clone() };
    s.invite(&viewer, "x@example.com", "agent").await.problem(403);

    let current = s.get(&format!("/v1/members/{id}"), Some(&acme.token)).await;
    let etag = current.etag.clone().expect("GET returns an ETag");
    let path = format!("/v1/members/{id}");
    let admin = json!({ "role": "admin", "optional_permissions": ["payment_reports", "conversation_transfer", "payment_reports"] });
    let changed = s.json(Method::PATCH, &path, &acme.token, Some(admin), Some(("if-match", &etag))).await;
    let body = changed.ok(200);
    assert_eq!(body["role"], "admin");
    assert_eq!(body["optional_permissions"], json!(["conversation_transfer", "payment_reports"]));
    assert_ne!(changed.etag.as_deref(), Some(etag.as_str()));

    // The same token, next request: the new role applies.
    s.invite(&viewer, "y@example.com", "agent").await.ok(201);
    // A stale If-Match is refused and changes nothing.
    let stale =
        s.json(Method::PATCH, &path, &acme.token, Some(json!({ "role": "viewer" })), Some(("if-match", &etag))).await;
    assert_eq!(stale.problem(412), "precondition_failed");
    assert_eq!(s.get(&path, Some(&acme.token)).await.ok(200)["role"], "admin");
    assert!(s.audit_actions(&acme.id).await.contains(&"member.role_changed".to_owned()));
}

#[tokio::test]
async fn two_concurrent_edits_with_the_same_if_match_one_wins() {
    let s = stack().await;
    let acme = s.account().await;
    let invited = s.invite(&acme, &format!("c@{}.test", acme.web_address), "agent").await;
    let id = invited.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/members/{id}");
    let etag = s.get(&path, Some(&acme.token)).await.etag.unwrap();
    let edits = ["viewer", "supervisor"].map(|role| {
        s.json(Method::PATCH, &path, &acme.token, Some(json!({ "role": role })), Some(("if-match", &etag)))
    });
    let results = join_all(edits).await;
    let mut statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 412]);
}

#[tokio::test]
async fn the_owner_and_oneself_are_protected() {
    let s = stack().await;
    let acme = s.account().await;
    let email = format!("admin@{}.test", acme.web_address);
    let (admin_id, admin_token, _) = s.active_member(&acme, &email, "admin").await;
    let owner = format!("/v1/members/{}", acme.owner_id);
    for (method, path, body) in [
        (Method::POST, format!("{owner}/deactivate"), None),
        (Method::DELETE, owner.clone(), None),
        (Method::PATCH, owner.clone(), Some(json!({ "role": "agent" }))),
        (Method::PATCH, owner.clone(), Some(json!({ "first_name": "Renamed" }))),
        (Method::POST, format!("/v1/members/{admin_id}/deactivate"), None),
        (Method::PATCH, format!("/v1/members/{admin_id}"), Some(json!({ "role": "viewer" }))),
    ] {
        let r = s.json(method.clone(), &path, &admin_token, body, None).await;
        assert_eq!(r.problem(403), "forbidden", "{method} {path}");
    }
    let to_owner = s
        .json(Method::PATCH, &format!("/v1/members/{admin_id}"), &acme.token, Some(json!({ "role": "owner" })), None)
        .await;
    assert_eq!(to_owner.problem(422), "validation_failed");
    // The owner may edit their own profile.
    let me = s.json(Method::PATCH, &owner, &acme.token, Some(json!({ "first_name": "Olivia" })), None).await;
    assert_eq!(me.ok(200)["first_name"], "Olivia");
}

#[tokio::test]
async fn stats_filters_search_and_export() {
    let s = stack().await;
    let acme = s.account().await;
    let w = &acme.web_address;
    let (zed, _, _) = s.active_member(&acme, &format!("zed@{w}.test"), "agent").await;
    s.json(
        Method::PATCH,
        &format!("/v1/members/{zed}"),
        &acme.token,
        Some(json!({ "first_name": "Zed", "last_name": "=HYPERLINK(\"http://evil\")" })),
        None,
    )
    .await
    .ok(200);
    for (i, role) in ["agent", "viewer", "viewer", "admin"].iter().enumerate() {
        s.invite(&acme, &format!("p{i}@{w}.test"), role).await.ok(201);
    }
    let stats = s.get("/v1/members/stats", Some(&acme.token)).await;
    assert_eq!(stats.ok(200), &json!({ "active": 2, "invited": 4, "deactivated": 0, "admins": 1, "standard": 1 }));

    let count = |q: &'static str| {
        let s = &s;
        let token = acme.token.clone();
        async move { s.get(&format!("/v1/members?{q}"), Some(&token)).await.body["items"].as_array().map_or(0, Vec::len) }
    };
    assert_eq!(count("status=invited").await, 4);
    assert_eq!(count("role=viewer").await, 2);
    assert_eq!(count("role=viewer&status=active").await, 0);
    assert_eq!(count("q=ZED").await, 1, "case-insensitive name prefix");
    assert_eq!(count("q=p1%40").await, 1, "email prefix");
    assert_eq!(count("q=olive%20o").await, 1, "full-name prefix");
    // A filtered page is filled from further reads and pages on.
    let first = s.get("/v1/members?status=invited&limit=3", Some(&acme.token)).await;
    let cursor = first.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    let rest = s.get(&format!("/v1/members?status=invited&limit=3&cursor={cursor}"), Some(&acme.token)).await;
    assert_eq!(rest.ok(200)["items"].as_array().unwrap().len(), 1);
    assert!(rest.body["next_cursor"].is_null());

    let csv = s.get("/v1/members/export.csv", Some(&acme.token)).await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "id,email,first_name,last_name,role,role_name,status,source,created_at,last_login_at");
    assert!(lines[1].contains(",owner,Account Owner,active,"), "{}", lines[1]);
    assert_eq!(lines.len(), 7);
    assert!(csv.text.contains("'=HYPERLINK"), "formula neutralized: {}", csv.text);

    let (_, agent_token, _) = s.active_member(&acme, &format!("a2@{w}.test"), "agent").await;
    assert_eq!(s.get("/v1/members/export.csv", Some(&agent_token)).await.problem(403), "forbidden");
    s.get("/v1/members/stats", Some(&agent_token)).await.ok(200);
}

#[tokio::test]
async fn deleting_a_member_frees_their_email() {
    let s = stack().await;
    let acme = s.account().await;
    let email = format!("gone@{}.test", acme.web_address);
    let (id, token, _) = s.active_member(&acme, &email, "agent").await;
    let del = s
        .json(
            Method::DELETE,
            &format!("/v1/members/{id}"),
            &acme.token,
            Some(json!({ "memo": "duplicate account" })),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    s.get(&format!("/v1/members/{id}"), Some(&acme.token)).await.problem(404);
    s.get("/v1/me", Some(&token)).await.problem(401);
    s.invite(&acme, &email, "agent").await.ok(201);
    assert!(s.audit_actions(&acme.id).await.contains(&"member.deleted".to_owned()));
}

#[tokio::test]
async fn member_changes_refuse_bad_input_and_other_accounts() {
    let s = stack().await;
    let (acme, other) = (s.account().await, s.account().await);
    let invited = s.invite(&acme, &format!("t@{}.test", acme.web_address), "agent").await;
    let id = invited.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/members/{id}");
    let before = s.partition_keys(&acme.id).await;
    for (body, status, code) in [
        (json!({ "role": "superuser" }), 422, "validation_failed"),
        (json!({ "first_name": "" }), 422, "validation_failed"),
        (json!({ "nickname": "x" }), 422, "validation_failed"),
        (json!({ "optional_permissions": ["fly"] }), 422, "validation_failed"),
        (json!({ "role": 7 }), 422, "validation_failed"),
    ] {
        assert_eq!(
            s.json(Method::PATCH, &path, &acme.token, Some(body.clone()), None).await.problem(status),
            code,
            "{body}"
        );
    }
    let memo = json!({ "memo": "x".repeat(1001) });
    assert_eq!(
        s.json(Method::POST, &format!("{path}/deactivate"), &acme.token, Some(memo), None).await.problem(422),
        "validation_failed"
    );
    assert_eq!(
        s.json(Method::PATCH, &path, &acme.token, Some(json!({ "role": "viewer" })), Some(("if-match", "garbage")))
            .await
            .problem(412),
        "precondition_failed"
    );
    for q in ["status=gone".to_owned(), "role=owner2".to_owned(), "q=".to_owned() + &"x".repeat(101)] {
        assert!(s.get(&format!("/v1/members?{q}"), Some(&acme.token)).await.status.is_client_error(), "{q}");
    }
    // Another account's admin gets 404 on every member route, and nothing changes.
    for (method, p, body) in [
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(json!({ "role": "viewer" }))),
        (Method::POST, format!("{path}/deactivate"), None),
        (Method::POST, format!("{path}/reactivate"), None),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("/v1/invitations/{id}/resend"), None),
        (Method::DELETE, format!("/v1/invitations/{id}"), None),
    ] {
        assert_eq!(
            s.json(method.clone(), &p, &other.token, body, None).await.problem(404),
            "not_found",
            "{method} {p}"
        );
    }
    assert_eq!(s.partition_keys(&acme.id).await, before);
}
