//! Login, token refresh, logout and per-request authentication (SPEC §7).
use super::secrets::{self, ACCESS_TTL_SECONDS};
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;
use crate::domain::account::AccountStatus;
use crate::domain::audit::AuditEntry;
use crate::domain::email::Email;
use crate::domain::ids::{AccountId, MemberId, SessionId};
use crate::domain::member::Member;
use crate::domain::role::{Role, RoleRef};
use crate::domain::web_address::WebAddress;
use crate::store::{Admission, Session, StoreError};
use chrono::{Duration, Utc};

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

fn access(account: AccountId, member: &Member, session: SessionId) -> secrets::Access {
    secrets::Access { account, member: member.id, session, role_hint: member.role.custom() }
}

/// Every failure looks the same to the client, and takes as long: every attempt walks the same
/// steps — address, attempt counter, email, member, password — with stand-ins for whatever does
/// not exist. The attempt is counted before the password is checked, so parallel guesses cannot
/// get past the limit.
pub async fn login(s: &Services, cmd: Login) -> Result<Tokens> {
    let now = Utc::now();
    let web_address = WebAddress::parse("web_address", &cmd.web_address).ok();
    let email = Email::parse("email", &cmd.email).unwrap_or_else(|_| Email::placeholder());
    let account_id = match &web_address {
        Some(w) => s.store.account_id_by_web_address(w).await?,
        None => None,
    };
    let target = account_id.unwrap_or_else(AccountId::nil);
    let window = match s.store.admit_login(target, &email, now.timestamp()).await? {
        Admission::Allowed { window } => window,
        Admission::Refused { retry_after } => {
            return Err(Error::RateLimited { message: "too many failed logins; wait and try again", retry_after });
        }
    };
    let member_id = s.store.member_id_by_email(target, &email).await?;
    let member = s.store.get_member(target, member_id.unwrap_or_else(MemberId::nil)).await?;
    let member = member.filter(|_| account_id.is_some());
    let stored_hash = member.as_ref().filter(|m| m.can_log_in()).and_then(|m| m.password_hash.clone());
    let verified = secrets::verify_password(cmd.password, stored_hash).await;
    let (Some(member), true) = (member, verified) else {
        return Err(Error::Unauthenticated(BAD_LOGIN));
    };

    let (session, secret) = new_session(target, member.id, now);
    let audit = AuditEntry::new(
        crate::domain::audit::Actor::Member { id: member.id, name: member.full_name() },
        "member.logged_in",
        "session",
        session.id,
        serde_json::json!({ "member_id": member.id }),
    );
    let (created, given_back) =
        tokio::join!(s.store.create_session(&session, now, &audit), s.store.login_succeeded(target, &email, &window));
    if let Err(e) = given_back {
        tracing::warn!(error = %e, "a right login could not be taken off the attempt counter");
    }
    match created {
        Ok(()) => {}
        Err(e) if e.is_conflict(crate::store::ACCOUNT_NOT_ACTIVE) => return Err(Error::Gone),
        // Deactivated between the read and the write.
        Err(StoreError::Conflict(_)) => return Err(Error::Unauthenticated(BAD_LOGIN)),
        Err(e) => return Err(e.into()),
    }
    tokens(s, target, &member, session.id, &secret, now)
}

/// Rotate: the presented refresh token is spent and a new one issued. Presenting a spent token
/// again means it leaked, so the whole session is revoked — only for a token Roster signed, so
/// nobody can end a session with ids read off an access token.
pub async fn refresh(s: &Services, token: &str) -> Result<Tokens> {
    let invalid = || Error::Unauthenticated("the refresh token is invalid or expired");
    let now = Utc::now();
    let (a, sid, secret) = s.keys.open_refresh(token).ok_or_else(invalid)?;
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
    tokens(s, a, &member, sid, &next, now)
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
    let role = resolve_role(s, &member, records.role).await?;
    Ok(Caller { account, principal: super::Principal::Member { member, session: Some(session.id), role }, job: None })
}

/// A member's role, read fresh: from `prefetched` (read in the caller's batch) when it is the
/// member's current role, otherwise with one more read.
pub(super) async fn resolve_role(
    s: &Services,
    member: &Member,
    prefetched: Option<crate::domain::role::CustomRole>,
) -> Result<Role> {
    Ok(match (member.role, prefetched) {
        (RoleRef::Basic(r), _) => Role::Basic(r),
        (RoleRef::Custom(id), Some(hinted)) if hinted.id == id => Role::Custom(hinted),
        // A deletion moves every holder first, so a missing role means a broken record.
        (RoleRef::Custom(id), _) => Role::Custom(
            s.store.get_role(member.account_id, id).await?.ok_or(Error::Forbidden("your role no longer exists"))?,
        ),
    })
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 12–128 characters, not a common password.
    #[schema(schema_with = crate::http::openapi::field::new_password)]
    pub new_password: String,
}

/// Change one's own password: the current one is re-checked (counted like a login attempt, so a
/// stolen access token cannot be used to guess it), every session ends — this one too — and the
/// answer carries the tokens of a fresh session.
pub async fn change_password(s: &Services, caller: &Caller, cmd: PasswordChange) -> Result<Tokens> {
    let Some(member) = caller.member() else {
        return Err(Error::Forbidden("an API key has no password"));
    };
    let now = Utc::now();
    let a = caller.account_id();
    let window = match s.store.admit_login(a, &member.email, now.timestamp()).await? {
        Admission::Allowed { window } => window,
        Admission::Refused { retry_after } => {
            return Err(Error::RateLimited { message: "too many wrong passwords; wait and try again", retry_after });
        }
    };
    let new = crate::domain::password::Password::parse("new_password", &cmd.new_password)?;
    if !secrets::verify_password(cmd.current_password, member.password_hash.clone()).await {
        let wrong = FieldError::new("current_password", "incorrect", "this is not your current password");
        return Err(Error::NotConfirmed(wrong));
    }
    let mut after = member.clone();
    after.password_hash = Some(secrets::hash_password(new.expose().to_owned()).await?);
    after.sessions_valid_after = Some(now);
    after.version += 1;
    let (session, secret) = new_session(a, member.id, now);
    let audit = AuditEntry::new(caller.actor(), "member.password_changed", "member", member.id, serde_json::json!({}));
    match s.store.change_password(member, &after, &session, &audit).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(Error::conflict("member_changed", "your account changed meanwhile; retry"));
        }
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = s.store.login_succeeded(a, &member.email, &window).await {
        tracing::warn!(error = %e, "a right password could not be taken off the attempt counter");
    }
    tokens(s, a, &after, session.id, &secret, now)
}

/// A new session for a member, and the secret of its first refresh token.
fn new_session(account_id: AccountId, member_id: MemberId, now: chrono::DateTime<Utc>) -> (Session, String) {
    let secret = secrets::random_token();
    let session = Session {
        id: SessionId::new(),
        account_id,
        member_id,
        refresh_hash: secrets::token_hash(&secret),
        created_at: now,
        expires_at: now + Duration::days(SESSION_DAYS),
        ttl: (now + Duration::days(SESSION_DAYS)).timestamp(),
    };
    (session, secret)
}

fn tokens(
    s: &Services,
    a: AccountId,
    member: &Member,
    sid: SessionId,
    secret: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Tokens> {
    Ok(Tokens {
        access_token: s.keys.access_token(access(a, member, sid), now.timestamp())?,
        expires_in: ACCESS_TTL_SECONDS,
        refresh_token: s.keys.refresh_token(a, sid, secret),
    })
}
