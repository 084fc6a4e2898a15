//! The local API server: every endpoint's handler in one process on 127.0.0.1, the very same
//! router the Lambda functions run. `--init` first creates the table and the signing secret in
//! the local stack if they are missing; `--jobs-every` also runs the scheduled jobs (purge,
//! audit sealing) in the background, as EventBridge would.
use roster::http::routes;
use roster::service::Services;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    roster::init_tracing();
    let mut args = std::env::args().skip(1);
    let mut port: u16 = 3000;
    let mut init = false;
    let mut jobs_every: Option<u64> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            "--init" => init = true,
            "--jobs-every" => jobs_every = Some(args.next().ok_or("--jobs-every needs seconds")?.parse()?),
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: roster-local [--init] [--port N] [--jobs-every SECONDS]"
                )
                .into());
            }
        }
    }
    if init {
        roster_local::init_stack().await?;
    }
    let services = Arc::new(Services::from_env().await?);
    if let Some(seconds) = jobs_every {
        tokio::spawn(run_jobs(services.clone(), std::time::Duration::from_secs(seconds)));
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(address = %listener.local_addr()?, "Roster local API listening");
    axum::serve(listener, routes::router(services, None)).await?;
    Ok(())
}

/// What the scheduler does in AWS: every job, over and over, each run with a deadline.
async fn run_jobs(services: Arc<Services>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        // Owned values only: a borrow held across `.await` trips rustc's `Send` check.
        let jobs: Vec<roster::jobs::Job> = roster::jobs::JOBS.iter().map(|(_, job)| *job).collect();
        for job in jobs {
            if let Err(e) = job.run(&services, tokio::time::Instant::now() + every).await {
                tracing::warn!(?job, error = %e, "scheduled job failed; the next run resumes");
            }
        }
    }
}
