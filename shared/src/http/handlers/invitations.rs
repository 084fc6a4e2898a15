use super::views::{MemberView, Memo};
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service::{Caller, invitations};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
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
#[utoipa::path(post, path = "/v1/invitations", tag = "invitations", request_body = invitations::Invite,
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

#[derive(Serialize, ToSchema)]
pub struct PendingInvitation {
    pub member: MemberView,
    pub invited_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// True once the link has expired; resend to send a new one.
    pub expired: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PendingList {
    pub items: Vec<PendingInvitation>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PendingQuery {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}

/// Pending invitations (members who have not set a password yet).
#[utoipa::path(get, path = "/v1/invitations", tag = "invitations", params(PendingQuery),
    responses((status = 200, body = PendingList), (status = 403, body = Rendered)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<PendingList>, Problem> {
    let q: PendingQuery = super::members::query(q)?;
    let (pending, next_cursor) = invitations::list_pending(&s, &caller, q.limit, q.cursor.as_deref()).await?;
    let now = Utc::now();
    let items = pending
        .iter()
        .map(|(m, w)| PendingInvitation {
            member: m.into(),
            invited_at: w.sent_at,
            expires_at: w.expires_at,
            expired: w.expires_at <= now,
        })
        .collect();
    Ok(Json(PendingList { items, next_cursor }))
}

/// Send the invitation again with a new link; the old link stops working.
#[utoipa::path(post, path = "/v1/invitations/{member_id}/resend", tag = "invitations", params(("member_id" = String, Path)),
    responses((status = 200, body = InviteResponse), (status = 404, body = Rendered)))]
pub async fn resend(
    State(s): State<AppState>,
    caller: Caller,
    Path(member_id): Path<String>,
) -> Result<Json<InviteResponse>, Problem> {
    let done = invitations::resend(&s, &caller, &member_id).await?;
    Ok(Json(InviteResponse {
        member: (&done.member).into(),
        expires_at: done.invitation.expires_at,
        email_sent: done.email_sent,
    }))
}

/// Cancel a pending invitation: its link stops working and the email can be invited again.
#[utoipa::path(delete, path = "/v1/invitations/{member_id}", tag = "invitations", params(("member_id" = String, Path)),
    request_body = Option<Memo>, responses((status = 204), (status = 404, body = Rendered)))]
pub async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(member_id): Path<String>,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<StatusCode, Problem> {
    invitations::cancel(&s, &caller, &member_id, body.validated()?).await?;
    Ok(StatusCode::NO_CONTENT)
}
