//! Invariants held by conditional writes under real concurrency.
use futures::future::join_all;
use roster_tests::*;
use serde_json::json;

#[tokio::test]
async fn twenty_sign_ups_racing_for_one_address_make_one_account() {
    let s = stack().await;
    let slug = unique("race");
    let attempts = (0..20).map(|i| s.post("/v1/accounts", None, s.sign_up_body(&slug, &format!("p{i}@example.com"))));
    let results = join_all(attempts).await;
    let won = results.iter().filter(|r| r.status == 201).count();
    let lost = results.iter().filter(|r| r.status == 409 && r.body["code"] == "web_address_taken").count();
    assert_eq!((won, lost), (1, 19), "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
}

#[tokio::test]
async fn twenty_parallel_invitations_of_one_email_make_one_member() {
    let s = stack().await;
    let acme = s.account().await;
    let email = format!("same@{}.test", acme.web_address);
    let results = join_all((0..20).map(|_| s.invite(&acme, &email, "agent"))).await;
    assert_eq!(results.iter().filter(|r| r.status == 201).count(), 1);
    assert!(results.iter().filter(|r| r.status != 201).all(|r| r.status == 409));
    let list = s.get("/v1/members?limit=200", Some(&acme.token)).await;
    assert_eq!(list.ok(200)["items"].as_array().unwrap().iter().filter(|m| m["email"] == json!(email)).count(), 1);
}
