//! The local API server: every endpoint's handler in one process on 127.0.0.1, the very same
//! router the Lambda functions run. `--init` first creates the table and the signing secret in
//! the local stack if they are missing; `--jobs-every` also runs the scheduled jobs (purge,
//! audit sealing) in the background, as EventBridge would.
use axum::extract::ConnectInfo;
use roster::http::idempotency::ClientAddress;
use roster::http::routes;
use roster::service::Services;
use std::net::SocketAddr;
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
    // With the peer's address, which sign-up's idempotency keys are scoped by.
    let app = routes::router(services, None)
        .layer(axum::middleware::from_fn(with_client_address))
        .into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}

/// What API Gateway tells a function in AWS: who is asking.
async fn with_client_address(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    req.extensions_mut().insert(ClientAddress(peer.ip().to_string()));
    next.run(req).await
}

/// What the schedule does in AWS: the job runner, over and over, each run with a deadline.
async fn run_jobs(services: Arc<Services>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = roster::jobs::run_due(&services, tokio::time::Instant::now() + every).await {
            tracing::warn!(error = %e, "job run failed; the next run resumes");
        }
    }
}
