//! One step of an invitation job. Rows are invited in transactions of up to `PER_TX`, each
//! committing the invitations, their system-log entries, the page of the job's result log that
//! reports those rows, and the job's checkpoint together: a crash or a lost lease redoes nothing
//! and loses nothing. Their mail goes out in `SendBulkEmail` calls of up to 50, and how far the
//! mail has gone is part of the checkpoint, so a resumed job sends only what was not sent.
use super::invitations::Person;
use super::outbox::{InvitationToSend, destined, mail_error};
use super::{Caller, Error, Result, Services};
use crate::domain::bulk::{Outcome, Row};
use crate::domain::email::Email;
use crate::domain::format::NAME;
use crate::domain::group::Group;
use crate::domain::ids::MemberId;
use crate::domain::invitation::Invitation;
use crate::domain::member::{LinkWindow, MailRef, Member};
use crate::domain::permissions::Permission;
use crate::domain::role::{CustomRole, Role, RoleRef};
use crate::jobs::{InviteCheckpoint, InviteInput, Job, MAX_ATTEMPTS, Step, retry_delay};
use crate::mail::bulk::{BULK_MAX, Delivery, Destined};
use crate::store::{INVITATION_ACTIONS, JobResult, NewInvitations, PageNote, ResultPage, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rows one step reads and invites (then the runner checkpoints and may hand over).
pub const STEP_ROWS: u64 = 1_000;
/// Invitations in one transaction: DynamoDB's 100 actions, less the counters, the result page
/// and the checkpoint, over an invitation's actions plus its system-log entry.
pub const PER_TX: usize = (100 - 3) / (INVITATION_ACTIONS + 1);
// As many as fit, and no more (checked when compiling).
const _: () =
    assert!(PER_TX * (INVITATION_ACTIONS + 1) + 3 <= 100 && (PER_TX + 1) * (INVITATION_ACTIONS + 1) + 3 > 100);
/// Entries on one result page at most (rows that invite nobody add entries, not actions).
const PAGE_ENTRIES: usize = 200;

/// A row as the job keeps it: what was read, and what the whole list says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRow {
    pub line: u64,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<Row>,
    /// Why the row cannot be read as a person to invite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
    /// The line of the earlier row with the same email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<u64>,
}

/// What a page keeps for sending its invitations' mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PageMail {
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    key_id: String,
    inviter: String,
}

/// An entry's details (one row's result).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Detail {
    pub line: u64,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<MemberId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
}

pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Invited => "invited",
        Outcome::SkippedExisting => "skipped_existing",
        Outcome::SkippedDuplicateRow => "skipped_duplicate_row",
        Outcome::Invalid => "invalid",
        Outcome::RateLimited => "rate_limited",
    }
}

/// One step: first any mail still owed, then the next rows.
pub async fn step(s: &Services, job: &Job, at: InviteCheckpoint) -> Result<Step<InviteCheckpoint>> {
    let input: InviteInput = job.input_as()?;
    // Whoever started it, as they are now: a member who lost the right stops the job.
    let caller = super::caller::starter(s, job).await?;
    caller.require(Permission::InvitationsManage)?;
    if at.mailed < at.next {
        return owed_mail(s, job, &caller, at).await;
    }
    if at.next >= input.rows {
        return Ok(Step::to(None, Vec::new(), Vec::new()));
    }
    Invite::new(s, job, caller, at).run(&input).await
}

/// A step that invites rows.
struct Invite<'a> {
    s: &'a Services,
    job: &'a Job,
    caller: Caller,
    at: InviteCheckpoint,
    counts: BTreeMap<&'static str, u64>,
    /// Mail of committed rows that has not gone yet, in row order.
    queued: Vec<Owed>,
    /// Where the last committed page ends.
    committed: u64,
    /// Whether the checkpoint moved since the last transaction wrote it.
    unsaved: bool,
}

impl<'a> Invite<'a> {
    fn new(s: &'a Services, job: &'a Job, caller: Caller, at: InviteCheckpoint) -> Self {
        let committed = at.next;
        Self { s, job, caller, at, counts: BTreeMap::new(), queued: Vec::new(), committed, unsaved: false }
    }

    async fn run(mut self, input: &InviteInput) -> Result<Step<InviteCheckpoint>> {
        let end = (self.at.next + STEP_ROWS).min(input.rows);
        let rows: Vec<(u64, InputRow)> =
            super::job_input::load(self.s, self.job, &input.chunks, self.at.next, end).await?;
        let a = self.caller.account_id();
        let (roles, groups) = (self.s.store.list_roles(a).await?, self.s.store.list_groups(a).await?);
        let now = Utc::now();
        let mut people = Vec::with_capacity(rows.len());
        for (index, row) in rows {
            people.push((index, person_of(&self.caller, &roles, &groups, &row), row));
        }
        // The account's invitation limits, for every row that would invite someone.
        let wanted = people.iter().filter(|(_, p, _)| p.is_ok()).count();
        let admitted = self
            .s
            .store
            .admit_invitations(&self.caller.account, u32::try_from(wanted).unwrap_or(u32::MAX), now.timestamp())
            .await?;
        let mut allowed = admitted.allowed as usize;
        let mut wait = None;
        if allowed < wanted {
            // Stop before the first row the limit does not allow; continue when it does.
            let cut = people.iter().position(|(_, p, _)| {
                if p.is_err() {
                    return false;
                }
                if allowed == 0 {
                    return true;
                }
                allowed -= 1;
                false
            });
            if let Some(cut) = cut {
                people.truncate(cut);
            }
            wait = admitted.retry_after.map(|secs| now + chrono::Duration::seconds(secs));
        }
        let key_id = self.s.keys.key_id().to_owned();
        let mail = PageMail {
            issued_at: now,
            expires_at: now + chrono::Duration::days(i64::from(self.caller.account.invitation_validity_days)),
            key_id,
            inviter: self.caller.display_name(),
        };
        let mut not_sent = 0u32;
        let mut rest = people.as_slice();
        while !rest.is_empty() {
            let take = page_len(rest.iter().map(|(_, p, _)| p.as_ref().ok().map(|p| !p.groups.is_empty())));
            let (page, later) = rest.split_at(take.min(rest.len()));
            rest = later;
            not_sent += match self.page(page, &mail, now).await {
                Ok(n) => n,
                Err(e) => {
                    self.s.store.invitations_not_sent(a, &admitted, not_sent).await?;
                    return Err(self.stopped(e).await);
                }
            };
            if let Some(stop) = self.send_while(BULK_MAX).await? {
                self.s.store.invitations_not_sent(a, &admitted, not_sent).await?;
                return Ok(stop);
            }
        }
        self.s.store.invitations_not_sent(a, &admitted, not_sent).await?;
        if let Some(stop) = self.send_while(1).await? {
            return Ok(stop);
        }
        let done = self.at.next >= input.rows && self.at.mailed >= self.at.next;
        let counts: Vec<(&'static str, u64)> = self.counts.into_iter().collect();
        Ok(Step {
            next: (!done).then_some(self.at),
            outcomes: Vec::new(),
            counts,
            saved: !self.unsaved,
            wait: wait.filter(|_| !done),
            hold: false,
        })
    }

    /// Invite one page of rows in one transaction (the rows whose emails turn out to be taken
    /// are left out and reported so). How many admitted invitations were not used.
    async fn page(
        &mut self,
        page: &[(u64, std::result::Result<Person, String>, InputRow)],
        mail: &PageMail,
        now: DateTime<Utc>,
    ) -> Result<u32> {
        let (Some(first), Some(last)) = (page.first().map(|p| p.0), page.last().map(|p| p.0)) else {
            return Ok(0);
        };
        let mut entries: BTreeMap<u64, (Outcome, Detail)> = BTreeMap::new();
        let mut invites: Vec<(u64, u64, Member, Invitation)> = Vec::new();
        for (index, person, row) in page {
            match person {
                Err(reason) => {
                    let outcome =
                        if row.duplicate_of.is_some() { Outcome::SkippedDuplicateRow } else { Outcome::Invalid };
                    let detail = Detail {
                        line: row.line,
                        email: row.email.clone(),
                        reason: Some(reason.clone()),
                        ..Detail::default()
                    };
                    entries.insert(*index, (outcome, detail));
                }
                Ok(p) => {
                    let (mut member, invitation) =
                        super::invitations::issue(self.s, &self.caller, p.clone(), now).await?;
                    // Its mail is followed on this row of the job's result page `first`.
                    let mail = MailRef::Job { job: self.job.id, page: first, row: *index };
                    member.invitation = Some(LinkWindow { mail: Some(mail), ..invitation.window() });
                    invites.push((*index, row.line, member, invitation));
                }
            }
        }
        let mut not_sent = 0;
        for attempt in 0.. {
            let pairs: Vec<(Member, Invitation)> = invites.iter().map(|(_, _, m, i)| (m.clone(), i.clone())).collect();
            let audits: Vec<_> =
                pairs.iter().map(|(m, i)| super::invitations::created_audit(&self.caller, m, i)).collect();
            let joining = match pairs.first() {
                Some((m, _)) if pairs.len() == 1 && !m.groups.is_empty() => {
                    super::groups::joining(self.s, &self.caller, &m.groups, m.id).await?
                }
                _ => Vec::new(),
            };
            let rotations = super::groups::rotation_changes(&joining);
            let mut all = entries.clone();
            for (index, line, m, _) in &invites {
                let detail = Detail {
                    line: *line,
                    email: m.email.as_str().to_owned(),
                    member_id: Some(m.id),
                    first_name: Some(m.first_name.clone()),
                    last_name: Some(m.last_name.clone()),
                    reason: None,
                };
                all.insert(*index, (Outcome::Invited, detail));
            }
            let mut counts = self.counts.clone();
            for (outcome, _) in all.values() {
                *counts.entry(outcome_name(*outcome)).or_default() += 1;
            }
            let at = InviteCheckpoint { next: last + 1, ..self.at.clone() };
            let counted: Vec<(&'static str, u64)> = counts.iter().map(|(k, v)| (*k, *v)).collect();
            let held = self.job.advanced(to_value(&at)?, &counted, now);
            let result_page = ResultPage {
                first,
                entries: all
                    .iter()
                    .map(|(index, (outcome, detail))| {
                        Ok(JobResult {
                            index: *index,
                            outcome: outcome_name(*outcome).to_owned(),
                            detail: to_value(detail)?,
                            at: now,
                        })
                    })
                    .collect::<Result<_>>()?,
                about: if invites.is_empty() { serde_json::Value::Null } else { to_value(mail)? },
                notes: Vec::new(),
            };
            let batch = NewInvitations {
                invites: &pairs,
                rotations: &rotations,
                audits: &audits,
                job: Some((&held, &result_page)),
                mail: &[],
            };
            match self.s.store.create_invitations(&batch).await {
                Ok(Ok(())) => {
                    crate::jobs::fault::point("rows_committed");
                    self.counts = counts;
                    self.at = at;
                    self.committed = last + 1;
                    self.unsaved = false;
                    for (index, d) in self.destined(&invites, mail).await? {
                        self.queued.push(Owed { page: first, index, to: d });
                    }
                    if self.queued.is_empty() {
                        (self.at.mailed, self.at.mailed_page) = (self.committed, self.committed);
                    }
                    return Ok(not_sent);
                }
                Ok(Err(taken)) => {
                    // Already members (or invited meanwhile): those rows are skipped, the rest go.
                    for pos in taken.iter().rev() {
                        if *pos < invites.len() {
                            let (index, line, m, _) = invites.remove(*pos);
                            let detail = Detail {
                                line,
                                email: m.email.as_str().to_owned(),
                                reason: Some("someone with this email is already a member or invited".into()),
                                ..Detail::default()
                            };
                            entries.insert(index, (Outcome::SkippedExisting, detail));
                            not_sent += 1;
                        }
                    }
                }
                // A group's members changed meanwhile: read its rotation again.
                Err(StoreError::Conflict(crate::store::ROTATION_CHANGED)) if attempt < 3 => {}
                Err(StoreError::Conflict(crate::store::JOB_LOST)) => {
                    return Err(Error::conflict("job_lost", "another runner holds the job"));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(not_sent)
    }

    /// The step stops with `e`. When the job was cancelled meanwhile, the rows already
    /// invited still get their mail (they are done; only rows not reached are never sent).
    async fn stopped(&mut self, e: Error) -> Error {
        let cancelled = matches!(&e, Error::Conflict { code: "job_lost", .. })
            && matches!(
                self.s.store.get_job_of(self.job.account_id, self.job.kind, self.job.id).await,
                Ok(Some(j)) if j.status == crate::jobs::Status::Cancelled
            );
        if cancelled && let Err(mail) = self.send_while(1).await {
            tracing::warn!(error = %mail, job = %self.job.id, "mail of a cancelled job's last rows not sent");
        }
        e
    }

    async fn destined(
        &self,
        invites: &[(u64, u64, Member, Invitation)],
        mail: &PageMail,
    ) -> Result<Vec<(u64, Destined)>> {
        let mut out = Vec::with_capacity(invites.len());
        for (index, _, m, i) in invites {
            let one = InvitationToSend::of(m, i, &mail.key_id, &mail.inviter);
            out.push((*index, destined(self.s, &self.caller.account, &one).await?));
        }
        Ok(out)
    }

    /// Send the queued mail in calls of `BULK_MAX` while at least `at_least` (≥ 1) are queued:
    /// `BULK_MAX` sends only full calls, 1 sends everything.
    async fn send_while(&mut self, at_least: usize) -> Result<Option<Step<InviteCheckpoint>>> {
        while !self.queued.is_empty() && self.queued.len() >= at_least {
            if let Some(stop) = self.send_queued().await? {
                return Ok(Some(stop));
            }
        }
        Ok(None)
    }

    /// Send the first `BULK_MAX` queued: the checkpoint's mail mark moves past them (written with the
    /// next transaction, or by the runner after the step), or — the mail service is down — the
    /// step ends and the job waits.
    async fn send_queued(&mut self) -> Result<Option<Step<InviteCheckpoint>>> {
        let batch: Vec<Owed> = self.queued.drain(..BULK_MAX.min(self.queued.len())).collect();
        match send(self.s, self.job, &self.caller.account, &batch, self.at.mail_attempts).await? {
            outcome @ (Mailed::Done | Mailed::GaveUp) => {
                if outcome == Mailed::Done {
                    self.at.mail_attempts = 0;
                }
                match self.queued.first() {
                    // Every invited row before the next one owed is done.
                    Some(next) => (self.at.mailed, self.at.mailed_page) = (next.index, next.page),
                    None => (self.at.mailed, self.at.mailed_page) = (self.committed, self.committed),
                }
                self.unsaved = true;
                Ok(None)
            }
            Mailed::Later => {
                // From the batch on, the mail is owed: the next step reads it back.
                if let Some(first) = batch.first() {
                    (self.at.mailed, self.at.mailed_page) = (first.index, first.page);
                }
                self.queued.clear();
                self.at.mail_attempts += 1;
                let wait = Utc::now() + retry_delay(self.at.mail_attempts);
                let counts = std::mem::take(&mut self.counts).into_iter().collect();
                Ok(Some(Step {
                    next: Some(self.at.clone()),
                    outcomes: Vec::new(),
                    counts,
                    saved: false,
                    wait: Some(wait),
                    hold: false,
                }))
            }
        }
    }
}

/// One invited row's mail, owed.
#[derive(Debug, Clone)]
struct Owed {
    /// The first row of its result page.
    page: u64,
    index: u64,
    to: Destined,
}

/// Someone to invite from a row, or why not (checked as a single invitation would be, with
/// roles and groups named as people write them).
fn person_of(
    caller: &Caller,
    roles: &[CustomRole],
    groups: &[Group],
    r: &InputRow,
) -> std::result::Result<Person, String> {
    if let Some(first) = r.duplicate_of {
        return Err(format!("the same email as line {first}"));
    }
    if let Some(reason) = &r.invalid {
        return Err(reason.clone());
    }
    let Some(row) = &r.row else { return Err("the row is empty".into()) };
    let mut errors = crate::domain::FieldErrors::new();
    let email = errors.take(Email::parse("email", &row.email));
    let first = errors.take(crate::domain::text::required_text("first_name", &row.first_name, &NAME));
    let last = errors.take(crate::domain::text::required_text("last_name", &row.last_name, &NAME));
    if let Err(e) = errors.finish() {
        return Err(crate::domain::bulk::reason(&e));
    }
    let (Some(email), Some(first_name), Some(last_name)) = (email, first, last) else {
        return Err("the row is incomplete".into());
    };
    let role_raw = super::invitations::role_id(roles, &row.role);
    let role = match RoleRef::parse(&role_raw) {
        Some(RoleRef::Basic(b)) => Role::Basic(b),
        Some(RoleRef::Custom(id)) => match roles.iter().find(|c| c.id == id) {
            Some(c) => Role::Custom(c.clone()),
            None => return Err(format!("no role {} in this account", row.role.trim())),
        },
        None => return Err(format!("no role {} in this account", row.role.trim())),
    };
    role.assignable_by(caller.permissions()).map_err(|e| e.message)?;
    let mut ids = Vec::new();
    if !row.groups.is_empty() {
        if caller.require(Permission::GroupsManage).is_err() {
            return Err("your role does not allow placing people in groups".into());
        }
        for g in &row.groups {
            let id = super::invitations::group_id(groups, g);
            match groups.iter().find(|x| x.id.to_string() == id) {
                Some(x) if !ids.contains(&x.id) => ids.push(x.id),
                Some(_) => {}
                None => return Err(format!("no group {} in this account", g.trim())),
            }
        }
    }
    Ok(Person { email, first_name, last_name, role: role.id(), groups: ids, optional_permissions: Vec::new() })
}

/// How many of the next rows make one page: up to `PER_TX` invitations and `PAGE_ENTRIES`
/// entries; a row that joins groups goes alone (its rotations are read for it). `rows` gives,
/// per row, `None` when it invites nobody, else whether it joins groups.
fn page_len(rows: impl Iterator<Item = Option<bool>>) -> usize {
    let (mut len, mut invites) = (0, 0);
    for joins in rows {
        match joins {
            Some(true) if len == 0 => return 1,
            Some(true) => break,
            Some(false) if invites == PER_TX => break,
            Some(false) => invites += 1,
            None => {}
        }
        len += 1;
        if len == PAGE_ENTRIES {
            break;
        }
    }
    len.max(1)
}

/// How a batch of mail went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mailed {
    Done,
    /// The mail service refused, or kept failing past the last attempt: the rows are noted.
    GaveUp,
    /// The mail service is down: try again after a wait.
    Later,
}

/// Send a batch (at most `BULK_MAX`) in one call, and note on their result pages the rows whose
/// mail failed for good.
async fn send(
    s: &Services,
    job: &Job,
    account: &crate::domain::account::Account,
    batch: &[Owed],
    attempts: u32,
) -> Result<Mailed> {
    let to: Vec<Destined> = batch.iter().map(|o| o.to.clone()).collect();
    let template = crate::mail::templates::invitation_template(account.locale().language);
    let (failed, mailed): (Vec<(&Owed, String)>, Mailed) = match s.mailer.send_bulk(&template, &to).await {
        Ok(deliveries) => {
            let failed = batch
                .iter()
                .zip(deliveries)
                .filter_map(|(o, d)| match d {
                    Delivery::Rejected(why) => Some((o, why)),
                    Delivery::Sent => None,
                })
                .collect();
            (failed, Mailed::Done)
        }
        Err(e) => {
            let e = mail_error(e);
            if !e.is_lasting() && attempts + 1 < MAX_ATTEMPTS {
                tracing::warn!(error = %e, job = %job.id, "invitation mail waits for the mail service");
                return Ok(Mailed::Later);
            }
            (batch.iter().map(|o| (o, e.to_string())).collect(), Mailed::GaveUp)
        }
    };
    let mut by_page: BTreeMap<u64, Vec<PageNote>> = BTreeMap::new();
    for (o, why) in failed {
        by_page.entry(o.page).or_default().push(PageNote { index: o.index, note: format!("mail failed: {why}") });
    }
    for (page, notes) in by_page {
        s.store.note_on_result_page(job, page, &notes).await?;
    }
    Ok(mailed)
}

/// Mail owed from before (the runner stopped after committing rows and before their mail went,
/// or the mail service was down): read back from the result log, from the checkpoint's mark.
async fn owed_mail(
    s: &Services,
    job: &Job,
    caller: &Caller,
    mut at: InviteCheckpoint,
) -> Result<Step<InviteCheckpoint>> {
    let (pages, more) = s.store.result_pages(job, Some(at.mailed_page), 8).await?;
    let mut batch: Vec<Owed> = Vec::new();
    let mut reached_end = !more;
    'pages: for page in &pages {
        if page.first >= at.next {
            reached_end = true;
            break;
        }
        for o in page_owed(s, &caller.account, page, at.mailed).await? {
            if o.index >= at.next {
                reached_end = true;
                break 'pages;
            }
            if batch.len() == BULK_MAX {
                reached_end = false;
                break 'pages;
            }
            batch.push(o);
        }
    }
    let last = batch.last().map(|o| (o.index + 1, o.page));
    let outcome =
        if batch.is_empty() { Mailed::Done } else { send(s, job, &caller.account, &batch, at.mail_attempts).await? };
    match outcome {
        Mailed::Later => {
            at.mail_attempts += 1;
            let wait = Utc::now() + retry_delay(at.mail_attempts);
            return Ok(Step {
                next: Some(at),
                outcomes: Vec::new(),
                counts: Vec::new(),
                saved: false,
                wait: Some(wait),
                hold: false,
            });
        }
        Mailed::Done => at.mail_attempts = 0,
        Mailed::GaveUp => {}
    }
    match (reached_end, last) {
        _ if reached_end || pages.is_empty() => (at.mailed, at.mailed_page) = (at.next, at.next),
        (_, Some((mailed, page))) => (at.mailed, at.mailed_page) = (mailed, page),
        // Pages read, nothing owed on them: go on after them.
        (_, None) => {
            let after = pages.last().map_or(at.next, |p| p.entries.last().map_or(p.first, |e| e.index) + 1);
            (at.mailed, at.mailed_page) = (after, after);
        }
    }
    Ok(Step::to(Some(at), Vec::new(), Vec::new()))
}

/// A page's invited rows from `from` on whose mail is owed (not those noted as failed).
async fn page_owed(
    s: &Services,
    account: &crate::domain::account::Account,
    page: &ResultPage,
    from: u64,
) -> Result<Vec<Owed>> {
    let Ok(mail) = serde_json::from_value::<PageMail>(page.about.clone()) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    let invited = outcome_name(Outcome::Invited);
    for e in page.entries.iter().filter(|e| e.index >= from && e.outcome == invited) {
        if page.notes.iter().any(|n| n.index == e.index) {
            continue;
        }
        let Ok(d) = serde_json::from_value::<Detail>(e.detail.clone()) else { continue };
        let (Some(member_id), Some(first_name)) = (d.member_id, d.first_name) else { continue };
        let one = InvitationToSend {
            member_id,
            email: &d.email,
            first_name: &first_name,
            issued_at: mail.issued_at,
            expires_at: mail.expires_at,
            key_id: &mail.key_id,
            inviter: &mail.inviter,
        };
        out.push(Owed { page: page.first, index: e.index, to: destined(s, account, &one).await? });
    }
    Ok(out)
}

fn to_value<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_up_to_a_transactions_invitations_and_group_rows_go_alone() {
        let plain = |n| std::iter::repeat_n(Some(false), n);
        assert_eq!(page_len(plain(100)), PER_TX);
        assert_eq!(page_len(plain(3)), 3);
        // Rows that invite nobody ride along, up to the page's entries.
        assert_eq!(page_len(std::iter::repeat_n(None, 1000)), PAGE_ENTRIES);
        assert_eq!(page_len(plain(2).chain([None, None]).chain(plain(1))), 5);
        assert_eq!(page_len(plain(2).chain([Some(true)]).chain(plain(5))), 2, "stops before a group row");
        assert_eq!(page_len([Some(true)].into_iter().chain(plain(5))), 1, "a group row alone");
        assert_eq!(page_len(std::iter::empty()), 1);
    }
}
