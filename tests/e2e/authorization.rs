//! The authorization matrix, generated from the route table: every route × every basic role
//! (and no credentials) answers exactly as the role table says. A new route is in the matrix
//! the moment it is in the table, and the table cannot hold a route without an access rule.
use reqwest::Method;
use roster::domain::permissions::{BasicRole, Permission};
use roster::http::auth::Access;
use roster::http::routes::{ROUTES, Route};
use roster_tests::*;
use serde_json::json;

/// A request that reaches the handler if authorized: path parameters are ids that exist in no
/// account (so destructive routes change nothing), bodies are empty objects.
fn request(route: &Route) -> (Method, String, Option<serde_json::Value>) {
    let nobody = "01a20000000070008000000000000000";
    let path = route
        .path
        .replace("{id}", nobody)
        .replace("{member_id}", nobody)
        .replace("{agent_id}", "matrix-1")
        .replace("{domain}", "matrix.test")
        .replace("{user_id}", nobody)
        .replace("{other_id}", nobody)
        .replace("{usergroup_id}", nobody);
    let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
    // An export is valid with an empty body: an unknown field keeps it from starting.
    let body = match route.id {
        "members-exports-create" | "audit-exports-create" => Some(serde_json::json!({ "matrix": true })),
        _ => matches!(route.method, "post" | "patch" | "put").then(|| serde_json::json!({})),
    };
    (method, path, body)
}

/// Who calls: a label, a bearer token, what they hold, and whether they are a member.
struct Principal {
    label: String,
    token: String,
    holds: Vec<Permission>,
    member: bool,
}

fn allowed(route: &Route, p: &Principal) -> bool {
    match route.access {
        Access::Public => true,
        Access::Member => p.member,
        Access::Owner => p.label == "owner",
        Access::Permission(needed) => p.holds.contains(&needed),
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_role_table_says() {
    let s = stack().await;
    let acme = s.account().await;
    let mut principals = vec![Principal {
        label: "owner".into(),
        token: acme.token.clone(),
        holds: BasicRole::Owner.permissions().to_vec(),
        member: true,
    }];
    for role in BasicRole::ALL.into_iter().filter(|r| *r != BasicRole::Owner) {
        let (_, token, _) =
            s.active_member(&acme, &format!("{}@{}.test", role.id(), acme.web_address), role.id()).await;
        principals.push(Principal { label: role.id().into(), token, holds: role.permissions().to_vec(), member: true });
    }
    // A custom role, and an API key: allowed exactly what they hold.
    let narrow = vec![Permission::MembersRead, Permission::RolesRead];
    let role = s.post("/v1/roles", Some(&acme.token), json!({ "name": "Matrix", "permissions": narrow })).await;
    let role_id = role.ok(201)["id"].as_str().unwrap().to_owned();
    let (_, token, _) = s.active_member(&acme, &format!("custom@{}.test", acme.web_address), &role_id).await;
    principals.push(Principal { label: "custom role".into(), token, holds: narrow, member: true });
    let key = s.post("/v1/api-keys", Some(&acme.token), json!({ "name": "matrix", "scopes": ["members_read"] })).await;
    let key = key.ok(201)["secret"].as_str().unwrap().to_owned();
    principals.push(Principal {
        label: "members_read key".into(),
        token: key,
        holds: vec![Permission::MembersRead],
        member: false,
    });
    // Logout ends the caller's session, so it goes last.
    let mut routes: Vec<&Route> = ROUTES.iter().filter(|r| r.access != Access::Public).collect();
    routes.sort_by_key(|r| r.id == "auth-logout");
    let before = s.partition_keys(&acme.id).await;
    let mut checked = 0;
    for route in routes {
        let (method, path, body) = request(route);
        let anonymous = s.call(method.clone(), &path, None, body.clone()).await;
        assert_eq!(anonymous.problem(401), "unauthenticated", "{} without credentials", route.id);
        for p in &principals {
            let r = s.call(method.clone(), &path, Some(&p.token), body.clone()).await;
            if allowed(route, p) {
                assert!(!matches!(r.status.as_u16(), 401 | 403), "{} as {} was refused: {}", route.id, p.label, r.text);
            } else {
                assert_eq!(r.problem(403), "forbidden", "{} as {}", route.id, p.label);
            }
            checked += 1;
        }
    }
    let protected = ROUTES.iter().filter(|r| r.access != Access::Public).count();
    assert_eq!(checked, protected * principals.len());
    assert!(protected >= 36, "the route table lost routes: {protected}");
    // Refused or aimed at nobody, nothing but the logins and logouts changed anything.
    let after: Vec<String> = s.partition_keys(&acme.id).await;
    let changed: Vec<_> = after
        .iter()
        .filter(|k| !before.contains(k))
        .filter(|k| !k.starts_with("AUDIT#") && !k.starts_with("APIKEY#"))
        .collect();
    assert!(changed.is_empty(), "the matrix changed {changed:?}");
}
