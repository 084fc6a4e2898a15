//! Connections whose people become members (staff): a new person is invited through the one
//! invitation path (the mail, the hourly limit), their role from their directory groups; later
//! changes go through the members paths with a person's checks, so a run never does what its
//! starter may not do now (give a role they cannot grant, touch a member above them, the owner).
//! Each change commits with its audit entry; the entry's state is written after it, and a step
//! done again finds the member by the directory's email and changes only what still differs.
use super::{RATE_LIMITED, Report, Run, refused_change};
use crate::domain::FieldError;
use crate::domain::directory::{self, Action, Person};
use crate::domain::email::Email;
use crate::domain::ids::MemberId;
use crate::domain::member::{Member, MemberSource, MemberStatus};
use crate::domain::role::RoleRef;
use crate::service::invitations::{self, Invite};
use crate::service::members::{self, MemberChange};
use crate::service::{Error, Result};
use crate::store::EntryState;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What became of one person.
enum Done {
    /// The member it is now (`None`: an invitation the directory withdrew was cancelled).
    Member(Option<MemberId>),
    /// Left as it is, and why.
    Skipped(MemberId, &'static str),
}

impl Run<'_> {
    /// One batch's planned changes for a members connection.
    pub(super) async fn apply_members(
        &self,
        plan: Vec<(Person, Option<EntryState>, Action)>,
        report: &mut Report,
    ) -> Result<()> {
        let known = self.members_of(plan.iter().filter_map(|(_, k, _)| k.as_ref())).await?;
        let mut states = Vec::with_capacity(plan.len());
        for (p, state, action) in plan {
            let member = state.and_then(|k| k.member_id).and_then(|id| known.get(&id).cloned());
            states.extend(self.member_change(p, member, action, report).await?);
        }
        self.s.store.put_entry_states(self.c.account_id, self.c.id, &states).await?;
        Ok(())
    }

    /// The members these entries' states name, read together (one request per 100).
    async fn members_of(&self, states: impl Iterator<Item = &EntryState>) -> Result<HashMap<MemberId, Member>> {
        let ids: Vec<MemberId> = states.filter_map(|k| k.member_id).collect();
        let found = self.s.store.get_members(self.c.account_id, &ids).await?;
        Ok(found.into_iter().map(|m| (m.id, m)).collect())
    }

    /// One person's change; `member` is the one their state names, when it still exists.
    async fn member_change(
        &self,
        p: Person,
        mut member: Option<Member>,
        action: Action,
        report: &mut Report,
    ) -> Result<Option<EntryState>> {
        let (s, a) = (self.s, self.c.account_id);
        // Never linked (or deleted by hand since): a member with the directory's email is this
        // person — linked, not invited a second time.
        let mut linked = false;
        let email = p.email.as_deref().and_then(|e| Email::parse("email", e).ok());
        if let (None, false, Some(email)) = (&member, action == Action::Deactivate, email)
            && let Some(id) = s.store.member_id_by_email(a, &email).await?
        {
            member = s.store.get_member(a, id).await?;
            linked = member.is_some();
        }
        let outcome = match (&member, action) {
            (_, Action::Deactivate) => "deactivated",
            (None, _) => "created",
            (Some(_), Action::Reactivate) => "reactivated",
            (Some(_), _) => "updated",
        };
        let mut d = detail(&p, member.as_ref().map(|m| m.id));
        if linked {
            d["linked"] = serde_json::Value::Bool(true);
        }
        if member.as_ref().is_some_and(|m| p.email.as_deref().is_some_and(|e| e != m.email.as_str())) {
            d["email_kept"] = "a member signs in with their own email; the directory's is not applied".into();
        }
        if self.dry_run {
            report.add(outcome, d);
            return Ok(None);
        }
        let done = match (member, action) {
            (None, Action::Deactivate) => Ok(Done::Member(None)),
            (None, _) => self.invite(&p).await,
            (Some(m), Action::Deactivate) => self.remove(m).await,
            (Some(m), _) => self.bring(&p, m).await,
        };
        let state = |member_id| EntryState {
            stable_id: p.id.0,
            user_id: None,
            member_id,
            fingerprint: directory::fingerprint(&p),
            active: action != Action::Deactivate && !p.disabled,
            gone_in: None,
        };
        match done {
            Ok(Done::Member(id)) => {
                d["member_id"] = serde_json::json!(id);
                report.add(outcome, d);
                Ok(Some(state(id)))
            }
            Ok(Done::Skipped(id, why)) => {
                d["reason"] = why.into();
                report.add("skipped", d);
                Ok(Some(state(Some(id))))
            }
            Err(Error::RateLimited { message, .. }) => {
                d["error"] = message.into();
                report.add(RATE_LIMITED, d);
                Ok(None)
            }
            Err(Error::EmailNotVerified) => {
                d["error"] = "the owner's email is not confirmed yet: invitations wait for it".into();
                report.add(RATE_LIMITED, d);
                Ok(None)
            }
            Err(e) => {
                report.add("errors", refused_change(&p, e)?);
                Ok(None)
            }
        }
    }

    /// A new member, invited with the role their groups give.
    async fn invite(&self, p: &Person) -> Result<Done> {
        let Some(email) = p.email.clone() else {
            return Err(Error::Validation(vec![FieldError::new("email", "required", "the entry has no email")]));
        };
        let (first_name, last_name) = p.member_names();
        let role = p.role.clone().unwrap_or_default();
        let cmd = Invite { email, first_name, last_name, role, optional_permissions: Vec::new(), groups: Vec::new() };
        let invited = invitations::invite_from(self.s, self.caller, cmd, MemberSource::Directory).await?;
        Ok(Done::Member(Some(invited.member.id)))
    }

    /// The directory no longer has them (or they left every mapped group): their access ends.
    async fn remove(&self, m: Member) -> Result<Done> {
        if m.role == RoleRef::OWNER {
            return Ok(Done::Skipped(m.id, OWNER));
        }
        let id = m.id.to_string();
        match m.status {
            MemberStatus::Active => members::deactivate(self.s, self.caller, &id, None).await.map(|_| ()),
            MemberStatus::Invited => {
                invitations::cancel(self.s, self.caller, &id, None).await?;
                return Ok(Done::Member(None));
            }
            MemberStatus::Deactivated => Ok(()),
        }?;
        Ok(Done::Member(Some(m.id)))
    }

    /// An existing member brought to what the directory says: back if deactivated, then the
    /// names and the role, changed only where they differ.
    async fn bring(&self, p: &Person, m: Member) -> Result<Done> {
        if m.role == RoleRef::OWNER {
            return Ok(Done::Skipped(m.id, OWNER));
        }
        let id = m.id.to_string();
        let m = match m.status {
            MemberStatus::Deactivated => members::reactivate(self.s, self.caller, &id, None).await?,
            _ => m,
        };
        let (first, last) = p.member_names();
        let change = MemberChange {
            first_name: (first != m.first_name).then_some(first),
            last_name: (last != m.last_name).then_some(last),
            role: p.role.clone().filter(|r| RoleRef::parse(r) != Some(m.role)),
            optional_permissions: None,
            memo: None,
        };
        if change.first_name.is_some() || change.last_name.is_some() || change.role.is_some() {
            members::update(self.s, self.caller, &id, change, None).await?;
        }
        Ok(Done::Member(Some(m.id)))
    }

    /// Members a full pass did not find: deactivated (an invitation cancelled), unless another
    /// connection holds them as active (`held`).
    pub(super) async fn deactivate_members(
        &self,
        states: &[&EntryState],
        held: &HashSet<Uuid>,
        report: &mut Report,
    ) -> Result<()> {
        let known = self.members_of(states.iter().copied()).await?;
        let mut done = Vec::with_capacity(states.len());
        for e in states {
            let member = e.member_id.and_then(|id| known.get(&id).cloned());
            let detail = serde_json::json!({ "stable_id": e.stable_id, "member_id": e.member_id });
            if held.contains(&e.stable_id) {
                // Another connection has them now (they moved to its scope): let go, not removed.
                done.push(EntryState { active: false, gone_in: None, ..(*e).clone() });
                report.add("released", detail);
                continue;
            }
            let outcome = match member {
                Some(m) => self.remove(m).await,
                None => Ok(Done::Member(None)),
            };
            match outcome {
                Ok(Done::Member(member_id)) => {
                    done.push(EntryState { active: false, gone_in: None, member_id, ..(*e).clone() });
                    report.add("deactivated", detail);
                }
                Ok(Done::Skipped(_, why)) => {
                    done.push(EntryState { active: false, gone_in: None, ..(*e).clone() });
                    let mut detail = detail;
                    detail["reason"] = why.into();
                    report.add("skipped", detail);
                }
                Err(err @ (Error::Forbidden(_) | Error::Conflict { .. } | Error::NotFound(_))) => {
                    let mut detail = detail;
                    detail["error"] = err.to_string().into();
                    report.add("errors", detail);
                }
                Err(other) => return Err(other),
            }
        }
        self.s.store.put_entry_states(self.c.account_id, self.c.id, &done).await?;
        Ok(())
    }
}

const OWNER: &str = "the account owner is not managed by a directory";

fn detail(p: &Person, member: Option<MemberId>) -> serde_json::Value {
    serde_json::json!({
        "dn": p.dn, "stable_id": p.id.0, "email": p.email, "name": p.name, "role": p.role, "member_id": member,
    })
}
