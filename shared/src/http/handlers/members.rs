use super::etag::{if_match, tagged};
use super::views::{AccountView, MemberView, Memo};
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service::agent_ids;
use crate::service::members::{self, ListQuery, MemberChange, Stats};
use crate::service::{Caller, Error};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberView>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub member: MemberView,
    pub account: AccountView,
}

/// Query strings are parsed strictly too: unknown or malformed parameters are a 400.
pub fn query<T: serde::de::DeserializeOwned>(raw: Option<String>) -> Result<T, Problem> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_query", format!("the query string is not valid: {e}"))
    })
}

/// The member with its version as ETag, for `If-Match` on the next change.
fn with_etag(member: &crate::domain::member::Member) -> Response {
    tagged(MemberView::from(member), member.version)
}

/// List the account's members, oldest first, with search and filters.
#[utoipa::path(get, path = "/v1/members", tag = "members", params(ListQuery),
    responses((status = 200, body = MemberList), (status = 401, body = Rendered), (status = 403, body = Rendered)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<MemberList>, Problem> {
    let page = members::list(&s, &caller, query(q)?).await?;
    Ok(Json(MemberList { items: page.members.iter().map(MemberView::from).collect(), next_cursor: page.next_cursor }))
}

/// One member of the account (`ETag` carries its version).
#[utoipa::path(get, path = "/v1/members/{id}", tag = "members", params(("id" = String, Path)),
    responses((status = 200, body = MemberView), (status = 404, body = Rendered)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(with_etag(&members::get(&s, &caller, &id).await?))
}

/// Edit a member's name, role or optional permissions (`If-Match` optional).
#[utoipa::path(patch, path = "/v1/members/{id}", tag = "members", params(("id" = String, Path)), request_body = MemberChange,
    responses((status = 200, body = MemberView), (status = 403, body = Rendered), (status = 404, body = Rendered), (status = 412, body = Rendered), (status = 422, body = Rendered)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(change): ApiJson<MemberChange>,
) -> Result<Response, Problem> {
    Ok(with_etag(&members::update(&s, &caller, &id, change, if_match(&headers)?).await?))
}

/// Deactivate: the member can no longer log in and every session ends at once.
#[utoipa::path(post, path = "/v1/members/{id}/deactivate", tag = "members", params(("id" = String, Path)), request_body = Option<Memo>,
    responses((status = 200, body = MemberView), (status = 403, body = Rendered), (status = 404, body = Rendered)))]
pub async fn deactivate(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<Response, Problem> {
    Ok(with_etag(&members::deactivate(&s, &caller, &id, body.validated()?).await?))
}

/// Reactivate a deactivated member (their old sessions stay ended).
#[utoipa::path(post, path = "/v1/members/{id}/reactivate", tag = "members", params(("id" = String, Path)), request_body = Option<Memo>,
    responses((status = 200, body = MemberView), (status = 403, body = Rendered), (status = 404, body = Rendered)))]
pub async fn reactivate(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<Response, Problem> {
    Ok(with_etag(&members::reactivate(&s, &caller, &id, body.validated()?).await?))
}

/// Delete a member (the system log keeps who they were).
#[utoipa::path(delete, path = "/v1/members/{id}", tag = "members", params(("id" = String, Path)), request_body = Option<Memo>,
    responses((status = 204), (status = 403, body = Rendered), (status = 404, body = Rendered)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<StatusCode, Problem> {
    members::delete(&s, &caller, &id, body.validated()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The path of one agent ID of one member.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by axum's `Path` as a tuple; this only describes it.
pub struct AgentIdPath {
    id: String,
    #[param(schema_with = crate::http::openapi::field::agent_id)]
    agent_id: String,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssignQuery {
    /// Move the agent ID from its current holder (logged with the previous holder).
    pub reassign: Option<bool>,
}

/// Map an external agent ID to this member (one member at a time per ID).
#[utoipa::path(put, path = "/v1/members/{id}/agent-ids/{agent_id}", tag = "members", params(AgentIdPath, AssignQuery),
    responses((status = 200, body = MemberView), (status = 404, body = Rendered), (status = 409, body = Rendered, description = "held by another member (named), or the role cannot hold agent IDs"), (status = 422, body = Rendered)))]
pub async fn assign_agent_id(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, agent_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let q: AssignQuery = query(q)?;
    Ok(with_etag(&agent_ids::assign(&s, &caller, &id, &agent_id, q.reassign.unwrap_or(false)).await?))
}

/// Take an agent ID away from this member.
#[utoipa::path(delete, path = "/v1/members/{id}/agent-ids/{agent_id}", tag = "members", params(AgentIdPath),
    responses((status = 200, body = MemberView), (status = 404, body = Rendered)))]
pub async fn release_agent_id(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, agent_id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(with_etag(&agent_ids::release(&s, &caller, &id, &agent_id).await?))
}

/// Counts of active, invited, admin and standard members.
#[utoipa::path(get, path = "/v1/members/stats", tag = "members",
    responses((status = 200, body = Stats), (status = 403, body = Rendered)))]
pub async fn stats(State(s): State<AppState>, caller: Caller) -> Result<Json<Stats>, Problem> {
    Ok(Json(members::stats(&s, &caller).await?))
}

/// The calling member and their account.
#[utoipa::path(get, path = "/v1/me", tag = "members",
    responses((status = 200, body = MeResponse), (status = 401, body = Rendered)))]
pub async fn me(caller: Caller) -> Result<Json<MeResponse>, Problem> {
    let member = caller.member().ok_or(Error::Forbidden("an API key has no member profile"))?;
    Ok(Json(MeResponse { member: member.into(), account: (&caller.account).into() }))
}
