use super::views::{AccountView, MemberView};
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::{Problem, Rendered};
use crate::service::accounts::{self, SignUp};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SignUpResponse {
    pub account: AccountView,
    pub owner: MemberView,
}

/// Sign up: creates the account and its owner in one transaction.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = SignUp,
    responses((status = 201, body = SignUpResponse), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    ApiJson(cmd): ApiJson<SignUp>,
) -> Result<(StatusCode, Json<SignUpResponse>), Problem> {
    let done = accounts::sign_up(&s, cmd).await?;
    Ok((StatusCode::CREATED, Json(SignUpResponse { account: (&done.account).into(), owner: (&done.owner).into() })))
}
