//! Account deletion (SPEC §1): the owner asks, the account is marked at once, and the
//! scheduled purge removes everything in resumable steps, leaving a tombstone.
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;
use crate::domain::account::AccountStatus;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::AccountId;
use crate::jobs::{Job, Kind};
use crate::mail::templates::{Notice, notice};
use crate::store::{ACCOUNT_CHANGED, Tombstone};
use chrono::{DateTime, Utc};

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
    let purge = Job::new(
        Kind::PurgeAccount,
        None,
        serde_json::json!({ "account_id": account.id, "requested_at": audit.at }),
        audit.at,
    );
    let name = owner.full_name();
    let notice = notice(
        &account.locale(),
        &account.company_name,
        &Notice::AccountDeleted { by: &name, web_address: account.web_address.as_str(), at: audit.at },
    );
    let mail = [super::outbox::notice_mail(owner.email.as_str(), notice)?];
    match s.store.request_deletion(&deleting, account.version, &audit, &purge, &mail).await {
        Ok(()) => {}
        Err(e) if e.is_conflict(ACCOUNT_CHANGED) => {
            return Err(Error::account_changed());
        }
        Err(e) => return Err(e.into()),
    }
    super::outbox::deliver_all(s, &mail).await;
    Ok(())
}

/// One step of an account's purge (the `purge_account` job): up to one chunk of its items.
/// `Some(n)`: `n` items went and more may be left; `None`: the account is gone, tombstone left
/// (or was already, by another run). Safe to interrupt and to repeat.
pub async fn purge_step(s: &Services, a: AccountId, requested_at: DateTime<Utc>) -> Result<Option<usize>> {
    let Some(account) = s.store.get_account(a).await? else { return Ok(None) };
    if account.status != AccountStatus::Deleting {
        return Ok(None);
    }
    let deleted = s.store.purge_step(a).await?;
    if deleted > 0 {
        return Ok(Some(deleted));
    }
    // Its export files too (they list every member), before the tombstone says it is gone.
    let files = s.files.delete_all(&super::exports::files_of(a)).await;
    files.map_err(|e| Error::Unavailable(e.to_string()))?;
    let tombstone = Tombstone {
        account_id: account.id,
        web_address: account.web_address.to_string(),
        deletion_requested_at: requested_at,
        deleted_at: Utc::now(),
    };
    match s.store.finish_purge(&account, &tombstone).await {
        Ok(()) => Ok(None),
        Err(e) if e.is_conflict(ACCOUNT_CHANGED) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
