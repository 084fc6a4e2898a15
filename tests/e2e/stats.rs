//! Member stats come from counters kept in the same transactions as the changes (issue 10): after
//! a mixed, concurrent workload they equal a recount of the members.
use futures::future::join_all;
use reqwest::Method;
use roster_tests::*;
use serde_json::{Value, json};

/// Count the members as the stats define them, from the member list and the roles.
async fn recount(s: &Stack, acme: &Account) -> Value {
    let members = s.get("/v1/members?limit=200", Some(&acme.token)).await.ok(200)["items"].clone();
    let roles = s.get("/v1/roles", Some(&acme.token)).await.ok(200)["items"].clone();
    let admin_role = |id: &str| {
        roles
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id && r["permissions"].as_array().unwrap().iter().any(|p| p == "members_manage"))
    };
    let (mut active, mut invited, mut deactivated, mut admins) = (0, 0, 0, 0);
    for m in members.as_array().unwrap() {
        match m["status"].as_str().unwrap() {
            "active" => {
                active += 1;
                if admin_role(m["role"].as_str().unwrap()) {
                    admins += 1;
                }
            }
            "invited" => invited += 1,
            _ => deactivated += 1,
        }
    }
    json!({ "active": active, "invited": invited, "deactivated": deactivated, "admins": admins, "standard": active - admins })
}

async fn stats(s: &Stack, acme: &Account) -> Value {
    s.get("/v1/members/stats", Some(&acme.token)).await.ok(200).clone()
}

#[tokio::test]
async fn counters_equal_a_recount_after_a_mixed_concurrent_workload() {
    let s = stack().await;
    let acme = s.account().await;
    let mail = |n: usize| format!("m{n}@{}.test", acme.web_address);
    let managers = s
        .post(
            "/v1/roles",
            Some(&acme.token),
            json!({ "name": "Managers", "permissions": ["members_read", "members_manage"] }),
        )
        .await;
    let managers = managers.ok(201)["id"].as_str().unwrap().to_owned();
    let roles = ["agent", "viewer", "admin", managers.as_str()];

    // Six join, six stay invited — all at once.
    let joining = join_all((0..6).map(|n| {
        let (s, acme, email, role) = (&s, &acme, mail(n), roles[n % 4]);
        async move { s.active_member(acme, &email, role).await.0 }
    }));
    let inviting = join_all((6..12).map(|n| {
        let (s, acme, email, role) = (&s, &acme, mail(n), roles[n % 4]);
        async move { s.invite(acme, &email, role).await.ok(201)["member"]["id"].as_str().unwrap().to_owned() }
    }));
    let (active, pending) = futures::join!(joining, inviting);
    assert_eq!(stats(&s, &acme).await, recount(&s, &acme).await);

    // Deactivate, change roles, delete and cancel side by side.
    let member = |id: &String| format!("/v1/members/{id}");
    let token = acme.token.as_str();
    let (off0, off1) = (format!("{}/deactivate", member(&active[0])), format!("{}/deactivate", member(&active[1])));
    let (m2, m3, m4, p1) = (member(&active[2]), member(&active[3]), member(&active[4]), member(&pending[1]));
    let cancel = format!("/v1/invitations/{}", pending[0]);
    let changes = vec![s.post(&off0, Some(token), json!({})), s.post(&off1, Some(token), json!({}))];
    let edits = vec![
        s.json(Method::PATCH, &m2, token, Some(json!({ "role": "agent" })), None),
        s.json(Method::PATCH, &m4, token, Some(json!({ "role": managers })), None),
        s.json(Method::DELETE, &m3, token, None, None),
        s.json(Method::DELETE, &cancel, token, None, None),
        s.json(Method::PATCH, &p1, token, Some(json!({ "role": "admin" })), None),
    ];
    let (done, edited) = futures::join!(join_all(changes), join_all(edits));
    assert!(
        done.iter().chain(&edited).all(|r| r.status.is_success()),
        "{:?}",
        edited.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    s.post(&format!("{}/reactivate", member(&active[1])), Some(token), json!({})).await.ok(200);
    assert_eq!(stats(&s, &acme).await, recount(&s, &acme).await);

    // A role edit changes who counts as admin without touching a member.
    let before = stats(&s, &acme).await;
    let path = format!("/v1/roles/{managers}");
    s.json(Method::PATCH, &path, token, Some(json!({ "permissions": ["members_read"] })), None).await.ok(200);
    let after = stats(&s, &acme).await;
    assert_eq!(after, recount(&s, &acme).await);
    assert!(after["admins"].as_i64() < before["admins"].as_i64(), "{before} → {after}");
    // Deleting the role moves its holders; the counts follow.
    let body = json!({ "replacement_role": "viewer" });
    s.json(Method::DELETE, &path, token, Some(body), None).await.ok(204);
    assert_eq!(stats(&s, &acme).await, recount(&s, &acme).await);
}
