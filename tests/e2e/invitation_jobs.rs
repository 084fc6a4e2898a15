//! Invitation jobs (issue 11 §2, acceptance): thousands of rows invited in the background,
//! every row accounted for, nobody invited or mailed twice — across forced hand-overs after
//! every step, a runner process dying mid-step, two runners at once, and a mail outage.
use crate::job_process::*;
use roster::service::Services;
use roster_tests::*;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Start a job from a CSV body.
async fn start_csv(s: &Stack, acme: &Account, csv: String) -> String {
    let r = s
        .send(
            s.http
                .post(format!("{}/v1/invitation-jobs", s.api))
                .bearer_auth(&acme.token)
                .header("content-type", "text/csv")
                .body(csv),
        )
        .await;
    let job = r.ok(202).clone();
    assert_eq!(job["status"], "queued", "{job}");
    job["id"].as_str().unwrap().to_owned()
}

/// Run jobs (in this process, as the schedule would) until the job is over.
async fn finish(s: &Stack, services: &Services, acme: &Account, id: &str) -> Value {
    run_jobs_until(services, || async {
        let job = s.get(&format!("/v1/invitation-jobs/{id}"), Some(&acme.token)).await.ok(200).clone();
        matches!(job["status"].as_str(), Some("succeeded" | "failed" | "cancelled")).then_some(job)
    })
    .await
}

async fn allow_many_invitations(s: &Stack, acme: &Account) {
    let body = json!({ "invitations_per_hour": 10000 });
    let r = s.call(reqwest::Method::PATCH, "/v1/account/preferences", Some(&acme.token), Some(body)).await;
    r.ok(200);
}

/// Mails the SES stand-in received for addresses at `domain`, per address (the account is new:
/// its mail is from the last few minutes, and the stand-in is asked for only those).
async fn mails_at(s: &Stack, domain: &str) -> HashMap<String, usize> {
    let since = chrono::Utc::now().timestamp() - 900;
    let store: Value =
        s.http.get(format!("{}/store?since={since}", s.mailbox)).send().await.unwrap().json().await.unwrap();
    let mut per = HashMap::new();
    for m in store["emails"].as_array().into_iter().flatten() {
        for to in m["destination"]["to"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if to.ends_with(&format!("@{domain}")) {
                *per.entry(to.to_owned()).or_default() += 1;
            }
        }
    }
    per
}

/// Every row of the job's results (through the JSON pages).
async fn all_results(s: &Stack, acme: &Account, id: &str) -> Vec<Value> {
    results_where(s, acme, id, "").await
}

/// The job's results with `filter` (a query string part), following every cursor.
async fn results_where(s: &Stack, acme: &Account, id: &str, filter: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = s.get(&format!("/v1/invitation-jobs/{id}/results?limit=1000{filter}{q}"), Some(&acme.token)).await;
        let page = page.ok(200).clone();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn five_thousand_rows_end_as_4900_invitations_4900_mails_and_a_line_for_every_row() {
    let _load = heavy_load().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    allow_many_invitations(&s, &acme).await;
    let domain = format!("{}.test", acme.web_address);
    // 49 members invited before (with the owner: 50 who exist).
    let existing: Vec<String> = (0..49).map(|i| format!("old{i}@{domain}")).collect();
    let rows: Vec<Value> = existing
        .iter()
        .map(|e| json!({ "email": e, "first_name": "Old", "last_name": "Timer", "role": "agent" }))
        .collect();
    s.post("/v1/invitations/bulk", Some(&acme.token), json!(rows)).await.ok(200);

    let mut lines = vec!["email,first_name,last_name,role".to_owned()];
    let mut kinds = Vec::new();
    for i in 0..5000 {
        let (line, kind) = match i % 100 {
            // 50 of the people who are already there (the owner among them).
            7 if i < 5000 => {
                let who = if i == 7 { acme.owner_email.clone() } else { existing[(i / 100) - 1].clone() };
                (format!("{who},Already,There,agent"), "skipped_existing")
            }
            // 20 rows repeating an earlier row's email (in other case).
            13 if i / 100 < 20 => {
                (format!("NEW{}@{},Dup,Row,agent", i - 1, domain.to_uppercase()), "skipped_duplicate_row")
            }
            // 30 rows that are not a person to invite.
            29 if i / 100 < 10 => (format!("not-an-email-{i},Bad,Row,agent"), "invalid"),
            31 if i / 100 < 10 => (format!("new{i}@{domain},Bad,Role,superuser"), "invalid"),
            37 if i / 100 < 10 => (format!("=1+{i},Formula,Row,agent"), "invalid"),
            _ => (format!("new{i}@{domain},New,Person {i},agent"), "invited"),
        };
        lines.push(line);
        kinds.push(kind);
    }
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(
        (count("invited"), count("skipped_existing"), count("skipped_duplicate_row"), count("invalid")),
        (4900, 50, 20, 30)
    );
    let id = start_csv(&s, &acme, lines.join("\r\n")).await;
    let job = finish(&s, &services, &acme, &id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        job["counts"],
        json!({ "invited": 4900, "skipped_existing": 50, "skipped_duplicate_row": 20, "invalid": 30 })
    );
    assert_eq!(
        (job["rows"].as_u64(), job["processed"].as_u64(), job["mailed"].as_u64()),
        (Some(5000), Some(5000), Some(5000))
    );

    // Exactly 4,900 invitations (plus the 49 from before), each mailed exactly once.
    let stats = s.get("/v1/members/stats", Some(&acme.token)).await.ok(200).clone();
    assert_eq!(stats["invited"], 4949, "{stats}");
    let mails = mails_at(&s, &domain).await;
    let new: Vec<_> = mails.iter().filter(|(to, _)| to.starts_with("new")).collect();
    assert_eq!(new.len(), 4900, "4,900 people mailed");
    assert_eq!(new.iter().filter(|(_, n)| **n > 1).count(), 0, "nobody mailed twice");

    // The results account for every row, in order, with its line; filters work.
    let results = all_results(&s, &acme, &id).await;
    assert_eq!(results.len(), 5000);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["line"].as_u64(), Some(i as u64 + 2), "{r}");
        assert_eq!(r["outcome"], kinds[i], "{r}");
        assert_eq!(r["mail"].as_str(), (kinds[i] == "invited").then_some("sent"), "{r}");
    }
    let existing = results_where(&s, &acme, &id, "&outcome=skipped_existing").await;
    assert_eq!(existing.len(), 50);
    assert!(existing.iter().all(|r| r["outcome"] == "skipped_existing"));

    // The CSV export holds all 5,000 rows, formula-safe.
    let csv =
        s.send(s.http.get(format!("{}/v1/invitation-jobs/{id}/results.csv", s.api)).bearer_auth(&acme.token)).await;
    assert_eq!(csv.status, 200);
    let mut reader = csv_reader(csv.text.as_bytes());
    let records: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    assert_eq!(records.len(), 5000);
    assert!(records.iter().all(|r| !r[1].starts_with('=')), "no cell a spreadsheet runs as a formula");
    assert!(records.iter().any(|r| r[1].starts_with("'=1+")));
    let csv_invited = records.iter().filter(|r| r[2] == "invited").count();
    assert_eq!(csv_invited, 4900);
}

fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(true).from_reader(bytes)
}

/// A job of `n` new people (and a few rows that invite nobody).
fn rows(domain: &str, n: usize) -> String {
    let mut lines = vec!["email,first_name,last_name,role".to_owned()];
    for i in 0..n {
        lines.push(format!("p{i}@{domain},P,Person {i},agent"));
        if i % 97 == 0 {
            lines.push(format!("P{i}@{domain},Again,Same,agent"));
        }
    }
    lines.join("\n")
}

/// What an uninterrupted run would leave: every person invited once, mailed once, every row
/// in the results once.
async fn assert_whole(s: &Stack, acme: &Account, id: &str, n: usize, job: &Value) {
    assert_whole_with(s, acme, id, n, 0, job).await
}

/// The same, with `others` invited outside the job.
async fn assert_whole_with(s: &Stack, acme: &Account, id: &str, n: usize, others: usize, job: &Value) {
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["counts"]["invited"].as_u64(), Some(n as u64), "{job}");
    let stats = s.get("/v1/members/stats", Some(&acme.token)).await.ok(200).clone();
    assert_eq!(stats["invited"].as_u64(), Some((n + others) as u64), "no duplicate invitation: {stats}");
    let results = all_results(s, acme, id).await;
    let lines: Vec<u64> = results.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (2..2 + lines.len() as u64).collect();
    assert_eq!(lines, expected, "every row once, in order");
    assert_eq!(results.iter().filter(|r| r["outcome"] == "invited").count(), n);
    assert!(results.iter().filter(|r| r["outcome"] == "invited").all(|r| r["mail"] == "sent"));
    let mails = mails_at(s, &format!("{}.test", acme.web_address)).await;
    let people: Vec<_> = mails.iter().filter(|(to, _)| to.starts_with('p')).collect();
    assert_eq!(people.len(), n, "everyone mailed");
    let twice: Vec<_> = people.iter().filter(|(_, k)| **k > 1).take(5).collect();
    assert!(twice.is_empty(), "nobody mailed twice: {twice:?}…");
}

#[tokio::test]
async fn a_job_handed_over_after_every_step_and_killed_mid_step_ends_as_if_uninterrupted() {
    // Alone: other tests' runners would take the job from the one meant to die.
    let _alone = quiet_stack().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    allow_many_invitations(&s, &acme).await;
    let n = 4_000;
    let id = start_csv(&s, &acme, rows(&format!("{}.test", acme.web_address), n)).await;
    let processed = |job: &Value| job["processed"].as_u64().unwrap_or(0);
    // The deadline forced after every step: each turn is one step, then a new claim (another
    // holder) resumes from the checkpoint.
    let key = roster::domain::ids::JobId::parse(&id).unwrap();
    for _ in 0..2 {
        let job = services.store.get_job_of(Some(acme_id(&acme)), roster::jobs::Kind::InviteRows, key).await;
        roster::jobs::run_one_step(&services, &job.unwrap().unwrap()).await.unwrap();
    }
    let job = s.get(&format!("/v1/invitation-jobs/{id}"), Some(&acme.token)).await.ok(200).clone();
    assert!(processed(&job) > 0, "{job}");
    // A runner process dies right after committing rows (before their mail went), right after a
    // checkpoint, and mid-way through a later step: each time another resumes.
    for fault in ["rows_committed:3", "checkpoint_saved:2", "rows_committed:25"] {
        let mut runner = runner_process(&acme, &id, Some(fault));
        let status = tokio::time::timeout(std::time::Duration::from_secs(120), runner.wait()).await;
        let status = status.expect("the runner reaches its fault point").unwrap();
        assert!(!status.success(), "{fault}: the runner died");
        expire_lease(&s, &acme, &id).await;
    }
    let job = finish(&s, &services, &acme, &id).await;
    assert_whole(&s, &acme, &id, n, &job).await;
}

#[tokio::test]
async fn two_runners_at_once_never_work_the_same_rows() {
    let _load = heavy_load().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    allow_many_invitations(&s, &acme).await;
    let n = 1_500;
    let id = start_csv(&s, &acme, rows(&format!("{}.test", acme.web_address), n)).await;
    let (mut a, mut b) = (runner_process(&acme, &id, None), runner_process(&acme, &id, None));
    let job = finish(&s, &services, &acme, &id).await;
    let _ = (a.kill().await, b.kill().await);
    assert_whole(&s, &acme, &id, n, &job).await;
}

#[tokio::test]
async fn mail_held_up_by_an_outage_goes_out_once_when_the_mail_service_is_back() {
    let _load = heavy_load().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    allow_many_invitations(&s, &acme).await;
    let domain = format!("{}.test", acme.web_address);
    s.mail_outage(&domain, true).await;

    // A single invitation during the outage stands; its mail is pending.
    let invited = s.invite(&acme, &format!("solo@{domain}"), "agent").await.ok(201).clone();
    assert_eq!(invited["email_sent"], false, "{invited}");
    // A job during the outage invites everyone; the mail waits.
    let n = 120;
    let id = start_csv(&s, &acme, rows(&domain, n)).await;
    run_jobs_until(&services, || async {
        let job = s.get(&format!("/v1/invitation-jobs/{id}"), Some(&acme.token)).await.ok(200).clone();
        (job["processed"].as_u64() > Some(0)).then_some(())
    })
    .await;
    let job = s.get(&format!("/v1/invitation-jobs/{id}"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!(job["status"], "running", "waiting for the mail service: {job}");
    assert!(job["mailed"].as_u64() < job["processed"].as_u64(), "{job}");
    let pending = all_results(&s, &acme, &id).await;
    assert!(pending.iter().filter(|r| r["outcome"] == "invited").all(|r| r["mail"] == "pending"));
    let through = mails_at(&s, &domain).await;
    let got: Vec<_> = through.keys().filter(|to| !to.starts_with("owner@")).take(5).collect();
    assert!(got.is_empty(), "only the owner's earlier mail got through: {got:?}…");

    // Back up: the waits are cut short (the test's clock), and everything goes out once.
    s.mail_outage(&domain, false).await;
    let job = run_jobs_until(&services, || async {
        let _ = services
            .store
            .run_job_of_now(Some(acme_id(&acme)), roster::jobs::Kind::SendMail, invited_mail(&s, &acme).await)
            .await;
        make_due(&s, &acme, &id).await;
        let job = s.get(&format!("/v1/invitation-jobs/{id}"), Some(&acme.token)).await.ok(200).clone();
        let solo = mails_at(&s, &domain).await.contains_key(&format!("solo@{domain}"));
        (job["status"] == "succeeded" && solo).then_some(job)
    })
    .await;
    assert_whole_with(&s, &acme, &id, n, 1, &job).await;
    assert_eq!(mails_at(&s, &domain).await.get(&format!("solo@{domain}")), Some(&1), "the single invitation, once");
}

fn acme_id(acme: &Account) -> roster::domain::ids::AccountId {
    roster::domain::ids::AccountId::parse(&acme.id).unwrap()
}

/// The outbox entry of the account's single invitation (its only `send_mail` job).
async fn invited_mail(s: &Stack, acme: &Account) -> roster::domain::ids::JobId {
    let items = s.partition(&acme.id).await;
    let sk = items
        .iter()
        .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()))
        .find(|sk| sk.starts_with("MAIL#"))
        .expect("an outbox entry")
        .clone();
    roster::domain::ids::JobId::parse(&sk["MAIL#".len()..]).unwrap()
}

/// A job waiting for a retry is due now (the test's clock).
async fn make_due(s: &Stack, acme: &Account, id: &str) {
    let now = chrono::Utc::now().timestamp_millis();
    let values = [(":n_now", now.to_string()), (":due", format!("{now:015}#{id}"))];
    let condition = "attribute_exists(gsi1sk) AND attribute_not_exists(lease_holder)";
    touch_job(s, acme, id, "SET run_at_ms = :n_now, gsi1sk = :due", condition, &values).await;
}
