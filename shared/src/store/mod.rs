//! DynamoDB, single-table design. Nothing outside this module builds a key or touches
//! `AttributeValue`; the store has no rules about content — services enforce them.
mod accounts;
mod agent_ids;
mod api_keys;
mod audit;
mod counters;
mod custom_fields;
mod digests;
mod directories;
mod error;
mod groups;
mod idempotency;
mod invitations;
mod jobs;
pub mod keys;
mod limits;
mod links;
mod members;
mod organizations;
mod purge;
mod records;
mod roles;
pub mod schema;
mod sessions;
mod stats;
mod tx;
mod usergroups;
mod users;

pub use accounts::{ACCOUNT_CHANGED, StoredImage, WEB_ADDRESS_TAKEN};
pub use agent_ids::{AGENT_ID_TAKEN, Versioned};
pub use api_keys::ApiKeyRecords;
pub use audit::AuditFilter;
pub use counters::{Admission, Admitted, InvitationAdmission};
pub use custom_fields::{CUSTOM_FIELD_CHANGED, CUSTOM_FIELD_NAME_TAKEN};
pub use digests::{CompleteVerification, DIGEST_EXISTS, VerificationState, Walk};
pub use directories::{DIRECTORY_BUSY, DIRECTORY_CHANGED, EntryState, OrganizationEntryState, RunMark};
pub use error::{StoreError, StoreResult};
pub use groups::{ASSIGNMENT_EXISTS, GROUP_CHANGED, GROUP_NAME_TAKEN, MemberChange, TURN_TAKEN};
pub use idempotency::{Answer, Claim, Scope};
pub use invitations::{INVITATION_ACTIONS, INVITATION_CHANGED, InvitationByToken, NewInvitations};
pub use jobs::{JOB_EXISTS, JOB_LOST, JOB_NOT_ACTIVE, JobResult, PageNote, ResultPage};
pub(crate) use limits::FILTERED_READS;
pub use members::{CallerRecords, MemberFilter, MemberPage};
pub use organizations::{DOMAIN_TAKEN, ORGANIZATION_CHANGED, ORGANIZATION_NAME_TAKEN, Placed, TreeChange};
pub use purge::Tombstone;
pub use records::{EMAIL_TAKEN, MEMBER_CHANGED, ROTATION_CHANGED, RotationChange};
pub use roles::{Move, ROLE_CHANGED, ROLE_IN_USE, ROLE_NAME_TAKEN, ROLE_NOT_FOUND};
pub use sessions::{ACCOUNT_NOT_ACTIVE, Session};
pub use stats::MemberCounts;
pub use usergroups::{HOLDER_CHANGED, Holder, USERGROUP_CHANGED, USERGROUP_GONE, USERGROUP_NAME_TAKEN};
pub use users::{
    ORGANIZATION_GONE, OrgMember, USER_CHANGED, USER_EMAIL_TAKEN, USER_EXTERNAL_ID_TAKEN, UserWrite, user_records,
};

use crate::domain::ids::AccountId;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One cheap read during init so the first request does not pay for the connection.
    pub async fn warm_up(&self) {
        let _ = self.get_raw(&keys::Key::new("WARMUP".into(), "WARMUP".into())).await;
    }

    async fn get_raw(&self, key: &keys::Key) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item)
    }

    async fn get<T: DeserializeOwned>(&self, key: &keys::Key) -> StoreResult<Option<T>> {
        self.get_raw(key).await?.map(from_item).transpose()
    }

    /// Several items of any partitions: one round trip per 100 keys (DynamoDB's limit, which
    /// moto does not enforce), the chunks side by side; unprocessed keys are asked again with
    /// backoff. Missing items are absent from the answer, and a key asked twice answers once.
    async fn batch_get(&self, wanted: &[&keys::Key]) -> StoreResult<Vec<Item>> {
        // DynamoDB refuses a request that names one key twice.
        let mut unique: Vec<&keys::Key> = Vec::with_capacity(wanted.len());
        for k in wanted {
            if !unique.contains(k) {
                unique.push(k);
            }
        }
        let chunks = limits::chunks(&unique, limits::BATCH_GET_MAX);
        let answers = futures::future::try_join_all(chunks.into_iter().map(|c| self.batch_get_chunk(c))).await?;
        Ok(answers.into_iter().flatten().collect())
    }

    async fn batch_get_chunk(&self, chunk: &[&keys::Key]) -> StoreResult<Vec<Item>> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut pending: Vec<Item> = chunk.iter().map(|k| k.to_item()).collect();
        let mut found = Vec::new();
        for attempt in 0..limits::RETRIES {
            if pending.is_empty() {
                return Ok(found);
            }
            if attempt > 0 {
                tokio::time::sleep(limits::backoff(attempt)).await;
            }
            let request = KeysAndAttributes::builder()
                .consistent_read(true)
                .set_keys(Some(std::mem::take(&mut pending)))
                .build()
                .map_err(StoreError::build)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            found.extend(out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default());
            pending = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(found)
        } else {
            Err(StoreError::Unavailable("batch read still had unprocessed keys after retries".into()))
        }
    }

    /// One BatchWriteItem (at most 25 requests, DynamoDB's limit: callers chunk), asking again
    /// with backoff for what DynamoDB left unprocessed.
    /// Delete these items, 25 per BatchWriteItem.
    async fn delete_keys(&self, keys: &[keys::Key]) -> StoreResult<()> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        for chunk in limits::chunks(keys, limits::BATCH_WRITE_MAX) {
            let pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(k.to_item()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(StoreError::build)
                })
                .collect::<StoreResult<_>>()?;
            self.write_batch(pending).await?;
        }
        Ok(())
    }

    async fn write_batch(&self, mut pending: Vec<aws_sdk_dynamodb::types::WriteRequest>) -> StoreResult<()> {
        for attempt in 0..limits::RETRIES {
            if attempt > 0 {
                tokio::time::sleep(limits::backoff(attempt)).await;
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            pending = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
            if pending.is_empty() {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable("writes stayed unprocessed after retries".into()))
    }

    /// A query over one kind of item in the account (sort keys starting with `prefix`).
    fn prefix_query(
        &self,
        a: AccountId,
        prefix: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.partition_prefix_query(keys::account_pk(a), prefix)
    }

    /// The same over any partition (Roster's own jobs live outside accounts).
    fn partition_prefix_query(
        &self,
        pk: String,
        prefix: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
    }

    /// A query over the account's sort keys from `low` to `high` (both included).
    fn range_query(
        &self,
        a: AccountId,
        low: &str,
        high: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::account_pk(a)))
            .expression_attribute_values(":low", AttributeValue::S(low.to_owned()))
            .expression_attribute_values(":high", AttributeValue::S(high.to_owned()))
    }

    /// Every item of one kind in the account (small collections: keys, roles), oldest first.
    async fn query_prefix<T: DeserializeOwned>(&self, a: AccountId, prefix: &str) -> StoreResult<Vec<T>> {
        self.query_all(keys::account_pk(a), prefix).await
    }

    /// Every item of one kind in a partition, in sort-key order, page after page.
    async fn query_all<T: DeserializeOwned>(&self, pk: String, prefix: &str) -> StoreResult<Vec<T>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .partition_prefix_query(pk.clone(), prefix)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in out.items.unwrap_or_default() {
                all.push(from_item(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(all);
            }
        }
    }
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The item as the store writes it: the value's attributes and the key (fixtures use it too).
pub fn to_item<T: serde::Serialize>(key: &keys::Key, value: &T) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.extend(key.to_item());
    Ok(item)
}

/// One attribute's value, for an update expression.
pub(crate) fn to_attribute<T: serde::Serialize>(value: &T) -> StoreResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Pick the item with this sort key out of a batch answer.
pub(crate) fn take_item(items: &mut Vec<Item>, key: &keys::Key) -> Option<Item> {
    let pos = items.iter().position(|i| key.matches(i))?;
    Some(items.swap_remove(pos))
}
