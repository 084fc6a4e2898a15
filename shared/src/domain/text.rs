//! Free-text fields (names, company names, descriptions): trimmed, bounded, no control
//! characters. The shapes are in `format`, shared with the OpenAPI document.
use super::FieldError;
use super::format::{DESCRIPTION, Format};

/// One line that must not be blank (`format` says how long).
pub fn required_text(field: &str, raw: &str, format: &Format) -> Result<String, FieldError> {
    format.check(field, raw, "must not contain control characters").map(str::to_owned)
}

/// A free description (of a role, a group): may be empty, may have line breaks.
pub fn description(raw: &str) -> Result<String, FieldError> {
    DESCRIPTION
        .check("description", raw, "must not contain control characters other than line breaks")
        .map(str::to_owned)
}
