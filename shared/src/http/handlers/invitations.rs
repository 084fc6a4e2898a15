use super::views::{MemberView, Memo};
use crate::domain::bulk;
use crate::http::AppState;
use crate::http::BODY_LIMIT;
use crate::http::json::{ApiJson, OptionalJson, parse_list};
use crate::http::problem::{Problem, Rendered};
use crate::service::{Caller, invitations};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
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
    /// The link's mail: `sent`, `pending` (not yet, or the mail service is down: it is retried)
    /// or `failed` (resend the invitation); `null` for invitations from before it was followed.
    pub mail: Option<crate::service::invitation_jobs::MailState>,
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
        .map(|(m, w, mail)| PendingInvitation {
            member: m.into(),
            invited_at: w.sent_at,
            expires_at: w.expires_at,
            expired: w.expires_at <= now,
            mail: *mail,
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

/// The rows of a JSON bulk body (at most 100).
pub struct BulkRows;

impl utoipa::PartialSchema for BulkRows {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::ArrayBuilder;
        let rows = ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name("Row"))
            .min_items(Some(1))
            .max_items(Some(bulk::INLINE_MAX));
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Array(rows.build()))
    }
}

impl ToSchema for BulkRows {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push(("Row".into(), <bulk::Row as utoipa::PartialSchema>::schema()));
        <bulk::Row as ToSchema>::schemas(schemas);
    }
}

/// A CSV bulk body, as documented: the header in its plain form, then at most `LINES` lines in
/// at most `BYTES` (the reader also takes other spellings and orders of the header, and a BOM).
pub struct CsvRows<const LINES: usize = { bulk::INLINE_MAX }, const BYTES: usize = BODY_LIMIT>;

impl<const LINES: usize, const BYTES: usize> utoipa::PartialSchema for CsvRows<LINES, BYTES> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let header = bulk::COLUMNS[..4].join(",");
        let csv = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .pattern(Some(format!("^{header}(?:,groups)?(?:\\r?\\n[^\\r\\n]*){{0,{LINES}}}$")))
            // Characters, so that even four-byte ones stay within the body limit.
            .max_length(Some(BYTES / 4));
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(csv.build()))
    }
}

impl<const LINES: usize, const BYTES: usize> ToSchema for CsvRows<LINES, BYTES> {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Owned(format!("CsvOf{LINES}Rows"))
    }
}

/// A job's CSV body: up to 50,000 lines.
pub type JobCsv = CsvRows<{ crate::service::invitation_jobs::JOB_MAX }, { crate::http::JOB_BODY_LIMIT }>;

#[derive(Serialize, Default, ToSchema)]
pub struct BulkSummary {
    pub invited: usize,
    pub skipped_existing: usize,
    pub skipped_duplicate_row: usize,
    pub invalid: usize,
    pub rate_limited: usize,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    pub summary: BulkSummary,
    /// One per row, in the order sent.
    pub rows: Vec<invitations::RowResult>,
}

/// Invite up to 100 people at once: a JSON list of rows, or a CSV file (`text/csv`: UTF-8, a
/// header with `email,first_name,last_name,role` and optionally `groups` — `;`-separated names
/// or ids; roles by id or name). Each row is invited exactly like a single invitation, and each
/// gets an outcome: `invited`, `skipped_existing`, `skipped_duplicate_row`, `invalid` (with the
/// reason and its line) or `rate_limited`. A JSON row that breaks the documented shape refuses the
/// whole list (422); in a CSV file only that line is `invalid`.
#[utoipa::path(post, path = "/v1/invitations/bulk", tag = "invitations",
    request_body(content((BulkRows = "application/json"), (CsvRows = "text/csv"))),
    responses((status = 200, body = BulkResult), (status = 422, body = Rendered)))]
pub async fn bulk(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<BulkResult>, Problem> {
    let rows = bulk_rows(&headers, &body, BODY_LIMIT, Shape::List(bulk::INLINE_MAX))?;
    let rows = invitations::invite_rows(&s, &caller, rows).await?;
    let mut summary = BulkSummary::default();
    for r in &rows {
        *match r.outcome {
            bulk::Outcome::Invited => &mut summary.invited,
            bulk::Outcome::SkippedExisting => &mut summary.skipped_existing,
            bulk::Outcome::SkippedDuplicateRow => &mut summary.skipped_duplicate_row,
            bulk::Outcome::Invalid => &mut summary.invalid,
            bulk::Outcome::RateLimited => &mut summary.rate_limited,
        } += 1;
    }
    Ok(Json(BulkResult { summary, rows }))
}

pub(super) type Rows = Vec<bulk::Numbered<Result<bulk::Row, String>>>;

/// How JSON rows come: a bare list (inline), or an object's `rows` (a job, with its options).
pub(super) enum Shape {
    List(usize),
    Object(usize),
}

/// A job's JSON body.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobBody {
    pub rows: Vec<bulk::Row>,
    #[serde(default)]
    pub run_at: Option<DateTime<Utc>>,
}

/// The rows of the body by its type (and, for a job's JSON object, its `run_at`). JSON rows
/// are held to the document (their shape and formats); CSV lines are what people typed, each
/// judged on its own.
pub(super) fn bulk_rows(headers: &HeaderMap, body: &Bytes, limit: usize, shape: Shape) -> Result<Rows, Problem> {
    bulk_body(headers, body, limit, shape).map(|(rows, _)| rows)
}

/// The body's media type (lower case, without parameters), once it is known to fit `limit`.
fn media_type(headers: &HeaderMap, body: &Bytes, limit: usize) -> Result<String, Problem> {
    if body.len() > limit {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {limit} bytes"),
        ));
    }
    Ok(headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default())
}

/// A body that must be CSV (`text/csv`) of at most `limit` bytes.
pub(super) fn csv_body<'a>(headers: &HeaderMap, body: &'a Bytes, limit: usize) -> Result<&'a [u8], Problem> {
    if media_type(headers, body, limit)? != "text/csv" {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the rows as text/csv",
        ));
    }
    Ok(body)
}

pub(super) fn bulk_body(
    headers: &HeaderMap,
    body: &Bytes,
    limit: usize,
    shape: Shape,
) -> Result<(Rows, Option<DateTime<Utc>>), Problem> {
    match media_type(headers, body, limit)?.as_str() {
        "text/csv" => bulk::parse_csv(body).map(|rows| (rows, None)).map_err(|bulk::NotCsv(why)| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_csv",
                format!("the body is not the expected CSV: {why}"),
            )
        }),
        "application/json" => {
            let (rows, run_at, prefix) = match shape {
                Shape::List(max) => (parse_list::<bulk::Row>(body, max)?, None, ""),
                Shape::Object(max) => {
                    let job: JobBody = crate::http::json::parse(body)?;
                    if job.rows.len() > max {
                        let e = crate::domain::FieldError::new("rows", "too_many", format!("at most {max} rows"));
                        return Err(crate::service::Error::Validation(vec![e]).into());
                    }
                    (job.rows, job.run_at, "rows")
                }
            };
            let mut errors = Vec::new();
            if rows.is_empty() {
                errors.push(crate::domain::FieldError::new(prefix, "empty", "send at least one row"));
            }
            for (i, row) in rows.iter().enumerate() {
                errors.extend(bulk::shape_errors(row).into_iter().map(|mut e| {
                    e.field = format!("{prefix}[{i}].{}", e.field);
                    e
                }));
            }
            if !errors.is_empty() {
                return Err(crate::service::Error::Validation(errors).into());
            }
            let rows = rows
                .into_iter()
                .enumerate()
                .map(|(i, row)| bulk::Numbered { line: i as u64 + 1, row: Ok(row) })
                .collect();
            Ok((rows, run_at))
        }
        _ => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the rows as application/json or text/csv",
        )),
    }
}
