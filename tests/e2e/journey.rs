//! The walking skeleton's story: sign up → invite → email → accept page → password → login.
use roster_tests::*;
use serde_json::json;

#[tokio::test]
async fn a_new_account_invites_a_member_who_accepts_and_logs_in() {
    let s = stack().await;
    // GIVEN an account whose owner is logged in
    let acme = s.account().await;
    let me = s.get("/v1/me", Some(&acme.token)).await;
    assert_eq!(me.ok(200)["member"]["role"], "owner");

    // WHEN the owner invites an agent
    let email = format!("agent@{}.test", acme.web_address);
    let invited = s.invite(&acme, &email, "agent").await;
    let invited = invited.ok(201).clone();
    assert_eq!(invited["member"]["status"], "invited");
    assert_eq!(invited["email_sent"], true);
    let member_id = invited["member"]["id"].as_str().unwrap().to_owned();

    // THEN the invitation email is in the mailbox, with a link to the accept page
    let mail = s.mail_to(&email).await;
    assert_eq!(mail["subject"], "Acme Support invited you to join their support team");
    assert!(mail["body"]["text"].as_str().unwrap().contains(&format!("{}/invitations/accept?token=", s.api)));
    assert!(mail["body"]["html"].as_str().unwrap().contains("Set your password"));
    let token = token_from(&mail);

    // AND the link opens a form in a browser
    let page = s.get(&format!("/invitations/accept?token={token}"), None).await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(
        page.text.contains("<form method=\"post\" action=\"/invitations/accept\"") && page.text.contains("Hello Ivy")
    );

    // WHEN the invitee submits a weak password, the form comes back with the reason
    let weak = s.accept(&token, "password1234", "password1234").await;
    assert_eq!(weak.status, 422);
    assert!(weak.text.contains("too common"));

    // AND WHEN they submit a good one, the member is active
    let done = s.accept(&token, "a much better passphrase", "a much better passphrase").await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("Your password is set"));
    let member = s.get(&format!("/v1/members/{member_id}"), Some(&acme.token)).await;
    assert_eq!(member.ok(200)["status"], "active");

    // THEN the member logs in (email case does not matter) and sees themself
    let login = s.login(&acme.web_address, &email.to_uppercase(), "a much better passphrase").await;
    let agent_token = login.ok(200)["access_token"].as_str().unwrap().to_owned();
    let me = s.get("/v1/me", Some(&agent_token)).await;
    assert_eq!(me.ok(200)["member"]["email"], email);
    assert_eq!(me.body["account"]["web_address"], acme.web_address.as_str());

    // AND the link cannot be used twice
    let again = s.get(&format!("/invitations/accept?token={token}"), None).await;
    assert_eq!(again.status, 410);
    assert!(again.text.contains("already used"));
    let resubmit = s.accept(&token, "an attacker passphrase", "an attacker passphrase").await;
    assert_eq!(resubmit.status, 410);
    assert_eq!(s.login(&acme.web_address, &email, "an attacker passphrase").await.status, 401);

    // AND every change left its audit entry
    let actions = s.audit_actions(&acme.id).await;
    for expected in ["account.created", "member.logged_in", "invitation.created", "invitation.accepted"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} missing from {actions:?}");
    }
}

#[tokio::test]
async fn invitations_are_written_in_the_account_language_and_time_zone() {
    let s = stack().await;
    let acme = s.account_with(json!({ "language": "ko", "time_zone": "Asia/Seoul" })).await;
    let email = format!("ko@{}.test", acme.web_address);
    let invited = s.invite(&acme, &email, "viewer").await;
    let expires = invited.ok(201)["expires_at"].as_str().unwrap().to_owned();

    let mail = s.mail_to(&email).await;
    assert_eq!(mail["subject"], "Acme Support에서 지원팀에 초대했습니다");
    let text = mail["body"]["text"].as_str().unwrap();
    // Seven days from now, shown in Seoul time in the account's date format.
    let at = chrono::DateTime::parse_from_rfc3339(&expires).unwrap().with_timezone(&chrono_tz::Asia::Seoul);
    assert!(text.contains(&at.format("%Y.%m.%d %H:%M KST").to_string()), "{text}");

    let page = s.get(&format!("/invitations/accept?token={}", token_from(&mail)), None).await;
    assert!(page.text.contains("<html lang=\"ko\">") && page.text.contains("비밀번호"), "{}", page.text);
}

#[tokio::test]
async fn unknown_links_get_a_clear_page_not_an_error_dump() {
    let s = stack().await;
    for page in ["/invitations/accept", "/account/verify", "/password-reset"] {
        for token in ["nope", "%00%ff", &"a".repeat(5000)] {
            let answer = s.get(&format!("{page}?token={token}"), None).await;
            assert_eq!(answer.status, 404, "{page} {token}");
            assert!(answer.content_type.starts_with("text/html") && answer.text.contains("This link does not work"));
        }
        // No token at all (or an empty one) is an incomplete link: 400, the same page.
        for query in ["", "?token="] {
            let answer = s.get(&format!("{page}{query}"), None).await;
            assert_eq!(answer.status, 400, "{page}{query}");
            assert!(answer.text.contains("This link does not work"));
        }
        let post = s.send(s.http.post(format!("{}{page}", s.api)).body("\u{0}garbage=%%%")).await;
        assert_eq!(post.status, 400, "{page}");
        assert!(post.text.contains("This link does not work"));
        let post = s.send(s.http.post(format!("{}{page}", s.api)).form(&[("token", "nope")])).await;
        assert_eq!(post.status, 404, "{page}");
    }
}
