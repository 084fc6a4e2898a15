//! The shapes of the strings Roster accepts, written once. Validators match input against these
//! patterns and the OpenAPI document publishes the same patterns and lengths, so a client (or a
//! fuzzer) reading the document knows exactly what is accepted.
//!
//! Patterns use only the syntax ECMAScript, Python's `re` and Rust's regex engines read alike:
//! classes with `\uXXXX` escapes, groups, counted repetition, `^`/`$`. Values are trimmed before
//! use, so every pattern allows Rust's white space (`char::is_whitespace`) around the value;
//! lengths count the characters as sent.
use super::FieldError;
use regex_lite::Regex;
use std::sync::OnceLock;

/// Rust's `White_Space` (what `str::trim` removes), spelled out: `\s` differs between engines.
macro_rules! ws {
    () => {
        r"\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}
/// Control characters (`char::is_control`).
macro_rules! ctrl {
    () => {
        r"\u0000-\u001F\u007F-\u009F"
    };
}
/// Control characters except the line feed.
macro_rules! ctrl_but_lf {
    () => {
        r"\u0000-\u0009\u000B-\u001F\u007F-\u009F"
    };
}
/// One DNS label: letters, digits, inner hyphens, at most 63.
macro_rules! label {
    () => {
        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    };
}

/// A phone number as people type it (see `PHONE`).
macro_rules! phone {
    () => {
        concat!("[", ws!(), r"]*\+?[ .()-]*(?:[0-9][ .()-]*){6,20}[", ws!(), "]*")
    };
}

pub struct Format {
    pub pattern: &'static str,
    pub min_chars: usize,
    pub max_chars: usize,
    regex: OnceLock<Option<Regex>>,
}

impl Format {
    const fn new(pattern: &'static str, min_chars: usize, max_chars: usize) -> Self {
        Self { pattern, min_chars, max_chars, regex: OnceLock::new() }
    }

    /// Whether `raw`, as sent, has this shape (the document's `pattern` and lengths).
    pub fn matches(&self, raw: &str) -> bool {
        let n = raw.chars().count();
        // A pattern that does not compile is caught by the unit test; at run time it refuses.
        let regex = self.regex.get_or_init(|| Regex::new(self.pattern).ok());
        (self.min_chars..=self.max_chars).contains(&n) && regex.as_ref().is_some_and(|r| r.is_match(raw))
    }

    /// The trimmed value, or why it is refused: `required` (blank), `too_long`, or `invalid`
    /// with `what` saying what the field holds.
    pub fn check<'a>(&self, field: &str, raw: &'a str, what: &str) -> Result<&'a str, FieldError> {
        let value = raw.trim();
        if value.is_empty() && self.min_chars > 0 {
            return Err(FieldError::new(field, "required", format!("{field} is blank")));
        }
        if raw.chars().count() > self.max_chars {
            let max = self.max_chars;
            return Err(FieldError::new(field, "too_long", format!("{field} has at most {max} characters")));
        }
        if !self.matches(raw) {
            return Err(FieldError::new(field, "invalid", format!("{field} {what}")));
        }
        Ok(value)
    }
}

/// One line of free text (a name): not blank, no control characters.
const LINE: &str =
    concat!("^[", ws!(), "]*[^", ctrl!(), ws!(), "](?:[^", ctrl!(), "]*[^", ctrl!(), ws!(), "])?[", ws!(), "]*$");
/// Free text that may be empty and have line breaks (a description, a memo).
const BLOCK: &str = concat!(
    "^[",
    ws!(),
    "]*(?:[^",
    ctrl_but_lf!(),
    ws!(),
    "](?:[^",
    ctrl_but_lf!(),
    "]*[^",
    ctrl_but_lf!(),
    ws!(),
    "])?)?[",
    ws!(),
    "]*$"
);

/// First and last names, API key names, group and role names.
pub static NAME: Format = Format::new(LINE, 1, 100);
/// Custom roles' names (short: they appear in every member list).
pub static ROLE_NAME: Format = Format::new(LINE, 1, 60);
/// Company names and the website's name.
pub static COMPANY: Format = Format::new(LINE, 1, 200);
/// Descriptions of roles and groups.
pub static DESCRIPTION: Format = Format::new(BLOCK, 0, 500);
/// Why a change was made, kept in the system log.
pub static MEMO: Format = Format::new(BLOCK, 0, 1000);
/// A ticket's reference in an assignment.
pub static REFERENCE: Format = Format::new(LINE, 1, 200);
/// The member search: like a name, or blank for everyone.
pub static SEARCH: Format = Format::new(
    concat!("^[", ws!(), "]*(?:[^", ctrl!(), ws!(), "](?:[^", ctrl!(), "]*[^", ctrl!(), ws!(), "])?)?[", ws!(), "]*$"),
    0,
    100,
);
/// The system log's exact filters (an actor's id, an action or its prefix), taken as sent.
pub static FILTER: Format = Format::new(concat!("^[^", ctrl!(), "]+$"), 1, 200);
/// A page cursor as Roster makes them (signed, opaque).
pub static CURSOR: Format = Format::new(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$", 3, 2000);

/// The HTML standard's "valid e-mail address", with a dotted domain (no `localhost`); at most
/// 254 characters (RFC 5321's forward path).
pub static EMAIL: Format = Format::new(
    concat!("^[", ws!(), r"]*[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@", label!(), r"(?:\.", label!(), ")+[", ws!(), "]*$"),
    1,
    254,
);

/// The account's web address: lowercase letters and digits, taken as sent (no trimming).
pub static WEB_ADDRESS: Format = Format::new("^[a-z0-9]{3,40}$", 3, 40);

/// A phone number as people type it: 6–20 digits, a leading `+`, spaces, dots, dashes and
/// parentheses.
pub static PHONE: Format = Format::new(concat!("^", phone!(), "$"), 1, 100);
/// The same, or blank (which removes the number).
pub static PHONE_OR_BLANK: Format = Format::new(concat!("^(?:", phone!(), "|[", ws!(), "]*)$"), 0, 100);

/// An image address: absolute https with a host, no credentials in the host, no white space,
/// control characters or characters that could leave an HTML attribute.
pub static IMAGE_URL: Format = Format::new(
    concat!(
        "^[",
        ws!(),
        "]*https://[^",
        ctrl!(),
        ws!(),
        r#""<>\\@/?#]+(?:[/?#][^"#,
        ctrl!(),
        ws!(),
        r#""<>\\]*)?["#,
        ws!(),
        "]*$"
    ),
    9,
    2000,
);

/// A website: absolute http or https with a host, no credentials, white space or characters
/// that could leave an HTML attribute.
pub static WEBSITE: Format = Format::new(
    concat!(
        "^[",
        ws!(),
        "]*https?://[^",
        ctrl!(),
        ws!(),
        r#""<>\\@/?#]+(?:[/?#][^"#,
        ctrl!(),
        ws!(),
        r#""<>\\]*)?["#,
        ws!(),
        "]*$"
    ),
    8,
    2000,
);
/// An organization's summary.
pub static SUMMARY: Format = Format::new(BLOCK, 0, 2000);
/// A postal address (several lines).
pub static ADDRESS: Format = Format::new(BLOCK, 0, 500);
/// A social-network handle or profile address.
pub static HANDLE: Format = Format::new(LINE, 1, 200);
/// An email domain as the document describes it: letters, digits and inner hyphens in dotted
/// labels, any case, a trailing dot allowed. (Domains in other scripts are read too and stored
/// in their IDNA form; `EmailDomain::parse` is the full rule.)
pub static DOMAIN: Format =
    Format::new(concat!("^(?:", label!(), r"\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$"), 3, 253);

/// A source system's id for a person (a directory entry's, a SCIM client's): no white space or
/// control characters.
pub static EXTERNAL_ID: Format = Format::new(concat!("^[^", ctrl!(), ws!(), "]+$"), 1, 256);

/// An external system's agent ID (taken as sent; it is part of a URL path).
pub static AGENT_ID: Format = Format::new("^[A-Za-z0-9._:@-]+$", 1, 128);
/// Ids as Roster prints them (a UUID's 32 hex digits).
pub static ID: Format = Format::new("^[0-9a-fA-F]{32}$", 32, 32);
/// A role someone can be given: a basic role's id or a custom role's id.
pub static ROLE: Format = Format::new("^(?:admin|supervisor|pro_agent|agent|viewer|[0-9a-fA-F]{32})$", 5, 32);
/// Any role, the owner's too (the member list's filter).
pub static ANY_ROLE: Format = Format::new("^(?:owner|admin|supervisor|pro_agent|agent|viewer|[0-9a-fA-F]{32})$", 5, 32);

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&Format; 24] = [
        &PHONE_OR_BLANK,
        &EXTERNAL_ID,
        &WEBSITE,
        &SUMMARY,
        &ADDRESS,
        &HANDLE,
        &DOMAIN,
        &ANY_ROLE,
        &AGENT_ID,
        &NAME,
        &ROLE_NAME,
        &COMPANY,
        &SEARCH,
        &FILTER,
        &CURSOR,
        &DESCRIPTION,
        &MEMO,
        &REFERENCE,
        &EMAIL,
        &WEB_ADDRESS,
        &PHONE,
        &IMAGE_URL,
        &ID,
        &ROLE,
    ];

    #[test]
    fn every_pattern_compiles() {
        for f in ALL {
            assert!(Regex::new(f.pattern).is_ok(), "{}", f.pattern);
        }
    }

    /// The patterns say in one expression what the trimming rules say in code: compare them on
    /// white space and control characters of every kind, at both ends and inside.
    #[test]
    fn line_pattern_agrees_with_trimming_and_control_rules() {
        let pieces =
            ["a", "가", " ", "\t", "\n", "\u{85}", "\u{a0}", "\u{2028}", "\u{3000}", "\u{1c}", "\u{0}", "\u{7f}"];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let raw = format!("{a}{b}{c}");
                    let t = raw.trim();
                    let by_rule = !t.is_empty() && !t.chars().any(char::is_control);
                    assert_eq!(NAME.matches(&raw), by_rule, "{raw:?}");
                    let block_rule = !t.chars().any(|c| c.is_control() && c != '\n');
                    assert_eq!(DESCRIPTION.matches(&raw), block_rule, "{raw:?}");
                }
            }
        }
    }

    #[test]
    fn checks_name_what_is_wrong() {
        assert_eq!(NAME.check("first_name", "  Ann ", "is a name").unwrap(), "Ann");
        assert_eq!(NAME.check("first_name", "   ", "").unwrap_err().code, "required");
        assert_eq!(NAME.check("first_name", &"a".repeat(101), "").unwrap_err().code, "too_long");
        assert_eq!(NAME.check("first_name", "a\u{0}b", "").unwrap_err().code, "invalid");
        // Characters, not bytes.
        assert!(NAME.matches(&"가".repeat(100)));
        assert_eq!(DESCRIPTION.check("description", "  ", "").unwrap(), "");
    }

    #[test]
    fn emails() {
        for ok in ["ann@example.com", " Ann.Lee+x@Sub.Example.CO ", "o'neil@x.io"] {
            assert!(EMAIL.matches(ok), "{ok}");
        }
        for bad in ["", "ann", "ann@", "@example.com", "ann@localhost", "Ann <ann@example.com>", "a b@example.com"] {
            assert!(!EMAIL.matches(bad), "{bad}");
        }
        assert!(!EMAIL.matches(&format!("{}@example.com", "a".repeat(250))));
    }

    #[test]
    fn phones_urls_and_ids() {
        for ok in ["+82 2-123-4567", "(02) 123.4567", " 0212345678 "] {
            assert!(PHONE.matches(ok), "{ok}");
        }
        for bad in ["12345", "1 +2345678", "12\t345678", "phone 123456", &"1".repeat(21)] {
            assert!(!PHONE.matches(bad), "{bad}");
        }
        assert!(IMAGE_URL.matches("https://cdn.acme.test/logo.png?v=1"));
        for bad in ["http://x.test/a.png", "https://", "https://user:pw@acme.test/x.png", "https://a.test/\"x"] {
            assert!(!IMAGE_URL.matches(bad), "{bad}");
        }
        assert!(ID.matches(&uuid::Uuid::now_v7().as_simple().to_string()));
        assert!(ROLE.matches("pro_agent") && !ROLE.matches("owner") && !ROLE.matches("agents"));
    }
}
