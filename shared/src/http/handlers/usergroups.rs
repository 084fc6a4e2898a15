use super::etag::{if_match, tagged};
use super::views::Memo;
use crate::domain::usergroup::{PortalPermission, Usergroup, Via};
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service::Caller;
use crate::service::usergroups::{self, HolderRef, NewUsergroup, UsergroupChange};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct UsergroupView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub permissions: Vec<PortalPermission>,
    /// Organizations and users holding it.
    pub holders: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Usergroup> for UsergroupView {
    fn from(g: &Usergroup) -> Self {
        Self {
            id: g.id.to_string(),
            name: g.name.clone(),
            description: g.description.clone(),
            permissions: g.permissions.clone(),
            holders: g.holders,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

fn view(g: &Usergroup) -> Response {
    tagged(UsergroupView::from(g), g.version)
}

#[derive(Serialize, ToSchema)]
pub struct UsergroupList {
    pub items: Vec<UsergroupView>,
}

#[derive(Serialize, ToSchema)]
pub struct Held {
    /// The holder's usergroups now.
    pub usergroups: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EffectiveUsergroup {
    pub usergroup: UsergroupView,
    /// Every way the user holds it.
    pub via: Vec<Via>,
}

#[derive(Serialize, ToSchema)]
pub struct EffectiveUsergroups {
    pub items: Vec<EffectiveUsergroup>,
}

/// The account's usergroups.
#[utoipa::path(get, path = "/v1/usergroups", tag = "usergroups", responses((status = 200, body = UsergroupList)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<UsergroupList>, Problem> {
    let groups = usergroups::list(&s, &caller).await?;
    Ok(Json(UsergroupList { items: groups.iter().map(UsergroupView::from).collect() }))
}

/// Create a usergroup (name unique in the account, ignoring case).
#[utoipa::path(post, path = "/v1/usergroups", tag = "usergroups", request_body = NewUsergroup,
    responses((status = 201, body = UsergroupView), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewUsergroup>,
) -> Result<(StatusCode, Response), Problem> {
    Ok((StatusCode::CREATED, view(&usergroups::create(&s, &caller, new).await?)))
}

#[utoipa::path(get, path = "/v1/usergroups/{id}", tag = "usergroups", params(("id" = String, Path)),
    responses((status = 200, body = UsergroupView)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(view(&usergroups::get(&s, &caller, &id).await?))
}

/// Rename, describe, replace the permissions (`If-Match`: 412 when stale).
#[utoipa::path(patch, path = "/v1/usergroups/{id}", tag = "usergroups", params(("id" = String, Path)),
    request_body = UsergroupChange, responses((status = 200, body = UsergroupView), (status = 412, body = Rendered)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut change): ApiJson<UsergroupChange>,
) -> Result<Response, Problem> {
    change.memo = Memo { memo: change.memo }.validated()?;
    Ok(view(&usergroups::update(&s, &caller, &id, change, if_match(&headers)?).await?))
}

/// Delete a usergroup nobody holds (409 while an organization or user does).
#[utoipa::path(delete, path = "/v1/usergroups/{id}", tag = "usergroups", params(("id" = String, Path)),
    request_body = Option<Memo>, responses((status = 204), (status = 409, body = Rendered)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<StatusCode, Problem> {
    usergroups::delete(&s, &caller, &id, body.validated()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn hold(
    s: &AppState,
    caller: &Caller,
    holder: HolderRef<'_>,
    g: &str,
    give: bool,
) -> Result<Json<Held>, Problem> {
    let held = usergroups::hold(s, caller, &holder, g, give).await?;
    Ok(Json(Held { usergroups: held.iter().map(ToString::to_string).collect() }))
}

/// Give a usergroup to an organization: all its members hold it.
#[utoipa::path(put, path = "/v1/organizations/{id}/usergroups/{usergroup_id}", tag = "usergroups",
    params(("id" = String, Path), ("usergroup_id" = String, Path)), responses((status = 200, body = Held)))]
pub async fn give_organization(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, g)): Path<(String, String)>,
) -> Result<Json<Held>, Problem> {
    hold(&s, &caller, HolderRef::Organization(&id), &g, true).await
}

#[utoipa::path(delete, path = "/v1/organizations/{id}/usergroups/{usergroup_id}", tag = "usergroups",
    params(("id" = String, Path), ("usergroup_id" = String, Path)), responses((status = 200, body = Held)))]
pub async fn take_organization(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, g)): Path<(String, String)>,
) -> Result<Json<Held>, Problem> {
    hold(&s, &caller, HolderRef::Organization(&id), &g, false).await
}

/// Give a usergroup to a user directly.
#[utoipa::path(put, path = "/v1/users/{id}/usergroups/{usergroup_id}", tag = "usergroups",
    params(("id" = String, Path), ("usergroup_id" = String, Path)), responses((status = 200, body = Held)))]
pub async fn give_user(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, g)): Path<(String, String)>,
) -> Result<Json<Held>, Problem> {
    hold(&s, &caller, HolderRef::User(&id), &g, true).await
}

#[utoipa::path(delete, path = "/v1/users/{id}/usergroups/{usergroup_id}", tag = "usergroups",
    params(("id" = String, Path), ("usergroup_id" = String, Path)), responses((status = 200, body = Held)))]
pub async fn take_user(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, g)): Path<(String, String)>,
) -> Result<Json<Held>, Problem> {
    hold(&s, &caller, HolderRef::User(&id), &g, false).await
}

/// Every usergroup a user holds and every way they hold it: given to them, through an
/// organization, or (with the account's `usergroups_from_parent_organizations` preference)
/// through an organization's ancestor.
#[utoipa::path(get, path = "/v1/users/{id}/usergroups", tag = "usergroups", params(("id" = String, Path)),
    responses((status = 200, body = EffectiveUsergroups)))]
pub async fn effective(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EffectiveUsergroups>, Problem> {
    let found = usergroups::effective_of(&s, &caller, &id).await?;
    let items = found.iter().map(|(g, via)| EffectiveUsergroup { usergroup: g.into(), via: via.clone() }).collect();
    Ok(Json(EffectiveUsergroups { items }))
}
