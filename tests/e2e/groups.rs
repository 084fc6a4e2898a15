//! Groups and round-robin assignment (issue 4, SPEC §4), over HTTP against the real stack.
use futures::stream::{self, StreamExt};
use reqwest::Method;
use roster_tests::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

async fn group(s: &Stack, acme: &Account, name: &str, auto: bool) -> String {
    let g = s.post("/v1/groups", Some(&acme.token), json!({ "name": name, "auto_assign": auto })).await;
    g.ok(201)["id"].as_str().unwrap().to_owned()
}

async fn add(s: &Stack, acme: &Account, gid: &str, ids: &[String]) -> Value {
    let r = s.post(&format!("/v1/groups/{gid}/members"), Some(&acme.token), json!({ "add": ids })).await;
    r.ok(200).clone()
}

/// `n` active agents (invited and accepted through the page).
async fn agents(s: &Stack, acme: &Account, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let (id, token, _) = s.active_member(acme, &format!("agent{i}@{}.test", acme.web_address), "agent").await;
        out.push((id, token));
    }
    out
}

/// `total` assignments, `concurrency` at a time, each with its own ref: who got how many.
async fn assign_many(s: &Stack, acme: &Account, gid: &str, prefix: &str, total: usize) -> HashMap<String, usize> {
    let path = format!("/v1/groups/{gid}/assignments");
    // Fairness is the point here, not latency (that is benchmarked): a request may queue behind
    // the others for its group and behind other tests at the shared stand-in.
    let url = format!("{}{path}", s.api);
    let answers: Vec<Response> = stream::iter(0..total)
        .map(|i| {
            let body = json!({ "ref": format!("{prefix}-{i}") });
            s.send(s.http.post(&url).bearer_auth(&acme.token).json(&body).timeout(Duration::from_secs(120)))
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut counts = HashMap::new();
    for a in &answers {
        *counts.entry(a.ok(201)["member_id"].as_str().unwrap().to_owned()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn six_hundred_concurrent_assignments_are_exactly_fair() {
    let _load = heavy_load().await;
    let s = stack().await;
    let acme = s.account().await;
    let team = agents(&s, &acme, 6).await;
    let gid = group(&s, &acme, "Billing", true).await;
    let ids: Vec<String> = team.iter().map(|(id, _)| id.clone()).collect();
    add(&s, &acme, &gid, &ids).await;

    let counts = assign_many(&s, &acme, &gid, "t", 600).await;
    assert_eq!(counts.len(), 6, "{counts:?}");
    assert!(counts.values().all(|n| *n == 100), "{counts:?}");

    // One member sets themselves unavailable: the other five share the next 600 evenly.
    let away = &team[5];
    let r = s.json(Method::PUT, "/v1/me/availability", &away.1, Some(json!({ "available": false })), None).await;
    assert_eq!(r.ok(200)["available"], false);
    let counts = assign_many(&s, &acme, &gid, "u", 600).await;
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(!counts.contains_key(&away.0));
    assert!(counts.values().all(|n| *n == 120), "{counts:?}");

    // Every assignment is recorded once, in order, and readable page by page.
    let (mut seen, mut cursor) = (0, None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/groups/{gid}/assignments?limit=200&cursor={c}"),
            None => format!("/v1/groups/{gid}/assignments?limit=200"),
        };
        let page = s.get(&path, Some(&acme.token)).await;
        let items = page.ok(200)["items"].as_array().unwrap().clone();
        for (k, x) in items.iter().enumerate() {
            assert_eq!(x["number"], seen + k + 1);
        }
        seen += items.len();
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, 1200);
}

#[tokio::test]
async fn the_same_ref_gets_the_same_answer_and_explicit_mode_needs_a_member() {
    let s = stack().await;
    let acme = s.account().await;
    let team = agents(&s, &acme, 2).await;
    let gid = group(&s, &acme, "Support", true).await;
    add(&s, &acme, &gid, &team.iter().map(|t| t.0.clone()).collect::<Vec<_>>()).await;
    let path = format!("/v1/groups/{gid}/assignments");
    let answers: Vec<Response> =
        futures::future::join_all((0..10).map(|_| s.post(&path, Some(&acme.token), json!({ "ref": "T-1" })))).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 1);
    let chosen: Vec<&Value> = answers.iter().map(|a| &a.body["member_id"]).collect();
    assert!(chosen.iter().all(|c| *c == chosen[0]));
    // The next ref goes to the other member: the repeats took no turn.
    let next = s.post(&path, Some(&acme.token), json!({ "ref": "T-2" })).await;
    assert_ne!(&next.ok(201)["member_id"], chosen[0]);

    // Automatic assignment off: the body names a member of the group.
    let g = s.get(&format!("/v1/groups/{gid}"), Some(&acme.token)).await;
    let etag = g.etag.clone().unwrap();
    let off = s
        .json(
            Method::PATCH,
            &format!("/v1/groups/{gid}"),
            &acme.token,
            Some(json!({ "auto_assign": false })),
            Some(("if-match", &etag)),
        )
        .await;
    assert_eq!(off.ok(200)["auto_assign"], false);
    let stale = s
        .json(
            Method::PATCH,
            &format!("/v1/groups/{gid}"),
            &acme.token,
            Some(json!({ "name": "X" })),
            Some(("if-match", &etag)),
        )
        .await;
    assert_eq!(stale.problem(412), "precondition_failed");
    // Explicit mode needs a member: a request without one conflicts with the group's setting.
    assert_eq!(s.post(&path, Some(&acme.token), json!({ "ref": "T-3" })).await.problem(409), "member_required");
    let named = s.post(&path, Some(&acme.token), json!({ "ref": "T-3", "member_id": team[1].0 })).await;
    assert_eq!(named.ok(201)["member_id"], team[1].0.as_str());
    let outsider = s.post(&path, Some(&acme.token), json!({ "ref": "T-4", "member_id": acme.owner_id })).await;
    assert_eq!(outsider.problem(404), "unknown_reference");
}

#[tokio::test]
async fn removed_and_deactivated_members_leave_the_rotation_at_once() {
    let s = stack().await;
    let acme = s.account().await;
    let team = agents(&s, &acme, 4).await;
    let gid = group(&s, &acme, "Escalations", true).await;
    let ids: Vec<String> = team.iter().map(|t| t.0.clone()).collect();
    add(&s, &acme, &gid, &ids).await;
    let path = format!("/v1/groups/{gid}/assignments");

    // While assignments run, one member is removed and another deactivated.
    let removed = ids[1].clone();
    let deactivated = ids[2].clone();
    let running = assign_many(&s, &acme, &gid, "r", 200);
    let changes = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let r = s.post(&format!("/v1/groups/{gid}/members"), Some(&acme.token), json!({ "remove": [removed] })).await;
        r.ok(200);
        let d = s.json(Method::POST, &format!("/v1/members/{deactivated}/deactivate"), &acme.token, None, None).await;
        d.ok(200);
    };
    let (counts, ()) = tokio::join!(running, changes);
    assert_eq!(counts.values().sum::<usize>(), 200);
    // After both changes, only the other two are chosen.
    let after = assign_many(&s, &acme, &gid, "after", 40).await;
    let mut who: Vec<&String> = after.keys().collect();
    who.sort();
    let mut expected = vec![&ids[0], &ids[3]];
    expected.sort();
    assert_eq!(who, expected, "{after:?}");
    assert!(after.values().all(|n| *n == 20));
    // Nothing was lost or doubled while the rotation changed.
    let listed = s.get(&format!("{path}?limit=200"), Some(&acme.token)).await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 200);
    let g = s.get(&format!("/v1/groups/{gid}"), Some(&acme.token)).await;
    let members: Vec<&str> =
        g.ok(200)["members"].as_array().unwrap().iter().map(|m| m["member_id"].as_str().unwrap()).collect();
    assert!(!members.contains(&removed.as_str()));
    let member = s.get(&format!("/v1/members/{removed}"), Some(&acme.token)).await;
    assert_eq!(member.ok(200)["groups"], json!([]));
}

#[tokio::test]
async fn a_supervisor_runs_only_the_groups_they_lead() {
    let s = stack().await;
    let acme = s.account().await;
    let (lead_id, lead_token, _) =
        s.active_member(&acme, &format!("lead@{}.test", acme.web_address), "supervisor").await;
    let team = agents(&s, &acme, 2).await;
    let mine = group(&s, &acme, "Mine", true).await;
    let theirs = group(&s, &acme, "Theirs", true).await;
    add(&s, &acme, &mine, &[team[0].0.clone()]).await;
    add(&s, &acme, &theirs, &[team[1].0.clone()]).await;
    let r = s
        .json(
            Method::PUT,
            &format!("/v1/groups/{mine}/leaders"),
            &acme.token,
            Some(json!({ "leaders": [lead_id] })),
            None,
        )
        .await;
    assert_eq!(r.ok(200)["leaders"], json!([lead_id]));
    // An agent cannot lead.
    let r = s
        .json(
            Method::PUT,
            &format!("/v1/groups/{mine}/leaders"),
            &acme.token,
            Some(json!({ "leaders": [team[0].0] })),
            None,
        )
        .await;
    assert_eq!(r.problem(422), "validation_failed");

    let my_team = s.get("/v1/me/team", Some(&lead_token)).await;
    let ids: Vec<&str> =
        my_team.ok(200)["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [team[0].0.as_str()]);
    let away = json!({ "available": false });
    let own = s
        .json(Method::PUT, &format!("/v1/members/{}/availability", team[0].0), &lead_token, Some(away.clone()), None)
        .await;
    assert_eq!(own.ok(200)["available"], false);
    let other =
        s.json(Method::PUT, &format!("/v1/members/{}/availability", team[1].0), &lead_token, Some(away), None).await;
    assert_eq!(other.problem(403), "forbidden");
    let add_other =
        s.post(&format!("/v1/groups/{theirs}/members"), Some(&lead_token), json!({ "add": [team[0].0] })).await;
    assert_eq!(add_other.problem(403), "forbidden");
    let add_mine =
        s.post(&format!("/v1/groups/{mine}/members"), Some(&lead_token), json!({ "add": [team[1].0] })).await;
    assert_eq!(add_mine.ok(200)["members"].as_array().unwrap().len(), 2);

    // The member list filters by group.
    let listed = s.get(&format!("/v1/members?group={mine}&limit=1"), Some(&acme.token)).await;
    assert_eq!(listed.ok(200)["items"][0]["id"], team[0].0.as_str());
    let cursor = listed.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = s.get(&format!("/v1/members?group={mine}&limit=1&cursor={cursor}"), Some(&acme.token)).await;
    assert_eq!(rest.ok(200)["items"][0]["id"], team[1].0.as_str());
    assert!(rest.body["next_cursor"].is_null());

    // A deleted leader leads nothing any more.
    let gone = s.json(Method::DELETE, &format!("/v1/members/{lead_id}"), &acme.token, None, None).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let g = s.get(&format!("/v1/groups/{mine}"), Some(&acme.token)).await;
    assert_eq!(g.ok(200)["leaders"], json!([]));
}

#[tokio::test]
async fn group_names_are_unique_and_deletion_is_logged() {
    let s = stack().await;
    let acme = s.account().await;
    let team = agents(&s, &acme, 1).await;
    let gid = group(&s, &acme, "Night Desk", false).await;
    let twin = s.post("/v1/groups", Some(&acme.token), json!({ "name": "night  desk" })).await;
    assert_eq!(twin.problem(409), "group_name_taken");
    add(&s, &acme, &gid, &[team[0].0.clone()]).await;
    let gone = s
        .json(Method::DELETE, &format!("/v1/groups/{gid}"), &acme.token, Some(json!({ "memo": "merged" })), None)
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(s.get(&format!("/v1/groups/{gid}"), Some(&acme.token)).await.problem(404), "not_found");
    let member = s.get(&format!("/v1/members/{}", team[0].0), Some(&acme.token)).await;
    assert_eq!(member.ok(200)["groups"], json!([]));
    assert!(s.audit_actions(&acme.id).await.contains(&"group.deleted".to_owned()));
    group(&s, &acme, "Night desk", false).await;
}

#[tokio::test]
async fn another_accounts_group_is_not_found() {
    let s = stack().await;
    let (acme, globex) = (s.account().await, s.account().await);
    let gid = group(&s, &globex, "Globex only", true).await;
    let before = s.partition_keys(&globex.id).await;
    for (method, path, body) in [
        (Method::GET, format!("/v1/groups/{gid}"), None),
        (Method::PATCH, format!("/v1/groups/{gid}"), Some(json!({ "name": "Stolen" }))),
        (Method::DELETE, format!("/v1/groups/{gid}"), None),
        (Method::POST, format!("/v1/groups/{gid}/members"), Some(json!({ "add": [acme.owner_id] }))),
        (Method::PUT, format!("/v1/groups/{gid}/leaders"), Some(json!({ "leaders": [] }))),
        (Method::POST, format!("/v1/groups/{gid}/assignments"), Some(json!({ "ref": "x" }))),
        (Method::GET, format!("/v1/groups/{gid}/assignments"), None),
        (Method::PUT, format!("/v1/members/{}/availability", globex.owner_id), Some(json!({ "available": false }))),
    ] {
        let r = s.json(method.clone(), &path, &acme.token, body, None).await;
        assert_eq!(r.problem(404), "not_found", "{method} {path}");
    }
    let filtered = s.get(&format!("/v1/members?group={gid}"), Some(&acme.token)).await;
    assert_eq!(filtered.problem(404), "unknown_reference");
    assert_eq!(s.partition_keys(&globex.id).await, before);
}

#[tokio::test]
async fn invitees_join_groups_at_once_and_take_turns_once_they_accept() {
    let s = stack().await;
    let acme = s.account().await;
    let gid = group(&s, &acme, "Onboarding", true).await;
    let email = format!("new@{}.test", acme.web_address);
    let body = json!({ "email": email, "first_name": "Nia", "last_name": "New", "role": "agent", "groups": [gid] });
    let invited = s.post("/v1/invitations", Some(&acme.token), body.clone()).await;
    let id = invited.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    assert_eq!(invited.body["member"]["groups"], json!([gid]));
    let g = s.get(&format!("/v1/groups/{gid}"), Some(&acme.token)).await;
    assert_eq!(g.ok(200)["members"], json!([{ "member_id": id, "eligible": false }]));
    let path = format!("/v1/groups/{gid}/assignments");
    assert_eq!(s.post(&path, Some(&acme.token), json!({ "ref": "early" })).await.problem(409), "no_one_available");

    let token = token_from(&s.mail_to(&email).await);
    assert_eq!(s.accept(&token, "member passphrase 42", "member passphrase 42").await.status, 200);
    let now = s.post(&path, Some(&acme.token), json!({ "ref": "after" })).await;
    assert_eq!(now.ok(201)["member_id"], id.as_str());

    // An unknown group refuses the whole invitation.
    let mut other = body;
    other["email"] = json!(format!("other@{}.test", acme.web_address));
    other["groups"] = json!(["01a20000000070008000000000000000"]);
    let r = s.post("/v1/invitations", Some(&acme.token), other).await;
    assert_eq!(r.problem(404), "unknown_reference");
    assert_eq!(r.body["errors"][0]["code"], "unknown_group");
}
