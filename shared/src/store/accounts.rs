use super::records::{EmailClaim, claim_email, email_index};
use super::tx::{Condition, Tx, s};
use super::{Item, Store, StoreResult, keys, to_item};
use crate::domain::account::Account;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::member::Member;
use crate::domain::settings::ImageSlot;
use crate::domain::web_address::WebAddress;
use crate::jobs::Job;
use serde::{Deserialize, Serialize};

/// The global item that reserves a web address for one account.
#[derive(Serialize, Deserialize)]
struct WebAddressClaim {
    account_id: AccountId,
}

/// Free a web address, only if it is still this account's.
pub(crate) fn release_web_address(tx: &mut Tx, w: &WebAddress, a: AccountId) -> StoreResult<()> {
    let change = Condition { condition: "account_id = :a", values: vec![(":a", s(a.to_string()))], names: vec![] };
    tx.delete_where(ACCOUNT_CHANGED, &keys::web_address(w), change)
}

/// Guards reported by `StoreError::Conflict` for sign-up.
pub const WEB_ADDRESS_TAKEN: &str = "web_address_taken";
/// The account item changed since it was read.
pub const ACCOUNT_CHANGED: &str = "account_changed";

/// The `gsi1` partition listing every account (for the scheduled jobs; never a scan).
pub const ACCOUNTS_INDEX: &str = "ACCOUNTS";

/// The account as stored: listed in the accounts index.
pub(crate) fn account_item(a: &Account) -> StoreResult<Item> {
    let mut item = to_item(&keys::account(a.id), a)?;
    item.insert("gsi1pk".into(), s(ACCOUNTS_INDEX));
    item.insert("gsi1sk".into(), s(a.id.to_string()));
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
    /// Sign-up: the account, its web address, its owner, the link that verifies the owner's
    /// email and the audit entry, all or nothing.
    pub async fn create_account(
        &self,
        account: &Account,
        owner: &Member,
        (token_hash, verification): (&str, &crate::domain::link::Link),
        audit: &AuditEntry,
        mail: &[Job],
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        super::jobs::mail_in(&mut tx, mail)?;
        super::links::put_link(&mut tx, token_hash, verification)?;
        tx.create(
            WEB_ADDRESS_TAKEN,
            &keys::web_address(&account.web_address),
            &WebAddressClaim { account_id: account.id },
        )?;
        tx.create_raw("account_exists", account_item(account)?)?;
        tx.create_raw("member_exists", super::records::member_item(owner)?)?;
        claim_email(&mut tx, account.id, &owner.email, owner.id)?;
        super::stats::count(&mut tx, account.id, &[(None, Some(super::stats::state(owner)))])?;
        tx.audit(account.id, audit)?;
        tx.commit(self).await
    }

    pub async fn account_id_by_web_address(&self, w: &WebAddress) -> StoreResult<Option<AccountId>> {
        Ok(self.get::<WebAddressClaim>(&keys::web_address(w)).await?.map(|c| c.account_id))
    }

    pub async fn get_account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.get(&keys::account(id)).await
    }

    /// Several accounts in one batch read (missing ones are absent).
    pub async fn get_accounts(&self, ids: &[AccountId]) -> StoreResult<Vec<Account>> {
        let wanted: Vec<_> = ids.iter().map(|a| keys::account(*a)).collect();
        self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?.into_iter().map(super::from_item).collect()
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

    /// The one allowed change of web address: the old claim goes (only if still this
    /// account's), the new one must be free, the account must not have changed since read.
    pub async fn change_web_address(
        &self,
        old: &WebAddress,
        account: &Account,
        expected: u64,
        audit: &AuditEntry,
        mail: &[Job],
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        super::jobs::mail_in(&mut tx, mail)?;
        release_web_address(&mut tx, old, account.id)?;
        tx.create(
            WEB_ADDRESS_TAKEN,
            &keys::web_address(&account.web_address),
            &WebAddressClaim { account_id: account.id },
        )?;
        tx.replace_versioned(ACCOUNT_CHANGED, account_item(account)?, expected)?;
        tx.audit(account.id, audit)?;
        tx.commit(self).await
    }

    /// Every (account, member) where this email is claimed, read from the email's index
    /// partition (at most `limit`).
    pub async fn memberships_of(
        &self,
        e: &crate::domain::email::Email,
        limit: usize,
    ) -> StoreResult<Vec<(Account, Member)>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :e")
            .expression_attribute_values(":e", s(email_index(e)))
            .limit(limit as i32)
            .send()
            .await
            .map_err(super::StoreError::from_sdk)?;
        let claims: Vec<EmailClaim> =
            out.items.unwrap_or_default().into_iter().map(super::from_item).collect::<StoreResult<_>>()?;
        let pairs: Vec<(keys::Key, keys::Key)> = claims
            .iter()
            .filter_map(|c| Some((keys::account(c.account_id?), keys::member(c.account_id?, c.member_id))))
            .collect();
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<&keys::Key> = pairs.iter().flat_map(|(a, m)| [a, m]).collect();
        let mut items = self.batch_get(&wanted).await?;
        let mut found = Vec::new();
        for (ka, km) in &pairs {
            let account = super::take_item(&mut items, ka).map(super::from_item).transpose()?;
            let member = super::take_item(&mut items, km).map(super::from_item).transpose()?;
            if let (Some(a), Some(m)) = (account, member) {
                found.push((a, m));
            }
        }
        Ok(found)
    }

    /// An account and one of its members, in one round trip.
    pub async fn account_and_member(
        &self,
        a: AccountId,
        m: MemberId,
    ) -> StoreResult<(Option<Account>, Option<Member>)> {
        let (ka, km) = (keys::account(a), keys::member(a, m));
        let mut items = self.batch_get(&[&ka, &km]).await?;
        Ok((
            super::take_item(&mut items, &ka).map(super::from_item).transpose()?,
            super::take_item(&mut items, &km).map(super::from_item).transpose()?,
        ))
    }

    pub async fn design_image(&self, a: AccountId, slot: ImageSlot) -> StoreResult<Option<StoredImage>> {
        self.get(&keys::design_image(a, slot.as_str())).await
    }
}
