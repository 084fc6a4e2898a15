//! An invitation job: up to 50,000 rows of a spreadsheet or list (`service::invite_rows`).
use super::{Step, Work};
use crate::jobs::Job;
use crate::service::{Result, Services};
use serde::{Deserialize, Serialize};

pub(crate) struct InviteRows;

/// What the job was given: its rows are stored in chunks beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteInput {
    /// Rows in all.
    pub rows: u64,
    /// The index of each chunk's first row, in order.
    pub chunks: Vec<u64>,
}

/// Where the job is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InviteCheckpoint {
    /// The next row to invite.
    pub next: u64,
    /// Every invited row before this has had its mail sent (or given up on).
    pub mailed: u64,
    /// The first row of the result page that holds row `mailed` (where owed mail is read from).
    pub mailed_page: u64,
    /// Failed attempts in a row at reaching the mail service.
    pub mail_attempts: u32,
}

impl Work for InviteRows {
    type Checkpoint = InviteCheckpoint;

    async fn step(s: &Services, job: &Job, at: InviteCheckpoint) -> Result<Step<InviteCheckpoint>> {
        crate::service::invite_rows::step(s, job, at).await
    }
}
