//! Invitation jobs (SPEC §2): up to 50,000 rows given at once (now or at `run_at`), invited
//! in the background by the jobs platform; what became of every row is kept for 35 days.
use super::invite_rows::{Detail, InputRow};
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;
use crate::domain::audit::AuditEntry;
use crate::domain::bulk::{Numbered, Outcome, Row, first_of_each_email};
use crate::domain::ids::JobId;
use crate::domain::permissions::Permission;
use crate::jobs::{InviteCheckpoint, InviteInput, Job, Kind, Status};
use crate::store::{JOB_NOT_ACTIVE, ResultPage};
use chrono::{DateTime, Utc};

/// Rows one job may hold.
pub const JOB_MAX: usize = 50_000;

/// Start an invitation job: the rows are checked for shape and duplicates now (so every row's
/// fate is settled by the list itself or by the account when the row's turn comes), stored,
/// and the job queued for `run_at` (default now).
pub async fn create(
    s: &Services,
    caller: &Caller,
    rows: Vec<Numbered<std::result::Result<Row, String>>>,
    run_at: Option<DateTime<Utc>>,
) -> Result<Job> {
    caller.require(Permission::InvitationsManage)?;
    // A spreadsheet with only its header is a job with nothing to do (it succeeds at once); a
    // JSON body needs at least one row (the handler says so).
    if rows.len() > JOB_MAX {
        return Err(FieldError::new("rows", "too_many", format!("at most {JOB_MAX} rows per job")).into());
    }
    let now = Utc::now();
    let firsts = first_of_each_email(&rows);
    let stored: Vec<InputRow> = rows
        .into_iter()
        .zip(firsts)
        .map(|(r, first)| {
            let email = r.row.as_ref().map(|x| x.email.trim().to_owned()).unwrap_or_default();
            match r.row {
                Ok(row) => InputRow { line: r.line, email, row: Some(row), invalid: None, duplicate_of: first },
                Err(reason) => InputRow { line: r.line, email, row: None, invalid: Some(reason), duplicate_of: None },
            }
        })
        .collect();
    let chunks = super::job_input::chunk(&stored)?;
    let input = InviteInput { rows: stored.len() as u64, chunks: chunks.iter().map(|(first, _)| *first).collect() };
    let input = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
    let mut job = Job::new(Kind::InviteRows, Some(caller.account_id()), input, run_at.unwrap_or(now).max(now));
    job.created_by = Some(caller.actor());
    s.store.put_job_input(&job, &chunks).await?;
    let audit = AuditEntry::new(
        caller.actor(),
        "invitation_job.created",
        "job",
        job.id,
        serde_json::json!({ "rows": stored.len(), "run_at": job.run_at }),
    );
    s.store.create_job_logged(&job, &audit).await?;
    Ok(job)
}

/// An invitation job of the caller's account, or 404.
pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Job> {
    caller.require(Permission::InvitationsManage)?;
    let not_found = || Error::NotFound("invitation job");
    let id = JobId::parse(id).ok_or_else(not_found)?;
    s.store
        .get_job_of(Some(caller.account_id()), Kind::InviteRows, id)
        .await?
        .filter(|j| j.kind == Kind::InviteRows)
        .ok_or_else(not_found)
}

/// The account's invitation jobs, newest first.
pub async fn list(
    s: &Services,
    caller: &Caller,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<(Vec<Job>, Option<String>)> {
    caller.require(Permission::InvitationsManage)?;
    let limit = limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(FieldError::new("limit", "invalid", "limit is between 1 and 100").into());
    }
    let a = caller.account_id();
    let before = match cursor {
        None => None,
        Some(c) => Some(s.keys.open_cursor(a, c).and_then(|p| JobId::parse(&p)).ok_or_else(Error::invalid_cursor)?),
    };
    let (jobs, more) = s.store.list_jobs(a, Kind::InviteRows, before, limit).await?;
    let next = more.then(|| jobs.last().map(|j| s.keys.sign_cursor(a, &j.id.to_string()))).flatten();
    Ok((jobs, next))
}

/// Cancel a job that has not finished: rows not reached are never invited (mail of rows already
/// invited still goes out).
pub async fn cancel(s: &Services, caller: &Caller, id: &str) -> Result<Job> {
    let job = get(s, caller, id).await?;
    let audit = AuditEntry::new(caller.actor(), "invitation_job.cancelled", "job", job.id, serde_json::json!({}));
    match s.store.cancel_job_logged(&job, &audit).await {
        Ok(job) => Ok(job),
        Err(e) if e.is_conflict(JOB_NOT_ACTIVE) => {
            Err(Error::conflict("job_finished", format!("the job has already {}", status_word(job.status))))
        }
        Err(e) => Err(e.into()),
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::Cancelled => "been cancelled",
        _ => "finished",
    }
}

/// Where a job is, read from its checkpoint; a job that succeeded dealt with every row and
/// its mail (its last step's mark is not written: the job's end says it).
pub fn checkpoint(job: &Job) -> InviteCheckpoint {
    if job.status == Status::Succeeded {
        let rows = rows_of(job);
        return InviteCheckpoint { next: rows, mailed: rows, mailed_page: rows, mail_attempts: 0 };
    }
    serde_json::from_value(job.checkpoint.clone()).unwrap_or_default()
}

pub fn rows_of(job: &Job) -> u64 {
    serde_json::from_value::<InviteInput>(job.input.clone()).map_or(0, |i| i.rows)
}

/// What became of one row.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RowResult {
    /// The CSV line (the header is line 1), or the position in the JSON list from 1.
    pub line: u64,
    pub email: String,
    pub outcome: Outcome,
    /// Why the row was not invited.
    pub reason: Option<String>,
    #[schema(value_type = Option<String>)]
    pub member_id: Option<crate::domain::ids::MemberId>,
    /// For an invited row, its mail: `sent`, `pending` (not yet, or the mail service is down)
    /// or `failed` (resend the invitation).
    pub mail: Option<MailState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    Sent,
    Pending,
    Failed,
}

/// One page of a job's results in row order, optionally only one outcome. The cursor names the
/// result page and the last row given, so reading on neither repeats nor skips.
pub async fn results(
    s: &Services,
    caller: &Caller,
    id: &str,
    outcome: Option<Outcome>,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<(Vec<RowResult>, Option<String>)> {
    let job = get(s, caller, id).await?;
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(FieldError::new("limit", "invalid", "limit is between 1 and 1000").into());
    }
    let a = caller.account_id();
    let (mut page_from, mut after) = match cursor {
        None => (None, None),
        Some(c) => {
            let position = s.keys.open_cursor(a, c).ok_or_else(Error::invalid_cursor)?;
            let (p, r) = position.split_once(':').ok_or_else(Error::invalid_cursor)?;
            let (p, r) = (p.parse::<u64>().ok(), r.parse::<u64>().ok());
            (Some(p.ok_or_else(Error::invalid_cursor)?), Some(r.ok_or_else(Error::invalid_cursor)?))
        }
    };
    let at = checkpoint(&job);
    let mut out = Vec::new();
    // A selective filter reads a bounded number of result pages per request.
    for _ in 0..crate::store::FILTERED_READS {
        let (pages, more) = s.store.result_pages(&job, page_from, 20).await?;
        for page in &pages {
            for r in page_results(page, &at) {
                if after.is_some_and(|x| r.0 <= x) || outcome.is_some_and(|o| o != r.1.outcome) {
                    continue;
                }
                out.push(r);
                if out.len() == limit as usize {
                    let (index, _) = out.last().map_or((0, ()), |r| (r.0, ()));
                    let next = s.keys.sign_cursor(a, &format!("{}:{index}", page.first));
                    return Ok((out.into_iter().map(|r| r.1).collect(), Some(next)));
                }
            }
            after = None;
        }
        match pages.last() {
            Some(last) if more => page_from = Some(last.entries.last().map_or(last.first, |e| e.index) + 1),
            _ => return Ok((out.into_iter().map(|r| r.1).collect(), None)),
        }
    }
    // Read as far as one request may: the cursor goes on from there.
    let next = page_from.map(|p| s.keys.sign_cursor(a, &format!("{p}:{}", p.saturating_sub(1))));
    Ok((out.into_iter().map(|r| r.1).collect(), next))
}

/// An invited row's mail, as its result page (failures are noted on it) and the job's checkpoint
/// (how far mail went) tell.
pub(crate) fn row_mail(page: &ResultPage, at: &InviteCheckpoint, index: u64) -> MailState {
    if page.notes.iter().any(|n| n.index == index) {
        MailState::Failed
    } else if index < at.mailed {
        MailState::Sent
    } else {
        MailState::Pending
    }
}

/// A result page's rows with their mail's state.
fn page_results(page: &ResultPage, at: &InviteCheckpoint) -> Vec<(u64, RowResult)> {
    page.entries
        .iter()
        .filter_map(|e| {
            let d: Detail = serde_json::from_value(e.detail.clone()).ok()?;
            let outcome: Outcome = serde_json::from_value(serde_json::Value::String(e.outcome.clone())).ok()?;
            let mail = (outcome == Outcome::Invited).then(|| row_mail(page, at, e.index));
            Some((
                e.index,
                RowResult { line: d.line, email: d.email, outcome, reason: d.reason, member_id: d.member_id, mail },
            ))
        })
        .collect()
}
