//! The items that changes of members write inside their transactions — the member itself, the
//! claim on its email, a group's rotation — built in one place. This module uses no other store
//! module, so the modules that create, invite, move and delete members (accounts, invitations,
//! members, groups, roles) all build on it without importing one another.
use super::tx::{Change, Tx, n, s};
use super::{Item, StoreResult, keys, to_attribute, to_item};
use crate::domain::email::Email;
use crate::domain::group::Group;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::member::Member;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// Guard of a member write whose version no longer matches.
pub const MEMBER_CHANGED: &str = "member_changed";
/// Another member of the account has this email.
pub const EMAIL_TAKEN: &str = "email_taken";
/// The rotation changed since it was read (members added, removed, made (un)available).
pub const ROTATION_CHANGED: &str = "rotation_changed";

/// A member as stored: the entity plus the lower-case forms the list searches by prefix.
pub(crate) fn member_item(m: &Member) -> StoreResult<Item> {
    let mut item = to_item(&keys::member(m.account_id, m.id), m)?;
    let (name, last) = m.search_terms();
    item.insert("name_lc".into(), AttributeValue::S(name));
    item.insert("last_lc".into(), AttributeValue::S(last));
    Ok(item)
}

/// The per-account item that reserves an email for one member.
#[derive(Serialize, Deserialize)]
pub(crate) struct EmailClaim {
    pub member_id: MemberId,
    /// Listed under the email in `gsi1`, so find-web-address reads one index partition.
    #[serde(default)]
    pub account_id: Option<AccountId>,
}

/// The `gsi1` partition listing every account an email is claimed in.
pub(crate) fn email_index(e: &Email) -> String {
    format!("EMAIL#{e}")
}

/// Reserve `e` for member `m` in its account (creation fails when the email is taken there).
pub(crate) fn claim_email(tx: &mut Tx, a: AccountId, e: &Email, m: MemberId) -> StoreResult<()> {
    let mut item = to_item(&keys::member_email(a, e), &EmailClaim { member_id: m, account_id: Some(a) })?;
    item.insert("gsi1pk".into(), s(email_index(e)));
    item.insert("gsi1sk".into(), s(a.to_string()));
    tx.create_raw(EMAIL_TAKEN, item)
}

/// A group as it was read and as it is to be written, for a change of its rotation.
pub struct RotationChange<'a> {
    pub before: &'a Group,
    pub after: &'a Group,
}

/// Write a group's new rotation (members, seats, leaders) if it is still the one read.
pub(crate) fn write_rotation(tx: &mut Tx, change: &RotationChange<'_>) -> StoreResult<()> {
    let g = change.after;
    tx.update(
        ROTATION_CHANGED,
        &keys::group(g.account_id, g.id),
        Change {
            update: "SET rotation = :r, next_seat = :ns, leaders = :l, rotation_rev = :next",
            condition: "rotation_rev = :rev",
            values: vec![
                (":r", to_attribute(&g.rotation)?),
                (":ns", n(g.next_seat)),
                (":l", to_attribute(&g.leaders)?),
                (":next", n(change.before.rotation_rev + 1)),
                (":rev", n(change.before.rotation_rev)),
            ],
            names: vec![],
        },
    )
}
