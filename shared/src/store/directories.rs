//! Directory connections, and what Roster holds for each entry of one (by stable id). An entry's
//! state is written in the transaction that creates or changes its person, so the two never
//! disagree.
use super::tx::{Change, Tx, s};
use super::{Item, Store, StoreError, StoreResult, from_item, keys, to_item};
use crate::domain::audit::AuditEntry;
use crate::domain::directory_settings::Connection;
use crate::domain::email_domain::EmailDomain;
use crate::domain::ids::{AccountId, DirectoryId, JobId, MemberId, OrganizationId, UserId};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

pub const DIRECTORY_CHANGED: &str = "directory_changed";
/// A run of the connection is going on.
pub const DIRECTORY_BUSY: &str = "directory_busy";

/// One entry of a directory as Roster holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryState {
    pub stable_id: Uuid,
    /// What the entry became: an end user, or (members connections) a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<MemberId>,
    pub fingerprint: String,
    pub active: bool,
    /// Set by a full pass that did not find the entry: that run deactivates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone_in: Option<JobId>,
}

impl EntryState {
    pub fn item(&self, a: AccountId, d: DirectoryId) -> StoreResult<Item> {
        to_item(&keys::directory_entry(a, d, self.stable_id), self)
    }
}

/// One organization entry of a directory as Roster holds it: the organization it became, and
/// the domains the directory gave it (only those are removed when the directory drops them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationEntryState {
    pub stable_id: Uuid,
    pub organization_id: OrganizationId,
    pub fingerprint: String,
    pub domains: Vec<EmailDomain>,
}

/// Where a finished run leaves its connection for the next one.
#[derive(Debug, Clone, Default)]
pub struct RunMark {
    /// The server's change mark when the run started (`None`: it gives none).
    pub mark: Option<String>,
    /// When the run started, if it was a full pass.
    pub full_pass_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Entry states one forgetting step deletes.
const FORGET_PAGE: i32 = 1000;

impl Store {
    /// A new connection with its schedule (a recurring job).
    pub async fn create_directory(
        &self,
        c: &Connection,
        schedule: &crate::jobs::Job,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        super::jobs::new_job_in(&mut tx, schedule)?;
        tx.create("directory_exists", &keys::directory(c.account_id, c.id), c)?;
        tx.audit(c.account_id, audit)?;
        tx.commit(self).await
    }

    pub async fn get_directory(&self, a: AccountId, d: DirectoryId) -> StoreResult<Option<Connection>> {
        self.get(&keys::directory(a, d)).await
    }

    /// The account's connections, oldest first (a handful).
    pub async fn directories(&self, a: AccountId) -> StoreResult<Vec<Connection>> {
        self.query_prefix(a, keys::DIRECTORY_PREFIX).await
    }

    /// Replace a connection still at the version read (`audit`: a person's change; `None`: a
    /// run's bookkeeping).
    pub async fn update_directory(
        &self,
        before: &Connection,
        after: &Connection,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.replace_versioned(
            DIRECTORY_CHANGED,
            to_item(&keys::directory(after.account_id, after.id), after)?,
            before.version,
        )?;
        if let Some(audit) = audit {
            tx.audit(after.account_id, audit)?;
        }
        tx.commit(self).await
    }

    /// Delete a connection and its schedule (`schedule`: the schedule job's id).
    /// Delete the connection with its schedule, and start `forget` (the job that deletes its
    /// entries' states).
    pub async fn delete_directory(
        &self,
        c: &Connection,
        schedule: JobId,
        forget: &crate::jobs::Job,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        super::jobs::new_job_in(&mut tx, forget)?;
        tx.delete(&keys::job_of(Some(c.account_id), crate::jobs::Kind::DirectorySchedule, schedule))?;
        tx.delete_existing(DIRECTORY_CHANGED, &keys::directory(c.account_id, c.id))?;
        tx.audit(c.account_id, audit)?;
        tx.commit(self).await
    }

    /// Mark the connection as running `run`, unless another run holds it (`DIRECTORY_BUSY`);
    /// `stale` is a run found over (failed, cancelled) that may be replaced.
    pub async fn claim_directory_run(
        &self,
        c: &Connection,
        run: JobId,
        stale: Option<JobId>,
        job: &crate::jobs::Job,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        let (condition, mut values) = match stale {
            Some(old) => ("attribute_exists(#pk) AND current_run = :old", vec![(":old", s(old.to_string()))]),
            None => ("attribute_exists(#pk) AND attribute_not_exists(current_run)", vec![]),
        };
        values.push((":run", s(run.to_string())));
        values.push((":now", super::to_attribute(&chrono::Utc::now())?));
        values.push((":one", AttributeValue::N("1".into())));
        tx.update(
            DIRECTORY_BUSY,
            &keys::directory(c.account_id, c.id),
            Change {
                // A new version: a change of settings read before this does not undo it.
                update: "SET current_run = :run, last_run_at = :now, #v = #v + :one",
                condition,
                values,
                names: vec![("#pk", keys::PK), ("#v", "version")],
            },
        )?;
        super::jobs::new_job_in(&mut tx, job)?;
        tx.audit(c.account_id, audit)?;
        tx.commit(self).await
    }

    /// The connection is free again after `run` (a no-op if another run holds it by now);
    /// `finished`: the run read the server completely, so its change mark (and, for a full
    /// pass, its start) is where the next run starts from.
    pub async fn release_directory_run(
        &self,
        a: AccountId,
        d: DirectoryId,
        run: JobId,
        finished: Option<RunMark>,
    ) -> StoreResult<()> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::directory(a, d).to_item()))
            .condition_expression("current_run = :run")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":run", AttributeValue::S(run.to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        let mut set = vec!["#v = #v + :one"];
        let mut remove = vec!["current_run"];
        if let Some(m) = finished {
            match m.mark {
                Some(mark) => {
                    set.push("change_mark = :mark");
                    update = update.expression_attribute_values(":mark", AttributeValue::S(mark));
                }
                None => remove.push("change_mark"),
            }
            if let Some(at) = m.full_pass_at {
                set.push("last_full_pass_at = :full");
                update = update.expression_attribute_values(":full", super::to_attribute(&at)?);
            }
        }
        let out = update.update_expression(format!("SET {} REMOVE {}", set.join(", "), remove.join(", "))).send().await;
        match out {
            Ok(_) => Ok(()),
            Err(e) => match StoreError::from_sdk(e) {
                StoreError::Conflict(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    /// The states of these entries (absent: never synced).
    pub async fn entry_states(
        &self,
        a: AccountId,
        d: DirectoryId,
        ids: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, EntryState>> {
        let wanted: Vec<_> = ids.iter().map(|u| keys::directory_entry(a, d, *u)).collect();
        let items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
        let mut out = HashMap::with_capacity(items.len());
        for item in items {
            let e: EntryState = from_item(item)?;
            out.insert(e.stable_id, e);
        }
        Ok(out)
    }

    /// The states of these organization entries (absent: never synced).
    pub async fn organization_entry_states(
        &self,
        a: AccountId,
        d: DirectoryId,
        ids: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, OrganizationEntryState>> {
        let wanted: Vec<_> = ids.iter().map(|u| keys::directory_organization(a, d, *u)).collect();
        let items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
        let states = items.into_iter().map(from_item::<OrganizationEntryState>);
        states.map(|e| e.map(|e| (e.stable_id, e))).collect()
    }

    /// Record what an organization entry became (after the organization was written: a run
    /// redone before this finds the organization by its derived id and changes nothing).
    pub async fn put_organization_entry_state(
        &self,
        a: AccountId,
        d: DirectoryId,
        e: &OrganizationEntryState,
    ) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&keys::directory_organization(a, d, e.stable_id), e)?))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// One page of the connection's entry states, in key order, after `after`.
    pub async fn entry_state_page(
        &self,
        a: AccountId,
        d: DirectoryId,
        after: Option<Uuid>,
    ) -> StoreResult<(Vec<EntryState>, Option<Uuid>)> {
        let out = self
            .prefix_query(a, &keys::directory_entries(d))
            .set_exclusive_start_key(after.map(|u| keys::directory_entry(a, d, u).to_item()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let states: Vec<EntryState> =
            out.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        let next = out.last_evaluated_key.is_some().then(|| states.last().map(|e| e.stable_id)).flatten();
        Ok((states, next))
    }

    /// Delete up to one page of a deleted connection's entry states (people's, then
    /// organizations'); how many were deleted (0: none left).
    pub async fn forget_directory_step(&self, a: AccountId, d: DirectoryId) -> StoreResult<usize> {
        for prefix in [keys::directory_entries(d), keys::directory_organizations(d)] {
            let out = self
                .prefix_query(a, &prefix)
                .projection_expression("pk, sk")
                .limit(FORGET_PAGE)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            let items = out.items.unwrap_or_default();
            if items.is_empty() {
                continue;
            }
            let doomed: Vec<keys::Key> = items
                .iter()
                .filter_map(|i| match (i.get(keys::PK), i.get(keys::SK)) {
                    (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => {
                        Some(keys::Key::new(pk.clone(), sk.clone()))
                    }
                    _ => None,
                })
                .collect();
            self.delete_keys(&doomed).await?;
            return Ok(doomed.len());
        }
        Ok(0)
    }

    /// Write entry states as they are (a full pass marking entries gone): 25 per request.
    pub async fn put_entry_states(&self, a: AccountId, d: DirectoryId, states: &[EntryState]) -> StoreResult<()> {
        for chunk in super::limits::chunks(states, super::limits::BATCH_WRITE_MAX) {
            let mut requests = Vec::with_capacity(chunk.len());
            for e in chunk {
                let put = PutRequest::builder().set_item(Some(e.item(a, d)?)).build().map_err(StoreError::build)?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            self.write_batch(requests).await?;
        }
        Ok(())
    }
}
