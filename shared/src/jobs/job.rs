//! A job as stored, and the rules of its life: which statuses a runner may claim, how long a
//! lease lasts, when a failed step is tried again. Pure: the store applies these as conditions.
use crate::domain::audit::Actor;
use crate::domain::ids::{AccountId, JobId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every kind of background work. Adding a kind is adding a variant and its `Work` (`kinds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Remove every item of one deleted account, then leave its tombstone.
    PurgeAccount,
    /// Seal older system-log entries of every account into its digest chain (recurring).
    SealAudit,
    /// Invite the rows of a spreadsheet or list (an invitation job), and send their mail.
    InviteRows,
    /// Deliver the mail one change caused (an invitation, a resend): the outbox entry.
    SendMail,
    /// Write a large export (members, the system log) to a file and hand out a link to it.
    Export,
    /// Link (or unlink) the people of an email domain to an organization.
    RemapDomain,
    /// Create the end users of a spreadsheet.
    ImportUsers,
    /// Take an organization's members out of it, then delete it.
    DeleteOrganization,
    /// One run of a directory connection: read the directory, create, update and deactivate.
    DirectorySync,
    /// A directory connection's schedule (recurring): starts a run whenever one is due.
    DirectorySchedule,
    /// What Roster kept of a deleted directory connection's entries, deleted (its people stay).
    ForgetDirectory,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::PurgeAccount => "purge_account",
            Kind::SealAudit => "seal_audit",
            Kind::InviteRows => "invite_rows",
            Kind::SendMail => "send_mail",
            Kind::Export => "export",
            Kind::RemapDomain => "remap_domain",
            Kind::ImportUsers => "import_users",
            Kind::DeleteOrganization => "delete_organization",
            Kind::DirectorySync => "directory_sync",
            Kind::DirectorySchedule => "directory_schedule",
            Kind::ForgetDirectory => "forget_directory",
        }
    }

    /// Where in its partition a job of this kind is kept: mail has its own shelf, so listing
    /// an account's jobs does not read one outbox entry per invitation.
    pub fn shelf(self) -> &'static str {
        match self {
            Kind::SendMail => "MAIL#",
            _ => "JOB#",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for `run_at` (new, or a failed step's retry, or a recurring job's next round).
    Queued,
    /// Started: a runner holds the lease, or the next one resumes from the checkpoint.
    Running,
    /// Stopped by a person; resumes only when they resume it.
    Paused,
    /// Prepared and waiting for a person's approval before it changes anything.
    AwaitingApproval,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    /// Whether the job is over (nothing will run it again).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }

    /// Whether a runner may pick it up once `run_at` has come and no lease is live.
    pub fn is_runnable(self) -> bool {
        matches!(self, Status::Queued | Status::Running)
    }
}

/// How long a claim lasts without a checkpoint: a runner that dies leaves the job to the next
/// one after this. Every step is far shorter, and every checkpoint renews it.
pub const LEASE: Duration = Duration::minutes(2);
/// Failed attempts in a row before the job is `failed` (each retry waits longer).
pub const MAX_ATTEMPTS: u32 = 5;
/// Result-log entries are kept at least this long (then DynamoDB's TTL may clean them up).
pub const RESULTS_KEPT: Duration = Duration::days(35);

/// The wait before the next attempt after `attempts` failures in a row: 30 s, 1, 2, 4 min…
pub fn retry_delay(attempts: u32) -> Duration {
    Duration::seconds(30 * 2i64.pow(attempts.saturating_sub(1).min(10)))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub kind: Kind,
    /// The account whose data the job works on; `None` for work across accounts.
    pub account_id: Option<AccountId>,
    pub status: Status,
    pub run_at: DateTime<Utc>,
    /// Milliseconds since the epoch of `run_at`: conditions compare numbers, not text.
    pub run_at_ms: i64,
    /// Absent when nobody holds the job (conditions test the attribute's existence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_holder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until_ms: Option<i64>,
    /// What the kind was asked to do (its own serde type).
    pub input: serde_json::Value,
    /// Where the kind is (its own serde type); `null` before the first step.
    pub checkpoint: serde_json::Value,
    /// Counts the kind reports (`invited`, `items_deleted`…), absolute, written with the checkpoint.
    pub progress: BTreeMap<String, u64>,
    /// Failed attempts in a row (a successful step resets it).
    pub attempts: u32,
    pub error: Option<String>,
    /// On whose behalf it runs; `None` for Roster's own upkeep.
    pub created_by: Option<Actor>,
    /// A recurring job runs again this many seconds after each round.
    pub every_seconds: Option<i64>,
    /// Result-log entries written so far (the next one's number).
    pub results: u64,
    /// Who let a job that stopped for approval go on (`awaiting_approval` → running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<Approval>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approval {
    pub by: Actor,
    pub at: DateTime<Utc>,
}

impl Job {
    pub fn new(kind: Kind, account_id: Option<AccountId>, input: serde_json::Value, run_at: DateTime<Utc>) -> Self {
        let now = Utc::now();
        Self {
            id: JobId::new(),
            kind,
            account_id,
            status: Status::Queued,
            run_at,
            run_at_ms: run_at.timestamp_millis(),
            lease_holder: None,
            lease_until_ms: None,
            input,
            checkpoint: serde_json::Value::Null,
            progress: BTreeMap::new(),
            attempts: 0,
            error: None,
            created_by: None,
            every_seconds: None,
            results: 0,
            approved: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        }
    }

    /// A recurring upkeep job with a fixed id, so it exists once however often it is ensured.
    pub fn recurring(id: JobId, kind: Kind, every: Duration) -> Self {
        let mut job = Self::new(kind, None, serde_json::Value::Null, Utc::now());
        job.id = id;
        job.every_seconds = Some(every.num_seconds());
        job
    }

    /// The job as it is after a step reached `checkpoint` and counted `counts` (what a kind
    /// writes in its own transaction; the runner then holds the same).
    pub fn advanced(&self, checkpoint: serde_json::Value, counts: &[(&'static str, u64)], now: DateTime<Utc>) -> Self {
        let mut job = self.clone();
        job.checkpoint = checkpoint;
        for (name, n) in counts {
            *job.progress.entry((*name).to_owned()).or_default() += n;
        }
        job.attempts = 0;
        job.error = None;
        job.updated_at = now;
        job.lease_until_ms = Some((now + LEASE).timestamp_millis());
        job
    }

    /// Whether a runner may claim it at `now` (the store's claim condition says the same).
    /// The input, as the kind wrote it.
    pub fn input_as<T: serde::de::DeserializeOwned>(&self) -> crate::service::Result<T> {
        serde_json::from_value(self.input.clone())
            .map_err(|e| crate::service::Error::Internal(format!("{} job input: {e}", self.kind.name())))
    }

    pub fn claimable(&self, now: DateTime<Utc>) -> bool {
        self.status.is_runnable()
            && self.run_at_ms <= now.timestamp_millis()
            && self.lease_until_ms.is_none_or(|until| until < now.timestamp_millis())
    }

    /// What the job becomes after a failed step at `now`: queued for a later retry, or failed.
    pub fn after_failure(&self, now: DateTime<Utc>) -> (Status, DateTime<Utc>, u32) {
        let attempts = self.attempts + 1;
        if attempts >= MAX_ATTEMPTS {
            (Status::Failed, self.run_at, attempts)
        } else {
            (Status::Queued, now + retry_delay(attempts), attempts)
        }
    }

    /// When a finished round of a recurring job runs again (`None`: the job is over).
    pub fn next_round(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.every_seconds.map(|s| now + Duration::seconds(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_due_unleased_runnable_jobs_are_claimed() {
        let now = Utc::now();
        let mut job = Job::new(Kind::PurgeAccount, None, serde_json::Value::Null, now);
        assert!(job.claimable(now));
        job.run_at_ms = (now + Duration::seconds(1)).timestamp_millis();
        assert!(!job.claimable(now), "not due yet");
        job.run_at_ms = now.timestamp_millis();
        job.lease_until_ms = Some((now + LEASE).timestamp_millis());
        assert!(!job.claimable(now), "another runner holds it");
        job.lease_until_ms = Some((now - Duration::seconds(1)).timestamp_millis());
        assert!(job.claimable(now), "its runner died: the lease ran out");
        for status in [Status::Paused, Status::AwaitingApproval, Status::Succeeded, Status::Failed, Status::Cancelled] {
            job.status = status;
            assert!(!job.claimable(now), "{status:?}");
        }
    }

    #[test]
    fn failures_retry_with_growing_waits_then_fail() {
        let now = Utc::now();
        let mut job = Job::new(Kind::SealAudit, None, serde_json::Value::Null, now);
        let mut waits = Vec::new();
        loop {
            let (status, run_at, attempts) = job.after_failure(now);
            job.attempts = attempts;
            if status == Status::Failed {
                break;
            }
            waits.push((run_at - now).num_seconds());
        }
        assert_eq!(waits, [30, 60, 120, 240]);
        assert_eq!(job.attempts, MAX_ATTEMPTS);
    }

    #[test]
    fn recurring_jobs_come_back() {
        let now = Utc::now();
        let job = Job::recurring(JobId::fixed(7), Kind::SealAudit, Duration::minutes(1));
        assert_eq!(job.next_round(now), Some(now + Duration::minutes(1)));
        assert_eq!(Job::new(Kind::PurgeAccount, None, serde_json::Value::Null, now).next_round(now), None);
    }
}
