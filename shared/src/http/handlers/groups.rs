use super::etag::{if_match, tagged};
use super::members::query;
use super::views::{MemberView, Memo};
use crate::domain::group::{Assignment, Group};
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service::Caller;
use crate::service::assignments::{self, AssignRequest};
use crate::service::groups::{self, GroupChange, Leaders, Membership, NewGroup};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SeatView {
    pub member_id: String,
    /// Active and available: in the rotation now.
    pub eligible: bool,
}

#[derive(Serialize, ToSchema)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub auto_assign: bool,
    pub leaders: Vec<String>,
    /// Members in round-robin order.
    pub members: Vec<SeatView>,
    pub assignments: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Group> for GroupView {
    fn from(g: &Group) -> Self {
        Self {
            id: g.id.to_string(),
            name: g.name.clone(),
            description: g.description.clone(),
            auto_assign: g.auto_assign,
            leaders: g.leaders.iter().map(ToString::to_string).collect(),
            members: g
                .rotation
                .iter()
                .map(|s| SeatView { member_id: s.member.to_string(), eligible: s.eligible })
                .collect(),
            assignments: g.assigned,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

fn view(g: &Group) -> Response {
    tagged(GroupView::from(g), g.version)
}

#[derive(Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupView>,
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentView {
    #[serde(rename = "ref")]
    pub reference: String,
    pub member_id: String,
    pub number: u64,
    pub automatic: bool,
    pub at: DateTime<Utc>,
    pub by: String,
}

impl From<&Assignment> for AssignmentView {
    fn from(x: &Assignment) -> Self {
        Self {
            reference: x.reference.clone(),
            member_id: x.member_id.to_string(),
            number: x.number,
            automatic: x.automatic,
            at: x.at,
            by: x.by.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentList {
    pub items: Vec<AssignmentView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    pub available: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Team {
    pub items: Vec<MemberView>,
}

/// The account's groups.
#[utoipa::path(get, path = "/v1/groups", tag = "groups",
    responses((status = 200, body = GroupList), (status = 403, body = Rendered)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<GroupList>, Problem> {
    let groups = groups::list(&s, &caller).await?;
    Ok(Json(GroupList { items: groups.iter().map(GroupView::from).collect() }))
}

/// Create a group (name unique in the account, ignoring case).
#[utoipa::path(post, path = "/v1/groups", tag = "groups", request_body = NewGroup,
    responses((status = 201, body = GroupView), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewGroup>,
) -> Result<(StatusCode, Response), Problem> {
    Ok((StatusCode::CREATED, view(&groups::create(&s, &caller, new).await?)))
}

/// One group with its members in round-robin order (`ETag` for its settings).
#[utoipa::path(get, path = "/v1/groups/{id}", tag = "groups", params(("id" = String, Path)),
    responses((status = 200, body = GroupView), (status = 404, body = Rendered)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(view(&groups::get(&s, &caller, &id).await?))
}

/// Rename, describe, switch automatic assignment (`If-Match`: 412 when stale).
#[utoipa::path(patch, path = "/v1/groups/{id}", tag = "groups", params(("id" = String, Path)), request_body = GroupChange,
    responses((status = 200, body = GroupView), (status = 404, body = Rendered), (status = 409, body = Rendered), (status = 412, body = Rendered), (status = 422, body = Rendered)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut change): ApiJson<GroupChange>,
) -> Result<Response, Problem> {
    change.memo = Memo { memo: change.memo }.validated()?;
    Ok(view(&groups::update(&s, &caller, &id, change, if_match(&headers)?).await?))
}

/// Delete a group; its memberships go with it (in the system log).
#[utoipa::path(delete, path = "/v1/groups/{id}", tag = "groups", params(("id" = String, Path)), request_body = Option<Memo>,
    responses((status = 204), (status = 404, body = Rendered)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<StatusCode, Problem> {
    groups::delete(&s, &caller, &id, body.validated()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add and remove members (up to 90 ids in one call, one transaction). New members join the
/// end of the rotation.
#[utoipa::path(post, path = "/v1/groups/{id}/members", tag = "groups", params(("id" = String, Path)), request_body = Membership,
    responses((status = 200, body = GroupView), (status = 404, body = Rendered), (status = 422, body = Rendered)))]
pub async fn members(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(m): ApiJson<Membership>,
) -> Result<Response, Problem> {
    Ok(view(&groups::change_members(&s, &caller, &id, m).await?))
}

/// Set the group's leaders (members whose role may manage groups).
#[utoipa::path(put, path = "/v1/groups/{id}/leaders", tag = "groups", params(("id" = String, Path)), request_body = Leaders,
    responses((status = 200, body = GroupView), (status = 404, body = Rendered), (status = 422, body = Rendered)))]
pub async fn leaders(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(l): ApiJson<Leaders>,
) -> Result<Response, Problem> {
    Ok(view(&groups::set_leaders(&s, &caller, &id, l).await?))
}

/// Who gets this ticket: round robin (automatic assignment on) or the named member (off).
/// 201 for a new assignment, 200 with the first answer when the `ref` was assigned before.
#[utoipa::path(post, path = "/v1/groups/{id}/assignments", tag = "groups", params(("id" = String, Path)), request_body = AssignRequest,
    responses((status = 201, body = AssignmentView), (status = 200, body = AssignmentView), (status = 404, body = Rendered), (status = 409, body = Rendered, description = "nobody available"), (status = 422, body = Rendered)))]
pub async fn assign(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> Result<(StatusCode, Json<AssignmentView>), Problem> {
    let (x, new) = assignments::assign(&s, &caller, &id, req).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(AssignmentView::from(&x))))
}

/// The group's assignments, oldest first.
#[utoipa::path(get, path = "/v1/groups/{id}/assignments", tag = "groups", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = AssignmentList), (status = 404, body = Rendered)))]
pub async fn assignments(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<AssignmentList>, Problem> {
    let q: PageQuery = query(q)?;
    let (items, next_cursor) = assignments::list_assignments(&s, &caller, &id, q.limit, q.cursor.as_deref()).await?;
    Ok(Json(AssignmentList { items: items.iter().map(AssignmentView::from).collect(), next_cursor }))
}

/// Set yourself available or unavailable for automatic assignment.
#[utoipa::path(put, path = "/v1/me/availability", tag = "groups", request_body = Availability,
    responses((status = 200, body = MemberView), (status = 422, body = Rendered)))]
pub async fn my_availability(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(a): ApiJson<Availability>,
) -> Result<Json<MemberView>, Problem> {
    Ok(Json(MemberView::from(&groups::set_availability(&s, &caller, None, a.available).await?)))
}

/// Set a member of your team (or, for an admin, anyone) available or unavailable.
#[utoipa::path(put, path = "/v1/members/{id}/availability", tag = "groups", params(("id" = String, Path)), request_body = Availability,
    responses((status = 200, body = MemberView), (status = 403, body = Rendered), (status = 404, body = Rendered)))]
pub async fn member_availability(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(a): ApiJson<Availability>,
) -> Result<Json<MemberView>, Problem> {
    Ok(Json(MemberView::from(&groups::set_availability(&s, &caller, Some(&id), a.available).await?)))
}

/// "My team": the members of the groups you lead.
#[utoipa::path(get, path = "/v1/me/team", tag = "groups", responses((status = 200, body = Team)))]
pub async fn team(State(s): State<AppState>, caller: Caller) -> Result<Response, Problem> {
    let members = groups::team(&s, &caller).await?;
    Ok(Json(Team { items: members.iter().map(MemberView::from).collect() }).into_response())
}
