//! The background jobs people start and watch through `/v1/jobs` (user imports, domain
//! re-maps; later directory sync and SCIM): their state, their per-item results, cancelling.
//! Invitation and export jobs keep their own routes.
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::JobId;
use crate::domain::permissions::Permission;
use crate::jobs::{Job, Kind};
use crate::store::{JOB_NOT_ACTIVE, JobResult};

/// What starting (and cancelling) a job of this kind needs; `None`: not watched here.
fn manage_permission(kind: Kind) -> Option<Permission> {
    match kind {
        Kind::ImportUsers => Some(Permission::UsersManage),
        Kind::RemapDomain | Kind::DeleteOrganization => Some(Permission::OrganizationsManage),
        Kind::DirectorySync => Some(Permission::DirectoryManage),
        Kind::PurgeAccount
        | Kind::DirectorySchedule
        | Kind::ForgetDirectory
        | Kind::SealAudit
        | Kind::InviteRows
        | Kind::SendMail
        | Kind::Export => None,
    }
}

/// A job of the caller's account (of a kind watched here), or 404.
pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Job> {
    caller.require(Permission::UsersRead)?;
    let not_found = || Error::NotFound("job");
    let id = JobId::parse(id).ok_or_else(not_found)?;
    let job = s.store.get_job(Some(caller.account_id()), id).await?.ok_or_else(not_found)?;
    manage_permission(job.kind).map(|_| job).ok_or_else(not_found)
}

/// Stop a job that has not finished: items not reached are left as they are.
pub async fn cancel(s: &Services, caller: &Caller, id: &str) -> Result<Job> {
    let job = get(s, caller, id).await?;
    if let Some(p) = manage_permission(job.kind) {
        caller.require(p)?;
    }
    let audit =
        AuditEntry::new(caller.actor(), "job.cancelled", "job", job.id, serde_json::json!({ "kind": job.kind.name() }));
    match s.store.cancel_job_logged(&job, &audit).await {
        Ok(job) => Ok(job),
        Err(e) if e.is_conflict(JOB_NOT_ACTIVE) => Err(Error::conflict("job_finished", "the job has already ended")),
        Err(e) => Err(e.into()),
    }
}

/// Let a job that stopped for approval go on (`approve`), or end it (`!approve`).
pub async fn settle(s: &Services, caller: &Caller, job: &Job, approve: bool) -> Result<Job> {
    if let Some(p) = manage_permission(job.kind) {
        caller.require(p)?;
    }
    let action = if approve { "job.approved" } else { "job.rejected" };
    let audit = AuditEntry::new(caller.actor(), action, "job", job.id, serde_json::json!({ "kind": job.kind.name() }));
    let approval = approve.then(|| crate::jobs::Approval { by: caller.actor(), at: chrono::Utc::now() });
    match s.store.settle_job_logged(job, approval, &audit).await {
        Ok(job) => Ok(job),
        Err(e) if e.is_conflict(JOB_NOT_ACTIVE) => {
            Err(Error::conflict("job_not_awaiting_approval", "the job is not waiting for approval"))
        }
        Err(e) => Err(e.into()),
    }
}

/// A page of a job's results in order. The cursor names the result page and the last entry
/// given, so reading on neither repeats nor skips.
pub async fn results(
    s: &Services,
    caller: &Caller,
    id: &str,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<(Vec<JobResult>, Option<String>)> {
    results_of(s, caller, &get(s, caller, id).await?, limit, cursor).await
}

/// `results` of a job the caller already found (a directory's run).
pub async fn results_of(
    s: &Services,
    caller: &Caller,
    job: &Job,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<(Vec<JobResult>, Option<String>)> {
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(FieldError::new("limit", "invalid", "limit is between 1 and 1000").into());
    }
    let list = format!("job-results:{}", job.id);
    let (mut page_from, after) = match super::paging::open(s, caller, &list, cursor)? {
        None => (None, None),
        Some(p) => {
            let (page, last) = p.split_once(':').ok_or_else(Error::invalid_cursor)?;
            let page = page.parse::<u64>().map_err(|_| Error::invalid_cursor())?;
            (Some(page), Some(last.parse::<u64>().map_err(|_| Error::invalid_cursor())?))
        }
    };
    let mut out: Vec<JobResult> = Vec::new();
    loop {
        let (pages, more) = s.store.result_pages(job, page_from, 20).await?;
        for page in &pages {
            for e in &page.entries {
                if after.is_some_and(|a| e.index <= a) {
                    continue;
                }
                out.push(e.clone());
                if out.len() == limit as usize {
                    let next = format!("{}:{}", page.first, e.index);
                    return Ok((out, super::paging::sign(s, caller, &list, Some(next))));
                }
            }
        }
        match pages.last() {
            Some(last) if more => page_from = Some(last.first + 1),
            _ => return Ok((out, None)),
        }
    }
}
