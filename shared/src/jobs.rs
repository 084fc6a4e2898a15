//! Scheduled work: each job is a Lambda function on a schedule (`template.yaml`), named like
//! a route, and runs until its deadline; whatever is left, the next run resumes.
use crate::service::{Result, Services, deletion, sealing};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Remove every item of accounts whose deletion was requested.
    PurgeAccounts,
    /// Seal older system-log entries into each account's digest chain.
    SealAudit,
}

pub const JOBS: &[(&str, Job)] = &[("job-purge-accounts", Job::PurgeAccounts), ("job-seal-audit", Job::SealAudit)];

pub fn find(id: &str) -> Option<Job> {
    JOBS.iter().find(|(name, _)| *name == id).map(|(_, job)| *job)
}

impl Job {
    /// Run until `deadline`; the report is logged and returned to the scheduler.
    pub async fn run(self, s: &Services, deadline: Instant) -> Result<serde_json::Value> {
        let report = match self {
            Job::PurgeAccounts => serde_json::to_value(deletion::purge(s, deadline).await?),
            Job::SealAudit => serde_json::to_value(sealing::seal_all(s, deadline).await?),
        };
        let report = report.map_err(|e| crate::service::Error::Internal(e.to_string()))?;
        tracing::info!(job = ?self, %report, "job run");
        Ok(report)
    }
}
