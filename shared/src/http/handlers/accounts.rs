use super::views::{AccountView, MemberView};
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::{Problem, Rendered};
use crate::service::accounts::{self, OwnerTransfer, SignUp};
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

/// Hand the account to another active member (owner only, re-confirmed with the password).
/// The old owner becomes Admin; both are emailed.
#[utoipa::path(post, path = "/v1/account/owner", tag = "accounts", request_body = OwnerTransfer, security(("bearer" = [])),
    responses((status = 200, body = MemberView, description = "the new owner"), (status = 403, body = Rendered), (status = 404, body = Rendered), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn transfer_owner(
    State(s): State<AppState>,
    caller: crate::service::Caller,
    ApiJson(mut cmd): ApiJson<OwnerTransfer>,
) -> Result<Json<MemberView>, Problem> {
    cmd.memo = super::views::Memo { memo: cmd.memo }.validated()?;
    Ok(Json(MemberView::from(&accounts::transfer_ownership(&s, &caller, cmd).await?)))
}
