//! Password policy (SPEC §7): 12–128 characters, not a well-known password.
use super::FieldError;

const MIN: usize = 12;
const MAX: usize = 128;
/// The policy's lengths, for the OpenAPI document.
pub const LENGTH: (usize, usize) = (MIN, MAX);

/// A small list of passwords that attackers try first, lower-cased.
const COMMON: &str = include_str!("common_passwords.txt");

/// A password that satisfies the policy; never logged, never serialized.
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if len < MIN {
            return Err(FieldError::new(field, "too_short", format!("a password has at least {MIN} characters")));
        }
        if len > MAX {
            return Err(FieldError::new(field, "too_long", format!("a password has at most {MAX} characters")));
        }
        if is_common(raw) {
            return Err(FieldError::new(field, "too_common", "this password is too common; choose another"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The list of common passwords.
pub fn common() -> impl Iterator<Item = &'static str> {
    COMMON.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn is_common(raw: &str) -> bool {
    let lower = raw.to_lowercase();
    // Padding a common word with digits or repeating it does not make it strong.
    let core = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c == '!');
    common()
        .any(|common| lower == common || core == common || (core.len() >= 4 && core.split(common).all(str::is_empty)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds() {
        assert_eq!(Password::parse("password", "short").unwrap_err().code, "too_short");
        assert_eq!(Password::parse("password", &"x".repeat(129)).unwrap_err().code, "too_long");
        assert!(Password::parse("password", "correct horse battery").is_ok());
        assert!(Password::parse("password", &"Zq9!".repeat(32)).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_even_when_decorated() {
        for bad in
            ["password1234", "Password1234!", "qwertyuiop123", "123456789012", "iloveyou2026!!", "passwordpassword"]
        {
            assert_eq!(Password::parse("password", bad).unwrap_err().code, "too_common", "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("password", "correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
