//! Account deletion (SPEC §1): the owner asks, the account is marked at once, and the
//! scheduled purge removes everything in resumable steps, leaving a tombstone.
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;
use crate::domain::account::AccountStatus;
use crate::domain::audit::AuditEntry;
use crate::mail::templates::{Notice, notice};
use crate::store::{ACCOUNT_CHANGED, Tombstone};
use chrono::Utc;
use tokio::time::Instant;

/// `DELETE /v1/account`: the owner repeats the web address and their password.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountDeletion {
    pub web_address: String,
    pub password: String,
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

pub async fn request(s: &Services, caller: &Caller, cmd: AccountDeletion) -> Result<()> {
    let account = &caller.account;
    if cmd.web_address != account.web_address.as_str() {
        let typed = FieldError::new("web_address", "mismatch", "type the account's web address to confirm");
        return Err(Error::NotConfirmed(typed));
    }
    let owner = super::accounts::reconfirmed_owner(caller, cmd.password).await?;
    let mut deleting = account.clone();
    deleting.status = AccountStatus::Deleting;
    deleting.version += 1;
    let mut audit = AuditEntry::new(
        caller.actor(),
        "account.deletion_requested",
        "account",
        account.id,
        serde_json::json!({ "web_address": account.web_address, "company_name": account.company_name }),
    );
    audit.memo = cmd.memo;
    match s.store.request_deletion(&deleting, account.version, &audit).await {
        Ok(()) => {}
        Err(e) if e.is_conflict(ACCOUNT_CHANGED) => {
            return Err(Error::account_changed());
        }
        Err(e) => return Err(e.into()),
    }
    let name = owner.full_name();
    let mail = notice(
        &account.locale(),
        &account.company_name,
        &Notice::AccountDeleted { by: &name, web_address: account.web_address.as_str(), at: audit.at },
    );
    s.mailer.notify(owner.email.as_str(), &mail).await;
    Ok(())
}

#[derive(Debug, Default, serde::Serialize)]
pub struct PurgeReport {
    pub accounts_purged: usize,
    pub items_deleted: usize,
    /// Accounts still queued when the time ran out (the next run resumes them).
    pub accounts_left: usize,
}

/// Purge queued accounts until `deadline`. Every step is safe to interrupt: what is deleted
/// stays deleted, and the next run picks up from what is left.
pub async fn purge(s: &Services, deadline: Instant) -> Result<PurgeReport> {
    let mut report = PurgeReport::default();
    let queue = s.store.purge_queue().await?;
    let queued_count = queue.len();
    for (i, queued) in queue.into_iter().enumerate() {
        let id = &queued.account_id;
        let Some(account) = s.store.get_account(*id).await? else {
            // Finished by another run between its last step and the queue read.
            s.store.dequeue_purge(*id).await?;
            continue;
        };
        if account.status != AccountStatus::Deleting {
            s.store.dequeue_purge(*id).await?;
            continue;
        }
        loop {
            if Instant::now() >= deadline {
                report.accounts_left = queued_count - i;
                return Ok(report);
            }
            let deleted = s.store.purge_step(*id).await?;
            report.items_deleted += deleted;
            if deleted == 0 {
                break;
            }
        }
        let now = Utc::now();
        let tombstone = Tombstone {
            account_id: account.id,
            web_address: account.web_address.to_string(),
            deletion_requested_at: queued.requested_at,
            deleted_at: now,
        };
        match s.store.finish_purge(&account, &tombstone).await {
            Ok(()) => report.accounts_purged += 1,
            Err(e) if e.is_conflict(ACCOUNT_CHANGED) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}
