//! Importing end users and re-mapping a domain's people (issue 12, SPEC §5), over HTTP, with the
//! jobs run in this process as the schedule would run them.
use crate::job_process::*;
use reqwest::Method;
use roster::service::Services;
use roster_tests::*;
use serde_json::{Value, json};

async fn import(s: &Stack, acme: &Account, csv: String) -> Response {
    let req = s.http.post(format!("{}/v1/users/import", s.api)).bearer_auth(&acme.token);
    s.send(req.header("content-type", "text/csv").body(csv)).await
}

/// Run jobs until the job is over.
async fn finish(s: &Stack, services: &Services, acme: &Account, id: &str) -> Value {
    run_jobs_until(services, || async {
        let job = s.get(&format!("/v1/jobs/{id}"), Some(&acme.token)).await.ok(200).clone();
        matches!(job["status"].as_str(), Some("succeeded" | "failed" | "cancelled")).then_some(job)
    })
    .await
}

/// Every result line of a job, read page by page.
async fn results(s: &Stack, acme: &Account, id: &str) -> Vec<Value> {
    let (mut out, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/jobs/{id}/results?limit=70&cursor={c}"),
            None => format!("/v1/jobs/{id}/results?limit=70"),
        };
        let page = s.get(&path, Some(&acme.token)).await.ok(200).clone();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

async fn created(s: &Stack, acme: &Account, path: &str, body: Value) -> String {
    s.post(path, Some(&acme.token), body).await.ok(201)["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_small_import_answers_each_row_through_the_one_creation_path() {
    let s = stack().await;
    let acme = s.account().await;
    let org = created(&s, &acme, "/v1/organizations", json!({ "name": "Initech" })).await;
    s.call(Method::PUT, &format!("/v1/organizations/{org}/domains/initech.test"), Some(&acme.token), None)
        .await
        .ok(200);
    created(&s, &acme, "/v1/users", json!({ "name": "Old", "emails": ["old@elsewhere.test"] })).await;
    let csv = "\u{feff}Name,Email,other_emails,organization,organization_role\r\n\
               Ann,ann@initech.test,a@home.test,,\r\n\
               Bo,bo@elsewhere.test,,initech,manager\r\n\
               Again,ANN@initech.test,,,\r\n\
               Old,old@elsewhere.test,,,\r\n\
               Bad,not-an-email,,,\r\n\
               Cy,cy@elsewhere.test,,Nobody Inc,\r\n\
               \"=HYPERLINK(1)\",dee@elsewhere.test,,,boss\r\n\
               Ed\r\n";
    let before = s.partition_count(&acme.id).await;
    let r = import(&s, &acme, csv.into()).await;
    let body = r.ok(200).clone();
    let outcomes: Vec<(u64, String)> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["outcome"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        (2, "created"),
        (3, "created"),
        (4, "skipped_duplicate_row"),
        (5, "skipped_existing"),
        (6, "invalid"),
        (7, "invalid"),
        (8, "invalid"),
        (9, "invalid"),
    ];
    assert_eq!(outcomes, expected.map(|(l, o)| (l, o.to_owned())));
    assert_eq!(
        body["summary"],
        json!({ "created": 2, "skipped_existing": 1, "skipped_duplicate_row": 1, "invalid": 4 })
    );
    assert!(body["rows"][5]["reason"].as_str().unwrap().contains("Nobody Inc"));
    // Linked by domain (Ann) and by the row's organization, by name (Bo, as its manager).
    let members = s.get(&format!("/v1/organizations/{org}/members"), Some(&acme.token)).await.ok(200).clone();
    let mut linked: Vec<(String, String, String)> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"]["name"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
                m["linked_by"].as_str().unwrap().into(),
            )
        })
        .collect();
    linked.sort();
    assert_eq!(
        linked,
        [("Ann".into(), "member".into(), "domain".into()), ("Bo".into(), "manager".into(), "hand".into())]
    );
    let ann = s.get("/v1/users?email=ann@", Some(&acme.token)).await.ok(200)["items"][0].clone();
    assert_eq!(
        (ann["source"].clone(), ann["emails"].clone()),
        (json!("import"), json!(["ann@initech.test", "a@home.test"]))
    );
    assert!(s.partition_count(&acme.id).await > before);

    // Not the spreadsheet at all, or not CSV: refused whole, nothing written.
    let count = s.partition_count(&acme.id).await;
    assert_eq!(import(&s, &acme, "email\nx@y.test\n".into()).await.problem(422), "not_csv");
    let json = s.post("/v1/users/import", Some(&acme.token), json!([{ "name": "A" }])).await;
    assert_eq!(json.problem(415), "unsupported_media_type");
    assert_eq!(s.partition_count(&acme.id).await, count);
}

#[tokio::test]
async fn field_columns_fill_custom_fields_checked_like_any_write() {
    let s = stack().await;
    let acme = s.account().await;
    let field = |body: Value| created(&s, &acme, "/v1/custom-fields", body);
    let number = field(json!({ "target": "user", "name": "Customer number", "kind": "text", "required": true })).await;
    let seats = field(json!({ "target": "user", "name": "Seats", "kind": "number" })).await;
    let plan =
        field(json!({ "target": "user", "name": "Plan", "kind": "single_choice", "choices": ["Basic", "Pro"] })).await;
    let vip = field(json!({ "target": "user", "name": "VIP", "kind": "boolean" })).await;
    // GIVEN a spreadsheet whose `field:` columns name the fields (any case)
    let csv = "name,email,field:customer NUMBER,Field:Seats,field:Plan,field:VIP\n\
               Ann,ann@fields.test,C-1,12,pro,yes\n\
               Bo,bo@fields.test,C-2,,,\n\
               Cy,cy@fields.test,,3,Basic,no\n\
               Di,di@fields.test,C-4,many,Basic,\n\
               Ed,ed@fields.test,C-5,1,Gold,\n";
    let body = import(&s, &acme, csv.into()).await.ok(200).clone();
    // THEN values are read as their field's kind, and a row whose values a write would refuse
    // is invalid, its reason naming the field
    let rows = body["rows"].as_array().unwrap();
    let outcomes: Vec<&str> = rows.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["created", "created", "invalid", "invalid", "invalid"], "{body}");
    for (row, name) in
        [(2, "\"Customer number\" is required"), (3, "\"Seats\" takes a number"), (4, "choices of \"Plan\"")]
    {
        assert!(rows[row]["reason"].as_str().unwrap().contains(name), "{}", rows[row]);
    }
    let ann = s.get(&format!("/v1/users/{}", rows[0]["user_id"].as_str().unwrap()), Some(&acme.token)).await;
    let expected = json!({ number.clone(): "C-1", seats.clone(): 12, plan.clone(): "Pro", vip.clone(): true });
    assert_eq!(ann.ok(200)["custom_fields"], expected);
    let bo = s.get(&format!("/v1/users/{}", rows[1]["user_id"].as_str().unwrap()), Some(&acme.token)).await;
    assert_eq!(bo.ok(200)["custom_fields"], json!({ number: "C-2" }), "an empty cell sets nothing");

    // A column naming no field of the account: refused whole, nothing written.
    let count = s.partition_count(&acme.id).await;
    let r =
        import(&s, &acme, "name,email,field:Customer number,field:Shoe size\nFay,fay@fields.test,C-6,9\n".into()).await;
    assert_eq!(r.problem(422), "validation_failed");
    assert!(r.text.contains("Shoe size"), "{}", r.text);
    assert_eq!(s.partition_count(&acme.id).await, count);
}

#[tokio::test]
async fn a_large_import_is_a_job_with_a_result_per_row() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut csv = String::from("name,email\n");
    for i in 0..150 {
        csv.push_str(&format!("Person {i},p{i}@bulk-import.test\n"));
    }
    csv.push_str("Twice,P7@bulk-import.test\nBroken,nope\n");
    let job = import(&s, &acme, csv).await.ok(202).clone();
    assert_eq!((job["kind"].clone(), job["status"].clone()), (json!("import_users"), json!("queued")));
    let id = job["id"].as_str().unwrap().to_owned();
    let done = finish(&s, &services, &acme, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"], json!({ "created": 150, "skipped_duplicate_row": 1, "invalid": 1 }));
    let lines = results(&s, &acme, &id).await;
    assert_eq!(lines.len(), 152, "every row, once, in order");
    assert!(lines.iter().enumerate().all(|(i, l)| l["index"] == i as u64));
    assert_eq!(lines[150]["detail"]["line"], 152);
    assert_eq!(lines[151]["outcome"], "invalid");
    let listed = s.get("/v1/users?source=import&limit=200", Some(&acme.token)).await.ok(200).clone();
    assert_eq!(listed["items"].as_array().unwrap().len(), 150);
    // The summary in the system log.
    let log = s.get("/v1/audit?action=user_import.finished", Some(&acme.token)).await.ok(200).clone();
    assert_eq!(log["items"][0]["content"]["created"], 150, "{log}");
    assert_eq!(
        s.call(Method::POST, &format!("/v1/jobs/{id}/cancel"), Some(&acme.token), None).await.problem(409),
        "job_finished"
    );
}

#[tokio::test]
async fn an_import_whose_runner_dies_mid_step_creates_everyone_once() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut csv = String::from("name,email\n");
    for i in 0..250 {
        csv.push_str(&format!("Person {i},p{i}@crash-import.test\n"));
    }
    let id = import(&s, &acme, csv).await.ok(202)["id"].as_str().unwrap().to_owned();
    // GIVEN runners that die after creating a person and before the step is saved: in the
    // second step, then again in the redone one.
    for fault in ["user_imported:130", "user_imported:20"] {
        let status = runner_process(&acme, &id, Some(fault)).wait().await.unwrap();
        assert!(!status.success(), "the runner died at {fault}");
        expire_lease(&s, &acme, &id).await;
    }
    // WHEN another runner finishes the job
    let done = finish(&s, &services, &acme, &id).await;
    // THEN everyone is there once, each row's result names its person
    assert_eq!((done["status"].clone(), done["progress"].clone()), (json!("succeeded"), json!({ "created": 250 })));
    let lines = results(&s, &acme, &id).await;
    let numbers: Vec<u64> = lines.iter().map(|l| l["detail"]["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (2..252).collect::<Vec<_>>(), "every row once, in order");
    assert!(lines.iter().all(|l| l["outcome"] == "created"), "a redone row finds the person it made");
    let made: std::collections::HashSet<&str> =
        lines.iter().map(|l| l["detail"]["user_id"].as_str().unwrap()).collect();
    let (mut listed, mut cursor) = (std::collections::HashSet::new(), None::<String>);
    loop {
        let path = format!("/v1/users?limit=100{}", cursor.map(|c| format!("&cursor={c}")).unwrap_or_default());
        let page = s.get(&path, Some(&acme.token)).await.ok(200).clone();
        listed.extend(page["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(listed.len(), 250, "nobody twice");
    assert!(made.iter().all(|u| listed.contains(*u)));
}

/// The ids of everyone a preview lists, page by page, with what it would do.
async fn preview(s: &Stack, acme: &Account, org: &str, domain: &str) -> Vec<(String, String)> {
    let (mut out, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let mut path = format!("/v1/organizations/{org}/domains/{domain}/remap?preview=true&limit=200");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = s.call(Method::POST, &path, Some(&acme.token), None).await.ok(200).clone();
        for i in page["items"].as_array().unwrap() {
            out.push((i["user"]["id"].as_str().unwrap().to_owned(), i["change"].as_str().unwrap().to_owned()));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                out.sort();
                return out;
            }
        }
    }
}

async fn member_ids(s: &Stack, acme: &Account, org: &str) -> Vec<String> {
    let (mut out, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/organizations/{org}/members?limit=200&cursor={c}"),
            None => format!("/v1/organizations/{org}/members?limit=200"),
        };
        let page = s.get(&path, Some(&acme.token)).await.ok(200).clone();
        out.extend(page["items"].as_array().unwrap().iter().map(|m| m["user"]["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                out.sort();
                return out;
            }
        }
    }
}

async fn remap(s: &Stack, services: &Services, acme: &Account, org: &str, domain: &str, interrupted: bool) -> Value {
    let path = format!("/v1/organizations/{org}/domains/{domain}/remap");
    let job = s.call(Method::POST, &path, Some(&acme.token), None).await.ok(202).clone();
    let id = job["id"].as_str().unwrap();
    if interrupted {
        // One step, then the runner is gone: the next one resumes from the checkpoint.
        let stored = services
            .store
            .get_job(roster::domain::ids::AccountId::parse(&acme.id), roster::domain::ids::JobId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        roster::jobs::run_one_step(services, &stored).await.unwrap();
        let now = s.get(&format!("/v1/jobs/{id}"), Some(&acme.token)).await.ok(200).clone();
        assert_eq!(now["status"], "running", "stopped part way: {now}");
    }
    finish(s, services, acme, id).await
}

#[tokio::test]
async fn a_remap_links_exactly_the_domains_people_and_resumes_where_it_stopped() {
    let _heavy = heavy_load().await;
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    // An account of 20,000 people, 500 of them at the domain. Imported first (while no
    // organization claims their domains): the domain's people, a subdomain's, and a few others.
    let mut csv = String::from("name,email\n");
    for i in 0..500 {
        csv.push_str(&format!("In {i},p{i}@acme-remap.test\n"));
    }
    for i in 0..40 {
        csv.push_str(&format!("Eu {i},e{i}@eu.acme-remap.test\n"));
    }
    for i in 0..100 {
        csv.push_str(&format!("Out {i},o{i}@acme-remapped{}.test\n", i % 7));
    }
    let job = import(&s, &acme, csv).await.ok(202).clone();
    let done = finish(&s, &services, &acme, job["id"].as_str().unwrap()).await;
    assert_eq!(done["progress"]["created"], 640, "{done}");
    // The rest written in batches: elsewhere, and at names that only look like the domain.
    let lookalikes = ["xacme-remap.test", "acme-remap.testing", "acme-remap.test.example", "remap.test"];
    s.seed_users(&acme, 19_360, |i| format!("q{i}@{}", lookalikes.get(i % 5).unwrap_or(&"elsewhere.test"))).await;
    let acme_org = created(&s, &acme, "/v1/organizations", json!({ "name": "Acme" })).await;
    let eu_org = created(&s, &acme, "/v1/organizations", json!({ "name": "Acme EU" })).await;
    let claim = |o: &str, d: &str| format!("/v1/organizations/{o}/domains/{d}");
    s.call(Method::PUT, &claim(&acme_org, "acme-remap.test"), Some(&acme.token), None).await.ok(200);
    s.call(Method::PUT, &claim(&eu_org, "eu.acme-remap.test"), Some(&acme.token), None).await.ok(200);

    // The preview lists exactly the 500 (the EU people go to the more specific domain's).
    let planned = preview(&s, &acme, &acme_org, "acme-remap.test").await;
    assert_eq!(planned.len(), 500);
    assert!(planned.iter().all(|(_, c)| c == "link"));
    assert!(member_ids(&s, &acme, &acme_org).await.is_empty(), "a preview changes nothing");

    // Applied with an interruption: exactly those, once.
    let done = remap(&s, &services, &acme, &acme_org, "acme-remap.test", true).await;
    assert_eq!(
        (done["status"].clone(), done["progress"]["linked"].clone()),
        (json!("succeeded"), json!(500)),
        "{done}"
    );
    let ids: Vec<String> = planned.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(member_ids(&s, &acme, &acme_org).await, ids);
    // Again: nothing to do.
    let again = remap(&s, &services, &acme, &acme_org, "acme-remap.test", false).await;
    assert_eq!((again["progress"]["linked"].clone(), again["progress"]["unlinked"].clone()), (json!(0), json!(0)));
    assert_eq!(member_ids(&s, &acme, &acme_org).await.len(), 500);
    let eu = remap(&s, &services, &acme, &eu_org, "eu.acme-remap.test", false).await;
    assert_eq!(eu["progress"]["linked"], 40);

    // The domain goes: a re-map unlinks whom the domain linked, never whom a person linked.
    let kept = &ids[0];
    let by_hand = format!("/v1/organizations/{acme_org}/members/{kept}");
    s.call(Method::PUT, &by_hand, Some(&acme.token), Some(json!({ "role": "manager" }))).await.ok(200);
    s.call(Method::DELETE, &claim(&acme_org, "acme-remap.test"), Some(&acme.token), None).await.ok(200);
    let planned = preview(&s, &acme, &acme_org, "acme-remap.test").await;
    assert_eq!(planned.len(), 499);
    assert!(planned.iter().all(|(id, c)| c == "unlink" && id != kept));
    let done = remap(&s, &services, &acme, &acme_org, "acme-remap.test", true).await;
    assert_eq!(done["progress"]["unlinked"], 499);
    assert_eq!(member_ids(&s, &acme, &acme_org).await, std::slice::from_ref(kept));
    let log = s.get("/v1/audit?action=organization.domain_remapped", Some(&acme.token)).await.ok(200).clone();
    assert_eq!(log["items"].as_array().unwrap().len(), 3, "one summary per re-map that changed something");

    // Bad input changes nothing.
    let bad = s
        .call(Method::POST, &format!("/v1/organizations/{acme_org}/domains/-bad-/remap"), Some(&acme.token), None)
        .await;
    assert_eq!(bad.problem(422), "validation_failed");
}
