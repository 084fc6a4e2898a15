//! Sign-up (SPEC §1).
use super::{Error, Result, Services, outbox, secrets};
use crate::domain::account::{Account, AccountStatus};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::email::Email;
use crate::domain::format::{COMPANY, NAME};
use crate::domain::link::LinkPurpose;
use crate::domain::locale::{Language, TimeZone};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::password::Password;
use crate::domain::role::RoleRef;
use crate::domain::text::required_text;
use crate::domain::web_address::WebAddress;
use crate::domain::{FieldError, FieldErrors};
use crate::mail::templates::{AccountLink, Notice, find_address, notice};
use crate::store::{ACCOUNT_CHANGED, Admission, EMAIL_TAKEN, StoreError, WEB_ADDRESS_TAKEN};

/// The sign-up request, as a client sends it; validated by `sign_up`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    /// 3–40 lowercase letters and digits; becomes the account's address.
    #[schema(schema_with = crate::http::openapi::field::web_address)]
    pub web_address: String,
    #[schema(schema_with = crate::http::openapi::field::company)]
    pub company_name: String,
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub first_name: String,
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub last_name: String,
    #[schema(schema_with = crate::http::openapi::field::email)]
    pub email: String,
    /// 12–128 characters, not a common password.
    #[schema(schema_with = crate::http::openapi::field::new_password)]
    pub password: String,
    /// One of ko, en, ja, zh-Hans, zh-Hant, th, id, vi (default en).
    #[schema(schema_with = crate::http::openapi::field::language_or_null)]
    pub language: Option<String>,
    /// IANA time zone (default UTC).
    #[schema(schema_with = crate::http::openapi::field::time_zone_or_null)]
    pub time_zone: Option<String>,
}

pub struct SignedUp {
    pub account: Account,
    pub owner: Member,
}

pub async fn sign_up(s: &Services, cmd: SignUp) -> Result<SignedUp> {
    let mut errors = FieldErrors::new();
    let web_address = errors.take(WebAddress::parse("web_address", &cmd.web_address));
    let company = errors.take(required_text("company_name", &cmd.company_name, &COMPANY));
    let first = errors.take(required_text("first_name", &cmd.first_name, &NAME));
    let last = errors.take(required_text("last_name", &cmd.last_name, &NAME));
    let email = errors.take(Email::parse("email", &cmd.email));
    let password = errors.take(Password::parse("password", &cmd.password));
    let language = errors.take(cmd.language.as_deref().map_or(Ok(Language::En), |l| Language::parse("language", l)));
    let time_zone =
        errors.take(cmd.time_zone.as_deref().map_or(Ok(TimeZone::utc()), |t| TimeZone::parse("time_zone", t)));
    errors.finish()?;
    let (
        Some(web_address),
        Some(company),
        Some(first),
        Some(last),
        Some(email),
        Some(password),
        Some(language),
        Some(time_zone),
    ) = (web_address, company, first, last, email, password, language, time_zone)
    else {
        return Err(Error::Internal("validation passed without values".into()));
    };

    let mut account = Account::new(web_address, company, language, time_zone);
    let now = account.created_at;
    let mut owner = Member::new(account.id, email, first, last, RoleRef::OWNER, MemberStatus::Active, now);
    // Until the owner confirms their email the account can invite only a few people.
    let (issued, mail) = super::links::issue_link(s, LinkPurpose::VerifyEmail, account.id, owner.id).await?;
    account.verification_link = Some(issued.hash.clone());
    owner.password_hash = Some(secrets::hash_password(password.expose().to_owned()).await?);
    let audit = AuditEntry::new(
        Actor::Member { id: owner.id, name: owner.full_name() },
        "account.created",
        "account",
        account.id,
        serde_json::json!({ "web_address": account.web_address, "company_name": account.company_name, "owner_id": owner.id }),
    );
    match s
        .store
        .create_account(&account, &owner, (&issued.hash, &issued.link), &audit, std::slice::from_ref(&mail))
        .await
    {
        Ok(()) => {
            super::outbox::deliver_now(s, &mail).await;
            Ok(SignedUp { account, owner })
        }
        Err(StoreError::Conflict(WEB_ADDRESS_TAKEN)) => {
            Err(Error::conflict("web_address_taken", "this web address is already in use; choose another"))
        }
        Err(StoreError::Conflict(EMAIL_TAKEN)) => {
            Err(Error::Internal("a new account already had its owner's email".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The calling owner, after checking their password again (for the owner's irreversible acts).
pub(super) async fn reconfirmed_owner(caller: &super::Caller, password: String) -> Result<&Member> {
    let owner = caller
        .member()
        .filter(|m| m.role == RoleRef::OWNER)
        .ok_or(Error::Forbidden("only the account owner can do this"))?;
    if !secrets::verify_password(password, owner.password_hash.clone()).await {
        return Err(Error::NotConfirmed(FieldError::new("password", "incorrect", "the password is not correct")));
    }
    Ok(owner)
}

/// `POST /v1/account/owner`: the owner hands the account to another active member,
/// re-confirming with their password.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerTransfer {
    #[schema(schema_with = crate::http::openapi::field::id)]
    pub member_id: String,
    /// The current owner's password.
    pub password: String,
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

/// Exactly one owner at every moment: both members change in one transaction, each only if
/// unchanged since read. The old owner becomes Admin; both are told by email.
pub async fn transfer_ownership(s: &Services, caller: &super::Caller, cmd: OwnerTransfer) -> Result<Member> {
    let owner = reconfirmed_owner(caller, cmd.password).await?;
    let not_found = || Error::NotFound("member");
    let id = crate::domain::ids::MemberId::parse(&cmd.member_id).ok_or_else(not_found)?;
    let target = s.store.get_member(caller.account_id(), id).await?.ok_or_else(not_found)?;
    if target.id == owner.id {
        return Err(FieldError::new("member_id", "invalid", "you are the owner already").into());
    }
    if target.status != MemberStatus::Active {
        return Err(Error::conflict("member_not_active", "ownership goes only to an active member"));
    }
    let (mut new_owner, mut old_owner) = (target.clone(), owner.clone());
    new_owner.role = RoleRef::OWNER;
    new_owner.version += 1;
    old_owner.role = crate::domain::permissions::BasicRole::Admin.into();
    old_owner.version += 1;
    let mut audit = AuditEntry::new(
        caller.actor(),
        "account.owner_changed",
        "account",
        caller.account_id(),
        serde_json::json!({ "from": owner.id, "to": target.id, "to_previous_role": target.role }),
    );
    audit.memo = cmd.memo;
    let account = &caller.account;
    let (old_name, new_name) = (old_owner.full_name(), new_owner.full_name());
    let notice = notice(
        &account.locale(),
        &account.company_name,
        &Notice::OwnerChanged { old_owner: &old_name, new_owner: &new_name },
    );
    let mail = [&old_owner, &new_owner]
        .into_iter()
        .map(|to| outbox::notice_mail(to.email.as_str(), notice.clone()))
        .collect::<Result<Vec<_>>>()?;
    match s.store.transfer_ownership((owner, &old_owner), (&target, &new_owner), &audit, &mail).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(Error::conflict("member_changed", "a member changed meanwhile; reload and retry"));
        }
        Err(e) => return Err(e.into()),
    }
    outbox::deliver_all(s, &mail).await;
    Ok(new_owner)
}

/// `PUT /v1/account/web-address`: the one change of web address SPEC §1 allows.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebAddressChange {
    #[schema(schema_with = crate::http::openapi::field::web_address)]
    pub web_address: String,
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

/// The old address stops resolving and is free for others in the same transaction that
/// claims the new one; a second change is refused.
pub async fn change_web_address(s: &Services, caller: &super::Caller, cmd: WebAddressChange) -> Result<Account> {
    let new = WebAddress::parse("web_address", &cmd.web_address)?;
    let account = &caller.account;
    if account.web_address_changed {
        return Err(Error::conflict(
            "web_address_already_changed",
            "the web address can be changed only once, and it was changed already",
        ));
    }
    if new == account.web_address {
        return Err(FieldError::new("web_address", "unchanged", "this is the current web address").into());
    }
    let mut changed = account.clone();
    changed.web_address = new;
    changed.web_address_changed = true;
    changed.version += 1;
    let mut audit = AuditEntry::new(
        caller.actor(),
        "account.web_address_changed",
        "account",
        account.id,
        serde_json::json!({ "before": account.web_address, "after": changed.web_address }),
    );
    audit.memo = cmd.memo;
    let notice = notice(
        &changed.locale(),
        &changed.company_name,
        &Notice::WebAddressChanged {
            old: account.web_address.as_str(),
            new: changed.web_address.as_str(),
            at: audit.at,
        },
    );
    let mail = caller.member().map(|owner| outbox::notice_mail(owner.email.as_str(), notice)).transpose()?;
    let mail = Vec::from_iter(mail);
    match s.store.change_web_address(&account.web_address, &changed, account.version, &audit, &mail).await {
        Ok(()) => {}
        Err(StoreError::Conflict(WEB_ADDRESS_TAKEN)) => {
            return Err(Error::conflict("web_address_taken", "this web address is already in use; choose another"));
        }
        Err(e) if e.is_conflict(ACCOUNT_CHANGED) => {
            return Err(Error::account_changed());
        }
        Err(e) => return Err(e.into()),
    }
    outbox::deliver_all(s, &mail).await;
    Ok(changed)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindWebAddress {
    #[schema(schema_with = crate::http::openapi::field::email)]
    pub email: String,
}

/// Every answer takes at least this long, whether or not a mail was sent.
const FIND_ADDRESS_MIN_ANSWER: std::time::Duration = std::time::Duration::from_millis(700);

/// Email the person the accounts where they are an active member. The caller learns nothing:
/// the answer and its timing are the same whether or not the email is known.
pub async fn find_web_address(s: &std::sync::Arc<Services>, cmd: FindWebAddress) -> Result<()> {
    let started = tokio::time::Instant::now();
    let email = Email::parse("email", &cmd.email)?;
    // Counted before any work, so parallel requests cannot slip past the limit.
    if let Admission::Refused { retry_after } =
        s.store.admit_find_address(&email, chrono::Utc::now().timestamp()).await?
    {
        return Err(Error::RateLimited { message: "too many requests for this email; try again later", retry_after });
    }
    let found: Vec<_> = s
        .store
        .memberships_of(&email, 50)
        .await?
        .into_iter()
        .filter(|(a, m)| a.status == AccountStatus::Active && m.status == MemberStatus::Active)
        .collect();
    if let Some((first, _)) = found.first() {
        let links: Vec<AccountLink> = found
            .iter()
            .map(|(a, _)| AccountLink { company: a.company_name.clone(), web_address: a.web_address.to_string() })
            .collect();
        let mail = outbox::notice_mail(email.as_str(), find_address(first.language, email.as_str(), &links))?;
        s.store.create_job(&mail).await?;
        // Sent beside the answer: a slow mail service must not make a known email's answer
        // slower than an unknown one's.
        outbox::deliver_beside(s, vec![mail]);
    }
    tokio::time::sleep_until(started + FIND_ADDRESS_MIN_ANSWER).await;
    Ok(())
}
