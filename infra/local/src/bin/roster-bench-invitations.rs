//! Benchmark of an invitation job (issue 11): N rows (default 10,000) against the local stack.
//! The job runs in a child process (so its peak RSS is the runner's alone) whose DynamoDB and
//! SES clients count every request they send. The floor is the same volume of bare writes —
//! one item per invitation with BatchWriteItem (25 each) and the same mail with SendBulkEmail
//! (50 each) — timed against the same stand-ins in the same run.
//! Run it with `bash infra/bench-invitations.sh [ROWS]`.
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
struct Count(Arc<AtomicU64>);

impl Intercept for Count {
    fn name(&self) -> &'static str {
        "count-requests"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Fallible<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--run") {
        return run_job(args.get(1).ok_or("--run ACCOUNT JOB")?, args.get(2).ok_or("--run ACCOUNT JOB")?).await;
    }
    let rows: usize = args.first().map(|a| a.parse()).transpose()?.unwrap_or(10_000);
    let api = std::env::var("ROSTER_API_URL")?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let (account, token, domain) = account(&http, &api).await?;

    let mut csv = String::from("email,first_name,last_name,role\n");
    for i in 0..rows {
        csv.push_str(&format!("p{i}@{domain},Person,Number {i},agent\n"));
    }
    let job: Value = http
        .post(format!("{api}/v1/invitation-jobs"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await?
        .json()
        .await?;
    let id = job["id"].as_str().ok_or_else(|| format!("no job: {job}"))?.to_owned();

    let started = Instant::now();
    let out = tokio::process::Command::new(std::env::current_exe()?).args(["--run", &account, &id]).output().await?;
    let wall = started.elapsed();
    if !out.status.success() {
        return Err(format!("the runner failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let report: Value = serde_json::from_slice(&out.stdout)?;
    let done: Value =
        http.get(format!("{api}/v1/invitation-jobs/{id}")).bearer_auth(&token).send().await?.json().await?;
    let invited = done["counts"]["invited"].as_u64().unwrap_or(0);
    if done["status"] != "succeeded" || invited != rows as u64 {
        return Err(format!("the job did not invite every row: {done}").into());
    }

    let (floor_writes, floor_mail) = floor(rows).await?;
    let floor = floor_writes + floor_mail;
    let per_k = |n: u64| n as f64 * 1000.0 / invited as f64;
    let (dynamo, ses) =
        (report["dynamodb_requests"].as_u64().unwrap_or(0), report["ses_requests"].as_u64().unwrap_or(0));
    println!("invitation job, {rows} rows, against the local stack (moto + aws-ses-v2-local)");
    println!("  wall time            {:>8.1} s   (runner process start to job done)", wall.as_secs_f64());
    println!("  DynamoDB requests    {dynamo:>8}     {:.1} per 1,000 invitations (goal ≤ 70)", per_k(dynamo));
    println!("  SES requests         {ses:>8}     {:.1} per 1,000 invitations (goal ≤ 25)", per_k(ses));
    println!("  runner peak RSS      {:>8.1} MB  (goal ≤ 64)", report["peak_rss_kb"].as_f64().unwrap_or(0.0) / 1024.0);
    println!(
        "  floor                {:>8.1} s   (BatchWriteItem ×25: {:.1} s + SendBulkEmail ×50: {:.1} s)",
        floor.as_secs_f64(),
        floor_writes.as_secs_f64(),
        floor_mail.as_secs_f64()
    );
    println!("  wall / floor         {:>8.2}     (goal ≤ 2)", wall.as_secs_f64() / floor.as_secs_f64());
    println!("reproduce: bash infra/bench-invitations.sh {rows}");
    Ok(())
}

/// A new account whose owner is verified and may invite 10,000 an hour.
async fn account(http: &reqwest::Client, api: &str) -> Fallible<(String, String, String)> {
    let web = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let email = format!("owner@{web}.test");
    let password = "a long bench password";
    let body = json!({
        "web_address": web, "company_name": "Bench", "first_name": "Ben", "last_name": "Ch",
        "email": email, "password": password,
    });
    let created: Value = http.post(format!("{api}/v1/accounts")).json(&body).send().await?.json().await?;
    let account = created["account"]["id"].as_str().ok_or_else(|| format!("sign-up: {created}"))?.to_owned();
    let sdk = roster::config::aws_config().await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .update_item()
        .table_name(std::env::var("ROSTER_TABLE")?)
        .key("pk", AttributeValue::S(format!("ACCOUNT#{account}")))
        .key("sk", AttributeValue::S("ACCOUNT".into()))
        .update_expression("SET email_verified_at = :now")
        .expression_attribute_values(":now", AttributeValue::S(chrono::Utc::now().to_rfc3339()))
        .send()
        .await?;
    let login = json!({ "web_address": web, "email": email, "password": password });
    let tokens: Value = http.post(format!("{api}/v1/auth/login")).json(&login).send().await?.json().await?;
    let token = tokens["access_token"].as_str().ok_or_else(|| format!("login: {tokens}"))?.to_owned();
    http.patch(format!("{api}/v1/account/preferences"))
        .bearer_auth(&token)
        .json(&json!({ "invitations_per_hour": 10000 }))
        .send()
        .await?
        .error_for_status()?;
    Ok((account, token, format!("{web}.test")))
}

/// The child: run the one job to its end with counting clients, then report on stdout.
async fn run_job(account: &str, job: &str) -> Fallible<()> {
    let (account, job) = (
        roster::domain::ids::AccountId::parse(account).ok_or("account id")?,
        roster::domain::ids::JobId::parse(job).ok_or("job id")?,
    );
    let (dynamo_count, ses_count) = (Count::default(), Count::default());
    let sdk = roster::config::aws_config().await;
    let config = roster::config::Config::from_env()?;
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(dynamo_count.clone()).build(),
    );
    let ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&sdk).interceptor(ses_count.clone()).build(),
    );
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let keys = roster::service::secrets::Keys::fetch(&secrets, &config.signing_secret_id).await?;
    let services = roster::service::Services {
        store: roster::store::Store::new(dynamo, config.table.clone()),
        mailer: roster::mail::Mailer::new(ses, config.mail_from.clone()),
        keys,
        files: roster::files::Files::new(&sdk, config.export_bucket.clone()),
        config,
        secrets,
        directory_sessions: Default::default(),
    };
    let (d0, s0) = (dynamo_count.0.load(Ordering::Relaxed), ses_count.0.load(Ordering::Relaxed));
    loop {
        let Some(j) = services.store.get_job_of(Some(account), roster::jobs::Kind::InviteRows, job).await? else {
            return Err("the job is gone".into());
        };
        if j.status.is_final() {
            break;
        }
        roster::jobs::run_one(&services, &j).await?;
    }
    let report = json!({
        "dynamodb_requests": dynamo_count.0.load(Ordering::Relaxed) - d0,
        "ses_requests": ses_count.0.load(Ordering::Relaxed) - s0,
        "peak_rss_kb": peak_rss_kb(),
    });
    println!("{report}");
    Ok(())
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The same volume done bare: `rows` items of an invitation's size written 25 at a time, and
/// `rows` mails sent 50 at a time with one stored template.
async fn floor(rows: usize) -> Fallible<(Duration, Duration)> {
    let sdk = roster::config::aws_config().await;
    let table = std::env::var("ROSTER_TABLE")?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let items: Vec<WriteRequest> = (0..rows)
        .map(|i| {
            let item = [
                ("pk", AttributeValue::S(format!("BENCH#{run}"))),
                ("sk", AttributeValue::S(format!("{i:08}"))),
                ("email", AttributeValue::S(format!("p{i}@bench.test"))),
                ("first_name", AttributeValue::S("Person".into())),
                ("last_name", AttributeValue::S(format!("Number {i}"))),
                ("padding", AttributeValue::S("x".repeat(300))),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            PutRequest::builder().set_item(Some(item)).build().map(|p| WriteRequest::builder().put_request(p).build())
        })
        .collect::<Result<_, _>>()?;
    for chunk in items.chunks(25) {
        let mut pending = Some(std::collections::HashMap::from([(table.clone(), chunk.to_vec())]));
        while let Some(requests) = pending.take().filter(|r| !r.is_empty()) {
            let out = dynamo.batch_write_item().set_request_items(Some(requests)).send().await?;
            pending = out.unprocessed_items.filter(|u| u.values().any(|v| !v.is_empty()));
        }
    }
    let writes = started.elapsed();

    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let template = format!("bench-floor-{run}");
    use aws_sdk_sesv2::types::*;
    ses.create_email_template()
        .template_name(&template)
        .template_content(
            EmailTemplateContent::builder()
                .subject("Join {{company}}")
                .text("Hello {{name}}, join: {{link}}")
                .html("<p>Hello {{name}}, <a href=\"{{link}}\">join</a></p>")
                .build(),
        )
        .send()
        .await?;
    let from = std::env::var("ROSTER_MAIL_FROM")?;
    let started = Instant::now();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(50) {
        let entries = chunk
            .iter()
            .map(|i| {
                BulkEmailEntry::builder()
                    .destination(Destination::builder().to_addresses(format!("p{i}@floor.bench.test")).build())
                    .replacement_email_content(
                        ReplacementEmailContent::builder()
                            .replacement_template(
                                ReplacementTemplate::builder()
                                    .replacement_template_data(
                                        json!({ "name": "Person", "link": format!("https://x.test/{i}"), "company": "Bench" })
                                            .to_string(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            })
            .collect();
        ses.send_bulk_email()
            .from_email_address(&from)
            .default_content(
                BulkEmailContent::builder()
                    .template(Template::builder().template_name(&template).template_data("{}").build())
                    .build(),
            )
            .set_bulk_email_entries(Some(entries))
            .send()
            .await?;
    }
    Ok((writes, started.elapsed()))
}
