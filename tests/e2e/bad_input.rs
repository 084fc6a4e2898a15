//! Bad input of every kind answers 4xx problem+json and writes nothing.
use roster_tests::*;
use serde_json::{Value, json};

/// Send a raw body with a content type.
async fn raw(s: &Stack, path: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Response {
    let mut req = s.http.post(format!("{}{path}", s.api)).header("content-type", content_type).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    s.send(req).await
}

fn with(base: &Value, field: &str, value: Value) -> Value {
    let mut v = base.clone();
    v[field] = value;
    v
}

fn without(base: &Value, field: &str) -> Value {
    let mut v = base.clone();
    v.as_object_mut().unwrap().remove(field);
    v
}

#[tokio::test]
async fn sign_up_refuses_bad_input_and_claims_nothing() {
    let s = stack().await;
    let taken = s.account().await;
    let slug = unique("fresh");
    let good = s.sign_up_body(&slug, "ann@example.com");
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        ("missing email", without(&good, "email"), 422, "validation_failed", Some("email")),
        ("missing password", without(&good, "password"), 422, "validation_failed", Some("password")),
        ("number for name", with(&good, "first_name", json!(42)), 422, "validation_failed", Some("first_name")),
        ("null company", with(&good, "company_name", Value::Null), 422, "validation_failed", Some("company_name")),
        ("unknown field", with(&good, "role", json!("owner")), 422, "validation_failed", Some("role")),
        ("array body", json!([good.clone()]), 422, "validation_failed", None),
        ("bad email", with(&good, "email", json!("ann@")), 422, "validation_failed", Some("email")),
        ("short password", with(&good, "password", json!("short")), 422, "validation_failed", Some("password")),
        (
            "common password",
            with(&good, "password", json!("Password1234!")),
            422,
            "validation_failed",
            Some("password"),
        ),
        (
            "upper-case address",
            with(&good, "web_address", json!("Acme2026")),
            422,
            "validation_failed",
            Some("web_address"),
        ),
        (
            "symbols in address",
            with(&good, "web_address", json!("acme-2026")),
            422,
            "validation_failed",
            Some("web_address"),
        ),
        (
            "unicode address",
            with(&good, "web_address", json!("ácme2026")),
            422,
            "validation_failed",
            Some("web_address"),
        ),
        ("reserved address", with(&good, "web_address", json!("admin")), 422, "validation_failed", Some("web_address")),
        ("bad time zone", with(&good, "time_zone", json!("Mars/Base")), 422, "validation_failed", Some("time_zone")),
        ("bad language", with(&good, "language", json!("fr")), 422, "validation_failed", Some("language")),
        ("duplicate address", with(&good, "web_address", json!(taken.web_address)), 409, "web_address_taken", None),
    ];
    for (name, body, status, code, field) in cases {
        let r = s.post("/v1/accounts", None, body).await;
        assert_eq!(r.problem(status), code, "{name}");
        if let Some(f) = field {
            assert!(r.body["errors"].as_array().unwrap().iter().any(|e| e["field"] == f), "{name}: {}", r.text);
        }
    }
    let body = serde_json::to_vec(&good).unwrap();
    let mut huge = good.clone();
    huge["company_name"] = json!("x".repeat(1024 * 1024));
    let raw_cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("invalid JSON", "application/json", b"{\"web_address\": ".to_vec(), 400, "malformed_json"),
        ("invalid UTF-8", "application/json", [&body[..20], b"\xff\xfe", &body[20..]].concat(), 400, "invalid_utf8"),
        ("1 MB body", "application/json", serde_json::to_vec(&huge).unwrap(), 413, "body_too_large"),
        (
            "form instead of JSON",
            "application/x-www-form-urlencoded",
            b"web_address=x".to_vec(),
            415,
            "unsupported_media_type",
        ),
        ("empty body", "application/json", Vec::new(), 400, "malformed_json"),
    ];
    for (name, ct, body, status, code) in raw_cases {
        assert_eq!(raw(&s, "/v1/accounts", None, ct, body).await.problem(status), code, "{name}");
    }
    // Nothing was claimed: the address is still free and the taken account is unchanged.
    assert!(
        !s.item_exists(&roster::store::keys::web_address(
            &roster::domain::web_address::WebAddress::parse("w", &slug).unwrap()
        ))
        .await
    );
    s.post("/v1/accounts", None, good).await.ok(201);
}

#[tokio::test]
async fn invitations_refuse_bad_input_and_write_nothing() {
    let s = stack().await;
    let acme = s.account().await;
    let first = format!("first@{}.test", acme.web_address);
    s.invite(&acme, &first, "agent").await.ok(201);
    let before = s.partition_keys(&acme.id).await;
    let mails_before = s.mails_to("dup@example.com").await;

    let good = json!({ "email": "dup@example.com", "first_name": "Ivy", "last_name": "Invitee", "role": "agent" });
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("missing role", without(&good, "role"), 422, "validation_failed"),
        ("missing email", without(&good, "email"), 422, "validation_failed"),
        ("bad email", with(&good, "email", json!("not an email")), 422, "validation_failed"),
        ("unknown role", with(&good, "role", json!("superuser")), 422, "validation_failed"),
        ("owner by invitation", with(&good, "role", json!("owner")), 422, "validation_failed"),
        ("empty name", with(&good, "first_name", json!("   ")), 422, "validation_failed"),
        ("name too long", with(&good, "last_name", json!("x".repeat(101))), 422, "validation_failed"),
        ("control characters", with(&good, "last_name", json!("a\u{7}b")), 422, "validation_failed"),
        ("wrong type", with(&good, "role", json!(["agent"])), 422, "validation_failed"),
        ("duplicate invite", with(&good, "email", json!(first.to_uppercase())), 409, "already_member"),
        ("owner's own email", with(&good, "email", json!(acme.owner_email)), 409, "already_member"),
    ];
    for (name, body, status, code) in cases {
        assert_eq!(s.post("/v1/invitations", Some(&acme.token), body).await.problem(status), code, "{name}");
    }
    let good_bytes = serde_json::to_vec(&good).unwrap();
    assert_eq!(
        raw(&s, "/v1/invitations", Some(&acme.token), "application/json", vec![b'['; 1024 * 1024]).await.problem(413),
        "body_too_large"
    );
    assert_eq!(
        raw(
            &s,
            "/v1/invitations",
            Some(&acme.token),
            "application/json",
            [&good_bytes[..10], b"\xc3\x28", &good_bytes[10..]].concat()
        )
        .await
        .problem(400),
        "invalid_utf8"
    );
    assert_eq!(s.post("/v1/invitations", None, good.clone()).await.problem(401), "unauthenticated");
    assert_eq!(s.post("/v1/invitations", Some("garbage"), good.clone()).await.problem(401), "unauthenticated");

    assert_eq!(s.partition_keys(&acme.id).await, before, "a refused invitation wrote something");
    assert_eq!(s.mails_to("dup@example.com").await, mails_before, "a refused invitation sent mail");
}

#[tokio::test]
async fn reads_and_auth_endpoints_refuse_bad_input() {
    let s = stack().await;
    let acme = s.account().await;
    for q in ["limit=0", "limit=201", "limit=abc", "cursor=forged.cursor", "sort=name", "q=a%00b", "role=superuser"] {
        let r = s.get(&format!("/v1/members?{q}"), Some(&acme.token)).await;
        assert!(matches!(r.status.as_u16(), 400 | 404 | 422), "{q}: {}", r.text);
        assert_eq!(r.content_type, "application/problem+json");
    }
    assert_eq!(s.get("/v1/members/not-an-id", Some(&acme.token)).await.problem(404), "not_found");
    assert_eq!(
        s.post("/v1/auth/login", None, json!({ "web_address": acme.web_address })).await.problem(422),
        "validation_failed"
    );
    assert_eq!(
        s.post("/v1/auth/login", None, json!({ "web_address": 1, "email": [], "password": {} })).await.problem(422),
        "validation_failed"
    );
    for token in ["", "garbage", "a.b.c", &format!("{}.{}.x", acme.id, acme.id)] {
        assert_eq!(
            s.post("/v1/auth/refresh", None, json!({ "refresh_token": token })).await.problem(401),
            "unauthenticated",
            "{token}"
        );
    }
    assert_eq!(s.get("/v1/me", None).await.problem(401), "unauthenticated");
}

/// Issue 10, findings 8 and 9: a JSON array never fills an object's fields by position, and
/// every error answer — axum's own rejections and fallbacks included — is problem+json.
#[tokio::test]
async fn arrays_are_not_objects_and_every_error_is_a_problem() {
    use reqwest::Method;
    let s = stack().await;
    let acme = s.account().await;
    let group = s.post("/v1/groups", Some(&acme.token), json!(["Array Group", "d", false])).await;
    assert_eq!(group.problem(422), "validation_failed");
    assert_eq!(group.body["errors"][0]["code"], "not_an_object");
    assert!(s.get("/v1/groups", Some(&acme.token)).await.body["items"].as_array().unwrap().is_empty());
    let before = s.get("/v1/account/design", Some(&acme.token)).await.body.clone();
    let design = s.json(Method::PATCH, "/v1/account/design", &acme.token, Some(json!([null, null])), None).await;
    assert_eq!(design.problem(422), "validation_failed");
    assert_eq!(s.get("/v1/account/design", Some(&acme.token)).await.body, before);
    // A well-formed body with a wrong-typed value names the field (422, not 400).
    let typed = s.post("/v1/groups", Some(&acme.token), json!({ "name": "G", "auto_assign": "yes" })).await;
    assert_eq!(typed.problem(422), "validation_failed");
    assert_eq!(typed.body["errors"][0]["field"], "auto_assign");

    // Path segments that are not UTF-8, unknown addresses and wrong methods.
    let bad_path = s.get("/v1/members/%FF%FE", Some(&acme.token)).await;
    assert_eq!(bad_path.problem(400), "bad_request");
    assert_eq!(s.get("/v1/nothing-here", Some(&acme.token)).await.problem(404), "not_found");
    let wrong = s.call(Method::PUT, "/v1/members", Some(&acme.token), Some(json!({}))).await;
    assert_eq!(wrong.problem(405), "method_not_allowed");
    // The HTML page keeps an HTML answer.
    let page = s.get("/invitations/accept?token=nope", None).await;
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
}
