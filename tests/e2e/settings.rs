//! Settings > System (issue 5, SPEC §1): registration, design with uploaded images,
//! preferences — each with its own ETag / If-Match, bad input refused without a change.
use reqwest::Method;
use roster_tests::*;
use serde_json::{Value, json};

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];

#[tokio::test]
async fn registration_changes_with_if_match_and_refuses_bad_values() {
    let s = stack().await;
    let acme = s.account().await;
    let got = s.get("/v1/account/registration", Some(&acme.token)).await;
    assert_eq!(got.ok(200)["company_name"], "Acme Support");
    assert_eq!(got.body["newsletter"], false);
    let etag = got.etag.clone().unwrap();
    let change = json!({ "contact_email": "Help@Acme.test", "main_phone": "+82 2-555-0100", "newsletter": true });
    let changed = s
        .json(Method::PATCH, "/v1/account/registration", &acme.token, Some(change.clone()), Some(("if-match", &etag)))
        .await;
    assert_eq!(changed.ok(200)["contact_email"], "help@acme.test");
    assert_eq!(changed.body["main_phone"], "+82 2-555-0100");
    assert_ne!(changed.etag.as_deref(), Some(etag.as_str()));
    // The old ETag is stale now.
    let stale = s
        .json(
            Method::PATCH,
            "/v1/account/registration",
            &acme.token,
            Some(json!({ "newsletter": false })),
            Some(("if-match", &etag)),
        )
        .await;
    assert_eq!(stale.problem(412), "precondition_failed");
    // Another section's change does not make this section's ETag stale.
    let current = changed.etag.clone().unwrap();
    let prefs =
        s.json(Method::PATCH, "/v1/account/preferences", &acme.token, Some(json!({ "language": "ko" })), None).await;
    prefs.ok(200);
    let cleared = s
        .json(
            Method::PATCH,
            "/v1/account/registration",
            &acme.token,
            Some(json!({ "main_phone": null })),
            Some(("if-match", &current)),
        )
        .await;
    assert_eq!(cleared.ok(200)["main_phone"], serde_json::Value::Null);
    assert_eq!(cleared.body["contact_email"], "help@acme.test");

    let before = s.get("/v1/account/registration", Some(&acme.token)).await.text;
    for (body, field) in [
        (json!({ "contact_email": "not an email" }), "contact_email"),
        (json!({ "main_phone": "call me maybe" }), "main_phone"),
        (json!({ "cell_phone": 42 }), ""),
        (json!({ "company_name": "  " }), "company_name"),
        (json!({ "newsletter": "yes" }), ""),
        (json!({ "company": "x" }), ""),
    ] {
        let r = s.json(Method::PATCH, "/v1/account/registration", &acme.token, Some(body.clone()), None).await;
        assert!(matches!(r.status.as_u16(), 400 | 422), "{body}: {}", r.text);
        if !field.is_empty() {
            assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
        }
    }
    assert_eq!(s.get("/v1/account/registration", Some(&acme.token)).await.text, before);
    let actions = s.audit_actions(&acme.id).await;
    assert_eq!(actions.iter().filter(|a| *a == "account.registration_changed").count(), 2);
}

#[tokio::test]
async fn preferences_decide_the_language_and_dates_of_emails() {
    let s = stack().await;
    let acme = s.account().await;
    let got = s.get("/v1/account/preferences", Some(&acme.token)).await;
    assert_eq!(got.ok(200)["language"], "en");
    let change = json!({ "language": "ja", "time_zone": "Asia/Tokyo", "date_format": "MM.DD.YYYY" });
    let changed = s
        .json(
            Method::PATCH,
            "/v1/account/preferences",
            &acme.token,
            Some(change),
            Some(("if-match", got.etag.as_deref().unwrap())),
        )
        .await;
    assert_eq!(changed.ok(200)["time_zone"], "Asia/Tokyo");
    for bad in [json!({ "language": "fr" }), json!({ "time_zone": "Mars/Olympus" }), json!({ "date_format": "DD/MM" })]
    {
        let r = s.json(Method::PATCH, "/v1/account/preferences", &acme.token, Some(bad.clone()), None).await;
        assert_eq!(r.problem(422), "validation_failed", "{bad}");
    }
    // Every member reads the preferences (to show dates), only settings managers change them.
    let (_, agent, _) = s.active_member(&acme, &format!("agent@{}.test", acme.web_address), "agent").await;
    assert_eq!(s.get("/v1/account/preferences", Some(&agent)).await.ok(200)["language"], "ja");
    let r = s.json(Method::PATCH, "/v1/account/preferences", &agent, Some(json!({ "language": "en" })), None).await;
    assert_eq!(r.problem(403), "forbidden");
    // An invitation now goes out in Japanese, its expiry in Tokyo time, month first.
    let email = format!("new@{}.test", acme.web_address);
    s.invite(&acme, &email, "agent").await.ok(201);
    let mail = s.mail_to(&email).await;
    let text = mail.to_string();
    assert!(text.contains("招待"), "{text}");
    assert!(text.contains("JST"), "{text}");
}

#[tokio::test]
async fn design_images_are_sniffed_stored_and_served_back() {
    let s = stack().await;
    let acme = s.account().await;
    let upload = |body: Vec<u8>, slot: &'static str| {
        let s = &s;
        let token = acme.token.clone();
        async move {
            s.send(
                s.http
                    .put(format!("{}/v1/account/design/{slot}", s.api))
                    .bearer_auth(token)
                    .header("content-type", "image/svg+xml")
                    .body(body),
            )
            .await
        }
    };
    // Needs a logo before showing one.
    let r = s.json(Method::PATCH, "/v1/account/design", &acme.token, Some(json!({ "top_menu": "logo" })), None).await;
    assert_eq!(r.problem(409), "logo_required");

    let mut png = PNG.to_vec();
    png.extend_from_slice(&[7u8; 1000]);
    let done = upload(png.clone(), "logo").await;
    assert_eq!(done.ok(200)["logo"]["kind"], "uploaded", "{}", done.text);
    assert_eq!(done.body["logo"]["content_type"], "image/png");
    let served = s.http.get(format!("{}/v1/account/design/logo", s.api)).bearer_auth(&acme.token).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert_eq!(served.bytes().await.unwrap().to_vec(), png);

    // SVG (whatever the header says), unknown bytes and oversize files are refused.
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    assert_eq!(upload(svg, "favicon").await.problem(422), "validation_failed");
    assert_eq!(upload(b"GIF89a".to_vec(), "favicon").await.problem(422), "validation_failed");
    let mut big = PNG.to_vec();
    big.resize(256 * 1024 + 1, 0);
    assert_eq!(upload(big, "favicon").await.problem(413), "image_too_large");
    assert_eq!(upload(PNG.to_vec(), "banner").await.problem(404), "not_found");
    let none = s.get("/v1/account/design/favicon", Some(&acme.token)).await;
    assert_eq!(none.problem(404), "not_found");

    let design = s.get("/v1/account/design", Some(&acme.token)).await;
    let etag = design.etag.clone().unwrap();
    let change = json!({ "top_menu": "name_and_logo", "website_name": "Acme Help", "favicon_url": "https://cdn.acme.test/f.ico" });
    let changed =
        s.json(Method::PATCH, "/v1/account/design", &acme.token, Some(change), Some(("if-match", &etag))).await;
    assert_eq!(changed.ok(200)["favicon"]["url"], "https://cdn.acme.test/f.ico");
    assert_eq!(changed.body["logo"]["kind"], "uploaded");
    let stale = s
        .json(
            Method::PATCH,
            "/v1/account/design",
            &acme.token,
            Some(json!({ "website_name": null })),
            Some(("if-match", &etag)),
        )
        .await;
    assert_eq!(stale.problem(412), "precondition_failed");
    let bad = s
        .json(
            Method::PATCH,
            "/v1/account/design",
            &acme.token,
            Some(json!({ "logo_url": "javascript:alert(1)" })),
            None,
        )
        .await;
    assert_eq!(bad.problem(422), "validation_failed");

    // Replacing the uploaded logo by an address removes the stored file in the same change.
    let swapped = s
        .json(
            Method::PATCH,
            "/v1/account/design",
            &acme.token,
            Some(json!({ "logo_url": "https://cdn.acme.test/l.png" })),
            None,
        )
        .await;
    assert_eq!(swapped.ok(200)["logo"]["kind"], "url");
    assert!(!s.partition_keys(&acme.id).await.iter().any(|k| k.starts_with("DESIGNIMAGE#")));
    assert_eq!(s.get("/v1/account/design/logo", Some(&acme.token)).await.problem(404), "not_found");
}

/// Issue 10: the per-account invitation validity (1–30 days) is a preference that invite and
/// resend use.
#[tokio::test]
async fn invitation_validity_is_a_preference_invite_and_resend_use() {
    let s = stack().await;
    let acme = s.account().await;
    assert_eq!(s.get("/v1/account/preferences", Some(&acme.token)).await.ok(200)["invitation_validity_days"], 7);
    for bad in [json!(0), json!(31), json!("3"), json!(-1)] {
        let body = json!({ "invitation_validity_days": bad });
        let r = s.json(Method::PATCH, "/v1/account/preferences", &acme.token, Some(body), None).await;
        assert_eq!(r.problem(422), "validation_failed", "{bad}");
        assert_eq!(r.body["errors"][0]["field"], "invitation_validity_days", "{bad}");
    }
    let body = json!({ "invitation_validity_days": 3 });
    s.json(Method::PATCH, "/v1/account/preferences", &acme.token, Some(body), None).await.ok(200);
    let days_left = |r: &Value| {
        let expires = chrono::DateTime::parse_from_rfc3339(r["expires_at"].as_str().unwrap()).unwrap();
        (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours()
    };
    let invited = s.invite(&acme, &format!("soon@{}.test", acme.web_address), "agent").await;
    let invited = invited.ok(201).clone();
    assert!((71..=72).contains(&days_left(&invited)), "{invited}");
    let id = invited["member"]["id"].as_str().unwrap();
    let body = json!({ "invitation_validity_days": 30 });
    s.json(Method::PATCH, "/v1/account/preferences", &acme.token, Some(body), None).await.ok(200);
    let resent = s.post(&format!("/v1/invitations/{id}/resend"), Some(&acme.token), json!({})).await;
    assert!((719..=720).contains(&days_left(resent.ok(200))), "{}", resent.text);
}
