//! Reading members (SPEC §2).
use super::{Caller, Error, Result, Services};
use crate::domain::ids::MemberId;
use crate::domain::member::Member;
use crate::domain::permissions::Permission;

pub const DEFAULT_PAGE: i32 = 50;
pub const MAX_PAGE: i32 = 200;

pub struct Page {
    pub members: Vec<Member>,
    pub next_cursor: Option<String>,
}

pub async fn list(s: &Services, caller: &Caller, limit: Option<i32>, cursor: Option<&str>) -> Result<Page> {
    caller.require(Permission::MembersRead)?;
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(vec![crate::domain::FieldError::new(
            "limit",
            "invalid",
            format!("limit is between 1 and {MAX_PAGE}"),
        )]
        .into());
    }
    let after = match cursor {
        None => None,
        Some(c) => {
            Some(s.keys.open_cursor(caller.account_id(), c).and_then(|p| MemberId::parse(&p)).ok_or_else(|| {
                Error::Validation(vec![crate::domain::FieldError::new(
                    "cursor",
                    "invalid",
                    "this cursor is not valid here",
                )])
            })?)
        }
    };
    let page = s.store.list_members(caller.account_id(), after, limit).await?;
    let next_cursor = page.last.map(|m| s.keys.sign_cursor(caller.account_id(), &m.to_string()));
    Ok(Page { members: page.members, next_cursor })
}

/// Another account's id is simply not found: the lookup only ever reads the caller's partition.
pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Member> {
    caller.require(Permission::MembersRead)?;
    let id = MemberId::parse(id).ok_or(Error::NotFound("member"))?;
    s.store.get_member(caller.account_id(), id).await?.ok_or(Error::NotFound("member"))
}
