use super::{Error, Result};
use crate::domain::account::Account;
use crate::domain::audit::Actor;
use crate::domain::ids::{AccountId, SessionId};
use crate::domain::member::Member;
use crate::domain::permissions::Permission;

/// The authenticated member behind a request, read fresh for every request so that a role
/// change or deactivation takes effect at once. The account comes only from the verified token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    pub member: Member,
    pub session: SessionId,
}

impl Caller {
    pub fn account_id(&self) -> AccountId {
        self.account.id
    }

    pub fn require(&self, p: Permission) -> Result<()> {
        if self.member.role.allows(p) { Ok(()) } else { Err(Error::Forbidden("your role does not allow this")) }
    }

    pub fn actor(&self) -> Actor {
        Actor::Member { id: self.member.id, name: self.member.full_name() }
    }
}
