//! The kinds of work. Each is a `Work`: given the job and its checkpoint, do one bounded step.
mod directory;
mod export;
mod invite_rows;
mod people;
mod purge;
mod seal;
mod send_mail;

pub(crate) use directory::{DirectorySchedule, DirectorySync, ForgetDirectory};
pub(crate) use export::Export;
pub(crate) use invite_rows::InviteRows;
pub use invite_rows::{InviteCheckpoint, InviteInput};
pub(crate) use people::{DeleteOrganization, ImportUsers, RemapDomain};
pub(crate) use purge::Purge;
pub use seal::SEAL_JOB;
pub(crate) use seal::Seal;
pub(crate) use send_mail::SendMail;

use super::Job;
use crate::service::{Result, Services};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What one step did.
pub struct Step<C> {
    /// Where the next step starts; `None` when the work is done.
    pub next: Option<C>,
    /// What happened to each item the step handled, in order (numbered by the runner).
    pub outcomes: Vec<Outcome>,
    /// Counts to add to the job's progress.
    pub counts: Vec<(&'static str, u64)>,
    /// The step already wrote the checkpoint `next` and these counts with its own transaction
    /// (`Job::advanced`), so its work and its checkpoint committed together.
    pub saved: bool,
    /// Come back no earlier than this (a service is down, a limit is reached): the job is
    /// released until then.
    pub wait: Option<chrono::DateTime<chrono::Utc>>,
    /// Stop at `next` in `awaiting_approval`: a person approves (it goes on) or rejects (it is
    /// cancelled) before anything more is done.
    pub hold: bool,
}

impl<C> Step<C> {
    /// A step that continues at `next` (or finishes, with `None`), reporting `outcomes`.
    pub fn to(next: Option<C>, outcomes: Vec<Outcome>, counts: Vec<(&'static str, u64)>) -> Self {
        Self { next, outcomes, counts, saved: false, wait: None, hold: false }
    }
}

/// One item's line in the job's result log.
pub struct Outcome {
    pub outcome: &'static str,
    pub detail: serde_json::Value,
}

pub trait Work {
    /// Where the work is between steps; `Default` before the first.
    type Checkpoint: Serialize + DeserializeOwned + Default + Send;

    /// One step, short enough to finish well inside a runner's margin. A step may be done again
    /// from the same checkpoint (after a crash before the checkpoint was written): what it
    /// writes must come out the same.
    fn step(
        s: &Services,
        job: &Job,
        at: Self::Checkpoint,
    ) -> impl std::future::Future<Output = Result<Step<Self::Checkpoint>>> + Send;
}
