use super::{Error, Result};
use crate::domain::account::Account;
use crate::domain::api_key::ApiKey;
use crate::domain::audit::Actor;
use crate::domain::ids::{AccountId, JobId, MemberId, SessionId};
use crate::domain::member::Member;
use crate::domain::permissions::Permission;
use crate::domain::role::Role;

/// Who is calling: a logged-in member, or a machine with an API key.
// One per request and never stored in bulk: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Principal {
    Member {
        member: Member,
        /// The session of a logged-in member; `None` for a job acting for them.
        session: Option<SessionId>,
        role: Role,
    },
    /// A key and what it may do now (its scopes ∩ its creator's current permissions).
    ApiKey { key: ApiKey, scopes: Vec<Permission> },
}

/// The authenticated caller, read fresh for every request so that a role change, deactivation
/// or key revocation takes effect at once. The account comes only from the verified credential.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    pub principal: Principal,
    /// Set when a job acts for the principal: the system log names the job, on their behalf.
    pub job: Option<JobRef>,
}

/// The job a caller's changes are made by.
#[derive(Debug, Clone, Copy)]
pub struct JobRef {
    pub id: JobId,
    pub kind: &'static str,
}

impl Caller {
    pub fn account_id(&self) -> AccountId {
        self.account.id
    }

    pub fn member(&self) -> Option<&Member> {
        match &self.principal {
            Principal::Member { member, .. } => Some(member),
            Principal::ApiKey { .. } => None,
        }
    }

    pub fn member_id(&self) -> Option<MemberId> {
        self.member().map(|m| m.id)
    }

    pub fn session(&self) -> Option<SessionId> {
        match &self.principal {
            Principal::Member { session, .. } => *session,
            Principal::ApiKey { .. } => None,
        }
    }

    /// A member's role, or an API key's scopes.
    pub fn permissions(&self) -> &[Permission] {
        match &self.principal {
            Principal::Member { role, .. } => role.permissions(),
            Principal::ApiKey { scopes, .. } => scopes,
        }
    }

    pub fn require(&self, p: Permission) -> Result<()> {
        if self.permissions().contains(&p) { Ok(()) } else { Err(Error::Forbidden("your role does not allow this")) }
    }

    /// How the caller appears in the system log and in emails.
    pub fn actor(&self) -> Actor {
        let principal = match &self.principal {
            Principal::Member { member, .. } => Actor::Member { id: member.id, name: member.full_name() },
            Principal::ApiKey { key, .. } => Actor::ApiKey { id: key.id, name: key.name.clone() },
        };
        match self.job {
            Some(job) => Actor::Job { id: job.id, job_kind: job.kind.to_owned(), on_behalf_of: Box::new(principal) },
            None => principal,
        }
    }

    /// The acting member's or API key's id.
    pub fn actor_id(&self) -> String {
        match &self.principal {
            Principal::Member { member, .. } => member.id.to_string(),
            Principal::ApiKey { key, .. } => key.id.to_string(),
        }
    }

    pub fn display_name(&self) -> String {
        match &self.principal {
            Principal::Member { member, .. } => member.full_name(),
            Principal::ApiKey { .. } => self.account.company_name.clone(),
        }
    }
}

/// The caller `job` acts as now: `for_job` of its account and starter.
pub async fn starter(s: &super::Services, job: &crate::jobs::Job) -> super::Result<Caller> {
    let (Some(a), Some(by)) = (job.account_id, job.created_by.as_ref()) else {
        return Err(Error::Internal(format!("a {} job needs its account and starter", job.kind.name())));
    };
    for_job(s, a, by, JobRef { id: job.id, kind: job.kind.name() }).await
}

/// The caller a job acts as at this moment: whoever started it, read again now, with only the
/// authority they hold now (a key: its scopes ∩ its creator's role). Refused once they are no
/// longer active, or the key is revoked, or the account is being deleted.
pub async fn for_job(s: &super::Services, account: AccountId, by: &Actor, job: JobRef) -> super::Result<Caller> {
    use crate::domain::account::AccountStatus;
    use crate::domain::member::MemberStatus;
    let gone = |what: &'static str| Error::Forbidden(what);
    // A job started by a job (a directory run's re-map) acts for whoever started the first.
    let mut by = by;
    while let Actor::Job { on_behalf_of, .. } = by {
        by = on_behalf_of.as_ref();
    }
    let (account, principal) = match by {
        Actor::Member { id, .. } => {
            let records = s.store.member_records(account, *id).await?;
            let account = records.0.ok_or(Error::Gone)?;
            let member = records
                .1
                .filter(|m| m.status == MemberStatus::Active)
                .ok_or(gone("the member who started this job is no longer active"))?;
            let role = super::auth::resolve_role(s, &member, None).await?;
            (account, Principal::Member { member, session: None, role })
        }
        Actor::ApiKey { id, .. } => {
            let key =
                s.store.get_api_key(account, *id).await?.ok_or(gone("the API key that started this job is revoked"))?;
            let records = s.store.api_key_records(account, key.id, key.created_by).await?;
            let (account, key) = (records.account.ok_or(Error::Gone)?, records.key.filter(ApiKey::active));
            let key = key.ok_or(gone("the API key that started this job is revoked"))?;
            let creator =
                records.creator.filter(|m| m.status == MemberStatus::Active).ok_or(Error::KeyCreatorInactive)?;
            let role = super::auth::resolve_role(s, &creator, None).await?;
            let scopes = crate::domain::api_key::effective_scopes(&key.scopes, role.permissions());
            (account, Principal::ApiKey { key, scopes })
        }
        Actor::Job { .. } | Actor::System => {
            return Err(Error::Internal("a job with no member or key behind it".into()));
        }
    };
    if account.status == AccountStatus::Deleting {
        return Err(Error::Gone);
    }
    Ok(Caller { account, principal, job: Some(job) })
}
