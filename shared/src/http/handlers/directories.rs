//! Directory connections (`/v1/directories`) and their runs.
use super::etag::{if_match, tagged};
use super::jobs::{JobView, ResultList, ResultsQuery, started};
use crate::domain::audit::Actor;
use crate::domain::directory::{DeletionThreshold, Mapping, Preset};
use crate::domain::directory_settings::{Connection, GroupRole, OrganizationSource, PeopleBecome, Security};
use crate::domain::role::RoleRef;
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service::Caller;
use crate::service::directories::{self, DirectoryChange, NewDirectory, TestReport};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A connection as shown: never its bind password.
#[derive(Serialize, ToSchema)]
pub struct DirectoryView {
    pub id: String,
    pub name: String,
    pub url: String,
    pub security: Security,
    pub allow_insecure: bool,
    /// The PEM certificates trusted for this server, if any.
    pub ca_certificate: Option<String>,
    pub bind_dn: String,
    pub base_dns: Vec<String>,
    pub user_filter: String,
    pub preset: Preset,
    pub mapping: Mapping,
    pub people_become: PeopleBecome,
    /// Members: the role each directory group gives (first listed wins).
    pub role_mapping: Vec<GroupRole>,
    /// Members: the role of people in no mapped group (none: not synced).
    #[schema(value_type = Option<String>)]
    pub default_role: Option<RoleRef>,
    pub organizations: OrganizationSource,
    pub every_minutes: u32,
    pub full_pass_hours: u32,
    pub deletion_threshold: DeletionThreshold,
    pub enabled: bool,
    /// Whose authority scheduled runs act with (who last saved the connection).
    pub configured_by: Actor,
    /// The run going on, if any.
    pub current_run: Option<String>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// When the last finished full pass (the run that also finds deletions) started.
    pub last_full_pass_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Connection> for DirectoryView {
    fn from(c: &Connection) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            url: c.endpoint.url.clone(),
            security: c.endpoint.security,
            allow_insecure: c.allow_insecure,
            ca_certificate: c.ca_certificate.clone(),
            bind_dn: c.bind_dn.clone(),
            base_dns: c.base_dns.clone(),
            user_filter: c.user_filter.clone(),
            preset: c.preset,
            mapping: c.mapping.clone(),
            people_become: c.people_become,
            role_mapping: c.role_mapping.clone(),
            default_role: c.default_role,
            organizations: c.organizations.clone(),
            every_minutes: c.every_minutes,
            full_pass_hours: c.full_pass_hours,
            deletion_threshold: c.deletion_threshold,
            enabled: c.enabled,
            configured_by: c.configured_by.clone(),
            current_run: c.current_run.map(|r| r.to_string()),
            last_run_at: c.last_run_at,
            last_full_pass_at: c.last_full_pass_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn view(c: &Connection) -> Response {
    tagged(DirectoryView::from(c), c.version)
}

#[derive(Serialize, ToSchema)]
pub struct DirectoryList {
    pub items: Vec<DirectoryView>,
}

#[utoipa::path(get, path = "/v1/directories", tag = "directories", responses((status = 200, body = DirectoryList)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<DirectoryList>, Problem> {
    let all = directories::list(&s, &caller).await?;
    Ok(Json(DirectoryList { items: all.iter().map(DirectoryView::from).collect() }))
}

/// Connect an LDAP or Active Directory server (the bind password goes to the secret store).
#[utoipa::path(post, path = "/v1/directories", tag = "directories", request_body = NewDirectory,
    responses((status = 201, body = DirectoryView), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewDirectory>,
) -> Result<(StatusCode, Response), Problem> {
    Ok((StatusCode::CREATED, view(&directories::create(&s, &caller, new).await?)))
}

#[utoipa::path(get, path = "/v1/directories/{id}", tag = "directories", params(("id" = String, Path)),
    responses((status = 200, body = DirectoryView)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(view(&directories::get(&s, &caller, &id).await?))
}

/// Change the settings (`If-Match`: 412 when stale); a new `bind_password` replaces the secret.
#[utoipa::path(patch, path = "/v1/directories/{id}", tag = "directories", params(("id" = String, Path)),
    request_body = DirectoryChange,
    responses((status = 200, body = DirectoryView), (status = 409, body = Rendered), (status = 412, body = Rendered)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(change): ApiJson<DirectoryChange>,
) -> Result<Response, Problem> {
    Ok(view(&directories::update(&s, &caller, &id, change, if_match(&headers)?).await?))
}

/// Remove the connection and its secret; the people it synced stay.
#[utoipa::path(delete, path = "/v1/directories/{id}", tag = "directories", params(("id" = String, Path)),
    responses((status = 204)))]
pub async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    directories::delete(&s, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bind and read a few entries: what a run would find, or the exact error.
#[utoipa::path(post, path = "/v1/directories/{id}/test", tag = "directories", params(("id" = String, Path)),
    responses((status = 200, body = TestReport)))]
pub async fn test(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TestReport>, Problem> {
    Ok(Json(directories::test(&s, &caller, &id).await?))
}

#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Report what would change, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Read everything and look for deletions, even when only what changed since the last run
    /// would be read (the schedule makes a full pass every `full_pass_hours`).
    #[serde(default)]
    pub full: bool,
}

/// Run the connection now (202; one run at a time: 409 while one is going on).
#[utoipa::path(post, path = "/v1/directories/{id}/runs", tag = "directories", params(("id" = String, Path)),
    request_body = Option<RunRequest>,
    responses((status = 202, body = JobView), (status = 409, body = Rendered)))]
pub async fn run(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<RunRequest>,
) -> Result<Response, Problem> {
    Ok(started(&directories::run(&s, &caller, &id, body.dry_run, body.full).await?))
}

#[derive(Serialize, ToSchema)]
pub struct RunList {
    /// Newest first (the last 50).
    pub items: Vec<JobView>,
}

#[utoipa::path(get, path = "/v1/directories/{id}/runs", tag = "directories", params(("id" = String, Path)),
    responses((status = 200, body = RunList)))]
pub async fn runs(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<RunList>, Problem> {
    let runs = directories::runs(&s, &caller, &id).await?;
    Ok(Json(RunList { items: runs.iter().map(JobView::from).collect() }))
}

/// A run: its status and counts (created, updated, unchanged, deactivated, reactivated, released, errors).
#[utoipa::path(get, path = "/v1/directories/{id}/runs/{run}", tag = "directories",
    params(("id" = String, Path), ("run" = String, Path)), responses((status = 200, body = JobView)))]
pub async fn run_get(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, run)): Path<(String, String)>,
) -> Result<Json<JobView>, Problem> {
    Ok(Json(JobView::from(&directories::run_of(&s, &caller, &id, &run).await?)))
}

/// A run's per-entry changes and errors, in order.
#[utoipa::path(get, path = "/v1/directories/{id}/runs/{run}/results", tag = "directories",
    params(("id" = String, Path), ("run" = String, Path), ResultsQuery), responses((status = 200, body = ResultList)))]
pub async fn run_results(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, run)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Json<ResultList>, Problem> {
    let q: ResultsQuery = super::members::query(q)?;
    let job = directories::run_of(&s, &caller, &id, &run).await?;
    let page = crate::service::jobs::results_of(&s, &caller, &job, q.limit, q.cursor.as_deref()).await?;
    Ok(Json(super::jobs::result_list(page)))
}

/// Let a run that stopped above the deletion threshold deactivate those people.
#[utoipa::path(post, path = "/v1/directories/{id}/runs/{run}/approve", tag = "directories",
    params(("id" = String, Path), ("run" = String, Path)),
    responses((status = 200, body = JobView), (status = 409, body = Rendered)))]
pub async fn approve(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, run)): Path<(String, String)>,
) -> Result<Json<JobView>, Problem> {
    Ok(Json(JobView::from(&directories::settle(&s, &caller, &id, &run, true).await?)))
}

/// End a run that stopped above the deletion threshold: nobody is deactivated.
#[utoipa::path(post, path = "/v1/directories/{id}/runs/{run}/reject", tag = "directories",
    params(("id" = String, Path), ("run" = String, Path)),
    responses((status = 200, body = JobView), (status = 409, body = Rendered)))]
pub async fn reject(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, run)): Path<(String, String)>,
) -> Result<Json<JobView>, Problem> {
    Ok(Json(JobView::from(&directories::settle(&s, &caller, &id, &run, false).await?)))
}
