use super::etag::{if_match, tagged};
use super::views::Memo;
use crate::domain::permissions::Permission;
use crate::domain::role::Role;
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service::Caller;
use crate::service::roles::{self, NewRole, RoleChange, RoleDeletion};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct RoleView {
    /// A basic role's id (`agent`) or a custom role's id.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Basic roles are defined by Roster and cannot be edited or deleted.
    pub basic: bool,
    pub permissions: Vec<Permission>,
    /// Its members handle conversations and can hold agent IDs.
    pub agent_like: bool,
    /// Members holding the role (custom roles only).
    pub member_count: Option<u64>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<&Role> for RoleView {
    fn from(r: &Role) -> Self {
        let custom = match r {
            Role::Custom(c) => Some(c),
            Role::Basic(_) => None,
        };
        Self {
            id: r.id().to_string(),
            name: r.name().to_owned(),
            description: custom.map(|c| c.description.clone()).unwrap_or_default(),
            basic: custom.is_none(),
            permissions: r.permissions().to_vec(),
            agent_like: r.agent_like(),
            member_count: custom.map(|c| c.member_count),
            created_at: custom.map(|c| c.created_at),
            updated_at: custom.map(|c| c.updated_at),
        }
    }
}

/// A role with its version as ETag (custom roles; basic roles never change).
fn view(role: Role) -> Response {
    match &role {
        Role::Custom(c) => tagged(RoleView::from(&role), c.version),
        Role::Basic(_) => Json(RoleView::from(&role)).into_response(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct RoleList {
    pub items: Vec<RoleView>,
}

/// The six basic roles, then the account's custom roles.
#[utoipa::path(get, path = "/v1/roles", tag = "roles",
    responses((status = 200, body = RoleList), (status = 403, body = Rendered)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<RoleList>, Problem> {
    let roles = roles::list(&s, &caller).await?;
    Ok(Json(RoleList { items: roles.iter().map(RoleView::from).collect() }))
}

/// One role (`ETag` carries a custom role's version).
#[utoipa::path(get, path = "/v1/roles/{id}", tag = "roles", params(("id" = String, Path)),
    responses((status = 200, body = RoleView), (status = 404, body = Rendered)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(view(roles::get(&s, &caller, &id).await?))
}

/// Create a custom role from permissions you hold.
#[utoipa::path(post, path = "/v1/roles", tag = "roles", request_body = NewRole,
    responses((status = 201, body = RoleView), (status = 409, body = Rendered, description = "name taken"), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewRole>,
) -> Result<(StatusCode, Response), Problem> {
    let role = roles::create(&s, &caller, new).await?;
    Ok((StatusCode::CREATED, view(Role::Custom(role))))
}

/// Edit a custom role (`If-Match` recommended: a stale one gets 412). Holders get the new
/// permissions on their next request.
#[utoipa::path(patch, path = "/v1/roles/{id}", tag = "roles", params(("id" = String, Path)), request_body = RoleChange,
    responses((status = 200, body = RoleView), (status = 404, body = Rendered), (status = 409, body = Rendered, description = "basic role, or name taken"), (status = 412, body = Rendered), (status = 422, body = Rendered)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut change): ApiJson<RoleChange>,
) -> Result<Response, Problem> {
    change.memo = Memo { memo: change.memo }.validated()?;
    Ok(view(Role::Custom(roles::update(&s, &caller, &id, change, if_match(&headers)?).await?)))
}

/// Delete a custom role. Refused (409) while members hold it, unless `replacement_role` names
/// where they go: they move and the role is deleted together. Written to the system log.
#[utoipa::path(delete, path = "/v1/roles/{id}", tag = "roles", params(("id" = String, Path)), request_body = Option<RoleDeletion>,
    responses((status = 204), (status = 404, body = Rendered), (status = 409, body = Rendered, description = "held and no replacement, or a basic role"), (status = 422, body = Rendered)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(d): OptionalJson<RoleDeletion>,
) -> Result<StatusCode, Problem> {
    let memo = Memo { memo: d.memo }.validated()?;
    roles::delete(&s, &caller, &id, d.replacement_role, memo).await?;
    Ok(StatusCode::NO_CONTENT)
}
