//! Directory sync against the suite's real Active Directory (a Samba AD DC) with the AD preset
//! (issue 13): objectGUID identity, the disabled bit, uSNChanged incremental runs, deletions
//! found by the full pass — over LDAPS with the test CA, as a customer's connection would be.
use super::directory_sync::{count, people, start_and_wait as run};
use reqwest::Method;
use roster::service::Services;
use roster_tests::ad::{AdPerson, DISABLED, ENABLED, TestAd};
use roster_tests::*;
use serde_json::json;

#[tokio::test]
async fn active_directory_people_keep_their_object_guid_follow_the_disabled_bit_and_sync_by_usn() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut ad = TestAd::connect().await;
    let unit = ad.unit("ad").await;
    // sAMAccountName is unique in the domain and at most 20 characters.
    let tag = &unit[3..11];
    let sam = |i: usize| format!("{tag}-{i}");
    let staff: Vec<AdPerson> = (0..12)
        .map(|i| AdPerson { sam: sam(i), display_name: format!("Agent Number{i}"), mail: format!("a{i}@ad-sync.test") })
        .collect();
    ad.add_people(&unit, &staff).await;
    let body = json!({
        "name": "Samba AD", "url": ad.url, "security": "ldaps", "ca_certificate": ad.ca,
        "bind_dn": ad.admin, "bind_password": ad.password, "base_dns": [unit], "preset": "active_directory",
    });
    let dir = s.post("/v1/directories", Some(&acme.token), body).await.ok(201)["id"].as_str().unwrap().to_owned();
    let test = s.post(&format!("/v1/directories/{dir}/test"), Some(&acme.token), json!({})).await.ok(200).clone();
    assert_eq!(test["ok"], true, "{test}");

    let first = run(&s, &services, &acme, &dir, json!({})).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!((count(&first, "created"), count(&first, "errors")), (12, 0), "{first}");
    let synced = people(&s, &acme).await;
    assert_eq!(synced["a0@ad-sync.test"]["name"], "Agent Number0", "displayName");
    // The stable id is the objectGUID, read in Microsoft's byte order.
    let guid = ad.object_guid(&TestAd::dn(&unit, &sam(0))).await;
    assert_eq!(synced["a0@ad-sync.test"]["external_id"], guid.to_string());

    // Nothing changed since: nothing read (uSNChanged after the last run's mark).
    let quiet = run(&s, &services, &acme, &dir, json!({})).await;
    assert_eq!((quiet["status"].as_str(), count(&quiet, "read")), (Some("succeeded"), 0), "{quiet}");

    // Two disabled, one renamed, one given a new address: exactly those four are read.
    ad.replace(&TestAd::dn(&unit, &sam(1)), "userAccountControl", DISABLED).await;
    ad.replace(&TestAd::dn(&unit, &sam(2)), "userAccountControl", DISABLED).await;
    ad.replace(&TestAd::dn(&unit, &sam(3)), "displayName", "Agent Renamed").await;
    ad.replace(&TestAd::dn(&unit, &sam(4)), "mail", "a4.new@ad-sync.test").await;
    let changed = run(&s, &services, &acme, &dir, json!({})).await;
    assert_eq!(
        (
            count(&changed, "read"),
            count(&changed, "deactivated"),
            count(&changed, "updated"),
            count(&changed, "created")
        ),
        (4, 2, 2, 0),
        "{changed}"
    );
    let now = people(&s, &acme).await;
    assert_eq!(
        (now["a1@ad-sync.test"]["active"].as_bool(), now["a3@ad-sync.test"]["name"].as_str()),
        (Some(false), Some("Agent Renamed"))
    );
    assert_eq!(now["a4.new@ad-sync.test"]["id"], synced["a4@ad-sync.test"]["id"], "a new address, the same person");

    // Deleted: an incremental run cannot see it; the full pass deactivates it.
    ad.delete(&TestAd::dn(&unit, &sam(5))).await;
    let incremental = run(&s, &services, &acme, &dir, json!({})).await;
    assert_eq!(count(&incremental, "deactivated"), 0, "{incremental}");
    let full = run(&s, &services, &acme, &dir, json!({ "full": true })).await;
    assert_eq!((count(&full, "deactivated"), count(&full, "read")), (1, 11), "{full}");
    assert_eq!(people(&s, &acme).await["a5@ad-sync.test"]["active"], false);

    // Enabled again: the same person, active.
    ad.replace(&TestAd::dn(&unit, &sam(1)), "userAccountControl", ENABLED).await;
    let back = run(&s, &services, &acme, &dir, json!({})).await;
    assert_eq!((count(&back, "reactivated"), count(&back, "read")), (1, 1), "{back}");
    let after = people(&s, &acme).await;
    assert_eq!(
        (after["a1@ad-sync.test"]["active"].as_bool(), &after["a1@ad-sync.test"]["id"]),
        (Some(true), &synced["a1@ad-sync.test"]["id"])
    );
    s.call(Method::DELETE, &format!("/v1/directories/{dir}"), Some(&acme.token), None).await.ok(204);
}

#[tokio::test]
async fn active_directory_groups_give_members_their_roles_and_a_group_change_is_seen_by_the_next_run() {
    let (s, services) = (stack().await, Services::from_env().await.unwrap());
    let acme = s.account().await;
    let mut ad = TestAd::connect().await;
    let unit = ad.unit("adm").await;
    let tag = &unit[3..11];
    let sam = |i: usize| format!("{tag}-m{i}");
    let staff: Vec<AdPerson> = (0..3)
        .map(|i| AdPerson {
            sam: sam(i),
            display_name: format!("Staff Member{i}"),
            mail: format!("m{i}-{tag}@ad-members.test"),
        })
        .collect();
    ad.add_people(&unit, &staff).await;
    let dn = |i: usize| TestAd::dn(&unit, &sam(i));
    let leads = ad.add_group(&unit, &format!("{tag}-leads"), &[&dn(0)]).await;
    let body = json!({
        "name": "Samba AD staff", "url": ad.url, "security": "ldaps", "ca_certificate": ad.ca,
        "bind_dn": ad.admin, "bind_password": ad.password, "base_dns": [unit], "preset": "active_directory",
        "people_become": "members", "role_mapping": [{ "group_dn": leads, "role": "supervisor" }], "default_role": "agent",
    });
    let dir = s.post("/v1/directories", Some(&acme.token), body).await.ok(201)["id"].as_str().unwrap().to_owned();
    let roles = || async {
        let list = s.get("/v1/members?limit=200", Some(&acme.token)).await.ok(200).clone();
        let mut out: Vec<(String, String)> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["source"] == "directory")
            .map(|m| (m["email"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned()))
            .collect();
        out.sort();
        out.into_iter().map(|(_, r)| r).collect::<Vec<_>>()
    };
    let first = run(&s, &services, &acme, &dir, json!({})).await;
    assert_eq!((count(&first, "created"), count(&first, "errors")), (3, 0), "{first}");
    assert_eq!(roles().await, ["supervisor", "agent", "agent"], "memberOf from the DC");

    // Group membership changes only the group's uSNChanged: the scheduled run notices.
    ad.replace_all(&leads, "member", &[&dn(2)]).await;
    let second = run(&s, &services, &acme, &dir, json!({})).await;
    assert_eq!((count(&second, "updated"), count(&second, "errors")), (2, 0), "{second}");
    assert_eq!(roles().await, ["agent", "agent", "supervisor"]);
    let quiet = run(&s, &services, &acme, &dir, json!({})).await;
    assert_eq!(count(&quiet, "read"), 0, "{quiet}");
    s.call(Method::DELETE, &format!("/v1/directories/{dir}"), Some(&acme.token), None).await.ok(204);
}
