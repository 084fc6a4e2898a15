//! Benchmark of an invitation job (issue 11): N rows (default 10,000) against the local stack.
//! The job runs in a child process (so its peak RSS is the runner's alone) whose DynamoDB and
//! SES clients count every request they send. The floor is the same volume of bare writes —
//! one item per invitation with BatchWriteItem (25 each) and the same mail with SendBulkEmail
//! (50 each) — timed against the same stand-ins in the same run.
//! Run it with `bash infra/bench-invitations.sh [ROWS]`.
use roster_local::bench::{
    Count, Fallible, account, bare_batch_writes, bench_item, counted_services, peak_rss_kb, run_to_end,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

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

/// The child: run the one job to its end with counting clients, then report on stdout.
async fn run_job(account: &str, job: &str) -> Fallible<()> {
    let (account, job) = (
        roster::domain::ids::AccountId::parse(account).ok_or("account id")?,
        roster::domain::ids::JobId::parse(job).ok_or("job id")?,
    );
    let (dynamo_count, ses_count) = (Count::default(), Count::default());
    let services = counted_services(&dynamo_count, &ses_count).await?;
    run_to_end(&services, account, roster::jobs::Kind::InviteRows, job).await?;
    let report = json!({
        "dynamodb_requests": dynamo_count.total(),
        "ses_requests": ses_count.total(),
        "peak_rss_kb": peak_rss_kb(),
    });
    println!("{report}");
    Ok(())
}

/// The same volume done bare: `rows` items of an invitation's size written 25 at a time, and
/// `rows` mails sent 50 at a time with one stored template.
async fn floor(rows: usize) -> Fallible<(Duration, Duration)> {
    let sdk = roster::config::aws_config().await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let items = (0..rows as u64)
        .map(|i| {
            let attributes = [
                ("email", format!("p{i}@bench.test")),
                ("first_name", "Person".to_owned()),
                ("last_name", format!("Number {i}")),
                ("padding", "x".repeat(300)),
            ];
            bench_item(&run, i, &attributes)
        })
        .collect();
    bare_batch_writes(items).await?;
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
