//! Member counts kept in the same transactions as the changes, so the stats are one read at any
//! size (SPEC §2): per status, the active members of the basic admin roles, and per custom role
//! its holders and active holders (whether a custom role counts as admin is read with it, so
//! editing a role's permissions needs no recount).
use super::keys::{self, Key};
use super::tx::{Change, Tx, n};
use super::{Store, StoreResult, from_item};
use crate::domain::ids::{AccountId, RoleId};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::permissions;
use crate::domain::role::CustomRole;
use crate::domain::role::RoleRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The counters item of an account.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCounts {
    #[serde(default)]
    pub active: i64,
    #[serde(default)]
    pub invited: i64,
    #[serde(default)]
    pub deactivated: i64,
    /// Active members whose basic role manages members (owner, admin).
    #[serde(default)]
    pub basic_admins: i64,
}

/// Sorts right after the custom roles (`ROLE#…` < `ROLE$COUNTS` < `ROLENAME#…`), so one query
/// reads the counters and the roles the stats need.
const COUNTS_SK: &str = "ROLE$COUNTS";

pub(crate) fn counts_key(a: AccountId) -> Key {
    Key::new(keys::account_pk(a), COUNTS_SK.into())
}

/// What one transaction does to the counters: add up every member it changes, then write each
/// counter item once (a transaction may touch an item only once).
#[derive(Default)]
pub(crate) struct Tally {
    counts: MemberCounts,
    /// Custom role → (holders, active holders).
    roles: BTreeMap<RoleId, (i64, i64)>,
}

type State = (RoleRef, MemberStatus);

pub(crate) fn state(m: &Member) -> State {
    (m.role, m.status)
}

impl Tally {
    pub fn new() -> Self {
        Self::default()
    }

    /// One member goes from `before` to `after` (`None`: does not exist).
    pub fn change(&mut self, before: Option<State>, after: Option<State>) -> &mut Self {
        if before == after {
            return self;
        }
        for (state, sign) in [(before, -1), (after, 1)] {
            let Some((role, status)) = state else { continue };
            let active = status == MemberStatus::Active;
            match status {
                MemberStatus::Active => self.counts.active += sign,
                MemberStatus::Invited => self.counts.invited += sign,
                MemberStatus::Deactivated => self.counts.deactivated += sign,
            }
            match role {
                RoleRef::Basic(b) if active && permissions::is_admin(b.permissions()) => {
                    self.counts.basic_admins += sign
                }
                RoleRef::Basic(_) => {}
                RoleRef::Custom(id) => {
                    let e = self.roles.entry(id).or_default();
                    e.0 += sign;
                    if active {
                        e.1 += sign;
                    }
                }
            }
        }
        self
    }

    /// A role deleted in the same transaction gets no counter update (its item goes).
    pub fn forget_role(&mut self, id: RoleId) {
        self.roles.remove(&id);
    }

    pub fn write(&self, tx: &mut Tx, a: AccountId) -> StoreResult<()> {
        let c = self.counts;
        if c != MemberCounts::default() {
            tx.add(
                &counts_key(a),
                &[
                    ("active", c.active),
                    ("invited", c.invited),
                    ("deactivated", c.deactivated),
                    ("basic_admins", c.basic_admins),
                ],
            )?;
        }
        for (id, &(holders, active)) in &self.roles {
            if (holders, active) == (0, 0) {
                continue;
            }
            tx.update(
                super::ROLE_NOT_FOUND,
                &keys::role(a, *id),
                Change {
                    update: "ADD member_count :h, active_count :x",
                    condition: "attribute_exists(#pk)",
                    values: vec![(":h", n(holders)), (":x", n(active))],
                    names: vec![("#pk", keys::PK)],
                },
            )?;
        }
        Ok(())
    }
}

/// Count members changing in one transaction: each `(before, after)`.
pub(crate) fn count(tx: &mut Tx, a: AccountId, changes: &[(Option<State>, Option<State>)]) -> StoreResult<()> {
    let mut t = Tally::new();
    for (before, after) in changes {
        t.change(*before, *after);
    }
    t.write(tx, a)
}

impl Store {
    /// The member counters and the custom roles, in one query (a page per 1 MB of roles).
    pub async fn member_counts(&self, a: AccountId) -> StoreResult<(MemberCounts, Vec<CustomRole>)> {
        let (mut counts, mut roles, mut start) = (MemberCounts::default(), Vec::new(), None);
        loop {
            let out = self
                .range_query(a, keys::ROLE_PREFIX, COUNTS_SK)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(super::StoreError::from_sdk)?;
            for item in out.items.unwrap_or_default() {
                if item.get(keys::SK).and_then(|v| v.as_s().ok()).is_some_and(|sk| sk == COUNTS_SK) {
                    counts = from_item(item)?;
                } else {
                    roles.push(from_item(item)?);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok((counts, roles));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::permissions::BasicRole;

    #[test]
    fn the_counters_sort_between_the_roles_and_their_name_claims() {
        let role = keys::role(AccountId::new(), RoleId::new()).sk;
        let claim = keys::role_name(AccountId::new(), "night shift").sk;
        assert!(role.as_str() < COUNTS_SK && COUNTS_SK < claim.as_str() && keys::ROLE_PREFIX < COUNTS_SK);
    }

    #[test]
    fn a_tally_adds_up_every_member_a_transaction_changes() {
        let (admin, agent) = (RoleRef::Basic(BasicRole::Admin), RoleRef::Basic(BasicRole::Agent));
        let custom = RoleId::new();
        let mut t = Tally::new();
        t.change(None, Some((agent, MemberStatus::Invited)))
            .change(Some((agent, MemberStatus::Invited)), Some((admin, MemberStatus::Active)))
            .change(Some((admin, MemberStatus::Active)), Some((admin, MemberStatus::Deactivated)))
            .change(Some((agent, MemberStatus::Active)), Some((RoleRef::Custom(custom), MemberStatus::Active)))
            .change(Some((admin, MemberStatus::Active)), Some((admin, MemberStatus::Active)));
        assert_eq!(t.counts, MemberCounts { active: 0, invited: 0, deactivated: 1, basic_admins: 0 });
        assert_eq!(t.roles.get(&custom), Some(&(1, 1)));
        let mut gone = Tally::new();
        gone.change(Some((RoleRef::Custom(custom), MemberStatus::Deactivated)), None);
        assert_eq!(gone.counts.deactivated, -1);
        assert_eq!(gone.roles.get(&custom), Some(&(-1, 0)));
    }
}
