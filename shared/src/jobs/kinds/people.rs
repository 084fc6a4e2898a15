//! Work on an account's end users and organizations: re-mapping a domain's people
//! (`service::remap`), importing a spreadsheet of users (`service::user_import`), deleting an
//! organization with members (`service::organization_deletion`).
use super::{Step, Work};
use crate::jobs::Job;
use crate::service::organization_deletion::{self, DeletionCheckpoint};
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

pub(crate) struct DeleteOrganization;

impl Work for DeleteOrganization {
    type Checkpoint = DeletionCheckpoint;

    async fn step(s: &Services, job: &Job, at: DeletionCheckpoint) -> Result<Step<DeletionCheckpoint>> {
        organization_deletion::step(s, job, at).await
    }
}
