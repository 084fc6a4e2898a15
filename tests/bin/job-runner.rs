//! A job runner in its own process, for the crash tests to kill: works on one job (account id
//! and job id as arguments) until it is over, or until it aborts itself at a fault point
//! (`ROSTER_FAULT_ABORT`).
use roster::domain::ids::{AccountId, JobId};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(account), Some(job)) =
        (args.first().and_then(|a| AccountId::parse(a)), args.get(1).and_then(|j| JobId::parse(j)))
    else {
        eprintln!("usage: roster-test-runner ACCOUNT_ID JOB_ID");
        std::process::exit(2);
    };
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter("warn").init();
    let services = match roster::service::Services::from_env().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("roster-test-runner: {e}");
            std::process::exit(2);
        }
    };
    loop {
        match services.store.get_job(Some(account), job).await {
            Ok(Some(j)) if j.status.is_final() => return,
            Ok(Some(j)) => {
                if let Err(e) = roster::jobs::run_one(&services, &j).await {
                    eprintln!("roster-test-runner: {e}");
                }
            }
            Ok(None) => return,
            Err(e) => eprintln!("roster-test-runner: {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
