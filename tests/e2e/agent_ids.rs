//! Agent IDs (issue 3): one member at a time per ID; reassignment explicit and logged.
use futures::future::join_all;
use reqwest::Method;
use roster_tests::*;

async fn invited(s: &Stack, acme: &Account, name: &str, role: &str) -> String {
    let r = s.invite(acme, &format!("{name}@{}.test", acme.web_address), role).await;
    r.ok(201)["member"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_agent_id_belongs_to_one_member_and_moves_only_when_asked() {
    let s = stack().await;
    let acme = s.account().await;
    let (ann, bob) = (invited(&s, &acme, "ann", "agent").await, invited(&s, &acme, "bob", "pro_agent").await);
    let put = |member: &str, q: &str| format!("/v1/members/{member}/agent-ids/voice-1042{q}");

    let given = s.json(Method::PUT, &put(&ann, ""), &acme.token, None, None).await;
    assert_eq!(given.ok(200)["agent_ids"], serde_json::json!(["voice-1042"]));
    // Asking again changes nothing.
    s.json(Method::PUT, &put(&ann, ""), &acme.token, None, None).await.ok(200);
    // Bob can have a second system's ID too, but not Ann's without reassign.
    s.json(Method::PUT, &format!("/v1/members/{bob}/agent-ids/chat:bob"), &acme.token, None, None).await.ok(200);
    let refused = s.json(Method::PUT, &put(&bob, ""), &acme.token, None, None).await;
    assert_eq!(refused.problem(409), "agent_id_taken");
    assert!(refused.body["detail"].as_str().unwrap().contains(&ann), "names the holder: {}", refused.text);

    let moved = s.json(Method::PUT, &put(&bob, "?reassign=true"), &acme.token, None, None).await;
    assert_eq!(moved.ok(200)["agent_ids"], serde_json::json!(["chat:bob", "voice-1042"]));
    let ann_now = s.get(&format!("/v1/members/{ann}"), Some(&acme.token)).await;
    assert_eq!(ann_now.ok(200)["agent_ids"], serde_json::json!([]));
    let log = s.partition(&acme.id).await;
    let entry = log
        .iter()
        .find(|i| i.get("action").and_then(|a| a.as_s().ok()).map(String::as_str) == Some("agent_id.reassigned"))
        .unwrap();
    let content: serde_json::Value = serde_json::from_str(entry.get("content").unwrap().as_s().unwrap()).unwrap();
    assert_eq!(content["from"], ann.as_str());

    // A holder cannot get a role that cannot hold IDs; releasing first works.
    let to_viewer = s
        .json(
            Method::PATCH,
            &format!("/v1/members/{bob}"),
            &acme.token,
            Some(serde_json::json!({ "role": "viewer" })),
            None,
        )
        .await;
    assert_eq!(to_viewer.problem(409), "holds_agent_ids");
    let released = s.json(Method::DELETE, &put(&bob, ""), &acme.token, None, None).await;
    assert_eq!(released.ok(200)["agent_ids"], serde_json::json!(["chat:bob"]));
    s.json(Method::PUT, &put(&ann, ""), &acme.token, None, None).await.ok(200);

    // Deleting a holder frees their IDs.
    s.json(Method::DELETE, &format!("/v1/members/{bob}"), &acme.token, None, None).await;
    s.json(Method::PUT, &format!("/v1/members/{ann}/agent-ids/chat:bob"), &acme.token, None, None).await.ok(200);
}

#[tokio::test]
async fn only_agent_like_roles_hold_agent_ids_and_ids_are_validated() {
    let s = stack().await;
    let acme = s.account().await;
    let viewer = invited(&s, &acme, "vic", "viewer").await;
    let agent = invited(&s, &acme, "ag", "agent").await;
    let r = s.json(Method::PUT, &format!("/v1/members/{viewer}/agent-ids/v-1"), &acme.token, None, None).await;
    assert_eq!(r.problem(409), "role_cannot_hold_agent_ids");
    for bad in ["a%20b", "a%23b", &"x".repeat(129)] {
        let r = s.json(Method::PUT, &format!("/v1/members/{agent}/agent-ids/{bad}"), &acme.token, None, None).await;
        assert_eq!(r.problem(422), "validation_failed", "{bad}");
    }
    let r = s
        .json(Method::PUT, &format!("/v1/members/{agent}/agent-ids/v-1?reassign=maybe"), &acme.token, None, None)
        .await;
    assert_eq!(r.problem(400), "invalid_query");
    assert_eq!(
        s.json(Method::DELETE, &format!("/v1/members/{agent}/agent-ids/never-given"), &acme.token, None, None)
            .await
            .problem(404),
        "not_found"
    );
    // Another account's admin cannot touch these members.
    let other = s.account().await;
    assert_eq!(
        s.json(Method::PUT, &format!("/v1/members/{agent}/agent-ids/v-2"), &other.token, None, None).await.problem(404),
        "not_found"
    );
}

#[tokio::test]
async fn twenty_parallel_assignments_of_one_id_leave_exactly_one_holder() {
    let s = stack().await;
    let acme = s.account().await;
    let mut members = Vec::new();
    for i in 0..20 {
        members.push(invited(&s, &acme, &format!("r{i}"), "agent").await);
    }
    let paths: Vec<String> = members.iter().map(|m| format!("/v1/members/{m}/agent-ids/queue-7")).collect();
    let results = join_all(paths.iter().map(|p| s.json(Method::PUT, p, &acme.token, None, None))).await;
    let won: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.status == 200).map(|(i, _)| i).collect();
    assert_eq!(won.len(), 1, "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(results.iter().filter(|r| r.status != 200).all(|r| r.status == 409 && r.body["code"] == "agent_id_taken"));
    let list = s.get("/v1/members?limit=200", Some(&acme.token)).await;
    let holders: Vec<_> = list.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["agent_ids"].as_array().unwrap().iter().any(|a| a == "queue-7"))
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(holders, vec![members[won[0]].clone()]);
}
