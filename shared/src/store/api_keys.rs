use super::tx::{Change, Tx, s};
use super::{Store, StoreError, StoreResult, from_item, keys, take_item};
use crate::domain::account::Account;
use crate::domain::api_key::ApiKey;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, ApiKeyId, MemberId};
use crate::domain::member::Member;
use chrono::{DateTime, Utc};

pub struct ApiKeyRecords {
    pub account: Option<Account>,
    pub key: Option<ApiKey>,
    pub creator: Option<Member>,
}

impl Store {
    pub async fn create_api_key(&self, key: &ApiKey, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.create("api_key_exists", &keys::api_key(key.account_id, key.id), key)?;
        tx.audit(key.account_id, audit)?;
        tx.commit(self).await
    }

    /// The account's keys, oldest first.
    pub async fn list_api_keys(&self, a: AccountId) -> StoreResult<Vec<ApiKey>> {
        self.query_prefix(a, keys::API_KEY_PREFIX).await
    }

    pub async fn get_api_key(&self, a: AccountId, id: ApiKeyId) -> StoreResult<Option<ApiKey>> {
        self.get(&keys::api_key(a, id)).await
    }

    /// The account, the key and its creator behind a presented API key, in one round trip.
    pub async fn api_key_records(&self, a: AccountId, id: ApiKeyId, creator: MemberId) -> StoreResult<ApiKeyRecords> {
        let (ka, kk, km) = (keys::account(a), keys::api_key(a, id), keys::member(a, creator));
        let mut items = self.batch_get(&[&ka, &kk, &km]).await?;
        Ok(ApiKeyRecords {
            account: take_item(&mut items, &ka).map(from_item).transpose()?,
            key: take_item(&mut items, &kk).map(from_item).transpose()?,
            creator: take_item(&mut items, &km).map(from_item).transpose()?,
        })
    }

    pub async fn revoke_api_key(&self, key: &ApiKey, at: DateTime<Utc>, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.update(
            "api_key_revoked",
            &keys::api_key(key.account_id, key.id),
            Change {
                update: "SET revoked_at = :at",
                condition: "attribute_exists(#pk)",
                values: vec![(":at", s(at.to_rfc3339()))],
                names: vec![("#pk", keys::PK)],
            },
        )?;
        tx.audit(key.account_id, audit)?;
        tx.commit(self).await
    }

    /// Usage metadata, not a change of the key: a plain update, no audit entry.
    pub async fn touch_api_key(&self, a: AccountId, id: ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::api_key(a, id).to_item()))
            .update_expression("SET last_used_at = :at")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
