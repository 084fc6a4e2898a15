//! Jobs and their result logs. A job is due while it sits in the `gsi1` due list (queued or
//! running, keyed by its `run_at`); a runner claims it with a conditional update and every later
//! write is conditioned on still holding the claim, so two runners never work one job.
use super::keys::{self, Key};
use super::limits;
use super::tx::s;
use super::{Item, Store, StoreError, StoreResult, from_item, to_item};
use crate::domain::ids::{AccountId, JobId};
use crate::jobs::{Job, Kind, RESULTS_KEPT, Status};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The job already exists (a recurring job ensured twice).
pub const JOB_EXISTS: &str = "job_exists";
/// The runner no longer holds the job (its lease ran out and another took it, or it was
/// cancelled or paused meanwhile): it must stop without writing.
pub const JOB_LOST: &str = "job_lost";
/// The job is over or was never there.
pub const JOB_NOT_ACTIVE: &str = "job_not_active";

/// The due list's partition in `gsi1`.
const DUE: &str = "JOBS#DUE";

/// One line of a job's durable result log: what happened to one item (a row, an account).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// The item's number in the job's input (a row number), so a step redone after a crash
    /// writes the same entries again instead of new ones.
    pub index: u64,
    pub outcome: String,
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// The job's item, with its place in the due list while a runner may take it.
pub(crate) fn job_item(job: &Job) -> StoreResult<Item> {
    let mut item = to_item(&keys::job_of(job.account_id, job.kind, job.id), job)?;
    if job.status.is_runnable() {
        item.insert("gsi1pk".into(), s(DUE));
        item.insert("gsi1sk".into(), s(due_sort_key(job.run_at_ms, job.id)));
    }
    // A finished job is kept as long as its result log; then DynamoDB's TTL may remove it (an
    // outbox entry holds an address and a notice's text: it must not stay for ever).
    if let Some(done) = job.finished_at.filter(|_| job.status.is_final()) {
        item.insert("ttl".into(), n((done + RESULTS_KEPT).timestamp()));
    }
    Ok(item)
}

fn due_sort_key(run_at_ms: i64, id: JobId) -> String {
    format!("{run_at_ms:015}#{id}")
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl Store {
    /// Create a job that must not exist yet (`JOB_EXISTS` otherwise).
    pub async fn create_job(&self, job: &Job) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(job)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(StoreError::guarded(JOB_EXISTS))?;
        Ok(())
    }

    pub async fn get_job(&self, account: Option<AccountId>, id: JobId) -> StoreResult<Option<Job>> {
        self.get(&keys::job(account, id)).await
    }

    pub async fn get_job_of(&self, account: Option<AccountId>, kind: Kind, id: JobId) -> StoreResult<Option<Job>> {
        self.get(&keys::job_of(account, kind, id)).await
    }

    /// Jobs whose `run_at` has come, soonest first (the list is eventually consistent: the
    /// claim decides).
    pub async fn due_jobs(&self, now: DateTime<Utc>, limit: i32) -> StoreResult<Vec<Key>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :due AND gsi1sk <= :now")
            .expression_attribute_values(":due", s(DUE))
            .expression_attribute_values(":now", s(format!("{:015}#~", now.timestamp_millis())))
            .projection_expression("pk, sk")
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| match (i.get(keys::PK), i.get(keys::SK)) {
                (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => Some(Key::new(pk.clone(), sk.clone())),
                _ => None,
            })
            .collect())
    }

    /// Take the job for `holder` until `lease_until` if it is due and nobody holds it: the job
    /// as claimed, or `None` when it is not (any more) claimable.
    pub async fn claim_job(
        &self,
        key: &Key,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression("SET #status = :running, lease_holder = :me, lease_until_ms = :until, updated_at = :at")
            .condition_expression(
                "attribute_exists(pk) AND (#status = :queued OR #status = :running) AND run_at_ms <= :now \
                 AND (attribute_not_exists(lease_until_ms) OR lease_until_ms < :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", super::to_attribute(&Status::Running)?)
            .expression_attribute_values(":queued", super::to_attribute(&Status::Queued)?)
            .expression_attribute_values(":me", s(holder))
            .expression_attribute_values(":until", n(lease_until.timestamp_millis()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":at", super::to_attribute(&now)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => out.attributes.map(from_item).transpose(),
            Err(e) => match StoreError::from_sdk(e) {
                StoreError::Conflict(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Write the job as the runner has it (checkpoint, progress, status, lease) if `holder`
    /// still holds it and it is still running; `JOB_LOST` otherwise.
    pub async fn save_held_job(&self, job: &Job, holder: &str) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(job)?))
            .condition_expression("lease_holder = :me AND #status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":me", s(holder))
            .expression_attribute_values(":running", super::to_attribute(&Status::Running)?)
            .send()
            .await
            .map_err(StoreError::guarded(JOB_LOST))?;
        Ok(())
    }

    /// Move a job that is not over to `status` (cancel, pause, resume): a runner holding it
    /// loses it at its next write. `JOB_NOT_ACTIVE` when it is over or absent.
    pub async fn set_job_status(&self, job: &Job, status: Status) -> StoreResult<Job> {
        let mut changed = job.clone();
        changed.status = status;
        changed.updated_at = Utc::now();
        if status.is_final() {
            changed.finished_at = Some(changed.updated_at);
        }
        changed.lease_holder = None;
        changed.lease_until_ms = None;
        let finals = [Status::Succeeded, Status::Failed, Status::Cancelled];
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(&changed)?))
            .condition_expression("attribute_exists(pk) AND NOT #status IN (:s1, :s2, :s3)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":s1", super::to_attribute(&finals[0])?)
            .expression_attribute_values(":s2", super::to_attribute(&finals[1])?)
            .expression_attribute_values(":s3", super::to_attribute(&finals[2])?)
            .send()
            .await
            .map_err(StoreError::guarded(JOB_NOT_ACTIVE))?;
        Ok(changed)
    }

    /// A new job and its system-log entry, together.
    pub async fn create_job_logged(&self, job: &Job, audit: &crate::domain::audit::AuditEntry) -> StoreResult<()> {
        let a = job.account_id.ok_or_else(|| StoreError::Other("a logged job belongs to an account".into()))?;
        let mut tx = super::tx::Tx::new();
        new_job_in(&mut tx, job)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Settle a job waiting for approval, with its system-log entry: approved, it is due now;
    /// rejected, it is cancelled. `JOB_NOT_ACTIVE` unless it is waiting.
    pub async fn settle_job_logged(
        &self,
        job: &Job,
        approval: Option<crate::jobs::Approval>,
        audit: &crate::domain::audit::AuditEntry,
    ) -> StoreResult<Job> {
        let a = job.account_id.ok_or_else(|| StoreError::Other("a logged job belongs to an account".into()))?;
        let mut changed = job.clone();
        let now = Utc::now();
        changed.updated_at = now;
        match approval {
            Some(approval) => {
                changed.status = Status::Running;
                changed.approved = Some(approval);
                changed.run_at = now;
                changed.run_at_ms = now.timestamp_millis();
            }
            None => {
                changed.status = Status::Cancelled;
                changed.finished_at = Some(now);
            }
        }
        let mut tx = super::tx::Tx::new();
        tx.put_where(
            JOB_NOT_ACTIVE,
            job_item(&changed)?,
            super::tx::Condition {
                condition: "attribute_exists(pk) AND #status = :waiting",
                values: vec![(":waiting", super::to_attribute(&Status::AwaitingApproval)?)],
                names: vec![("#status", "status")],
            },
        )?;
        tx.audit(a, audit)?;
        tx.commit(self).await?;
        Ok(changed)
    }

    /// Cancel a job that is not over, with its system-log entry: a runner holding it loses it
    /// at its next write. `JOB_NOT_ACTIVE` when it is over.
    pub async fn cancel_job_logged(&self, job: &Job, audit: &crate::domain::audit::AuditEntry) -> StoreResult<Job> {
        let a = job.account_id.ok_or_else(|| StoreError::Other("a logged job belongs to an account".into()))?;
        let mut changed = job.clone();
        changed.status = Status::Cancelled;
        changed.updated_at = Utc::now();
        changed.finished_at = Some(changed.updated_at);
        changed.lease_holder = None;
        changed.lease_until_ms = None;
        let mut tx = super::tx::Tx::new();
        tx.put_where(
            JOB_NOT_ACTIVE,
            job_item(&changed)?,
            super::tx::Condition {
                condition: "attribute_exists(pk) AND NOT #status IN (:s1, :s2, :s3)",
                values: vec![
                    (":s1", super::to_attribute(&Status::Succeeded)?),
                    (":s2", super::to_attribute(&Status::Failed)?),
                    (":s3", super::to_attribute(&Status::Cancelled)?),
                ],
                names: vec![("#status", "status")],
            },
        )?;
        tx.audit(a, audit)?;
        tx.commit(self).await?;
        Ok(changed)
    }

    /// An account's jobs of one kind, newest first, before `before`: up to `limit`, and whether
    /// more may follow.
    pub async fn list_jobs(
        &self,
        a: AccountId,
        kind: Kind,
        before: Option<JobId>,
        limit: i32,
    ) -> StoreResult<(Vec<Job>, bool)> {
        let shelf = kind.shelf();
        let high = before.map_or_else(|| format!("{shelf}~"), |b| format!("{shelf}{b}"));
        let mut out: Vec<Job> = Vec::new();
        let mut start = None;
        for _ in 0..limits::FILTERED_READS {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
                .filter_expression("kind = :kind")
                .expression_attribute_values(":pk", s(keys::account_pk(a)))
                .expression_attribute_values(":low", s(shelf))
                .expression_attribute_values(":high", s(high.clone()))
                .expression_attribute_values(":kind", super::to_attribute(&kind)?)
                .scan_index_forward(false)
                .limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in page.items.unwrap_or_default() {
                let job: Job = from_item(item)?;
                // `before` itself is the upper bound, included by BETWEEN.
                if Some(job.id) != before {
                    out.push(job);
                }
            }
            start = page.last_evaluated_key;
            if out.len() >= limit as usize || start.is_none() {
                break;
            }
        }
        let more = out.len() > limit as usize || start.is_some();
        out.truncate(limit as usize);
        Ok((out, more))
    }

    /// The jobs of an account (or Roster's own, for `None`), oldest first.
    pub async fn jobs_of(&self, account: Option<AccountId>) -> StoreResult<Vec<Job>> {
        self.query_all(keys::job_pk(account), "JOB#").await
    }

    /// Make a queued job due now (a person's "run now", a test's clock). `JOB_NOT_ACTIVE` unless
    /// it is queued.
    pub async fn run_job_now(&self, account: Option<AccountId>, id: JobId) -> StoreResult<()> {
        self.run_job_of_now(account, Kind::PurgeAccount, id).await
    }

    pub async fn run_job_of_now(&self, account: Option<AccountId>, kind: Kind, id: JobId) -> StoreResult<()> {
        let now = Utc::now();
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::job_of(account, kind, id).to_item()))
            .update_expression("SET run_at = :at, run_at_ms = :ms, gsi1sk = :due")
            .condition_expression("#status = :queued")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", super::to_attribute(&Status::Queued)?)
            .expression_attribute_values(":at", super::to_attribute(&now)?)
            .expression_attribute_values(":ms", n(now.timestamp_millis()))
            .expression_attribute_values(":due", s(due_sort_key(now.timestamp_millis(), id)))
            .send()
            .await
            .map_err(StoreError::guarded(JOB_NOT_ACTIVE))?;
        Ok(())
    }

    /// Append pages to the job's result log (25 per write, DynamoDB's limit; unprocessed ones
    /// are written again). Pages are keyed by their first entry's index, so writing a step's
    /// page twice leaves one copy.
    pub async fn put_result_pages(&self, job: &Job, pages: &[ResultPage]) -> StoreResult<()> {
        let mut requests = Vec::with_capacity(pages.len());
        for page in pages {
            let put = PutRequest::builder().set_item(Some(page_item(job, page)?)).build().map_err(StoreError::build)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for chunk in limits::chunks(&requests, limits::BATCH_WRITE_MAX) {
            self.write_batch(chunk.to_vec()).await?;
        }
        Ok(())
    }

    /// Up to `limit` pages of the job's result log in order, from the page that starts at
    /// `from` (or the first), and whether more follow.
    /// Jobs of one kind by id, in batched reads (missing ones are absent).
    pub async fn get_jobs_of(&self, a: Option<AccountId>, kind: Kind, ids: &[JobId]) -> StoreResult<Vec<Job>> {
        let wanted: Vec<_> = ids.iter().map(|id| keys::job_of(a, kind, *id)).collect();
        self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?.into_iter().map(super::from_item).collect()
    }

    pub async fn result_pages(&self, job: &Job, from: Option<u64>, limit: i32) -> StoreResult<(Vec<ResultPage>, bool)> {
        let pk = keys::job_pk(job.account_id);
        let first = keys::job_result(job.account_id, job.id, from.unwrap_or(0));
        let last = keys::job_result(job.account_id, job.id, u64::MAX);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":first", s(first.sk))
            .expression_attribute_values(":last", s(last.sk))
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let pages: Vec<ResultPage> =
            out.items.unwrap_or_default().into_iter().map(from_item).collect::<StoreResult<_>>()?;
        Ok((pages, out.last_evaluated_key.is_some()))
    }

    /// Add notes to entries of a page (mail that could not be delivered, say); earlier notes stay.
    pub async fn note_on_result_page(&self, job: &Job, first: u64, notes: &[PageNote]) -> StoreResult<()> {
        if notes.is_empty() {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::job_result(job.account_id, job.id, first).to_item()))
            .update_expression("SET notes = list_append(if_not_exists(notes, :none), :new)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":new", super::to_attribute(&notes)?)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

/// A chunk of a job's input as stored.
#[derive(Serialize, Deserialize)]
struct InputChunk {
    first: u64,
    rows: serde_json::Value,
}

impl Store {
    /// A job's input in chunks (each under DynamoDB's 400 KB item limit), keyed by their first
    /// row: written before the job itself, so a job never names input that is not there.
    pub async fn put_job_input(&self, job: &Job, chunks: &[(u64, serde_json::Value)]) -> StoreResult<()> {
        // Kept for as long as the job's results, counted from when it runs.
        let ttl = (job.run_at.max(Utc::now()) + RESULTS_KEPT).timestamp();
        let mut requests = Vec::with_capacity(chunks.len());
        for (first, rows) in chunks {
            let chunk = InputChunk { first: *first, rows: rows.clone() };
            let mut item = to_item(&keys::job_input(job.account_id, job.id, *first), &chunk)?;
            item.insert("ttl".into(), n(ttl));
            let put = PutRequest::builder().set_item(Some(item)).build().map_err(StoreError::build)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for chunk in limits::chunks(&requests, limits::BATCH_WRITE_MAX) {
            self.write_batch(chunk.to_vec()).await?;
        }
        Ok(())
    }

    /// The input chunk that starts at row `first`.
    pub async fn job_input(&self, job: &Job, first: u64) -> StoreResult<Option<serde_json::Value>> {
        Ok(self.get::<InputChunk>(&keys::job_input(job.account_id, job.id, first)).await?.map(|c| c.rows))
    }
}

/// A page of a job's result log: consecutive entries, written in one request (or in the
/// transaction that did what they report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultPage {
    /// The first entry's index.
    pub first: u64,
    #[serde(with = "crate::domain::json_text")]
    pub entries: Vec<JobResult>,
    /// What the kind keeps about the page as a whole (for invitations: how their mail is sent).
    #[serde(default)]
    pub about: serde_json::Value,
    /// What happened to the page's entries later (for invitations: mail that failed).
    #[serde(default)]
    pub notes: Vec<PageNote>,
}

/// A later word on one entry of a result page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageNote {
    pub index: u64,
    pub note: String,
}

fn page_item(job: &Job, page: &ResultPage) -> StoreResult<Item> {
    let mut item = to_item(&keys::job_result(job.account_id, job.id, page.first), page)?;
    item.insert("ttl".into(), n((Utc::now() + RESULTS_KEPT).timestamp()));
    Ok(item)
}

/// In a transaction: the page of the result log that reports what the transaction does.
pub(crate) fn result_page_in(tx: &mut super::tx::Tx, job: &Job, page: &ResultPage) -> StoreResult<()> {
    tx.put_raw(page_item(job, page)?)
}

/// In a transaction: the job as its runner has it (checkpoint, progress), if the runner still
/// holds it — so the work and the checkpoint after it commit together (`JOB_LOST` otherwise).
pub(crate) fn held_job_in(tx: &mut super::tx::Tx, job: &Job) -> StoreResult<()> {
    let holder = job.lease_holder.clone().unwrap_or_default();
    tx.put_where(
        JOB_LOST,
        job_item(job)?,
        super::tx::Condition {
            condition: "lease_holder = :me AND #status = :running",
            values: vec![(":me", s(holder)), (":running", super::to_attribute(&Status::Running)?)],
            names: vec![("#status", "status")],
        },
    )
}

/// In a transaction: a new job (the mail a change causes, say).
pub(crate) fn new_job_in(tx: &mut super::tx::Tx, job: &Job) -> StoreResult<()> {
    tx.create_raw(JOB_EXISTS, job_item(job)?)
}

/// The outbox entries a change causes, in the change's transaction.
pub(crate) fn mail_in(tx: &mut super::tx::Tx, mail: &[Job]) -> StoreResult<()> {
    mail.iter().try_for_each(|m| new_job_in(tx, m))
}
