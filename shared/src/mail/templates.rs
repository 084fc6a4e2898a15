//! The emails Roster sends, rendered in the account's language, zone and date format.
use super::Mail;
use super::i18n::t;
use crate::domain::locale::Locale;
use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

pub struct InvitationMail<'a> {
    pub locale: &'a Locale,
    pub company: &'a str,
    pub inviter: &'a str,
    pub invitee_first_name: &'a str,
    pub link: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub fn invitation(m: &InvitationMail<'_>) -> Mail {
    let lang = m.locale.language;
    let expires = m.locale.format_datetime(m.expires_at);
    let greeting = t(lang, "invitation-greeting", &[("name", m.invitee_first_name)]);
    let body = t(lang, "invitation-body", &[("inviter", m.inviter), ("company", m.company)]);
    let action = t(lang, "invitation-action", &[]);
    let expiry = t(lang, "invitation-expiry", &[("expires", &expires)]);
    let ignore = t(lang, "invitation-ignore", &[]);
    Mail {
        subject: t(lang, "invitation-subject", &[("company", m.company)]),
        text: format!("{greeting}\n\n{body}\n\n{action}: {link}\n\n{expiry}\n{ignore}\n", link = m.link),
        html: format!(
            "<!doctype html><html lang=\"{tag}\"><body style=\"font-family:sans-serif\">\
             <p>{greeting}</p><p>{body}</p>\
             <p><a href=\"{link}\" style=\"display:inline-block;padding:10px 16px;background:#2457d6;color:#fff;text-decoration:none;border-radius:4px\">{action}</a></p>\
             <p>{expiry}<br>{ignore}</p></body></html>",
            tag = lang.tag(),
            greeting = text(&greeting),
            body = text(&body),
            link = attr(m.link),
            action = text(&action),
            expiry = text(&expiry),
            ignore = text(&ignore),
        ),
    }
}

pub struct OwnerChangedMail<'a> {
    pub locale: &'a Locale,
    pub company: &'a str,
    pub old_owner: &'a str,
    pub new_owner: &'a str,
}

/// To both the old and the new owner.
pub fn owner_changed(m: &OwnerChangedMail<'_>) -> Mail {
    let lang = m.locale.language;
    let args = [("company", m.company), ("old_owner", m.old_owner), ("new_owner", m.new_owner)];
    let body = t(lang, "owner-changed-body", &args);
    Mail {
        subject: t(lang, "owner-changed-subject", &args),
        text: format!("{body}\n"),
        html: format!(
            "<!doctype html><html lang=\"{tag}\"><body style=\"font-family:sans-serif\"><p>{body}</p></body></html>",
            tag = lang.tag(),
            body = text(&body),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::locale::{DateFormat, Language, TimeZone};
    use chrono::TimeZone as _;

    fn render(language: Language, company: &str) -> Mail {
        let locale = Locale {
            language,
            time_zone: TimeZone::parse("tz", "Asia/Seoul").unwrap(),
            date_format: DateFormat::YearFirst,
        };
        invitation(&InvitationMail {
            locale: &locale,
            company,
            inviter: "Ann Lee",
            invitee_first_name: "Bo",
            link: "https://roster.test/invitations/accept?token=abc&x=1",
            expires_at: Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap(),
        })
    }

    #[test]
    fn invitation_is_written_in_the_account_language_and_zone() {
        for lang in crate::mail::i18n::translated() {
            let mail = render(lang, "Acme");
            assert!(
                mail.text.contains("Bo") && mail.text.contains("Acme") && mail.text.contains("Ann Lee"),
                "{mail:?}"
            );
            assert!(mail.text.contains("2026.12.01 08:30 KST"), "{}", mail.text);
            assert!(mail.text.contains("https://roster.test/invitations/accept?token=abc&x=1"));
            assert!(!mail.text.contains('{') && !mail.html.contains("{ $"), "placeholder left: {mail:?}");
        }
        assert!(render(Language::Ko, "Acme").subject.contains("초대"));
    }

    #[test]
    fn owner_change_is_written_in_every_translated_language() {
        let locale = |language| Locale {
            language,
            time_zone: TimeZone::parse("tz", "UTC").unwrap(),
            date_format: DateFormat::YearFirst,
        };
        for lang in crate::mail::i18n::translated() {
            let l = locale(lang);
            let mail =
                owner_changed(&OwnerChangedMail { locale: &l, company: "Acme", old_owner: "Ann", new_owner: "Bo" });
            assert!(mail.text.contains("Acme") && mail.text.contains("Ann") && mail.text.contains("Bo"), "{mail:?}");
            assert!(!mail.text.contains('{') && !mail.subject.contains('{'), "placeholder left: {mail:?}");
        }
    }

    #[test]
    fn names_cannot_inject_html() {
        let mail = render(Language::En, "<script>alert(1)</script>");
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(mail.html.contains("token=abc&amp;x=1"));
    }
}
