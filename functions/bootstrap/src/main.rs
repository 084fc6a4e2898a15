//! The Lambda entry point of every Roster function. Each function of the templates runs this
//! binary with its route id (or scheduled job id) as `Handler`; Lambda passes it in `_HANDLER`.
//! Clients and secrets are built once here, outside the handler, and the router holds only
//! that one route.
use lambda_http::{LambdaEvent, service_fn};
use roster::http::routes;
use roster::jobs;
use roster::service::Services;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time a job leaves itself before Lambda's deadline to finish its current step and report.
const JOB_MARGIN: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    roster::init_tracing();
    let name = std::env::var("_HANDLER").map_err(|_| "_HANDLER is not set")?;
    // A misnamed function stops here, before any client is built.
    let route = match name.as_str() {
        jobs::RUNNER => None,
        _ => Some(routes::find(&name).ok_or_else(|| format!("no route or job is named {name:?}"))?),
    };
    let services = Arc::new(Services::from_env().await?);
    let Some(route) = route else {
        return lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
            let services = services.clone();
            async move {
                let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
                let left = Duration::from_millis((event.context.deadline as u128).saturating_sub(now_ms) as u64);
                let deadline = tokio::time::Instant::now() + left.saturating_sub(JOB_MARGIN);
                let report =
                    jobs::run_due(&services, deadline).await.map_err(|e| lambda_http::Error::from(e.to_string()))?;
                serde_json::to_value(report).map_err(|e| lambda_http::Error::from(e.to_string()))
            }
        }))
        .await;
    };
    lambda_http::run(routes::router(services, Some(route.id))).await
}
