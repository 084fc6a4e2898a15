//! Idempotency-Key (issue 11 §4, SPEC §9) on the creating POSTs: a repeat replays the first
//! answer, another body with the key is refused, concurrent repeats run once, keys are per
//! account.
use roster_tests::*;
use serde_json::json;

#[tokio::test]
async fn a_repeat_replays_the_first_answer_and_creates_nothing_more() {
    let s = stack().await;
    let acme = s.account().await;
    let role = json!({ "name": "Night shift", "permissions": ["members_read"] });
    let send = |body: serde_json::Value, key: &'static str| {
        s.send(
            s.http
                .post(format!("{}/v1/roles", s.api))
                .bearer_auth(&acme.token)
                .header("idempotency-key", key)
                .json(&body),
        )
    };
    let first = send(role.clone(), "create-night-shift-1").await;
    let id = first.ok(201)["id"].as_str().unwrap().to_owned();
    let again = send(role.clone(), "create-night-shift-1").await;
    assert_eq!((again.status.as_u16(), again.body["id"].as_str()), (201, Some(id.as_str())));
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(first.header("idempotent-replayed"), None);
    let roles = s.get("/v1/roles", Some(&acme.token)).await;
    let named = roles.ok(200)["items"].as_array().unwrap().iter().filter(|r| r["name"] == "Night shift").count();
    assert_eq!(named, 1, "the repeat created nothing");

    // The same key for another request is refused, and nothing is created.
    let other = send(json!({ "name": "Day shift", "permissions": [] }), "create-night-shift-1").await;
    assert_eq!(other.problem(422), "idempotency_key_reused");
    let roles = s.get("/v1/roles", Some(&acme.token)).await;
    assert!(!roles.ok(200)["items"].as_array().unwrap().iter().any(|r| r["name"] == "Day shift"));

    // A refusal is an answer too: replayed, not redone.
    let bad = json!({ "name": "", "permissions": [] });
    assert_eq!(send(bad.clone(), "blank-name").await.problem(422), "validation_failed");
    let replayed = send(bad, "blank-name").await;
    assert_eq!((replayed.status.as_u16(), replayed.header("idempotent-replayed").as_deref()), (422, Some("true")));

    // Keys belong to the account: another account's same key is its own.
    let globex = s.account().await;
    let theirs = s
        .send(
            s.http
                .post(format!("{}/v1/roles", s.api))
                .bearer_auth(&globex.token)
                .header("idempotency-key", "create-night-shift-1")
                .json(&role),
        )
        .await;
    assert_ne!(theirs.ok(201)["id"].as_str(), Some(id.as_str()));
    assert_eq!(theirs.header("idempotent-replayed"), None);

    // A malformed key is refused before anything runs.
    let long: &'static str = Box::leak("k".repeat(256).into_boxed_str());
    for key in ["", long, "two words"] {
        assert_eq!(send(role.clone(), key).await.problem(400), "invalid_idempotency_key", "{key:?}");
    }
}

#[tokio::test]
async fn concurrent_repeats_run_once_the_others_wait_or_replay() {
    let s = stack().await;
    let address = unique("idem");
    let body = s.sign_up_body(&address, &format!("owner@{address}.test"));
    // Sign-up hashes a password (slow by design), so repeats overlap the first.
    let answers = futures::future::join_all((0..8).map(|_| {
        s.send(s.http.post(format!("{}/v1/accounts", s.api)).header("idempotency-key", "signup-1").json(&body))
    }))
    .await;
    let ran = answers.iter().filter(|a| a.status == 201 && a.header("idempotent-replayed").is_none()).count();
    assert_eq!(ran, 1, "exactly one sign-up ran");
    let waiting = answers.iter().filter(|a| a.status == 409).count();
    for a in &answers {
        let replayed = a.status == 201 && a.header("idempotent-replayed").as_deref() == Some("true");
        assert!(
            a.status == 201 && (replayed || a.header("idempotent-replayed").is_none())
                || a.body["code"] == "idempotency_in_progress",
            "{} {}",
            a.status,
            a.text
        );
    }
    assert!(waiting >= 1, "a repeat that overlaps the first is told it is in progress");
    // Afterwards, a repeat replays the account the first made.
    let after =
        s.send(s.http.post(format!("{}/v1/accounts", s.api)).header("idempotency-key", "signup-1").json(&body)).await;
    assert_eq!((after.status.as_u16(), after.header("idempotent-replayed").as_deref()), (201, Some("true")));
}
