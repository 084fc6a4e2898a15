//! The outbox: the mail a change causes is a `send_mail` job written in the change's own
//! transaction, then delivered at once if the mail service answers, else by the runner with
//! growing waits, and after the last attempt marked failed. Nothing secret is kept: the link's
//! token is derived again from the invitation when the mail goes out.
use super::{Caller, Error, Result, Services};
use crate::domain::ids::MemberId;
use crate::domain::invitation::{Invitation, InvitationStatus};
use crate::domain::member::Member;
use crate::jobs::{Job, Kind, Status};
use crate::mail::bulk::{Delivery, Destined, SendError};
use crate::mail::templates;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an outbox entry sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mail", rename_all = "snake_case")]
pub enum MailInput {
    /// An invitation's link, as issued at `issued_at` with the secret's version `key_id`.
    Invitation { member_id: MemberId, issued_at: DateTime<Utc>, key_id: String, inviter: String },
}

/// The outbox entry for an invitation just issued (written with it).
pub fn invitation_mail(caller: &Caller, invitation: &Invitation, key_id: &str) -> Result<Job> {
    let input = MailInput::Invitation {
        member_id: invitation.member_id,
        issued_at: invitation.created_at,
        key_id: key_id.to_owned(),
        inviter: caller.display_name(),
    };
    let input = serde_json::to_value(input).map_err(|e| Error::Internal(e.to_string()))?;
    let mut job = Job::new(Kind::SendMail, Some(caller.account_id()), input, invitation.created_at);
    job.created_by = Some(caller.actor());
    Ok(job)
}

/// Deliver an outbox entry now, as the runner would (its claim makes sure only one of them
/// does). Whether it went out; otherwise the runner tries again later.
pub async fn deliver_now(s: &Services, mail: &Job) -> bool {
    match crate::jobs::run_one(s, mail).await {
        Ok(Some(job)) => job.status == Status::Succeeded,
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(error = %e, job = %mail.id, "mail not delivered yet; the runner tries again");
            false
        }
    }
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
    let a = job.account_id.ok_or_else(|| Error::Internal("mail without an account".into()))?;
    let MailInput::Invitation { member_id, issued_at, key_id, inviter } = input;
    let Some(account) = s.store.get_account(a).await? else { return Ok(Sent::Moot) };
    if account.status != crate::domain::account::AccountStatus::Active {
        return Ok(Sent::Moot);
    }
    let (member, invitation) = match s.store.member_and_invitation(a, member_id).await? {
        (Some(m), Some(i)) if i.status == InvitationStatus::Pending && i.created_at == issued_at => (m, i),
        _ => return Ok(Sent::Moot),
    };
    let one = InvitationToSend { member: &member, invitation: &invitation, key_id: &key_id, inviter: &inviter };
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

/// An invitation whose mail is due.
pub struct InvitationToSend<'a> {
    pub member: &'a Member,
    pub invitation: &'a Invitation,
    pub key_id: &'a str,
    pub inviter: &'a str,
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
        .invitation_token(i.key_id, i.member.id, i.invitation.created_at)
        .await?
        .ok_or_else(|| Error::Refused("the secret version the link was made with is gone; resend it".into()))?;
    let link = format!("{}/invitations/accept?token={token}", s.config.public_url);
    let data = templates::invitation_data(&templates::InvitationMail {
        locale: &account.locale(),
        company: &account.company_name,
        inviter: i.inviter,
        invitee_first_name: &i.member.first_name,
        link: &link,
        expires_at: i.invitation.expires_at,
    });
    Ok(Destined { to: i.member.email.as_str().to_owned(), data })
}
