//! Idempotency keys: the first request with a key claims it; the answer is kept 24 hours and
//! replayed to every repeat with the same request.
use super::keys;
use super::tx::s;
use super::{Store, StoreError, StoreResult, to_item};
use crate::domain::ids::AccountId;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long an answer is replayed (and a key cannot be used for another request).
pub const KEPT: Duration = Duration::hours(24);
/// How long a claim stands without an answer: a request that died (a crashed function) frees
/// its key after this. Far longer than any request may take (API Gateway's 29 s).
pub const CLAIM: Duration = Duration::seconds(60);

/// Whose keys: an account's (every authenticated request), or a client's (sign-up).
#[derive(Debug, Clone)]
pub enum Scope {
    Account(AccountId),
    /// The client's address, hashed.
    Client(String),
}

/// A kept answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub status: u16,
    /// The headers worth replaying (content type, location, ETag), name and value.
    pub headers: Vec<(String, String)>,
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// Times are epoch milliseconds: conditions compare numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    request_hash: String,
    /// Absent while the first request is still running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answer: Option<Answer>,
    claimed_until_ms: i64,
    expires_ms: i64,
    /// Epoch seconds for DynamoDB's TTL (cleanup only: `expires_ms` decides).
    ttl: i64,
}

impl Record {
    fn new(request_hash: &str, answer: Option<Answer>, claim: Duration) -> Self {
        let now = Utc::now();
        Self {
            request_hash: request_hash.to_owned(),
            answer,
            claimed_until_ms: (now + claim).timestamp_millis(),
            expires_ms: (now + KEPT).timestamp_millis(),
            ttl: (now + KEPT).timestamp(),
        }
    }
}

/// What a request with a key may do.
#[derive(Debug)]
pub enum Claim {
    /// First (or the earlier claim lapsed): run it, then `keep_answer` or `release`.
    Run,
    /// Answered before: send this again.
    Replay(Answer),
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    pub async fn claim_idempotency_key(&self, scope: &Scope, key_id: &str, request_hash: &str) -> StoreResult<Claim> {
        let k = keys::idempotency(scope, key_id);
        let record = Record::new(request_hash, None, CLAIM);
        // Free: never used, expired (TTL deletes late), or claimed by a request that died.
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&k, &record)?))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_ms < :now \
                 OR (attribute_not_exists(answer) AND claimed_until_ms < :now AND request_hash = :hash)",
            )
            .expression_attribute_values(":now", AttributeValue::N(Utc::now().timestamp_millis().to_string()))
            .expression_attribute_values(":hash", s(request_hash))
            .send()
            .await;
        match put {
            Ok(_) => return Ok(Claim::Run),
            Err(e) => match StoreError::from_sdk(e) {
                StoreError::Conflict(_) => {}
                other => return Err(other),
            },
        }
        let Some(found) = self.get::<Record>(&k).await? else {
            // Released between the two calls: the caller may simply try again.
            return Ok(Claim::InProgress);
        };
        Ok(if found.request_hash != request_hash {
            Claim::Mismatch
        } else {
            match found.answer {
                Some(answer) => Claim::Replay(answer),
                None => Claim::InProgress,
            }
        })
    }

    /// Keep the answer of the request that claimed the key.
    pub async fn keep_idempotent_answer(
        &self,
        scope: &Scope,
        key_id: &str,
        request_hash: &str,
        answer: &Answer,
    ) -> StoreResult<()> {
        let record = Record::new(request_hash, Some(answer.clone()), Duration::zero());
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&keys::idempotency(scope, key_id), &record)?))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Free the key (the request failed in a way worth retrying: a server error, a rate limit).
    pub async fn release_idempotency_key(&self, scope: &Scope, key_id: &str) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::idempotency(scope, key_id).to_item()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
