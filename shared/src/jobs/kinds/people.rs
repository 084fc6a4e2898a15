//! Work on an account's end users: re-mapping a domain's people (`service::remap`) and
//! importing a spreadsheet of users (`service::user_import`).
use super::{Step, Work};
use crate::jobs::Job;
use crate::service::remap::{self, RemapCheckpoint};
use crate::service::user_import::{self, ImportCheckpoint};
use crate::service::{Result, Services};

pub(crate) struct RemapDomain;

impl Work for RemapDomain {
    type Checkpoint = RemapCheckpoint;

    async fn step(s: &Services, job: &Job, at: RemapCheckpoint) -> Result<Step<RemapCheckpoint>> {
        remap::step(s, job, at).await
    }
}

pub(crate) struct ImportUsers;

impl Work for ImportUsers {
    type Checkpoint = ImportCheckpoint;

    async fn step(s: &Services, job: &Job, at: ImportCheckpoint) -> Result<Step<ImportCheckpoint>> {
        user_import::step(s, job, at).await
    }
}
