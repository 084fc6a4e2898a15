use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::{Problem, Rendered};
use crate::service::{Caller, auth, links};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: each refresh returns a new one.
    pub refresh_token: String,
}

impl From<auth::Tokens> for TokenResponse {
    fn from(t: auth::Tokens) -> Self {
        Self {
            access_token: t.access_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
        }
    }
}

/// Log in with the account's web address, email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = auth::Login,
    responses((status = 200, body = TokenResponse), (status = 401, body = Rendered), (status = 429, body = Rendered)))]
pub async fn login(
    State(s): State<AppState>,
    ApiJson(cmd): ApiJson<auth::Login>,
) -> Result<Json<TokenResponse>, Problem> {
    Ok(Json(auth::login(&s, cmd).await?.into()))
}

/// Exchange a refresh token for a new access token and a new refresh token.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Rendered)))]
pub async fn refresh(
    State(s): State<AppState>,
    ApiJson(r): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    Ok(Json(auth::refresh(&s, &r.refresh_token).await?.into()))
}

/// End the current session: its access and refresh tokens stop working.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = Rendered)))]
pub async fn logout(State(s): State<AppState>, caller: Caller) -> Result<StatusCode, Problem> {
    auth::logout(&s, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change your password (the current one is re-checked). Every session ends, this one too; the
/// answer holds the tokens of a new one.
#[utoipa::path(post, path = "/v1/me/password", tag = "auth", request_body = auth::PasswordChange,
    responses((status = 200, body = TokenResponse), (status = 401, body = Rendered), (status = 422, body = Rendered), (status = 429, body = Rendered)))]
pub async fn change_password(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(cmd): ApiJson<auth::PasswordChange>,
) -> Result<Json<TokenResponse>, Problem> {
    Ok(Json(auth::change_password(&s, &caller, cmd).await?.into()))
}

/// Ask for a password-reset link. The answer is the same whether or not the web address or the
/// email exists; an active member gets an email with a one-hour, single-use link.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = links::ResetRequest,
    responses((status = 202, body = super::accounts::Accepted), (status = 422, body = Rendered), (status = 429, body = Rendered)))]
pub async fn request_password_reset(
    State(s): State<AppState>,
    ApiJson(cmd): ApiJson<links::ResetRequest>,
) -> Result<(StatusCode, Json<super::accounts::Accepted>), Problem> {
    links::request_reset(&s, cmd).await?;
    let message = "if this email belongs to a member of this account, a link to choose a new password is on its way";
    Ok((StatusCode::ACCEPTED, Json(super::accounts::Accepted { message })))
}
