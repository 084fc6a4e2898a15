use super::records::{EMAIL_TAKEN, claim_email};
use super::tx::{Change, Condition, Tx, n, s};
use super::{Store, StoreError, StoreResult, from_item, keys, take_item};
use crate::domain::account::Account;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::invitation::Invitation;
use crate::domain::member::{LinkWindow, Member};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Global item: token hash → invitation. Kept past expiry so an old link gets a clear page.
#[derive(Serialize, Deserialize)]
struct TokenRef {
    account_id: AccountId,
    member_id: MemberId,
    ttl: i64,
}

/// How long after expiry a link still explains itself before it is simply unknown.
const TOKEN_REF_GRACE_DAYS: i64 = 30;

pub struct InvitationByToken {
    pub account: Account,
    /// Absent once the invitation was cancelled (the invited member is removed then).
    pub member: Option<Member>,
    pub invitation: Invitation,
}

/// Actions one invitation takes in a transaction: its email's claim, the member, the
/// invitation and its link's lookup.
pub const INVITATION_ACTIONS: usize = 4;

/// Invitations that commit together, with everything that goes with them. The one way a member
/// comes into an account (single, bulk and job invitations; later directory sync and SCIM):
/// the email's claim (unique in the account), the member and their stats, their invitation and
/// its link, group rotations, the system-log entries, the outbox, a job's checkpoint.
pub struct NewInvitations<'a> {
    pub invites: &'a [(Member, Invitation)],
    pub rotations: &'a [super::RotationChange<'a>],
    pub audits: &'a [AuditEntry],
    /// The job whose step this is: its checkpoint and the page of its result log saying so.
    pub job: Option<(&'a crate::jobs::Job, &'a super::ResultPage)>,
    /// The mail the invitations cause, as outbox entries.
    pub mail: &'a [crate::jobs::Job],
}

impl Store {
    /// A new member in `invited` state, the invitation, the token lookup and the audit entry.
    /// Fails with `EMAIL_TAKEN` when anyone in the account already has that email.
    pub async fn create_invitation(
        &self,
        member: &Member,
        invitation: &Invitation,
        groups: &[super::RotationChange<'_>],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let invites = [(member.clone(), invitation.clone())];
        let n = NewInvitations {
            invites: &invites,
            rotations: groups,
            audits: std::slice::from_ref(audit),
            job: None,
            mail: &[],
        };
        match self.create_invitations(&n).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::Conflict(EMAIL_TAKEN)),
        }
    }

    /// Commit `n` as one transaction. `Ok(Err(positions))`: these invitations' emails are
    /// taken (nothing was written; leave them out and try again). Any other broken invariant
    /// is `StoreError::Conflict` with its guard (`ROTATION_CHANGED`, `JOB_LOST`…).
    pub async fn create_invitations(&self, n: &NewInvitations<'_>) -> StoreResult<Result<(), Vec<usize>>> {
        let Some(a) = n.invites.first().map(|(m, _)| m.account_id).or(n.job.and_then(|(j, _)| j.account_id)) else {
            return Ok(Ok(()));
        };
        let mut tx = Tx::new();
        let mut claims = Vec::with_capacity(n.invites.len());
        let mut changes = Vec::with_capacity(n.invites.len());
        for (member, invitation) in n.invites {
            let ttl = (invitation.expires_at + Duration::days(TOKEN_REF_GRACE_DAYS)).timestamp();
            claims.push(tx.len());
            claim_email(&mut tx, a, &member.email, member.id)?;
            tx.create_raw("member_exists", super::records::member_item(member)?)?;
            tx.create("invitation_exists", &keys::invitation(a, member.id), invitation)?;
            tx.create(
                "token_exists",
                &keys::invitation_token(&invitation.token_hash),
                &TokenRef { account_id: a, member_id: member.id, ttl },
            )?;
            changes.push((None, Some(super::stats::state(member))));
        }
        if !changes.is_empty() {
            super::stats::count(&mut tx, a, &changes)?;
        }
        for g in n.rotations {
            super::records::write_rotation(&mut tx, g)?;
        }
        for audit in n.audits {
            tx.audit(a, audit)?;
        }
        for mail in n.mail {
            super::jobs::new_job_in(&mut tx, mail)?;
        }
        if let Some((job, page)) = n.job {
            super::jobs::result_page_in(&mut tx, job, page)?;
            super::jobs::held_job_in(&mut tx, job)?;
        }
        match tx.commit_or_failed(self).await? {
            Ok(()) => Ok(Ok(())),
            Err(failed) => {
                let taken: Vec<usize> = failed
                    .iter()
                    .filter(|(_, guard)| *guard == EMAIL_TAKEN)
                    .filter_map(|(i, _)| claims.iter().position(|c| c == i))
                    .collect();
                match failed.iter().find(|(_, guard)| *guard != EMAIL_TAKEN) {
                    // Another invariant broke too: that one decides (the batch is read again).
                    Some((_, guard)) => Err(StoreError::Conflict(guard)),
                    None => Ok(Err(taken)),
                }
            }
        }
    }

    /// Everything the accept page needs: two round trips, no scan.
    pub async fn invitation_by_token(&self, token_hash: &str) -> StoreResult<Option<InvitationByToken>> {
        let Some(r) = self.get::<TokenRef>(&keys::invitation_token(token_hash)).await? else {
            return Ok(None);
        };
        let (ka, km, ki) = (
            keys::account(r.account_id),
            keys::member(r.account_id, r.member_id),
            keys::invitation(r.account_id, r.member_id),
        );
        let mut items = self.batch_get(&[&ka, &km, &ki]).await?;
        let found = (take_item(&mut items, &ka), take_item(&mut items, &km), take_item(&mut items, &ki));
        match found {
            (Some(a), m, Some(i)) => Ok(Some(InvitationByToken {
                account: from_item(a)?,
                member: m.map(from_item).transpose()?,
                invitation: from_item(i)?,
            })),
            _ => Ok(None),
        }
    }

    /// The invitee sets a password: invitation used, member active, in one transaction. The
    /// conditions make a second use of the same link (or a race of two) fail.
    pub async fn accept_invitation(
        &self,
        found: &InvitationByToken,
        password_hash: &str,
        now: DateTime<Utc>,
        groups: &[super::RotationChange<'_>],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let (a, m) = (found.invitation.account_id, found.invitation.member_id);
        let mut tx = Tx::new();
        for g in groups {
            super::records::write_rotation(&mut tx, g)?;
        }
        tx.update(
            "invitation_not_pending",
            &keys::invitation(a, m),
            Change {
                update: "SET #status = :accepted, accepted_at = :now",
                // Expiry is part of the write: a link that expires while its page is open fails.
                // RFC 3339 in UTC compares as text; `:now` to the second, so a stored fraction
                // of the same second still counts as later.
                condition: "#status = :pending AND token_hash = :hash AND expires_at > :now_s",
                values: vec![
                    (":accepted", s("accepted")),
                    (":pending", s("pending")),
                    (":now", s(now.to_rfc3339())),
                    (":now_s", s(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))),
                    (":hash", s(found.invitation.token_hash.clone())),
                ],
                names: vec![("#status", "status")],
            },
        )?;
        tx.update(
            "member_not_invited",
            &keys::member(a, m),
            Change {
                update: "SET #status = :active, password_hash = :pw, last_login_at = :null, #version = #version + :one",
                condition: "#status = :invited",
                values: vec![
                    (":active", s("active")),
                    (":invited", s("invited")),
                    (":pw", s(password_hash)),
                    (":null", AttributeValue::Null(true)),
                    (":one", n(1)),
                ],
                names: vec![("#status", "status"), ("#version", "version")],
            },
        )?;
        if let Some(member) = &found.member {
            let invited = super::stats::state(member);
            super::stats::count(
                &mut tx,
                a,
                &[(Some(invited), Some((invited.0, crate::domain::member::MemberStatus::Active)))],
            )?;
        }
        super::sessions::account_active(&mut tx, a)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }
}

/// Guard of an invitation write when it is no longer pending with the link that was read.
pub const INVITATION_CHANGED: &str = "invitation_changed";

impl Store {
    /// A member and their invitation, in one round trip.
    pub async fn member_and_invitation(
        &self,
        a: AccountId,
        m: MemberId,
    ) -> StoreResult<(Option<Member>, Option<Invitation>)> {
        let (km, ki) = (keys::member(a, m), keys::invitation(a, m));
        let mut items = self.batch_get(&[&km, &ki]).await?;
        Ok((
            take_item(&mut items, &km).map(from_item).transpose()?,
            take_item(&mut items, &ki).map(from_item).transpose()?,
        ))
    }

    /// Invitations of these members, in one round trip per 100.
    pub async fn get_invitations(&self, a: AccountId, members: &[MemberId]) -> StoreResult<Vec<Invitation>> {
        let mut out = Vec::new();
        for chunk in members.chunks(100) {
            let wanted: Vec<_> = chunk.iter().map(|m| keys::invitation(a, *m)).collect();
            let refs: Vec<_> = wanted.iter().collect();
            for item in self.batch_get(&refs).await? {
                out.push(from_item(item)?);
            }
        }
        Ok(out)
    }

    /// Resend: a new link replaces the old one (which then shows "a newer invitation was sent").
    pub async fn renew_invitation(
        &self,
        old: &Invitation,
        renewed: &Invitation,
        audit: &AuditEntry,
        mail: &crate::jobs::Job,
    ) -> StoreResult<()> {
        let a = renewed.account_id;
        let ttl = (renewed.expires_at + Duration::days(TOKEN_REF_GRACE_DAYS)).timestamp();
        let mut tx = Tx::new();
        tx.update(
            INVITATION_CHANGED,
            &keys::invitation(a, renewed.member_id),
            Change {
                // The old link's lookup stays (it explains "a newer link was sent"); the
                // invitation remembers it so the account's purge finds it.
                update: "SET token_hash = :new, expires_at = :expires, created_at = :created, \
                         superseded = list_append(if_not_exists(superseded, :none), :old_list)",
                condition: "#status = :pending AND token_hash = :old",
                values: vec![
                    (":new", s(renewed.token_hash.clone())),
                    (":old", s(old.token_hash.clone())),
                    (":old_list", AttributeValue::L(vec![s(old.token_hash.clone())])),
                    (":none", AttributeValue::L(Vec::new())),
                    (":expires", s(renewed.expires_at.to_rfc3339())),
                    (":created", s(renewed.created_at.to_rfc3339())),
                    (":pending", s("pending")),
                ],
                names: vec![("#status", "status")],
            },
        )?;
        tx.create(
            "token_exists",
            &keys::invitation_token(&renewed.token_hash),
            &TokenRef { account_id: a, member_id: renewed.member_id, ttl },
        )?;
        // The member's copy of the link's dates; the version moves so no edit based on an
        // older read can put the old dates back.
        let mail_ref = crate::domain::member::MailRef::Outbox { job: mail.id };
        let window = super::to_attribute(&LinkWindow { mail: Some(mail_ref), ..renewed.window() })?;
        tx.update(
            super::MEMBER_CHANGED,
            &keys::member(a, renewed.member_id),
            Change {
                update: "SET invitation = :w, #version = #version + :one",
                condition: "#status = :invited",
                values: vec![(":w", window), (":one", super::tx::n(1)), (":invited", s("invited"))],
                names: vec![("#status", "status"), ("#version", "version")],
            },
        )?;
        tx.audit(a, audit)?;
        super::jobs::new_job_in(&mut tx, mail)?;
        tx.commit(self).await
    }

    /// Cancel: the invitation is marked cancelled (so its link says so), and the invited member
    /// and the claim on their email go, so the address can be invited again.
    pub async fn cancel_invitation(
        &self,
        member: &Member,
        groups: &[super::RotationChange<'_>],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let a = member.account_id;
        let mut tx = Tx::new();
        for g in groups {
            super::records::write_rotation(&mut tx, g)?;
        }
        tx.update(
            INVITATION_CHANGED,
            &keys::invitation(a, member.id),
            Change {
                update: "SET #status = :cancelled",
                condition: "#status = :pending",
                values: vec![(":cancelled", s("cancelled")), (":pending", s("pending"))],
                names: vec![("#status", "status")],
            },
        )?;
        tx.delete_where(
            super::MEMBER_CHANGED,
            &keys::member(a, member.id),
            Condition {
                condition: "#status = :invited AND #version = :v",
                values: vec![(":invited", s("invited")), (":v", super::tx::n(member.version))],
                names: vec![("#status", "status"), ("#version", "version")],
            },
        )?;
        tx.delete(&keys::member_email(a, &member.email))?;
        super::stats::count(&mut tx, a, &[(Some(super::stats::state(member)), None)])?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }
}
