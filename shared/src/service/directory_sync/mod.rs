//! One run of a directory connection, as a job (SPEC §6): search every base DN page by page and
//! create, update, deactivate or reactivate people through the one user path (each change with
//! its entry's state and audit entry in one transaction; an unchanged entry costs no write); then
//! a full pass sweeps for people the directory no longer has, stopping for approval above the
//! connection's threshold, and deactivates them — never deletes.
use super::caller::starter;
use super::directories::{RunInput, change_mark, connect, organizations_query, people_query};
use super::organizations::{self, FromDirectory};
use super::remap;
use super::users::{self, Lookups, NewUser};
use super::{Caller, Error, Result, Services};
use crate::directory::{Cursor, DirectoryError, Query, complete_ranges};
use crate::domain::directory::{self, Action, Known, Person, RawEntry};
use crate::domain::directory_settings::{Connection, MAX_BASE_DNS, PeopleBecome};
use crate::domain::email::Email;
use crate::domain::email_domain::EmailDomain;
use crate::domain::ids::{OrganizationId, UserId};
use crate::domain::permissions::Permission;
use crate::domain::user::{User, UserSource};
use crate::jobs::{Job, Outcome, Step};
use crate::store::{EntryState, OrganizationEntryState, RunMark, UserWrite};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Entries one step handles (a page is read once and handed out over several steps).
const STEP_ENTRIES: usize = 500;
/// Entries one search page asks for (RFC 2696; AD's MaxPageSize is 1,000).
const PAGE_SIZE: u32 = 1000;
/// People one step deactivates.
const DEACTIVATIONS_PER_STEP: usize = 100;
/// The outcome of people left for a later run (the account's invitation limit).
const RATE_LIMITED: &str = "rate_limited";

mod members;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The directory's organizations first, so people link to them as they are created.
    #[default]
    Organizations,
    Search,
    Sweep,
    Deactivate,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncCheckpoint {
    #[serde(default)]
    pub phase: Phase,
    /// Search: the base DN being read, and how many of its entries were handled.
    #[serde(default)]
    pub base: usize,
    #[serde(default)]
    pub offset: u64,
    /// Sweep: how many deactivations the run stopped for (approval covers that many).
    #[serde(default)]
    pub awaiting: Option<u64>,
    /// Deactivate: entry states handled up to this stable id.
    #[serde(default)]
    pub after: Option<Uuid>,
    /// Decided by the first step, for the whole run.
    #[serde(default)]
    pub mode: Option<Mode>,
}

/// A full pass or an incremental run, and the server's change mark when the run started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mode {
    pub full: bool,
    /// Incremental: entries changed after this mark (the last run's).
    pub since: Option<String>,
    /// The mark now: where the next run starts from once this one is over.
    pub mark: Option<String>,
    pub started_at: chrono::DateTime<Utc>,
}

fn refused(e: DirectoryError) -> Error {
    Error::Refused(e.to_string())
}

pub(crate) async fn step(s: &Services, job: &Job, at: SyncCheckpoint) -> Result<Step<SyncCheckpoint>> {
    let input: RunInput = job.input_as()?;
    // The run acts with its starter's authority as it is now.
    let caller = starter(s, job).await?;
    caller.require(Permission::DirectoryManage)?;
    let Some(c) = s.store.get_directory(caller.account_id(), input.directory_id).await? else {
        return Err(Error::Refused("the directory connection was deleted".into()));
    };
    for p in c.run_permissions() {
        caller.require(p)?;
    }
    let mut at = at;
    let mode = match at.mode.clone() {
        Some(mode) => mode,
        None => {
            let mut dir = connect(s, &c).await?.map_err(refused)?;
            let mark = change_mark(&mut dir, &c).await.map_err(refused)?;
            let now = Utc::now();
            let stored = c.change_mark.as_deref().and_then(directory::ChangeMark::parse);
            let continues = stored.as_ref().zip(mark.as_ref()).is_some_and(|(then, now)| then.continues_to(now));
            let mut full = directory::full_run(input.full, continues, c.last_full_pass_at, c.full_pass_hours, now);
            if let (false, Some(since)) = (full, stored.as_ref()) {
                full = groups_changed(&mut dir, &c, since).await.map_err(refused)?;
            }
            dir.close().await;
            let since = if full { None } else { c.change_mark.clone() };
            let mark = mark.map(|m| m.to_string());
            let mode = Mode { full, since, mark, started_at: now };
            at.mode = Some(mode.clone());
            mode
        }
    };
    let run = Run { s, caller: &caller, job, c: &c, dry_run: input.dry_run, mode: &mode };
    match at.phase {
        Phase::Organizations if !c.organizations.enabled => {
            // The mode goes on with the run: the next steps keep the mark read before any search.
            run.search(SyncCheckpoint { phase: Phase::Search, mode: at.mode, ..Default::default() }).await
        }
        Phase::Organizations | Phase::Search => run.search(at).await,
        Phase::Sweep => run.sweep(at).await,
        Phase::Deactivate => run.deactivate(at).await,
    }
}

/// Members: whether a mapped group changed since the mark (or is gone). A person's `memberOf`
/// is a back-link — a group's change does not change its members' entries, on OpenLDAP's
/// memberof overlay as on AD — so an incremental read would miss a role change: the run reads
/// everyone instead (a members connection is staff, not customers; unchanged ones cost nothing).
async fn groups_changed(
    dir: &mut crate::directory::LdapDirectory,
    c: &Connection,
    since: &directory::ChangeMark,
) -> std::result::Result<bool, DirectoryError> {
    use crate::directory::Directory;
    if c.people_become != PeopleBecome::Members {
        return Ok(false);
    }
    for line in &c.role_mapping {
        match dir.read(&line.group_dn, &["entryCSN", "uSNChanged"]).await? {
            Some(group) if !since.changed(&group) => {}
            _ => return Ok(true),
        }
    }
    Ok(false)
}

struct Run<'a> {
    s: &'a Services,
    caller: &'a Caller,
    job: &'a Job,
    c: &'a Connection,
    dry_run: bool,
    mode: &'a Mode,
}

/// What one step did, to report.
#[derive(Default)]
struct Report {
    outcomes: Vec<Outcome>,
    counts: HashMap<&'static str, u64>,
}

impl Report {
    fn add(&mut self, outcome: &'static str, detail: serde_json::Value) {
        *self.counts.entry(outcome).or_default() += 1;
        self.outcomes.push(Outcome { outcome, detail });
    }

    fn step(self, next: Option<SyncCheckpoint>) -> Step<SyncCheckpoint> {
        let mut counts: Vec<(&'static str, u64)> = self.counts.into_iter().collect();
        counts.sort();
        Step::to(next, self.outcomes, counts)
    }
}

fn detail(p: &Person, user: Option<UserId>) -> serde_json::Value {
    serde_json::json!({ "dn": p.dn, "stable_id": p.id.0, "email": p.email, "name": p.name, "user_id": user })
}

impl Run<'_> {
    /// The next entries of the phase's search (organizations or people), base DN after base DN.
    async fn search(&self, at: SyncCheckpoint) -> Result<Step<SyncCheckpoint>> {
        let organizations = at.phase == Phase::Organizations;
        let Some(base) = self.c.base_dns.get(at.base) else {
            let phase = match at.phase {
                Phase::Organizations => Phase::Search,
                _ if self.mode.full => Phase::Sweep,
                // Incremental: deletions wait for the next full pass.
                _ => return self.finish(Report::default()).await,
            };
            let next = SyncCheckpoint { phase, mode: at.mode, ..Default::default() };
            return Ok(Step::to(Some(next), Vec::new(), Vec::new()));
        };
        // Which of the run's searches this is (a kept session must be exactly this one).
        let search = at.base + if organizations { MAX_BASE_DNS } else { 0 };
        let mut cursor = match self.s.directory_sessions.take(self.job.id, search, at.offset).await {
            Some(cursor) => cursor,
            None => {
                let dir = connect(self.s, self.c).await?.map_err(refused)?;
                let since = self.mode.since.as_deref();
                let query = if organizations {
                    organizations_query(self.c, base, since)
                } else {
                    people_query(self.c, base, since)
                };
                let mut cursor = Cursor::new(dir, query, search, PAGE_SIZE);
                cursor.skip(at.offset).await.map_err(refused)?;
                cursor
            }
        };
        let pages = cursor.pages;
        let mut entries = cursor.take(STEP_ENTRIES).await.map_err(refused)?;
        if !organizations {
            for e in &mut entries {
                complete_ranges(&mut cursor.dir, e, &self.c.mapping.groups).await.map_err(refused)?;
            }
        }
        let mut report =
            if organizations { self.apply_organizations(&entries).await? } else { self.apply(&entries).await? };
        report.counts.insert("ldap_pages", cursor.pages - pages);
        if !organizations {
            report.counts.insert("read", entries.len() as u64);
        }
        let next = if cursor.done() {
            cursor.dir.close().await;
            SyncCheckpoint { phase: at.phase, base: at.base + 1, mode: at.mode, ..Default::default() }
        } else {
            let next = SyncCheckpoint {
                phase: at.phase,
                base: at.base,
                offset: cursor.position,
                mode: at.mode,
                ..Default::default()
            };
            self.s.directory_sessions.keep(self.job.id, cursor).await;
            next
        };
        Ok(report.step(Some(next)))
    }

    /// Organizations from one batch of entries: created, or brought to what the directory says
    /// (an unchanged entry costs no write); the people of a domain just added are re-mapped.
    async fn apply_organizations(&self, entries: &[RawEntry]) -> Result<Report> {
        let (s, c, a) = (self.s, self.c, self.c.account_id);
        let mut report = Report::default();
        let mut found = Vec::with_capacity(entries.len());
        for e in entries {
            match directory::organization(e, c.preset, &c.mapping.id, &c.organizations.attribute) {
                Ok(o) => found.push(o),
                Err(why) => report.add("errors", serde_json::json!({ "dn": e.dn, "error": why })),
            }
        }
        let ids: Vec<Uuid> = found.iter().map(|o| o.id.0).collect();
        let known = s.store.organization_entry_states(a, c.id, &ids).await?;
        for o in found {
            let state = known.get(&o.id.0);
            let fingerprint = directory::organization_fingerprint(&o);
            if state.is_some_and(|k| k.fingerprint == fingerprint) {
                *report.counts.entry("organizations_unchanged").or_default() += 1;
                continue;
            }
            let mut detail = serde_json::json!({ "dn": o.dn, "stable_id": o.id.0, "name": o.name });
            let (mut domains, mut invalid) = (Vec::new(), Vec::new());
            for d in &o.domains {
                match EmailDomain::parse("domain", d) {
                    Ok(d) => domains.push(d),
                    Err(_) => invalid.push(d.clone()),
                }
            }
            if self.dry_run {
                let outcome = if state.is_some() { "organizations_updated" } else { "organizations_created" };
                detail["domains"] = serde_json::json!(domains);
                report.add(outcome, detail);
                continue;
            }
            let want = FromDirectory {
                id: state
                    .map_or_else(|| OrganizationId::named(c.id.as_uuid(), o.id.0.as_bytes()), |k| k.organization_id),
                name: &o.name,
                domains: &domains,
                previous: state.map(|k| k.domains.as_slice()).unwrap_or_default(),
            };
            let kept = match organizations::keep_from_directory(s, self.caller, want).await {
                Ok(kept) => kept,
                Err(e @ (Error::Validation(_) | Error::Conflict { .. } | Error::Unknown(_))) => {
                    detail["error"] = serde_json::Value::String(problem_text(&e));
                    report.add("errors", detail);
                    continue;
                }
                Err(e) => return Err(e),
            };
            for d in &kept.added {
                remap::start_if_needed(s, self.caller, kept.organization.id, d.clone()).await?;
            }
            let given = domains.iter().filter(|d| kept.organization.domains.contains(d)).cloned().collect();
            let state = OrganizationEntryState {
                stable_id: o.id.0,
                organization_id: kept.organization.id,
                fingerprint,
                domains: given,
            };
            s.store.put_organization_entry_state(a, c.id, &state).await?;
            let refused: Vec<serde_json::Value> = kept
                .refused
                .iter()
                .map(|(d, why)| serde_json::json!({ "domain": d, "reason": why }))
                .chain(invalid.iter().map(|d| serde_json::json!({ "domain": d, "reason": "not a domain" })))
                .collect();
            detail["organization_id"] = serde_json::json!(kept.organization.id);
            detail["added"] = serde_json::json!(kept.added);
            detail["removed"] = serde_json::json!(kept.removed);
            detail["refused"] = serde_json::Value::Array(refused);
            report.add(if kept.created { "organizations_created" } else { "organizations_updated" }, detail);
        }
        Ok(report)
    }

    /// Plan and apply one batch of entries.
    async fn apply(&self, entries: &[RawEntry]) -> Result<Report> {
        let (s, c, a) = (self.s, self.c, self.c.account_id);
        let mut report = Report::default();
        let mut people: Vec<Person> = Vec::with_capacity(entries.len());
        let mut ids = HashSet::new();
        let members = c.people_become == PeopleBecome::Members;
        for e in entries {
            match directory::person(e, c.preset, &c.mapping) {
                Ok(mut p) if ids.insert(p.id) => {
                    if members {
                        // In no mapped group (and no default role): not a member, or no longer.
                        p.role = c.role_for(&p.groups).map(|r| r.to_string());
                        p.disabled |= p.role.is_none();
                    }
                    people.push(p)
                }
                Ok(p) => report.add("errors", serde_json::json!({ "dn": p.dn, "error": "a stable id seen twice" })),
                Err(why) => report.add("errors", serde_json::json!({ "dn": e.dn, "error": why })),
            }
        }
        let known = s.store.entry_states(a, c.id, &people.iter().map(|p| p.id.0).collect::<Vec<_>>()).await?;
        let mut plan: Vec<(Person, Option<EntryState>, Action)> = Vec::with_capacity(people.len());
        for p in people {
            let state = known.get(&p.id.0).cloned();
            let k = state.as_ref().map(|k| Known { fingerprint: k.fingerprint.clone(), active: k.active });
            match directory::decide(Some(&p), k.as_ref()) {
                Some(Action::Unchanged) => *report.counts.entry("unchanged").or_default() += 1,
                Some(action) => plan.push((p, state, action)),
                None => {}
            }
        }
        if members {
            // Boxed: the members paths' futures are large, and a step's stays small.
            Box::pin(self.apply_members(plan, &mut report)).await?;
            return Ok(report);
        }
        let user_ids: Vec<UserId> = plan.iter().filter_map(|(_, k, _)| k.as_ref().and_then(|k| k.user_id)).collect();
        let mut users: HashMap<UserId, User> =
            s.store.get_users(a, &user_ids).await?.into_iter().map(|u| (u.id, u)).collect();
        // Ask once what every creation asks (the account's fields, each domain's organization).
        let mut lookups = Lookups::default();
        lookups.user_fields(s, a).await?;
        for (p, _, _) in &plan {
            if let Some(e) = p.email.as_deref().and_then(|e| Email::parse("email", e).ok()) {
                lookups.matching(s, a, &e).await?;
            }
        }
        // A dry run writes nothing, so no creation is refused: it asks beforehand who a
        // creation would find (a real run asks only when one is refused, which is rare).
        let mut found = if self.dry_run {
            let new = plan.iter().filter(|(_, k, _)| k.as_ref().and_then(|k| k.user_id).is_none());
            self.adoptable(new.map(|(p, _, _)| p.id.0).collect()).await?
        } else {
            HashMap::new()
        };
        // Every change made ready, then written together (as few transactions as fit).
        let mut ready = Ready::default();
        for (p, state, action) in plan {
            let user = state.as_ref().and_then(|k| k.user_id).and_then(|id| users.remove(&id));
            let user = user.or_else(|| found.remove(&p.id.0));
            let (action, linked) = match (&user, action) {
                (Some(u), Action::Create) => (adopting(u), true),
                _ => (action, false),
            };
            self.prepare(p, user, action, &mut lookups).await?.add_to(&mut ready, &mut report, linked);
        }
        let refused = self.write(ready, &mut report).await?;
        if !refused.is_empty() {
            self.adopt(refused, &mut lookups, &mut report).await?;
        }
        Ok(report)
    }

    /// Write what is ready (as few transactions as fit) and report each outcome; the creations
    /// refused for an email or external id another user holds are handed back.
    async fn write(&self, ready: Ready, report: &mut Report) -> Result<Vec<(Person, Error)>> {
        let mut refused = Vec::new();
        for ((outcome, p, linked), written) in ready.pending.into_iter().zip(users::commit(self.s, ready.writes).await?)
        {
            match written {
                Ok(u) => report.add(outcome, mark_linked(detail(&p, Some(u.id)), linked)),
                Err(e @ Error::Conflict { code: "user_email_taken" | "user_external_id_taken", .. })
                    if outcome == "created" =>
                {
                    refused.push((p, e))
                }
                Err(e) => report.add("errors", refused_change(&p, e)?),
            }
        }
        Ok(refused)
    }

    /// People whose creation was refused because they are in Roster already — a user from a
    /// directory with their stable id as external id (their connection was deleted and made
    /// again, say) — are linked to that user and brought up to date; the others' refusal is
    /// reported.
    async fn adopt(&self, refused: Vec<(Person, Error)>, lookups: &mut Lookups, report: &mut Report) -> Result<()> {
        let mut found = self.adoptable(refused.iter().map(|(p, _)| p.id.0).collect()).await?;
        let mut ready = Ready::default();
        for (p, e) in refused {
            match found.remove(&p.id.0) {
                Some(user) => {
                    let action = adopting(&user);
                    self.prepare(p, Some(user), action, lookups).await?.add_to(&mut ready, report, true);
                }
                None => report.add("errors", refused_change(&p, e)?),
            }
        }
        for (p, e) in self.write(ready, report).await? {
            report.add("errors", refused_change(&p, e)?);
        }
        Ok(())
    }

    /// The users these people already are: from a directory, with the person's stable id as
    /// external id, and active through no other connection of the account (two connections
    /// reading one person would take turns changing them; one whose full pass no longer finds
    /// them — they moved to this connection's scope — has let them go).
    async fn adoptable(&self, ids: Vec<Uuid>) -> Result<HashMap<Uuid, User>> {
        let (s, a) = (self.s, self.c.account_id);
        let external: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let claims = s.store.users_by_external_id(a, UserSource::Directory, &external).await?;
        if claims.is_empty() {
            return Ok(HashMap::new());
        }
        let held = self.active_elsewhere(&ids).await?;
        let wanted: Vec<UserId> = claims.values().copied().collect();
        let mut users: HashMap<UserId, User> =
            s.store.get_users(a, &wanted).await?.into_iter().map(|u| (u.id, u)).collect();
        Ok(ids
            .into_iter()
            .zip(&external)
            .filter(|(id, _)| !held.contains(id))
            .filter_map(|(id, x)| Some((id, users.remove(claims.get(x)?)?)))
            .collect())
    }

    /// Which of these people another connection of the account holds as active.
    async fn active_elsewhere(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
        let (s, a) = (self.s, self.c.account_id);
        let mut held = HashSet::new();
        if ids.is_empty() {
            return Ok(held);
        }
        for other in s.store.directories(a).await?.into_iter().filter(|d| d.id != self.c.id) {
            let states = s.store.entry_states(a, other.id, ids).await?;
            held.extend(states.into_values().filter(|e| e.active).map(|e| e.stable_id));
        }
        Ok(held)
    }

    /// One person's change, ready to write (or its outcome when there is nothing to write).
    async fn prepare(&self, p: Person, user: Option<User>, action: Action, lookups: &mut Lookups) -> Result<Prepared> {
        let a = self.c.account_id;
        let state = |user_id: UserId| EntryState {
            stable_id: p.id.0,
            user_id: Some(user_id),
            member_id: None,
            fingerprint: directory::fingerprint(&p),
            active: !(p.disabled || action == Action::Deactivate),
            gone_in: None,
        };
        let outcome = match (&user, action) {
            // New, or their Roster person was deleted by hand since: (re)created.
            (None, _) => "created",
            (Some(_), Action::Deactivate) => "deactivated",
            (Some(_), Action::Reactivate) => "reactivated",
            (Some(_), _) => "updated",
        };
        if self.dry_run {
            return Ok(Prepared::Done(outcome, detail(&p, user.map(|u| u.id))));
        }
        let prepared = match user {
            None => {
                let Some(email) = p.email.clone() else {
                    return Ok(Prepared::Done(
                        "errors",
                        serde_json::json!({ "dn": p.dn, "error": "the entry has no email" }),
                    ));
                };
                let id = UserId::new();
                let new = NewUser {
                    name: p.name.clone(),
                    emails: vec![email],
                    phone: None,
                    external_id: Some(p.id.0.to_string()),
                    organizations: Vec::new(),
                    custom_fields: None,
                };
                let also = vec![state(id).item(a, self.c.id)?];
                users::creation(self.s, self.caller, new, UserSource::Directory, id, lookups, also).await
            }
            Some(before) => {
                let mut after = before.clone();
                after.name = p.name.clone();
                if let Some(e) = p.email.as_deref() {
                    match Email::parse("email", e) {
                        Ok(e) => primary(&mut after, e),
                        Err(_) => {
                            let error = serde_json::json!({ "dn": p.dn, "error": "the email is not valid" });
                            return Ok(Prepared::Done("errors", error));
                        }
                    }
                }
                let action_name = match action {
                    Action::Deactivate => {
                        after.deactivated_at = Some(Utc::now());
                        "user.deactivated"
                    }
                    Action::Reactivate => {
                        after.deactivated_at = None;
                        "user.reactivated"
                    }
                    _ => "user.updated",
                };
                let also = vec![state(before.id).item(a, self.c.id)?];
                Ok(users::change(self.caller, &before, after, action_name, None, also))
            }
        };
        match prepared {
            Ok(w) => Ok(Prepared::Write(outcome, p, Box::new(w))),
            Err(e) => Ok(Prepared::Done("errors", refused_change(&p, e)?)),
        }
    }

    /// Every stable id the directory has under the connection's bases, then the people Roster
    /// holds as active that it no longer has: deactivated (after approval above the threshold).
    async fn sweep(&self, at: SyncCheckpoint) -> Result<Step<SyncCheckpoint>> {
        let (s, c, a) = (self.s, self.c, self.c.account_id);
        let mut dir = connect(s, c).await?.map_err(refused)?;
        let mut seen: HashSet<Uuid> = HashSet::new();
        let mut pages = 0;
        for base in &c.base_dns {
            let q = Query { base: base.clone(), filter: c.user_filter.clone(), attributes: vec![c.mapping.id.clone()] };
            let mut cursor = Cursor::new(dir, q, 0, PAGE_SIZE);
            while !cursor.done() {
                for e in cursor.take(PAGE_SIZE as usize).await.map_err(refused)? {
                    if let Some(id) = directory::entry_id(&e, c.preset, &c.mapping.id) {
                        seen.insert(id.0);
                    }
                }
            }
            pages += cursor.pages;
            dir = cursor.dir;
        }
        dir.close().await;
        let (mut gone, mut active, mut after) = (Vec::new(), 0u64, None);
        loop {
            let (states, next) = s.store.entry_state_page(a, c.id, after).await?;
            for e in states.into_iter().filter(|e| e.active) {
                active += 1;
                if !seen.contains(&e.stable_id) {
                    gone.push(e);
                }
            }
            after = next;
            if after.is_none() {
                break;
            }
        }
        let mut report = Report::default();
        report.counts.insert("ldap_pages", pages);
        let count = gone.len() as u64;
        if count == 0 {
            return self.finish(report).await;
        }
        if self.dry_run {
            for e in &gone {
                report.add("deactivated", serde_json::json!({ "stable_id": e.stable_id, "user_id": e.user_id }));
            }
            return self.finish(report).await;
        }
        let approved = self.job.approved.is_some() && at.awaiting.is_some_and(|n| count <= n);
        if c.deletion_threshold.exceeded(count, active) && !approved {
            report.outcomes.push(Outcome {
                outcome: "awaiting_approval",
                detail: serde_json::json!({
                    "deactivations": count, "active": active, "threshold": c.deletion_threshold,
                    "reason": format!("the directory no longer has {count} of {active} active people"),
                }),
            });
            let mut step = report.step(Some(SyncCheckpoint { phase: Phase::Sweep, awaiting: Some(count), ..at }));
            step.hold = true;
            return Ok(step);
        }
        for e in &mut gone {
            e.gone_in = Some(self.job.id);
        }
        s.store.put_entry_states(a, c.id, &gone).await?;
        Ok(report.step(Some(SyncCheckpoint { phase: Phase::Deactivate, mode: at.mode, ..Default::default() })))
    }

    /// Deactivate the people the sweep marked, a batch per step.
    async fn deactivate(&self, at: SyncCheckpoint) -> Result<Step<SyncCheckpoint>> {
        let (s, c, a) = (self.s, self.c, self.c.account_id);
        let (states, next) = s.store.entry_state_page(a, c.id, at.after).await?;
        let marked: Vec<&EntryState> = states.iter().filter(|e| e.active && e.gone_in == Some(self.job.id)).collect();
        let batch: Vec<&EntryState> = marked.iter().take(DEACTIVATIONS_PER_STEP).copied().collect();
        // A page with more marked than one step takes is continued after the last one taken.
        let after = if marked.len() > batch.len() { batch.last().map(|e| e.stable_id) } else { next };
        let mut report = Report::default();
        // Read once for the batch: a person another connection holds as active is let go.
        let held = self.active_elsewhere(&batch.iter().map(|e| e.stable_id).collect::<Vec<_>>()).await?;
        let (members, batch): (Vec<&EntryState>, Vec<&EntryState>) =
            batch.into_iter().partition(|e| e.member_id.is_some());
        Box::pin(self.deactivate_members(&members, &held, &mut report)).await?;
        let users: HashMap<UserId, User> = s
            .store
            .get_users(a, &batch.iter().filter_map(|e| e.user_id).collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let (mut writes, mut orphans) = (Vec::new(), Vec::new());
        for e in batch {
            let state = EntryState { active: false, gone_in: None, ..e.clone() };
            if held.contains(&e.stable_id) {
                // Another connection has them now (they moved to its scope): this one lets them
                // go, and they stay active.
                orphans.push(state);
                report.add("released", serde_json::json!({ "stable_id": e.stable_id, "user_id": e.user_id }));
                continue;
            }
            match e.user_id.and_then(|id| users.get(&id)) {
                Some(before) => {
                    let mut after = before.clone();
                    after.deactivated_at = Some(Utc::now());
                    let also = vec![state.item(a, c.id)?];
                    writes.push(users::change(self.caller, before, after, "user.deactivated", None, also));
                }
                // Deleted by hand meanwhile: only the entry's state changes.
                None => orphans.push(state),
            }
            report.add("deactivated", serde_json::json!({ "stable_id": e.stable_id, "user_id": e.user_id }));
        }
        s.store.put_entry_states(a, c.id, &orphans).await?;
        // A person changed meanwhile is deactivated by the step done again.
        for written in users::commit(s, writes).await? {
            written?;
        }
        match after {
            Some(after) => Ok(report.step(Some(SyncCheckpoint { phase: Phase::Deactivate, after: Some(after), ..at }))),
            None => self.finish(report).await,
        }
    }

    /// The run is over: the connection may run again, from this run's change mark — or from
    /// the last one's when people were left for later (the invitation limit was reached), so
    /// the next run reads them again.
    async fn finish(&self, report: Report) -> Result<Step<SyncCheckpoint>> {
        let m = self.mode;
        let count = |r: &HashMap<&'static str, u64>| r.get(RATE_LIMITED).copied().unwrap_or(0);
        let left = self.job.progress.get(RATE_LIMITED).copied().unwrap_or(0) + count(&report.counts) > 0;
        let finished = (!self.dry_run).then(|| match left {
            true => RunMark { mark: self.c.change_mark.clone(), full_pass_at: None },
            false => RunMark { mark: m.mark.clone(), full_pass_at: m.full.then_some(m.started_at) },
        });
        self.s.store.release_directory_run(self.c.account_id, self.c.id, self.job.id, finished).await?;
        Ok(report.step(None))
    }
}

/// Make `e` the primary email (the directory's), keeping the person's other emails.
fn primary(u: &mut User, e: Email) {
    if u.emails.first() == Some(&e) {
        return;
    }
    u.emails.retain(|x| *x != e);
    if u.emails.is_empty() {
        u.emails.push(e);
    } else if let Some(first) = u.emails.first_mut() {
        *first = e;
    }
}

/// The action that brings a user a creation found up to date: back if deactivated.
fn adopting(user: &User) -> Action {
    if user.deactivated_at.is_some() { Action::Reactivate } else { Action::Update }
}

/// A result line, saying whether a creation found the person in Roster already.
fn mark_linked(mut d: serde_json::Value, linked: bool) -> serde_json::Value {
    if linked {
        d["linked"] = serde_json::Value::Bool(true);
    }
    d
}

/// Changes made ready to write together: the outcome, the person and whether a creation found
/// them in Roster already, and the writes, in the same order.
#[derive(Default)]
struct Ready {
    pending: Vec<(&'static str, Person, bool)>,
    writes: Vec<UserWrite>,
}

/// What a person's change became.
enum Prepared {
    /// Nothing to write: its outcome and result line.
    Done(&'static str, serde_json::Value),
    /// To write: the outcome once written, the person, the write.
    Write(&'static str, Person, Box<UserWrite>),
}

impl Prepared {
    /// Reported now, or made ready to write with the others.
    fn add_to(self, ready: &mut Ready, report: &mut Report, linked: bool) {
        match self {
            Prepared::Done(outcome, d) => report.add(outcome, mark_linked(d, linked && outcome != "errors")),
            Prepared::Write(outcome, p, w) => {
                ready.pending.push((outcome, p, linked));
                ready.writes.push(*w);
            }
        }
    }
}

/// The result line of a change Roster refuses (an email another person holds, a name Roster
/// does not take): reported, and the run goes on. Other errors stop the step (it is retried).
fn refused_change(p: &Person, e: Error) -> Result<serde_json::Value> {
    match e {
        Error::Validation(_)
        | Error::Conflict { .. }
        | Error::Unknown(_)
        | Error::Forbidden(_)
        | Error::NotFound(_) => {
            let mut d = detail(p, None);
            d["error"] = serde_json::Value::String(problem_text(&e));
            Ok(d)
        }
        other => Err(other),
    }
}

fn problem_text(e: &Error) -> String {
    match e {
        Error::Validation(fields) | Error::Unknown(fields) => {
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}
