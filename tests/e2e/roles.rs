//! Custom roles (issue 3, SPEC §3): create, edit with If-Match, permissions that take effect on
//! the holder's next request, deletion refused while held unless the holders move with it.
use futures::future::join_all;
use reqwest::Method;
use roster_tests::*;
use serde_json::{Value, json};

async fn create_role(s: &Stack, token: &str, body: Value) -> Value {
    s.post("/v1/roles", Some(token), body).await.ok(201).clone()
}

#[tokio::test]
async fn a_custom_role_from_creation_to_deletion_with_its_members_moved() {
    let s = stack().await;
    let acme = s.account().await;
    let night = create_role(
        &s,
        &acme.token,
        json!({ "name": "Night shift", "description": "Agents after 22:00",
                "permissions": ["members_read", "assignments_create", "members_read"], "agent_like": true }),
    )
    .await;
    let role_id = night["id"].as_str().unwrap().to_owned();
    assert_eq!(night["basic"], false);
    assert_eq!(night["permissions"], json!(["assignments_create", "members_read"]));

    // Names are unique regardless of case and spacing, and never a basic role's.
    let twin = s.post("/v1/roles", Some(&acme.token), json!({ "name": "night  SHIFT", "permissions": [] })).await;
    assert_eq!(twin.problem(409), "role_name_taken");
    let admin = s.post("/v1/roles", Some(&acme.token), json!({ "name": "Admin", "permissions": [] })).await;
    assert_eq!(admin.problem(409), "role_name_taken");

    let roles = s.get("/v1/roles", Some(&acme.token)).await;
    let ids: Vec<&str> = roles.ok(200)["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["owner", "admin", "supervisor", "pro_agent", "agent", "viewer", role_id.as_str()]);
    let basic = s.json(Method::PATCH, "/v1/roles/agent", &acme.token, Some(json!({ "name": "Agents" })), None).await;
    assert_eq!(basic.problem(409), "basic_role");
    assert_eq!(s.json(Method::DELETE, "/v1/roles/viewer", &acme.token, None, None).await.problem(409), "basic_role");

    // A member with the role can do what it grants and nothing else.
    let email = format!("night@{}.test", acme.web_address);
    let (member_id, token, _) = s.active_member(&acme, &email, &role_id).await;
    let member = s.get(&format!("/v1/members/{member_id}"), Some(&token)).await;
    assert_eq!(member.ok(200)["role"], role_id);
    let as_member = Account { token: token.clone(), ..acme.clone() };
    assert_eq!(s.invite(&as_member, "x@example.com", "agent").await.problem(403), "forbidden");
    // Agent-like: it can hold agent IDs.
    s.json(Method::PUT, &format!("/v1/members/{member_id}/agent-ids/night-7"), &acme.token, None, None).await.ok(200);

    // An edit applies to the holder's very next request.
    let path = format!("/v1/roles/{role_id}");
    let etag = s.get(&path, Some(&acme.token)).await.etag.expect("custom roles have an ETag");
    let more = json!({ "permissions": ["members_read", "assignments_create", "invitations_manage"] });
    let edited = s.json(Method::PATCH, &path, &acme.token, Some(more), Some(("if-match", &etag))).await;
    assert_eq!(edited.ok(200)["member_count"], 1);
    s.invite(&as_member, &format!("by-night@{}.test", acme.web_address), &role_id).await.ok(201);
    // It still cannot hand out more than it holds (an agent may read groups; this role may not).
    let up = s.invite(&as_member, &format!("up@{}.test", acme.web_address), "agent").await;
    assert_eq!(up.problem(422), "validation_failed");
    assert_eq!(up.body["errors"][0]["code"], "not_held");

    // Deleting a held role needs a replacement; then the holders move in the same call.
    let refused = s.json(Method::DELETE, &path, &acme.token, None, None).await;
    assert_eq!(refused.problem(409), "role_in_use");
    assert_eq!(s.get(&path, Some(&acme.token)).await.ok(200)["member_count"], 2);
    let gone = s
        .json(
            Method::DELETE,
            &path,
            &acme.token,
            Some(json!({ "replacement_role": "agent", "memo": "night shift merged into day team" })),
            None,
        )
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(s.get(&path, Some(&acme.token)).await.problem(404), "not_found");
    let moved = s.get(&format!("/v1/members/{member_id}"), Some(&acme.token)).await;
    assert_eq!(moved.ok(200)["role"], "agent");
    assert_eq!(moved.body["agent_ids"], json!(["night-7"]));
    // The member's token now carries a role that is gone; the next request uses the new one.
    assert_eq!(s.invite(&as_member, "z@example.com", "agent").await.problem(403), "forbidden");
    s.get("/v1/members", Some(&token)).await.ok(200);

    // The deletion is in the system log with the memo and who moved.
    let entries = s.partition(&acme.id).await;
    let deleted = entries
        .iter()
        .find(|i| i.get("action").and_then(|a| a.as_s().ok()).map(String::as_str) == Some("role.deleted"))
        .expect("role.deleted in the system log");
    assert_eq!(deleted.get("memo").unwrap().as_s().unwrap(), "night shift merged into day team");
    let content = format!("{:?}", deleted.get("content").unwrap());
    assert!(content.contains(&member_id) && content.contains("Night shift"), "{content}");
    // The name is free again.
    create_role(&s, &acme.token, json!({ "name": "Night Shift", "permissions": ["members_read"] })).await;
}

#[tokio::test]
async fn roles_grant_nothing_their_creator_does_not_hold() {
    let s = stack().await;
    let acme = s.account().await;
    let lead = create_role(
        &s,
        &acme.token,
        json!({ "name": "Team lead", "permissions": [
            "members_read", "members_manage", "roles_read", "roles_manage",
            "groups_read", "organizations_read", "users_read", "settings_read"] }),
    )
    .await;
    let lead_id = lead["id"].as_str().unwrap();
    let (_, token, _) = s.active_member(&acme, &format!("lead@{}.test", acme.web_address), lead_id).await;

    let wider = s.post("/v1/roles", Some(&token), json!({ "name": "Wider", "permissions": ["settings_manage"] })).await;
    assert_eq!(wider.problem(422), "validation_failed");
    assert_eq!(wider.body["errors"][0]["code"], "not_held");
    let narrow = create_role(&s, &token, json!({ "name": "Reader", "permissions": ["members_read"] })).await;

    // A limited manager can neither give a stronger role nor touch a member who has one.
    let (admin_id, _, _) = s.active_member(&acme, &format!("admin@{}.test", acme.web_address), "admin").await;
    let (viewer_id, _, _) = s.active_member(&acme, &format!("viewer@{}.test", acme.web_address), "viewer").await;
    let promote = json!({ "role": "admin" });
    let r = s.json(Method::PATCH, &format!("/v1/members/{viewer_id}"), &token, Some(promote), None).await;
    assert_eq!(r.problem(422), "validation_failed");
    let demote = json!({ "role": narrow["id"] });
    let r = s.json(Method::PATCH, &format!("/v1/members/{admin_id}"), &token, Some(demote.clone()), None).await;
    assert_eq!(r.problem(403), "forbidden");
    let r = s.json(Method::POST, &format!("/v1/members/{admin_id}/deactivate"), &token, None, None).await;
    assert_eq!(r.problem(403), "forbidden");
    let r = s.json(Method::PATCH, &format!("/v1/members/{viewer_id}"), &token, Some(demote), None).await;
    assert_eq!(r.ok(200)["role"], narrow["id"]);

    // Nobody deletes the role they hold.
    let own = s.json(Method::DELETE, &format!("/v1/roles/{lead_id}"), &token, None, None).await;
    assert_eq!(own.problem(409), "own_role");

    // A custom role that may manage members counts as an admin role in the stats.
    let stats = s.get("/v1/members/stats", Some(&acme.token)).await;
    assert_eq!(stats.ok(200)["admins"], 3, "owner, admin and the team lead: {}", stats.text);
}

#[tokio::test]
async fn two_concurrent_role_edits_with_the_same_if_match_one_wins() {
    let s = stack().await;
    let acme = s.account().await;
    let role = create_role(&s, &acme.token, json!({ "name": "Racers", "permissions": ["members_read"] })).await;
    let path = format!("/v1/roles/{}", role["id"].as_str().unwrap());
    let etag = s.get(&path, Some(&acme.token)).await.etag.unwrap();
    let edits = ["Racers A", "Racers B"].map(|name| {
        s.json(Method::PATCH, &path, &acme.token, Some(json!({ "name": name })), Some(("if-match", &etag)))
    });
    let mut statuses: Vec<u16> = join_all(edits).await.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    // The loser's name was not claimed: it is still free.
    let name = s.get(&path, Some(&acme.token)).await.ok(200)["name"].as_str().unwrap().to_owned();
    let other = if name == "Racers A" { "Racers B" } else { "Racers A" };
    create_role(&s, &acme.token, json!({ "name": other, "permissions": [] })).await;
}

/// More holders than one transaction can move: the deletion moves them in steps and finishes.
#[tokio::test]
async fn deleting_a_role_held_by_more_members_than_one_transaction_moves_them_all() {
    use roster::domain::role::RoleRef;
    let s = stack().await;
    let acme = s.account().await;
    let role = create_role(&s, &acme.token, json!({ "name": "Seasonal", "permissions": ["members_read"] })).await;
    let role_id = role["id"].as_str().unwrap().to_owned();
    let custom = RoleRef::parse(&role_id).unwrap();
    let seeded = s.seed_members(&acme, 150, |_, m| m.role = custom).await;
    let path = format!("/v1/roles/{role_id}");
    assert_eq!(s.get(&path, Some(&acme.token)).await.ok(200)["member_count"], 150);

    let gone = s.json(Method::DELETE, &path, &acme.token, Some(json!({ "replacement_role": "viewer" })), None).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let viewers = s.get("/v1/members?role=viewer&limit=200", Some(&acme.token)).await;
    let mut moved: Vec<String> =
        viewers.ok(200)["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    moved.sort();
    let mut expected = seeded.clone();
    expected.sort();
    assert_eq!(moved, expected);
    let left = s.get(&format!("/v1/members?role={role_id}"), Some(&acme.token)).await;
    assert_eq!(left.ok(200)["items"], json!([]));
    let actions = s.audit_actions(&acme.id).await;
    assert!(actions.contains(&"role.members_moved".to_owned()) && actions.contains(&"role.deleted".to_owned()));
}

#[tokio::test]
async fn another_accounts_role_is_not_found_and_cannot_be_given() {
    let s = stack().await;
    let (acme, globex) = (s.account().await, s.account().await);
    let role = create_role(&s, &globex.token, json!({ "name": "Globex only", "permissions": ["members_read"] })).await;
    let path = format!("/v1/roles/{}", role["id"].as_str().unwrap());
    let before = s.partition_keys(&globex.id).await;
    assert_eq!(s.get(&path, Some(&acme.token)).await.problem(404), "not_found");
    let edit = s.json(Method::PATCH, &path, &acme.token, Some(json!({ "name": "Stolen" })), None).await;
    assert_eq!(edit.problem(404), "not_found");
    let delete = s.json(Method::DELETE, &path, &acme.token, None, None).await;
    assert_eq!(delete.problem(404), "not_found");
    let invite = s.invite(&acme, &format!("x@{}.test", acme.web_address), role["id"].as_str().unwrap()).await;
    assert_eq!(invite.problem(404), "unknown_reference");
    assert_eq!(invite.body["errors"][0]["code"], "unknown_role");
    assert_eq!(s.partition_keys(&globex.id).await, before);
    assert_eq!(s.get(&path, Some(&globex.token)).await.ok(200)["name"], "Globex only");
}
