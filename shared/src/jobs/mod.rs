//! Background work: one platform every kind of job plugs into. A job is an item (`job`) with a
//! typed input and checkpoint; a kind (`kinds`) does one bounded step at a time; the runner
//! (`runner`) claims due jobs under a lease, checkpoints after every step, stops well before its
//! deadline, retries failed steps with backoff and records per-item results. One scheduled
//! function drives it in AWS; the local server's `--jobs-every` drives the same code.
pub mod fault;
mod job;
mod kinds;
mod runner;

pub use job::{Approval, Job, Kind, LEASE, MAX_ATTEMPTS, RESULTS_KEPT, Status, retry_delay};
pub use kinds::{InviteCheckpoint, InviteInput, Outcome, SEAL_JOB, Step, Work};
pub use runner::{RUNNER, RunReport, run_due, run_one, run_one_step};
