//! The kinds of work. Each is a `Work`: given the job and its checkpoint, do one bounded step.
mod purge;
mod seal;

pub(crate) use purge::Purge;
pub use seal::SEAL_JOB;
pub(crate) use seal::Seal;

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
