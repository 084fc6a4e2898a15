//! The authorization matrix, generated from the route table: every route × every basic role
//! (and no credentials) answers exactly as the role table says. A new route is in the matrix
//! the moment it is in the table, and the table cannot hold a route without an access rule.
use reqwest::Method;
use roster::domain::permissions::BasicRole;
use roster::http::auth::Access;
use roster::http::routes::{ROUTES, Route};
use roster_tests::*;
use std::collections::HashMap;

/// A request that reaches the handler if authorized: path parameters are ids that exist in no
/// account (so destructive routes change nothing), bodies are empty objects.
fn request(route: &Route) -> (Method, String, Option<serde_json::Value>) {
    let nobody = "01a20000000070008000000000000000";
    let path = route.path.replace("{id}", nobody).replace("{member_id}", nobody).replace("{agent_id}", "matrix-1");
    let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
    let body = matches!(route.method, "post" | "patch" | "put").then(|| serde_json::json!({}));
    (method, path, body)
}

fn allowed(route: &Route, role: BasicRole) -> bool {
    match route.access {
        Access::Public | Access::Member => true,
        Access::Permission(p) => role.allows(p),
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_role_table_says() {
    let s = stack().await;
    let acme = s.account().await;
    let mut tokens: HashMap<BasicRole, String> = HashMap::from([(BasicRole::Owner, acme.token.clone())]);
    for role in BasicRole::ALL.into_iter().filter(|r| *r != BasicRole::Owner) {
        let (_, token, _) =
            s.active_member(&acme, &format!("{}@{}.test", role.id(), acme.web_address), role.id()).await;
        tokens.insert(role, token);
    }
    // An API key scoped to reading members is allowed exactly the routes that need only that.
    let key = s
        .post("/v1/api-keys", Some(&acme.token), serde_json::json!({ "name": "matrix", "scopes": ["members_read"] }))
        .await;
    let key = key.ok(201)["secret"].as_str().unwrap().to_owned();
    // Logout ends the caller's session, so it goes last.
    let mut routes: Vec<&Route> = ROUTES.iter().filter(|r| r.access != Access::Public).collect();
    routes.sort_by_key(|r| r.id == "auth-logout");
    let before = s.partition_keys(&acme.id).await;
    let mut checked = 0;
    for route in routes {
        let (method, path, body) = request(route);
        let anonymous = s.call(method.clone(), &path, None, body.clone()).await;
        assert_eq!(anonymous.problem(401), "unauthenticated", "{} without credentials", route.id);
        for role in BasicRole::ALL {
            let r = s.call(method.clone(), &path, Some(&tokens[&role]), body.clone()).await;
            if allowed(route, role) {
                assert!(!matches!(r.status.as_u16(), 401 | 403), "{} as {role:?} was refused: {}", route.id, r.text);
            } else {
                assert_eq!(r.problem(403), "forbidden", "{} as {role:?}", route.id);
            }
            checked += 1;
        }
        let r = s.call(method.clone(), &path, Some(&key), body.clone()).await;
        if route.access == Access::Permission(roster::domain::permissions::Permission::MembersRead) {
            assert!(
                !matches!(r.status.as_u16(), 401 | 403),
                "{} with a members_read key was refused: {}",
                route.id,
                r.text
            );
        } else {
            assert_eq!(r.problem(403), "forbidden", "{} with a members_read key", route.id);
        }
    }
    let protected = ROUTES.iter().filter(|r| r.access != Access::Public).count();
    assert_eq!(checked, protected * BasicRole::ALL.len());
    assert!(protected >= 16, "the route table lost routes: {protected}");
    // Refused or aimed at nobody, nothing but the logins and logouts changed anything.
    let after: Vec<String> = s.partition_keys(&acme.id).await;
    let changed: Vec<_> = after
        .iter()
        .filter(|k| !before.contains(k))
        .filter(|k| !k.starts_with("AUDIT#") && !k.starts_with("APIKEY#"))
        .collect();
    assert!(changed.is_empty(), "the matrix changed {changed:?}");
}
