use super::views::{AccountView, MemberView};
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::{Problem, Rendered};
use crate::service::accounts::{self, SignUp};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    /// 3–40 lowercase letters and digits; becomes the account's address.
    pub web_address: String,
    pub company_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// 12–128 characters, not a common password.
    pub password: String,
    /// One of ko, en, ja, zh-Hans, zh-Hant, th, id, vi (default en).
    pub language: Option<String>,
    /// IANA time zone (default UTC).
    pub time_zone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SignUpResponse {
    pub account: AccountView,
    pub owner: MemberView,
}

/// Sign up: creates the account and its owner in one transaction.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = SignUpRequest,
    responses((status = 201, body = SignUpResponse), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    ApiJson(r): ApiJson<SignUpRequest>,
) -> Result<(StatusCode, Json<SignUpResponse>), Problem> {
    let cmd = SignUp {
        web_address: r.web_address,
        company_name: r.company_name,
        first_name: r.first_name,
        last_name: r.last_name,
        email: r.email,
        password: r.password,
        language: r.language,
        time_zone: r.time_zone,
    };
    let done = accounts::sign_up(&s, cmd).await?;
    Ok((StatusCode::CREATED, Json(SignUpResponse { account: (&done.account).into(), owner: (&done.owner).into() })))
}
