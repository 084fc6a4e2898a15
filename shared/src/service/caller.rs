use super::{Error, Result};
use crate::domain::account::Account;
use crate::domain::api_key::ApiKey;
use crate::domain::audit::Actor;
use crate::domain::ids::{AccountId, MemberId, SessionId};
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
        session: SessionId,
        role: Role,
    },
    /// A key and what it may do now (its scopes ∩ its creator's current permissions).
    ApiKey {
        key: ApiKey,
        scopes: Vec<Permission>,
    },
}

/// The authenticated caller, read fresh for every request so that a role change, deactivation
/// or key revocation takes effect at once. The account comes only from the verified credential.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    pub principal: Principal,
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
            Principal::Member { session, .. } => Some(*session),
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
        match &self.principal {
            Principal::Member { member, .. } => Actor::Member { id: member.id, name: member.full_name() },
            Principal::ApiKey { key, .. } => Actor::ApiKey { id: key.id, name: key.name.clone() },
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
