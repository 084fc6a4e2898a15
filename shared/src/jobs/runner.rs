//! The runner: claims due jobs, drives each kind step by step under its lease, and writes the
//! job after every step, so a crash, a timeout or a second runner loses at most one step's
//! work, which the next claim redoes from the last checkpoint.
use super::job::{Job, Kind, LEASE, Status};
use super::kinds::{
    DeleteOrganization, DirectorySchedule, DirectorySync, Export, ForgetDirectory, ImportUsers, InviteRows, Outcome,
    Purge, RemapDomain, SEAL_JOB, Seal, SendMail, Work,
};
use crate::service::{Error, Result, Services};
use crate::store::{JOB_EXISTS, JOB_LOST, JobResult, ResultPage};
use chrono::{Duration, Utc};
use tokio::time::Instant;

/// The scheduled function's id (its `Handler` in `infra/template/functions.yaml`).
pub const RUNNER: &str = "job-runner";

/// Due jobs one query asks for.
const DUE_PAGE: i32 = 25;
/// How often the sealing job comes round.
const SEAL_EVERY: Duration = Duration::minutes(5);
/// How long one job runs before the others due get their turn (it goes to the back of the
/// due list and continues when it comes round again).
const SLICE: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Default, serde::Serialize)]
pub struct RunReport {
    pub jobs_claimed: usize,
    pub steps: usize,
    pub jobs_finished: usize,
    /// Steps that failed (their jobs wait for a retry, or failed for good).
    pub steps_failed: usize,
    /// Jobs taken from this runner meanwhile (cancelled, paused, or their lease ran out).
    pub jobs_lost: usize,
    /// Turns that ended before their job did (the slice or the run's time was up): the job is
    /// checkpointed and due again.
    pub jobs_left: usize,
}

/// Work on due jobs until `deadline`, then stop between steps. Safe to run several at once.
pub async fn run_due(s: &Services, deadline: Instant) -> Result<RunReport> {
    ensure_recurring(s).await?;
    let holder = format!("runner-{}", uuid::Uuid::new_v4());
    let mut report = RunReport::default();
    while Instant::now() < deadline {
        let due = s.store.due_jobs(Utc::now(), DUE_PAGE).await?;
        let mut claimed = false;
        for key in due {
            if Instant::now() >= deadline {
                break;
            }
            let now = Utc::now();
            let Some(job) = s.store.claim_job(&key, &holder, now, now + LEASE).await? else { continue };
            claimed = true;
            report.jobs_claimed += 1;
            drive(s, job, &holder, Turn { deadline, steps: usize::MAX }, &mut report).await?;
        }
        // Nothing due that nobody else holds.
        if !claimed {
            break;
        }
    }
    tracing::info!(report = ?report, "job runner");
    Ok(report)
}

/// Roster's own recurring upkeep exists once: created by the first runner that misses it.
async fn ensure_recurring(s: &Services) -> Result<()> {
    if s.store.get_job(None, SEAL_JOB).await?.is_some() {
        return Ok(());
    }
    match s.store.create_job(&Job::recurring(SEAL_JOB, Kind::SealAudit, SEAL_EVERY)).await {
        Err(e) if !e.is_conflict(JOB_EXISTS) => Err(e.into()),
        _ => Ok(()),
    }
}

/// Claim one job and work on it now, as a runner would (the mail a request causes goes out
/// before the answer): the job as it was left, or `None` when another runner has it.
pub async fn run_one(s: &Services, job: &Job) -> Result<Option<Job>> {
    run_one_with(s, job, usize::MAX).await
}

/// `run_one` for a single step, then the job is released as if its deadline had come: the
/// next claim resumes from that checkpoint (the crash tests' drill).
pub async fn run_one_step(s: &Services, job: &Job) -> Result<Option<Job>> {
    run_one_with(s, job, 1).await
}

async fn run_one_with(s: &Services, job: &Job, steps: usize) -> Result<Option<Job>> {
    let holder = format!("inline-{}", uuid::Uuid::new_v4());
    let key = crate::store::keys::job_of(job.account_id, job.kind, job.id);
    let now = Utc::now();
    let Some(claimed) = s.store.claim_job(&key, &holder, now, now + LEASE).await? else { return Ok(None) };
    let mut report = RunReport::default();
    drive(s, claimed, &holder, Turn { deadline: Instant::now() + SLICE, steps }, &mut report).await?;
    Ok(s.store.get_job_of(job.account_id, job.kind, job.id).await?)
}

/// How long one job's turn may last: until the deadline, and at most this many steps.
#[derive(Clone, Copy)]
struct Turn {
    deadline: Instant,
    steps: usize,
}

async fn drive(s: &Services, job: Job, holder: &str, turn: Turn, report: &mut RunReport) -> Result<()> {
    match job.kind {
        Kind::PurgeAccount => drive_kind::<Purge>(s, job, holder, turn, report).await,
        Kind::SealAudit => drive_kind::<Seal>(s, job, holder, turn, report).await,
        Kind::InviteRows => drive_kind::<InviteRows>(s, job, holder, turn, report).await,
        Kind::SendMail => drive_kind::<SendMail>(s, job, holder, turn, report).await,
        Kind::Export => drive_kind::<Export>(s, job, holder, turn, report).await,
        Kind::RemapDomain => drive_kind::<RemapDomain>(s, job, holder, turn, report).await,
        Kind::ImportUsers => drive_kind::<ImportUsers>(s, job, holder, turn, report).await,
        Kind::DeleteOrganization => drive_kind::<DeleteOrganization>(s, job, holder, turn, report).await,
        Kind::DirectorySync => drive_kind::<DirectorySync>(s, job, holder, turn, report).await,
        Kind::ForgetDirectory => drive_kind::<ForgetDirectory>(s, job, holder, turn, report).await,
        Kind::DirectorySchedule => drive_kind::<DirectorySchedule>(s, job, holder, turn, report).await,
    }
}

async fn drive_kind<W: Work>(
    s: &Services,
    mut job: Job,
    holder: &str,
    turn: Turn,
    report: &mut RunReport,
) -> Result<()> {
    let mut at: W::Checkpoint = if job.checkpoint.is_null() {
        // A new round of a recurring job counts afresh (the last round's counts stay until now).
        if job.every_seconds.is_some() {
            job.progress.clear();
        }
        W::Checkpoint::default()
    } else {
        match serde_json::from_value(job.checkpoint.clone()) {
            Ok(at) => at,
            Err(e) => {
                // Nothing can resume from it: the job ends, saying why.
                return failed(s, job, holder, (&format!("unreadable checkpoint: {e}"), true), report).await;
            }
        }
    };
    let turn_ends = (Instant::now() + SLICE).min(turn.deadline);
    let mut steps = 0;
    loop {
        if Instant::now() >= turn_ends || steps >= turn.steps {
            // Released, not finished, and due again behind the jobs already waiting: the next
            // turn (this runner's or another's) continues from the checkpoint.
            let now = Utc::now();
            job.lease_holder = None;
            job.lease_until_ms = None;
            job.run_at = now;
            job.run_at_ms = now.timestamp_millis();
            report.jobs_left += 1;
            return save(s, &job, holder, report).await.map(drop);
        }
        let step = match W::step(s, &job, at).await {
            Ok(step) => step,
            Err(e) => return failed(s, job, holder, (&e.to_string(), e.is_lasting()), report).await,
        };
        report.steps += 1;
        steps += 1;
        let now = Utc::now();
        record(s, &mut job, step.outcomes).await?;
        let next = match &step.next {
            Some(next) => Some(serde_json::to_value(next).map_err(|e| Error::Internal(e.to_string()))?),
            None => None,
        };
        // A finished job keeps its last checkpoint (where it ended).
        let checkpoint = next.clone().unwrap_or_else(|| job.checkpoint.clone());
        job = job.advanced(checkpoint, &step.counts, now);
        if step.hold && step.next.is_some() {
            // Stopped for a person: nobody runs it until they approve (or reject) it.
            job.status = Status::AwaitingApproval;
            job.approved = None;
            job.lease_holder = None;
            job.lease_until_ms = None;
            report.jobs_left += 1;
            return save(s, &job, holder, report).await.map(drop);
        }
        match (step.next, step.wait) {
            (Some(_), Some(until)) => {
                // Released until then; it stays due (and running) for whichever runner comes.
                job.lease_holder = None;
                job.lease_until_ms = None;
                job.run_at = until;
                job.run_at_ms = until.timestamp_millis();
                report.jobs_left += 1;
                return save(s, &job, holder, report).await.map(drop);
            }
            (Some(next), None) => {
                if !step.saved && !save(s, &job, holder, report).await? {
                    return Ok(());
                }
                at = next;
            }
            (None, _) => {
                finish(&mut job, now);
                report.jobs_finished += 1;
                return save(s, &job, holder, report).await.map(drop);
            }
        }
    }
}

/// Number the step's outcomes after the ones already logged and write them as one page before
/// the checkpoint: a step redone from the same checkpoint writes the same page again.
async fn record(s: &Services, job: &mut Job, outcomes: Vec<Outcome>) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let at = Utc::now();
    let entries: Vec<JobResult> = outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| JobResult { index: job.results + i as u64, outcome: o.outcome.to_owned(), detail: o.detail, at })
        .collect();
    let count = entries.len() as u64;
    let page = ResultPage { first: job.results, entries, about: serde_json::Value::Null, notes: Vec::new() };
    s.store.put_result_pages(job, &[page]).await?;
    job.results += count;
    Ok(())
}

/// Done: over, or (recurring) queued for its next round from the start.
fn finish(job: &mut Job, now: chrono::DateTime<Utc>) {
    job.lease_holder = None;
    job.lease_until_ms = None;
    match job.next_round(now) {
        Some(next) => {
            job.status = Status::Queued;
            job.run_at = next;
            job.run_at_ms = next.timestamp_millis();
            job.checkpoint = serde_json::Value::Null;
            job.results = 0;
        }
        None => {
            job.status = Status::Succeeded;
            job.finished_at = Some(now);
        }
    }
}

/// A failed step: the job waits for a retry (from its last checkpoint), or fails for good.
async fn failed(
    s: &Services,
    mut job: Job,
    holder: &str,
    (error, lasting): (&str, bool),
    report: &mut RunReport,
) -> Result<()> {
    tracing::warn!(job = %job.id, kind = ?job.kind, error, "job step failed");
    report.steps_failed += 1;
    // A step may have written checkpoints of its own before it failed: the retry starts from
    // the last of them, never from before work already committed.
    if let Some(stored) = s.store.get_job_of(job.account_id, job.kind, job.id).await?
        && stored.lease_holder.as_deref() == Some(holder)
    {
        job = stored;
    }
    let now = Utc::now();
    if lasting {
        // Trying again would meet the same answer (the starter lost the right, say).
        job.attempts = job.attempts.max(super::MAX_ATTEMPTS - 1);
    }
    let (status, run_at, attempts) = job.after_failure(now);
    job.status = status;
    job.run_at = run_at;
    job.run_at_ms = run_at.timestamp_millis();
    job.attempts = attempts;
    job.error = Some(error.to_owned());
    job.lease_holder = None;
    job.lease_until_ms = None;
    job.updated_at = now;
    if status == Status::Failed {
        job.finished_at = Some(now);
    }
    save(s, &job, holder, report).await.map(drop)
}

/// Write the job if this runner still holds it. `false`: it was taken meanwhile (cancelled,
/// paused, or its lease ran out and another runner has it) and this runner must let it go —
/// not an error of the run.
async fn save(s: &Services, job: &Job, holder: &str, report: &mut RunReport) -> Result<bool> {
    match s.store.save_held_job(job, holder).await {
        Ok(()) => {
            super::fault::point("checkpoint_saved");
            Ok(true)
        }
        Err(e) if e.is_conflict(JOB_LOST) => {
            report.jobs_lost += 1;
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
