//! Listing members with cursor pagination.
use roster_tests::*;
use serde_json::json;
use std::collections::HashSet;

#[tokio::test]
async fn every_member_appears_exactly_once_across_pages() {
    let s = stack().await;
    let acme = s.account().await;
    let mut expected: HashSet<String> = HashSet::from([acme.owner_id.clone()]);
    for i in 0..7 {
        let r = s.invite(&acme, &format!("m{i}@{}.test", acme.web_address), "viewer").await;
        expected.insert(r.ok(201)["member"]["id"].as_str().unwrap().to_owned());
    }
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/members?limit=3&cursor={c}"),
            None => "/v1/members?limit=3".to_owned(),
        };
        let page = s.get(&path, Some(&acme.token)).await;
        let body = page.ok(200);
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        assert!(items.iter().all(|m| m.get("password_hash").is_none()));
        seen.extend(items.iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        pages += 1;
        cursor = body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
        // An edited cursor is refused.
        let c = cursor.clone().unwrap();
        let tampered = format!("{}x{}", &c[..5], &c[6..]);
        assert!(s.get(&format!("/v1/members?cursor={tampered}"), Some(&acme.token)).await.status.is_client_error());
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), expected);
    assert!(pages >= 3);
}

/// 2,000 members, created through the store (the same code the invite endpoint runs, against
/// the local DynamoDB) so the test does not send 2,000 emails; then listed over HTTP.
#[tokio::test]
async fn two_thousand_members_page_and_search_without_loss_or_duplicates() {
    let _load = heavy_load().await;
    use roster::domain::permissions::BasicRole;
    let s = stack().await;
    let acme = s.account().await;
    let created = s
        .seed_members(&acme, 2000, |i, m| {
            if i % 50 == 0 {
                m.first_name = "Quincy".into();
            }
            if i % 3 == 0 {
                m.role = BasicRole::Viewer.into();
            }
            if i == 1999 {
                m.first_name = "Zelda".into();
            }
        })
        .await;

    // Every member exactly once across pages of 200 (plus the owner).
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/members?limit=200&cursor={c}"),
            None => "/v1/members?limit=200".to_owned(),
        };
        let page = s.get(&path, Some(&acme.token)).await;
        let body = page.ok(200);
        seen.extend(body["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        cursor = body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 2001);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 2001, "a member appeared twice");
    assert!(created.iter().all(|id| unique.contains(id)));

    // A search that matches 40 of 2,000, paged by 7, finds exactly those.
    let mut found = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/members?q=quin&limit=7&cursor={c}"),
            None => "/v1/members?q=quin&limit=7".to_owned(),
        };
        let body = s.get(&path, Some(&acme.token)).await.ok(200).clone();
        for m in body["items"].as_array().unwrap() {
            assert_eq!(m["first_name"], "Quincy");
            assert!(found.insert(m["id"].as_str().unwrap().to_owned()), "duplicate in search");
        }
        cursor = body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(found.len(), 40);

    // A search matching only the newest member reads a bounded number of pages per request: the
    // first answer is empty but carries a cursor, and following it finds her (issue 10).
    let first = s.get("/v1/members?q=zelda&limit=5", Some(&acme.token)).await.ok(200).clone();
    assert_eq!(first["items"], json!([]), "{first}");
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    let mut zeldas = 0;
    let mut requests = 1;
    while let Some(c) = cursor {
        let body = s.get(&format!("/v1/members?q=zelda&limit=5&cursor={c}"), Some(&acme.token)).await.ok(200).clone();
        zeldas += body["items"].as_array().unwrap().len();
        cursor = body["next_cursor"].as_str().map(str::to_owned);
        requests += 1;
        assert!(requests < 10, "the cursor never ends");
    }
    assert_eq!(zeldas, 1);
    let stats = s.get("/v1/members/stats", Some(&acme.token)).await;
    assert_eq!(stats.ok(200)["invited"], 2000);
}
