//! Re-mapping a domain (SPEC §5): after a domain is added to an organization (or removed), the
//! people whose primary address is at it are linked (or unlinked) as if they were new. A preview
//! lists who would change; applying it is a job that reads the domain's people a page at a
//! time, so it resumes where it stopped, and ends with one summary entry in the system log.
use super::users::Lookups;
use super::{Caller, Error, Result, Services, organizations as orgs, paging, users};
use crate::domain::audit::AuditEntry;
use crate::domain::email_domain::EmailDomain;
use crate::domain::ids::{AccountId, OrganizationId};
use crate::domain::permissions::Permission;
use crate::domain::user::{LinkedBy, MAX_ORGANIZATIONS, Membership, OrganizationRole, Remap, User, remap};
use crate::jobs::{Job, Kind, Outcome, Step};
use chrono::Utc;
use serde::{Deserialize, Serialize};

/// Users one step of the job reads.
const STEP_USERS: i32 = 50;
/// Times one user is read again when it changed between the read and the write.
const RETRIES: usize = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemapInput {
    pub organization: OrganizationId,
    pub domain: EmailDomain,
}

/// Where the job is: after this position of the domain's index (`None`: from the start).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RemapCheckpoint {
    pub after: Option<String>,
}

/// One person a re-map changes.
#[derive(Debug, Clone)]
pub struct Planned {
    pub user: User,
    pub change: Remap,
}

/// Where the user's primary address links to.
async fn target(s: &Services, a: AccountId, u: &User, t: &mut Lookups) -> Result<Option<OrganizationId>> {
    match u.primary_email() {
        Some(e) => t.matching(s, a, e).await,
        None => Ok(None),
    }
}

async fn plan(
    s: &Services,
    a: AccountId,
    org: OrganizationId,
    found: Vec<User>,
    t: &mut Lookups,
) -> Result<Vec<Planned>> {
    let mut out = Vec::new();
    for user in found {
        if let Some(change) = remap(&user, org, target(s, a, &user, t).await?) {
            out.push(Planned { user, change });
        }
    }
    Ok(out)
}

async fn organization_and_domain(
    s: &Services,
    caller: &Caller,
    org: &str,
    domain: &str,
) -> Result<(OrganizationId, EmailDomain)> {
    caller.require(Permission::OrganizationsManage)?;
    caller.require(Permission::UsersManage)?;
    let o = orgs::find(s, caller, org).await?;
    Ok((o.id, EmailDomain::parse("domain", domain)?))
}

/// Who a re-map would change: a page of the domain's people (`limit` read), those among them
/// it links or unlinks. A page may list fewer (or none) and still have a next one.
pub async fn preview(
    s: &Services,
    caller: &Caller,
    org: &str,
    domain: &str,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<(Vec<Planned>, Option<String>)> {
    let (o, d) = organization_and_domain(s, caller, org, domain).await?;
    let limit = paging::limit(limit)?;
    let a = caller.account_id();
    let list = format!("remap:{o}:{d}");
    let after = paging::open(s, caller, &list, cursor)?;
    let (found, last) = s.store.users_in_domain(a, &d, after.as_deref(), limit).await?;
    let planned = plan(s, a, o, found, &mut Lookups::default()).await?;
    Ok((planned, paging::sign(s, caller, &list, last)))
}

/// Start the re-map as a job, now.
pub async fn start(s: &Services, caller: &Caller, org: &str, domain: &str) -> Result<Job> {
    let (organization, domain) = organization_and_domain(s, caller, org, domain).await?;
    start_for(s, caller, organization, domain).await
}

/// Start re-mapping a domain just added (by a directory run) when anyone has an address at it.
pub async fn start_if_needed(
    s: &Services,
    caller: &Caller,
    organization: OrganizationId,
    domain: EmailDomain,
) -> Result<()> {
    let (someone, _) = s.store.users_in_domain(caller.account_id(), &domain, None, 1).await?;
    if !someone.is_empty() {
        start_for(s, caller, organization, domain).await?;
    }
    Ok(())
}

async fn start_for(s: &Services, caller: &Caller, organization: OrganizationId, domain: EmailDomain) -> Result<Job> {
    let input = serde_json::to_value(RemapInput { organization, domain: domain.clone() })
        .map_err(|e| Error::Internal(e.to_string()))?;
    let mut job = Job::new(Kind::RemapDomain, Some(caller.account_id()), input, Utc::now());
    job.created_by = Some(caller.actor());
    let audit = AuditEntry::new(
        caller.actor(),
        "organization.remap_started",
        "job",
        job.id,
        serde_json::json!({ "organization_id": organization, "domain": domain }),
    );
    s.store.create_job_logged(&job, &audit).await?;
    Ok(job)
}

/// One step: the next page of the domain's people, each changed with its own entry in the
/// system log; the last step adds the summary.
pub async fn step(s: &Services, job: &Job, at: RemapCheckpoint) -> Result<Step<RemapCheckpoint>> {
    let input: RemapInput = job.input_as()?;
    let caller = super::caller::starter(s, job).await?;
    let a = caller.account_id();
    caller.require(Permission::OrganizationsManage)?;
    caller.require(Permission::UsersManage)?;
    let org = input.organization;
    if s.store.get_organization(a, org).await?.is_none() {
        return Err(Error::NotFound("organization"));
    }
    let (found, last) = s.store.users_in_domain(a, &input.domain, at.after.as_deref(), STEP_USERS).await?;
    let mut targets = Lookups::default();
    let mut outcomes = Vec::new();
    let (mut linked, mut unlinked) = (0, 0);
    for p in plan(s, a, org, found, &mut targets).await? {
        let (outcome, changed) = apply(s, &caller, org, p.user, &mut targets).await?;
        match changed {
            Some(Remap::Link) => linked += 1,
            Some(Remap::Unlink) => unlinked += 1,
            None => {}
        }
        if let Some(o) = outcome {
            outcomes.push(o);
        }
    }
    let counts = vec![("linked", linked), ("unlinked", unlinked)];
    if last.is_none() {
        let total = |k: &str, n: u64| job.progress.get(k).copied().unwrap_or(0) + n;
        if total("linked", linked) + total("unlinked", unlinked) == 0 {
            // Nothing changed: the log has the start, and the job says so.
            return Ok(Step::to(None, outcomes, counts));
        }
        let summary = AuditEntry::new(
            caller.actor(),
            "organization.domain_remapped",
            "job",
            job.id,
            serde_json::json!({
                "organization_id": org, "domain": input.domain,
                "linked": total("linked", linked), "unlinked": total("unlinked", unlinked),
            }),
        );
        s.store.log_audit(a, &summary).await?;
        return Ok(Step::to(None, outcomes, counts));
    }
    Ok(Step::to(Some(RemapCheckpoint { after: last }), outcomes, counts))
}

/// Change one person, read again (the index may lag, and people change meanwhile): the result
/// line, and what was done.
async fn apply(
    s: &Services,
    caller: &Caller,
    org: OrganizationId,
    seen: User,
    targets: &mut Lookups,
) -> Result<(Option<Outcome>, Option<Remap>)> {
    let a = caller.account_id();
    let line = |u: &User, outcome: &'static str| Outcome {
        outcome,
        detail: serde_json::json!({
            "user_id": u.id, "email": u.primary_email().map(|e| e.as_str().to_owned()), "organization_id": org,
        }),
    };
    let mut last_error = None;
    for _ in 0..RETRIES {
        let Some(before) = s.store.get_user(a, seen.id).await? else { return Ok((None, None)) };
        let Some(change) = remap(&before, org, target(s, a, &before, targets).await?) else { return Ok((None, None)) };
        let mut after = before.clone();
        let action = match change {
            Remap::Link if after.memberships.len() >= MAX_ORGANIZATIONS => {
                return Ok((Some(line(&before, "skipped_too_many_organizations")), None));
            }
            Remap::Link => {
                let m = Membership { organization: org, role: OrganizationRole::Member, linked_by: LinkedBy::Domain };
                after.join(m, after.memberships.is_empty());
                "user.organization_joined"
            }
            Remap::Unlink => {
                after.leave(org);
                "user.organization_left"
            }
        };
        match users::write(s, caller, &before, after, action, None).await {
            Ok(u) => {
                let outcome = if change == Remap::Link { "linked" } else { "unlinked" };
                return Ok((Some(line(&u, outcome)), Some(change)));
            }
            Err(e @ Error::Conflict { code: "user_changed", .. }) => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Internal("re-map retries".into())))
}
