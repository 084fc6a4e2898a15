use super::tx::Tx;
use super::{Store, StoreResult, keys};
use crate::domain::account::Account;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::member::Member;
use crate::domain::web_address::WebAddress;
use serde::{Deserialize, Serialize};

/// The global item that reserves a web address for one account.
#[derive(Serialize, Deserialize)]
struct WebAddressClaim {
    account_id: AccountId,
}

/// The per-account item that reserves an email for one member.
#[derive(Serialize, Deserialize)]
pub(crate) struct EmailClaim {
    pub member_id: MemberId,
}

/// Guards reported by `StoreError::Conflict` for sign-up.
pub const WEB_ADDRESS_TAKEN: &str = "web_address_taken";
pub const EMAIL_TAKEN: &str = "email_taken";

impl Store {
    /// Sign-up: the account, its web address, its owner and the audit entry, all or nothing.
    pub async fn create_account(&self, account: &Account, owner: &Member, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.create(
            WEB_ADDRESS_TAKEN,
            &keys::web_address(&account.web_address),
            &WebAddressClaim { account_id: account.id },
        )?;
        tx.create("account_exists", &keys::account(account.id), account)?;
        tx.create_raw("member_exists", super::members::member_item(owner)?)?;
        tx.create(EMAIL_TAKEN, &keys::member_email(account.id, &owner.email), &EmailClaim { member_id: owner.id })?;
        tx.audit(account.id, audit)?;
        tx.commit(self).await
    }

    pub async fn account_id_by_web_address(&self, w: &WebAddress) -> StoreResult<Option<AccountId>> {
        Ok(self.get::<WebAddressClaim>(&keys::web_address(w)).await?.map(|c| c.account_id))
    }

    pub async fn get_account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.get(&keys::account(id)).await
    }
}
