//! Email verification after sign-up and password reset (SPEC §1, §7): one-time links that open
//! a page served by Roster, in the account's language.
use super::outbox::IssuedLink;
use super::{Caller, Error, Result, Services, secrets};
use crate::domain::FieldError;
use crate::domain::account::{Account, AccountStatus};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::email::Email;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::link::{Link, LinkPurpose};
use crate::domain::member::Member;
use crate::domain::password::Password;
use crate::domain::role::RoleRef;
use crate::domain::web_address::WebAddress;
use crate::jobs::Job;
use crate::store::{Admission, StoreError};
use chrono::Utc;

/// A fresh link and its outbox entry: the token is derived from the link (purpose, member,
/// when) with the current secret, so only its hash is stored and the mail derives it again.
pub(super) async fn issue_link(
    s: &Services,
    purpose: LinkPurpose,
    a: AccountId,
    m: MemberId,
) -> Result<(IssuedLink, Job)> {
    let now = Utc::now();
    let key_id = s.keys.key_id().to_owned();
    let token = s
        .keys
        .link_token(purpose, &key_id, m, now)
        .await?
        .ok_or_else(|| Error::Internal("no key for the current secret version".into()))?;
    let issued =
        IssuedLink { hash: secrets::token_hash(&token), link: Link::new(purpose, a, m, now), issued_at: now, key_id };
    let mail = super::outbox::link_mail(a, &issued)?;
    Ok((issued, mail))
}

/// What a link's page shows.
pub enum Opened {
    Usable {
        account: Box<Account>,
        member: Box<Member>,
    },
    /// Unknown, used, expired, for another purpose, or its account is being deleted; the
    /// account, when known, gives the page its language.
    Unusable(Option<Box<Account>>),
}

pub async fn open(s: &Services, token: &str, purpose: LinkPurpose) -> Result<Opened> {
    let Some(link) = s.store.get_link(&secrets::token_hash(token)).await? else {
        return Ok(Opened::Unusable(None));
    };
    let (account, member) = s.store.account_and_member(link.account_id, link.member_id).await?;
    Ok(match (account, member) {
        (Some(a), Some(m)) if link.usable_for(purpose, Utc::now()) && a.status == AccountStatus::Active => {
            Opened::Usable { account: Box::new(a), member: Box::new(m) }
        }
        (account, _) => Opened::Unusable(account.map(Box::new)),
    })
}

/// Confirm the owner's email: the account may now invite without the small cap.
pub async fn verify_email(s: &Services, token: &str) -> Result<Opened> {
    let opened = open(s, token, LinkPurpose::VerifyEmail).await?;
    let Opened::Usable { account, member } = &opened else { return Ok(opened) };
    let audit = AuditEntry::new(
        Actor::Member { id: member.id, name: member.full_name() },
        "account.email_verified",
        "account",
        account.id,
        serde_json::json!({ "email": member.email }),
    );
    match s.store.verify_email(account, &secrets::token_hash(token), Utc::now(), &audit).await {
        Ok(()) => Ok(opened),
        Err(StoreError::Conflict(_)) => Ok(Opened::Unusable(Some(account.clone()))),
        Err(e) => Err(e.into()),
    }
}

/// The owner asks for a new verification link (the old one stops working).
pub async fn resend_verification(s: &Services, caller: &Caller) -> Result<()> {
    let Some(owner) = caller.member().filter(|m| m.role == RoleRef::OWNER) else {
        return Err(Error::Forbidden("only the account owner can do this"));
    };
    let account = &caller.account;
    if account.email_verified_at.is_some() {
        return Err(Error::conflict("already_verified", "the owner's email is already confirmed"));
    }
    let (issued, mail) = issue_link(s, LinkPurpose::VerifyEmail, account.id, owner.id).await?;
    let audit = AuditEntry::new(
        caller.actor(),
        "account.verification_sent",
        "account",
        account.id,
        serde_json::json!({ "email": owner.email, "expires_at": issued.link.expires() }),
    );
    match s.store.renew_verification(account, &issued.hash, &issued.link, &audit, &mail).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(Error::account_changed()),
        Err(e) => return Err(e.into()),
    }
    super::outbox::deliver_now(s, &mail).await;
    Ok(())
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub web_address: String,
    #[schema(schema_with = crate::http::openapi::field::email)]
    pub email: String,
}

/// Every answer takes at least this long, whether or not a link was made.
const RESET_MIN_ANSWER: std::time::Duration = std::time::Duration::from_millis(500);

/// Ask for a password-reset link. The answer is the same whether or not the account or the
/// email exists, and takes as long; the link goes only to an active member's address.
pub async fn request_reset(s: &std::sync::Arc<Services>, cmd: ResetRequest) -> Result<()> {
    let started = tokio::time::Instant::now();
    let web_address = WebAddress::parse("web_address", &cmd.web_address).ok();
    let email = Email::parse("email", &cmd.email)?;
    let account_id = match &web_address {
        Some(w) => s.store.account_id_by_web_address(w).await?,
        None => None,
    };
    let target = account_id.unwrap_or_else(AccountId::nil);
    if let Admission::Refused { retry_after } = s.store.admit_reset(target, &email, Utc::now().timestamp()).await? {
        return Err(Error::RateLimited {
            message: "too many reset requests for this email; try again later",
            retry_after,
        });
    }
    let member = match s.store.member_id_by_email(target, &email).await? {
        Some(id) => s.store.account_and_member(target, id).await?,
        None => (None, None),
    };
    if let (Some(account), Some(member)) = member
        && account.status == AccountStatus::Active
        && member.can_log_in()
    {
        let (issued, mail) = issue_link(s, LinkPurpose::ResetPassword, account.id, member.id).await?;
        let audit = AuditEntry::new(
            Actor::Member { id: member.id, name: member.full_name() },
            "member.password_reset_requested",
            "member",
            member.id,
            serde_json::json!({ "expires_at": issued.link.expires() }),
        );
        match s.store.request_reset(&member, &issued.hash, &issued.link, &audit, &mail).await {
            // Sent beside the answer: a slow mail service shows in no answer's timing.
            Ok(()) => super::outbox::deliver_beside(s, vec![mail]),
            // Deactivated meanwhile: nothing to send, and the answer stays the same.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    tokio::time::sleep_until(started + RESET_MIN_ANSWER).await;
    Ok(())
}

pub enum ResetOutcome {
    Done(Box<Account>),
    Unusable(Option<Box<Account>>),
    /// The password did not pass; the page shows why and keeps the form.
    InvalidPassword(Box<Account>, Box<Member>, FieldError),
}

/// Set the new password from the link; every session of the member ends.
pub async fn reset_password(s: &Services, token: &str, password: &str, confirmation: &str) -> Result<ResetOutcome> {
    let (account, member) = match open(s, token, LinkPurpose::ResetPassword).await? {
        Opened::Usable { account, member } => (account, member),
        Opened::Unusable(account) => return Ok(ResetOutcome::Unusable(account)),
    };
    let password = match Password::parse("password", password) {
        Ok(p) if p.expose() == confirmation => p,
        Ok(_) => {
            let e = FieldError::new("password_confirmation", "mismatch", "the two passwords are not the same");
            return Ok(ResetOutcome::InvalidPassword(account, member, e));
        }
        Err(e) => return Ok(ResetOutcome::InvalidPassword(account, member, e)),
    };
    let now = Utc::now();
    let mut after = (*member).clone();
    after.password_hash = Some(secrets::hash_password(password.expose().to_owned()).await?);
    after.sessions_valid_after = Some(now);
    after.reset_link = None;
    after.version += 1;
    let audit = AuditEntry::new(
        Actor::Member { id: member.id, name: member.full_name() },
        "member.password_reset",
        "member",
        member.id,
        serde_json::json!({}),
    );
    match s.store.reset_password(&account, &member, &after, &secrets::token_hash(token), now, &audit).await {
        Ok(()) => Ok(ResetOutcome::Done(account)),
        // The link was used, expired or the member changed meanwhile.
        Err(StoreError::Conflict(_)) => Ok(ResetOutcome::Unusable(Some(account))),
        Err(e) => Err(e.into()),
    }
}
