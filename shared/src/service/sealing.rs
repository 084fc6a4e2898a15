//! Sealing and verifying the system log (SPEC §8). Writers never wait for this: entries are
//! appended by their own transactions, and a scheduled run seals those older than a margin.
use super::{Caller, Result, Services};
use crate::domain::ids::AccountId;
use crate::domain::permissions::Permission;
use crate::domain::seal::{self, DIGEST_MAX_ENTRIES, Digest, Finding};
use crate::store::DIGEST_EXISTS;
use chrono::{Duration, Utc};
use serde::Serialize;
use tokio::time::Instant;

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

#[derive(Debug, Default, Serialize)]
pub struct SealReport {
    pub accounts: usize,
    pub entries_sealed: usize,
    /// The run ended at its deadline before reaching every account.
    pub unfinished: bool,
}

/// The scheduled job: every account, in id order, resuming where the last run stopped.
pub async fn seal_all(s: &Services, deadline: Instant) -> Result<SealReport> {
    let mut report = SealReport::default();
    let mut after = s.store.job_cursor("seal-audit").await?;
    loop {
        let page = s.store.accounts_after(after, 100).await?;
        if page.is_empty() {
            s.store.set_job_cursor("seal-audit", None).await?;
            return Ok(report);
        }
        for a in page {
            if Instant::now() >= deadline {
                s.store.set_job_cursor("seal-audit", after).await?;
                report.unfinished = true;
                return Ok(report);
            }
            report.entries_sealed += seal_account(s, a, margin()).await?;
            report.accounts += 1;
            after = Some(a);
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// Every digest intact and every sealed entry as it was sealed.
    pub ok: bool,
    pub digests: u64,
    pub sealed_entries: usize,
    /// Entries newer than the last digest (sealed by a coming run).
    pub unsealed_entries: usize,
    /// The first digest or entry that no longer matches.
    pub first_problem: Option<Finding>,
    /// Everything that no longer matches (at most 100).
    pub problems: Vec<Finding>,
}

/// Recompute the chain and compare every sealed entry with what is stored now.
pub async fn verify(s: &Services, caller: &Caller) -> Result<Verification> {
    caller.require(Permission::AuditRead)?;
    let a = caller.account_id();
    let everything = Utc::now() + Duration::days(1);
    let (mut problems, mut prev_mac, mut after, mut sealed_entries) = (Vec::new(), String::new(), None, 0);
    let digests = s.store.digests(a).await?;
    for (i, d) in digests.iter().enumerate() {
        // Each digest is checked with the key version that sealed it; a version Secrets Manager
        // no longer has cannot vouch for anything, so that digest counts as altered.
        let key = s.keys.audit_key_of(d.key_id.as_deref()).await?.unwrap_or_default();
        problems.extend(seal::check_digest(&key, i as u64 + 1, &prev_mac, d));
        let last = d.last_id().map(str::to_owned);
        let stored = match &last {
            Some(l) => s.store.audit_hashes(a, after.as_deref(), (Some(l), everything), None).await?,
            None => Vec::new(),
        };
        problems.extend(seal::compare(d.seq, &d.entries, &stored));
        sealed_entries += d.entries.len();
        prev_mac = d.mac.clone();
        after = last.or(after);
    }
    let unsealed_entries = s.store.audit_hashes(a, after.as_deref(), (None, everything), None).await?.len();
    problems.truncate(100);
    Ok(Verification {
        ok: problems.is_empty(),
        digests: digests.len() as u64,
        sealed_entries,
        unsealed_entries,
        first_problem: problems.first().cloned(),
        problems,
    })
}
