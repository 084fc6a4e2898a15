//! API keys (SPEC §7): a key authenticates like a member whose permissions are its scopes.
use super::{Caller, Error, Principal, Result, Services, secrets};
use crate::domain::FieldErrors;
use crate::domain::account::AccountStatus;
use crate::domain::api_key::{self, ApiKey};
use crate::domain::audit::AuditEntry;
use crate::domain::format::NAME;
use crate::domain::ids::ApiKeyId;
use crate::domain::member::MemberStatus;
use crate::domain::permissions::Permission;
use crate::domain::text::required_text;
use chrono::{Duration, Utc};

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for, e.g. "Ticketing system".
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub name: String,
    /// Permissions the key carries; each must be held by the creator.
    pub scopes: Vec<Permission>,
}

pub async fn create(s: &Services, caller: &Caller, cmd: NewApiKey) -> Result<(ApiKey, String)> {
    caller.require(Permission::ApiKeysManage)?;
    let Some(creator) = caller.member_id() else {
        return Err(Error::Forbidden("API keys are created by members, not by other keys"));
    };
    let mut errors = FieldErrors::new();
    let name = errors.take(required_text("name", &cmd.name, &NAME));
    let scopes = errors.take(api_key::scopes(&cmd.scopes, caller.permissions()));
    errors.finish()?;
    let (Some(name), Some(scopes)) = (name, scopes) else {
        return Err(Error::Internal("validation passed without values".into()));
    };
    let secret = secrets::random_token();
    let key = ApiKey {
        id: ApiKeyId::new(),
        account_id: caller.account_id(),
        name,
        scopes,
        created_by: creator,
        created_at: Utc::now(),
        last_used_at: None,
        revoked_at: None,
        secret_hash: secrets::token_hash(&secret),
    };
    let audit = AuditEntry::new(
        caller.actor(),
        "api_key.created",
        "api_key",
        key.id,
        serde_json::json!({ "name": key.name, "scopes": key.scopes }),
    );
    s.store.create_api_key(&key, &audit).await?;
    let token = api_key::token(key.account_id, key.id, creator, &secret);
    Ok((key, token))
}

pub async fn list(s: &Services, caller: &Caller) -> Result<Vec<ApiKey>> {
    caller.require(Permission::ApiKeysManage)?;
    Ok(s.store.list_api_keys(caller.account_id()).await?)
}

pub async fn revoke(s: &Services, caller: &Caller, id: &str, memo: Option<String>) -> Result<ApiKey> {
    caller.require(Permission::ApiKeysManage)?;
    let not_found = || Error::NotFound("API key");
    let id = ApiKeyId::parse(id).ok_or_else(not_found)?;
    let key = s.store.get_api_key(caller.account_id(), id).await?.filter(ApiKey::active).ok_or_else(not_found)?;
    let now = Utc::now();
    let mut audit =
        AuditEntry::new(caller.actor(), "api_key.revoked", "api_key", key.id, serde_json::json!({ "name": key.name }));
    audit.memo = memo;
    match s.store.revoke_api_key(&key, now, &audit).await {
        Ok(()) => Ok(ApiKey { revoked_at: Some(now), ..key }),
        Err(crate::store::StoreError::Conflict(_)) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// How stale `last_used_at` may get before a request refreshes it (one write a minute at most).
fn touch_every() -> Duration {
    Duration::seconds(60)
}

/// A key acts for its creator: refused while the creator is not an active member, and limited
/// to what the creator holds now.
pub async fn authenticate(s: &Services, token: &str) -> Result<Caller> {
    let invalid = || Error::Unauthenticated("the API key is invalid or revoked");
    let t = api_key::parse_token(token).ok_or_else(invalid)?;
    let records = s.store.api_key_records(t.account, t.key, t.creator).await?;
    let (account, key) = (records.account.ok_or_else(invalid)?, records.key.ok_or_else(invalid)?);
    if !key.active() || key.created_by != t.creator || key.secret_hash != secrets::token_hash(t.secret) {
        return Err(invalid());
    }
    if account.status == AccountStatus::Deleting {
        return Err(Error::Gone);
    }
    let creator = records.creator.filter(|m| m.status == MemberStatus::Active).ok_or(Error::KeyCreatorInactive)?;
    let role = super::auth::resolve_role(s, &creator, None).await?;
    let scopes = api_key::effective_scopes(&key.scopes, role.permissions());
    let now = Utc::now();
    if key.last_used_at.is_none_or(|t| now - t > touch_every())
        && let Err(e) = s.store.touch_api_key(t.account, t.key, now).await
    {
        tracing::warn!(error = %e, "could not record API key use");
    }
    Ok(Caller { account, principal: Principal::ApiKey { key, scopes }, job: None })
}
