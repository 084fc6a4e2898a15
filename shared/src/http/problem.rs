//! RFC 9457 problem details: every error answer, with a stable `code` and per-field errors.
use crate::domain::FieldError;
use crate::service::Error;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `type` and `title` follow from `code` and `status`, so they are filled in when rendered.
#[derive(Debug)]
pub struct Problem {
    pub status: u16,
    /// Stable machine-readable code, e.g. `validation_failed`, `web_address_taken`.
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<i64>,
}

/// The wire form of a problem (also its OpenAPI schema, `Problem`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct Rendered<'a> {
    /// `urn:roster:problem:<code>`.
    #[serde(rename = "type")]
    type_uri: String,
    title: &'a str,
    status: u16,
    /// Stable machine-readable code, e.g. `validation_failed`, `web_address_taken`.
    code: &'a str,
    detail: &'a str,
    /// Per-field errors, for `validation_failed`.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status: status.as_u16(), code, detail: detail.into(), errors: Vec::new(), retry_after: None }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "there is nothing at this address")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this address does not accept that method")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauthenticated = status == StatusCode::UNAUTHORIZED;
        let body = Rendered {
            type_uri: format!("urn:roster:problem:{}", self.code),
            title: status.canonical_reason().unwrap_or("Error"),
            status: self.status,
            code: self.code,
            detail: &self.detail,
            errors: &self.errors,
        };
        let mut res = (status, serde_json::to_string(&body).unwrap_or_default()).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if unauthenticated {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        res
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation(errors) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "some fields are not valid")
                    .with_errors(errors)
            }
            Error::Unauthenticated(m) => Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", m),
            Error::KeyCreatorInactive => Problem::new(
                StatusCode::UNAUTHORIZED,
                "api_key_creator_inactive",
                "the member who created this API key is deactivated or deleted; an admin must issue a new key",
            ),
            Error::EmailNotVerified => Problem::new(
                StatusCode::FORBIDDEN,
                "email_not_verified",
                "until the owner confirms their email (see the sign-up email), the account can invite 20 people",
            ),
            Error::Forbidden(m) => Problem::new(StatusCode::FORBIDDEN, "forbidden", m),
            Error::NotConfirmed(field) => {
                Problem::new(StatusCode::FORBIDDEN, "not_confirmed", "the confirmation does not match")
                    .with_errors(vec![field])
            }
            Error::NotFound(what) => Problem::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found")),
            Error::Unknown(errors) => Problem::new(
                StatusCode::NOT_FOUND,
                "unknown_reference",
                "the request names something this account does not have",
            )
            .with_errors(errors),
            Error::Conflict { code, message } => Problem::new(StatusCode::CONFLICT, code, message),
            Error::Gone => {
                Problem::new(StatusCode::GONE, "account_deleted", "this account was deleted or is being deleted")
            }
            Error::PreconditionFailed => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "the resource changed since the version in If-Match; reload it",
            ),
            Error::RateLimited { message, retry_after } => Problem {
                retry_after: Some(retry_after),
                ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            },
            Error::Unavailable(m) => {
                tracing::warn!(error = %m, "dependency unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "a service Roster depends on is busy; retry shortly",
                )
            }
            Error::Refused(m) | Error::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on our side")
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

/// The one net under every route: an error answer that is not problem+json (axum's own path,
/// query and body rejections, or anything else that bypassed `Problem`) becomes one, with a
/// stable code from its status. HTML pages keep their HTML error pages.
pub async fn problem_for_every_error(res: Response) -> Response {
    let status = res.status();
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !(status.is_client_error() || status.is_server_error())
        || content_type.starts_with("application/problem+json")
        || content_type.starts_with("text/html")
    {
        return res;
    }
    tracing::info!(status = status.as_u16(), content_type, "error answer rewritten as problem+json");
    let (code, detail) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request could not be understood (check the path and query)"),
        StatusCode::NOT_FOUND => ("not_found", "there is nothing at this address"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this address does not accept that method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "this content type is not accepted here"),
        StatusCode::UNPROCESSABLE_ENTITY => ("validation_failed", "some fields are not valid"),
        s if s.is_server_error() => ("internal", "something went wrong on our side"),
        _ => ("bad_request", "the request was refused"),
    };
    let mut problem = Problem::new(status, code, detail).into_response();
    // Headers such as `Allow` on a 405 stay.
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().entry(name.clone()).or_insert(value.clone());
        }
    }
    problem
}

pub async fn not_found() -> Problem {
    Problem::not_found()
}

pub async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}
