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

/// `If-Match: "v7"` → 7; `*` matches whatever version exists (RFC 9110 §13.1.1), like no
/// header — every route that reads it changes an existing thing and answers 404 otherwise.
/// Any other value can never match.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(None) };
    if v.as_bytes().trim_ascii() == b"*" {
        return Ok(None);
    }
    v.to_str()
        .ok()
        .and_then(|v| v.trim().trim_start_matches("W/").trim_matches('"').strip_prefix('v')?.parse().ok())
        .map(Some)
        .ok_or_else(|| Error::PreconditionFailed.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn if_match_reads_versions_and_the_star() {
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(if_match(&header("\"v7\"")).unwrap(), Some(7));
        assert_eq!(if_match(&header("W/\"v7\"")).unwrap(), Some(7));
        assert_eq!(if_match(&header("*")).unwrap(), None);
        assert_eq!(if_match(&header("\"nope\"")).unwrap_err().status, 412);
    }
}
