//! Agent IDs (SPEC §2): external identifiers (a voice system's, a chat system's) mapped to
//! members with an agent-like role; one member at a time per ID, several IDs per member.
use super::FieldError;

/// Letters, digits and `. _ : @ -`: what telephony and chat systems use, and safe in a URL path.
pub fn parse(raw: &str) -> Result<String, FieldError> {
    if !super::format::AGENT_ID.matches(raw) {
        return Err(FieldError::new("agent_id", "invalid", "an agent ID has 1–128 letters, digits or . _ : @ -"));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids_are_plain_identifiers() {
        for good in ["voice-1042", "chat:ann@acme", "A.B_C"] {
            assert_eq!(parse(good).unwrap(), good);
        }
        for bad in ["", "has space", "a/b", "a#b", "ünï", &"x".repeat(129)] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
