//! Invitation and deletion edges (issue 10, finding 7): a deleting account takes nobody in, a
//! cancelled invitation leaves no seat behind, the purge finds every link an invitation ever had,
//! a limited manager cannot act on members above them, and `If-Match: *` matches.
use reqwest::Method;
use roster::domain::ids::{AccountId, MemberId};
use roster::service::Services;
use roster::store::keys;
use roster_tests::*;
use serde_json::json;

#[tokio::test]
async fn an_invitation_into_an_account_being_deleted_cannot_be_accepted() {
    let s = stack().await;
    let acme = s.account().await;
    let email = format!("late@{}.test", acme.web_address);
    let id = s.invite(&acme, &email, "agent").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    let token = token_from(&s.mail_to(&email).await);
    let body = json!({ "web_address": acme.web_address, "password": PASSWORD, "memo": "closing" });
    s.json(Method::DELETE, "/v1/account", &acme.token, Some(body), None).await.ok(202);

    let page = s.accept(&token, "member passphrase 42", "member passphrase 42").await;
    assert_ne!(page.status, 200, "{}", page.text);
    let member =
        s.item(&keys::member(AccountId::parse(&acme.id).unwrap(), MemberId::parse(&id).unwrap())).await.unwrap();
    assert_eq!(member["status"].as_s().unwrap(), "invited");
}

#[tokio::test]
async fn a_cancelled_invitation_leaves_no_seat_in_its_groups() {
    let s = stack().await;
    let acme = s.account().await;
    let gid = s.post("/v1/groups", Some(&acme.token), json!({ "name": "Desk" })).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let email = format!("seat@{}.test", acme.web_address);
    let body = json!({ "email": email, "first_name": "S", "last_name": "Eat", "role": "agent", "groups": [gid] });
    let id =
        s.post("/v1/invitations", Some(&acme.token), body).await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    s.json(Method::DELETE, &format!("/v1/invitations/{id}"), &acme.token, None, None).await.ok(204);
    let group = s.get(&format!("/v1/groups/{gid}"), Some(&acme.token)).await;
    assert_eq!(group.ok(200)["members"], json!([]), "{}", group.text);
}

#[tokio::test]
async fn the_purge_removes_every_link_an_invitation_ever_had() {
    let s = stack().await;
    let acme = s.account().await;
    let email = format!("twice@{}.test", acme.web_address);
    let id = s.invite(&acme, &email, "agent").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    let first = token_from(&s.mail_to(&email).await);
    s.post(&format!("/v1/invitations/{id}/resend"), Some(&acme.token), json!({})).await.ok(200);
    let second = s.newer_token(&email, "token=", &first).await;
    let hash = |t: &str| roster::service::secrets::token_hash(t);
    assert!(s.item_exists(&keys::invitation_token(&hash(&first))).await);
    let body = json!({ "web_address": acme.web_address, "password": PASSWORD, "memo": "closing" });
    s.json(Method::DELETE, "/v1/account", &acme.token, Some(body), None).await.ok(202);
    let services = Services::from_env().await.unwrap();
    while services.store.purge_step(AccountId::parse(&acme.id).unwrap()).await.unwrap() > 0 {}
    for t in [&first, &second] {
        assert!(!s.item_exists(&keys::invitation_token(&hash(t))).await, "a link lookup outlived its account");
    }
}

#[tokio::test]
async fn a_limited_manager_cannot_act_on_members_above_them() {
    let s = stack().await;
    let acme = s.account().await;
    let mail = |n: &str| format!("{n}@{}.test", acme.web_address);
    let role = s
        .post(
            "/v1/roles",
            Some(&acme.token),
            json!({ "name": "Staffing", "permissions": ["members_read", "members_manage", "invitations_manage"] }),
        )
        .await;
    let role = role.ok(201)["id"].as_str().unwrap().to_owned();
    let (_, lead, _) = s.active_member(&acme, &mail("lead"), &role).await;
    let boss = s.invite(&acme, &mail("boss"), "admin").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    let (sup, _, _) = s.active_member(&acme, &mail("sup"), "supervisor").await;

    let resend = s.post(&format!("/v1/invitations/{boss}/resend"), Some(&lead), json!({})).await;
    assert_eq!(resend.problem(403), "forbidden");
    let cancel = s.json(Method::DELETE, &format!("/v1/invitations/{boss}"), &lead, None, None).await;
    assert_eq!(cancel.problem(403), "forbidden");
    let assign = s.json(Method::PUT, &format!("/v1/members/{sup}/agent-ids/voice-7"), &lead, None, None).await;
    assert_eq!(assign.problem(403), "forbidden");
    // The owner can; then the lead still cannot take it away.
    s.json(Method::PUT, &format!("/v1/members/{sup}/agent-ids/voice-7"), &acme.token, None, None).await.ok(200);
    let release = s.json(Method::DELETE, &format!("/v1/members/{sup}/agent-ids/voice-7"), &lead, None, None).await;
    assert_eq!(release.problem(403), "forbidden");
    let pending = s.get("/v1/invitations", Some(&acme.token)).await;
    assert_eq!(pending.ok(200)["items"].as_array().unwrap().len(), 1, "the boss's invitation is still there");
}

#[tokio::test]
async fn if_match_star_matches_any_existing_version() {
    let s = stack().await;
    let acme = s.account().await;
    let gid = s.post("/v1/groups", Some(&acme.token), json!({ "name": "Star" })).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/groups/{gid}");
    let star =
        s.json(Method::PATCH, &path, &acme.token, Some(json!({ "name": "Star 2" })), Some(("if-match", "*"))).await;
    assert_eq!(star.ok(200)["name"], "Star 2");
    let missing = "/v1/groups/01a20000000070008000000000000000";
    let none = s.json(Method::PATCH, missing, &acme.token, Some(json!({ "name": "x" })), Some(("if-match", "*"))).await;
    none.problem(404);
}
