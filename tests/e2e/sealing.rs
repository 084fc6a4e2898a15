//! The tamper-evident system log (issue 5, SPEC §8): concurrent writers never wait for the
//! log; sealing chains HMAC digests; verification names every edited, deleted or inserted
//! entry and every altered digest.
use aws_sdk_dynamodb::types::AttributeValue;
use roster::domain::ids::AccountId;
use roster::jobs::{SEAL_JOB, Status};
use roster::service::{Services, sealing};
use roster_tests::*;
use serde_json::{Value, json};

async fn verify(s: &Stack, acme: &Account) -> Value {
    s.get("/v1/audit/verify", Some(&acme.token)).await.ok(200).clone()
}

async fn seal(acme: &Account) -> usize {
    let services = Services::from_env().await.unwrap();
    let a = AccountId::parse(&acme.id).unwrap();
    // No margin: every write of this test has answered already.
    sealing::seal_account(&services, a, chrono::Duration::zero()).await.unwrap()
}

#[tokio::test]
async fn fifty_concurrent_writers_then_sealing_verifies_ok() {
    let _load = heavy_load().await;
    let s = stack().await;
    let acme = s.account().await;
    let writes = futures::future::join_all((0..50).map(|i| {
        s.post("/v1/roles", Some(&acme.token), json!({ "name": format!("Shift {i}"), "permissions": ["members_read"] }))
    }))
    .await;
    // Every write succeeded at its first attempt: the log is no shared item to contend on.
    assert!(writes.iter().all(|w| w.status == 201), "{:?}", writes.iter().map(|w| &w.text).collect::<Vec<_>>());

    let before = verify(&s, &acme).await;
    assert_eq!(before["ok"], true);
    assert_eq!(before["digests"], 0);
    let entries = s.audit_actions(&acme.id).await.len();
    assert_eq!(before["unsealed_entries"], entries);
    assert!(entries >= 51);

    assert_eq!(seal(&acme).await, entries);
    let after = verify(&s, &acme).await;
    assert_eq!(after["ok"], true, "{after}");
    assert_eq!(after["sealed_entries"], entries);
    assert_eq!(after["unsealed_entries"], 0);
    assert_eq!(seal(&acme).await, 0, "sealing again seals nothing");

    // A new entry waits for the next run, then joins the chain.
    s.post("/v1/roles", Some(&acme.token), json!({ "name": "Late", "permissions": [] })).await.ok(201);
    assert_eq!(verify(&s, &acme).await["unsealed_entries"], 1);
    assert_eq!(seal(&acme).await, 1);
    let chained = verify(&s, &acme).await;
    assert_eq!((chained["ok"].clone(), chained["digests"].clone()), (json!(true), json!(2)), "{chained}");
}

#[tokio::test]
async fn edited_deleted_and_inserted_entries_and_altered_digests_are_named() {
    let s = stack().await;
    let acme = s.account().await;
    for i in 0..6 {
        s.post("/v1/roles", Some(&acme.token), json!({ "name": format!("Desk {i}"), "permissions": [] })).await.ok(201);
    }
    seal(&acme).await;
    let mut ids: Vec<String> = s
        .partition_keys(&acme.id)
        .await
        .into_iter()
        .filter_map(|k| k.strip_prefix("AUDIT#").map(str::to_owned))
        .collect();
    ids.sort();
    let (edited, deleted, neighbour) = (ids[1].clone(), ids[2].clone(), ids[4].clone());
    // A forged id that sorts right next to a sealed one, inside the sealed range.
    let mut forged = neighbour.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert!(!ids.contains(&forged));

    let pk = AttributeValue::S(format!("ACCOUNT#{}", acme.id));
    let sk = |id: &str| AttributeValue::S(format!("AUDIT#{id}"));
    s.dynamo
        .update_item()
        .table_name(&s.table)
        .key("pk", pk.clone())
        .key("sk", sk(&edited))
        .update_expression("SET memo = :m")
        .expression_attribute_values(":m", AttributeValue::S("nothing happened here".into()))
        .send()
        .await
        .unwrap();
    s.dynamo.delete_item().table_name(&s.table).key("pk", pk.clone()).key("sk", sk(&deleted)).send().await.unwrap();
    s.dynamo
        .put_item()
        .table_name(&s.table)
        .item("pk", pk.clone())
        .item("sk", sk(&forged))
        .item("action", AttributeValue::S("member.deleted".into()))
        .send()
        .await
        .unwrap();

    let report = verify(&s, &acme).await;
    assert_eq!(report["ok"], false);
    let problems = report["problems"].as_array().unwrap();
    for (kind, id) in [("entry_edited", &edited), ("entry_deleted", &deleted), ("entry_inserted", &forged)] {
        assert!(
            problems.iter().any(|p| p["kind"] == kind && p["entry_id"] == id.as_str()),
            "{kind} {id} not named in {report}"
        );
    }
    assert_eq!(problems.len(), 3, "{report}");
    assert_eq!(report["first_problem"], problems[0]);

    // Rewriting a digest (even to cover the forgery) breaks its HMAC.
    s.dynamo
        .update_item()
        .table_name(&s.table)
        .key("pk", pk.clone())
        .key("sk", AttributeValue::S("DIGEST#000000000001".into()))
        .update_expression("SET mac = :m")
        .expression_attribute_values(":m", AttributeValue::S("0".repeat(64)))
        .send()
        .await
        .unwrap();
    let report = verify(&s, &acme).await;
    assert!(
        report["problems"].as_array().unwrap().iter().any(|p| p["kind"] == "digest_altered" && p["seq"] == 1),
        "{report}"
    );
}

/// The scheduled run itself: it walks the accounts index to the end and, with the real margin,
/// leaves entries younger than five minutes for a later run.
#[tokio::test]
async fn the_scheduled_run_walks_every_account_and_leaves_young_entries_for_later() {
    let _load = heavy_load().await;
    let s = stack().await;
    let (acme, other) = (s.account().await, s.account().await);
    let services = Services::from_env().await.unwrap();
    // A round that starts now (the recurring job may be mid-round in another test's runner).
    let mark = chrono::Utc::now();
    run_jobs_until(&services, || async {
        let job = services.store.get_job(None, SEAL_JOB).await.unwrap()?;
        (job.status == Status::Queued && services.store.run_job_now(None, SEAL_JOB).await.is_ok()).then_some(())
    })
    .await;
    // That round is over when the job waits for its next one, minutes later.
    let round = run_jobs_until(&services, || async {
        let job = services.store.get_job(None, SEAL_JOB).await.unwrap()?;
        (job.status == Status::Queued && job.run_at > mark + chrono::Duration::minutes(1)).then_some(job)
    })
    .await;
    assert!(round.progress["accounts"] >= 2, "{:?}", round.progress);
    assert!(round.run_at > chrono::Utc::now(), "the next round is scheduled");
    for account in [&acme, &other] {
        let v = verify(&s, account).await;
        assert_eq!((v["ok"].clone(), v["digests"].clone()), (json!(true), json!(0)), "{v}");
        assert_eq!(v["unsealed_entries"], s.audit_actions(&account.id).await.len());
    }
}

/// Issue 10, finding 3: digests name the secret version that sealed them, so rotating the
/// signing secret in Secrets Manager leaves every older digest verifiable — by a process that
/// started before the rotation (the local API) and by one that started after it.
#[tokio::test]
async fn rotating_the_signing_secret_keeps_the_sealed_log_verifiable() {
    let s = stack().await;
    let acme = s.account().await;
    let key = s.post("/v1/api-keys", Some(&acme.token), json!({ "name": "auditor", "scopes": ["audit_read"] })).await;
    let api_key = key.ok(201)["secret"].as_str().unwrap().to_owned();
    s.post("/v1/roles", Some(&acme.token), json!({ "name": "Before", "permissions": [] })).await.ok(201);
    assert!(seal(&acme).await > 0);

    let sdk = roster::config::aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret_id = std::env::var("ROSTER_SIGNING_SECRET_ID").unwrap();
    let fresh = format!("rotated-{}-{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    secrets.put_secret_value().secret_id(&secret_id).secret_string(fresh).send().await.unwrap();

    let rotated = Services::from_env().await.unwrap();
    s.post("/v1/roles", Some(&acme.token), json!({ "name": "After", "permissions": [] })).await.ok(201);
    let a = AccountId::parse(&acme.id).unwrap();
    assert!(sealing::seal_account(&rotated, a, chrono::Duration::zero()).await.unwrap() > 0);

    // The API started with the old version; the second digest names the new one.
    let by_old = verify(&s, &acme).await;
    assert_eq!((by_old["ok"].clone(), by_old["digests"].clone()), (json!(true), json!(2)), "{by_old}");
    // A process started after the rotation verifies the first digest with the old version.
    let caller = roster::service::auth::authenticate(&rotated, &api_key).await.unwrap();
    let by_new = sealing::verify(&rotated, &caller, None).await.unwrap();
    assert!(by_new.ok && by_new.digests == 2, "{by_new:?}");
    // What the new version signs, the old process refuses cleanly (and the other way round).
    let tokens = roster::service::auth::login(
        &rotated,
        serde_json::from_value(
            json!({ "web_address": acme.web_address, "email": acme.owner_email, "password": PASSWORD }),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(s.get("/v1/me", Some(&tokens.access_token)).await.problem(401), "unauthenticated");
    assert!(roster::service::auth::authenticate(&rotated, &acme.token).await.is_err());
}

/// Issue 10: verification is bounded per call — 20 digests, then a cursor — and the sealing job
/// records the last complete verification of the whole chain.
#[tokio::test]
async fn verification_walks_a_long_chain_in_bounded_steps() {
    let _load = heavy_load().await;
    let s = stack().await;
    let acme = s.account().await;
    for i in 0..25 {
        s.post("/v1/roles", Some(&acme.token), json!({ "name": format!("Step {i}"), "permissions": [] })).await.ok(201);
        assert!(seal(&acme).await > 0);
    }
    let first = verify(&s, &acme).await;
    assert_eq!((first["ok"].clone(), first["digests"].clone()), (json!(true), json!(20)), "{first}");
    assert_eq!(first["unsealed_entries"], Value::Null);
    let cursor = first["next_cursor"].as_str().expect("a cursor for the rest").to_owned();
    let rest = s.get(&format!("/v1/audit/verify?cursor={cursor}"), Some(&acme.token)).await.ok(200).clone();
    assert_eq!((rest["ok"].clone(), rest["digests"].clone()), (json!(true), json!(5)), "{rest}");
    assert_eq!((rest["next_cursor"].clone(), rest["unsealed_entries"].clone()), (Value::Null, json!(0)));
    // A cursor of another account, or an edited one, is refused.
    let other = s.account().await;
    let foreign = s.get(&format!("/v1/audit/verify?cursor={cursor}"), Some(&other.token)).await;
    assert_eq!(foreign.problem(404), "unknown_reference");

    // The sealing job's walk records the whole chain's result. (The recurring job may walk this
    // chain meanwhile in another test's runner, and record a shorter chain just after us: a walk
    // of ours that ends after its walk records all of it.)
    let services = Services::from_env().await.unwrap();
    let mut recorded = Value::Null;
    for _ in 0..5 {
        sealing::continue_verification(&services, AccountId::parse(&acme.id).unwrap()).await.unwrap();
        recorded = verify(&s, &acme).await["last_complete"].clone();
        if recorded["digests"] == 25 {
            break;
        }
    }
    assert_eq!((recorded["ok"].clone(), recorded["digests"].clone()), (json!(true), json!(25)), "{recorded}");
}
