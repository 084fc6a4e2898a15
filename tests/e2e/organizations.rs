//! Customer organizations (issue 12, SPEC §5): settings, the hierarchy and its invariants under
//! concurrency, email domains and the one matching rule, over HTTP against the real stack.
use futures::future::join_all;
use reqwest::Method;
use roster_tests::*;
use serde_json::{Value, json};

async fn org(s: &Stack, acme: &Account, name: &str, parent: Option<&str>) -> String {
    let r = s.post("/v1/organizations", Some(&acme.token), json!({ "name": name, "parent_id": parent })).await;
    r.ok(201)["id"].as_str().unwrap().to_owned()
}

async fn read(s: &Stack, acme: &Account, id: &str) -> Value {
    s.get(&format!("/v1/organizations/{id}"), Some(&acme.token)).await.ok(200).clone()
}

async fn move_to(s: &Stack, acme: &Account, id: &str, parent: Option<&str>) -> Response {
    s.call(
        Method::PUT,
        &format!("/v1/organizations/{id}/parent"),
        Some(&acme.token),
        Some(json!({ "parent_id": parent })),
    )
    .await
}

async fn claim(s: &Stack, acme: &Account, id: &str, domain: &str) -> Response {
    s.call(Method::PUT, &format!("/v1/organizations/{id}/domains/{domain}"), Some(&acme.token), None).await
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn settings_contact_information_names_and_etags() {
    let s = stack().await;
    let acme = s.account().await;
    let body = json!({
        "name": "  Acme   Corp ",
        "summary": "Our biggest customer.\nSince 2019.",
        "contact": {
            "phones": ["+1 555 0100 12"],
            "emails": ["Help@Acme.com"],
            "social": [{ "network": "linkedin", "handle": "acme-corp" }],
            "website": "https://acme.com",
            "address": "1 Main St\nSpringfield"
        }
    });
    let created = s.post("/v1/organizations", Some(&acme.token), body).await;
    let o = created.ok(201).clone();
    let id = o["id"].as_str().unwrap();
    assert_eq!(o["name"], "Acme   Corp", "trimmed, inner spacing kept");
    assert_eq!(o["contact"]["emails"], json!(["help@acme.com"]));
    assert_eq!(o["contact"]["social"][0]["network"], "linkedin");
    assert_eq!(o["parent_id"], Value::Null);
    assert!(o["created_at"].is_string());
    let etag = created.etag.clone().unwrap();

    // Names are unique ignoring case and spacing.
    let again = s.post("/v1/organizations", Some(&acme.token), json!({ "name": "acme corp" })).await;
    assert_eq!(again.problem(409), "organization_name_taken");

    // Every bad field is named; nothing is written.
    let before = s.partition_count(&acme.id).await;
    let bad = s
        .post(
            "/v1/organizations",
            Some(&acme.token),
            json!({ "name": "Bad", "contact": { "phones": ["call me"], "emails": ["nobody"], "website": "javascript:x" } }),
        )
        .await;
    assert_eq!(bad.problem(422), "validation_failed");
    let fields: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["contact.phones[0]", "contact.emails[0]", "contact.website"]);
    assert_eq!(s.partition_count(&acme.id).await, before);

    // If-Match: the current version changes it, a stale one is refused.
    let path = format!("/v1/organizations/{id}");
    let req = s.http.patch(format!("{}{path}", s.api)).bearer_auth(&acme.token).header("if-match", &etag);
    let updated =
        s.send(req.json(&json!({ "name": "Acme Corporation", "contact": { "website": "http://acme.example" } }))).await;
    let u = updated.ok(200);
    assert_eq!(u["name"], "Acme Corporation");
    assert_eq!(u["contact"]["phones"], json!([]), "contact is replaced as a whole");
    let stale = s.http.patch(format!("{}{path}", s.api)).bearer_auth(&acme.token).header("if-match", &etag);
    assert_eq!(s.send(stale.json(&json!({ "summary": "lost update" }))).await.status, 412);
    assert_eq!(read(&s, &acme, id).await["summary"], "Our biggest customer.\nSince 2019.");
    // The old name is free again.
    org(&s, &acme, "Acme Corp", None).await;
}

#[tokio::test]
async fn organizations_list_by_name_with_prefix_search_and_pages() {
    let s = stack().await;
    let acme = s.account().await;
    for name in ["Beta", "alpha one", "Alpha Two", "Alphabet", "Gamma"] {
        org(&s, &acme, name, None).await;
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect()
    };
    let all = s.get("/v1/organizations", Some(&acme.token)).await;
    assert_eq!(names(all.ok(200)), ["alpha one", "Alpha Two", "Alphabet", "Beta", "Gamma"]);
    let alpha = s.get("/v1/organizations?q=ALPHA%20%20t", Some(&acme.token)).await;
    assert_eq!(names(alpha.ok(200)), ["Alpha Two"]);

    let first = s.get("/v1/organizations?q=alpha&limit=2", Some(&acme.token)).await;
    let first = first.ok(200).clone();
    assert_eq!(names(&first), ["alpha one", "Alpha Two"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = s.get(&format!("/v1/organizations?q=alpha&limit=2&cursor={cursor}"), Some(&acme.token)).await;
    let rest = rest.ok(200).clone();
    assert_eq!(names(&rest), ["Alphabet"]);
    assert!(rest["next_cursor"].is_null());

    // Another account sees none of them; a cursor of this list means nothing to another list.
    let other = s.account().await;
    assert_eq!(names(s.get("/v1/organizations", Some(&other.token)).await.ok(200)), Vec::<String>::new());
    let elsewhere = s.get(&format!("/v1/organizations?cursor={cursor}"), Some(&other.token)).await;
    assert_eq!(elsewhere.problem(404), "unknown_reference");
    assert_eq!(elsewhere.body["errors"][0]["code"], "unknown_cursor");
    let id = org(&s, &acme, "Parent", None).await;
    let children = s.get(&format!("/v1/organizations/{id}/children?cursor={cursor}"), Some(&acme.token)).await;
    assert_eq!(children.problem(404), "unknown_reference");
}

#[tokio::test]
async fn the_hierarchy_refuses_cycles_and_an_eleventh_level_and_moves_whole_subtrees() {
    let s = stack().await;
    let acme = s.account().await;
    // A chain of ten levels: the limit.
    let mut chain: Vec<String> = Vec::new();
    for level in 1..=10 {
        let id = org(&s, &acme, &format!("Level {level}"), chain.last().map(String::as_str)).await;
        chain.push(id);
    }
    let deepest = read(&s, &acme, &chain[9]).await;
    assert_eq!(ids(&deepest["ancestors"]), chain[..9]);
    let eleventh =
        s.post("/v1/organizations", Some(&acme.token), json!({ "name": "Level 11", "parent_id": chain[9] })).await;
    assert_eq!(eleventh.problem(422), "validation_failed");
    assert_eq!(eleventh.body["errors"][0]["code"], "too_deep");

    // Under itself, under its child, five levels down: cycles.
    for below in [0, 1, 5] {
        let r = move_to(&s, &acme, &chain[0], Some(&chain[below])).await;
        assert_eq!(r.problem(422), "validation_failed", "under level {}", below + 1);
        assert_eq!(r.body["errors"][0]["code"], "cycle");
    }
    // A two-level subtree does not fit under level 9; the whole subtree counts.
    let other = org(&s, &acme, "Other", None).await;
    org(&s, &acme, "Other child", Some(&other)).await;
    assert_eq!(move_to(&s, &acme, &other, Some(&chain[8])).await.body["errors"][0]["code"], "too_deep");
    move_to(&s, &acme, &other, Some(&chain[7])).await.ok(200);

    // Moving level 3 to the top takes levels 4–10 along, their ancestors rewritten.
    let moved = move_to(&s, &acme, &chain[2], None).await;
    assert_eq!(moved.ok(200)["ancestors"], json!([]));
    let deepest = read(&s, &acme, &chain[9]).await;
    assert_eq!(ids(&deepest["ancestors"]), chain[2..9]);
    assert_eq!(read(&s, &acme, &chain[1]).await["children"], 0);
    // …so level 2 can now hold a new chain below it again.
    move_to(&s, &acme, &chain[2], Some(&chain[1])).await.ok(200);
    assert_eq!(read(&s, &acme, &chain[9]).await["ancestors"].as_array().unwrap().len(), 9);

    let kids = s.get(&format!("/v1/organizations/{}/children", chain[7]), Some(&acme.token)).await;
    let kids: Vec<&str> = kids.ok(200)["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(kids, [chain[8].as_str(), other.as_str()]);
    let unknown = move_to(&s, &acme, &chain[0], Some("01a20000000070008000000000000000")).await;
    assert_eq!(unknown.problem(404), "unknown_reference");
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_organization");
}

#[tokio::test]
async fn two_concurrent_moves_that_together_close_a_cycle_never_leave_one() {
    let s = stack().await;
    let acme = s.account().await;
    for round in 0..12 {
        let a = org(&s, &acme, &format!("A{round}"), None).await;
        let b = org(&s, &acme, &format!("B{round}"), None).await;
        // Deeper pairs too: A's child and B, each moved under the other.
        let a_child = org(&s, &acme, &format!("A{round} child"), Some(&a)).await;
        let x = if round % 2 == 0 { &a } else { &a_child };
        let answers = join_all([move_to(&s, &acme, x, Some(&b)), move_to(&s, &acme, &b, Some(x))]).await;
        let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "round {round}: exactly one move: {statuses:?}");
        assert!(statuses.contains(&422), "the other is a cycle: {statuses:?}");
        let (rx, rb) = (read(&s, &acme, x).await, read(&s, &acme, &b).await);
        let x_under_b = ids(&rx["ancestors"]).contains(&b);
        let b_under_x = ids(&rb["ancestors"]).contains(x);
        assert!(x_under_b != b_under_x, "round {round}: one of them moved, and no cycle: {rx} {rb}");
    }
}

#[tokio::test]
async fn an_organization_with_children_is_deleted_only_when_they_are_reparented() {
    let s = stack().await;
    let acme = s.account().await;
    let top = org(&s, &acme, "Top", None).await;
    let gone = org(&s, &acme, "Gone", Some(&top)).await;
    let kid = org(&s, &acme, "Kid", Some(&gone)).await;
    let grandkid = org(&s, &acme, "Grandkid", Some(&kid)).await;
    claim(&s, &acme, &gone, "gone-corp.test").await.ok(200);

    let refused = s.call(Method::DELETE, &format!("/v1/organizations/{gone}"), Some(&acme.token), None).await;
    assert_eq!(refused.problem(409), "organization_has_children");
    let into_own = format!("/v1/organizations/{gone}?reparent_to={grandkid}");
    assert_eq!(s.call(Method::DELETE, &into_own, Some(&acme.token), None).await.problem(422), "validation_failed");

    let path = format!("/v1/organizations/{gone}?reparent_to={top}");
    assert_eq!(s.call(Method::DELETE, &path, Some(&acme.token), None).await.status, 204);
    assert_eq!(s.get(&format!("/v1/organizations/{gone}"), Some(&acme.token)).await.status, 404);
    let kid_now = read(&s, &acme, &kid).await;
    assert_eq!(kid_now["parent_id"], top.as_str());
    assert_eq!(ids(&read(&s, &acme, &grandkid).await["ancestors"]), [top.clone(), kid.clone()]);
    assert_eq!(read(&s, &acme, &top).await["children"], 1);
    // Its name and domain are free again.
    let again = org(&s, &acme, "Gone", None).await;
    claim(&s, &acme, &again, "gone-corp.test").await.ok(200);
    assert!(s.audit_actions(&acme.id).await.contains(&"organization.deleted".to_owned()));

    // To the top level.
    let root_path = format!("/v1/organizations/{top}?reparent_to=root");
    assert_eq!(s.call(Method::DELETE, &root_path, Some(&acme.token), None).await.status, 204);
    assert_eq!(read(&s, &acme, &kid).await["ancestors"], json!([]));
    assert_eq!(read(&s, &acme, &grandkid).await["ancestors"], json!([kid]));
}

#[tokio::test]
async fn domains_have_one_spelling_one_owner_and_public_ones_need_force() {
    let s = stack().await;
    let acme = s.account().await;
    let (books, other) = (org(&s, &acme, "Books", None).await, org(&s, &acme, "Other", None).await);

    let added = claim(&s, &acme, &books, "B%C3%BCcher.Example.").await;
    assert_eq!(added.ok(200)["domains"], json!([{ "domain": "xn--bcher-kva.example", "display": "bücher.example" }]));
    assert_eq!(claim(&s, &acme, &books, "xn--bcher-kva.example").await.ok(200)["domains"].as_array().unwrap().len(), 1);
    assert_eq!(claim(&s, &acme, &other, "XN--BCHER-KVA.example").await.problem(409), "domain_taken");

    let public = claim(&s, &acme, &other, "Gmail.com").await;
    assert_eq!(public.problem(422), "validation_failed");
    assert_eq!(public.body["errors"][0]["code"], "public_domain");
    let forced = s
        .call(Method::PUT, &format!("/v1/organizations/{other}/domains/gmail.com?force=true"), Some(&acme.token), None)
        .await;
    assert_eq!(forced.ok(200)["domains"][0]["domain"], "gmail.com");
    for bad in ["localhost", "a..b", "-x.com", "127.0.0.1", "x%40y.com"] {
        assert_eq!(claim(&s, &acme, &other, bad).await.status, 422, "{bad}");
    }

    // Released, it can be claimed by another organization; releasing it twice is a 404.
    let path = format!("/v1/organizations/{books}/domains/b%C3%BCcher.example");
    assert_eq!(s.call(Method::DELETE, &path, Some(&acme.token), None).await.ok(200)["domains"], json!([]));
    assert_eq!(s.call(Method::DELETE, &path, Some(&acme.token), None).await.status, 404);
    claim(&s, &acme, &other, "bücher.example").await.ok(200);

    // Another account claims the same domain independently.
    let elsewhere = s.account().await;
    let theirs = org(&s, &elsewhere, "Books", None).await;
    claim(&s, &elsewhere, &theirs, "xn--bcher-kva.example").await.ok(200);
}

#[tokio::test]
async fn twenty_concurrent_claims_of_one_domain_leave_exactly_one_owner() {
    let s = stack().await;
    let acme = s.account().await;
    let orgs = join_all((0..20).map(|i| {
        let (s, acme) = (&s, &acme);
        async move { org(s, acme, &format!("Claimant {i}"), None).await }
    }))
    .await;
    let answers = join_all(orgs.iter().map(|o| claim(&s, &acme, o, "contested.test"))).await;
    let won: Vec<usize> = (0..20).filter(|i| answers[*i].status == 200).collect();
    assert_eq!(won.len(), 1, "{:?}", answers.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>());
    assert!(answers.iter().filter(|r| r.status != 200).all(|r| r.problem(409) == "domain_taken"));
    let holders = join_all(orgs.iter().map(|o| read(&s, &acme, o))).await;
    assert_eq!(holders.iter().filter(|o| !o["domains"].as_array().unwrap().is_empty()).count(), 1);
}

#[tokio::test]
async fn an_address_links_to_the_most_specific_claimed_domain() {
    use roster::domain::email::Email;
    use roster::domain::ids::{AccountId, OrganizationId};
    let s = stack().await;
    let acme = s.account().await;
    let (root, eu) = (org(&s, &acme, "Acme", None).await, org(&s, &acme, "Acme EU", None).await);
    claim(&s, &acme, &root, "acme-corp.test").await.ok(200);
    claim(&s, &acme, &eu, "EU.acme-corp.test").await.ok(200);
    let services = roster::service::Services::from_env().await.unwrap();
    let account = AccountId::parse(&acme.id).unwrap();
    let matching = |address: &str| {
        let email = Email::parse("email", address).unwrap();
        let services = &services;
        async move { roster::service::organizations::matching(services, account, &email).await.unwrap() }
    };
    let (root, eu) = (OrganizationId::parse(&root), OrganizationId::parse(&eu));
    assert_eq!(matching("ann@acme-corp.test").await, root);
    assert_eq!(matching("Ann@Paris.EU.Acme-Corp.test").await, eu, "below the more specific one");
    assert_eq!(matching("bob@eu.acme-corp.test").await, eu);
    assert_eq!(matching("carl@us.acme-corp.test").await, root);
    assert_eq!(matching("dora@notacme-corp.test").await, None, "a longer name is not a subdomain");
    assert_eq!(matching("eve@elsewhere.test").await, None);
    // In no other account.
    let other = AccountId::parse(&s.account().await.id).unwrap();
    let email = Email::parse("email", "ann@acme-corp.test").unwrap();
    assert_eq!(roster::service::organizations::matching(&services, other, &email).await.unwrap(), None);
}

#[tokio::test]
async fn an_organization_with_members_is_deleted_by_a_job_that_keeps_the_people() {
    let (s, services) = (stack().await, roster::service::Services::from_env().await.unwrap());
    let acme = s.account().await;
    let t = Some(acme.token.as_str());
    // GIVEN an organization with a child, a domain and 120 people (one also elsewhere)
    let doomed = org(&s, &acme, "Doomed", None).await;
    let kid = org(&s, &acme, "Doomed Kid", Some(&doomed)).await;
    let other = org(&s, &acme, "Other", None).await;
    claim(&s, &acme, &doomed, "doomed.test").await.ok(200);
    for chunk in (0..120).collect::<Vec<_>>().chunks(20) {
        join_all(chunk.iter().map(|i| {
            s.post("/v1/users", t, json!({ "name": format!("P {i}"), "emails": [format!("p{i}@doomed.test")] }))
        }))
        .await
        .iter()
        .for_each(|r| assert_eq!(r.status, 201, "{}", r.text));
    }
    let both = s.get("/v1/users?email=p7@", t).await.ok(200)["items"][0]["id"].as_str().unwrap().to_owned();
    s.call(Method::PUT, &format!("/v1/organizations/{other}/members/{both}"), t, Some(json!({}))).await.ok(200);
    let path = format!("/v1/organizations/{doomed}");

    // Refused without remove_members, or with children and nowhere to put them; nothing changes.
    let before = s.partition_count(&acme.id).await;
    let r = s.call(Method::DELETE, &format!("{path}?remove_members=true"), t, None).await;
    assert_eq!(r.problem(409), "organization_has_children");
    let r = s.call(Method::DELETE, &format!("{path}?reparent_to=root"), t, None).await;
    assert_eq!(r.problem(409), "organization_has_members");
    assert!(r.text.contains("remove_members=true"), "{}", r.text);
    assert_eq!(s.partition_count(&acme.id).await, before);

    // WHEN it is deleted with remove_members
    let r = s.call(Method::DELETE, &format!("{path}?remove_members=true&reparent_to=root"), t, None).await;
    let job = r.ok(202).clone();
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(r.header("location").as_deref(), Some(format!("/v1/jobs/{id}").as_str()));
    assert_eq!(job["kind"], "delete_organization");
    let done = run_jobs_until(&services, || async {
        let j = s.get(&format!("/v1/jobs/{id}"), t).await.ok(200).clone();
        matches!(j["status"].as_str(), Some("succeeded" | "failed")).then_some(j)
    })
    .await;
    // THEN it is gone, its child moved up, its domain free, and everyone is still there
    assert_eq!((done["status"].clone(), done["progress"].clone()), (json!("succeeded"), json!({ "removed": 120 })));
    assert_eq!(s.get(&path, t).await.problem(404), "not_found");
    assert_eq!(read(&s, &acme, &kid).await["parent_id"], Value::Null);
    let people = s.get("/v1/users?email=p&limit=200", t).await.ok(200).clone();
    let people = people["items"].as_array().unwrap();
    assert_eq!(people.len(), 120);
    for p in people {
        let kept: Vec<&str> =
            p["organizations"].as_array().unwrap().iter().map(|m| m["organization_id"].as_str().unwrap()).collect();
        let expected: Vec<&str> = if p["id"] == both.as_str() { vec![other.as_str()] } else { vec![] };
        assert_eq!(kept, expected, "{p}");
    }
    claim(&s, &acme, &other, "doomed.test").await.ok(200);
    let log = s.get("/v1/audit?action=organization.deleted", t).await.ok(200).clone();
    assert_eq!(log["items"][0]["target_id"], doomed.as_str(), "{log}");
}
