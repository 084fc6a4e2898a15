//! Usergroups and who holds them. A holder (an organization or a user) lists its usergroups in
//! its own item; the usergroup counts its holders, so it is deleted only when none is left.
use super::tx::{Change, Condition, Tx, n, s};
use super::{Store, StoreResult, from_item, keys, take_item, to_attribute};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, OrganizationId, UserId, UsergroupId};
use crate::domain::usergroup::{Usergroup, name_key};
use serde::{Deserialize, Serialize};

pub const USERGROUP_NAME_TAKEN: &str = "usergroup_name_taken";
pub const USERGROUP_CHANGED: &str = "usergroup_changed";
/// The usergroup was deleted meanwhile.
pub const USERGROUP_GONE: &str = "usergroup_gone";
/// The organization or user changed since it was read.
pub const HOLDER_CHANGED: &str = "holder_changed";

#[derive(Serialize, Deserialize)]
struct Claim {
    usergroup_id: UsergroupId,
}

/// Who holds usergroups.
#[derive(Debug, Clone, Copy)]
pub enum Holder {
    Organization(OrganizationId),
    User(UserId),
}

/// A usergroup gains or loses a holder; gaining, it must still exist.
pub(crate) fn count_holder(tx: &mut Tx, a: AccountId, g: UsergroupId, delta: i64) -> StoreResult<()> {
    tx.update(
        USERGROUP_GONE,
        &keys::usergroup(a, g),
        Change {
            update: "ADD holders :d",
            condition: "attribute_exists(#pk)",
            values: vec![(":d", n(delta))],
            names: vec![("#pk", keys::PK)],
        },
    )
}

impl Store {
    pub async fn create_usergroup(&self, g: &Usergroup, audit: &AuditEntry) -> StoreResult<()> {
        let a = g.account_id;
        let mut tx = Tx::new();
        tx.create(USERGROUP_NAME_TAKEN, &keys::usergroup_name(a, &name_key(&g.name)), &Claim { usergroup_id: g.id })?;
        tx.create("usergroup_exists", &keys::usergroup(a, g.id), g)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    pub async fn get_usergroup(&self, a: AccountId, g: UsergroupId) -> StoreResult<Option<Usergroup>> {
        self.get(&keys::usergroup(a, g)).await
    }

    /// The account's usergroups, oldest first.
    pub async fn list_usergroups(&self, a: AccountId) -> StoreResult<Vec<Usergroup>> {
        self.query_prefix(a, keys::USERGROUP_PREFIX).await
    }

    /// Usergroups by id, in the order asked, skipping deleted ones.
    pub async fn get_usergroups(&self, a: AccountId, ids: &[UsergroupId]) -> StoreResult<Vec<Usergroup>> {
        let wanted: Vec<_> = ids.iter().map(|g| keys::usergroup(a, *g)).collect();
        let mut items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
        wanted.iter().filter_map(|k| take_item(&mut items, k)).map(from_item).collect()
    }

    pub async fn update_usergroup(&self, before: &Usergroup, after: &Usergroup, audit: &AuditEntry) -> StoreResult<()> {
        let a = after.account_id;
        let mut tx = Tx::new();
        tx.update(
            USERGROUP_CHANGED,
            &keys::usergroup(a, after.id),
            Change {
                update: "SET #n = :n, description = :d, #p = :p, updated_at = :u, #v = :next",
                condition: "#v = :expected",
                values: vec![
                    (":n", s(&after.name)),
                    (":d", s(&after.description)),
                    (":p", to_attribute(&after.permissions)?),
                    (":u", s(after.updated_at.to_rfc3339())),
                    (":next", n(after.version)),
                    (":expected", n(before.version)),
                ],
                names: vec![("#n", "name"), ("#p", "permissions"), ("#v", "version")],
            },
        )?;
        let (old, new) =
            (keys::usergroup_name(a, &name_key(&before.name)), keys::usergroup_name(a, &name_key(&after.name)));
        tx.move_claim(USERGROUP_NAME_TAKEN, &old, &new, &Claim { usergroup_id: after.id })?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Delete a usergroup nobody holds (and still as read).
    pub async fn delete_usergroup(&self, g: &Usergroup, audit: &AuditEntry) -> StoreResult<()> {
        let a = g.account_id;
        let mut tx = Tx::new();
        tx.delete_where(
            USERGROUP_CHANGED,
            &keys::usergroup(a, g.id),
            Condition {
                condition: "#v = :v AND holders = :none",
                values: vec![(":v", n(g.version)), (":none", n(0))],
                names: vec![("#v", "version")],
            },
        )?;
        tx.delete(&keys::usergroup_name(a, &name_key(&g.name)))?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// A holder (at `version`) whose usergroups become `after`; the usergroup `g` gains
    /// (`delta` 1) or loses (-1) this holder.
    pub async fn change_holding(
        &self,
        a: AccountId,
        (holder, version, after): (Holder, u64, &[UsergroupId]),
        (g, delta): (UsergroupId, i64),
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let key = match holder {
            Holder::Organization(o) => keys::organization(a, o),
            Holder::User(u) => keys::user(a, u),
        };
        let mut tx = Tx::new();
        tx.update(
            HOLDER_CHANGED,
            &key,
            Change {
                update: "SET usergroups = :gs, #v = :next",
                condition: "#v = :expected",
                values: vec![(":gs", to_attribute(&after)?), (":next", n(version + 1)), (":expected", n(version))],
                names: vec![("#v", "version")],
            },
        )?;
        count_holder(&mut tx, a, g, delta)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }
}
