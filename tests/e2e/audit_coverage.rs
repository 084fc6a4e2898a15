//! Every mutating route writes its audit entry (issue 5, SPEC §8): the test walks the route
//! table, calls each POST/PUT/PATCH/DELETE route with a request that succeeds, and compares the
//! account's partition before and after. A route that changes data without an entry — or a new
//! route without a scenario here — fails the build.
//!
//! An entry describes one object (its target); the items that change with it (a member's
//! group list when the group's members change, uniqueness claims, seats) are part of that
//! change. So: at least one new entry when anything changed, no two new entries for the same
//! target, and every entry's target among the changed items.
use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use roster::http::routes::{ROUTES, Route};
use roster_tests::*;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Routes that may change stored data without an entry, and why.
const EXEMPT: &[(&str, &str)] = &[
    ("auth-refresh", "rotates a session's refresh token: login bookkeeping (login and logout are logged)"),
    ("account-find-web-address", "changes no account's data (only a global rate counter)"),
    ("directories-test", "binds and reads the directory; changes nothing"),
];

/// Items that are not data people change: the log itself, its digests and the sealing job's
/// verification state (written by the recurring job whenever it comes round), login-failure
/// counters.
fn bookkeeping(sk: &str) -> bool {
    sk == "VERIFICATION"
        || ["AUDIT#", "DIGEST#", "LOGINFAIL#", "RESETCOUNT#", "INVITECOUNT#"].iter().any(|p| sk.starts_with(p))
}

struct Call {
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    raw: Option<Vec<u8>>,
    /// The raw body's media type, when the server does not tell it by its bytes.
    content_type: Option<&'static str>,
    form: Option<Vec<(String, String)>>,
    /// The account whose partition to compare; `None`: the one the response creates.
    watch: Option<String>,
}

impl Call {
    fn new(method: Method, path: impl Into<String>, token: &str, body: Option<Value>, watch: &Account) -> Self {
        Call {
            method,
            path: path.into(),
            token: Some(token.to_owned()),
            body,
            raw: None,
            content_type: None,
            form: None,
            watch: Some(watch.id.clone()),
        }
    }
}

struct Fixture {
    acme: Account,
    agent: String,
    agent_token: String,
}

async fn new_member(s: &Stack, fx: &Fixture) -> String {
    s.active_member(&fx.acme, &format!("{}@{}.test", unique("m"), fx.acme.web_address), "agent").await.0
}

async fn invited(s: &Stack, fx: &Fixture) -> (String, String) {
    let email = format!("{}@{}.test", unique("i"), fx.acme.web_address);
    let id = s.invite(&fx.acme, &email, "agent").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    (id, email)
}

async fn created(s: &Stack, fx: &Fixture, path: &str, body: Value) -> String {
    s.post(path, Some(&fx.acme.token), body).await.ok(201)["id"].as_str().unwrap().to_owned()
}

/// A connection to the test directory that finds nobody (runs change no people).
fn directory_body() -> Value {
    let env = |n: &str| std::env::var(n).unwrap();
    json!({
        "name": unique("Dir "), "url": env("ROSTER_TEST_LDAP_URL"), "security": "plain", "allow_insecure": true,
        "bind_dn": env("ROSTER_TEST_LDAP_ADMIN"), "bind_password": env("ROSTER_TEST_LDAP_PASSWORD"),
        "base_dns": [env("ROSTER_TEST_LDAP_BASE")], "preset": "openldap", "user_filter": "(uid=nobody-at-all)",
    })
}

/// A request to `route` that succeeds, with what it needs created first.
async fn scenario(s: &Stack, fx: &Fixture, route: &Route) -> Call {
    use Method as M;
    let (acme, owner) = (&fx.acme, fx.acme.token.as_str());
    let call = |m: Method, path: String, body: Option<Value>| Call::new(m, path, owner, body, acme);
    match route.id {
        "accounts-create" => {
            let w = unique("walk");
            Call {
                token: None,
                watch: None,
                ..call(M::POST, route.path.into(), Some(s.sign_up_body(&w, &format!("o@{w}.test"))))
            }
        }
        // Its own account: the fixture's address must keep working for the logins below.
        "account-web-address" => {
            let other = s.account().await;
            Call::new(M::PUT, route.path, &other.token, Some(json!({ "web_address": unique("walked") })), &other)
        }
        "account-find-web-address" => {
            Call { token: None, ..call(M::POST, route.path.into(), Some(json!({ "email": acme.owner_email }))) }
        }
        "account-delete" => {
            let other = s.account().await;
            let body = json!({ "web_address": other.web_address, "password": PASSWORD });
            Call::new(M::DELETE, route.path, &other.token, Some(body), &other)
        }
        "account-owner-transfer" => {
            let other = s.account().await;
            let (id, _, _) = s.active_member(&other, &format!("admin@{}.test", other.web_address), "admin").await;
            Call::new(M::POST, route.path, &other.token, Some(json!({ "member_id": id, "password": PASSWORD })), &other)
        }
        "settings-registration-update" => call(M::PATCH, route.path.into(), Some(json!({ "newsletter": true }))),
        "settings-preferences-update" => call(M::PATCH, route.path.into(), Some(json!({ "language": "vi" }))),
        "settings-design-update" => call(M::PATCH, route.path.into(), Some(json!({ "website_name": "Walked" }))),
        "settings-image-upload" => Call {
            raw: Some(vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]),
            ..call(M::PUT, "/v1/account/design/logo".into(), None)
        },
        "auth-login" => {
            let body = json!({ "web_address": acme.web_address, "email": acme.owner_email, "password": PASSWORD });
            Call { token: None, ..call(M::POST, route.path.into(), Some(body)) }
        }
        "auth-refresh" => {
            let tokens = s.login(&acme.web_address, &acme.owner_email, PASSWORD).await;
            let body = json!({ "refresh_token": tokens.ok(200)["refresh_token"] });
            Call { token: None, ..call(M::POST, route.path.into(), Some(body)) }
        }
        "auth-logout" => {
            let tokens = s.login(&acme.web_address, &acme.owner_email, PASSWORD).await;
            let token = tokens.ok(200)["access_token"].as_str().unwrap().to_owned();
            Call::new(M::POST, route.path, &token, None, acme)
        }
        "auth-password-reset" => {
            let email = format!("{}@{}.test", unique("r"), acme.web_address);
            s.active_member(acme, &email, "agent").await;
            let body = json!({ "web_address": acme.web_address, "email": email });
            Call { token: None, ..call(M::POST, route.path.into(), Some(body)) }
        }
        "password-reset" => {
            let email = format!("{}@{}.test", unique("r"), acme.web_address);
            s.active_member(acme, &email, "agent").await;
            let body = json!({ "web_address": acme.web_address, "email": email });
            s.post("/v1/auth/password-reset", None, body).await.ok(202);
            let token = token_from(&s.mail_matching(&email, "password-reset").await);
            let pw = "another passphrase 77".to_owned();
            let form =
                vec![("token".into(), token), ("password".into(), pw.clone()), ("password_confirmation".into(), pw)];
            Call { token: None, form: Some(form), ..call(M::POST, route.path.into(), None) }
        }
        "account-verification-resend" => {
            let fresh = s.unverified_account().await;
            Call::new(M::POST, route.path, &fresh.token, None, &fresh)
        }
        "account-verify" => {
            let fresh = s.unverified_account().await;
            let token = token_from(&s.mail_matching(&fresh.owner_email, "account/verify").await);
            Call {
                token: None,
                form: Some(vec![("token".into(), token)]),
                ..Call::new(M::POST, route.path, "", None, &fresh)
            }
        }
        "me-password" => {
            let email = format!("{}@{}.test", unique("p"), acme.web_address);
            let (_, token, _) = s.active_member(acme, &email, "agent").await;
            let body = json!({ "current_password": "member passphrase 42", "new_password": "a brand new passphrase" });
            Call::new(M::POST, route.path, &token, Some(body), acme)
        }
        "members-update" => {
            call(M::PATCH, format!("/v1/members/{}", fx.agent), Some(json!({ "first_name": "Walked" })))
        }
        "members-delete" => call(M::DELETE, format!("/v1/members/{}", new_member(s, fx).await), None),
        "members-deactivate" => call(M::POST, format!("/v1/members/{}/deactivate", new_member(s, fx).await), None),
        "members-reactivate" => {
            let id = new_member(s, fx).await;
            s.post(&format!("/v1/members/{id}/deactivate"), Some(owner), json!({})).await.ok(200);
            call(M::POST, format!("/v1/members/{id}/reactivate"), None)
        }
        "members-agent-id-assign" => call(M::PUT, format!("/v1/members/{}/agent-ids/walk-1", fx.agent), None),
        "members-agent-id-release" => {
            let id = new_member(s, fx).await;
            s.json(M::PUT, &format!("/v1/members/{id}/agent-ids/walk-2"), owner, None, None).await.ok(200);
            call(M::DELETE, format!("/v1/members/{id}/agent-ids/walk-2"), None)
        }
        "invitations-create" => {
            let body = json!({ "email": format!("walk@{}.test", acme.web_address), "first_name": "W", "last_name": "K", "role": "agent" });
            call(M::POST, route.path.into(), Some(body))
        }
        "invitations-bulk" => {
            let row = |who: &str| json!({ "email": format!("{who}@{}.test", acme.web_address), "first_name": "B", "last_name": "K", "role": "viewer" });
            call(M::POST, route.path.into(), Some(json!([row("bulk-1"), row("bulk-2")])))
        }
        "invitation-jobs-create" => {
            let row = json!({ "email": format!("job-1@{}.test", acme.web_address), "first_name": "J", "last_name": "B", "role": "viewer" });
            call(
                M::POST,
                route.path.into(),
                Some(json!({ "rows": [row], "run_at": chrono::Utc::now() + chrono::Duration::days(1) })),
            )
        }
        "invitation-jobs-cancel" => {
            let row = json!({ "email": format!("job-2@{}.test", acme.web_address), "first_name": "J", "last_name": "B", "role": "viewer" });
            let later = chrono::Utc::now() + chrono::Duration::days(1);
            let job = s.post("/v1/invitation-jobs", Some(owner), json!({ "rows": [row], "run_at": later })).await;
            call(M::POST, format!("/v1/invitation-jobs/{}/cancel", job.ok(202)["id"].as_str().unwrap()), None)
        }
        "members-exports-create" => call(M::POST, route.path.into(), None),
        "audit-exports-create" => call(M::POST, route.path.into(), Some(json!({ "action": "member." }))),
        "invitations-resend" => call(M::POST, format!("/v1/invitations/{}/resend", invited(s, fx).await.0), None),
        "invitations-cancel" => call(M::DELETE, format!("/v1/invitations/{}", invited(s, fx).await.0), None),
        "invitations-accept" => {
            let (_, email) = invited(s, fx).await;
            let token = token_from(&s.mail_to(&email).await);
            let pass = "a walk in the audit park".to_owned();
            Call {
                token: None,
                form: Some(vec![
                    ("token".into(), token),
                    ("password".into(), pass.clone()),
                    ("password_confirmation".into(), pass),
                ]),
                ..call(M::POST, route.path.into(), None)
            }
        }
        "roles-create" => call(M::POST, route.path.into(), Some(json!({ "name": unique("Role "), "permissions": [] }))),
        "roles-update" | "roles-delete" => {
            let id = created(s, fx, "/v1/roles", json!({ "name": unique("Role "), "permissions": [] })).await;
            let body = (route.id == "roles-update").then(|| json!({ "description": "walked" }));
            call(if body.is_some() { M::PATCH } else { M::DELETE }, format!("/v1/roles/{id}"), body)
        }
        "groups-create" => call(M::POST, route.path.into(), Some(json!({ "name": unique("Group ") }))),
        "groups-update" | "groups-delete" | "groups-members" | "groups-leaders" | "groups-assign" => {
            let id = created(s, fx, "/v1/groups", json!({ "name": unique("Group "), "auto_assign": true })).await;
            let path = format!("/v1/groups/{id}");
            match route.id {
                "groups-update" => call(M::PATCH, path, Some(json!({ "description": "walked" }))),
                "groups-delete" => call(M::DELETE, path, None),
                "groups-members" => call(M::POST, format!("{path}/members"), Some(json!({ "add": [fx.agent] }))),
                "groups-leaders" => {
                    call(M::PUT, format!("{path}/leaders"), Some(json!({ "leaders": [acme.owner_id] })))
                }
                _ => {
                    s.post(&format!("{path}/members"), Some(owner), json!({ "add": [fx.agent] })).await.ok(200);
                    call(M::POST, format!("{path}/assignments"), Some(json!({ "ref": "T-1" })))
                }
            }
        }
        "organizations-create" => call(M::POST, route.path.into(), Some(json!({ "name": unique("Org ") }))),
        "organizations-update"
        | "organizations-delete"
        | "organizations-parent"
        | "organizations-domain-add"
        | "organizations-domain-remove" => {
            let id = created(s, fx, "/v1/organizations", json!({ "name": unique("Org ") })).await;
            let path = format!("/v1/organizations/{id}");
            let domain = format!("{}.test", unique("walk"));
            match route.id {
                "organizations-update" => call(M::PATCH, path, Some(json!({ "summary": "walked" }))),
                "organizations-delete" => {
                    // With a child, which moves to the top level in the same change.
                    created(s, fx, "/v1/organizations", json!({ "name": unique("Org "), "parent_id": id })).await;
                    call(M::DELETE, format!("{path}?reparent_to=root"), None)
                }
                "organizations-parent" => {
                    let parent = created(s, fx, "/v1/organizations", json!({ "name": unique("Org ") })).await;
                    call(M::PUT, format!("{path}/parent"), Some(json!({ "parent_id": parent })))
                }
                "organizations-domain-add" => call(M::PUT, format!("{path}/domains/{domain}"), None),
                _ => {
                    s.call(M::PUT, &format!("{path}/domains/{domain}"), Some(owner), None).await.ok(200);
                    call(M::DELETE, format!("{path}/domains/{domain}"), None)
                }
            }
        }
        "users-create" => call(
            M::POST,
            route.path.into(),
            Some(json!({ "name": "Walk", "emails": [format!("{}@walk.test", unique("u"))] })),
        ),
        "users-update" | "users-delete" | "organizations-member-set" | "organizations-member-remove" => {
            let email = format!("{}@walk.test", unique("u"));
            let user = created(s, fx, "/v1/users", json!({ "name": "Walk", "emails": [email] })).await;
            let org = created(s, fx, "/v1/organizations", json!({ "name": unique("Org ") })).await;
            let member = format!("/v1/organizations/{org}/members/{user}");
            match route.id {
                "users-update" => call(M::PATCH, format!("/v1/users/{user}"), Some(json!({ "name": "Walked" }))),
                "users-delete" => call(M::DELETE, format!("/v1/users/{user}"), None),
                "organizations-member-set" => call(M::PUT, member, Some(json!({ "role": "manager" }))),
                _ => {
                    s.call(M::PUT, &member, Some(owner), Some(json!({}))).await.ok(200);
                    call(M::DELETE, member, None)
                }
            }
        }
        "usergroups-create" => {
            call(M::POST, route.path.into(), Some(json!({ "name": unique("UG "), "permissions": ["kb.read"] })))
        }
        "usergroups-update"
        | "usergroups-delete"
        | "organizations-usergroup-give"
        | "organizations-usergroup-take"
        | "users-usergroup-give"
        | "users-usergroup-take" => {
            let g = created(s, fx, "/v1/usergroups", json!({ "name": unique("UG ") })).await;
            let org = created(s, fx, "/v1/organizations", json!({ "name": unique("Org ") })).await;
            let email = format!("{}@walk.test", unique("u"));
            let user = created(s, fx, "/v1/users", json!({ "name": "Walk", "emails": [email] })).await;
            let (on_org, on_user) =
                (format!("/v1/organizations/{org}/usergroups/{g}"), format!("/v1/users/{user}/usergroups/{g}"));
            match route.id {
                "usergroups-update" => {
                    call(M::PATCH, format!("/v1/usergroups/{g}"), Some(json!({ "permissions": ["kb.comment"] })))
                }
                "usergroups-delete" => call(M::DELETE, format!("/v1/usergroups/{g}"), None),
                "organizations-usergroup-give" => call(M::PUT, on_org, None),
                "users-usergroup-give" => call(M::PUT, on_user, None),
                "organizations-usergroup-take" => {
                    s.call(M::PUT, &on_org, Some(owner), None).await.ok(200);
                    call(M::DELETE, on_org, None)
                }
                _ => {
                    s.call(M::PUT, &on_user, Some(owner), None).await.ok(200);
                    call(M::DELETE, on_user, None)
                }
            }
        }
        "users-import" => Call {
            raw: Some(format!("name,email\nImported,{}@walk.test\n", unique("imp")).into_bytes()),
            content_type: Some("text/csv"),
            ..call(M::POST, route.path.into(), None)
        },
        "organizations-domain-remap" => {
            let org = created(s, fx, "/v1/organizations", json!({ "name": unique("Org ") })).await;
            call(M::POST, format!("/v1/organizations/{org}/domains/{}.test/remap", unique("remap")), None)
        }
        "jobs-cancel" => {
            // Scheduled for tomorrow, so no runner ends it first.
            let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
            let path = format!("{}/v1/users/import?run_at={}", s.api, later.replace('+', "%2B"));
            let csv = format!("name,email\nLater,{}@walk.test\n", unique("imp"));
            let req = s.http.post(path).bearer_auth(owner).header("content-type", "text/csv").body(csv);
            let job = s.send(req).await;
            call(M::POST, format!("/v1/jobs/{}/cancel", job.ok(202)["id"].as_str().unwrap()), None)
        }
        "custom-fields-create" => {
            call(M::POST, route.path.into(), Some(json!({ "target": "user", "name": unique("CF "), "kind": "text" })))
        }
        "custom-fields-update" | "custom-fields-delete" => {
            let body =
                json!({ "target": "organization", "name": unique("CF "), "kind": "single_choice", "choices": ["A"] });
            let f = created(s, fx, "/v1/custom-fields", body).await;
            match route.id {
                "custom-fields-update" => {
                    call(M::PATCH, format!("/v1/custom-fields/{f}"), Some(json!({ "choices": ["A", "B"] })))
                }
                _ => call(M::DELETE, format!("/v1/custom-fields/{f}"), None),
            }
        }
        "directories-create" => call(M::POST, route.path.into(), Some(directory_body())),
        "directories-update" | "directories-delete" | "directories-test" | "directories-run" => {
            let d = created(s, fx, "/v1/directories", directory_body()).await;
            match route.id {
                "directories-update" => {
                    call(M::PATCH, format!("/v1/directories/{d}"), Some(json!({ "every_minutes": 15 })))
                }
                "directories-delete" => call(M::DELETE, format!("/v1/directories/{d}"), None),
                "directories-test" => call(M::POST, format!("/v1/directories/{d}/test"), None),
                _ => call(M::POST, format!("/v1/directories/{d}/runs"), None),
            }
        }
        "directories-run-approve" | "directories-run-reject" => {
            // A run held for approval (as a sweep above the threshold leaves it).
            let d = created(s, fx, "/v1/directories", directory_body()).await;
            let run = s.post(&format!("/v1/directories/{d}/runs"), Some(owner), json!({})).await;
            let run = run.ok(202)["id"].as_str().unwrap().to_owned();
            s.dynamo
                .update_item()
                .table_name(&s.table)
                .key("pk", AttributeValue::S(format!("ACCOUNT#{}", acme.id)))
                .key("sk", AttributeValue::S(format!("JOB#{run}")))
                .update_expression("SET #s = :w REMOVE gsi1pk, gsi1sk")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":w", AttributeValue::S("awaiting_approval".into()))
                .send()
                .await
                .unwrap();
            let verb = if route.id == "directories-run-approve" { "approve" } else { "reject" };
            call(M::POST, format!("/v1/directories/{d}/runs/{run}/{verb}"), None)
        }
        "me-availability" => Call::new(M::PUT, route.path, &fx.agent_token, Some(json!({ "available": false })), acme),
        "members-availability" => {
            call(M::PUT, format!("/v1/members/{}/availability", fx.agent), Some(json!({ "available": true })))
        }
        "api-keys-create" => {
            call(M::POST, route.path.into(), Some(json!({ "name": unique("key"), "scopes": ["members_read"] })))
        }
        "api-keys-revoke" => {
            let key =
                s.post("/v1/api-keys", Some(owner), json!({ "name": unique("key"), "scopes": ["members_read"] })).await;
            call(M::DELETE, format!("/v1/api-keys/{}", key.ok(201)["id"].as_str().unwrap()), None)
        }
        other => panic!("the route {other} changes data but has no audit scenario here: add one"),
    }
}

type Items = HashMap<String, HashMap<String, AttributeValue>>;

async fn snapshot(s: &Stack, account_id: &str) -> Items {
    s.partition(account_id).await.into_iter().filter_map(|i| Some((i.get("sk")?.as_s().ok()?.clone(), i))).collect()
}

#[tokio::test]
async fn every_mutating_route_writes_one_audit_entry_per_changed_object() {
    let s = stack().await;
    let acme = s.account().await;
    let (agent, agent_token, _) = s.active_member(&acme, &format!("agent@{}.test", acme.web_address), "agent").await;
    let fx = Fixture { acme, agent, agent_token };
    let mut walked = 0;
    for route in ROUTES.iter().filter(|r| matches!(r.method, "post" | "put" | "patch" | "delete")) {
        let call = scenario(&s, &fx, route).await;
        let before = match &call.watch {
            Some(id) => snapshot(&s, id).await,
            None => Items::new(),
        };
        let mut req = s.http.request(call.method.clone(), format!("{}{}", s.api, call.path));
        if let Some(t) = &call.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = &call.body {
            req = req.json(b);
        }
        if let Some(raw) = call.raw.clone() {
            req = req.body(raw);
        }
        if let Some(t) = call.content_type {
            req = req.header("content-type", t);
        }
        if let Some(form) = &call.form {
            req = req.form(form);
        }
        let r = s.send(req).await;
        assert!(r.status.is_success(), "{}: {} {}", route.id, r.status, r.text);
        let watched = call.watch.clone().unwrap_or_else(|| r.body["account"]["id"].as_str().unwrap().to_owned());
        let after = snapshot(&s, &watched).await;

        let changed: Vec<&String> = before
            .keys()
            .chain(after.keys())
            .filter(|sk| !bookkeeping(sk) && before.get(*sk) != after.get(*sk))
            .collect();
        let entries: Vec<&HashMap<String, AttributeValue>> = after
            .iter()
            .filter(|(sk, _)| sk.starts_with("AUDIT#") && !before.contains_key(*sk))
            .map(|(_, i)| i)
            .collect();
        let field = |i: &HashMap<String, AttributeValue>, f: &str| {
            i.get(f).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
        };
        if let Some((_, why)) = EXEMPT.iter().find(|(id, _)| *id == route.id) {
            assert!(entries.is_empty(), "{} is exempt ({why}) but wrote {} entries", route.id, entries.len());
            walked += 1;
            continue;
        }
        assert!(!changed.is_empty(), "{}: the scenario changed nothing, so it proves nothing", route.id);
        assert!(!entries.is_empty(), "{} changed {changed:?} without an audit entry", route.id);
        let mut targets: Vec<(String, String)> =
            entries.iter().map(|e| (field(e, "target_type"), field(e, "target_id"))).collect();
        targets.sort();
        let count = targets.len();
        targets.dedup();
        assert_eq!(targets.len(), count, "{}: two entries for one object: {targets:?}", route.id);
        for (kind, id) in &targets {
            let key_part = id.replace('/', "#");
            let target_changed = kind == "account" || changed.iter().any(|sk| sk.contains(&key_part));
            assert!(target_changed, "{}: entry for {kind} {id}, which did not change ({changed:?})", route.id);
        }
        walked += 1;
    }
    let mutating = ROUTES.iter().filter(|r| matches!(r.method, "post" | "put" | "patch" | "delete")).count();
    assert_eq!(walked, mutating);
}
