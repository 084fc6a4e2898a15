//! Email domains an organization claims (SPEC §5): one spelling for each domain, the public-mail
//! domains nobody may claim unforced, and the one matching rule every user-creation path uses.
use super::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A domain in its one stored form: ASCII (IDNA, Punycode for other scripts), lower case, no
/// trailing dot, at least two labels of letters, digits and inner hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailDomain(String);

/// RFC 1035's limit on a name, in its ASCII form.
const MAX_LEN: usize = 253;

impl EmailDomain {
    /// `bücher.example`, `XN--BCHER-KVA.example.` and `xn--bcher-kva.example` are one domain.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new(field, "invalid", format!("{field} is not a domain such as example.com"));
        let trimmed = raw.trim();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        // Bounded before the IDNA mapping, which grows with its input.
        if trimmed.is_empty() || trimmed.chars().count() > MAX_LEN {
            return Err(invalid());
        }
        let ascii = idna::domain_to_ascii_cow(trimmed.as_bytes(), idna::AsciiDenyList::URL).map_err(|_| invalid())?;
        let labels: Vec<&str> = ascii.split('.').collect();
        let ldh = |l: &&str| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        // The top level starts with a letter (so no address is taken for a domain).
        let top_is_name = labels.last().is_some_and(|t| t.bytes().next().is_some_and(|b| b.is_ascii_lowercase()));
        if ascii.len() > MAX_LEN || labels.len() < 2 || !labels.iter().all(ldh) || !top_is_name {
            return Err(invalid());
        }
        Ok(Self(ascii.into_owned()))
    }

    /// The domain of an address Roster already accepted (`Email` is lower-case ASCII).
    pub fn of(email: &super::email::Email) -> Option<Self> {
        Self::parse("email", email.domain()).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The labels from the top down, each ended by a dot (`com.acme.eu.`): the addresses of a
    /// domain and of all its subdomains share the domain's form as a prefix.
    pub fn reversed(&self) -> String {
        self.0.rsplit('.').flat_map(|l| [l, "."]).collect()
    }

    /// The domain as people read it (`bücher.example`).
    pub fn unicode(&self) -> String {
        idna::domain_to_unicode(&self.0).0
    }

    /// Public mail services: anyone can have an address there, so linking by it would put
    /// strangers into one organization.
    pub fn is_public(&self) -> bool {
        PUBLIC.binary_search(&self.0.as_str()).is_ok()
    }

    /// The domains that would claim an address at this domain, most specific first:
    /// `a.eu.acme.com` → `a.eu.acme.com`, `eu.acme.com`, `acme.com` (never a bare top level).
    pub fn candidates(&self) -> Vec<EmailDomain> {
        let mut out = vec![self.clone()];
        let mut rest = self.0.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if !parent.contains('.') {
                break;
            }
            out.push(Self(parent.to_owned()));
            rest = parent;
        }
        out
    }
}

impl fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Of the claimed candidates, the one that wins: the most specific (the longest).
pub fn most_specific<'a, T>(claimed: impl IntoIterator<Item = (&'a EmailDomain, T)>) -> Option<T> {
    claimed.into_iter().max_by_key(|(d, _)| d.0.len()).map(|(_, t)| t)
}

/// Public mail domains, sorted (binary search). Kept here, in code, so a change is reviewed.
pub const PUBLIC: &[&str] = &[
    "163.com",
    "aim.com",
    "aol.com",
    "daum.net",
    "fastmail.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hanmail.net",
    "hey.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.de",
    "hotmail.fr",
    "icloud.com",
    "live.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "nate.com",
    "naver.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "rambler.ru",
    "t-online.de",
    "tutanota.com",
    "web.de",
    "yahoo.co.jp",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.fr",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_reversed_prefixes_its_subdomains_only() {
        let d = |x: &str| EmailDomain::parse("d", x).unwrap().reversed();
        assert_eq!(d("eu.acme.com"), "com.acme.eu.");
        assert!(d("eu.acme.com").starts_with(&d("acme.com")));
        assert!(!d("acmeco.com").starts_with(&d("acme.com")));
    }

    fn d(raw: &str) -> EmailDomain {
        EmailDomain::parse("domain", raw).unwrap()
    }

    #[test]
    fn one_spelling_per_domain() {
        assert_eq!(d("Acme.COM").as_str(), "acme.com");
        assert_eq!(d(" acme.com. ").as_str(), "acme.com");
        assert_eq!(d("bücher.example"), d("xn--bcher-kva.example"));
        assert_eq!(d("BÜCHER.example.").as_str(), "xn--bcher-kva.example");
        assert_eq!(d("xn--bcher-kva.example").unicode(), "bücher.example");
        // Full-width dots and letters are mapped by IDNA to their ASCII forms.
        assert_eq!(d("ａｃｍｅ。com").as_str(), "acme.com");
    }

    #[test]
    fn what_is_not_a_domain() {
        for bad in [
            "",
            ".",
            "com",
            "acme..com",
            "-acme.com",
            "acme-.com",
            "ac me.com",
            "acme.com/x",
            "ann@acme.com",
            "127.0.0.1",
            "acme.c_m",
            "*.acme.com",
            "acme.com..",
            &format!("{}.com", "a".repeat(64)),
            &format!("{}com", "a.".repeat(130)),
            "\u{0}.com",
            "xn--a.com",
        ] {
            assert!(EmailDomain::parse("domain", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn public_domains_are_known_and_the_list_is_sorted() {
        assert!(PUBLIC.windows(2).all(|w| w[0] < w[1]));
        for p in ["gmail.com", "GMAIL.com.", "outlook.com", "naver.com", "qq.com", "icloud.com"] {
            assert!(d(p).is_public(), "{p}");
        }
        assert!(!d("acme.com").is_public());
        assert!(!d("mail.gmail.com").is_public(), "a subdomain of a public one is someone's own");
    }

    #[test]
    fn candidates_run_from_most_to_least_specific_and_stop_above_the_top_level() {
        let c: Vec<String> = d("a.eu.acme.com").candidates().iter().map(ToString::to_string).collect();
        assert_eq!(c, ["a.eu.acme.com", "eu.acme.com", "acme.com"]);
        assert_eq!(d("acme.com").candidates(), [d("acme.com")]);
    }

    #[test]
    fn the_most_specific_claim_wins() {
        let (eu, root) = (d("eu.acme.com"), d("acme.com"));
        assert_eq!(most_specific([(&root, "acme"), (&eu, "acme-eu")]), Some("acme-eu"));
        assert_eq!(most_specific([(&root, "acme")]), Some("acme"));
        assert_eq!(most_specific::<&str>([]), None);
    }

    #[test]
    fn an_address_gives_its_domain() {
        let e = crate::domain::email::Email::parse("email", "Ann@EU.Acme.com").unwrap();
        assert_eq!(EmailDomain::of(&e), Some(d("eu.acme.com")));
    }
}
