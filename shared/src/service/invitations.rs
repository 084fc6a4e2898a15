//! Inviting a member and accepting the invitation (SPEC §2).
use super::invitation_jobs::{self, MailState};
use super::{Caller, Error, Result, Services, secrets};
use crate::domain::FieldError;
use crate::domain::FieldErrors;
use crate::domain::account::Account;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::bulk::{INLINE_MAX, Numbered, Outcome, Row, first_of_each_email, reason};
use crate::domain::email::Email;
use crate::domain::format::NAME;
use crate::domain::ids::MemberId;
use crate::domain::invitation::{Invitation, LinkProblem};
use crate::domain::member::{LinkWindow, MailRef, Member, MemberSource, MemberStatus};
use crate::domain::password::Password;
use crate::domain::permissions::{OptionalPermission, Permission};
use crate::domain::text::required_text;
use crate::store::{InvitationAdmission, InvitationByToken, NewInvitations, StoreError};
use chrono::Utc;

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    #[schema(schema_with = crate::http::openapi::field::email)]
    pub email: String,
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub first_name: String,
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub last_name: String,
    /// admin, supervisor, pro_agent, agent, viewer or a custom role's id.
    #[schema(schema_with = crate::http::openapi::field::role)]
    pub role: String,
    /// Conversation-platform permissions on top of the role.
    #[serde(default)]
    pub optional_permissions: Vec<OptionalPermission>,
    /// Ids of groups the member joins (they take turns once they have accepted).
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::invite_groups)]
    pub groups: Vec<String>,
}

pub struct Invited {
    pub member: Member,
    pub invitation: Invitation,
    /// False when the mail service failed; the invitation stands and can be resent.
    pub email_sent: bool,
}

pub async fn invite(s: &Services, caller: &Caller, cmd: Invite) -> Result<Invited> {
    invite_from(s, caller, cmd, MemberSource::Manual).await
}

/// An invitation made by a person (`Manual`) or on a directory's word (`Directory`): the same
/// checks, transaction and mail.
pub(crate) async fn invite_from(s: &Services, caller: &Caller, cmd: Invite, source: MemberSource) -> Result<Invited> {
    caller.require(Permission::InvitationsManage)?;
    let mut errors = FieldErrors::new();
    let email = errors.take(Email::parse("email", &cmd.email));
    let first = errors.take(required_text("first_name", &cmd.first_name, &NAME));
    let last = errors.take(required_text("last_name", &cmd.last_name, &NAME));
    errors.finish()?;
    let (Some(email), Some(first), Some(last)) = (email, first, last) else {
        return Err(Error::Internal("validation passed without values".into()));
    };
    let role = super::roles::assignable(s, caller, "role", &cmd.role).await?.id();
    let groups = super::groups::group_ids(caller, &cmd.groups)?;
    let mut optional_permissions = cmd.optional_permissions;
    optional_permissions.sort_by_key(|x| *x as u8);
    optional_permissions.dedup();
    let person = Person { email, first_name: first, last_name: last, role, groups, optional_permissions };

    let admitted = admit(s, caller).await?;
    let (mut member, invitation) = issue(s, caller, person, Utc::now()).await?;
    member.source = source;
    let audit = created_audit(caller, &member, &invitation);
    let mail = super::outbox::invitation_mail(caller, &invitation, s.keys.key_id())?;
    member.invitation = Some(LinkWindow { mail: Some(MailRef::Outbox { job: mail.id }), ..invitation.window() });
    if let Err(e) = create(s, caller, &member, &invitation, &audit, &mail).await {
        s.store.invitation_not_sent(caller.account_id(), &admitted).await?;
        return Err(e);
    }
    // A person waits for their answer; a job (a directory run) leaves the mail to the runner,
    // which sends it next, rather than run a job within its own.
    let email_sent = caller.job.is_none() && super::outbox::deliver_now(s, &mail).await;
    Ok(Invited { member, invitation, email_sent })
}

/// Someone to invite, checked.
#[derive(Clone)]
pub(crate) struct Person {
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    pub role: crate::domain::role::RoleRef,
    pub groups: Vec<crate::domain::ids::GroupId>,
    pub optional_permissions: Vec<OptionalPermission>,
}

/// A new invitation as of `now`: the invited member and the invitation, whose link's token is
/// derived from both (so the mail can be sent later without keeping the token).
pub(crate) async fn issue(
    s: &Services,
    caller: &Caller,
    p: Person,
    now: chrono::DateTime<Utc>,
) -> Result<(Member, Invitation)> {
    let a = caller.account_id();
    let mut member = Member::new(a, p.email, p.first_name, p.last_name, p.role, MemberStatus::Invited, now);
    member.optional_permissions = p.optional_permissions;
    member.groups = p.groups;
    let token = s
        .keys
        .invitation_token(s.keys.key_id(), member.id, now)
        .await?
        .ok_or_else(|| Error::Internal("the current secret has no key".into()))?;
    let invitation = Invitation::new(
        a,
        member.id,
        caller.member_id(),
        secrets::token_hash(&token),
        now,
        caller.account.invitation_validity_days,
    );
    member.invitation = Some(invitation.window());
    Ok((member, invitation))
}

/// The system-log entry of a new invitation.
pub(crate) fn created_audit(caller: &Caller, member: &Member, invitation: &Invitation) -> AuditEntry {
    AuditEntry::new(
        caller.actor(),
        "invitation.created",
        "member",
        member.id,
        serde_json::json!({
            "email": member.email, "first_name": member.first_name, "last_name": member.last_name,
            "role": member.role, "groups": member.groups, "expires_at": invitation.expires_at,
        }),
    )
}

async fn create(
    s: &Services,
    caller: &Caller,
    member: &Member,
    invitation: &Invitation,
    audit: &AuditEntry,
    mail: &crate::jobs::Job,
) -> Result<()> {
    let invites = [(member.clone(), invitation.clone())];
    for attempt in 0.. {
        let seats = super::groups::joining(s, caller, &member.groups, member.id).await?;
        let rotations = super::groups::rotation_changes(&seats);
        let batch = NewInvitations {
            invites: &invites,
            rotations: &rotations,
            audits: std::slice::from_ref(audit),
            job: None,
            mail: std::slice::from_ref(mail),
        };
        match s.store.create_invitations(&batch).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(_)) => {
                return Err(Error::conflict(
                    "already_member",
                    "someone with this email is already a member or invited",
                ));
            }
            // A group's members changed meanwhile: read its rotation again.
            Err(StoreError::Conflict(crate::store::ROTATION_CHANGED)) if attempt < 3 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// One more invitation mail for the account, counted before anything is written: the hourly
/// limit (429 with `Retry-After`), and the small cap while the owner's email is unverified.
async fn admit(s: &Services, caller: &Caller) -> Result<InvitationAdmission> {
    match s.store.admit_invitation(&caller.account, Utc::now().timestamp()).await? {
        InvitationAdmission::HourlyLimit { retry_after } => Err(Error::RateLimited {
            message: "this account has sent as many invitations as it may this hour",
            retry_after,
        }),
        InvitationAdmission::Unverified => Err(Error::EmailNotVerified),
        allowed => Ok(allowed),
    }
}

/// Pending invitations, newest members last, with their link's dates.
pub async fn list_pending(
    s: &Services,
    caller: &Caller,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<(Vec<(Member, LinkWindow, Option<MailState>)>, Option<String>)> {
    caller.require(Permission::InvitationsManage)?;
    let filter = crate::store::MemberFilter { status: Some(MemberStatus::Invited), ..Default::default() };
    let page = super::members::page(s, caller, &filter, limit, cursor).await?;
    // Members written before they carried their link's dates: read those from the invitations.
    let missing: Vec<MemberId> = page.members.iter().filter(|m| m.invitation.is_none()).map(|m| m.id).collect();
    let invitations =
        if missing.is_empty() { Vec::new() } else { s.store.get_invitations(caller.account_id(), &missing).await? };
    let paired: Vec<(Member, LinkWindow)> = page
        .members
        .into_iter()
        .filter_map(|m| {
            let window =
                m.invitation.or_else(|| invitations.iter().find(|i| i.member_id == m.id).map(Invitation::window))?;
            Some((m, window))
        })
        .collect();
    let mail = mail_states(s, caller.account_id(), paired.iter().map(|(_, w)| w.mail)).await?;
    Ok((paired.into_iter().zip(mail).map(|((m, w), mail)| (m, w, mail)).collect(), page.next_cursor))
}

/// What became of each listed invitation's mail, in a few reads: the outbox entries in one
/// batch, each invitation job's checkpoint and each result page once.
async fn mail_states(
    s: &Services,
    a: crate::domain::ids::AccountId,
    refs: impl Iterator<Item = Option<MailRef>>,
) -> Result<Vec<Option<MailState>>> {
    use crate::jobs::{Kind, Status};
    use std::collections::HashMap;
    let refs: Vec<Option<MailRef>> = refs.collect();
    let outbox: Vec<_> =
        refs.iter().filter_map(|r| if let Some(MailRef::Outbox { job }) = r { Some(*job) } else { None }).collect();
    let entries: HashMap<_, Status> = if outbox.is_empty() {
        HashMap::new()
    } else {
        s.store.get_jobs_of(Some(a), Kind::SendMail, &outbox).await?.into_iter().map(|j| (j.id, j.status)).collect()
    };
    let mut jobs = HashMap::new();
    let mut pages = HashMap::new();
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        out.push(match r {
            None => None,
            Some(MailRef::Outbox { job }) => entries.get(&job).map(|status| match status {
                Status::Succeeded => MailState::Sent,
                Status::Failed | Status::Cancelled => MailState::Failed,
                _ => MailState::Pending,
            }),
            Some(MailRef::Job { job, page, row }) => {
                if let std::collections::hash_map::Entry::Vacant(e) = jobs.entry(job) {
                    e.insert(s.store.get_job_of(Some(a), Kind::InviteRows, job).await?);
                }
                match jobs.get(&job) {
                    Some(Some(j)) => {
                        if let std::collections::hash_map::Entry::Vacant(e) = pages.entry((job, page)) {
                            let (found, _) = s.store.result_pages(j, Some(page), 1).await?;
                            e.insert(found.into_iter().next().filter(|p| p.first == page));
                        }
                        match pages.get(&(job, page)) {
                            Some(Some(p)) => Some(invitation_jobs::row_mail(p, &invitation_jobs::checkpoint(j), row)),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
        });
    }
    Ok(out)
}

/// A pending invitation and its member, or 404.
async fn pending(s: &Services, caller: &Caller, member_id: &str) -> Result<(Member, Invitation)> {
    let not_found = || Error::NotFound("invitation");
    let id = MemberId::parse(member_id).ok_or_else(not_found)?;
    let a = caller.account_id();
    match s.store.member_and_invitation(a, id).await? {
        (Some(member), Some(invitation)) if member.status == MemberStatus::Invited => {
            super::roles::may_manage(s, caller, &member).await?;
            Ok((member, invitation))
        }
        _ => Err(not_found()),
    }
}

/// Send a new link; the old one stops working. The validity starts again from now.
pub async fn resend(s: &Services, caller: &Caller, member_id: &str) -> Result<Invited> {
    caller.require(Permission::InvitationsManage)?;
    let (member, old) = pending(s, caller, member_id).await?;
    let admitted = admit(s, caller).await?;
    let now = Utc::now();
    let token = s
        .keys
        .invitation_token(s.keys.key_id(), member.id, now)
        .await?
        .ok_or_else(|| Error::Internal("the current secret has no key".into()))?;
    let renewed = Invitation::new(
        caller.account_id(),
        member.id,
        caller.member_id(),
        secrets::token_hash(&token),
        now,
        caller.account.invitation_validity_days,
    );
    let audit = AuditEntry::new(
        caller.actor(),
        "invitation.resent",
        "member",
        member.id,
        serde_json::json!({ "email": member.email, "expires_at": renewed.expires_at }),
    );
    let mail = super::outbox::invitation_mail(caller, &renewed, s.keys.key_id())?;
    let renewal = match s.store.renew_invitation(&old, &renewed, &audit, &mail).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(crate::store::INVITATION_CHANGED)) => {
            Err(Error::conflict("invitation_changed", "the invitation changed meanwhile; reload and retry"))
        }
        Err(e) => Err(e.into()),
    };
    if let Err(e) = renewal {
        s.store.invitation_not_sent(caller.account_id(), &admitted).await?;
        return Err(e);
    }
    let email_sent = super::outbox::deliver_now(s, &mail).await;
    Ok(Invited { member, invitation: renewed, email_sent })
}

/// Withdraw an invitation: its link says "cancelled" and the email can be invited again.
pub async fn cancel(s: &Services, caller: &Caller, member_id: &str, memo: Option<String>) -> Result<()> {
    caller.require(Permission::InvitationsManage)?;
    let (member, _) = pending(s, caller, member_id).await?;
    let mut audit = AuditEntry::new(
        caller.actor(),
        "invitation.cancelled",
        "member",
        member.id,
        serde_json::json!({ "email": member.email, "first_name": member.first_name, "last_name": member.last_name }),
    );
    audit.memo = memo;
    // The invitee already holds seats in their groups: they go the way a deleted member's do.
    let seats = super::groups::seats(s, &member, None).await?;
    match s.store.cancel_invitation(&member, &super::groups::rotation_changes(&seats), &audit).await {
        Ok(()) => Ok(()),
        // Accepted or cancelled in between.
        Err(StoreError::Conflict(_)) => Err(Error::NotFound("invitation")),
        Err(e) => Err(e.into()),
    }
}

/// What the accept page shows for a token.
pub enum LinkState {
    Usable(Box<InvitationByToken>),
    /// The account is known when the link was real, so the page can speak its language.
    Unusable(LinkProblem, Option<Box<Account>>),
}

pub async fn open_link(s: &Services, token: &str) -> Result<LinkState> {
    let hash = secrets::token_hash(token);
    let Some(found) = s.store.invitation_by_token(&hash).await? else {
        return Ok(LinkState::Unusable(LinkProblem::Unknown, None));
    };
    // An account being deleted takes nobody in.
    if found.account.status != crate::domain::account::AccountStatus::Active {
        return Ok(LinkState::Unusable(LinkProblem::Unknown, None));
    }
    match (found.invitation.usable_at(&hash, Utc::now()), &found.member) {
        (Ok(()), Some(_)) => Ok(LinkState::Usable(Box::new(found))),
        // A pending invitation without its member was cancelled in between.
        (Ok(()), None) => Ok(LinkState::Unusable(LinkProblem::Cancelled, Some(Box::new(found.account)))),
        (Err(problem), _) => Ok(LinkState::Unusable(problem, Some(Box::new(found.account)))),
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
    let Some(m) = found.member.as_ref() else {
        return Ok(AcceptOutcome::Rejected(LinkState::Unusable(
            LinkProblem::Cancelled,
            Some(Box::new(found.account.clone())),
        )));
    };
    let hash = secrets::hash_password(password.expose().to_owned()).await?;
    let now = Utc::now();
    let audit = AuditEntry::new(
        Actor::Member { id: m.id, name: m.full_name() },
        "invitation.accepted",
        "member",
        m.id,
        serde_json::json!({ "email": m.email, "status": MemberStatus::Active }),
    );
    // An invitee already placed in groups takes their turn in them from now on.
    let mut active = m.clone();
    active.status = MemberStatus::Active;
    for _ in 0..3 {
        let seats = super::groups::seats(s, m, Some(&active)).await?;
        match s.store.accept_invitation(&found, &hash, now, &super::groups::rotation_changes(&seats), &audit).await {
            Ok(()) => return Ok(AcceptOutcome::Accepted(found)),
            // A group's members changed meanwhile: read its rotation again.
            Err(StoreError::Conflict(crate::store::ROTATION_CHANGED)) => continue,
            // Used (or cancelled) between opening the page and submitting it.
            Err(StoreError::Conflict(_)) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(AcceptOutcome::Rejected(LinkState::Unusable(LinkProblem::Used, Some(Box::new(found.account.clone())))))
}

/// What became of one row of a bulk invitation.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RowResult {
    /// The CSV line (the header is line 1), or the position in the JSON list from 1.
    pub line: u64,
    pub email: String,
    pub outcome: Outcome,
    /// Why the row was not invited.
    pub reason: Option<String>,
    #[schema(value_type = Option<String>)]
    pub member_id: Option<crate::domain::ids::MemberId>,
    /// For an invited row: whether its email went out (otherwise resend it).
    pub email_sent: Option<bool>,
}

/// Invite every row that can be, each exactly as a single invitation would (the same checks,
/// the same transaction, the same mail), and say what became of every row. Roles and groups may
/// be named as people write them (names in any case) or by id.
pub async fn invite_rows(
    s: &Services,
    caller: &Caller,
    rows: Vec<Numbered<std::result::Result<Row, String>>>,
) -> Result<Vec<RowResult>> {
    caller.require(Permission::InvitationsManage)?;
    if rows.len() > INLINE_MAX {
        let message = format!("at most {INLINE_MAX} rows per request; send larger lists as an invitation job");
        return Err(FieldError::new("rows", "too_many", message).into());
    }
    let a = caller.account_id();
    let (roles, groups) = (s.store.list_roles(a).await?, s.store.list_groups(a).await?);
    let firsts = first_of_each_email(&rows);
    let mut out = Vec::with_capacity(rows.len());
    let mut pending: Vec<_> = rows.into_iter().zip(firsts).collect();
    let mut limited = false;
    while !pending.is_empty() {
        // Rows that join groups go one at a time: side by side they would contend for the
        // groups' rotations.
        let joins = |(r, _): &(Numbered<std::result::Result<Row, String>>, Option<u64>)| {
            r.row.as_ref().is_ok_and(|row| !row.groups.is_empty())
        };
        let take = match pending.iter().position(joins) {
            Some(0) => 1,
            Some(i) => i.min(ROWS_AT_ONCE),
            None => ROWS_AT_ONCE.min(pending.len()),
        };
        let batch: Vec<_> = pending.drain(..take).collect();
        let done = futures::future::join_all(
            batch.into_iter().map(|(r, first)| invite_row(s, caller, &roles, &groups, r, first, limited)),
        )
        .await;
        for row in done {
            let row = row?;
            limited |= row.outcome == Outcome::RateLimited;
            out.push(row);
        }
    }
    Ok(out)
}

/// Rows invited side by side (each its own transaction and mail).
const ROWS_AT_ONCE: usize = 4;

async fn invite_row(
    s: &Services,
    caller: &Caller,
    roles: &[crate::domain::role::CustomRole],
    groups: &[crate::domain::group::Group],
    r: Numbered<std::result::Result<Row, String>>,
    first: Option<u64>,
    limited: bool,
) -> Result<RowResult> {
    let email = r.row.as_ref().map(|x| x.email.trim().to_owned()).unwrap_or_default();
    let result = |outcome, reason: Option<String>| RowResult {
        line: r.line,
        email: email.clone(),
        outcome,
        reason,
        member_id: None,
        email_sent: None,
    };
    let row = match (r.row.clone(), first) {
        (Err(reason), _) => return Ok(result(Outcome::Invalid, Some(reason))),
        (Ok(_), Some(first)) => {
            return Ok(result(Outcome::SkippedDuplicateRow, Some(format!("the same email as line {first}"))));
        }
        (Ok(_), None) if limited => {
            return Ok(result(Outcome::RateLimited, Some("the account's invitation limit was reached".into())));
        }
        (Ok(row), None) => row,
    };
    let cmd = Invite {
        email: row.email,
        first_name: row.first_name,
        last_name: row.last_name,
        role: role_id(roles, &row.role),
        optional_permissions: Vec::new(),
        groups: row.groups.iter().map(|g| group_id(groups, g)).collect(),
    };
    Ok(match invite(s, caller, cmd).await {
        Ok(done) => RowResult {
            member_id: Some(done.member.id),
            email_sent: Some(done.email_sent),
            ..result(Outcome::Invited, None)
        },
        Err(Error::Conflict { code: "already_member", message }) => result(Outcome::SkippedExisting, Some(message)),
        Err(Error::Validation(e) | Error::Unknown(e)) => result(Outcome::Invalid, Some(reason(&e))),
        Err(Error::Forbidden(m)) => result(Outcome::Invalid, Some(m.to_owned())),
        Err(Error::RateLimited { message, .. }) => result(Outcome::RateLimited, Some(message.to_owned())),
        Err(Error::EmailNotVerified) => {
            result(Outcome::RateLimited, Some("the owner's email is not confirmed yet".into()))
        }
        Err(other) => return Err(other),
    })
}

/// A role as a person writes it: its id, or its name in any case and spacing.
pub(crate) fn role_id(custom: &[crate::domain::role::CustomRole], raw: &str) -> String {
    let key = crate::domain::role::name_key(raw);
    let basic = crate::domain::permissions::BasicRole::ALL
        .into_iter()
        .map(crate::domain::role::Role::Basic)
        .find(|r| crate::domain::role::name_key(r.name()) == key || r.id().to_string() == raw.trim());
    match basic {
        Some(r) => r.id().to_string(),
        None => custom
            .iter()
            .find(|c| crate::domain::role::name_key(&c.name) == key || c.id.to_string() == raw.trim())
            .map_or_else(|| raw.trim().to_owned(), |c| c.id.to_string()),
    }
}

/// A group as a person writes it: its id, or its name in any case and spacing.
pub(crate) fn group_id(groups: &[crate::domain::group::Group], raw: &str) -> String {
    let key = crate::domain::group::name_key(raw);
    groups
        .iter()
        .find(|g| crate::domain::group::name_key(&g.name) == key || g.id.to_string() == raw.trim())
        .map_or_else(|| raw.trim().to_owned(), |g| g.id.to_string())
}
