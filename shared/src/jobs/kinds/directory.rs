//! A directory connection's run (`service::directory_sync`).
use super::{Step, Work};
use crate::jobs::Job;
use crate::service::directory_sync::{self, SyncCheckpoint};
use crate::service::{Result, Services};

pub(crate) struct DirectorySync;

impl Work for DirectorySync {
    type Checkpoint = SyncCheckpoint;

    async fn step(s: &Services, job: &Job, at: SyncCheckpoint) -> Result<Step<SyncCheckpoint>> {
        directory_sync::step(s, job, at).await
    }
}
