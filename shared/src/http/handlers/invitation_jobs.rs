//! Invitation jobs over HTTP: start one (JSON or CSV, up to 50,000 rows), watch it, read what
//! became of every row, cancel it.
use super::invitations::{JobCsv, Shape, bulk_body};
use super::views::csv_attachment;
use crate::domain::audit::Actor;
use crate::domain::bulk::{self, Outcome};
use crate::domain::member::csv_safe;
use crate::http::problem::{Problem, Rendered};
use crate::http::{AppState, JOB_BODY_LIMIT};
use crate::jobs::{Job, Status};
use crate::service::Caller;
use crate::service::invitation_jobs::{self, JOB_MAX, MailState, RowResult};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct InvitationJobView {
    pub id: String,
    pub status: Status,
    /// When it starts (or started).
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Rows in the job.
    pub rows: u64,
    /// Rows dealt with so far.
    pub processed: u64,
    /// Rows whose mail is dealt with (sent, or failed for good).
    pub mailed: u64,
    pub counts: JobCounts,
    /// Why the job failed, or why its last attempt did.
    pub error: Option<String>,
    pub created_by: Option<Actor>,
}

#[derive(Serialize, ToSchema, Default)]
pub struct JobCounts {
    pub invited: u64,
    pub skipped_existing: u64,
    pub skipped_duplicate_row: u64,
    pub invalid: u64,
}

impl From<&Job> for InvitationJobView {
    fn from(j: &Job) -> Self {
        let rows = invitation_jobs::rows_of(j);
        let at = invitation_jobs::checkpoint(j);
        let (processed, mailed) = (at.next, at.mailed);
        let count = |k: &str| j.progress.get(k).copied().unwrap_or(0);
        Self {
            id: j.id.to_string(),
            status: j.status,
            run_at: j.run_at,
            created_at: j.created_at,
            updated_at: j.updated_at,
            finished_at: j.finished_at,
            rows,
            processed,
            mailed,
            counts: JobCounts {
                invited: count("invited"),
                skipped_existing: count("skipped_existing"),
                skipped_duplicate_row: count("skipped_duplicate_row"),
                invalid: count("invalid"),
            },
            error: j.error.clone(),
            created_by: j.created_by.clone(),
        }
    }
}

/// The JSON form of a job: its rows and when to start.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct JobRows {
    /// 1–50,000 rows.
    #[schema(min_items = 1, max_items = 50000)]
    rows: Vec<bulk::Row>,
    /// When to start (default now).
    #[schema(schema_with = crate::http::openapi::field::date_time_or_null)]
    run_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// For a CSV body: when to start (default now).
    #[param(schema_with = crate::http::openapi::field::date_time_param)]
    pub run_at: Option<DateTime<Utc>>,
}

/// Start an invitation job: up to 50,000 rows as JSON (`{"rows": [...], "run_at": ...}`) or as
/// a CSV file (`text/csv`, the columns of the bulk route; `?run_at=` to schedule). Rows are
/// invited in the background exactly as single invitations; the answer is the queued job.
#[utoipa::path(post, path = "/v1/invitation-jobs", tag = "invitations", params(CreateQuery),
    request_body(content((JobRows = "application/json"), (JobCsv = "text/csv"))),
    responses((status = 202, body = InvitationJobView), (status = 413, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Problem> {
    let q: CreateQuery = super::members::query(q)?;
    let (rows, run_at) = bulk_body(&headers, &body, JOB_BODY_LIMIT, Shape::Object(JOB_MAX))?;
    let job = invitation_jobs::create(&s, &caller, rows, run_at.or(q.run_at)).await?;
    Ok(super::views::accepted(InvitationJobView::from(&job), &format!("/v1/invitation-jobs/{}", job.id)))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationJobList {
    pub items: Vec<InvitationJobView>,
    pub next_cursor: Option<String>,
}

/// The account's invitation jobs, newest first.
#[utoipa::path(get, path = "/v1/invitation-jobs", tag = "invitations", params(ListQuery),
    responses((status = 200, body = InvitationJobList), (status = 403, body = Rendered)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<InvitationJobList>, Problem> {
    let q: ListQuery = super::members::query(q)?;
    let (jobs, next_cursor) = invitation_jobs::list(&s, &caller, q.limit, q.cursor.as_deref()).await?;
    Ok(Json(InvitationJobList { items: jobs.iter().map(Into::into).collect(), next_cursor }))
}

/// One invitation job: its status and progress.
#[utoipa::path(get, path = "/v1/invitation-jobs/{id}", tag = "invitations", params(("id" = String, Path)),
    responses((status = 200, body = InvitationJobView), (status = 404, body = Rendered)))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<InvitationJobView>, Problem> {
    Ok(Json((&invitation_jobs::get(&s, &caller, &id).await?).into()))
}

/// Cancel a job that has not finished: rows it has not reached are never invited.
#[utoipa::path(post, path = "/v1/invitation-jobs/{id}/cancel", tag = "invitations", params(("id" = String, Path)),
    responses((status = 200, body = InvitationJobView), (status = 404, body = Rendered), (status = 409, body = Rendered)))]
pub async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<InvitationJobView>, Problem> {
    Ok(Json((&invitation_jobs::cancel(&s, &caller, &id).await?).into()))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// Only rows with this outcome.
    pub outcome: Option<Outcome>,
    /// 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ResultList {
    pub items: Vec<RowResult>,
    pub next_cursor: Option<String>,
}

/// What became of each row so far, in row order.
#[utoipa::path(get, path = "/v1/invitation-jobs/{id}/results", tag = "invitations",
    params(("id" = String, Path), ResultsQuery),
    responses((status = 200, body = ResultList), (status = 404, body = Rendered)))]
pub async fn results(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<ResultList>, Problem> {
    let q: ResultsQuery = super::members::query(q)?;
    let (items, next_cursor) =
        invitation_jobs::results(&s, &caller, &id, q.outcome, q.limit, q.cursor.as_deref()).await?;
    Ok(Json(ResultList { items, next_cursor }))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CsvQuery {
    /// Only rows with this outcome.
    pub outcome: Option<Outcome>,
    /// Where a previous part ended (its `Link: rel="next"`).
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}

/// Rows of one CSV part: a whole job's results in one answer would pass Lambda's 6 MB.
const CSV_PART: usize = 10_000;

/// The results as CSV (`line,email,outcome,reason,member_id,mail`; cells that a spreadsheet
/// would read as formulas are quoted with `'`). Up to 10,000 rows per answer; a `Link` header
/// with `rel="next"` names the next part.
#[utoipa::path(get, path = "/v1/invitation-jobs/{id}/results.csv", tag = "invitations",
    params(("id" = String, Path), CsvQuery),
    responses((status = 200, content_type = "text/csv", description = "line,email,outcome,reason,member_id,mail"), (status = 404, body = Rendered)))]
pub async fn results_csv(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let q: CsvQuery = super::members::query(q)?;
    let fail = |e: csv::Error| Problem::from(crate::service::Error::Internal(e.to_string()));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["line", "email", "outcome", "reason", "member_id", "mail"]).map_err(fail)?;
    let (mut cursor, mut written) = (q.cursor, 0);
    loop {
        let (rows, next) = invitation_jobs::results(&s, &caller, &id, q.outcome, Some(1000), cursor.as_deref()).await?;
        for r in &rows {
            let outcome = serde_json::to_value(r.outcome).ok().and_then(|v| v.as_str().map(str::to_owned));
            let mail = r.mail.map(|m| match m {
                MailState::Sent => "sent",
                MailState::Pending => "pending",
                MailState::Failed => "failed",
            });
            w.write_record([
                r.line.to_string(),
                csv_safe(&r.email),
                outcome.unwrap_or_default(),
                csv_safe(r.reason.as_deref().unwrap_or_default()),
                r.member_id.map(|m| m.to_string()).unwrap_or_default(),
                mail.unwrap_or_default().to_owned(),
            ])
            .map_err(fail)?;
        }
        written += rows.len();
        cursor = next;
        if cursor.is_none() || written >= CSV_PART {
            break;
        }
    }
    let body = String::from_utf8(w.into_inner().map_err(|e| fail(e.into_error().into()))?)
        .map_err(|e| Problem::from(crate::service::Error::Internal(e.to_string())))?;
    let mut response = csv_attachment("invitation-results.csv", body);
    if let Some(next) = cursor {
        let only = q.outcome.and_then(|o| serde_json::to_value(o).ok()).and_then(|v| v.as_str().map(str::to_owned));
        let only = only.map(|o| format!("&outcome={o}")).unwrap_or_default();
        let link = format!("</v1/invitation-jobs/{id}/results.csv?cursor={next}{only}>; rel=\"next\"");
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}
