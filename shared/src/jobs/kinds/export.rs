//! An export job: a file too large for an answer, written to S3 in parts (`service::exports`).
use super::{Step, Work};
use crate::jobs::Job;
use crate::service::exports::{self, ExportCheckpoint};
use crate::service::{Result, Services};

pub(crate) struct Export;

impl Work for Export {
    type Checkpoint = ExportCheckpoint;

    async fn step(s: &Services, job: &Job, at: ExportCheckpoint) -> Result<Step<ExportCheckpoint>> {
        exports::step(s, job, at).await
    }
}
