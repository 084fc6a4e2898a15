//! `ETag` / `If-Match` (SPEC §9): an entity's version, sent as `"v7"`.
use crate::http::problem::Problem;
use crate::service::Error;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// A JSON body with its version as ETag, for `If-Match` on the next change.
pub fn tagged(body: impl serde::Serialize, version: u64) -> Response {
    let mut res = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"v{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// `If-Match: "v7"` → 7. Any other value can never match.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(None) };
    v.to_str()
        .ok()
        .and_then(|v| v.trim().trim_start_matches("W/").trim_matches('"').strip_prefix('v')?.parse().ok())
        .map(Some)
        .ok_or_else(|| Error::PreconditionFailed.into())
}
