use super::views::{AccountView, MemberView};
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::{Problem, Rendered};
use crate::service::accounts::{self, FindWebAddress, OwnerTransfer, SignUp, WebAddressChange};
use crate::service::deletion::{self, AccountDeletion};
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
#[utoipa::path(post, path = "/v1/account/owner", tag = "accounts", request_body = OwnerTransfer,
    responses((status = 200, body = MemberView, description = "the new owner"), (status = 403, body = Rendered), (status = 404, body = Rendered), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn transfer_owner(
    State(s): State<AppState>,
    caller: crate::service::Caller,
    ApiJson(mut cmd): ApiJson<OwnerTransfer>,
) -> Result<Json<MemberView>, Problem> {
    cmd.memo = super::views::Memo { memo: cmd.memo }.validated()?;
    Ok(Json(MemberView::from(&accounts::transfer_ownership(&s, &caller, cmd).await?)))
}

/// Change the web address — once. The old address stops resolving and becomes free.
#[utoipa::path(put, path = "/v1/account/web-address", tag = "accounts", request_body = WebAddressChange,
    responses((status = 200, body = AccountView), (status = 403, body = Rendered), (status = 409, body = Rendered, description = "taken, or already changed once"), (status = 422, body = Rendered)))]
pub async fn change_web_address(
    State(s): State<AppState>,
    caller: crate::service::Caller,
    ApiJson(mut cmd): ApiJson<WebAddressChange>,
) -> Result<Json<AccountView>, Problem> {
    cmd.memo = super::views::Memo { memo: cmd.memo }.validated()?;
    Ok(Json(AccountView::from(&accounts::change_web_address(&s, &caller, cmd).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub message: &'static str,
}

/// Email a person the web addresses of the accounts they belong to. The answer is the same
/// whether or not the email is known; at most 5 requests per email per hour.
#[utoipa::path(post, path = "/v1/account/find-web-address", tag = "accounts", request_body = FindWebAddress,
    responses((status = 202, body = Accepted), (status = 422, body = Rendered), (status = 429, body = Rendered)))]
pub async fn find_web_address(
    State(s): State<AppState>,
    ApiJson(cmd): ApiJson<FindWebAddress>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    accounts::find_web_address(&s, cmd).await?;
    let message = "if this email belongs to a member of any account, a list of web addresses is on its way";
    Ok((StatusCode::ACCEPTED, Json(Accepted { message })))
}

#[derive(Serialize, ToSchema)]
pub struct DeletionAccepted {
    /// `deleting`: every request of the account's members now answers 410.
    pub status: &'static str,
    pub message: &'static str,
}

/// Delete the account and everything in it (owner only; repeat the web address and password).
/// Answers at once; the purge runs in the background and frees the web address at its end.
#[utoipa::path(delete, path = "/v1/account", tag = "accounts", request_body = AccountDeletion,
    responses((status = 202, body = DeletionAccepted), (status = 403, body = Rendered), (status = 422, body = Rendered)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: crate::service::Caller,
    ApiJson(mut cmd): ApiJson<AccountDeletion>,
) -> Result<(StatusCode, Json<DeletionAccepted>), Problem> {
    cmd.memo = super::views::Memo { memo: cmd.memo }.validated()?;
    deletion::request(&s, &caller, cmd).await?;
    let message = "the account is being deleted; its data is removed within minutes and cannot be recovered";
    Ok((StatusCode::ACCEPTED, Json(DeletionAccepted { status: "deleting", message })))
}

/// Send the owner a new link to confirm their email (the previous one stops working).
#[utoipa::path(post, path = "/v1/account/verification", tag = "accounts",
    responses((status = 202, body = Accepted), (status = 401, body = Rendered), (status = 403, body = Rendered), (status = 409, body = Rendered)))]
pub async fn resend_verification(
    State(s): State<AppState>,
    caller: crate::service::Caller,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    crate::service::links::resend_verification(&s, &caller).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { message: "a new confirmation link is on its way to the owner" })))
}
