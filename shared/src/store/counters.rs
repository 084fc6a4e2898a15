//! Small bookkeeping items: fixed-window counters (failed logins, find-web-address requests;
//! one item per subject, expired by TTL) and the scheduled jobs' cursors.
use super::keys::{self, Key};
use super::tx::n;
use super::{Store, StoreError, StoreResult};
use crate::domain::email::Email;
use crate::domain::ids::AccountId;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Window {
    count: u32,
    /// Epoch seconds, so the condition below compares numbers.
    window_start: i64,
    ttl: i64,
}

impl Store {
    /// Events counted for `key` within the current window.
    async fn count_in_window(&self, key: &Key, window: Duration, now: DateTime<Utc>) -> StoreResult<u32> {
        let found = self.get::<Window>(key).await?;
        Ok(found.filter(|f| f.window_start > (now - window).timestamp()).map_or(0, |f| f.count))
    }

    /// Count one event; a window that has passed starts again at one. Returns the new count.
    async fn count_event(&self, key: &Key, window: Duration, now: DateTime<Utc>) -> StoreResult<u32> {
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression("ADD #count :one")
            .condition_expression("window_start > :since")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":since", n((now - window).timestamp()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match counted.map_err(StoreError::from_sdk) {
            Ok(out) => Ok(out
                .attributes
                .and_then(|a| a.get("count").and_then(|c| c.as_n().ok()).and_then(|c| c.parse().ok()))
                .unwrap_or(1)),
            Err(StoreError::Conflict(_)) => {
                let fresh = Window { count: 1, window_start: now.timestamp(), ttl: (now + window).timestamp() };
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(super::to_item(key, &fresh)?))
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                Ok(1)
            }
            Err(e) => Err(e),
        }
    }

    /// Failed logins for this email within the current window.
    pub async fn login_failures(
        &self,
        a: AccountId,
        e: &Email,
        window: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<u32> {
        self.count_in_window(&keys::login_failures(a, e), window, now).await
    }

    pub async fn record_login_failure(
        &self,
        a: AccountId,
        e: &Email,
        window: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.count_event(&keys::login_failures(a, e), window, now).await.map(|_| ())
    }

    /// Count a find-web-address request for an email (known or not); the new count.
    pub async fn record_find_address(&self, e: &Email, window: Duration, now: DateTime<Utc>) -> StoreResult<u32> {
        self.count_event(&keys::find_address_requests(e), window, now).await
    }
}

/// Where a scheduled job that walks every account stopped (global item per job).
#[derive(Serialize, Deserialize)]
struct JobCursor {
    after: Option<AccountId>,
}

impl Store {
    pub async fn job_cursor(&self, job: &str) -> StoreResult<Option<AccountId>> {
        Ok(self.get::<JobCursor>(&keys::job_cursor(job)).await?.and_then(|c| c.after))
    }

    pub async fn set_job_cursor(&self, job: &str, after: Option<AccountId>) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(super::to_item(&keys::job_cursor(job), &JobCursor { after })?))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
