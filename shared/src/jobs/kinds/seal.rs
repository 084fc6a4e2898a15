//! Sealing every account's system log, a few accounts per step, round after round.
use super::{Outcome, Step, Work};
use crate::domain::account::AccountStatus;
use crate::domain::ids::{AccountId, JobId};
use crate::jobs::Job;
use crate::service::{Result, Services, sealing};
use serde::{Deserialize, Serialize};

/// The recurring sealing job's fixed id: it exists once, however many runners ensure it.
pub const SEAL_JOB: JobId = JobId::fixed(0x5ea1_0000_0000_0000_0000_0000_0000_0001);

/// Accounts one step seals.
const ACCOUNTS_PER_STEP: i32 = 10;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SealCheckpoint {
    /// The last account sealed this round (accounts go in id order).
    pub after: Option<AccountId>,
}

pub struct Seal;

impl Work for Seal {
    type Checkpoint = SealCheckpoint;

    async fn step(s: &Services, _job: &Job, at: SealCheckpoint) -> Result<Step<SealCheckpoint>> {
        let page = s.store.accounts_after(at.after, ACCOUNTS_PER_STEP).await?;
        // A deleting account's partition is being emptied: writing into it would leave items
        // behind the purge.
        let active: Vec<AccountId> = s
            .store
            .get_accounts(&page)
            .await?
            .into_iter()
            .filter(|x| x.status == AccountStatus::Active)
            .map(|x| x.id)
            .collect();
        let mut outcomes = Vec::new();
        let mut sealed_total = 0;
        for a in page.iter().filter(|a| active.contains(a)) {
            let sealed = sealing::seal_account(s, *a, sealing::margin()).await?;
            sealing::continue_verification(s, *a).await?;
            sealed_total += sealed as u64;
            if sealed > 0 {
                outcomes.push(Outcome {
                    outcome: "sealed",
                    detail: serde_json::json!({ "account_id": a, "entries": sealed }),
                });
            }
        }
        Ok(Step::to(
            page.last().map(|a| SealCheckpoint { after: Some(*a) }),
            outcomes,
            vec![("accounts", page.len() as u64), ("entries_sealed", sealed_total)],
        ))
    }
}
