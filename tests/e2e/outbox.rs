//! The mail outbox (issue 11 §3): every mail Roster sends is written with the change that
//! causes it and delivered once; a mail-service outage delays it, loses nothing, sends nothing
//! twice.
use roster::service::Services;
use roster_tests::*;
use serde_json::json;

/// Run the job runner until `done`, for up to two minutes (the first retry waits 30 s).
async fn run_until(services: &Services, done: impl AsyncFn() -> bool) {
    for _ in 0..120 {
        if done().await {
            return;
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        roster::jobs::run_due(services, deadline).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    panic!("the outbox did not deliver");
}

#[tokio::test]
async fn reset_confirmation_finder_and_ownership_mails_wait_out_an_outage_and_go_once() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.unverified_account().await;
    let w = acme.web_address.clone();
    let domain = format!("{w}.test");
    let colleague = format!("colleague@{domain}");
    let (colleague_id, _, _) = s.active_member(&acme, &colleague, "admin").await;
    let (owner_before, colleague_before) = (s.mails_to(&acme.owner_email).await, s.mails_to(&colleague).await);

    s.mail_outage(&domain, true).await;
    let reset = s.post("/v1/auth/password-reset", None, json!({ "web_address": w, "email": colleague })).await;
    reset.ok(202);
    s.post("/v1/account/verification", Some(&acme.token), json!({})).await.ok(202);
    s.post("/v1/account/find-web-address", None, json!({ "email": colleague })).await.ok(202);
    let handover = json!({ "member_id": colleague_id, "password": PASSWORD, "memo": "outbox test" });
    s.post("/v1/account/owner", Some(&acme.token), handover).await.ok(200);
    assert_eq!(s.mails_to(&colleague).await, colleague_before, "nothing goes out while mail is down");
    assert_eq!(s.mails_to(&acme.owner_email).await, owner_before);

    s.mail_outage(&domain, false).await;
    // The colleague: the reset link, the web-address finder, the ownership notice; the owner:
    // the new confirmation link and the ownership notice.
    let all_sent = async || {
        s.mails_to(&colleague).await == colleague_before + 3 && s.mails_to(&acme.owner_email).await == owner_before + 2
    };
    run_until(&services, all_sent).await;
    for _ in 0..3 {
        roster::jobs::run_due(&services, tokio::time::Instant::now() + std::time::Duration::from_secs(5))
            .await
            .unwrap();
    }
    assert_eq!(s.mails_to(&colleague).await, colleague_before + 3, "each mail once");
    assert_eq!(s.mails_to(&acme.owner_email).await, owner_before + 2, "each mail once");
    assert_eq!(s.mails_matching(&colleague, "/password-reset").await, 1);
    assert_eq!(s.mails_matching(&colleague, "Your Roster web addresses").await, 1);

    // The links that waited still work.
    let reset_link = token_from(&s.mail_matching(&colleague, "/password-reset").await);
    let page = s.get(&format!("/password-reset?token={reset_link}"), None).await;
    assert!(page.status == 200 && page.text.contains("<form"), "{}", page.text);
    let confirm = token_from(&s.mail_matching(&acme.owner_email, "/account/verify").await);
    let form = [("token", confirm.as_str())];
    assert_eq!(s.send(s.http.post(format!("{}/account/verify", s.api)).form(&form)).await.status, 200);
}

#[tokio::test]
async fn a_link_replaced_before_its_mail_went_out_is_not_sent() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let domain = format!("{}.test", acme.web_address);
    let colleague = format!("colleague@{domain}");
    s.active_member(&acme, &colleague, "agent").await;
    s.mail_outage(&domain, true).await;
    let ask = json!({ "web_address": acme.web_address, "email": colleague });
    s.post("/v1/auth/password-reset", None, ask.clone()).await.ok(202);
    s.post("/v1/auth/password-reset", None, ask).await.ok(202);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(s.mails_matching(&colleague, "/password-reset").await, 0, "nothing goes out while mail is down");
    s.mail_outage(&domain, false).await;
    run_until(&services, async || s.mails_matching(&colleague, "/password-reset").await == 1).await;
    for _ in 0..3 {
        roster::jobs::run_due(&services, tokio::time::Instant::now() + std::time::Duration::from_secs(5))
            .await
            .unwrap();
    }
    // Only the second link's mail: the first link no longer works, so its mail is moot.
    assert_eq!(s.mails_matching(&colleague, "/password-reset").await, 1);
    let link = token_from(&s.mail_matching(&colleague, "/password-reset").await);
    assert!(s.get(&format!("/password-reset?token={link}"), None).await.text.contains("<form"));
}

#[tokio::test]
async fn the_invitation_list_shows_where_each_invitations_mail_is() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let domain = format!("{}.test", acme.web_address);
    let mail_of = async |email: &str| {
        let list = s.get("/v1/invitations?limit=200", Some(&acme.token)).await.ok(200).clone();
        let items = list["items"].as_array().unwrap().clone();
        let item = items.into_iter().find(|i| i["member"]["email"] == email);
        item.unwrap_or_else(|| panic!("{email} is not listed"))["mail"].clone()
    };
    let (sent, waiting) = (format!("sent@{domain}"), format!("waiting@{domain}"));
    s.invite(&acme, &sent, "agent").await.ok(201);
    assert_eq!(mail_of(&sent).await, "sent");
    s.mail_outage(&domain, true).await;
    let r = s.invite(&acme, &waiting, "agent").await;
    assert_eq!(r.ok(201)["email_sent"], false);
    assert_eq!(mail_of(&waiting).await, "pending");
    s.mail_outage(&domain, false).await;
    // Rows of an invitation job: followed on the job's result pages.
    let rows = json!({ "rows": [
        { "email": format!("row1@{domain}"), "first_name": "R", "last_name": "One", "role": "agent" },
        { "email": format!("row2@{domain}"), "first_name": "R", "last_name": "Two", "role": "agent" },
    ] });
    let job = s.post("/v1/invitation-jobs", Some(&acme.token), rows).await.ok(202)["id"].as_str().unwrap().to_owned();
    run_until(&services, async || {
        let job = s.get(&format!("/v1/invitation-jobs/{job}"), Some(&acme.token)).await.ok(200).clone();
        job["status"] == "succeeded" && mail_of(&waiting).await == "sent"
    })
    .await;
    for row in ["row1", "row2"] {
        assert_eq!(mail_of(&format!("{row}@{domain}")).await, "sent", "{row}");
    }
}
