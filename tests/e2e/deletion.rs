//! Account deletion (issue 5, SPEC §1): owner only and re-confirmed; 410 at once; a resumable
//! purge of a 50,000-item account leaves nothing in its partition or its global lookups, a
//! tombstone, and a web address anyone can claim.
use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use roster::domain::ids::{AccountId, AuditId};
use roster::jobs::{Kind, Status};
use roster::service::Services;
use roster::store::keys;
use roster_tests::*;
use serde_json::json;
use std::collections::HashMap;

const BULK: usize = 50_000;

async fn gsi1_count(s: &Stack, partition: &str) -> usize {
    let out = s
        .dynamo
        .query()
        .table_name(&s.table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :p")
        .expression_attribute_values(":p", AttributeValue::S(partition.to_owned()))
        .send()
        .await
        .unwrap();
    out.count as usize
}

#[tokio::test]
async fn a_deleted_account_answers_410_and_its_50000_items_are_purged() {
    let _load = heavy_load().await;
    let s = stack().await;
    let acme = s.account().await;
    let w = acme.web_address.clone();
    let a = AccountId::parse(&acme.id).unwrap();
    let person = format!("agent@{w}.test");
    let (_, agent_token, _) = s.active_member(&acme, &person, "agent").await;
    let other = s.account().await;
    s.active_member(&other, &person, "agent").await;
    let (_, admin_token, _) = s.active_member(&acme, &format!("admin@{w}.test"), "admin").await;
    s.invite(&acme, &format!("pending@{w}.test"), "agent").await.ok(201);
    let token_hash = roster::service::secrets::token_hash(&token_from(&s.mail_to(&format!("pending@{w}.test")).await));
    s.post("/v1/groups", Some(&acme.token), json!({ "name": "Tier 1" })).await.ok(201);
    let key = s.post("/v1/api-keys", Some(&acme.token), json!({ "name": "bot", "scopes": ["members_read"] })).await;
    let api_key = key.ok(201)["secret"].as_str().unwrap().to_owned();

    // Bulk: 50,000 more items in the partition, a fifth of them in an index partition too.
    let index = format!("ACCOUNT#{a}#ASSIGNMENTS#bulk");
    let items: Vec<HashMap<String, AttributeValue>> = (0..BULK)
        .map(|i| {
            let mut item = HashMap::from([
                ("pk".to_owned(), AttributeValue::S(keys::account_pk(a))),
                ("sk".to_owned(), AttributeValue::S(format!("AUDIT#{}", AuditId::new()))),
                ("action".to_owned(), AttributeValue::S("bulk.seeded".into())),
            ]);
            if i % 5 == 0 {
                item.insert("gsi1pk".into(), AttributeValue::S(index.clone()));
                item.insert("gsi1sk".into(), AttributeValue::S(format!("{i:08}")));
            }
            item
        })
        .collect();
    s.put_raw(items).await;
    assert!(s.partition_count(&acme.id).await > BULK);

    // Refused: not the owner, wrong address, wrong password — and nothing changes.
    let del = |token: &str, body: serde_json::Value| {
        let (s, token) = (&s, token.to_owned());
        async move { s.json(Method::DELETE, "/v1/account", &token, Some(body), None).await }
    };
    assert_eq!(del(&admin_token, json!({ "web_address": w, "password": PASSWORD })).await.problem(403), "forbidden");
    let r = del(&acme.token, json!({ "web_address": "someother", "password": PASSWORD })).await;
    assert_eq!(
        (r.problem(403), r.body["errors"][0]["field"].as_str()),
        ("not_confirmed".to_owned(), Some("web_address"))
    );
    let r = del(&acme.token, json!({ "web_address": w, "password": "not the right password" })).await;
    assert_eq!((r.problem(403), r.body["errors"][0]["field"].as_str()), ("not_confirmed".to_owned(), Some("password")));
    assert_eq!(s.get("/v1/me", Some(&agent_token)).await.status, 200);

    let done = del(&acme.token, json!({ "web_address": w, "password": PASSWORD, "memo": "closing the team" })).await;
    assert_eq!(done.ok(202)["status"], "deleting");
    // At once: every member's token, login and API key answer 410; the address stays taken.
    for token in [&acme.token, &agent_token, &admin_token, &api_key] {
        assert_eq!(s.get("/v1/members", Some(token)).await.problem(410), "account_deleted");
    }
    assert_eq!(s.login(&w, &acme.owner_email, PASSWORD).await.problem(410), "account_deleted");
    let early = s.post("/v1/accounts", None, s.sign_up_body(&w, &format!("new@{w}.example"))).await;
    assert_eq!(early.problem(409), "web_address_taken");
    assert!(s.mail_matching(&acme.owner_email, "is being deleted").await.to_string().contains("is being deleted"));

    // One step, as if the function timed out after it: the rest stays consistent.
    let services = Services::from_env().await.unwrap();
    let before = s.partition_count(&acme.id).await;
    let first = services.store.purge_step(a).await.unwrap();
    assert!((1..=5000).contains(&first), "{first}");
    // At least that much is gone (the other tests' runners may be purging it meanwhile too).
    assert!(s.partition_count(&acme.id).await <= before - first);
    assert_eq!(s.get("/v1/me", Some(&agent_token)).await.problem(410), "account_deleted");

    // The job runner resumes and finishes: the account's purge job ends `succeeded`, having
    // counted everything it deleted.
    let job = run_jobs_until(&services, || async {
        let jobs = services.store.jobs_of(None).await.unwrap();
        jobs.into_iter().find(|j| j.input["account_id"] == acme.id.as_str() && j.status == Status::Succeeded)
    })
    .await;
    assert_eq!(job.kind, Kind::PurgeAccount);
    assert!(job.progress["items_deleted"] as usize >= before - first, "{:?}", job.progress);
    assert_eq!(s.partition_count(&acme.id).await, 0, "items left in the partition");
    assert_eq!(gsi1_count(&s, &index).await, 0);
    assert!(!s.item_exists(&keys::invitation_token(&token_hash)).await);
    assert!(
        !s.item_exists(&keys::web_address(&roster::domain::web_address::WebAddress::parse("w", &w).unwrap())).await
    );
    let tombstone = services.store.tombstone(a).await.unwrap().expect("a tombstone");
    assert_eq!(tombstone.web_address, w);
    assert!(tombstone.deleted_at >= tombstone.deletion_requested_at);

    // Afterwards: tokens still 410, the address is free, find-web-address forgets the account.
    assert_eq!(s.get("/v1/me", Some(&agent_token)).await.problem(410), "account_deleted");
    s.post("/v1/accounts", None, s.sign_up_body(&w, &format!("new@{w}.example"))).await.ok(201);
    s.post("/v1/account/find-web-address", None, json!({ "email": person })).await.ok(202);
    // Sent within the answer's time, or else by the runner.
    let subject = "Your Roster web addresses";
    run_jobs_until(&services, || async { (s.mails_matching(&person, subject).await > 0).then_some(()) }).await;
    let mail = s.mail_matching(&person, subject).await.to_string();
    assert!(mail.contains(&other.web_address), "{mail}");
    assert!(!mail.contains(&format!(": {w}")), "{mail}");
}
