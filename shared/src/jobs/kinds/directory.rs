//! A directory connection's runs (`service::directory_sync`) and its schedule
//! (`service::directories::scheduled`).
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

/// Deleted in pages until none is left: a step done again deletes what is still there.
pub(crate) struct ForgetDirectory;

impl Work for ForgetDirectory {
    type Checkpoint = ();

    async fn step(s: &Services, job: &Job, _at: ()) -> Result<Step<()>> {
        crate::service::directories::forget_step(s, job).await
    }
}

pub(crate) struct DirectorySchedule;

impl Work for DirectorySchedule {
    type Checkpoint = ();

    async fn step(s: &Services, job: &Job, _at: ()) -> Result<Step<()>> {
        crate::service::directories::scheduled(s, job).await
    }
}
