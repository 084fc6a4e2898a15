//! End users and their organizations (issue 12, SPEC §5): the one creation path with domain
//! linking, claims, memberships, listing, and the ticket-visibility check, over HTTP.
use reqwest::Method;
use roster_tests::*;
use serde_json::{Value, json};

async fn org(s: &Stack, acme: &Account, name: &str, parent: Option<&str>) -> String {
    let r = s.post("/v1/organizations", Some(&acme.token), json!({ "name": name, "parent_id": parent })).await;
    r.ok(201)["id"].as_str().unwrap().to_owned()
}

async fn user(s: &Stack, acme: &Account, name: &str, emails: &[&str]) -> Value {
    s.post("/v1/users", Some(&acme.token), json!({ "name": name, "emails": emails })).await.ok(201).clone()
}

async fn join(s: &Stack, acme: &Account, org: &str, user: &str, role: &str) -> Value {
    let path = format!("/v1/organizations/{org}/members/{user}");
    s.call(Method::PUT, &path, Some(&acme.token), Some(json!({ "role": role }))).await.ok(200).clone()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn orgs_of(u: &Value) -> Vec<(String, String, String)> {
    u["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let f = |k: &str| m[k].as_str().unwrap().to_owned();
            (f("organization_id"), f("role"), f("linked_by"))
        })
        .collect()
}

#[tokio::test]
async fn a_new_user_is_linked_by_the_most_specific_domain_of_their_primary_email() {
    let s = stack().await;
    let acme = s.account().await;
    let (corp, eu) = (org(&s, &acme, "Acme", None).await, org(&s, &acme, "Acme EU", None).await);
    for (o, d) in [(&corp, "acme-corp.test"), (&eu, "eu.acme-corp.test")] {
        s.call(Method::PUT, &format!("/v1/organizations/{o}/domains/{d}"), Some(&acme.token), None).await.ok(200);
    }
    let ann = user(&s, &acme, "Ann Lee", &["Ann@Paris.EU.acme-corp.test", "ann@home.test"]).await;
    assert_eq!(ann["emails"], json!(["ann@paris.eu.acme-corp.test", "ann@home.test"]));
    assert_eq!(ann["source"], "manual");
    assert_eq!(orgs_of(&ann), [(eu.clone(), "member".into(), "domain".into())]);
    let bob = user(&s, &acme, "Bob", &["bob@acme-corp.test"]).await;
    assert_eq!(orgs_of(&bob), [(corp.clone(), "member".into(), "domain".into())]);
    // Only the primary email links; an unclaimed domain links nowhere.
    let cy = user(&s, &acme, "Cy", &["cy@elsewhere.test", "cy@acme-corp.test"]).await;
    assert_eq!(orgs_of(&cy), []);

    // Asked for by hand, the domain's organization keeps the hand-made link (and its role).
    let body = json!({ "name": "Dee", "emails": ["dee@acme-corp.test"], "organizations": [
        { "organization_id": eu, "role": "member" },
        { "organization_id": corp, "role": "manager", "primary": true },
    ]});
    let dee = s.post("/v1/users", Some(&acme.token), body).await.ok(201).clone();
    assert_eq!(
        orgs_of(&dee),
        [(corp.clone(), "manager".into(), "hand".into()), (eu.clone(), "member".into(), "hand".into())]
    );
    let corp_now = s.get(&format!("/v1/organizations/{corp}"), Some(&acme.token)).await;
    assert_eq!(corp_now.ok(200)["members"], 2);
}

#[tokio::test]
async fn emails_are_unique_per_account_and_bad_input_changes_nothing() {
    let s = stack().await;
    let acme = s.account().await;
    let ann = user(&s, &acme, "Ann", &["ann@one.test"]).await;
    let before = s.partition_count(&acme.id).await;
    let taken = s
        .post("/v1/users", Some(&acme.token), json!({ "name": "Other Ann", "emails": ["x@one.test", "ANN@one.test"] }))
        .await;
    assert_eq!(taken.problem(409), "user_email_taken");
    for bad in [
        json!({ "name": "", "emails": ["a@b.test"] }),
        json!({ "name": "A", "emails": [] }),
        json!({ "name": "A", "emails": ["not an email"] }),
        json!({ "name": "A", "emails": ["a@b.test"], "phone": "call me" }),
        json!({ "name": "A", "emails": ["a@b.test"], "external_id": "has space" }),
        json!({ "name": "A", "emails": ["a@b.test"], "organizations": [{ "organization_id": "01a20000000070008000000000000000" }] }),
        json!({ "name": "A", "emails": "a@b.test" }),
    ] {
        let r = s.post("/v1/users", Some(&acme.token), bad.clone()).await;
        assert!(matches!(r.status.as_u16(), 404 | 422), "{bad}: {}", r.status);
    }
    assert_eq!(s.partition_count(&acme.id).await, before, "nothing written");
    // The same address in another account is another person.
    let other = s.account().await;
    user(&s, &other, "Ann", &["ann@one.test"]).await;

    // Changing emails moves the claims: the old address is free, the new one taken.
    let path = format!("/v1/users/{}", id(&ann));
    let req = s.http.patch(format!("{}{path}", s.api)).bearer_auth(&acme.token);
    let req = req.header("if-match", "\"v1\"").json(&json!({ "emails": ["ann@two.test"], "phone": "+1 555 0100 12" }));
    let changed = s.send(req).await;
    assert_eq!(changed.ok(200)["emails"], json!(["ann@two.test"]));
    let stale = s.http.patch(format!("{}{path}", s.api)).bearer_auth(&acme.token).header("if-match", "\"v1\"");
    assert_eq!(s.send(stale.json(&json!({ "name": "Lost" }))).await.status, 412);
    user(&s, &acme, "New Ann", &["ann@one.test"]).await;
    let dup = s.post("/v1/users", Some(&acme.token), json!({ "name": "X", "emails": ["ann@two.test"] })).await;
    assert_eq!(dup.problem(409), "user_email_taken");
    let cleared = s.call(Method::PATCH, &path, Some(&acme.token), Some(json!({ "phone": "" }))).await;
    assert_eq!(cleared.ok(200)["phone"], Value::Null);

    // Deleted, their addresses are free again.
    assert_eq!(s.call(Method::DELETE, &path, Some(&acme.token), None).await.status, 204);
    assert_eq!(s.get(&path, Some(&acme.token)).await.status, 404);
    user(&s, &acme, "Ann again", &["ann@two.test"]).await;
}

#[tokio::test]
async fn memberships_roles_and_an_organizations_people() {
    let s = stack().await;
    let acme = s.account().await;
    let o = org(&s, &acme, "Acme", None).await;
    let (ann, bob, cy) = (
        id(&user(&s, &acme, "Ann", &["ann@x.test"]).await),
        id(&user(&s, &acme, "Bob", &["bob@x.test"]).await),
        id(&user(&s, &acme, "Cy", &["cy@x.test"]).await),
    );
    join(&s, &acme, &o, &ann, "member").await;
    join(&s, &acme, &o, &bob, "member").await;
    join(&s, &acme, &o, &cy, "member").await;
    let promoted = join(&s, &acme, &o, &bob, "manager").await;
    assert_eq!(orgs_of(&promoted), [(o.clone(), "manager".into(), "hand".into())]);

    let people = |q: &str| {
        let (s, acme, o) = (&s, &acme, &o);
        let q = q.to_owned();
        async move {
            let r = s.get(&format!("/v1/organizations/{o}/members{q}"), Some(&acme.token)).await;
            r.ok(200).clone()
        }
    };
    let all = people("").await;
    let roles: Vec<(&str, &str)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user"]["name"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles[0], ("Bob", "manager"), "managers first");
    assert_eq!(roles.len(), 3);
    assert_eq!(people("?role=manager").await["items"].as_array().unwrap().len(), 1);
    let page = people("?role=member&limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let next = people(&format!("?role=member&limit=1&cursor={}", page["next_cursor"].as_str().unwrap())).await;
    assert_ne!(next["items"][0]["user"]["id"], page["items"][0]["user"]["id"]);

    // An organization with people is not deleted; without them it is.
    let del = s.call(Method::DELETE, &format!("/v1/organizations/{o}"), Some(&acme.token), None).await;
    assert_eq!(del.problem(409), "organization_has_members");
    for u in [&ann, &bob, &cy] {
        let path = format!("/v1/organizations/{o}/members/{u}");
        assert_eq!(s.call(Method::DELETE, &path, Some(&acme.token), None).await.ok(200)["organizations"], json!([]));
    }
    let gone = s.call(Method::DELETE, &format!("/v1/organizations/{o}/members/{ann}"), Some(&acme.token), None).await;
    assert_eq!(gone.status, 404);
    assert_eq!(s.call(Method::DELETE, &format!("/v1/organizations/{o}"), Some(&acme.token), None).await.status, 204);
    // Nobody is left linked to it.
    let ann_now = s.get(&format!("/v1/users/{ann}"), Some(&acme.token)).await;
    assert_eq!(ann_now.ok(200)["organizations"], json!([]));
}

#[tokio::test]
async fn users_are_found_by_name_email_organization_and_descendants_each_once() {
    let s = stack().await;
    let acme = s.account().await;
    let parent = org(&s, &acme, "Parent", None).await;
    let child = org(&s, &acme, "Child", Some(&parent)).await;
    let grandchild = org(&s, &acme, "Grandchild", Some(&child)).await;
    let mut ids = Vec::new();
    for (i, name) in ["Alice Archer", "Albert Ames", "Bea Brown", "Carl Cole"].iter().enumerate() {
        ids.push(id(&user(&s, &acme, name, &[&format!("user{i}@list.test")]).await));
    }
    join(&s, &acme, &parent, &ids[0], "member").await;
    join(&s, &acme, &child, &ids[1], "member").await;
    join(&s, &acme, &grandchild, &ids[2], "member").await;
    // In two organizations of the subtree: listed once.
    join(&s, &acme, &child, &ids[0], "member").await;

    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> =
            v["items"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_owned()).collect();
        n.sort();
        n
    };
    let get = |q: String| {
        let (s, acme) = (&s, &acme);
        async move { s.get(&format!("/v1/users{q}"), Some(&acme.token)).await.ok(200).clone() }
    };
    assert_eq!(names(&get("?email=USER1%40".into()).await), ["Albert Ames"]);
    assert_eq!(names(&get(format!("?organization={parent}")).await), ["Alice Archer"]);
    let everyone = get(format!("?organization={parent}&descendants=true")).await;
    assert_eq!(names(&everyone), ["Albert Ames", "Alice Archer", "Bea Brown"]);
    assert_eq!(
        names(&get(format!("?organization={child}&descendants=true&q=al")).await),
        ["Albert Ames", "Alice Archer"]
    );
    assert_eq!(names(&get("?source=directory".into()).await), Vec::<String>::new());
    assert_eq!(names(&get("".into()).await).len(), 4);

    // Page by page through the subtree: every person once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let c = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = get(format!("?organization={parent}&descendants=true&limit=1{c}")).await;
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["Albert Ames", "Alice Archer", "Bea Brown"]);

    // Both: by email, and the name must match too.
    assert_eq!(names(&get("?email=user&q=b".into()).await), ["Bea Brown"]);
}

#[tokio::test]
async fn can_view_tickets_of_follows_managers_and_the_hierarchy_setting() {
    let s = stack().await;
    let acme = s.account().await;
    let parent = org(&s, &acme, "Parent", None).await;
    let child = org(&s, &acme, "Child", Some(&parent)).await;
    let sibling = org(&s, &acme, "Sibling", None).await;
    let u = |name: &'static str| {
        let (s, acme) = (&s, &acme);
        async move { id(&user(s, acme, name, &[&format!("{}@view.test", name.to_lowercase())]).await) }
    };
    let (boss, child_boss, worker, child_worker, stranger) =
        (u("Boss").await, u("ChildBoss").await, u("Worker").await, u("ChildWorker").await, u("Stranger").await);
    join(&s, &acme, &parent, &boss, "manager").await;
    join(&s, &acme, &child, &child_boss, "manager").await;
    join(&s, &acme, &parent, &worker, "member").await;
    join(&s, &acme, &child, &child_worker, "member").await;
    join(&s, &acme, &sibling, &stranger, "member").await;

    let check = |a: String, b: String| {
        let (s, acme) = (&s, &acme);
        async move {
            let r = s.get(&format!("/v1/users/{a}/can-view-tickets-of/{b}"), Some(&acme.token)).await;
            let v = r.ok(200);
            (v["allowed"].as_bool().unwrap(), v["reason"].as_str().map(str::to_owned))
        }
    };
    let table = [
        (&worker, &worker, (true, Some("same_user"))),
        (&boss, &worker, (true, Some("manager"))),
        (&worker, &boss, (false, None)),
        (&worker, &child_worker, (false, None)),
        (&boss, &child_worker, (false, None)),
        (&child_boss, &child_worker, (true, Some("manager"))),
        (&child_boss, &worker, (false, None)),
        (&boss, &stranger, (false, None)),
    ];
    for (a, b, want) in &table {
        let got = check((*a).clone(), (*b).clone()).await;
        assert_eq!((got.0, got.1.as_deref()), *want, "{a} → {b}");
    }
    // With the hierarchy setting on, the parent's manager sees the child's people too — never
    // the other way round.
    let prefs = s
        .call(
            Method::PATCH,
            "/v1/account/preferences",
            Some(&acme.token),
            Some(json!({ "managers_see_child_organizations": true })),
        )
        .await;
    assert_eq!(prefs.ok(200)["managers_see_child_organizations"], true);
    assert_eq!(check(boss.clone(), child_worker.clone()).await, (true, Some("manager_of_ancestor".into())));
    assert_eq!(check(child_boss.clone(), worker.clone()).await, (false, None));
    // A membership removed takes the right with it.
    s.call(Method::DELETE, &format!("/v1/organizations/{parent}/members/{worker}"), Some(&acme.token), None)
        .await
        .ok(200);
    assert_eq!(check(boss.clone(), worker.clone()).await, (false, None));
    // Users of another account are not found.
    let other = s.account().await;
    let theirs = id(&user(&s, &other, "Theirs", &["theirs@view.test"]).await);
    let r = s.get(&format!("/v1/users/{boss}/can-view-tickets-of/{theirs}"), Some(&acme.token)).await;
    assert_eq!(r.status, 404);
}
