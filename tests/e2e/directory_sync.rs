//! Directory sync against the suite's real slapd (issue 13, SPEC §6): connections over HTTP, runs
//! as jobs run in this process as the schedule would, and what a run does to people.
use reqwest::Method;
use roster::service::Services;
use roster_tests::ldap::{Person, TestDirectory, person_dn};
use roster_tests::*;
use serde_json::{Value, json};

fn person(i: usize, domain: &str) -> Person {
    Person { uid: format!("u{i}"), cn: format!("Person {i}"), mail: format!("u{i}@{domain}") }
}

/// A connection to `unit` of the test directory, over plain LDAP to loopback.
pub(crate) async fn connect(s: &Stack, acme: &Account, d: &TestDirectory, unit: &str, extra: Value) -> String {
    let mut body = json!({
        "name": "Test directory", "url": d.url, "security": "plain", "allow_insecure": true,
        "bind_dn": d.admin, "bind_password": d.password, "base_dns": [unit], "preset": "openldap",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    s.post("/v1/directories", Some(&acme.token), body).await.ok(201)["id"].as_str().unwrap().to_owned()
}

/// Start a full pass and run jobs until it stops (over, or waiting for approval).
pub(crate) async fn run(s: &Stack, services: &Services, acme: &Account, dir: &str, dry_run: bool) -> Value {
    start_and_wait(s, services, acme, dir, json!({ "dry_run": dry_run, "full": true })).await
}

/// Start a run as the schedule would (incremental when it can be) and wait for it.
pub(crate) async fn run_as_scheduled(s: &Stack, services: &Services, acme: &Account, dir: &str) -> Value {
    start_and_wait(s, services, acme, dir, json!({})).await
}

pub(crate) async fn start_and_wait(s: &Stack, services: &Services, acme: &Account, dir: &str, body: Value) -> Value {
    let started = s.post(&format!("/v1/directories/{dir}/runs"), Some(&acme.token), body).await;
    let id = started.ok(202)["id"].as_str().unwrap().to_owned();
    wait(s, services, acme, dir, &id).await
}

async fn wait(s: &Stack, services: &Services, acme: &Account, dir: &str, id: &str) -> Value {
    run_jobs_until(services, || async {
        let job = s.get(&format!("/v1/directories/{dir}/runs/{id}"), Some(&acme.token)).await.ok(200).clone();
        matches!(job["status"].as_str(), Some("succeeded" | "failed" | "cancelled" | "awaiting_approval"))
            .then_some(job)
    })
    .await
}

pub(crate) fn count(run: &Value, what: &str) -> u64 {
    run["progress"][what].as_u64().unwrap_or(0)
}

/// Every result line of a run.
pub(crate) async fn results(s: &Stack, acme: &Account, dir: &str, run: &str) -> Vec<Value> {
    let (mut out, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let mut path = format!("/v1/directories/{dir}/runs/{run}/results?limit=500");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = s.get(&path, Some(&acme.token)).await.ok(200).clone();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// The account's directory people by email: (name, active, organizations, usergroups).
pub(crate) async fn people(s: &Stack, acme: &Account) -> std::collections::BTreeMap<String, Value> {
    let (mut out, mut cursor) = (std::collections::BTreeMap::new(), None::<String>);
    loop {
        let mut path = "/v1/users?source=directory&limit=200".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = s.get(&path, Some(&acme.token)).await.ok(200).clone();
        for u in page["items"].as_array().unwrap() {
            out.insert(u["emails"][0].as_str().unwrap().to_owned(), u.clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn connections_keep_their_password_secret_and_check_what_they_are_given() {
    let s = stack().await;
    let acme = s.account().await;
    let d = TestDirectory::connect().await;
    let dir = connect(&s, &acme, &d, &d.base, json!({})).await;
    let shown = s.get(&format!("/v1/directories/{dir}"), Some(&acme.token)).await.ok(200).clone();
    assert!(!shown.to_string().contains(&d.password), "the password is never shown: {shown}");
    assert_eq!(shown["user_filter"], "(objectClass=inetOrgPerson)");
    assert_eq!(shown["mapping"]["id"], "entryUUID");
    // The password is in the secret store, under the connection's name.
    let sdk = roster::config::aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!("roster/directories/{}/{dir}", acme.id);
    let stored = secrets.get_secret_value().secret_id(&name).send().await.unwrap();
    assert_eq!(stored.secret_string(), Some(d.password.as_str()));
    // The test binds and reads a sample.
    let report = s.post(&format!("/v1/directories/{dir}/test"), Some(&acme.token), json!({})).await.ok(200).clone();
    assert_eq!(report["ok"], true, "{report}");
    // A wrong password: the exact LDAP error, not success.
    let patched = s
        .call(
            Method::PATCH,
            &format!("/v1/directories/{dir}"),
            Some(&acme.token),
            Some(json!({ "bind_password": "wrong" })),
        )
        .await;
    patched.ok(200);
    let report = s.post(&format!("/v1/directories/{dir}/test"), Some(&acme.token), json!({})).await.ok(200).clone();
    assert_eq!(report["ok"], false);
    assert!(report["error"].as_str().unwrap().contains("invalidCredentials"), "{report}");
    // Bad settings change nothing.
    for (body, field) in [
        (json!({ "url": "http://dc.example.com" }), "url"),
        (json!({ "url": "ldap://dc.example.com" }), "security"),
        (json!({ "user_filter": "(uid=a))(|(uid=*)" }), "user_filter"),
        (json!({ "base_dns": ["not a dn"] }), "base_dns[0]"),
        (json!({ "mapping": { "email": "mail)(x=*" } }), "mapping.email"),
        (json!({ "every_minutes": 7 }), "every_minutes"),
        (
            json!({ "ca_certificate": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }),
            "ca_certificate",
        ),
    ] {
        let r = s.call(Method::PATCH, &format!("/v1/directories/{dir}"), Some(&acme.token), Some(body)).await;
        assert_eq!(r.problem(422), "validation_failed", "{field}: {}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
    let unchanged = s.get(&format!("/v1/directories/{dir}"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!(unchanged["url"], shown["url"]);
    // Another account sees nothing of it.
    let other = s.account().await;
    s.get(&format!("/v1/directories/{dir}"), Some(&other.token)).await.problem(404);
    // Deleting it deletes the secret too.
    s.call(Method::DELETE, &format!("/v1/directories/{dir}"), Some(&acme.token), None).await.ok(204);
    assert!(secrets.get_secret_value().secret_id(&name).send().await.is_err(), "the secret is gone");
}

#[tokio::test]
async fn a_run_creates_updates_deactivates_and_reactivates_exactly_what_changed() {
    let _load = heavy_load().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let org = s.post("/v1/organizations", Some(&acme.token), json!({ "name": "Acme Sync" })).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.call(Method::PUT, &format!("/v1/organizations/{org}/domains/acme-sync.test"), Some(&acme.token), None)
        .await
        .ok(200);
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("sync").await;
    let elsewhere = d.unit("moved").await;
    let mut everyone: Vec<Person> =
        (0..300).map(|i| person(i, if i % 2 == 0 { "acme-sync.test" } else { "other.test" })).collect();
    // Names a filter or a DN would choke on unless escaped.
    for (i, name) in ["Star * (Paren) \\Back", "Comma, Plus + Semi;", "Zoë Ünïcødé 名前"].iter().enumerate() {
        everyone.push(Person { uid: format!("odd,{i}+x"), cn: (*name).to_owned(), mail: format!("odd{i}@other.test") });
    }
    d.add_people(&unit, &everyone).await;
    let dir = connect(&s, &acme, &d, &unit, json!({})).await;

    // A dry run reports everything and writes nothing.
    let dry = run(&s, &services, &acme, &dir, true).await;
    assert_eq!((dry["status"].as_str(), count(&dry, "created")), (Some("succeeded"), 303), "{dry}");
    assert!(people(&s, &acme).await.is_empty());

    let first = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!((count(&first, "created"), count(&first, "errors")), (303, 0), "{first}");
    let synced = people(&s, &acme).await;
    assert_eq!(synced.len(), 303);
    assert_eq!(synced["u0@acme-sync.test"]["organizations"][0]["organization_id"], org.as_str(), "linked by domain");
    assert!(synced["u1@other.test"]["organizations"].as_array().unwrap().is_empty());
    assert_eq!(synced["odd0@other.test"]["name"], "Star * (Paren) \\Back");
    assert_eq!(synced["odd2@other.test"]["name"], "Zoë Ünïcødé 名前");
    assert_eq!(synced["u0@acme-sync.test"]["source"], "directory");

    // Nothing changed: nothing written (the audit log and every version stay).
    let changes = |actions: Vec<String>| actions.into_iter().filter(|a| a != "directory.run_started").count();
    let audit_before = changes(s.audit_actions(&acme.id).await);
    let second = run(&s, &services, &acme, &dir, false).await;
    assert_eq!((count(&second, "unchanged"), count(&second, "created"), count(&second, "updated")), (303, 0, 0));
    assert_eq!(second["results"], 0, "no per-entry lines for unchanged entries");
    assert_eq!(changes(s.audit_actions(&acme.id).await), audit_before, "no writes but the run's own start");
    assert_eq!(people(&s, &acme).await, synced);

    // A person given a usergroup, to see it survive their absence.
    let vip = s.post("/v1/usergroups", Some(&acme.token), json!({ "name": "VIP sync" })).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let u4 = synced["u4@acme-sync.test"]["id"].as_str().unwrap().to_owned();
    s.call(Method::PUT, &format!("/v1/users/{u4}/usergroups/{vip}"), Some(&acme.token), None).await.ok(200);

    // Modify 10, rename 1 (a new email), delete 2, move 1 out of scope, add 2.
    for i in 10..20 {
        d.replace(&person_dn(&unit, &format!("u{i}")), "cn", &format!("Renamed {i}")).await;
    }
    d.replace(&person_dn(&unit, "u20"), "mail", "u20.new@acme-sync.test").await;
    d.delete(&person_dn(&unit, "u30")).await;
    d.delete(&person_dn(&unit, "u31")).await;
    let moved = d.move_to(&person_dn(&unit, "u4"), &elsewhere).await;
    d.add_people(&unit, &[person(1000, "acme-sync.test"), person(1001, "other.test")]).await;
    let third = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(third["status"], "succeeded", "{third}");
    let counted = ["created", "updated", "deactivated", "reactivated", "unchanged", "errors"].map(|k| count(&third, k));
    assert_eq!(counted, [2, 11, 3, 0, 289, 0], "{third}");
    let now = people(&s, &acme).await;
    assert_eq!(now.len(), 305, "deactivated, not deleted");
    assert_eq!(now["u10@acme-sync.test"]["name"], "Renamed 10");
    assert!(!now.contains_key("u20@acme-sync.test"), "an email change is the same person with a new address");
    assert_eq!(now["u20.new@acme-sync.test"]["id"], synced["u20@acme-sync.test"]["id"]);
    for gone in ["u30@acme-sync.test", "u31@other.test", "u4@acme-sync.test"] {
        assert_eq!(now[gone]["active"], false, "{gone}");
    }
    let lines = results(&s, &acme, &dir, third["id"].as_str().unwrap()).await;
    assert_eq!(lines.iter().filter(|l| l["outcome"] == "deactivated").count(), 3);

    // Back in scope: the same person, active, with their usergroup.
    d.move_to(&moved, &unit).await;
    let fourth = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(count(&fourth, "reactivated"), 1, "{fourth}");
    let back = s.get(&format!("/v1/users/{u4}"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!(back["active"], true);
    assert_eq!(back["usergroups"], json!([vip]));
}

#[tokio::test]
async fn a_connection_made_again_takes_its_people_back_and_two_live_ones_do_not_share_them() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("again").await;
    let elsewhere = d.unit("again-out").await;
    d.add_people(&unit, &(0..20).map(|i| person(i, "again.test")).collect::<Vec<_>>()).await;
    let first = connect(&s, &acme, &d, &unit, json!({})).await;
    assert_eq!(count(&run(&s, &services, &acme, &first, false).await, "created"), 20);
    let vip = s.post("/v1/usergroups", Some(&acme.token), json!({ "name": "VIP again" })).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let synced = people(&s, &acme).await;
    let u4 = synced["u4@again.test"]["id"].as_str().unwrap().to_owned();
    s.call(Method::PUT, &format!("/v1/users/{u4}/usergroups/{vip}"), Some(&acme.token), None).await.ok(200);
    // One person leaves (deactivated), then the connection is deleted and the person comes back.
    let moved = d.move_to(&person_dn(&unit, "u1"), &elsewhere).await;
    assert_eq!(count(&run(&s, &services, &acme, &first, false).await, "deactivated"), 1);
    s.call(Method::DELETE, &format!("/v1/directories/{first}"), Some(&acme.token), None).await.ok(204);
    d.move_to(&moved, &unit).await;
    let before = people(&s, &acme).await;
    assert_eq!(before["u1@again.test"]["active"], false);

    // The same directory again: its people are found by stable id, not refused as taken.
    let again = connect(&s, &acme, &d, &unit, json!({})).await;
    let counted = |r: &Value| ["created", "updated", "reactivated", "errors"].map(|k| count(r, k));
    let dry = run(&s, &services, &acme, &again, true).await;
    assert_eq!(counted(&dry), [0, 19, 1, 0], "{dry}");
    assert_eq!(people(&s, &acme).await, before, "a dry run writes nothing");
    let taken = run(&s, &services, &acme, &again, false).await;
    assert_eq!(counted(&taken), [0, 19, 1, 0], "{taken}");
    let lines = results(&s, &acme, &again, taken["id"].as_str().unwrap()).await;
    assert!(lines.iter().all(|l| l["detail"]["linked"] == true), "{lines:?}");
    let now = people(&s, &acme).await;
    for (email, user) in &synced {
        assert_eq!(now[email]["id"], user["id"], "{email} is the same user");
        assert_eq!(now[email]["active"], true, "{email}");
    }
    assert_eq!(now["u4@again.test"]["usergroups"], json!([vip]));
    let rerun = run(&s, &services, &acme, &again, false).await;
    assert_eq!(count(&rerun, "unchanged"), 20, "{rerun}");

    // A second live connection to the same people does not take them from the first — until
    // the first no longer finds them (moved to the second's scope).
    let rival = connect(&s, &acme, &d, &unit, json!({ "base_dns": [elsewhere] })).await;
    let moved = d.move_to(&person_dn(&unit, "u2"), &elsewhere).await;
    let refused = run(&s, &services, &acme, &rival, false).await;
    assert_eq!(counted(&refused), [0, 0, 0, 1], "{refused}");
    assert_eq!(people(&s, &acme).await, now);
    let swept = run(&s, &services, &acme, &again, false).await;
    assert_eq!((count(&swept, "unchanged"), count(&swept, "deactivated")), (19, 1), "{swept}");
    let taken = run(&s, &services, &acme, &rival, false).await;
    assert_eq!(counted(&taken), [0, 0, 1, 0], "{taken}");
    let u2 = format!("/v1/users/{}", synced["u2@again.test"]["id"].as_str().unwrap());
    let u2_active = || async { s.get(&u2, Some(&acme.token)).await.ok(200)["active"].as_bool().unwrap() };
    assert!(u2_active().await);
    // Back where it was: the first has it again, and the second lets it go without deactivating.
    d.move_to(&moved, &unit).await;
    let back = run(&s, &services, &acme, &again, false).await;
    assert_eq!(counted(&back), [0, 0, 1, 0], "{back}");
    let gone = run(&s, &services, &acme, &rival, false).await;
    assert_eq!((count(&gone, "released"), count(&gone, "deactivated")), (1, 0), "{gone}");
    assert!(u2_active().await);
    let rerun = run(&s, &services, &acme, &again, false).await;
    assert_eq!(count(&rerun, "unchanged"), 20, "{rerun}");
}

#[tokio::test]
async fn deactivating_many_waits_for_approval_and_reject_deactivates_nobody() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("threshold").await;
    d.add_people(&unit, &(0..60).map(|i| person(i, "threshold.test")).collect::<Vec<_>>()).await;
    let dir = connect(&s, &acme, &d, &unit, json!({})).await;
    assert_eq!(run(&s, &services, &acme, &dir, false).await["status"], "succeeded");
    for i in 0..12 {
        d.delete(&person_dn(&unit, &format!("u{i}"))).await;
    }
    // 12 of 60 is 20%: above 10% and at least 10.
    let held = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(held["status"], "awaiting_approval", "{held}");
    let id = held["id"].as_str().unwrap();
    // While it waits, no second run starts.
    let again = s.post(&format!("/v1/directories/{dir}/runs"), Some(&acme.token), json!({})).await;
    assert_eq!(again.problem(409), "directory_run_in_progress");
    let rejected = s.post(&format!("/v1/directories/{dir}/runs/{id}/reject"), Some(&acme.token), json!({})).await;
    assert_eq!(rejected.ok(200)["status"], "cancelled");
    assert!(people(&s, &acme).await.values().all(|u| u["active"] == true), "nobody deactivated");
    s.post(&format!("/v1/directories/{dir}/runs/{id}/approve"), Some(&acme.token), json!({})).await.problem(409);

    let held = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(held["status"], "awaiting_approval");
    let id = held["id"].as_str().unwrap();
    let approved = s.post(&format!("/v1/directories/{dir}/runs/{id}/approve"), Some(&acme.token), json!({})).await;
    approved.ok(200);
    let done = wait(&s, &services, &acme, &dir, id).await;
    assert_eq!((done["status"].as_str(), count(&done, "deactivated")), (Some("succeeded"), 12), "{done}");
    let now = people(&s, &acme).await;
    assert_eq!(now.values().filter(|u| u["active"] == false).count(), 12);
    assert!(s.audit_actions(&acme.id).await.iter().any(|a| a == "job.approved"));
}

#[tokio::test]
async fn a_wrong_password_fails_the_run_and_changes_nothing() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("wrongpw").await;
    d.add_people(&unit, &(0..5).map(|i| person(i, "wrongpw.test")).collect::<Vec<_>>()).await;
    let dir = connect(&s, &acme, &d, &unit, json!({ "bind_password": "not it" })).await;
    let failed = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("invalidCredentials"), "{failed}");
    assert!(people(&s, &acme).await.is_empty());
    // The connection is free for the next run.
    s.call(
        Method::PATCH,
        &format!("/v1/directories/{dir}"),
        Some(&acme.token),
        Some(json!({ "bind_password": d.password })),
    )
    .await
    .ok(200);
    assert_eq!(count(&run(&s, &services, &acme, &dir, false).await, "created"), 5);
}

#[tokio::test]
async fn a_run_resumed_after_every_step_in_a_new_process_ends_as_an_uninterrupted_one() {
    let s = stack().await;
    let acme = s.account().await;
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("resume").await;
    d.add_people(&unit, &(0..1_100).map(|i| person(i, "resume.test")).collect::<Vec<_>>()).await;
    let dir = connect(&s, &acme, &d, &unit, json!({})).await;
    let started = s.post(&format!("/v1/directories/{dir}/runs"), Some(&acme.token), json!({})).await;
    let id = started.ok(202)["id"].as_str().unwrap().to_owned();
    let job_id = roster::domain::ids::JobId::parse(&id).unwrap();
    let account = roster::domain::ids::AccountId::parse(&acme.id).unwrap();
    // Each step in "another invocation": no open connection to continue on. The other tests'
    // runners may take a turn of it too (they are other processes as well); a step taken
    // while one holds the lease waits for it.
    for attempt in 0.. {
        let services = Services::from_env().await.unwrap();
        let job =
            services.store.get_job_of(Some(account), roster::jobs::Kind::DirectorySync, job_id).await.unwrap().unwrap();
        if job.status.is_final() {
            assert_eq!(job.status, roster::jobs::Status::Succeeded, "{:?}", job.error);
            break;
        }
        if roster::jobs::run_one_step(&services, &job).await.unwrap().is_none() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(attempt < 1_000, "the run ends");
    }
    let all = people(&s, &acme).await;
    assert_eq!(all.len(), 1_100);
    assert!((0..1_100).all(|i| all.contains_key(&format!("u{i}@resume.test"))));
    let run = s.get(&format!("/v1/directories/{dir}/runs/{id}"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!((count(&run, "created"), count(&run, "errors")), (1_100, 0), "{run}");
}

#[tokio::test]
async fn the_schedule_starts_a_run_when_one_is_due_and_not_before() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("schedule").await;
    d.add_people(&unit, &(0..3).map(|i| person(i, "schedule.test")).collect::<Vec<_>>()).await;
    let dir = connect(&s, &acme, &d, &unit, json!({ "every_minutes": 60 })).await;
    let account = roster::domain::ids::AccountId::parse(&acme.id).unwrap();
    // The schedule's beat, made due now (its clock says five minutes).
    let beat = roster::domain::ids::JobId::parse(&dir).unwrap();
    let kind = roster::jobs::Kind::DirectorySchedule;
    services.store.run_job_of_now(Some(account), kind, beat).await.unwrap();
    let run = run_jobs_until(&services, || async {
        let runs = s.get(&format!("/v1/directories/{dir}/runs"), Some(&acme.token)).await.ok(200).clone();
        runs["items"].as_array().unwrap().iter().find(|r| r["status"] == "succeeded").cloned()
    })
    .await;
    assert_eq!(count(&run, "created"), 3, "{run}");
    assert_eq!(run["created_by"]["id"], acme.owner_id.as_str(), "on the authority of who saved the connection");
    // The next beat comes before the hour is up: no second run.
    services.store.run_job_of_now(Some(account), kind, beat).await.unwrap();
    run_jobs_until(&services, || async {
        let job = services.store.get_job_of(Some(account), kind, beat).await.unwrap().unwrap();
        (job.status == roster::jobs::Status::Queued && job.run_at > chrono::Utc::now()).then_some(())
    })
    .await;
    let runs = s.get(&format!("/v1/directories/{dir}/runs"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!(runs["items"].as_array().unwrap().len(), 1, "{runs}");
    // Deleting the connection ends its schedule.
    s.call(Method::DELETE, &format!("/v1/directories/{dir}"), Some(&acme.token), None).await.ok(204);
    assert!(services.store.get_job_of(Some(account), kind, beat).await.unwrap().is_none());
}

/// The account's organizations by name: (id, domains).
async fn organizations(s: &Stack, acme: &Account) -> std::collections::BTreeMap<String, (String, Vec<String>)> {
    let page = s.get("/v1/organizations?limit=100", Some(&acme.token)).await.ok(200).clone();
    let items = page["items"].as_array().unwrap().iter();
    items
        .map(|o| {
            let domains = o["domains"].as_array().unwrap().iter().map(|d| d["domain"].as_str().unwrap().to_owned());
            (o["name"].as_str().unwrap().to_owned(), (o["id"].as_str().unwrap().to_owned(), domains.collect()))
        })
        .collect()
}

#[tokio::test]
async fn the_directorys_organizations_become_roster_organizations_and_people_link_to_them() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    // Made by hand before the sync: an organization of the same name (adopted, not doubled)
    // and a person at a domain the directory brings (linked once the domain arrives).
    let initech = s.post("/v1/organizations", Some(&acme.token), json!({ "name": "Initech" })).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let early =
        s.post("/v1/users", Some(&acme.token), json!({ "name": "Early", "emails": ["early@globex.test"] })).await;
    let early = early.ok(201)["id"].as_str().unwrap().to_owned();
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("orgs").await;
    let globex = d.add_organization(&unit, "Globex", &["globex.test", "GLOBEX-EU.test"]).await;
    d.add_organization(&unit, "Initech", &["initech.test"]).await;
    d.add_organization(&unit, "Umbrella (Mail)", &["gmail.com", "umbrella.test"]).await;
    let staff: Vec<Person> = ["globex.test", "globex-eu.test", "initech.test", "umbrella.test", "other.test"]
        .iter()
        .enumerate()
        .map(|(i, domain)| person(i, domain))
        .collect();
    d.add_people(&unit, &staff).await;
    let enabled = json!({ "organizations": { "enabled": true } });
    let dir = connect(&s, &acme, &d, &unit, enabled).await;

    let dry = run(&s, &services, &acme, &dir, true).await;
    assert_eq!((count(&dry, "organizations_created"), count(&dry, "organizations_updated")), (3, 0), "{dry}");
    assert_eq!(organizations(&s, &acme).await.len(), 1, "a dry run writes nothing");

    let first = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!((count(&first, "organizations_created"), count(&first, "organizations_updated")), (2, 1), "{first}");
    assert_eq!((count(&first, "created"), count(&first, "errors")), (5, 0), "{first}");
    let orgs = organizations(&s, &acme).await;
    assert_eq!(orgs.len(), 3, "{orgs:?}");
    assert_eq!(orgs["Globex"].1, ["globex-eu.test", "globex.test"]);
    assert_eq!(orgs["Initech"], (initech.clone(), vec!["initech.test".to_owned()]), "the hand-made one, adopted");
    assert_eq!(orgs["Umbrella (Mail)"].1, ["umbrella.test"], "a public mail domain is not claimed");
    let lines = results(&s, &acme, &dir, first["id"].as_str().unwrap()).await;
    let umbrella = lines.iter().find(|l| l["detail"]["name"] == "Umbrella (Mail)").unwrap();
    assert_eq!(umbrella["detail"]["refused"][0]["domain"], "gmail.com", "{umbrella}");
    // People link by domain as they are created.
    let synced = people(&s, &acme).await;
    let org_of = |email: &str| synced[email]["organizations"][0]["organization_id"].as_str().map(str::to_owned);
    assert_eq!(org_of("u0@globex.test"), Some(orgs["Globex"].0.clone()));
    assert_eq!(org_of("u1@globex-eu.test"), Some(orgs["Globex"].0.clone()));
    assert_eq!(org_of("u2@initech.test"), Some(initech.clone()));
    assert_eq!(org_of("u3@umbrella.test"), Some(orgs["Umbrella (Mail)"].0.clone()));
    assert_eq!(org_of("u4@other.test"), None);
    // The person made by hand is linked by the re-map the new domain started.
    let early_org = run_jobs_until(&services, || async {
        let u = s.get(&format!("/v1/users/{early}"), Some(&acme.token)).await.ok(200).clone();
        u["organizations"][0]["organization_id"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(early_org, orgs["Globex"].0);

    // Nothing changed: no organization written.
    let second = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(count(&second, "organizations_unchanged"), 3, "{second}");
    assert_eq!(count(&second, "organizations_updated") + count(&second, "organizations_created"), 0, "{second}");

    // The directory drops a domain and renames an organization; a domain added by hand stays.
    let globex_id = orgs["Globex"].0.clone();
    s.call(Method::PUT, &format!("/v1/organizations/{globex_id}/domains/globex.example"), Some(&acme.token), None)
        .await
        .ok(200);
    d.replace_all(&globex, "associatedDomain", &["globex.test"]).await;
    d.rename(&globex, "o=Globex Corporation").await;
    let third = run(&s, &services, &acme, &dir, false).await;
    assert_eq!((count(&third, "organizations_updated"), count(&third, "organizations_unchanged")), (1, 2), "{third}");
    let orgs = organizations(&s, &acme).await;
    assert_eq!(orgs["Globex Corporation"], (globex_id, vec!["globex.example".to_owned(), "globex.test".to_owned()]));
    assert!(!orgs.contains_key("Globex"));
    assert!(s.audit_actions(&acme.id).await.iter().any(|a| a == "organization.domains_changed"));
}

#[tokio::test]
async fn a_scheduled_run_reads_only_what_changed_and_a_full_pass_finds_what_was_deleted() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("incr").await;
    d.add_people(&unit, &(0..40).map(|i| person(i, "incr.test")).collect::<Vec<_>>()).await;
    let dir = connect(&s, &acme, &d, &unit, json!({})).await;
    let connection = || async { s.get(&format!("/v1/directories/{dir}"), Some(&acme.token)).await.ok(200).clone() };

    let first = run_as_scheduled(&s, &services, &acme, &dir).await;
    assert_eq!((count(&first, "read"), count(&first, "created")), (40, 40), "the first run is full: {first}");
    assert!(connection().await["last_full_pass_at"].is_string());

    // Nothing changed since: nothing read.
    let second = run_as_scheduled(&s, &services, &acme, &dir).await;
    assert_eq!((second["status"].as_str(), count(&second, "read")), (Some("succeeded"), 0), "{second}");

    // Three changed, two deleted: an incremental run reads the three; deletions wait.
    for i in 0..3 {
        d.replace(&person_dn(&unit, &format!("u{i}")), "cn", &format!("Changed {i}")).await;
    }
    for i in 10..12 {
        d.delete(&person_dn(&unit, &format!("u{i}"))).await;
    }
    let third = run_as_scheduled(&s, &services, &acme, &dir).await;
    assert_eq!((count(&third, "read"), count(&third, "updated"), count(&third, "deactivated")), (3, 3, 0), "{third}");
    assert_eq!(people(&s, &acme).await["u0@incr.test"]["name"], "Changed 0");

    // A full pass, asked for: everything read, the two deactivated.
    let full = start_and_wait(&s, &services, &acme, &dir, json!({ "full": true })).await;
    assert_eq!((count(&full, "read"), count(&full, "deactivated"), count(&full, "updated")), (38, 2, 0), "{full}");

    // Settings that change what is read: the next run reads everything again.
    let patched = s
        .call(
            Method::PATCH,
            &format!("/v1/directories/{dir}"),
            Some(&acme.token),
            Some(json!({ "user_filter": "(&(objectClass=inetOrgPerson)(mail=*))" })),
        )
        .await;
    assert!(patched.ok(200)["last_full_pass_at"].is_null());
    let after_change = run_as_scheduled(&s, &services, &acme, &dir).await;
    assert_eq!((count(&after_change, "read"), count(&after_change, "unchanged")), (38, 38), "{after_change}");
}

#[tokio::test]
async fn ten_thousand_people_of_fifty_organizations_sync_once_each_and_then_change_nothing() {
    let _load = heavy_load().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("tenk").await;
    for o in 0..50 {
        d.add_organization(&unit, &format!("Customer {o}"), &[&format!("customer{o}.test")]).await;
    }
    let everyone: Vec<Person> = (0..10_000).map(|i| person(i, &format!("customer{}.test", i % 50))).collect();
    d.add_people(&unit, &everyone).await;
    let dir = connect(&s, &acme, &d, &unit, json!({ "organizations": { "enabled": true } })).await;

    let first = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(
        (count(&first, "created"), count(&first, "organizations_created"), count(&first, "errors")),
        (10_000, 50, 0),
        "{first}"
    );
    let orgs = organizations(&s, &acme).await;
    let synced = people(&s, &acme).await;
    assert_eq!(synced.len(), 10_000, "each person once");
    for i in (0..10_000).step_by(7) {
        let p = &synced[&format!("u{i}@customer{}.test", i % 50)];
        let org = &orgs[&format!("Customer {}", i % 50)].0;
        assert_eq!(p["organizations"][0]["organization_id"].as_str(), Some(org.as_str()), "{p}");
    }

    // Nothing changed: 10,000 unchanged, no person or organization written (no audit entry but
    // the run's own start, every person as it was).
    let changes = |actions: Vec<String>| actions.into_iter().filter(|a| a != "directory.run_started").count();
    let audit_before = changes(s.audit_actions(&acme.id).await);
    let second = run(&s, &services, &acme, &dir, false).await;
    assert_eq!(
        (count(&second, "unchanged"), count(&second, "organizations_unchanged"), count(&second, "updated")),
        (10_000, 50, 0),
        "{second}"
    );
    assert_eq!(changes(s.audit_actions(&acme.id).await), audit_before);
    assert_eq!(people(&s, &acme).await, synced);
}
