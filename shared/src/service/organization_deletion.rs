//! Deleting an organization that has members (SPEC §5): a job takes them out of it a page at a
//! time (the people stay, with their other organizations), then deletes it the way an empty one
//! is deleted. Someone who joins meanwhile is taken out too.
use super::organizations::{self as orgs, Deleted, Reparent};
use super::{Caller, Error, Result, Services, users};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::OrganizationId;
use crate::domain::organization::Organization;
use crate::domain::permissions::Permission;
use crate::domain::user::User;
use crate::jobs::{Job, Kind, Outcome, Step};
use chrono::Utc;
use serde::{Deserialize, Serialize};

/// Memberships one step removes.
const STEP_USERS: i32 = 50;
/// Times one person is read again when they changed between the read and the write.
const RETRIES: usize = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeletionInput {
    pub organization: OrganizationId,
    pub children_to: Reparent,
    pub memo: Option<String>,
}

/// Nothing to remember: each step starts from whoever is still a member.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeletionCheckpoint {}

/// Start the job (the children's destination is already checked).
pub(crate) async fn start(
    s: &Services,
    caller: &Caller,
    org: &Organization,
    children_to: &Reparent,
    memo: Option<String>,
) -> Result<Job> {
    caller.require(Permission::UsersManage)?;
    let input = DeletionInput { organization: org.id, children_to: children_to.clone(), memo };
    let input = serde_json::to_value(input).map_err(|e| Error::Internal(e.to_string()))?;
    let mut job = Job::new(Kind::DeleteOrganization, Some(caller.account_id()), input, Utc::now());
    job.created_by = Some(caller.actor());
    let audit = AuditEntry::new(
        caller.actor(),
        "organization.deletion_started",
        "organization",
        org.id,
        serde_json::json!({ "job_id": job.id, "members": org.members }),
    );
    s.store.create_job_logged(&job, &audit).await?;
    Ok(job)
}

/// One step: take the next members out; with none left, delete the organization.
pub async fn step(s: &Services, job: &Job, at: DeletionCheckpoint) -> Result<Step<DeletionCheckpoint>> {
    let input: DeletionInput = job.input_as()?;
    let caller = super::caller::starter(s, job).await?;
    caller.require(Permission::OrganizationsManage)?;
    caller.require(Permission::UsersManage)?;
    let (a, org) = (caller.account_id(), input.organization);
    let (page, _) = s.store.organization_member_page(a, org, None, None, STEP_USERS).await?;
    if page.is_empty() {
        let id = org.to_string();
        return match orgs::delete(s, &caller, &id, input.children_to, input.memo, false).await {
            // Gone already: deleted by this job's last step before a crash, or by someone else.
            Ok(Deleted::Now) | Err(Error::NotFound(_)) => Ok(Step::to(None, Vec::new(), Vec::new())),
            // Someone joined since the page was read: another round.
            Ok(Deleted::Later(_)) | Err(Error::Conflict { code: "organization_has_members", .. }) => {
                Ok(Step::to(Some(at), Vec::new(), Vec::new()))
            }
            Err(e) => Err(e),
        };
    }
    // The page's people in one read; only one who changed meanwhile is read again.
    let people = s.store.get_users(a, &page.iter().map(|m| m.user_id).collect::<Vec<_>>()).await?;
    let mut outcomes = Vec::with_capacity(people.len());
    for person in people {
        if let Some(user) = remove(s, &caller, org, person).await? {
            let detail =
                serde_json::json!({ "user_id": user.id, "email": user.primary_email().map(|e| e.as_str().to_owned()) });
            outcomes.push(Outcome { outcome: "removed", detail });
        }
    }
    if outcomes.is_empty() {
        // Listed members none of whom is one: the list and the people disagree.
        return Err(Error::Internal(format!("organization {org} lists members who are not in it")));
    }
    let removed = outcomes.len() as u64;
    Ok(Step::to(Some(at), outcomes, vec![("removed", removed)]))
}

/// Take one person (as read) out of the organization, read again until the write holds.
async fn remove(s: &Services, caller: &Caller, org: OrganizationId, read: User) -> Result<Option<User>> {
    let (id, mut read) = (read.id, Some(read));
    let mut last_error = None;
    for _ in 0..RETRIES {
        let before = match read.take() {
            Some(u) => u,
            None => match s.store.get_user(caller.account_id(), id).await? {
                Some(u) => u,
                None => return Ok(None),
            },
        };
        let mut after = before.clone();
        if !after.leave(org) {
            return Ok(None);
        }
        match users::write(s, caller, &before, after, "user.organization_left", None).await {
            Ok(u) => return Ok(Some(u)),
            Err(e @ Error::Conflict { code: "user_changed", .. }) => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Internal("removing a member: retries".into())))
}
