//! Jobs and their result logs. A job is due while it sits in the `gsi1` due list (queued or
//! running, keyed by its `run_at`); a runner claims it with a conditional update and every later
//! write is conditioned on still holding the claim, so two runners never work one job.
use super::keys::{self, Key};
use super::limits;
use super::tx::s;
use super::{Item, Store, StoreError, StoreResult, from_item, to_item};
use crate::domain::ids::{AccountId, JobId};
use crate::jobs::{Job, RESULTS_KEPT, Status};
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
    let mut item = to_item(&keys::job(job.account_id, job.id), job)?;
    if job.status.is_runnable() {
        item.insert("gsi1pk".into(), s(DUE));
        item.insert("gsi1sk".into(), s(due_sort_key(job.run_at_ms, job.id)));
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

    /// The jobs of an account (or Roster's own, for `None`), oldest first.
    pub async fn jobs_of(&self, account: Option<AccountId>) -> StoreResult<Vec<Job>> {
        self.query_all(keys::job_pk(account), "JOB#").await
    }

    /// Make a queued job due now (a person's "run now", a test's clock). `JOB_NOT_ACTIVE` unless
    /// it is queued.
    pub async fn run_job_now(&self, account: Option<AccountId>, id: JobId) -> StoreResult<()> {
        let now = Utc::now();
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::job(account, id).to_item()))
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

    /// Append to the job's result log (25 entries per write, DynamoDB's limit; unprocessed
    /// entries are written again). Entries are keyed by their index, so writing a step's
    /// results twice leaves one copy.
    pub async fn put_job_results(&self, job: &Job, results: &[JobResult]) -> StoreResult<()> {
        let ttl = (Utc::now() + RESULTS_KEPT).timestamp();
        let mut requests = Vec::with_capacity(results.len());
        for r in results {
            let mut item = to_item(&keys::job_result(job.account_id, job.id, r.index), r)?;
            item.insert("ttl".into(), n(ttl));
            let put = PutRequest::builder().set_item(Some(item)).build().map_err(StoreError::build)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for chunk in limits::chunks(&requests, limits::BATCH_WRITE_MAX) {
            self.write_batch(chunk.to_vec()).await?;
        }
        Ok(())
    }

    /// One page of the job's result log in index order, after `after`.
    pub async fn job_results(
        &self,
        job: &Job,
        after: Option<u64>,
        limit: i32,
    ) -> StoreResult<(Vec<JobResult>, Option<u64>)> {
        let pk = keys::job_pk(job.account_id);
        let first = keys::job_result(job.account_id, job.id, after.map_or(0, |a| a + 1));
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
        let results: Vec<JobResult> =
            out.items.unwrap_or_default().into_iter().map(from_item).collect::<StoreResult<_>>()?;
        let next = out.last_evaluated_key.and(results.last().map(|r| r.index));
        Ok((results, next))
    }
}
