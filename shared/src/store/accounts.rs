use super::tx::Tx;
use super::{Item, Store, StoreResult, keys, to_item};
use crate::domain::account::Account;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::member::Member;
use crate::domain::settings::ImageSlot;
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
/// The account item changed since it was read.
pub const ACCOUNT_CHANGED: &str = "account_changed";

/// The `gsi1` partition listing every account (for the scheduled jobs; never a scan).
pub const ACCOUNTS_INDEX: &str = "ACCOUNTS";

/// The account as stored: listed in the accounts index.
pub(crate) fn account_item(a: &Account) -> StoreResult<Item> {
    let mut item = to_item(&keys::account(a.id), a)?;
    item.insert("gsi1pk".into(), super::tx::s(ACCOUNTS_INDEX));
    item.insert("gsi1sk".into(), super::tx::s(a.id.to_string()));
    Ok(item)
}

/// An uploaded design image, kept apart from the account item so that reading the account
/// (every request) does not carry it.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredImage {
    pub content_type: String,
    /// A DynamoDB binary attribute.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    pub sha256: String,
}

impl Store {
    /// Sign-up: the account, its web address, its owner and the audit entry, all or nothing.
    pub async fn create_account(&self, account: &Account, owner: &Member, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.create(
            WEB_ADDRESS_TAKEN,
            &keys::web_address(&account.web_address),
            &WebAddressClaim { account_id: account.id },
        )?;
        tx.create_raw("account_exists", account_item(account)?)?;
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

    /// Write settings read at `expected` version, with the design images that come (`Some`) or
    /// go (`None`) and the audit entry.
    pub async fn update_account(
        &self,
        account: &Account,
        expected: u64,
        images: &[(ImageSlot, Option<&StoredImage>)],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.replace_versioned(ACCOUNT_CHANGED, account_item(account)?, expected)?;
        for (slot, image) in images {
            let key = keys::design_image(account.id, slot.as_str());
            match image {
                Some(stored) => tx.put(&key, stored)?,
                None => tx.delete(&key)?,
            }
        }
        tx.audit(account.id, audit)?;
        tx.commit(self).await
    }

    pub async fn design_image(&self, a: AccountId, slot: ImageSlot) -> StoreResult<Option<StoredImage>> {
        self.get(&keys::design_image(a, slot.as_str())).await
    }
}
