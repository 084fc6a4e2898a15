//! The Lambda entry point of every Roster endpoint. Each function in `template.yaml` runs this
//! binary with its route id as `Handler`; Lambda passes it in `_HANDLER`. Clients and secrets are
//! built once here, outside the handler, and the router holds only that one route.
use roster::http::routes;
use roster::service::Services;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    roster::init_tracing();
    let name = std::env::var("_HANDLER").map_err(|_| "_HANDLER is not set")?;
    let route = routes::find(&name).ok_or_else(|| format!("no route is named {name:?}"))?;
    let services = Arc::new(Services::from_env().await?);
    lambda_http::run(routes::router(services, Some(route.id))).await
}
