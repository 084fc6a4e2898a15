//! Purging a deleted account: its partition in chunks, then the tombstone.
use super::{Step, Work};
use crate::domain::ids::AccountId;
use crate::jobs::Job;
use crate::service::{Error, Result, Services, deletion};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The account to purge and when its deletion was asked for (for the tombstone).
#[derive(Debug, Serialize, Deserialize)]
pub struct PurgeInput {
    pub account_id: AccountId,
    pub requested_at: DateTime<Utc>,
}

pub struct Purge;

impl Work for Purge {
    /// The partition is its own checkpoint: what is deleted stays deleted.
    type Checkpoint = ();

    async fn step(s: &Services, job: &Job, _: ()) -> Result<Step<()>> {
        let input: PurgeInput =
            serde_json::from_value(job.input.clone()).map_err(|e| Error::Internal(format!("purge input: {e}")))?;
        let deleted = deletion::purge_step(s, input.account_id, input.requested_at).await?;
        Ok(Step::to(deleted.map(|_| ()), Vec::new(), vec![("items_deleted", deleted.unwrap_or(0) as u64)]))
    }
}
