//! The emails Roster sends, rendered in the account's language, zone and date format.
use super::Mail;
use super::i18n::t;
use crate::domain::locale::{Language, Locale};
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

/// The invitation as it reads (the template filled with the mail's values).
#[cfg(test)]
pub fn invitation(m: &InvitationMail<'_>) -> Mail {
    let template = invitation_template(m.locale.language).content;
    super::bulk::render(&template, &invitation_data(m))
}

/// The invitation in `lang` as a stored template: the values are `{{{name}}}` placeholders in
/// the text and subject, and `{{{h_name}}}` (the HTML-escaped value) in the HTML part.
pub fn invitation_template(lang: Language) -> super::bulk::StoredTemplate {
    let parts = |p: &str| {
        let v = |name: &str| format!("{{{{{{{p}{name}}}}}}}");
        let (name, inviter, company, expires) = (v("first_name"), v("inviter"), v("company"), v("expires"));
        let greeting = t(lang, "invitation-greeting", &[("name", &name)]);
        let body = t(lang, "invitation-body", &[("inviter", &inviter), ("company", &company)]);
        let action = t(lang, "invitation-action", &[]);
        let expiry = t(lang, "invitation-expiry", &[("expires", &expires)]);
        let ignore = t(lang, "invitation-ignore", &[]);
        let subject = t(lang, "invitation-subject", &[("company", &company)]);
        button_mail(lang, subject, [&greeting, &body], (&action, &v("link")), [&expiry, &ignore])
    };
    let (plain, html) = (parts(""), parts("h_"));
    super::bulk::StoredTemplate::new(
        "invitation",
        lang.tag(),
        Mail { subject: plain.subject, text: plain.text, html: html.html },
    )
}

/// One invitation's values for `invitation_template`: each as written and HTML-escaped.
pub fn invitation_data(m: &InvitationMail<'_>) -> serde_json::Value {
    let expires = m.locale.format_datetime(m.expires_at);
    let mut data = serde_json::Map::new();
    for (name, value) in
        [("first_name", m.invitee_first_name), ("inviter", m.inviter), ("company", m.company), ("expires", &expires)]
    {
        data.insert(name.to_owned(), value.into());
        data.insert(format!("h_{name}"), text(value).into_owned().into());
    }
    data.insert("link".into(), m.link.into());
    data.insert("h_link".into(), attr(m.link).into_owned().into());
    serde_json::Value::Object(data)
}

/// A mail whose point is one link: two paragraphs, the link as a button, two closing lines.
fn button_mail(
    lang: Language,
    subject: String,
    intro: [&str; 2],
    (action, link): (&str, &str),
    close: [&str; 2],
) -> Mail {
    let [greeting, body] = intro;
    let [expiry, ignore] = close;
    Mail {
        subject,
        text: format!("{greeting}\n\n{body}\n\n{action}: {link}\n\n{expiry}\n{ignore}\n"),
        html: format!(
            "<!doctype html><html lang=\"{tag}\"><body style=\"font-family:sans-serif\">\
             <p>{greeting}</p><p>{body}</p>\
             <p><a href=\"{link}\" style=\"display:inline-block;padding:10px 16px;background:#2457d6;color:#fff;text-decoration:none;border-radius:4px\">{action}</a></p>\
             <p>{expiry}<br>{ignore}</p></body></html>",
            tag = lang.tag(),
            greeting = text(greeting),
            body = text(body),
            link = attr(link),
            action = text(action),
            expiry = text(expiry),
            ignore = text(ignore),
        ),
    }
}

/// A one-time link by email: verifying the owner's address, or resetting a password.
/// Messages `<prefix>-subject`, `-greeting`, `-body`, `-action`, `-expiry`, `-ignore`.
pub fn link_mail(
    locale: &Locale,
    company: &str,
    purpose: crate::domain::link::LinkPurpose,
    first_name: &str,
    link: &str,
    expires_at: DateTime<Utc>,
) -> Mail {
    let (lang, id) = (locale.language, purpose.messages());
    let expires = locale.format_datetime(expires_at);
    let args = [("name", first_name), ("company", company), ("expires", expires.as_str())];
    let m = |part: &str| t(lang, &format!("{id}-{part}"), &args);
    let (greeting, body, action, expiry, ignore) = (m("greeting"), m("body"), m("action"), m("expiry"), m("ignore"));
    button_mail(lang, m("subject"), [&greeting, &body], (&action, link), [&expiry, &ignore])
}

/// A one-paragraph notice to the account's people (ownership, web address, deletion).
pub enum Notice<'a> {
    OwnerChanged { old_owner: &'a str, new_owner: &'a str },
    WebAddressChanged { old: &'a str, new: &'a str, at: DateTime<Utc> },
    AccountDeleted { by: &'a str, web_address: &'a str, at: DateTime<Utc> },
}

pub fn notice(locale: &Locale, company: &str, n: &Notice<'_>) -> Mail {
    let lang = locale.language;
    let (id, date, mut args) = match n {
        Notice::OwnerChanged { old_owner, new_owner } => {
            ("owner-changed", String::new(), vec![("old_owner", *old_owner), ("new_owner", *new_owner)])
        }
        Notice::WebAddressChanged { old, new, at } => {
            ("web-address-changed", locale.format_datetime(*at), vec![("old", *old), ("new", *new)])
        }
        Notice::AccountDeleted { by, web_address, at } => {
            ("account-deleted", locale.format_datetime(*at), vec![("name", *by), ("web_address", *web_address)])
        }
    };
    args.extend([("company", company), ("date", date.as_str())]);
    let body = t(lang, &format!("{id}-body"), &args);
    Mail {
        subject: t(lang, &format!("{id}-subject"), &args),
        text: format!("{body}\n"),
        html: format!(
            "<!doctype html><html lang=\"{tag}\"><body style=\"font-family:sans-serif\"><p>{body}</p></body></html>",
            tag = lang.tag(),
            body = text(&body),
        ),
    }
}

/// One account a person belongs to, for the find-web-address mail.
pub struct AccountLink {
    pub company: String,
    pub web_address: String,
}

/// The accounts where an email is a member (sent only to that email).
pub fn find_address(lang: Language, email: &str, accounts: &[AccountLink]) -> Mail {
    let intro = t(lang, "find-address-intro", &[("email", email)]);
    let footer = t(lang, "find-address-footer", &[]);
    let lines: Vec<String> = accounts.iter().map(|a| format!("- {}: {}", a.company, a.web_address)).collect();
    let items: String =
        accounts.iter().map(|a| format!("<li>{}: <b>{}</b></li>", text(&a.company), text(&a.web_address))).collect();
    Mail {
        subject: t(lang, "find-address-subject", &[]),
        text: format!("{intro}\n\n{}\n\n{footer}\n", lines.join("\n")),
        html: format!(
            "<!doctype html><html lang=\"{tag}\"><body style=\"font-family:sans-serif\"><p>{intro}</p><ul>{items}</ul><p>{footer}</p></body></html>",
            tag = lang.tag(),
            intro = text(&intro),
            footer = text(&footer),
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

    /// Every mail Roster sends, in every language: translated (not English unless English),
    /// every placeholder filled, dates in the account's zone and format.
    #[test]
    fn every_template_renders_in_every_language() {
        let english = |m: Render| {
            m(&Locale { language: Language::En, time_zone: TimeZone::utc(), date_format: DateFormat::YearFirst })
        };
        type Render = fn(&Locale) -> Mail;
        let all: [(&str, Render); 7] = [
            ("verify email", |l| {
                let at = Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap();
                link_mail(l, "Acme", crate::domain::link::LinkPurpose::VerifyEmail, "Bo", "https://x.test/v", at)
            }),
            ("password reset", |l| {
                let at = Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap();
                link_mail(l, "Acme", crate::domain::link::LinkPurpose::ResetPassword, "Bo", "https://x.test/r", at)
            }),
            ("invitation", |l| {
                invitation(&InvitationMail {
                    locale: l,
                    company: "Acme",
                    inviter: "Ann Lee",
                    invitee_first_name: "Bo",
                    link: "https://x.test/a",
                    expires_at: Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap(),
                })
            }),
            ("owner changed", |l| {
                notice(l, "Acme", &Notice::OwnerChanged { old_owner: "Ann Lee", new_owner: "Bo Kim" })
            }),
            ("web address changed", |l| {
                let at = Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap();
                notice(l, "Acme", &Notice::WebAddressChanged { old: "acmeold", new: "acmenew", at })
            }),
            ("account deleted", |l| {
                let at = Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap();
                notice(l, "Acme", &Notice::AccountDeleted { by: "Ann Lee", web_address: "acmeold", at })
            }),
            ("find address", |l| {
                let link = AccountLink { company: "Acme".into(), web_address: "acmeold".into() };
                find_address(l.language, "bo@x.test", &[link])
            }),
        ];
        for lang in Language::ALL {
            let locale = Locale {
                language: lang,
                time_zone: TimeZone::parse("tz", "Asia/Seoul").unwrap(),
                date_format: DateFormat::MonthFirst,
            };
            for (name, render) in all {
                let mail = render(&locale);
                let all_text = format!("{}\n{}\n{}", mail.subject, mail.text, mail.html);
                for left in ["{", "}", "$", "-subject", "-body", "-intro", "-greeting", "-action", "-expiry", "-ignore"]
                {
                    assert!(!all_text.contains(left), "{name} in {}: {left:?} left in {all_text}", lang.tag());
                }
                assert!(mail.text.contains("Acme"), "{name} in {}: {}", lang.tag(), mail.text);
                if lang != Language::En {
                    assert_ne!(mail.subject, english(render).subject, "{name} is not translated to {}", lang.tag());
                }
                if matches!(name, "web address changed" | "account deleted" | "verify email" | "password reset") {
                    assert!(mail.text.contains("12.01.2026 08:30 KST"), "{name} in {}: {}", lang.tag(), mail.text);
                }
            }
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
