//! Usergroups (issue 12, SPEC §5): settings, holders, and a user's effective usergroups with
//! where each came from, table-tested over HTTP.
use reqwest::Method;
use roster_tests::*;
use serde_json::{Value, json};

async fn created(s: &Stack, acme: &Account, path: &str, body: Value) -> String {
    s.post(path, Some(&acme.token), body).await.ok(201)["id"].as_str().unwrap().to_owned()
}

async fn put(s: &Stack, acme: &Account, path: &str, body: Option<Value>) -> Value {
    s.call(Method::PUT, path, Some(&acme.token), body).await.ok(200).clone()
}

/// The user's effective usergroups: name → the kinds of way they came (sorted).
async fn effective(s: &Stack, acme: &Account, user: &str) -> Vec<(String, Vec<String>)> {
    let r = s.get(&format!("/v1/users/{user}/usergroups"), Some(&acme.token)).await;
    let mut out: Vec<(String, Vec<String>)> = r.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut via: Vec<String> =
                e["via"].as_array().unwrap().iter().map(|v| v["kind"].as_str().unwrap().to_owned()).collect();
            via.sort();
            (e["usergroup"]["name"].as_str().unwrap().to_owned(), via)
        })
        .collect();
    out.sort();
    out
}

fn row(name: &str, via: &[&str]) -> (String, Vec<String>) {
    (name.to_owned(), via.iter().map(|v| v.to_string()).collect())
}

#[tokio::test]
async fn effective_usergroups_come_directly_through_organizations_and_optionally_their_ancestors() {
    let s = stack().await;
    let acme = s.account().await;
    let ug = |name: &'static str, perms: Value| {
        let (s, acme) = (&s, &acme);
        async move { created(s, acme, "/v1/usergroups", json!({ "name": name, "permissions": perms })).await }
    };
    let kb = ug("Knowledge base", json!(["kb.read", "kb.comment"])).await;
    let tickets = ug("Tickets", json!(["portal.tickets.create", "portal.tickets.view_org"])).await;
    let chat = ug("Chat", json!(["portal.chat"])).await;
    let parent = created(&s, &acme, "/v1/organizations", json!({ "name": "Parent" })).await;
    let child = created(&s, &acme, "/v1/organizations", json!({ "name": "Child", "parent_id": parent })).await;
    let ann = created(&s, &acme, "/v1/users", json!({ "name": "Ann", "emails": ["ann@ug.test"] })).await;
    put(&s, &acme, &format!("/v1/organizations/{child}/members/{ann}"), Some(json!({}))).await;

    assert_eq!(effective(&s, &acme, &ann).await, []);
    put(&s, &acme, &format!("/v1/users/{ann}/usergroups/{kb}"), None).await;
    put(&s, &acme, &format!("/v1/organizations/{child}/usergroups/{kb}"), None).await;
    put(&s, &acme, &format!("/v1/organizations/{child}/usergroups/{tickets}"), None).await;
    put(&s, &acme, &format!("/v1/organizations/{parent}/usergroups/{chat}"), None).await;
    assert_eq!(
        effective(&s, &acme, &ann).await,
        [row("Knowledge base", &["organization", "user"]), row("Tickets", &["organization"])],
        "the parent's usergroups stay with the parent while the preference is off"
    );

    let prefs = json!({ "usergroups_from_parent_organizations": true });
    s.call(Method::PATCH, "/v1/account/preferences", Some(&acme.token), Some(prefs)).await.ok(200);
    let all = effective(&s, &acme, &ann).await;
    assert_eq!(
        all,
        [
            row("Chat", &["ancestor"]),
            row("Knowledge base", &["organization", "user"]),
            row("Tickets", &["organization"])
        ]
    );
    let detail = s.get(&format!("/v1/users/{ann}/usergroups"), Some(&acme.token)).await;
    let chat_via =
        detail.ok(200)["items"].as_array().unwrap().iter().find(|e| e["usergroup"]["name"] == "Chat").unwrap()["via"]
            [0]
        .clone();
    assert_eq!(chat_via, json!({ "kind": "ancestor", "organization_id": parent, "below": child }));

    // Leaving the organization takes what it gave; what was given directly stays.
    s.call(Method::DELETE, &format!("/v1/organizations/{child}/members/{ann}"), Some(&acme.token), None).await.ok(200);
    assert_eq!(effective(&s, &acme, &ann).await, [row("Knowledge base", &["user"])]);
    s.call(Method::DELETE, &format!("/v1/users/{ann}/usergroups/{kb}"), Some(&acme.token), None).await.ok(200);
    assert_eq!(effective(&s, &acme, &ann).await, []);
}

#[tokio::test]
async fn a_usergroup_is_deleted_only_when_nobody_holds_it() {
    let s = stack().await;
    let acme = s.account().await;
    let g = created(&s, &acme, "/v1/usergroups", json!({ "name": "KB", "permissions": ["kb.read", "kb.read"] })).await;
    let got = s.get(&format!("/v1/usergroups/{g}"), Some(&acme.token)).await;
    assert_eq!(got.ok(200)["permissions"], json!(["kb.read"]));
    let again = s.post("/v1/usergroups", Some(&acme.token), json!({ "name": "kb" })).await;
    assert_eq!(again.problem(409), "usergroup_name_taken");
    let bad =
        s.post("/v1/usergroups", Some(&acme.token), json!({ "name": "X", "permissions": ["admin.everything"] })).await;
    assert_eq!(bad.status, 422);

    let org = created(&s, &acme, "/v1/organizations", json!({ "name": "Holder" })).await;
    let on_org = format!("/v1/organizations/{org}/usergroups/{g}");
    assert_eq!(put(&s, &acme, &on_org, None).await["usergroups"], json!([g]));
    assert_eq!(put(&s, &acme, &on_org, None).await["usergroups"], json!([g]), "giving twice changes nothing");
    let held = s.get(&format!("/v1/usergroups/{g}"), Some(&acme.token)).await;
    assert_eq!(held.ok(200)["holders"], 1);
    let refused = s.call(Method::DELETE, &format!("/v1/usergroups/{g}"), Some(&acme.token), None).await;
    assert_eq!(refused.problem(409), "usergroup_in_use");

    // Deleting the holder releases it.
    assert_eq!(s.call(Method::DELETE, &format!("/v1/organizations/{org}"), Some(&acme.token), None).await.status, 204);
    assert_eq!(s.get(&format!("/v1/usergroups/{g}"), Some(&acme.token)).await.ok(200)["holders"], 0);
    assert_eq!(s.call(Method::DELETE, &format!("/v1/usergroups/{g}"), Some(&acme.token), None).await.status, 204);
    assert_eq!(s.get(&format!("/v1/usergroups/{g}"), Some(&acme.token)).await.status, 404);

    // Another account's usergroup cannot be given.
    let other = s.account().await;
    let theirs = created(&s, &other, "/v1/usergroups", json!({ "name": "Theirs" })).await;
    let mine = created(&s, &acme, "/v1/organizations", json!({ "name": "Mine" })).await;
    let r =
        s.call(Method::PUT, &format!("/v1/organizations/{mine}/usergroups/{theirs}"), Some(&acme.token), None).await;
    assert_eq!(r.status, 404);
}
