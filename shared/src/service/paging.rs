//! Page sizes and cursors of the lists: a cursor is signed for the account and names its list,
//! so one list's cursor is refused by another.
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;

pub const DEFAULT: i32 = 50;
pub const MAX: i32 = 200;

pub fn limit(raw: Option<i32>) -> Result<i32> {
    let limit = raw.unwrap_or(DEFAULT);
    if !(1..=MAX).contains(&limit) {
        return Err(FieldError::new("limit", "invalid", format!("limit is between 1 and {MAX}")).into());
    }
    Ok(limit)
}

/// The position a cursor of `list` holds.
pub fn open(s: &Services, caller: &Caller, list: &str, cursor: Option<&str>) -> Result<Option<String>> {
    let Some(c) = cursor else { return Ok(None) };
    s.keys
        .open_cursor(caller.account_id(), c)
        .and_then(|p| p.strip_prefix(list)?.strip_prefix('|').map(str::to_owned))
        .map(Some)
        .ok_or_else(Error::invalid_cursor)
}

pub fn sign(s: &Services, caller: &Caller, list: &str, position: Option<String>) -> Option<String> {
    position.map(|p| s.keys.sign_cursor(caller.account_id(), &format!("{list}|{p}")))
}
