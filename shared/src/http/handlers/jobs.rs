//! Background jobs people watch (`/v1/jobs`): user imports and domain re-maps.
use super::members::query;
use crate::domain::audit::Actor;
use crate::http::AppState;
use crate::http::problem::{Problem, Rendered};
use crate::jobs::{Job, Kind, Status};
use crate::service::Caller;
use crate::service::jobs;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    /// `import_users` or `remap_domain`.
    pub kind: Kind,
    pub status: Status,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What it did so far, by outcome (`created`, `skipped_existing`, `linked`, `unlinked`…).
    pub progress: BTreeMap<String, u64>,
    /// Result lines written so far (`GET /v1/jobs/{id}/results`).
    pub results: u64,
    /// Why the job failed, or why its last attempt did.
    pub error: Option<String>,
    pub created_by: Option<Actor>,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> Self {
        Self {
            id: j.id.to_string(),
            kind: j.kind,
            status: j.status,
            run_at: j.run_at,
            created_at: j.created_at,
            updated_at: j.updated_at,
            finished_at: j.finished_at,
            progress: j.progress.clone(),
            results: j.results,
            error: j.error.clone(),
            created_by: j.created_by.clone(),
        }
    }
}

/// A job's answer when it is started: 202, and where to watch it.
pub fn started(job: &Job) -> axum::response::Response {
    super::views::accepted(JobView::from(job), &format!("/v1/jobs/{}", job.id))
}

#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = JobView)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<JobView>, Problem> {
    Ok(Json(JobView::from(&jobs::get(&s, &caller, &id).await?)))
}

/// Stop a job that has not ended (what it did stays done).
#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = JobView), (status = 409, body = Rendered)))]
pub async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, Problem> {
    Ok(Json(JobView::from(&jobs::cancel(&s, &caller, &id).await?)))
}

#[derive(Serialize, ToSchema)]
#[schema(as = JobResultLine)]
pub struct ResultLine {
    /// The item's number in the job, from 0.
    pub index: u64,
    pub outcome: String,
    /// The item (a row's line and email, a user's id…) and why, when it was not done.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = JobResultList)]
pub struct ResultList {
    pub items: Vec<ResultLine>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}

/// What became of every item, in order.
#[utoipa::path(get, path = "/v1/jobs/{id}/results", tag = "jobs", params(("id" = String, Path), ResultsQuery),
    responses((status = 200, body = ResultList)))]
pub async fn results(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<ResultList>, Problem> {
    let q: ResultsQuery = query(q)?;
    Ok(Json(result_list(jobs::results(&s, &caller, &id, q.limit, q.cursor.as_deref()).await?)))
}

/// A page of result lines as shown.
pub fn result_list((lines, next_cursor): (Vec<crate::store::JobResult>, Option<String>)) -> ResultList {
    let items = lines
        .into_iter()
        .map(|r| ResultLine { index: r.index, outcome: r.outcome, detail: r.detail, at: r.at })
        .collect();
    ResultList { items, next_cursor }
}
