//! Custom fields (issue 12, SPEC §5): typed values on users and organizations, checked on
//! every write; renaming keeps values, deleting takes them.
use reqwest::Method;
use roster_tests::*;
use serde_json::{Value, json};

async fn field(s: &Stack, acme: &Account, body: Value) -> String {
    s.post("/v1/custom-fields", Some(&acme.token), body).await.ok(201)["id"].as_str().unwrap().to_owned()
}

/// The field errors of a 422: (field, code).
fn errors(r: &Response) -> Vec<(String, String)> {
    assert_eq!(r.problem(422), "validation_failed", "{}", r.text);
    r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn user_values_are_checked_on_every_write_and_bad_ones_change_nothing() {
    let s = stack().await;
    let acme = s.account().await;
    let number =
        field(&s, &acme, json!({ "target": "user", "name": "Customer number", "kind": "text", "required": true }))
            .await;
    let seats = field(&s, &acme, json!({ "target": "user", "name": "Seats", "kind": "number" })).await;
    let since = field(&s, &acme, json!({ "target": "user", "name": "Customer since", "kind": "date" })).await;
    let vip = field(&s, &acme, json!({ "target": "user", "name": "VIP", "kind": "boolean" })).await;
    let plan = field(
        &s,
        &acme,
        json!({ "target": "user", "name": "Plan", "kind": "single_choice", "choices": ["Basic", "Pro"] }),
    )
    .await;
    let langs =
        json!({ "target": "user", "name": "Languages", "kind": "multiple_choice", "choices": ["en", "de", "fr"] });
    let langs = field(&s, &acme, langs).await;
    // A field of organizations is not a field of users.
    let org_only = field(&s, &acme, json!({ "target": "organization", "name": "Tier", "kind": "text" })).await;
    let listed = s.get("/v1/custom-fields?target=user", Some(&acme.token)).await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 6);

    let before = s.partition_count(&acme.id).await;
    let new = |fields: Value| json!({ "name": "Ann", "emails": ["ann@cf.test"], "custom_fields": fields });
    for (fields, expected) in [
        (json!({}), vec![(format!("custom_fields.{number}"), "required")]),
        (
            json!({ number.clone(): "C-1", seats.clone(): "twelve" }),
            vec![(format!("custom_fields.{seats}"), "wrong_type")],
        ),
        (
            json!({ number.clone(): "C-1", since.clone(): "2026-13-01" }),
            vec![(format!("custom_fields.{since}"), "wrong_type")],
        ),
        (json!({ number.clone(): "C-1", vip.clone(): "yes" }), vec![(format!("custom_fields.{vip}"), "wrong_type")]),
        (
            json!({ number.clone(): "C-1", plan.clone(): "Gold" }),
            vec![(format!("custom_fields.{plan}"), "not_a_choice")],
        ),
        (
            json!({ number.clone(): "C-1", langs.clone(): ["en", "xx"] }),
            vec![(format!("custom_fields.{langs}"), "not_a_choice")],
        ),
        (
            json!({ number.clone(): "C-1", "no-such-field": 1 }),
            vec![("custom_fields.no-such-field".to_owned(), "invalid")],
        ),
        (json!({ number.clone(): null }), vec![(format!("custom_fields.{number}"), "required")]),
    ] {
        let r = s.post("/v1/users", Some(&acme.token), new(fields.clone())).await;
        let expected: Vec<(String, String)> = expected.into_iter().map(|(f, c)| (f, c.to_owned())).collect();
        assert_eq!(errors(&r), expected, "{fields}");
    }
    // A well-formed id of no field of users names nothing here: 404, naming it.
    let r = s.post("/v1/users", Some(&acme.token), new(json!({ number.clone(): "C-1", org_only.clone(): "x" }))).await;
    assert_eq!(r.problem(404), "unknown_reference");
    assert_eq!(r.body["errors"][0]["field"], format!("custom_fields.{org_only}"));
    let r = s
        .post("/v1/users", Some(&acme.token), json!({ "name": "Ann", "emails": ["ann@cf.test"], "custom_fields": [] }))
        .await;
    assert_eq!(r.problem(422), "validation_failed", "not an object");
    assert_eq!(s.partition_count(&acme.id).await, before, "nothing written");

    let good = json!({ number.clone(): "C-1", seats.clone(): 12, since.clone(): "2024-02-29", vip.clone(): true,
                       plan.clone(): "pro", langs.clone(): ["de", "en", "de"] });
    let ann = s.post("/v1/users", Some(&acme.token), new(good)).await.ok(201).clone();
    let cf = &ann["custom_fields"];
    assert_eq!(
        (cf[&number].clone(), cf[&seats].clone(), cf[&since].clone()),
        (json!("C-1"), json!(12), json!("2024-02-29"))
    );
    assert_eq!(
        (cf[&plan].clone(), cf[&langs].clone()),
        (json!("Pro"), json!(["de", "en"])),
        "as the field spells them"
    );
    let path = format!("/v1/users/{}", ann["id"].as_str().unwrap());

    // A change names only what changes; a bad value refuses the whole change.
    let r = s
        .call(
            Method::PATCH,
            &path,
            Some(&acme.token),
            Some(json!({ "name": "Ann B", "custom_fields": { seats.clone(): "x" } })),
        )
        .await;
    assert_eq!(errors(&r), [(format!("custom_fields.{seats}"), "wrong_type".to_owned())]);
    let after = s.get(&path, Some(&acme.token)).await.ok(200).clone();
    assert_eq!((after["name"].clone(), after["custom_fields"][&seats].clone()), (json!("Ann"), json!(12)));
    let changed = json!({ "custom_fields": { seats.clone(): 15, vip.clone(): null } });
    let r = s.call(Method::PATCH, &path, Some(&acme.token), Some(changed)).await.ok(200).clone();
    assert_eq!((r["custom_fields"][&seats].clone(), r["custom_fields"].get(&vip)), (json!(15), None));
    assert_eq!(r["custom_fields"][&number], "C-1", "untouched values stay");

    // Renamed: the value stays (it is kept by the field's id). Deleted: the value goes.
    let rename = json!({ "name": "Licences" });
    s.call(Method::PATCH, &format!("/v1/custom-fields/{seats}"), Some(&acme.token), Some(rename)).await.ok(200);
    assert_eq!(s.get(&path, Some(&acme.token)).await.ok(200)["custom_fields"][&seats], 15);
    s.call(Method::DELETE, &format!("/v1/custom-fields/{plan}"), Some(&acme.token), None).await.ok(204);
    assert_eq!(s.get(&path, Some(&acme.token)).await.ok(200)["custom_fields"].get(&plan), None);
    let listed = s.get("/v1/users?q=ann", Some(&acme.token)).await.ok(200).clone();
    assert_eq!(listed["items"][0]["custom_fields"].get(&plan), None, "nor in lists");
    // Written back without it.
    s.call(Method::PATCH, &path, Some(&acme.token), Some(json!({ "phone": "+1 555 0100 12" }))).await.ok(200);
    let stored = s.get(&path, Some(&acme.token)).await.ok(200).clone();
    assert_eq!(stored["custom_fields"].as_object().unwrap().len(), 4);
}

#[tokio::test]
async fn organization_values_and_field_definitions() {
    let s = stack().await;
    let acme = s.account().await;
    let tier = field(
        &s,
        &acme,
        json!({ "target": "organization", "name": "Tier", "kind": "single_choice", "choices": ["Gold"] }),
    )
    .await;
    for (bad, code) in [
        (json!({ "target": "organization", "name": "tier", "kind": "text" }), 409),
        (json!({ "target": "organization", "name": "Other", "kind": "single_choice" }), 422),
        (json!({ "target": "organization", "name": "Other", "kind": "text", "choices": ["a"] }), 422),
        (json!({ "target": "organization", "name": "Other", "kind": "multiple_choice", "choices": [] }), 422),
        (json!({ "target": "organization", "name": "Other", "kind": "colour" }), 422),
        (json!({ "target": "ticket", "name": "Other", "kind": "text" }), 422),
    ] {
        let r = s.post("/v1/custom-fields", Some(&acme.token), bad.clone()).await;
        assert_eq!(r.status.as_u16(), code, "{bad}: {}", r.text);
    }
    // A choice spelled twice is offered once; a field that is not a choice field has none.
    let dupes =
        json!({ "target": "organization", "name": "Dupes", "kind": "multiple_choice", "choices": ["a", "A", "b"] });
    let dupes = s.post("/v1/custom-fields", Some(&acme.token), dupes).await.ok(201).clone();
    assert_eq!(dupes["choices"], json!(["a", "b"]));
    let text = field(&s, &acme, json!({ "target": "organization", "name": "Plain", "kind": "text" })).await;
    let r = s
        .call(Method::PATCH, &format!("/v1/custom-fields/{text}"), Some(&acme.token), Some(json!({ "choices": ["x"] })))
        .await;
    assert_eq!(r.problem(409), "field_has_no_choices");
    // The same name on the other target is another field.
    field(&s, &acme, json!({ "target": "user", "name": "Tier", "kind": "text" })).await;

    let bad = json!({ "name": "Globex", "custom_fields": { tier.clone(): "Silver" } });
    let r = s.post("/v1/organizations", Some(&acme.token), bad).await;
    assert_eq!(errors(&r), [(format!("custom_fields.{tier}"), "not_a_choice".to_owned())]);
    let org = s
        .post(
            "/v1/organizations",
            Some(&acme.token),
            json!({ "name": "Globex", "custom_fields": { tier.clone(): "gold" } }),
        )
        .await;
    let org = org.ok(201).clone();
    assert_eq!(org["custom_fields"][&tier], "Gold");
    let path = format!("/v1/organizations/{}", org["id"].as_str().unwrap());

    // New choices may be offered; making the field required holds for the next change of values.
    let f = format!("/v1/custom-fields/{tier}");
    let changed = json!({ "choices": ["Gold", "Silver"], "required": true });
    let f_now = s.call(Method::PATCH, &f, Some(&acme.token), Some(changed)).await.ok(200).clone();
    assert_eq!(f_now["choices"], json!(["Gold", "Silver"]));
    let r =
        s.call(Method::PATCH, &path, Some(&acme.token), Some(json!({ "custom_fields": { tier.clone(): null } }))).await;
    assert_eq!(errors(&r), [(format!("custom_fields.{tier}"), "required".to_owned())]);
    let r = s
        .call(Method::PATCH, &path, Some(&acme.token), Some(json!({ "custom_fields": { tier.clone(): "Silver" } })))
        .await;
    assert_eq!(r.ok(200)["custom_fields"][&tier], "Silver");
    s.call(Method::DELETE, &f, Some(&acme.token), None).await.ok(204);
    assert_eq!(s.get(&path, Some(&acme.token)).await.ok(200)["custom_fields"], json!({}));
    assert_eq!(s.get(&f, Some(&acme.token)).await.problem(404), "not_found");
}

#[tokio::test]
async fn another_accounts_fields_and_jobs_are_not_found() {
    let s = stack().await;
    let (a, b) = (s.account().await, s.account().await);
    let b_field = field(&s, &b, json!({ "target": "user", "name": "Secret", "kind": "text" })).await;
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339().replace('+', "%2B");
    let req = s.http.post(format!("{}/v1/users/import?run_at={later}", s.api)).bearer_auth(&b.token);
    let job = s.send(req.header("content-type", "text/csv").body("name,email\nLater,later@b-only.test\n")).await;
    let b_job = job.ok(202)["id"].as_str().unwrap().to_owned();
    let b_org = s.post("/v1/organizations", Some(&b.token), json!({ "name": "B Org" })).await.ok(201)["id"].clone();
    let b_org = b_org.as_str().unwrap();

    let before = s.partition_count(&b.id).await;
    let t = Some(a.token.as_str());
    assert_eq!(s.get(&format!("/v1/custom-fields/{b_field}"), t).await.problem(404), "not_found");
    let rename =
        s.call(Method::PATCH, &format!("/v1/custom-fields/{b_field}"), t, Some(json!({ "name": "Mine" }))).await;
    assert_eq!(rename.problem(404), "not_found");
    assert_eq!(
        s.call(Method::DELETE, &format!("/v1/custom-fields/{b_field}"), t, None).await.problem(404),
        "not_found"
    );
    assert_eq!(s.get(&format!("/v1/jobs/{b_job}"), t).await.problem(404), "not_found");
    assert_eq!(s.get(&format!("/v1/jobs/{b_job}/results"), t).await.problem(404), "not_found");
    assert_eq!(s.call(Method::POST, &format!("/v1/jobs/{b_job}/cancel"), t, None).await.problem(404), "not_found");
    let remap = format!("/v1/organizations/{b_org}/domains/b-only.test/remap?preview=true");
    assert_eq!(s.call(Method::POST, &remap, t, None).await.problem(404), "not_found");
    assert_eq!(s.get("/v1/custom-fields", t).await.ok(200)["items"], json!([]));
    // B's field is no field of A's users.
    let r = s
        .post(
            "/v1/users",
            t,
            json!({ "name": "Ann", "emails": ["ann@a-only.test"], "custom_fields": { b_field.clone(): "x" } }),
        )
        .await;
    assert_eq!(r.problem(404), "unknown_reference");
    assert_eq!(r.body["errors"][0]["field"], format!("custom_fields.{b_field}"));
    assert_eq!(s.partition_count(&b.id).await, before, "nothing of B's changed");
}
