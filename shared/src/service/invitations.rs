//! Inviting a member and accepting the invitation (SPEC §2).
use super::{Caller, Error, Result, Services, secrets};
use crate::domain::FieldError;
use crate::domain::FieldErrors;
use crate::domain::account::Account;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::email::Email;
use crate::domain::ids::MemberId;
use crate::domain::invitation::{Invitation, LinkProblem};
use crate::domain::member::{Member, MemberSource, MemberStatus};
use crate::domain::password::Password;
use crate::domain::permissions::{BasicRole, Permission};
use crate::domain::text::{NAME_MAX, required_text};
use crate::mail::templates;
use crate::store::{EMAIL_TAKEN, InvitationByToken, StoreError};
use chrono::Utc;

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// admin, supervisor, pro_agent, agent or viewer.
    pub role: String,
}

pub struct Invited {
    pub member: Member,
    pub invitation: Invitation,
    /// False when the mail service failed; the invitation stands and can be resent.
    pub email_sent: bool,
}

pub async fn invite(s: &Services, caller: &Caller, cmd: Invite) -> Result<Invited> {
    caller.require(Permission::InvitationsManage)?;
    let mut errors = FieldErrors::new();
    let email = errors.take(Email::parse("email", &cmd.email));
    let first = errors.take(required_text("first_name", &cmd.first_name, NAME_MAX));
    let last = errors.take(required_text("last_name", &cmd.last_name, NAME_MAX));
    let role = errors.take(invitable_role(&cmd.role));
    errors.finish()?;
    let (Some(email), Some(first), Some(last), Some(role)) = (email, first, last, role) else {
        return Err(Error::Internal("validation passed without values".into()));
    };

    let now = Utc::now();
    let a = caller.account_id();
    let token = secrets::random_token();
    let member = Member {
        id: MemberId::new(),
        account_id: a,
        email,
        first_name: first,
        last_name: last,
        role,
        status: MemberStatus::Invited,
        source: MemberSource::Manual,
        created_at: now,
        last_login_at: None,
        password_hash: None,
        version: 1,
    };
    let invitation = Invitation::new(
        a,
        member.id,
        caller.member.id,
        secrets::token_hash(&token),
        now,
        caller.account.invitation_validity_days,
    );
    let audit = AuditEntry::new(
        caller.actor(),
        "invitation.created",
        "member",
        member.id,
        serde_json::json!({
            "email": member.email, "first_name": member.first_name, "last_name": member.last_name,
            "role": member.role, "expires_at": invitation.expires_at,
        }),
    );
    match s.store.create_invitation(&member, &invitation, &audit).await {
        Ok(()) => {}
        Err(StoreError::Conflict(EMAIL_TAKEN)) => {
            return Err(Error::conflict("already_member", "someone with this email is already a member or invited"));
        }
        Err(e) => return Err(e.into()),
    }
    let email_sent = send_invitation(s, &caller.account, caller, &member, &invitation, &token).await;
    Ok(Invited { member, invitation, email_sent })
}

fn invitable_role(raw: &str) -> std::result::Result<BasicRole, FieldError> {
    match BasicRole::parse(raw) {
        // Ownership is handed over, never granted by invitation.
        Some(BasicRole::Owner) => {
            Err(FieldError::new("role", "invalid", "the owner role cannot be given by invitation"))
        }
        Some(role) => Ok(role),
        None => Err(FieldError::new("role", "invalid", "role is one of admin, supervisor, pro_agent, agent, viewer")),
    }
}

async fn send_invitation(
    s: &Services,
    account: &Account,
    caller: &Caller,
    member: &Member,
    invitation: &Invitation,
    token: &str,
) -> bool {
    let link = format!("{}/invitations/accept?token={token}", s.config.public_url);
    let mail = templates::invitation(&templates::InvitationMail {
        locale: &account.locale(),
        company: &account.company_name,
        inviter: &caller.member.full_name(),
        invitee_first_name: &member.first_name,
        link: &link,
        expires_at: invitation.expires_at,
    });
    match s.mailer.send(member.email.as_str(), &mail).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, member = %member.id, "invitation email not sent; it can be resent");
            false
        }
    }
}

/// What the accept page shows for a token.
pub enum LinkState {
    Usable(Box<InvitationByToken>),
    /// The account is known when the link was real, so the page can speak its language.
    Unusable(LinkProblem, Option<Account>),
}

pub async fn open_link(s: &Services, token: &str) -> Result<LinkState> {
    let hash = secrets::token_hash(token);
    let Some(found) = s.store.invitation_by_token(&hash).await? else {
        return Ok(LinkState::Unusable(LinkProblem::Unknown, None));
    };
    match found.invitation.usable_at(&hash, Utc::now()) {
        Ok(()) => Ok(LinkState::Usable(Box::new(found))),
        Err(problem) => Ok(LinkState::Unusable(problem, Some(found.account))),
    }
}

pub enum AcceptOutcome {
    Accepted(Box<InvitationByToken>),
    Rejected(LinkState),
    /// The password did not pass; the page shows why and keeps the form.
    InvalidPassword(Box<InvitationByToken>, FieldError),
}

/// Set the password and activate the member; the link is single-use.
pub async fn accept(s: &Services, token: &str, password: &str, confirmation: &str) -> Result<AcceptOutcome> {
    let found = match open_link(s, token).await? {
        LinkState::Usable(found) => found,
        other => return Ok(AcceptOutcome::Rejected(other)),
    };
    let password = match Password::parse("password", password) {
        Ok(p) if p.expose() == confirmation => p,
        Ok(_) => {
            let e = FieldError::new("password_confirmation", "mismatch", "the two passwords are not the same");
            return Ok(AcceptOutcome::InvalidPassword(found, e));
        }
        Err(e) => return Ok(AcceptOutcome::InvalidPassword(found, e)),
    };
    let hash = secrets::hash_password(password.expose().to_owned()).await?;
    let now = Utc::now();
    let m = &found.member;
    let audit = AuditEntry::new(
        Actor::Member { id: m.id, name: m.full_name() },
        "invitation.accepted",
        "member",
        m.id,
        serde_json::json!({ "email": m.email, "status": MemberStatus::Active }),
    );
    match s.store.accept_invitation(&found, &hash, now, &audit).await {
        Ok(()) => Ok(AcceptOutcome::Accepted(found)),
        // Used (or cancelled) between opening the page and submitting it.
        Err(StoreError::Conflict(_)) => {
            Ok(AcceptOutcome::Rejected(LinkState::Unusable(LinkProblem::Used, Some(found.account.clone()))))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_but_owner_can_be_invited() {
        assert_eq!(invitable_role("agent").unwrap(), BasicRole::Agent);
        assert_eq!(invitable_role("owner").unwrap_err().code, "invalid");
        assert_eq!(invitable_role("Agent").unwrap_err().code, "invalid");
        assert_eq!(invitable_role("").unwrap_err().field, "role");
    }
}
