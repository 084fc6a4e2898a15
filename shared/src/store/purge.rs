//! Account deletion: marking, the purge queue, deleting a partition in resumable chunks, and
//! the tombstone that remains.
use super::accounts::{ACCOUNT_CHANGED, account_item, release_web_address};
use super::jobs::{JOB_EXISTS, job_item};
use super::keys::{self, Key};
use super::limits;
use super::tx::{Condition, Tx, s};
use super::{Store, StoreError, StoreResult};
use crate::domain::account::Account;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::AccountId;
use crate::jobs::Job;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What remains of a deleted account: that it existed, its address and when it went.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tombstone {
    pub account_id: AccountId,
    pub web_address: String,
    pub deletion_requested_at: DateTime<Utc>,
    pub deleted_at: DateTime<Utc>,
}

/// Items one purge step reads (and deletes) at most: keys only, so one query page holds them.
const STEP: i32 = 5000;

impl Store {
    /// Mark the account deleting (every request of its members answers 410 from now on) and
    /// create its purge job, with the audit entry.
    pub async fn request_deletion(
        &self,
        deleting: &Account,
        expected: u64,
        audit: &AuditEntry,
        purge: &Job,
        mail: &[Job],
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        super::jobs::mail_in(&mut tx, mail)?;
        tx.replace_versioned(ACCOUNT_CHANGED, account_item(deleting)?, expected)?;
        tx.create_raw(JOB_EXISTS, job_item(purge)?)?;
        tx.audit(deleting.id, audit)?;
        tx.commit(self).await
    }

    /// Delete up to one step of the account's items (and the global lookups they own),
    /// leaving the account item for last. Returns how many were deleted; 0 means only the
    /// account item is left. Safe to repeat and to run twice at once.
    pub async fn purge_step(&self, a: AccountId) -> StoreResult<usize> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::account_pk(a)))
            .projection_expression("pk, sk, token_hash, superseded, reset_link")
            .limit(STEP)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let account = keys::account(a);
        let mut doomed: Vec<Key> = Vec::new();
        for item in out.items.unwrap_or_default() {
            let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) = (item.get(keys::PK), item.get(keys::SK))
            else {
                continue;
            };
            let key = Key::new(pk.clone(), sk.clone());
            if key == account {
                continue;
            }
            // An invitation owns the global lookups of its link and of every link it replaced.
            if sk.starts_with(keys::INVITATION_PREFIX) {
                let current = item.get("token_hash").into_iter();
                let replaced = item.get("superseded").and_then(|v| v.as_l().ok()).into_iter().flatten();
                for hash in current.chain(replaced).filter_map(|v| v.as_s().ok()) {
                    doomed.push(keys::invitation_token(hash));
                }
            }
            // A member owns the global item of their password-reset link.
            if let Some(AttributeValue::S(hash)) = item.get("reset_link") {
                doomed.push(keys::link(hash));
            }
            doomed.push(key);
        }
        let deleted = doomed.len();
        // Four batches at a time. (A `buffer_unordered` stream here would make the job's future
        // fail rustc's `Send` check when spawned.)
        for group in doomed.chunks(limits::BATCH_WRITE_MAX * 4) {
            let batches: Vec<_> = group.chunks(limits::BATCH_WRITE_MAX).map(|c| self.delete_keys(c)).collect();
            futures::future::try_join_all(batches).await?;
        }
        Ok(deleted)
    }

    /// The last step: the account item and its web address go, the tombstone
    /// comes — together. A conflict means another run finished it first.
    pub async fn finish_purge(&self, account: &Account, tombstone: &Tombstone) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.delete_where(
            ACCOUNT_CHANGED,
            &keys::account(account.id),
            Condition {
                condition: "#status = :deleting",
                values: vec![(":deleting", s("deleting"))],
                names: vec![("#status", "status")],
            },
        )?;
        release_web_address(&mut tx, &account.web_address, account.id)?;
        if let Some(hash) = &account.verification_link {
            tx.delete(&keys::link(hash))?;
        }
        tx.put(&keys::tombstone(account.id), tombstone)?;
        tx.commit(self).await
    }

    pub async fn tombstone(&self, a: AccountId) -> StoreResult<Option<Tombstone>> {
        self.get(&keys::tombstone(a)).await
    }
}
