//! Sealing and verifying the system log (SPEC §8). Writers never wait for this: entries are
//! appended by their own transactions, and a scheduled run seals those older than a margin.
use super::{Caller, Error, Result, Services};
use crate::domain::ids::AccountId;
use crate::domain::permissions::Permission;
use crate::domain::seal::{self, ChainPosition, DIGEST_MAX_ENTRIES, Digest, Finding};
use crate::store::{CompleteVerification, DIGEST_EXISTS, Walk};
use chrono::{Duration, Utc};
use serde::Serialize;

/// Entries younger than this are left for the next run: their transactions (which made their
/// ids a little earlier) may still be committing. Far above any function's timeout.
pub fn margin() -> Duration {
    Duration::minutes(5)
}

/// Seal the account's entries made before `now - margin` that no digest holds yet.
/// Returns how many were sealed. Safe to run twice at once: one run's digest wins.
pub async fn seal_account(s: &Services, a: AccountId, margin: Duration) -> Result<usize> {
    let until = Utc::now() - margin;
    let mut last = s.store.last_digest(a).await?;
    let mut sealed = 0;
    loop {
        let after = last.as_ref().and_then(|d| d.last_id().map(str::to_owned));
        let entries = s.store.audit_hashes(a, after.as_deref(), (None, until), Some(DIGEST_MAX_ENTRIES)).await?;
        if entries.is_empty() {
            return Ok(sealed);
        }
        let count = entries.len();
        let digest = Digest::seal((s.keys.audit_key(), s.keys.key_id()), last.as_ref(), entries, Utc::now());
        match s.store.put_digest(a, &digest).await {
            Ok(()) => sealed += count,
            Err(e) if e.is_conflict(DIGEST_EXISTS) => return Ok(sealed),
            Err(e) => return Err(e.into()),
        }
        last = Some(digest);
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// Every digest checked in this answer intact, and every entry they seal as it was sealed.
    pub ok: bool,
    /// Digests checked in this answer.
    pub digests: u64,
    pub sealed_entries: usize,
    /// Entries newer than the last digest (sealed by a coming run); only in the answer that
    /// reaches the end of the chain.
    pub unsealed_entries: Option<usize>,
    /// The first digest or entry that no longer matches.
    pub first_problem: Option<Finding>,
    /// Everything in this answer's range that no longer matches (at most 100).
    pub problems: Vec<Finding>,
    /// More digests to check: ask again with this cursor.
    pub next_cursor: Option<String>,
    /// The last verification of the whole chain the sealing job finished.
    pub last_complete: Option<CompleteVerification>,
}

/// Digests one answer checks at most (each seals up to 1,000 entries).
pub const VERIFY_DIGESTS_PER_CALL: usize = 20;
/// Digests the sealing job checks per account and run.
const VERIFY_DIGESTS_PER_RUN: usize = 50;

/// A stretch of the chain checked.
struct Checked {
    problems: Vec<Finding>,
    digests: u64,
    sealed_entries: usize,
    /// Where the next stretch starts; `None` when the chain ended here.
    next: Option<ChainPosition>,
    end: ChainPosition,
}

/// Check up to `max` digests from `from`: each with the key version that sealed it (a version
/// Secrets Manager no longer has cannot vouch for anything, so that digest counts as altered),
/// and every entry in its range against what it sealed.
async fn check_stretch(s: &Services, a: AccountId, from: ChainPosition, max: usize) -> Result<Checked> {
    let everything = Utc::now() + Duration::days(1);
    let mut digests = s.store.digests_from(a, from.next_seq, max + 1).await?;
    let more = digests.len() > max;
    digests.truncate(max);
    let (mut problems, mut pos, mut sealed_entries) = (Vec::new(), from, 0);
    for d in &digests {
        let key = s.keys.audit_key_of(d.key_id.as_deref()).await?.unwrap_or_default();
        problems.extend(seal::check_digest(&key, pos.next_seq, &pos.prev_mac, d));
        let stored = match d.last_id() {
            Some(last) => s.store.audit_hashes(a, pos.after.as_deref(), (Some(last), everything), None).await?,
            None => Vec::new(),
        };
        problems.extend(seal::compare(d.seq, &d.entries, &stored));
        sealed_entries += d.entries.len();
        pos = pos.past(d);
    }
    Ok(Checked { problems, digests: digests.len() as u64, sealed_entries, next: more.then(|| pos.clone()), end: pos })
}

/// Recompute the chain and compare every sealed entry with what is stored now, a bounded
/// stretch per call (`cursor` continues where the last answer stopped).
pub async fn verify(s: &Services, caller: &Caller, cursor: Option<&str>) -> Result<Verification> {
    caller.require(Permission::AuditRead)?;
    let a = caller.account_id();
    let from = match cursor {
        Some(c) => {
            let opened = s.keys.open_cursor(a, c).ok_or_else(Error::invalid_cursor)?;
            serde_json::from_str(&opened).map_err(|_| Error::invalid_cursor())?
        }
        None => ChainPosition::default(),
    };
    let (checked, state) = tokio::try_join!(check_stretch(s, a, from, VERIFY_DIGESTS_PER_CALL), async {
        Ok(s.store.verification_state(a).await?)
    })?;
    let unsealed_entries = match &checked.next {
        Some(_) => None,
        None => Some(
            s.store
                .audit_hashes(a, checked.end.after.as_deref(), (None, Utc::now() + Duration::days(1)), None)
                .await?
                .len(),
        ),
    };
    let next_cursor = match &checked.next {
        Some(p) => Some(s.keys.sign_cursor(a, &serde_json::to_string(p).map_err(|e| Error::Internal(e.to_string()))?)),
        None => None,
    };
    let mut problems = checked.problems;
    problems.truncate(100);
    Ok(Verification {
        ok: problems.is_empty(),
        digests: checked.digests,
        sealed_entries: checked.sealed_entries,
        unsealed_entries,
        first_problem: problems.first().cloned(),
        problems,
        next_cursor,
        last_complete: state.last_complete,
    })
}

/// The sealing job's share of verification: walk a few more digests of the account's chain;
/// at the end, record the result as the last complete verification and start over next time.
pub async fn continue_verification(s: &Services, a: AccountId) -> Result<()> {
    let mut state = s.store.verification_state(a).await?;
    let mut walk = state.walk.take().unwrap_or_else(|| Walk {
        started_at: Utc::now(),
        position: ChainPosition::default(),
        digests: 0,
        sealed_entries: 0,
        problems: 0,
        first_problem: None,
    });
    let checked = check_stretch(s, a, walk.position.clone(), VERIFY_DIGESTS_PER_RUN).await?;
    walk.digests += checked.digests;
    walk.sealed_entries += checked.sealed_entries as u64;
    walk.problems += checked.problems.len() as u64;
    walk.first_problem = walk.first_problem.or_else(|| checked.problems.first().cloned());
    match checked.next {
        Some(next) => {
            walk.position = next;
            state.walk = Some(walk);
        }
        None => {
            state.last_complete = Some(CompleteVerification {
                started_at: walk.started_at,
                finished_at: Utc::now(),
                ok: walk.problems == 0,
                digests: walk.digests,
                sealed_entries: walk.sealed_entries,
                problems: walk.problems,
                first_problem: walk.first_problem,
            });
        }
    }
    Ok(s.store.set_verification_state(a, &state).await?)
}
