//! Exports over HTTP: members and the system log as CSV, inline up to 4 MB, else as an export
//! job whose file is downloaded from a time-limited link.
use super::views::{accepted, csv_attachment};
use crate::domain::audit::Actor;
use crate::domain::permissions::Permission;
use crate::http::AppState;
use crate::http::json::OptionalJson;
use crate::http::problem::{Problem, Rendered};
use crate::jobs::{Job, Status};
use crate::service::Caller;
use crate::service::audit::{AuditQuery, Selection};
use crate::service::exports::{self, ExportInput, ExportOf};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// All members as CSV (admins only), up to 4 MB (about 20,000 members); a larger account
/// answers 409 `export_too_large`: start an export job instead.
#[utoipa::path(get, path = "/v1/members/export.csv", tag = "members",
    responses((status = 200, content_type = "text/csv", description = "id,email,first_name,last_name,role,role_name,status,source,created_at,last_login_at"), (status = 403, body = Rendered), (status = 409, body = Rendered)))]
pub async fn members_csv(State(s): State<AppState>, caller: Caller) -> Result<Response, Problem> {
    let of = ExportOf::Members;
    Ok(csv_attachment(of.file_name(), exports::inline(&s, &caller, &of).await?))
}

/// The system log's entries the filters pick, as CSV (newest first; formula cells
/// neutralized), up to 4 MB; more answers 409 `export_too_large`: narrow the filters or start an
/// export job. `limit` and `cursor` are checked like the list's and otherwise ignored.
#[utoipa::path(get, path = "/v1/audit/export.csv", tag = "audit", params(AuditQuery),
    responses((status = 200, content_type = "text/csv", description = "id,at,actor_kind,actor_id,actor_name,action,target_type,target_id,memo,content"), (status = 403, body = Rendered), (status = 409, body = Rendered)))]
pub async fn audit_csv(State(s): State<AppState>, caller: Caller, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let q: AuditQuery = super::members::query(q)?;
    let of = ExportOf::SystemLog(q.selection()?);
    Ok(csv_attachment(of.file_name(), exports::inline(&s, &caller, &of).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ExportView {
    pub id: String,
    /// `queued`, `running`, `succeeded`, `failed`.
    pub status: Status,
    /// Rows written so far (all of them once succeeded).
    pub rows: u64,
    /// Bytes of CSV written so far.
    pub bytes: u64,
    /// When succeeded and the file is still kept: a link that downloads it without logging in,
    /// valid until `download_expires_at` (ask again for a fresh one).
    pub download_url: Option<String>,
    pub download_expires_at: Option<DateTime<Utc>>,
    /// When the file is deleted (a week after the export finished).
    pub file_expires_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub created_by: Option<Actor>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

fn view(job: &Job, download: Option<(String, DateTime<Utc>)>) -> ExportView {
    let count = |k: &str| job.progress.get(k).copied().unwrap_or(0);
    let (download_url, download_expires_at) = download.unzip();
    ExportView {
        id: job.id.to_string(),
        status: job.status,
        rows: count("rows"),
        bytes: count("bytes"),
        download_url,
        download_expires_at,
        file_expires_at: job.finished_at.filter(|_| job.status == Status::Succeeded).map(|t| t + exports::FILE_KEPT),
        error: job.error.clone(),
        created_by: job.created_by.clone(),
        created_at: job.created_at,
        finished_at: job.finished_at,
    }
}

async fn shown(s: &AppState, caller: &Caller, what: Permission, id: &str) -> Result<Json<ExportView>, Problem> {
    let (job, input): (Job, ExportInput) = exports::get(s, caller, what, id).await?;
    let download = exports::download(s, &job, &input).await?;
    Ok(Json(view(&job, download)))
}

/// A members export's options: none yet (every member is in it), so the body is empty or `{}`.
#[derive(Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersExport {}

/// Export every member to a file, in the background (any size; the answer is the queued job).
#[utoipa::path(post, path = "/v1/members/exports", tag = "members", request_body(content = Option<MembersExport>),
    responses((status = 202, body = ExportView), (status = 403, body = Rendered), (status = 422, body = Rendered)))]
pub async fn members_create(
    State(s): State<AppState>,
    caller: Caller,
    OptionalJson(MembersExport {}): OptionalJson<MembersExport>,
) -> Result<Response, Problem> {
    let job = exports::create(&s, &caller, ExportOf::Members).await?;
    Ok(accepted(view(&job, None), &format!("/v1/members/exports/{}", job.id)))
}

/// A members export: its progress and, once done, the download link.
#[utoipa::path(get, path = "/v1/members/exports/{id}", tag = "members", params(("id" = String, Path)),
    responses((status = 200, body = ExportView), (status = 403, body = Rendered), (status = 404, body = Rendered)))]
pub async fn members_get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ExportView>, Problem> {
    shown(&s, &caller, Permission::MembersManage, &id).await
}

/// Export the system log's entries the filters pick (all when the body is empty) to a file, in
/// the background; entries written after the job starts are not in it.
#[utoipa::path(post, path = "/v1/audit/exports", tag = "audit", request_body(content = Option<Selection>),
    responses((status = 202, body = ExportView), (status = 403, body = Rendered), (status = 422, body = Rendered)))]
pub async fn audit_create(
    State(s): State<AppState>,
    caller: Caller,
    OptionalJson(selection): OptionalJson<Selection>,
) -> Result<Response, Problem> {
    let job = exports::create(&s, &caller, ExportOf::SystemLog(selection)).await?;
    Ok(accepted(view(&job, None), &format!("/v1/audit/exports/{}", job.id)))
}

/// A system-log export: its progress and, once done, the download link.
#[utoipa::path(get, path = "/v1/audit/exports/{id}", tag = "audit", params(("id" = String, Path)),
    responses((status = 200, body = ExportView), (status = 403, body = Rendered), (status = 404, body = Rendered)))]
pub async fn audit_get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ExportView>, Problem> {
    shown(&s, &caller, Permission::AuditRead, &id).await
}
