use super::views::{AccountView, MemberView};
use crate::http::AppState;
use crate::http::problem::{Problem, Rendered};
use crate::service::{Caller, members};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1–200, default 50.
    pub limit: Option<i32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

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

/// List the account's members, oldest first.
#[utoipa::path(get, path = "/v1/members", tag = "members", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = MemberList), (status = 401, body = Rendered), (status = 403, body = Rendered)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<MemberList>, Problem> {
    let q: ListQuery = serde_urlencoded::from_str(q.as_deref().unwrap_or("")).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_query", format!("the query string is not valid: {e}"))
    })?;
    let page = members::list(&s, &caller, q.limit, q.cursor.as_deref()).await?;
    Ok(Json(MemberList { items: page.members.iter().map(MemberView::from).collect(), next_cursor: page.next_cursor }))
}

/// One member of the account.
#[utoipa::path(get, path = "/v1/members/{id}", tag = "members", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = MemberView), (status = 404, body = Rendered)))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MemberView>, Problem> {
    Ok(Json((&members::get(&s, &caller, &id).await?).into()))
}

/// The calling member and their account.
#[utoipa::path(get, path = "/v1/me", tag = "members", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = Rendered)))]
pub async fn me(caller: Caller) -> Json<MeResponse> {
    Json(MeResponse { member: (&caller.member).into(), account: (&caller.account).into() })
}
