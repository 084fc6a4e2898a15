use super::views::MemberView;
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::{Problem, Rendered};
use crate::service::{Caller, invitations};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct InviteResponse {
    pub member: MemberView,
    pub expires_at: DateTime<Utc>,
    /// False when the mail service failed; the invitation stands and can be resent.
    pub email_sent: bool,
}

/// Invite one member: they get an email with a one-time link to set a password.
#[utoipa::path(post, path = "/v1/invitations", tag = "invitations", request_body = invitations::Invite, security(("bearer" = [])),
    responses((status = 201, body = InviteResponse), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(cmd): ApiJson<invitations::Invite>,
) -> Result<(StatusCode, Json<InviteResponse>), Problem> {
    let done = invitations::invite(&s, &caller, cmd).await?;
    let body = InviteResponse {
        member: (&done.member).into(),
        expires_at: done.invitation.expires_at,
        email_sent: done.email_sent,
    };
    Ok((StatusCode::CREATED, Json(body)))
}
