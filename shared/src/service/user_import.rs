//! Importing end users (SPEC §5): up to 100 rows answered at once, larger spreadsheets (up to
//! 50,000) as a job on the jobs platform. Every row goes through the one creation path
//! (`users::create`), so it is linked by its domain like any new person.
use super::users::{Lookups, MembershipInput, NewUser};
use super::{Caller, Error, Result, Services, job_input, users};
use crate::domain::FieldError;
use crate::domain::audit::AuditEntry;
use crate::domain::bulk::{first_of_each, reason};
use crate::domain::ids::UserId;
use crate::domain::permissions::Permission;
use crate::domain::user::UserSource;
use crate::domain::user_import::{
    FIELD_COLUMN, INLINE_MAX, ImportRow, JOB_MAX, Outcome, Sheet, field_named, unknown_field,
};
use crate::jobs::{Job, Kind, Step};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Rows one step of a job creates (one transaction each: about a second against DynamoDB).
const STEP_ROWS: u64 = 100;

/// A row as kept for its turn: checked for shape and repeats when the file came.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRow {
    pub line: u64,
    pub email: String,
    pub row: Option<ImportRow>,
    pub invalid: Option<String>,
    /// The line of the earlier row with this email.
    pub duplicate_of: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportInput {
    pub rows: u64,
    /// The index of each stored chunk's first row.
    pub chunks: Vec<u64>,
}

/// The next row to import.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportCheckpoint {
    pub next: u64,
}

/// What became of one row.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ImportRowResult)]
pub struct RowResult {
    /// The CSV line (the header is line 1).
    pub line: u64,
    pub email: String,
    pub outcome: Outcome,
    /// Why the row was not imported.
    pub reason: Option<String>,
    pub user_id: Option<String>,
}

pub enum Imported {
    Inline(Vec<RowResult>),
    Job(Box<Job>),
}

/// Import the rows: at once when they are few, else as a job (queued for `run_at`, default now;
/// a scheduled import is always a job).
pub async fn import(s: &Services, caller: &Caller, sheet: Sheet, run_at: Option<DateTime<Utc>>) -> Result<Imported> {
    caller.require(Permission::UsersManage)?;
    let mut lookups = Lookups::default();
    let known = if sheet.fields.is_empty() { &[][..] } else { lookups.user_fields(s, caller.account_id()).await? };
    if let Some(unknown) = unknown_field(&sheet.fields, known) {
        let why = format!("the column {FIELD_COLUMN}{unknown} names no user field of this account");
        return Err(FieldError::new("columns", "unknown_field", why).into());
    }
    let rows = sheet.rows;
    if rows.len() > JOB_MAX {
        return Err(FieldError::new("rows", "too_many", format!("at most {JOB_MAX} rows per import")).into());
    }
    let firsts = first_of_each(&rows, |r| &r.email);
    let stored: Vec<StoredRow> = rows
        .into_iter()
        .zip(firsts)
        .map(|(r, duplicate_of)| match r.row {
            Ok(row) => StoredRow {
                line: r.line,
                email: row.email.trim().to_owned(),
                row: Some(row),
                invalid: None,
                duplicate_of,
            },
            Err(why) => {
                StoredRow { line: r.line, email: String::new(), row: None, invalid: Some(why), duplicate_of: None }
            }
        })
        .collect();
    if stored.len() <= INLINE_MAX && run_at.is_none() {
        let mut out = Vec::with_capacity(stored.len());
        for row in &stored {
            out.push(one(s, caller, row, UserId::new(), &mut lookups).await?);
        }
        return Ok(Imported::Inline(out));
    }
    let chunks = job_input::chunk(&stored)?;
    let input = ImportInput { rows: stored.len() as u64, chunks: chunks.iter().map(|(first, _)| *first).collect() };
    let input = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
    let now = Utc::now();
    let mut job = Job::new(Kind::ImportUsers, Some(caller.account_id()), input, run_at.unwrap_or(now).max(now));
    job.created_by = Some(caller.actor());
    s.store.put_job_input(&job, &chunks).await?;
    let audit = AuditEntry::new(
        caller.actor(),
        "user_import.started",
        "job",
        job.id,
        serde_json::json!({ "rows": stored.len() }),
    );
    s.store.create_job_logged(&job, &audit).await?;
    Ok(Imported::Job(Box::new(job)))
}

/// One step of an import job: the next rows, each created with its own id made from the job's.
pub async fn step(s: &Services, job: &Job, at: ImportCheckpoint) -> Result<Step<ImportCheckpoint>> {
    let input: ImportInput = job.input_as()?;
    // Whoever started it, as they are now: one who lost the right stops the import.
    let caller = super::caller::starter(s, job).await?;
    let a = caller.account_id();
    caller.require(Permission::UsersManage)?;
    let end = (at.next + STEP_ROWS).min(input.rows);
    let rows: Vec<(u64, StoredRow)> = job_input::load(s, job, &input.chunks, at.next, end).await?;
    let (mut outcomes, mut counts, mut lookups) = (Vec::new(), Vec::new(), Lookups::default());
    for (index, row) in rows {
        let r = one(s, &caller, &row, UserId::derived(job.id.as_uuid(), index), &mut lookups).await?;
        counts.push((r.outcome.as_str(), 1));
        let detail = serde_json::to_value(&r).map_err(|e| Error::Internal(e.to_string()))?;
        outcomes.push(crate::jobs::Outcome { outcome: r.outcome.as_str(), detail });
    }
    if end < input.rows {
        return Ok(Step::to(Some(ImportCheckpoint { next: end }), outcomes, counts));
    }
    let mut totals = job.progress.clone();
    for (k, n) in &counts {
        *totals.entry((*k).to_owned()).or_default() += n;
    }
    let summary = AuditEntry::new(caller.actor(), "user_import.finished", "job", job.id, serde_json::json!(totals));
    s.store.log_audit(a, &summary).await?;
    Ok(Step::to(None, outcomes, counts))
}

/// Create one row's person (as `id`).
async fn one(
    s: &Services,
    caller: &Caller,
    stored: &StoredRow,
    id: UserId,
    lookups: &mut Lookups,
) -> Result<RowResult> {
    let result = |outcome, reason: Option<String>, user: Option<UserId>| RowResult {
        line: stored.line,
        email: stored.email.clone(),
        outcome,
        reason,
        user_id: user.map(|u| u.to_string()),
    };
    if let Some(why) = &stored.invalid {
        return Ok(result(Outcome::Invalid, Some(why.clone()), None));
    }
    if let Some(first) = stored.duplicate_of {
        return Ok(result(Outcome::SkippedDuplicateRow, Some(format!("the same email as line {first}")), None));
    }
    let Some(row) = &stored.row else { return Ok(result(Outcome::Invalid, Some("no row".into()), None)) };
    let mut organizations = Vec::new();
    if let Some(o) = &row.organization {
        let Some(org) = lookups.organization(s, caller.account_id(), o).await? else {
            return Ok(result(Outcome::Invalid, Some(format!("no organization is named {o:?}")), None));
        };
        organizations.push(MembershipInput {
            organization_id: org.to_string(),
            role: row.organization_role,
            primary: true,
        });
    }
    let mut values = serde_json::Map::new();
    for (name, cell) in &row.custom_fields {
        let fields = lookups.user_fields(s, caller.account_id()).await?;
        let Some(f) = field_named(fields, name) else {
            return Ok(result(Outcome::Invalid, Some(format!("no user field is named {name:?}")), None));
        };
        values.insert(f.id.to_string(), crate::domain::custom_field::from_cell(f, cell));
    }
    let new = NewUser {
        name: row.name.clone(),
        emails: std::iter::once(row.email.clone()).chain(row.other_emails.iter().cloned()).collect(),
        phone: row.phone.clone(),
        external_id: row.external_id.clone(),
        organizations,
        custom_fields: Some(values),
    };
    match users::create_as(s, caller, new, UserSource::Import, id, lookups, Vec::new()).await {
        Ok(u) => {
            crate::jobs::fault::point("user_imported");
            Ok(result(Outcome::Created, None, Some(u.id)))
        }
        Err(Error::Validation(e) | Error::Unknown(e)) => Ok(result(Outcome::Invalid, Some(reason(&e)), None)),
        Err(Error::Conflict { code: "user_email_taken" | "user_external_id_taken", message }) => {
            // Redone after a crash: the user this row made before is there.
            if s.store.get_user(caller.account_id(), id).await?.is_some() {
                return Ok(result(Outcome::Created, None, Some(id)));
            }
            Ok(result(Outcome::SkippedExisting, Some(message), None))
        }
        Err(e) => Err(e),
    }
}
