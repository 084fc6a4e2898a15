//! The system log (issue 5, SPEC §8): newest first, filtered, paged, exported, per account.
use reqwest::Method;
use roster_tests::*;
use serde_json::{Value, json};
use std::time::Duration;

fn actions(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_system_log_is_read_newest_first_by_time_actor_action_target_and_category() {
    let s = stack().await;
    let acme = s.account().await;
    let w = &acme.web_address;
    let a = s.invite(&acme, &format!("a@{w}.test"), "agent").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let middle = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b =
        s.invite(&acme, &format!("b@{w}.test"), "viewer").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    let deleted =
        s.json(Method::DELETE, &format!("/v1/members/{b}"), &acme.token, Some(json!({ "memo": "left" })), None).await;
    assert_eq!(deleted.status, 204);
    s.json(Method::DELETE, &format!("/v1/invitations/{a}"), &acme.token, None, None).await;

    let all = s.get("/v1/audit?limit=200", Some(&acme.token)).await;
    let everything = actions(all.ok(200));
    assert_eq!(everything.first().map(String::as_str), Some("invitation.cancelled"), "{everything:?}");
    assert_eq!(everything.last().map(String::as_str), Some("account.created"));
    let times: Vec<&str> = all.body["items"].as_array().unwrap().iter().map(|e| e["at"].as_str().unwrap()).collect();
    let parsed: Vec<_> = times.iter().map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap()).collect();
    assert!(parsed.windows(2).all(|p| p[0] >= p[1]), "newest first: {times:?}");

    let q = |query: String| {
        let token = acme.token.clone();
        let s = &s;
        async move { s.get(&format!("/v1/audit?{query}"), Some(&token)).await }
    };
    let by_action = q("action=member.deleted".into()).await;
    assert_eq!(actions(by_action.ok(200)), ["member.deleted"]);
    assert_eq!(by_action.body["items"][0]["memo"], "left");
    assert_eq!(by_action.body["items"][0]["actor"]["id"], acme.owner_id.as_str());
    let prefix = q("action=invitation.".into()).await;
    assert_eq!(actions(prefix.ok(200)), ["invitation.cancelled", "invitation.created", "invitation.created"]);
    let system_log = q("category=system_log".into()).await;
    assert_eq!(actions(system_log.ok(200)), ["invitation.cancelled", "member.deleted"]);
    let target = q(format!("target_id={b}")).await;
    assert_eq!(actions(target.ok(200)), ["member.deleted", "invitation.created"]);
    let since = q(format!("from={middle}")).await;
    assert_eq!(actions(since.ok(200)), ["invitation.cancelled", "member.deleted", "invitation.created"]);
    let until = q(format!("to={middle}&action=invitation.created")).await;
    assert_eq!(until.ok(200)["items"][0]["target_id"], a.as_str());
    let by_actor = q(format!("actor={}&limit=200", acme.owner_id)).await;
    assert_eq!(actions(by_actor.ok(200)).len(), everything.len());

    // Pages of two hold every entry once, in the same order.
    let (mut paged, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page = q(match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".into(),
        })
        .await;
        paged.extend(actions(page.ok(200)));
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(paged, everything);

    // The export holds the same entries.
    let csv = s.get("/v1/audit/export.csv", Some(&acme.token)).await;
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "id,at,actor_kind,actor_id,actor_name,action,target_type,target_id,memo,content");
    assert_eq!(lines.len(), everything.len() + 1);
}

#[tokio::test]
async fn the_system_log_refuses_bad_queries_and_shows_only_the_callers_account() {
    let s = stack().await;
    let (acme, globex) = (s.account().await, s.account().await);
    let bad = s.get("/v1/audit?from=yesterday", Some(&acme.token)).await;
    assert_eq!(bad.problem(400), "invalid_query");
    let reversed = s.get("/v1/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", Some(&acme.token)).await;
    // Nothing lies between a later `from` and an earlier `to`: an empty page, not an error.
    assert_eq!(reversed.ok(200)["items"], json!([]));
    let page = s.get("/v1/audit?limit=1", Some(&globex.token)).await;
    let cursor = page.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    let foreign = s.get(&format!("/v1/audit?cursor={cursor}"), Some(&acme.token)).await;
    assert_eq!(foreign.problem(404), "unknown_reference");
    let mine = s.get("/v1/audit?limit=200", Some(&acme.token)).await;
    let targets: Vec<&str> =
        mine.ok(200)["items"].as_array().unwrap().iter().map(|e| e["target_id"].as_str().unwrap()).collect();
    assert!(targets.contains(&acme.id.as_str()) && !targets.contains(&globex.id.as_str()), "{targets:?}");
}

/// Issue 10: a selective filter reads a bounded number of query pages per request — over 1,050
/// newer entries that do not match, the first answer is an empty page with a cursor, and
/// following the cursors finds the one entry that matches.
#[tokio::test]
async fn a_selective_filter_answers_partial_pages_with_a_cursor() {
    let _load = heavy_load().await;
    use futures::stream::{self, StreamExt};
    let s = stack().await;
    let acme = s.account().await;
    s.post("/v1/api-keys", Some(&acme.token), json!({ "name": "rare", "scopes": ["members_read"] })).await.ok(201);
    let created: Vec<u16> = stream::iter(0..1050)
        .map(|i| {
            let (s, token) = (&s, acme.token.as_str());
            async move {
                s.post("/v1/roles", Some(token), json!({ "name": format!("Filler {i}"), "permissions": [] }))
                    .await
                    .status
                    .as_u16()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(created.iter().all(|c| *c == 201));

    let first = s.get("/v1/audit?action=api_key.created&limit=10", Some(&acme.token)).await.ok(200).clone();
    assert_eq!(first["items"], json!([]), "{first}");
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    let (mut found, mut requests) = (Vec::new(), 1);
    while let Some(c) = cursor {
        let page = s.get(&format!("/v1/audit?action=api_key.created&limit=10&cursor={c}"), Some(&acme.token)).await;
        let page = page.ok(200).clone();
        found.extend(actions(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        requests += 1;
        assert!(requests < 10, "the cursor never ends");
    }
    assert_eq!(found, ["api_key.created"]);
}
