//! The account's web address (slug): SPEC §1.
use super::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebAddress(String);

const MIN: usize = 3;
const MAX: usize = 40;

/// Names that would collide with product hosts or confuse people.
pub const RESERVED: &[&str] = &[
    "www",
    "api",
    "admin",
    "app",
    "mail",
    "email",
    "smtp",
    "imap",
    "pop",
    "ftp",
    "help",
    "support",
    "status",
    "docs",
    "blog",
    "static",
    "assets",
    "cdn",
    "auth",
    "login",
    "signup",
    "account",
    "accounts",
    "billing",
    "dashboard",
    "console",
    "roster",
    "system",
    "root",
    "test",
    "dev",
    "staging",
    "prod",
    "localhost",
    "null",
    "undefined",
    "security",
    "abuse",
    "postmaster",
    "webmaster",
    "hostmaster",
    "noreply",
    "invitations",
];

impl WebAddress {
    /// No trimming or case folding: an address with upper case is refused, not silently changed,
    /// so the owner sees exactly what their address will be.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if len == 0 {
            return Err(FieldError::new(field, "required", "a web address is required"));
        }
        if !raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                "invalid",
                "a web address has only lowercase letters a–z and digits 0–9",
            ));
        }
        if !(MIN..=MAX).contains(&len) {
            return Err(FieldError::new(field, "length", format!("a web address has {MIN} to {MAX} characters")));
        }
        if RESERVED.contains(&raw) {
            return Err(FieldError::new(
                field,
                "reserved",
                format!("\"{raw}\" is reserved; choose another web address"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_address_rules() {
        let cases: &[(&str, Option<&str>)] = &[
            ("acme", None),
            ("acme2026", None),
            ("abc", None),
            (&"a".repeat(40), None),
            ("", Some("required")),
            ("ab", Some("length")),
            (&"a".repeat(41), Some("length")),
            ("Acme", Some("invalid")),
            ("acme-support", Some("invalid")),
            ("acme_support", Some("invalid")),
            ("acme.com", Some("invalid")),
            (" acme", Some("invalid")),
            ("ácme", Some("invalid")),
            ("한국어", Some("invalid")),
            ("www", Some("reserved")),
            ("admin", Some("reserved")),
            ("api", Some("reserved")),
        ];
        for (raw, expected) in cases {
            let got = WebAddress::parse("web_address", raw).err().map(|e| e.code);
            assert_eq!(got, *expected, "{raw:?}");
        }
    }
}
