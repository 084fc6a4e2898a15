use super::members::query;
use crate::domain::audit::{Actor, AuditEntry};
use crate::http::AppState;
use crate::http::problem::{Problem, Rendered};
use crate::service::Caller;
use crate::service::audit::{self, AuditQuery};
use crate::service::sealing::{self, Verification};
use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// The target's content (before/after where useful); never secrets.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    pub memo: Option<String>,
}

impl From<&AuditEntry> for AuditView {
    fn from(e: &AuditEntry) -> Self {
        Self {
            id: e.id.to_string(),
            at: e.at,
            actor: e.actor.clone(),
            action: e.action.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            content: e.content.clone(),
            memo: e.memo.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditView>,
    pub next_cursor: Option<String>,
}

/// The system log, newest first, by time range, actor, action, target or category.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 403, body = Rendered), (status = 422, body = Rendered)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<AuditList>, Problem> {
    let q: AuditQuery = query(q)?;
    let (entries, next_cursor) = audit::list(&s, &caller, &q).await?;
    Ok(Json(AuditList { items: entries.iter().map(AuditView::from).collect(), next_cursor }))
}

/// Recompute the system log's digest chain: `ok`, or the first digest or entry that no longer
/// matches (edited, deleted or inserted), and how many recent entries are not sealed yet.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", params(VerifyQuery),
    responses((status = 200, body = Verification), (status = 400, body = Rendered), (status = 403, body = Rendered), (status = 422, body = Rendered)))]
pub async fn verify(
    State(s): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<Verification>, Problem> {
    let q: VerifyQuery = super::members::query(q)?;
    Ok(Json(sealing::verify(&s, &caller, q.cursor.as_deref()).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// Continue a verification where the last answer's `next_cursor` left off.
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}
