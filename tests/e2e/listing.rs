//! Listing members with cursor pagination.
use roster_tests::*;
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
