//! Email addresses compare case-insensitively by construction (lldap's newtype idea).
use super::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically valid address, stored lower-cased so uniqueness checks are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let address = super::format::EMAIL.check(field, raw, "is not an email address such as name@example.com")?;
        Ok(Self(address.to_lowercase()))
    }

    /// An address no member has (the `.invalid` top-level domain is reserved): a stand-in for
    /// malformed input on paths that must not reveal what was wrong.
    pub fn placeholder() -> Self {
        Self("nobody@roster.invalid".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let e = Email::parse("email", "  Ann.Lee@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ann.lee@example.com");
        assert_eq!(e.domain(), "example.com");
    }

    #[test]
    fn malformed_addresses_are_refused_with_a_reason() {
        for bad in ["", "ann", "ann@", "@example.com", "ann@localhost", "Ann <ann@example.com>", "a b@example.com"] {
            let err = Email::parse("email", bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse("email", &long).unwrap_err().code, "too_long");
    }
}
