//! Login, token refresh, logout and per-request authentication (SPEC §7).
use super::secrets::{self, ACCESS_TTL_SECONDS};
use super::{Caller, Error, Result, Services};
use crate::domain::account::AccountStatus;
use crate::domain::audit::AuditEntry;
use crate::domain::email::Email;
use crate::domain::ids::{AccountId, SessionId};
use crate::domain::member::Member;
use crate::domain::role::{Role, RoleRef};
use crate::domain::web_address::WebAddress;
use crate::store::{Session, StoreError};
use chrono::{Duration, Utc};

/// Failed logins allowed per account+email within the window before 429.
pub const MAX_FAILURES: u32 = 10;
pub fn failure_window() -> Duration {
    Duration::minutes(15)
}
const SESSION_DAYS: i64 = 30;

const BAD_LOGIN: &str = "the web address, email or password is not correct";

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub web_address: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
}

/// Refresh tokens carry where their session lives; only the secret part's hash is stored.
fn refresh_token(a: AccountId, sid: SessionId, secret: &str) -> String {
    format!("{a}.{sid}.{secret}")
}

fn parse_refresh(token: &str) -> Option<(AccountId, SessionId, &str)> {
    let mut parts = token.splitn(3, '.');
    let a = AccountId::parse(parts.next()?)?;
    let s = SessionId::parse(parts.next()?)?;
    Some((a, s, parts.next()?))
}

fn access(account: AccountId, member: &Member, session: SessionId) -> secrets::Access {
    secrets::Access { account, member: member.id, session, role_hint: member.role.custom() }
}

/// Every failure looks the same to the client, and takes as long, whether or not the address
/// or email exists.
pub async fn login(s: &Services, cmd: Login) -> Result<Tokens> {
    let now = Utc::now();
    let (Ok(web_address), Ok(email)) =
        (WebAddress::parse("web_address", &cmd.web_address), Email::parse("email", &cmd.email))
    else {
        secrets::verify_password(cmd.password, None).await;
        return Err(Error::Unauthenticated(BAD_LOGIN));
    };
    let Some(account_id) = s.store.account_id_by_web_address(&web_address).await? else {
        secrets::verify_password(cmd.password, None).await;
        return Err(Error::Unauthenticated(BAD_LOGIN));
    };
    if s.store.login_failures(account_id, &email, failure_window(), now).await? >= MAX_FAILURES {
        return Err(Error::RateLimited("too many failed logins; wait 15 minutes and try again"));
    }
    let member = match s.store.member_id_by_email(account_id, &email).await? {
        Some(id) => s.store.get_member(account_id, id).await?,
        None => None,
    };
    let stored_hash = member.as_ref().filter(|m| m.can_log_in()).and_then(|m| m.password_hash.clone());
    if !secrets::verify_password(cmd.password, stored_hash).await {
        s.store.record_login_failure(account_id, &email, failure_window(), now).await?;
        return Err(Error::Unauthenticated(BAD_LOGIN));
    }
    let Some(member) = member else {
        return Err(Error::Unauthenticated(BAD_LOGIN));
    };

    let secret = secrets::random_token();
    let session = Session {
        id: SessionId::new(),
        account_id,
        member_id: member.id,
        refresh_hash: secrets::token_hash(&secret),
        created_at: now,
        expires_at: now + Duration::days(SESSION_DAYS),
        ttl: (now + Duration::days(SESSION_DAYS)).timestamp(),
    };
    let audit = AuditEntry::new(
        crate::domain::audit::Actor::Member { id: member.id, name: member.full_name() },
        "member.logged_in",
        "session",
        session.id,
        serde_json::json!({ "member_id": member.id }),
    );
    match s.store.create_session(&session, now, &audit).await {
        Ok(()) => {}
        Err(e) if e.is_conflict(crate::store::ACCOUNT_NOT_ACTIVE) => return Err(Error::Gone),
        // Deactivated between the read and the write.
        Err(StoreError::Conflict(_)) => return Err(Error::Unauthenticated(BAD_LOGIN)),
        Err(e) => return Err(e.into()),
    }
    Ok(Tokens {
        access_token: s.keys.access_token(access(account_id, &member, session.id), now.timestamp())?,
        expires_in: ACCESS_TTL_SECONDS,
        refresh_token: refresh_token(account_id, session.id, &secret),
    })
}

/// Rotate: the presented refresh token is spent and a new one issued. Presenting a spent token
/// again means it leaked, so the whole session is revoked.
pub async fn refresh(s: &Services, token: &str) -> Result<Tokens> {
    let invalid = || Error::Unauthenticated("the refresh token is invalid or expired");
    let now = Utc::now();
    let (a, sid, secret) = parse_refresh(token).ok_or_else(invalid)?;
    let session = s.store.get_session(a, sid).await?.ok_or_else(invalid)?;
    let presented = secrets::token_hash(secret);
    if session.expires_at <= now {
        return Err(invalid());
    }
    if presented != session.refresh_hash {
        let audit = AuditEntry::new(
            crate::domain::audit::Actor::System,
            "session.revoked_reuse",
            "session",
            sid,
            serde_json::json!({ "member_id": session.member_id, "reason": "a spent refresh token was presented again" }),
        );
        let _ = s.store.delete_session(a, sid, &audit).await;
        return Err(invalid());
    }
    let member = s.store.get_member(a, session.member_id).await?.ok_or_else(invalid)?;
    if !member.session_valid(session.created_at) {
        return Err(invalid());
    }
    let next = secrets::random_token();
    match s.store.rotate_refresh(a, sid, &presented, &secrets::token_hash(&next)).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    }
    Ok(Tokens {
        access_token: s.keys.access_token(access(a, &member, sid), now.timestamp())?,
        expires_in: ACCESS_TTL_SECONDS,
        refresh_token: refresh_token(a, sid, &next),
    })
}

/// Ends the caller's session: its refresh token and access tokens stop working at once.
pub async fn logout(s: &Services, caller: &Caller) -> Result<()> {
    let Some(session) = caller.session() else { return Err(Error::Forbidden("an API key has no session to end")) };
    let audit = AuditEntry::new(caller.actor(), "member.logged_out", "session", session, serde_json::json!({}));
    match s.store.delete_session(caller.account_id(), session, &audit).await {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Turn a bearer token into the caller: an API key (`rk_…`) or a member's access token, each
/// checked with one batch read.
pub async fn authenticate(s: &Services, bearer: &str) -> Result<Caller> {
    if bearer.starts_with("rk_") {
        return super::api_keys::authenticate(s, bearer).await;
    }
    let token = s.keys.verify_access(bearer)?;
    let records = s.store.caller_records(token.account, token.member, token.session, token.role_hint).await?;
    let ended = || Error::Unauthenticated("this session has ended; log in again");
    if records.purged {
        return Err(Error::Gone);
    }
    let account = records.account.ok_or_else(ended)?;
    if account.status == AccountStatus::Deleting {
        return Err(Error::Gone);
    }
    let member = records.member.ok_or_else(ended)?;
    let session = records
        .session
        .filter(|x| x.member_id == member.id && x.expires_at > Utc::now() && member.session_valid(x.created_at))
        .ok_or_else(ended)?;
    // The role is read fresh: from the same batch when the token's hint is still right.
    let role = match (member.role, records.role) {
        (RoleRef::Basic(r), _) => Role::Basic(r),
        (RoleRef::Custom(id), Some(hinted)) if hinted.id == id => Role::Custom(hinted),
        // A deletion moves every holder first, so a missing role means a broken record.
        (RoleRef::Custom(id), _) => {
            Role::Custom(s.store.get_role(account.id, id).await?.ok_or(Error::Forbidden("your role no longer exists"))?)
        }
    };
    Ok(Caller { account, principal: super::Principal::Member { member, session: session.id, role } })
}
