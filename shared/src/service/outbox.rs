//! The outbox: every mail Roster sends is a `send_mail` job written in the transaction of the
//! change that causes it, then delivered at once if the mail service answers, else by the runner
//! with growing waits, and after the last attempt marked failed. Nothing secret is kept: a
//! link's token is derived again when the mail goes out, and a link replaced or used meanwhile
//! is not sent.
use super::{Caller, Error, Result, Services};
use crate::domain::account::AccountStatus;
use crate::domain::audit::Actor;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::invitation::{Invitation, InvitationStatus};
use crate::domain::link::{Link, LinkPurpose};
use crate::domain::member::Member;
use crate::jobs::{Job, Kind, Status};
use crate::mail::Mail;
use crate::mail::bulk::{Delivery, Destined, SendError};
use crate::mail::templates::{self, link_mail as link_mail_content};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an outbox entry sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mail", rename_all = "snake_case")]
pub enum MailInput {
    /// An invitation's link, as issued at `issued_at` with the secret's version `key_id`.
    Invitation { member_id: MemberId, issued_at: DateTime<Utc>, key_id: String, inviter: String },
    /// An email-confirmation or password-reset link, issued the same way.
    Link { purpose: LinkPurpose, member_id: MemberId, issued_at: DateTime<Utc>, key_id: String },
    /// A notice whose content the change settled (ownership moved, the account's deletion, the
    /// web addresses an email belongs to): kept outside any account, so a purge does not take
    /// it before it is sent.
    Notice { to: String, content: Mail },
}

fn entry(account: Option<AccountId>, input: &MailInput, at: DateTime<Utc>, by: Option<Actor>) -> Result<Job> {
    let input = serde_json::to_value(input).map_err(|e| Error::Internal(e.to_string()))?;
    let mut job = Job::new(Kind::SendMail, account, input, at);
    job.created_by = by;
    Ok(job)
}

/// The outbox entry for a one-time link just issued (written with it).
pub fn link_mail(a: AccountId, link: &IssuedLink) -> Result<Job> {
    let input = MailInput::Link {
        purpose: link.link.purpose,
        member_id: link.link.member_id,
        issued_at: link.issued_at,
        key_id: link.key_id.clone(),
    };
    entry(Some(a), &input, link.issued_at, None)
}

/// The outbox entry for a notice to `to`.
pub fn notice_mail(to: &str, mail: Mail) -> Result<Job> {
    entry(None, &MailInput::Notice { to: to.to_owned(), content: mail }, Utc::now(), None)
}

/// A one-time link as issued: what is stored (its token's hash, the link) and what its mail
/// needs to derive the token again.
pub struct IssuedLink {
    pub hash: String,
    pub link: Link,
    pub issued_at: DateTime<Utc>,
    pub key_id: String,
}

/// The outbox entry for an invitation just issued (written with it).
pub fn invitation_mail(caller: &Caller, invitation: &Invitation, key_id: &str) -> Result<Job> {
    let input = MailInput::Invitation {
        member_id: invitation.member_id,
        issued_at: invitation.created_at,
        key_id: key_id.to_owned(),
        inviter: caller.display_name(),
    };
    entry(Some(caller.account_id()), &input, invitation.created_at, Some(caller.actor()))
}

/// Deliver outbox entries now (one after the other); whether all went out.
pub async fn deliver_all(s: &Services, mail: &[Job]) -> bool {
    let mut all = true;
    for m in mail {
        all &= deliver_now(s, m).await;
    }
    all
}

/// `deliver_all` beside the answer, for answers whose timing must not tell whether a mail was
/// due (if the process stops first, the runner sends it).
pub fn deliver_beside(s: &std::sync::Arc<Services>, mail: Vec<Job>) {
    let s = std::sync::Arc::clone(s);
    tokio::spawn(async move { deliver_all(&s, &mail).await });
}

/// Deliver an outbox entry now, as the runner would (its claim makes sure only one of them
/// does). Whether it went out; otherwise the runner tries again later.
/// Boxed, with its type spelled out: a job (a directory run inviting members) sends mail this
/// way, and the runner runs every kind, so the future's type would otherwise contain itself.
pub fn deliver_now<'a>(s: &'a Services, mail: &'a Job) -> futures::future::BoxFuture<'a, bool> {
    Box::pin(async move {
        match crate::jobs::run_one(s, mail).await {
            Ok(Some(job)) => job.status == Status::Succeeded,
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, job = %mail.id, "mail not delivered yet; the runner tries again");
                false
            }
        }
    })
}

/// What became of one outbox entry's mail.
pub enum Sent {
    Delivered,
    /// Nothing to send any more (the invitation was resent, cancelled or accepted meanwhile).
    Moot,
}

/// Send one outbox entry (the `send_mail` job's step).
pub async fn send(s: &Services, job: &Job) -> Result<Sent> {
    let input: MailInput =
        serde_json::from_value(job.input.clone()).map_err(|e| Error::Internal(format!("mail input: {e}")))?;
    let account = || job.account_id.ok_or_else(|| Error::Internal("mail without an account".into()));
    match input {
        MailInput::Invitation { member_id, issued_at, key_id, inviter } => {
            send_invitation(s, account()?, member_id, issued_at, &key_id, &inviter).await
        }
        MailInput::Link { purpose, member_id, issued_at, key_id } => {
            send_link(s, account()?, purpose, member_id, issued_at, &key_id).await
        }
        MailInput::Notice { to, content: mail } => {
            s.mailer.send(&to, &mail).await.map_err(mail_error)?;
            Ok(Sent::Delivered)
        }
    }
}

/// A link's mail, while the link is still the account's (or member's) current one and unused.
async fn send_link(
    s: &Services,
    a: AccountId,
    purpose: LinkPurpose,
    member_id: MemberId,
    issued_at: DateTime<Utc>,
    key_id: &str,
) -> Result<Sent> {
    let (Some(account), Some(member)) = s.store.account_and_member(a, member_id).await? else {
        return Ok(Sent::Moot);
    };
    let current = match purpose {
        LinkPurpose::VerifyEmail if account.email_verified_at.is_none() => account.verification_link.as_deref(),
        LinkPurpose::ResetPassword if member.can_log_in() => member.reset_link.as_deref(),
        _ => None,
    };
    let link = Link::new(purpose, a, member_id, issued_at);
    if account.status != AccountStatus::Active || link.expires() <= Utc::now() {
        return Ok(Sent::Moot);
    }
    let token = s
        .keys
        .link_token(purpose, key_id, member_id, issued_at)
        .await?
        .ok_or_else(|| Error::Refused("the secret version the link was made with is gone".into()))?;
    if current != Some(super::secrets::token_hash(&token).as_str()) {
        return Ok(Sent::Moot);
    }
    let url = format!("{}{}?token={token}", s.config.public_url, purpose.page());
    let mail =
        link_mail_content(&account.locale(), &account.company_name, purpose, &member.first_name, &url, link.expires());
    s.mailer.send(member.email.as_str(), &mail).await.map_err(mail_error)?;
    Ok(Sent::Delivered)
}

async fn send_invitation(
    s: &Services,
    a: AccountId,
    member_id: MemberId,
    issued_at: DateTime<Utc>,
    key_id: &str,
    inviter: &str,
) -> Result<Sent> {
    let Some(account) = s.store.get_account(a).await? else { return Ok(Sent::Moot) };
    if account.status != AccountStatus::Active {
        return Ok(Sent::Moot);
    }
    let (member, invitation) = match s.store.member_and_invitation(a, member_id).await? {
        (Some(m), Some(i)) if i.status == InvitationStatus::Pending && i.created_at == issued_at => (m, i),
        _ => return Ok(Sent::Moot),
    };
    let one = InvitationToSend::of(&member, &invitation, key_id, inviter);
    let destined = destined(s, &account, &one).await?;
    let template = templates::invitation_template(account.locale().language);
    match s.mailer.send_bulk(&template, std::slice::from_ref(&destined)).await {
        Ok(d) => match d.into_iter().next() {
            Some(Delivery::Sent) => Ok(Sent::Delivered),
            Some(Delivery::Rejected(why)) => Err(Error::Refused(why)),
            None => Err(Error::Unavailable("no answer for the destination".into())),
        },
        Err(e) => Err(mail_error(e)),
    }
}

pub fn mail_error(e: SendError) -> Error {
    match e {
        SendError::Unavailable(m) => Error::Unavailable(m),
        SendError::Refused(m) => Error::Refused(m),
    }
}

/// An invitation whose mail is due: what its mail needs, and nothing else.
pub struct InvitationToSend<'a> {
    pub member_id: MemberId,
    pub email: &'a str,
    pub first_name: &'a str,
    /// When the link was issued (its token is derived from it) and until when it works.
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub key_id: &'a str,
    pub inviter: &'a str,
}

impl<'a> InvitationToSend<'a> {
    pub fn of(member: &'a Member, invitation: &Invitation, key_id: &'a str, inviter: &'a str) -> Self {
        Self {
            member_id: member.id,
            email: member.email.as_str(),
            first_name: &member.first_name,
            issued_at: invitation.created_at,
            expires_at: invitation.expires_at,
            key_id,
            inviter,
        }
    }
}

/// The invitation's destination and values for its template (in the account's language,
/// zone and date format), its link's token derived again.
pub async fn destined(
    s: &Services,
    account: &crate::domain::account::Account,
    i: &InvitationToSend<'_>,
) -> Result<Destined> {
    let token = s
        .keys
        .invitation_token(i.key_id, i.member_id, i.issued_at)
        .await?
        .ok_or_else(|| Error::Refused("the secret version the link was made with is gone; resend it".into()))?;
    let link = format!("{}/invitations/accept?token={token}", s.config.public_url);
    let data = templates::invitation_data(&templates::InvitationMail {
        locale: &account.locale(),
        company: &account.company_name,
        inviter: i.inviter,
        invitee_first_name: i.first_name,
        link: &link,
        expires_at: i.expires_at,
    });
    Ok(Destined { to: i.email.to_owned(), data })
}
