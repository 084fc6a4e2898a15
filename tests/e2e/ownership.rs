//! Ownership transfer (issue 5, SPEC §1): owner only, password re-confirmed, one owner always.
use reqwest::Method;
use roster_tests::*;
use serde_json::json;

#[tokio::test]
async fn the_owner_hands_the_account_to_an_active_member_and_becomes_admin() {
    let s = stack().await;
    let acme = s.account().await;
    let w = &acme.web_address;
    let (admin_id, admin_token, _) = s.active_member(&acme, &format!("admin@{w}.test"), "admin").await;
    let invited =
        s.invite(&acme, &format!("new@{w}.test"), "agent").await.ok(201)["member"]["id"].as_str().unwrap().to_owned();
    let transfer = |token: String, body: serde_json::Value| {
        let s = &s;
        async move { s.json(Method::POST, "/v1/account/owner", &token, Some(body), None).await }
    };

    // Only the owner, only with the right password, only to an active member.
    let by_admin = transfer(admin_token.clone(), json!({ "member_id": admin_id, "password": PASSWORD })).await;
    assert_eq!(by_admin.problem(403), "forbidden");
    let wrong =
        transfer(acme.token.clone(), json!({ "member_id": admin_id, "password": "not the password at all" })).await;
    assert_eq!(wrong.problem(403), "not_confirmed");
    let to_invited = transfer(acme.token.clone(), json!({ "member_id": invited, "password": PASSWORD })).await;
    assert_eq!(to_invited.problem(409), "member_not_active");

    let done =
        transfer(acme.token.clone(), json!({ "member_id": admin_id, "password": PASSWORD, "memo": "moving on" })).await;
    assert_eq!(done.ok(200)["role"], "owner");
    let old = s.get(&format!("/v1/members/{}", acme.owner_id), Some(&admin_token)).await;
    assert_eq!(old.ok(200)["role"], "admin");
    // Exactly one owner.
    let owners = s.get("/v1/members?role=owner", Some(&admin_token)).await;
    let ids: Vec<&str> =
        owners.ok(200)["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [admin_id.as_str()]);
    // The old owner's session goes on as an Admin, and can no longer hand anything over.
    let again = transfer(acme.token.clone(), json!({ "member_id": acme.owner_id, "password": PASSWORD })).await;
    assert_eq!(again.problem(403), "forbidden");
    // Both were told.
    let owner_email = s.get("/v1/me", Some(&acme.token)).await.ok(200)["member"]["email"].as_str().unwrap().to_owned();
    for address in [owner_email, format!("admin@{w}.test")] {
        let mail = s.mail_to(&address).await;
        assert!(mail.to_string().contains("the account owner changed"), "{mail}");
    }
    assert!(s.audit_actions(&acme.id).await.contains(&"account.owner_changed".to_owned()));
}
