//! Web address change (once) and find-web-address (issue 5, SPEC §1).
use reqwest::Method;
use roster_tests::*;
use serde_json::json;
use std::time::{Duration, Instant};

async fn change(s: &Stack, token: &str, address: &str) -> Response {
    s.json(Method::PUT, "/v1/account/web-address", token, Some(json!({ "web_address": address })), None).await
}

#[tokio::test]
async fn the_web_address_changes_once_and_the_old_one_is_freed() {
    let s = stack().await;
    let acme = s.account().await;
    let old = acme.web_address.clone();
    let (_, admin, _) = s.active_member(&acme, &format!("admin@{old}.test"), "admin").await;
    assert_eq!(change(&s, &admin, &unique("new")).await.problem(403), "forbidden");

    // The rules, each refused with a clear field error and nothing changed.
    for (candidate, code) in [
        ("Acme", "invalid"),
        ("ab", "length"),
        ("a".repeat(41).as_str(), "length"),
        ("acme-support", "invalid"),
        ("acme support", "invalid"),
        ("ácme", "invalid"),
        ("고객지원", "invalid"),
        ("admin", "reserved"),
        ("www", "reserved"),
        ("", "required"),
        (old.as_str(), "unchanged"),
    ] {
        let r = change(&s, &acme.token, candidate).await;
        assert_eq!(r.problem(422), "validation_failed", "{candidate:?}");
        assert_eq!(r.body["errors"][0]["code"], code, "{candidate:?}: {}", r.text);
    }
    let bad_type =
        s.json(Method::PUT, "/v1/account/web-address", &acme.token, Some(json!({ "web_address": 7 })), None).await;
    assert_eq!(bad_type.status, 422, "{}", bad_type.text);

    let new = unique("renamed");
    let done = change(&s, &acme.token, &new).await;
    assert_eq!(done.ok(200)["web_address"], new.as_str());
    // A second change is refused, whatever the address.
    assert_eq!(change(&s, &acme.token, &unique("again")).await.problem(409), "web_address_already_changed");
    // The old address no longer resolves; the new one does; sessions go on.
    let email = acme.owner_email.clone();
    assert_eq!(s.login(&old, &email, PASSWORD).await.problem(401), "unauthenticated");
    s.login(&new, &email, PASSWORD).await.ok(200);
    assert_eq!(s.get("/v1/me", Some(&acme.token)).await.ok(200)["account"]["web_address"], new.as_str());
    // The old address is free for anyone.
    let taken_over = s.post("/v1/accounts", None, s.sign_up_body(&old, &format!("someone@{old}.example"))).await;
    taken_over.ok(201);
    let mail = s.mail_to(&email).await.to_string();
    assert!(mail.contains(&old) && mail.contains(&new), "{mail}");
    assert!(s.audit_actions(&acme.id).await.contains(&"account.web_address_changed".to_owned()));
}

#[tokio::test]
async fn twenty_accounts_claiming_one_address_at_once_give_one_winner() {
    let _load = heavy_load().await;
    let s = stack().await;
    let accounts = futures::future::join_all((0..20).map(|_| s.account())).await;
    let wanted = unique("contested");
    let results = futures::future::join_all(accounts.iter().map(|a| change(&s, &a.token, &wanted))).await;
    let won = results.iter().filter(|r| r.status == 200).count();
    let lost: Vec<_> = results.iter().filter(|r| r.status == 409).map(|r| r.body["code"].clone()).collect();
    assert_eq!(won, 1, "{:?}", results.iter().map(|r| &r.text).collect::<Vec<_>>());
    assert_eq!(lost.len(), 19);
    assert!(lost.iter().all(|c| c == "web_address_taken"));
    // The losers kept their address and their one change.
    let loser = accounts.iter().zip(&results).find(|(_, r)| r.status == 409).unwrap().0;
    change(&s, &loser.token, &unique("second")).await.ok(200);
}

#[tokio::test]
async fn find_web_address_answers_the_same_for_known_and_unknown_emails() {
    let s = stack().await;
    let first = s.account().await;
    let second = s.account().await;
    let person = format!("agent@{}.test", first.web_address);
    s.active_member(&first, &person, "agent").await;
    s.active_member(&second, &person, "agent").await;
    let unknown = format!("nobody@{}.test", first.web_address);

    let find = |email: String| {
        let s = &s;
        async move {
            let started = Instant::now();
            let r = s.post("/v1/account/find-web-address", None, json!({ "email": email })).await;
            (r, started.elapsed())
        }
    };
    let (known, known_took) = find(person.clone()).await;
    let (absent, absent_took) = find(unknown.clone()).await;
    assert_eq!(known.status, 202);
    assert_eq!((known.status, &known.text), (absent.status, &absent.text));
    // Both wait for the same floor, so the mail's cost does not show.
    assert!(known_took >= Duration::from_millis(700) && absent_took >= Duration::from_millis(700));

    let mail = s.mail_to(&person).await.to_string();
    assert!(mail.contains(&first.web_address) && mail.contains(&second.web_address), "{mail}");
    assert_eq!(s.mails_to(&unknown).await, 0);

    // Rate-limited per email, known or not, with the same answer for both.
    for email in [&person, &unknown] {
        for _ in 0..4 {
            assert_eq!(find(email.clone()).await.0.status, 202);
        }
        assert_eq!(find(email.clone()).await.0.problem(429), "rate_limited");
    }
    let bad = s.post("/v1/account/find-web-address", None, json!({ "email": "not an email" })).await;
    assert_eq!(bad.problem(422), "validation_failed");
}

/// Issue 10, finding 2: 20 parallel requests for one email are counted before any work, so no
/// more than 5 emails go out (and exactly 5 requests are accepted).
#[tokio::test]
async fn parallel_find_web_address_requests_send_at_most_the_limit() {
    let s = stack().await;
    let acme = s.account().await;
    let person = format!("swamped@{}.test", acme.web_address);
    s.active_member(&acme, &person, "agent").await;
    let requests = (0..20).map(|_| s.post("/v1/account/find-web-address", None, json!({ "email": person })));
    let answers = futures::future::join_all(requests).await;
    let accepted = answers.iter().filter(|r| r.status == 202).count();
    assert_eq!(accepted, 5, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(answers.iter().filter(|r| r.status != 202).all(|r| r.status == 429));
    // Mail goes out beside the answer: wait for the first, then give the rest time to land.
    s.mail_to(&person).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // One invitation mail, plus at most five lists.
    assert_eq!(s.mails_to(&person).await, 1 + 5);
}
