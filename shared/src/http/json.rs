//! A strict JSON body extractor: every way a body can be wrong becomes a clear 4xx problem.
use super::BODY_LIMIT;
use super::problem::Problem;
use crate::domain::FieldError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let too_large = || {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {BODY_LIMIT} bytes"),
            )
        };
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                Problem::new(StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read")
            }
        })?;
        if bytes.len() > BODY_LIMIT {
            return Err(too_large());
        }
        parse(&bytes).map(ApiJson)
    }
}

/// Like `ApiJson`, but an empty body — or `null` — means `T::default()` (for optional bodies
/// such as a memo).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let empty = req.headers().get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() == b"0")
            || (req.headers().get(header::CONTENT_LENGTH).is_none()
                && req.headers().get(header::CONTENT_TYPE).is_none());
        if empty {
            return Ok(OptionalJson(T::default()));
        }
        let content_type =
            req.headers().get(header::CONTENT_TYPE).cloned().unwrap_or(header::HeaderValue::from_static(""));
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the body is larger than {BODY_LIMIT} bytes"),
                )
            } else {
                Problem::new(StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read")
            }
        })?;
        if bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        let req = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::from(bytes))
            .map_err(|_| Problem::new(StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read"))?;
        ApiJson::<T>::from_request(req, state).await.map(|ApiJson(v)| OptionalJson(v))
    }
}

/// Bodies are JSON objects: parsed to a value first, so an array can never fill a struct's
/// fields by position, and every error after the syntax check is about a field (422).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let value = read_value(bytes)?;
    if !value.is_object() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the body must be a JSON object",
        )
        .with_errors(vec![FieldError::new("", "not_an_object", "send a JSON object, e.g. {\"name\": …}")]));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = field_error(&path, &e.into_inner().to_string());
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "some fields are not valid")
            .with_errors(vec![field])
    })
}

/// The body as a JSON value: UTF-8 and well-formed (400 otherwise), whole floats as integers.
fn read_value(bytes: &[u8]) -> Result<serde_json::Value, Problem> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "invalid_utf8", "the body is not valid UTF-8"));
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
    integral_numbers_as_integers(&mut value);
    Ok(value)
}

/// JSON (and JSON Schema) has one kind of number: `11.0` is the integer 11. Serde's integer
/// fields would refuse it, so whole floats become integers before the typed read.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every whole float below is exact
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < EXACT) {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// A JSON list of objects (bulk bodies): at most `max`; each element read like a body, errors
/// naming `[i].field`.
pub fn parse_list<T: DeserializeOwned>(bytes: &[u8], max: usize) -> Result<Vec<T>, Problem> {
    let value = read_value(bytes)?;
    let invalid = |field: FieldError| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "some fields are not valid")
            .with_errors(vec![field])
    };
    let serde_json::Value::Array(items) = value else {
        return Err(invalid(FieldError::new("", "not_a_list", "send a JSON list of rows, e.g. [{\"email\": …}]")));
    };
    if items.len() > max {
        return Err(invalid(FieldError::new("", "too_many", format!("at most {max} rows per request"))));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            if !item.is_object() {
                return Err(invalid(FieldError::new(&format!("[{i}]"), "not_an_object", "each row is a JSON object")));
            }
            serde_path_to_error::deserialize(item).map_err(|e| {
                let path = e.path().to_string();
                let path = if path == "." { format!("[{i}]") } else { format!("[{i}].{path}") };
                invalid(field_error(&path, &e.into_inner().to_string()))
            })
        })
        .collect()
}

fn malformed(e: &serde_json::Error) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {e}"))
}

/// Turn serde's message into a field error a client can attach to a form field.
fn field_error(path: &str, message: &str) -> FieldError {
    let message = message.split(" at line ").next().unwrap_or(message).to_owned();
    let quoted = || message.split('`').nth(1).unwrap_or_default().to_owned();
    let join = |name: String| {
        if path == "." || path.is_empty() { name } else { format!("{path}.{name}") }
    };
    if message.starts_with("missing field") {
        FieldError::new(&join(quoted()), "required", message)
    } else if message.starts_with("unknown field") {
        // Here the path already ends at the unknown field itself.
        let field = if path == "." || path.is_empty() { quoted() } else { path.to_owned() };
        FieldError::new(&field, "unknown_field", message)
    } else {
        let field = if path == "." { String::new() } else { path.to_owned() };
        FieldError::new(&field, "invalid_type", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        age: Option<u32>,
    }

    fn err(body: &[u8]) -> Problem {
        parse::<Body>(body).unwrap_err()
    }

    #[test]
    fn each_kind_of_bad_body_has_its_own_answer() {
        assert_eq!(err(b"{\"email\":").code, "malformed_json");
        assert_eq!(err(b"{\"email\":\"a\"} trailing").code, "malformed_json");
        assert_eq!(err(b"{\"email\":\"\xff\"}").code, "invalid_utf8");
        let missing = err(b"{}");
        assert_eq!(
            (missing.status, missing.errors[0].field.as_str(), missing.errors[0].code),
            (422, "email", "required")
        );
        let unknown = err(b"{\"email\":\"a\",\"admin\":true}");
        assert_eq!((unknown.errors[0].field.as_str(), unknown.errors[0].code), ("admin", "unknown_field"));
        let wrong = err(b"{\"email\":5}");
        assert_eq!((wrong.errors[0].field.as_str(), wrong.errors[0].code), ("email", "invalid_type"));
        assert_eq!((err(b"[]").status, err(b"[]").errors[0].code), (422, "not_an_object"));
        assert_eq!(err(b"[\"a\", 3]").errors[0].code, "not_an_object");
        // A whole number written as a float is that integer; a fraction is not.
        assert_eq!(parse::<Body>(b"{\"email\":\"a\",\"age\":11.0}").unwrap().age, Some(11));
        assert_eq!(err(b"{\"email\":\"a\",\"age\":11.5}").errors[0].code, "invalid_type");
        assert_eq!(err(b"\"a\"").errors[0].code, "not_an_object");
        let big = err(b"{\"email\":\"a\",\"age\":99999999999}");
        assert_eq!((big.status, big.errors[0].field.as_str()), (422, "age"));
        assert!(parse::<Body>(b"{\"email\":\"a\",\"age\":3}").is_ok());
    }
}
