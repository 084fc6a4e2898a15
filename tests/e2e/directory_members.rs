//! Directory people as members (issue 13, SPEC §6): against the suite's slapd (its memberof
//! overlay keeps `memberOf`), the role from the first mapped group, invitations through the one
//! invitation path, and the directory's changes through the members paths.
use super::directory_sync::{connect, count, results, run, run_as_scheduled};
use reqwest::Method;
use roster::service::Services;
use roster_tests::ldap::{Person, TestDirectory, person_dn};
use roster_tests::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The account's members by email.
async fn members(s: &Stack, acme: &Account) -> BTreeMap<String, Value> {
    let list = s.get("/v1/members?limit=200", Some(&acme.token)).await.ok(200).clone();
    list["items"].as_array().unwrap().iter().map(|m| (m["email"].as_str().unwrap().to_owned(), m.clone())).collect()
}

fn counts(run: &Value) -> [u64; 6] {
    ["created", "updated", "deactivated", "reactivated", "unchanged", "errors"].map(|k| count(run, k))
}

#[tokio::test]
async fn directory_groups_give_members_their_roles_and_the_directory_keeps_them_current() {
    let _load = heavy_load().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let domain = format!("{}.test", unique("dirmembers"));
    let email = |i: usize| format!("u{i}@{domain}");
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("members").await;
    let elsewhere = d.unit("members-out").await;
    let people: Vec<Person> =
        (0..6).map(|i| Person { uid: format!("u{i}"), cn: format!("Agent Number{i}"), mail: email(i) }).collect();
    d.add_people(&unit, &people).await;
    let dn = |i: usize| person_dn(&unit, &format!("u{i}"));
    let admins = d.add_group(&unit, "Support Admins", &[&dn(0)]).await;
    let agents = d.add_group(&unit, "Support Agents", &[&dn(1), &dn(2), &dn(3), &dn(5)]).await;
    // Someone invited by hand before the directory came: linked by email, not invited twice.
    let by_hand = s.invite(&acme, &email(3), "viewer").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();

    // What a members connection needs, and what it may not do.
    let base = json!({
        "name": "Staff", "url": d.url, "security": "plain", "allow_insecure": true, "bind_dn": d.admin,
        "bind_password": d.password, "base_dns": [unit], "preset": "openldap",
    });
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    for (extra, field) in [
        (json!({ "people_become": "members" }), "role_mapping"),
        (json!({ "role_mapping": [{ "group_dn": admins, "role": "admin" }] }), "role_mapping"),
        (
            json!({ "people_become": "members", "role_mapping": [{ "group_dn": admins, "role": "owner" }] }),
            "role_mapping[0].role",
        ),
        (
            json!({ "people_become": "members", "role_mapping": [{ "group_dn": "no dn", "role": "agent" }] }),
            "role_mapping[0].group_dn",
        ),
        (json!({ "people_become": "members", "default_role": "owner" }), "default_role"),
    ] {
        let r = s.post("/v1/directories", Some(&acme.token), with(extra.clone())).await;
        assert_eq!(r.problem(422), "validation_failed", "{extra}");
        assert_eq!(r.body["errors"][0]["field"], field, "{extra}: {}", r.body);
    }
    // Wrong shapes: a client error, no connection.
    for extra in [
        json!({ "people_become": "members", "role_mapping": "admins" }),
        json!({ "people_become": "members", "role_mapping": [{ "group_dn": admins, "role": "not a role" }] }),
        json!({ "people_become": "members", "role_mapping": [{ "group_dn": admins, "role": "admin", "extra": 1 }] }),
        json!({ "people_become": "staff", "default_role": "agent" }),
    ] {
        let r = s.post("/v1/directories", Some(&acme.token), with(extra.clone())).await;
        assert!(r.status.is_client_error(), "{extra}: {}", r.text);
        assert_eq!(r.content_type, "application/problem+json", "{extra}");
    }
    let none = s.get("/v1/directories", Some(&acme.token)).await.ok(200).clone();
    assert_eq!(none["items"], json!([]), "refused settings created nothing");
    let unknown = json!({ "people_become": "members", "default_role": "0190f5a2-0000-7000-8000-000000000000" });
    assert_eq!(s.post("/v1/directories", Some(&acme.token), with(unknown)).await.status, 404);
    let mapping = json!({
        "people_become": "members",
        "role_mapping": [{ "group_dn": admins, "role": "admin" }, { "group_dn": agents, "role": "agent" }],
    });
    let dir = connect(&s, &acme, &d, &unit, mapping).await;
    let path = format!("/v1/directories/{dir}");
    let shown = s.get(&path, Some(&acme.token)).await.ok(200).clone();
    assert_eq!(
        (shown["people_become"].as_str(), shown["role_mapping"][1]["role"].as_str()),
        (Some("members"), Some("agent"))
    );
    let fixed = s.call(Method::PATCH, &path, Some(&acme.token), Some(json!({ "people_become": "end_users" }))).await;
    assert_eq!(fixed.problem(422), "validation_failed");

    // First run: four invited with their groups' roles, the hand-invited one linked and given
    // the directory's role, the person in no mapped group left out.
    let first = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(counts(&first), [4, 1, 0, 0, 0, 0], "{first}");
    let now = members(&s, &acme).await;
    let role = |m: &BTreeMap<String, Value>, i: usize| m[&email(i)]["role"].as_str().unwrap().to_owned();
    assert_eq!([0, 1, 2, 3, 5].map(|i| role(&now, i)), ["admin", "agent", "agent", "agent", "agent"]);
    assert_eq!(now[&email(0)]["source"], "directory");
    assert_eq!(now[&email(0)]["status"], "invited");
    assert_eq!(
        (now[&email(0)]["first_name"].as_str(), now[&email(0)]["last_name"].as_str()),
        (Some("Agent"), Some("Number0"))
    );
    assert_eq!(now[&email(3)]["id"], by_hand.as_str(), "the same member, not a second one");
    assert!(!now.contains_key(&email(4)), "in no mapped group: not a member");
    let lines = results(&s, &acme, &dir, first["id"].as_str().unwrap()).await;
    assert!(
        lines.iter().any(|l| l["detail"]["linked"] == true && l["detail"]["email"] == email(3).as_str()),
        "{lines:?}"
    );
    // The invitation went out like any other, and u1 accepts it.
    let token = token_from(&s.mail_to(&email(1)).await);
    assert_eq!(s.accept(&token, "member passphrase 42", "member passphrase 42").await.status, 200);
    let u1 = now[&email(1)]["id"].as_str().unwrap().to_owned();

    // Nothing changed: nothing written.
    let changes = |a: Vec<String>| a.into_iter().filter(|a| a != "directory.run_started").count();
    let audit_before = changes(s.audit_actions(&acme.id).await);
    let second = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(counts(&second), [0, 0, 0, 0, 5, 0], "{second}");
    assert_eq!(changes(s.audit_actions(&acme.id).await), audit_before);

    // u1 becomes an admin, u2 is renamed, u5 leaves every mapped group (their invitation ends),
    // and u4 joins the agents (invited now). A group's change does not touch its members'
    // entries (memberOf is a back-link), so the scheduled run sees the groups changed and
    // reads everyone.
    d.replace_all(&admins, "member", &[&dn(0), &dn(1)]).await;
    d.replace_all(&agents, "member", &[&dn(1), &dn(2), &dn(3), &dn(4)]).await;
    d.replace(&dn(2), "sn", "Renamed").await;
    let third = run_as_scheduled(&s, &services, &acme, &dir).await;
    assert_eq!(counts(&third), [1, 2, 1, 0, 2, 0], "{third}");
    assert_eq!(count(&third, "read"), 6, "{third}");
    let now = members(&s, &acme).await;
    assert_eq!(role(&now, 1), "admin", "the first mapped group wins");
    assert_eq!(now[&email(2)]["last_name"], "Renamed");
    assert!(!now.contains_key(&email(5)), "an invitation the directory withdrew is cancelled");
    assert_eq!(role(&now, 4), "agent");

    // u1 leaves the directory's scope: deactivated, their sessions ended; back: the same member,
    // active again, role kept.
    let moved = d.move_to(&dn(1), &elsewhere).await;
    let fourth = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(count(&fourth, "deactivated"), 1, "{fourth}");
    let gone = s.get(&format!("/v1/members/{u1}"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!(gone["status"], "deactivated");
    let login = s.login(&acme.web_address, &email(1), "member passphrase 42").await;
    assert_ne!(login.status, 200, "a deactivated member cannot sign in");
    d.move_to(&moved, &unit).await;
    let fifth = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(count(&fifth, "reactivated"), 1, "{fifth}");
    let back = s.get(&format!("/v1/members/{u1}"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!((back["status"].as_str(), back["role"].as_str()), (Some("active"), Some("admin")));
    let now_count = members(&s, &acme).await.len();
    // Nothing changed since: a scheduled run reads nothing (no group changed either).
    let quiet = run_as_scheduled(&s, &services, &acme, &dir).await;
    assert_eq!((count(&quiet, "read"), quiet["results"].as_u64()), (0, Some(0)), "{quiet}");
    // Deleted: the members stay; what Roster kept of the entries goes, by a job a little later.
    let entries =
        |keys: Vec<String>| keys.into_iter().filter(|k| k.starts_with("DIRENT#") || k.starts_with("DIRORG#")).count();
    assert_eq!(entries(s.partition_keys(&acme.id).await), 6);
    s.call(Method::DELETE, &path, Some(&acme.token), None).await.ok(204);
    let forget = s
        .partition(&acme.id)
        .await
        .into_iter()
        .find(|i| i.get("kind").and_then(|k| k.as_s().ok()).is_some_and(|k| k == "forget_directory"))
        .and_then(|i| i.get("id")?.as_s().ok().cloned())
        .expect("a forget_directory job");
    let account = roster::domain::ids::AccountId::parse(&acme.id).unwrap();
    let job = roster::domain::ids::JobId::parse(&forget).unwrap();
    services.store.run_job_of_now(Some(account), roster::jobs::Kind::ForgetDirectory, job).await.unwrap();
    run_jobs_until(&services, || async { (entries(s.partition_keys(&acme.id).await) == 0).then_some(()) }).await;
    assert_eq!(members(&s, &acme).await.len(), now_count, "the members stay");
    let log = s.audit_actions(&acme.id).await;
    for action in [
        "invitation.created",
        "member.role_changed",
        "member.updated",
        "invitation.cancelled",
        "member.deactivated",
        "member.reactivated",
    ] {
        assert!(log.iter().any(|a| a == action), "{action} in the system log");
    }
}

#[tokio::test]
async fn people_past_the_invitation_limit_are_invited_by_a_later_run() {
    let _load = heavy_load().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let limit = |n: u32| json!({ "invitations_per_hour": n });
    s.call(Method::PATCH, "/v1/account/preferences", Some(&acme.token), Some(limit(3))).await.ok(200);
    let domain = format!("{}.test", unique("dirlimit"));
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("limit").await;
    let people: Vec<Person> = (0..8)
        .map(|i| Person { uid: format!("l{i}"), cn: format!("Limited Person{i}"), mail: format!("l{i}@{domain}") })
        .collect();
    d.add_people(&unit, &people).await;
    let dir = connect(&s, &acme, &d, &unit, json!({ "people_become": "members", "default_role": "agent" })).await;

    let first = run(&s, &services, &acme, &dir, false).await;
    assert_eq!((count(&first, "created"), count(&first, "rate_limited")), (3, 5), "{first}");
    assert_eq!(members(&s, &acme).await.keys().filter(|e| e.ends_with(&domain)).count(), 3);

    // The limit raised: the next scheduled run reads the people left (the change mark stayed
    // where it was) and invites them; nobody twice.
    s.call(Method::PATCH, "/v1/account/preferences", Some(&acme.token), Some(limit(100))).await.ok(200);
    let second = run_as_scheduled(&s, &services, &acme, &dir).await;
    assert_eq!((count(&second, "created"), count(&second, "rate_limited")), (5, 0), "{second}");
    assert_eq!(members(&s, &acme).await.keys().filter(|e| e.ends_with(&domain)).count(), 8);
    let third = run_as_scheduled(&s, &services, &acme, &dir).await;
    assert_eq!(count(&third, "read"), 0, "from the new mark: nothing left to read: {third}");
}

#[tokio::test]
async fn a_member_moved_to_another_connections_scope_is_let_go_not_removed() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let domain = format!("{}.test", unique("dirmoved"));
    let mut d = TestDirectory::connect().await;
    let (east, west) = (d.unit("members-east").await, d.unit("members-west").await);
    d.add_people(&east, &[Person { uid: "m0".into(), cn: "Moving Agent".into(), mail: format!("m0@{domain}") }]).await;
    let staff = json!({ "people_become": "members", "default_role": "agent" });
    let first = connect(&s, &acme, &d, &east, staff.clone()).await;
    let second = connect(&s, &acme, &d, &west, staff).await;
    assert_eq!(count(&run(&s, &services, &acme, &first, false).await, "created"), 1);
    let invited = members(&s, &acme).await[&format!("m0@{domain}")].clone();

    // Moved west: the second connection finds the member by email, the first lets them go.
    d.move_to(&person_dn(&east, "m0"), &west).await;
    let found = run(&s, &services, &acme, &second, false).await;
    assert_eq!((count(&found, "updated"), count(&found, "created")), (1, 0), "{found}");
    let gone = run(&s, &services, &acme, &first, false).await;
    assert_eq!((count(&gone, "released"), count(&gone, "deactivated")), (1, 0), "{gone}");
    let now = members(&s, &acme).await[&format!("m0@{domain}")].clone();
    assert_eq!((&now["id"], &now["status"]), (&invited["id"], &invited["status"]), "{now}");
    let rerun = run(&s, &services, &acme, &second, false).await;
    assert_eq!(count(&rerun, "unchanged"), 1, "{rerun}");
}
