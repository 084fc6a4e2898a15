//! The local API server: every endpoint's handler in one process on 127.0.0.1, the very same
//! router the Lambda functions run. `--init` first creates the table and the signing secret in
//! the local stack if they are missing.
use roster::http::routes;
use roster::service::Services;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    roster::init_tracing();
    let mut args = std::env::args().skip(1);
    let mut port: u16 = 3000;
    let mut init = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            "--init" => init = true,
            other => {
                return Err(format!("unknown argument {other}; usage: roster-local [--init] [--port N]").into());
            }
        }
    }
    if init {
        roster_local::init_stack().await?;
    }
    let services = Arc::new(Services::from_env().await?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(address = %listener.local_addr()?, "Roster local API listening");
    axum::serve(listener, routes::router(services, None)).await?;
    Ok(())
}
