//! `Idempotency-Key` for every creating POST (the route table's `IDEMPOTENT` list), in one
//! layer: the same key with the same request replays the first answer; with another request →
//! 422 `idempotency_key_reused`; while the first is still running → 409
//! `idempotency_in_progress`. Keys are kept 24 hours, per account (per client for sign-up).
use super::AppState;
use super::TRANSPORT_LIMIT;
use super::problem::Problem;
use crate::service::Caller;
use crate::store::{Answer, Claim, Scope};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";
/// Set on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
pub const KEY_MAX: usize = 255;
/// Answers larger than this are not kept (an item holds 400 KB): the key is released instead.
const ANSWER_MAX: usize = 256 * 1024;
/// The answer headers a replay repeats.
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// The route a request is for (an extension the router sets), so keys never cross routes.
#[derive(Debug, Clone, Copy)]
pub struct RouteId(pub &'static str);

/// Whether a key is well formed: 1–255 visible ASCII characters (a UUID, say).
pub fn valid_key(key: &str) -> bool {
    (1..=KEY_MAX).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn idempotent(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some(raw) = req.headers().get(HEADER) else { return next.run(req).await };
    let Some(key) = raw.to_str().ok().filter(|k| valid_key(k)).map(str::to_owned) else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("Idempotency-Key has 1–{KEY_MAX} visible ASCII characters (a UUID, say)"),
        )
        .into_response();
    };
    let route = req.extensions().get::<RouteId>().map_or("", |r| r.0);
    let scope = match req.extensions().get::<Caller>() {
        Some(caller) => Scope::Account(caller.account_id()),
        None => Scope::Client(sha256_hex(&[client_address(&req).as_bytes()])),
    };
    let key_id = sha256_hex(&[route.as_bytes(), key.as_bytes()]);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, TRANSPORT_LIMIT).await else {
        return Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the body is too large").into_response();
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).map_or(&b""[..], HeaderValue::as_bytes);
    let request_hash =
        sha256_hex(&[parts.method.as_str().as_bytes(), parts.uri.to_string().as_bytes(), content_type, &bytes]);
    match s.store.claim_idempotency_key(&scope, &key_id, &request_hash).await {
        Err(e) => crate::service::Error::from(e).into_response(),
        Ok(Claim::Mismatch) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key for a new request",
        )
        .into_response(),
        Ok(Claim::InProgress) => Problem::new(
            StatusCode::CONFLICT,
            "idempotency_in_progress",
            "the first request with this Idempotency-Key is still running; ask again in a moment",
        )
        .into_response(),
        Ok(Claim::Replay(answer)) => replay(answer),
        Ok(Claim::Run) => {
            let answer = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            keep(&s, &scope, &key_id, &request_hash, answer).await
        }
    }
}

/// Keep what the request answered — unless it is worth retrying (a server error, a rate limit)
/// or too large to keep, which free the key instead.
async fn keep(s: &AppState, scope: &Scope, key_id: &str, request_hash: &str, answer: Response) -> Response {
    let status = answer.status();
    let retry = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
    let (parts, body) = answer.into_parts();
    let bytes = match to_bytes(body, ANSWER_MAX).await {
        Ok(bytes) if !retry => bytes,
        other => {
            if let Err(e) = s.store.release_idempotency_key(scope, key_id).await {
                tracing::warn!(error = %e, "idempotency key not released; it frees itself after its claim");
            }
            return match other {
                Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
                // Only an answer larger than ANSWER_MAX gets here; none of Roster's are.
                Err(_) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the answer was too large")
                    .into_response(),
            };
        }
    };
    let headers = KEPT_HEADERS
        .iter()
        .filter_map(|name| Some((name.as_str().to_owned(), parts.headers.get(name)?.to_str().ok()?.to_owned())))
        .collect();
    let kept = Answer { status: status.as_u16(), headers, body: bytes.to_vec() };
    if let Err(e) = s.store.keep_idempotent_answer(scope, key_id, request_hash, &kept).await {
        // The change is made; a repeat would be told "in progress" until the claim lapses.
        tracing::warn!(error = %e, "idempotent answer not kept");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// The peer's address as a server outside Lambda sees it (the local server sets it).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

/// The client's address: API Gateway's view in Lambda, the socket's locally.
fn client_address(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.extensions().get::<RequestContext>()
        && let Some(ip) = &ctx.http.source_ip
    {
        return ip.clone();
    }
    req.extensions().get::<ClientAddress>().map_or_else(|| "unknown".to_owned(), |c| c.0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(valid_key("3f1c2a9e-7d4b-4f8e-9c1a-2b3c4d5e6f70"));
        assert!(valid_key(&"k".repeat(KEY_MAX)));
        for bad in ["", " ", "a b", "ключ", "a\tb"] {
            assert!(!valid_key(bad), "{bad:?}");
        }
        assert!(!valid_key(&"k".repeat(KEY_MAX + 1)));
    }

    #[test]
    fn hashes_keep_their_parts_apart() {
        // "ab" + "c" and "a" + "bc" are different requests.
        assert_ne!(sha256_hex(&[b"ab", b"c"]), sha256_hex(&[b"a", b"bc"]));
    }
}
