//! Free-text fields (names, company names): trimmed, non-empty, bounded, no control characters.
use super::FieldError;

pub fn required_text(field: &str, raw: &str, max_chars: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "required", format!("{field} is required")));
    }
    if value.chars().count() > max_chars {
        return Err(FieldError::new(field, "too_long", format!("{field} has at most {max_chars} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, "invalid", format!("{field} must not contain control characters")));
    }
    Ok(value.to_owned())
}

/// A free description (of a role, a group): may be empty, may have line breaks.
pub fn description(raw: &str) -> Result<String, FieldError> {
    let d = raw.trim();
    if d.chars().count() > DESCRIPTION_MAX {
        return Err(FieldError::new(
            "description",
            "too_long",
            format!("description has at most {DESCRIPTION_MAX} characters"),
        ));
    }
    if d.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new("description", "invalid", "description must not contain control characters"));
    }
    Ok(d.to_owned())
}

pub const DESCRIPTION_MAX: usize = 500;

/// Names of people: first and last names in every form the product shows.
pub const NAME_MAX: usize = 100;
/// Company or team names.
pub const COMPANY_MAX: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(required_text("first_name", "  Ann ", 10).unwrap(), "Ann");
        assert_eq!(required_text("first_name", "   ", 10).unwrap_err().code, "required");
        assert_eq!(required_text("first_name", "abcdefghijk", 10).unwrap_err().code, "too_long");
        assert_eq!(required_text("first_name", "a\u{0}b", 10).unwrap_err().code, "invalid");
        // Characters, not bytes: ten Korean syllables fit in ten.
        assert!(required_text("first_name", "가나다라마바사아자차", 10).is_ok());
    }

    #[test]
    fn descriptions_may_be_empty_and_have_line_breaks() {
        assert_eq!(description("  ").unwrap(), "");
        assert!(description("line one\nline two").is_ok());
        assert_eq!(description("a\u{7}b").unwrap_err().code, "invalid");
        assert_eq!(description(&"x".repeat(DESCRIPTION_MAX + 1)).unwrap_err().code, "too_long");
    }
}
