//! Bulk invitations inline (issue 11 §2): up to 100 rows as a spreadsheet or a JSON list, each
//! invited like a single invitation, each with its outcome; hostile and broken input refused
//! without writing anything.
use roster_tests::*;
use serde_json::{Value, json};

async fn bulk(s: &Stack, acme: &Account, content_type: &str, body: Vec<u8>) -> Response {
    s.send(
        s.http
            .post(format!("{}/v1/invitations/bulk", s.api))
            .bearer_auth(&acme.token)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

fn outcome(result: &Value, line: u64) -> (String, String) {
    let row =
        result["rows"].as_array().unwrap().iter().find(|r| r["line"] == line).unwrap_or_else(|| panic!("line {line}"));
    (row["outcome"].as_str().unwrap().to_owned(), row["reason"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_spreadsheet_invites_every_good_row_and_explains_every_other() {
    let s = stack().await;
    let acme = s.account().await;
    let tier = s.post("/v1/groups", Some(&acme.token), json!({ "name": "Tier 1" })).await;
    let tier_id = tier.ok(201)["id"].as_str().unwrap().to_owned();
    let w = &acme.web_address;
    let csv = format!(
        "\u{feff}Email,First Name,Last Name,Role,Groups\r\n\
         ann@{w}.test,Ann,Lee,agent,tier 1\r\n\
         \"bo@{w}.test\",\"Bo, Jr.\",Kim,Viewer,\r\n\
         {owner},Own,Er,agent,\r\n\
         ANN@{w}.test,Ann,Again,agent,\r\n\
         not-an-email,Cy,Park,agent,\r\n\
         dee@{w}.test,Dee,Fox,superuser,\r\n\
         eve@{w}.test,Eve,Short\r\n\
         fay@{w}.test,=HYPERLINK(\"x\"),Ng,supervisor,{tier_id}\r\n",
        owner = acme.owner_email
    );
    let r = bulk(&s, &acme, "text/csv; charset=utf-8", csv.into_bytes()).await;
    let result = r.ok(200).clone();
    assert_eq!(
        result["summary"],
        json!({ "invited": 3, "skipped_existing": 1, "skipped_duplicate_row": 1, "invalid": 3, "rate_limited": 0 }),
        "{result}"
    );
    assert_eq!(outcome(&result, 2).0, "invited", "{result}");
    assert_eq!(outcome(&result, 3).0, "invited", "{result}");
    assert_eq!(outcome(&result, 4).0, "skipped_existing");
    assert_eq!(outcome(&result, 5), ("skipped_duplicate_row".into(), "the same email as line 2".into()));
    assert_eq!(outcome(&result, 6).0, "invalid");
    assert_eq!(outcome(&result, 7).0, "invalid", "an unknown role");
    assert!(outcome(&result, 8).1.contains("fields"), "{result}");
    assert_eq!(outcome(&result, 9).0, "invited");

    // Each invited row is a member like any other, mailed, in the group named by name or id.
    let members = s.get("/v1/members?status=invited&limit=200", Some(&acme.token)).await;
    let invited: Vec<Value> = members.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(invited.len(), 3);
    let ann = invited.iter().find(|m| m["email"] == format!("ann@{w}.test")).unwrap();
    assert_eq!((ann["role"].as_str(), ann["groups"].clone()), (Some("agent"), json!([tier_id])));
    let bo = invited.iter().find(|m| m["email"] == format!("bo@{w}.test")).unwrap();
    assert_eq!((bo["first_name"].as_str(), bo["role"].as_str()), (Some("Bo, Jr."), Some("viewer")));
    for who in ["ann", "bo", "fay"] {
        assert!(s.mail_to(&format!("{who}@{w}.test")).await.to_string().contains("/invitations/accept?token="));
    }
    let group = s.get(&format!("/v1/groups/{tier_id}"), Some(&acme.token)).await;
    assert_eq!(group.ok(200)["members"].as_array().unwrap().len(), 2, "ann by name, fay by id");

    // Sent again, nobody is invited twice.
    let again = bulk(
        &s,
        &acme,
        "text/csv",
        format!("email,first_name,last_name,role\nann@{w}.test,Ann,Lee,agent\n").into_bytes(),
    )
    .await;
    assert_eq!(outcome(again.ok(200), 2).0, "skipped_existing");
}

#[tokio::test]
async fn json_rows_are_held_to_the_document_and_broken_bodies_write_nothing() {
    let s = stack().await;
    let acme = s.account().await;
    let w = &acme.web_address;
    let row =
        |who: &str| json!({ "email": format!("{who}@{w}.test"), "first_name": "A", "last_name": "B", "role": "agent" });
    let body = |v: Value| serde_json::to_vec(&v).unwrap();
    let ok = bulk(&s, &acme, "application/json", body(json!([row("gil"), row("hal")]))).await;
    assert_eq!(ok.ok(200)["summary"]["invited"], 2);
    assert_eq!(
        (ok.body["rows"][0]["line"].clone(), ok.body["rows"][1]["outcome"].clone()),
        (json!(1), json!("invited"))
    );

    let before = s.partition_keys(&acme.id).await;
    let mut bad = row("ida");
    bad["email"] = json!("ida at example");
    let refused = bulk(&s, &acme, "application/json", body(json!([row("jan"), bad]))).await;
    assert_eq!(refused.problem(422), "validation_failed");
    assert_eq!(refused.body["errors"][0]["field"], "[1].email");
    let too_many: Vec<Value> = (0..101).map(|i| row(&format!("p{i}"))).collect();
    assert_eq!(bulk(&s, &acme, "application/json", body(json!(too_many))).await.problem(422), "validation_failed");
    let typed = bulk(&s, &acme, "application/json", body(json!([{ "email": 5 }]))).await;
    assert_eq!(typed.problem(422), "validation_failed");
    assert_eq!(bulk(&s, &acme, "application/json", b"{\"rows\": []}".to_vec()).await.problem(422), "validation_failed");
    for garbage in [&b"\x89PNG\r\n\x1a\n\0\0"[..], b"name,mail\nAnn,a@x.test\n", b""] {
        assert_eq!(bulk(&s, &acme, "text/csv", garbage.to_vec()).await.problem(422), "not_csv");
    }
    assert_eq!(bulk(&s, &acme, "text/plain", b"x".to_vec()).await.problem(415), "unsupported_media_type");
    assert_eq!(s.partition_keys(&acme.id).await, before, "a refused list wrote something");
}
