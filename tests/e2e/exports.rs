//! Large exports (issue 11 §5): members and the system log beyond one answer's size become
//! export jobs that write the file to S3 (moto) in parts and hand out a time-limited link.
//! Every job here is handed over after each step, so every resume is exercised.
use reqwest::Method;
use roster::domain::audit::{Actor, AuditEntry};
use roster::domain::email::Email;
use roster::domain::ids::{AccountId, JobId};
use roster::domain::member::{Member, MemberStatus};
use roster::domain::permissions::BasicRole;
use roster::jobs::{Kind, Status};
use roster::service::Services;
use roster::store::{keys, to_item};
use roster_tests::*;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Run the export job one step per claim (another runner may take a turn) until it is over.
async fn finish(services: &Services, a: AccountId, id: &str) -> Status {
    let id = JobId::parse(id).unwrap();
    for _ in 0..400 {
        let job = services.store.get_job_of(Some(a), Kind::Export, id).await.unwrap().unwrap();
        if job.status.is_final() {
            return job.status;
        }
        roster::jobs::run_one_step(services, &job).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the export did not finish");
}

/// The file behind a finished export's link, fetched without any login.
async fn download(s: &Stack, export: &Value) -> String {
    let url = export["download_url"].as_str().unwrap_or_else(|| panic!("no link: {export}"));
    let r = s.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.text().await.unwrap()
}

fn records(csv_text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(csv_text.as_bytes()).records().map(Result::unwrap).collect()
}

/// An inline export's request, with time for a debug build to page through megabytes in moto.
fn inline_export(s: &Stack, path: &str, token: &str) -> reqwest::RequestBuilder {
    s.http.get(format!("{}{path}", s.api)).bearer_auth(token).timeout(std::time::Duration::from_secs(180))
}

fn start(s: &Stack, path: &str, token: &str, body: Option<Value>) -> impl Future<Output = Response> {
    s.json(Method::POST, path, token, body, None)
}

#[tokio::test]
async fn twenty_thousand_members_export_to_a_file_the_same_as_the_inline_csv() {
    let _load = heavy_load().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let a = AccountId::parse(&acme.id).unwrap();
    let now = chrono::Utc::now();
    let items = (0..20_000)
        .map(|i| {
            let email = Email::parse("email", &format!("person{i:05}@export.test")).unwrap();
            let first = if i == 7 { "=HYPERLINK(\"http://x\")".to_owned() } else { format!("First{i}") };
            let m =
                Member::new(a, email, first, format!("Last{i}"), BasicRole::Agent.into(), MemberStatus::Active, now);
            to_item(&keys::member(a, m.id), &m).unwrap()
        })
        .collect();
    s.put_raw(items).await;

    let r = start(&s, "/v1/members/exports", &acme.token, None).await;
    let job = r.ok(202).clone();
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(r.header("location").as_deref(), Some(format!("/v1/members/exports/{id}").as_str()));
    assert_eq!((job["status"].as_str(), job["download_url"].is_null()), (Some("queued"), true), "{job}");

    assert_eq!(finish(&services, a, &id).await, Status::Succeeded);
    let export = s.get(&format!("/v1/members/exports/{id}"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!(export["rows"], 20_001, "{export}");
    let file = download(&s, &export).await;
    assert_eq!(export["bytes"], file.len(), "{export}");
    let rows = records(&file);
    assert_eq!(rows.len(), 20_001);
    assert_eq!(rows.iter().map(|r| r[0].to_owned()).collect::<HashSet<_>>().len(), 20_001, "each member once");
    assert!(rows.iter().any(|r| &r[2] == "'=HYPERLINK(\"http://x\")"), "formula cells are neutralized");
    // Below the inline limit the answer is the same file.
    let inline = inline_export(&s, "/v1/members/export.csv", &acme.token).send().await.unwrap();
    assert_eq!(inline.status(), 200);
    assert!(inline.text().await.unwrap() == file, "the inline CSV and the file differ");

    // Nobody else reaches it: another account, or the system log's route with this id.
    let other = s.account().await;
    assert_eq!(s.get(&format!("/v1/members/exports/{id}"), Some(&other.token)).await.problem(404), "not_found");
    assert_eq!(s.get(&format!("/v1/audit/exports/{id}"), Some(&acme.token)).await.problem(404), "not_found");
}

#[tokio::test]
async fn a_hundred_thousand_system_log_entries_export_to_a_file_in_parts() {
    // Alone: writing 100,000 items keeps moto busy for a minute and would starve the tests that
    // measure a schedule or race requests.
    let _alone = quiet_stack().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let a = AccountId::parse(&acme.id).unwrap();
    let items = (0..100_000)
        .map(|i| {
            let memo = if i == 99 { Some("@SUM(A1)".to_owned()) } else { None };
            let mut e = AuditEntry::new(Actor::System, "fixture.entry", "member", i, json!({ "i": i }));
            e.memo = memo;
            to_item(&keys::audit(a, e.id), &e).unwrap()
        })
        .collect();
    s.put_raw(items).await;

    // Too large for one answer: the inline export says what to do instead (after reading 4 MB
    // in pages, which a debug build takes tens of seconds to do against moto).
    let inline = s.send(inline_export(&s, "/v1/audit/export.csv", &acme.token)).await;
    assert_eq!(inline.problem(409), "export_too_large");
    assert!(inline.body["detail"].as_str().unwrap().contains("/v1/audit/exports"), "{}", inline.body);

    let r = start(&s, "/v1/audit/exports", &acme.token, None).await;
    let id = r.ok(202)["id"].as_str().unwrap().to_owned();
    // Written after the job started: not in its file.
    s.invite(&acme, &format!("late@{}.test", acme.web_address), "agent").await.ok(201);
    assert_eq!(finish(&services, a, &id).await, Status::Succeeded);
    let export = s.get(&format!("/v1/audit/exports/{id}"), Some(&acme.token)).await.ok(200).clone();
    let file = download(&s, &export).await;
    assert!(file.len() > 2 * roster::files::PART_MIN, "several parts: {} bytes", file.len());
    assert_eq!(export["bytes"], file.len(), "{export}");
    assert_eq!(file.matches("id,at,actor_kind").count(), 1, "one header");
    let rows = records(&file);
    assert_eq!(export["rows"], rows.len(), "{export}");
    let fixture: Vec<_> = rows.iter().filter(|r| &r[5] == "fixture.entry").collect();
    assert_eq!(fixture.len(), 100_000);
    assert_eq!(fixture.iter().map(|r| r[0].to_owned()).collect::<HashSet<_>>().len(), 100_000, "each entry once");
    assert!(rows.iter().any(|r| &r[8] == "'@SUM(A1)"), "formula cells are neutralized");
    assert!(rows.iter().all(|r| &r[5] != "invitation.created"), "an entry written after the start is not in it");
    // Newest first, as the list shows them.
    let ats: Vec<&str> = rows.iter().map(|r| r.get(1).unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] >= w[1]), "newest first");
}

#[tokio::test]
async fn a_filtered_export_and_what_the_starter_may_do_now() {
    let s = stack().await;
    let services = Services::from_env().await.unwrap();
    let acme = s.account().await;
    let a = AccountId::parse(&acme.id).unwrap();
    let w = &acme.web_address;
    s.invite(&acme, &format!("one@{w}.test"), "agent").await.ok(201);

    // A filter picks the entries; a bad one changes nothing.
    let bad = start(&s, "/v1/audit/exports", &acme.token, Some(json!({ "action": "" }))).await;
    assert_eq!(bad.problem(422), "validation_failed");
    let unknown = start(&s, "/v1/audit/exports", &acme.token, Some(json!({ "everything": true }))).await;
    unknown.problem(422);
    let r = start(&s, "/v1/audit/exports", &acme.token, Some(json!({ "action": "invitation." }))).await;
    let id = r.ok(202)["id"].as_str().unwrap().to_owned();
    assert_eq!(finish(&services, a, &id).await, Status::Succeeded);
    let export = s.get(&format!("/v1/audit/exports/{id}"), Some(&acme.token)).await.ok(200).clone();
    let rows = records(&download(&s, &export).await);
    assert_eq!(rows.iter().map(|r| r[5].to_owned()).collect::<Vec<_>>(), ["invitation.created"]);
    let expires: chrono::DateTime<chrono::Utc> = export["download_expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires <= chrono::Utc::now() + chrono::Duration::minutes(15), "{export}");

    // An admin starts an export, then is made an agent before it runs: it fails, writing nothing.
    let (admin_id, admin_token, _) = s.active_member(&acme, &format!("admin@{w}.test"), "admin").await;
    let r = start(&s, "/v1/members/exports", &admin_token, None).await;
    let id = r.ok(202)["id"].as_str().unwrap().to_owned();
    let demote = json!({ "role": "agent" });
    s.call(Method::PATCH, &format!("/v1/members/{admin_id}"), Some(&acme.token), Some(demote)).await.ok(200);
    assert_eq!(finish(&services, a, &id).await, Status::Failed);
    let export = s.get(&format!("/v1/members/exports/{id}"), Some(&acme.token)).await.ok(200).clone();
    assert!(export["download_url"].is_null() && export["rows"] == 0, "{export}");
}

#[tokio::test]
async fn deleting_the_account_deletes_its_export_files() {
    let s = stack().await;
    let services = Services::from_env().await.unwrap();
    let acme = s.account().await;
    let a = AccountId::parse(&acme.id).unwrap();
    let id = start(&s, "/v1/members/exports", &acme.token, None).await.ok(202)["id"].as_str().unwrap().to_owned();
    assert_eq!(finish(&services, a, &id).await, Status::Succeeded);
    let export = s.get(&format!("/v1/members/exports/{id}"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!(records(&download(&s, &export).await).len(), 1, "the owner");

    let body = json!({ "web_address": acme.web_address, "password": PASSWORD });
    s.json(Method::DELETE, "/v1/account", &acme.token, Some(body), None).await.ok(202);
    run_jobs_until(&services, || async { services.store.tombstone(a).await.unwrap() }).await;
    let url = export["download_url"].as_str().unwrap();
    // S3 answers 403 for a missing key to a link that may not list the bucket.
    assert!([403, 404].contains(&s.http.get(url).send().await.unwrap().status().as_u16()));
    let job = services.store.get_job_of(Some(a), Kind::Export, JobId::parse(&id).unwrap()).await.unwrap();
    assert!(job.is_none(), "the job went with the partition");
    let file = format!("{}{id}/members.csv", roster::service::exports::files_of(a));
    assert_eq!(services.files.size(&file).await.unwrap(), None, "the file outlived its account");
}
