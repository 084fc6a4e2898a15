//! Custom roles, the claims on their names, and the count of members holding each.
use super::records::member_item;
use super::tx::{Change, Condition, Tx, n, s};
use super::{Store, StoreError, StoreResult, keys};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, RoleId};
use crate::domain::member::Member;
use crate::domain::role::{CustomRole, RoleRef, name_key};
use serde::{Deserialize, Serialize};

/// Another custom role already has this name.
pub const ROLE_NAME_TAKEN: &str = "role_name_taken";
/// The role's version no longer matches (edited meanwhile).
pub const ROLE_CHANGED: &str = "role_changed";
/// A member was given a custom role that no longer exists.
pub const ROLE_NOT_FOUND: &str = "role_not_found";
/// The role is held by other members than the ones this call moves.
pub const ROLE_IN_USE: &str = "role_in_use";

#[derive(Serialize, Deserialize)]
struct NameClaim {
    role_id: RoleId,
}

/// A member whose role changes in a role deletion: its new state and the version it had.
pub struct Move<'a> {
    pub member: &'a Member,
    pub expected: u64,
}

impl Store {
    pub async fn create_role(&self, role: &CustomRole, audit: &AuditEntry) -> StoreResult<()> {
        let a = role.account_id;
        let mut tx = Tx::new();
        tx.create(ROLE_NAME_TAKEN, &keys::role_name(a, &name_key(&role.name)), &NameClaim { role_id: role.id })?;
        tx.create("role_exists", &keys::role(a, role.id), role)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    pub async fn get_role(&self, a: AccountId, id: RoleId) -> StoreResult<Option<CustomRole>> {
        self.get(&keys::role(a, id)).await
    }

    /// The account's custom roles, oldest first.
    pub async fn list_roles(&self, a: AccountId) -> StoreResult<Vec<CustomRole>> {
        self.query_prefix(a, keys::ROLE_PREFIX).await
    }

    /// Write an edited role if nobody edited it since `before` was read. The member count is
    /// left alone (invitations change it concurrently); turning `agent_like` off needs it at 0.
    pub async fn update_role(&self, before: &CustomRole, after: &CustomRole, audit: &AuditEntry) -> StoreResult<()> {
        let a = after.account_id;
        let permissions =
            serde_dynamo::to_attribute_value(&after.permissions).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let losing_agents = before.agent_like && !after.agent_like;
        let mut values = vec![
            (":n", s(&after.name)),
            (":d", s(&after.description)),
            (":p", permissions),
            (":al", aws_sdk_dynamodb::types::AttributeValue::Bool(after.agent_like)),
            (":u", s(after.updated_at.to_rfc3339())),
            (":next", n(after.version)),
            (":expected", n(before.version)),
        ];
        if losing_agents {
            values.push((":zero", n(0)));
        }
        let mut tx = Tx::new();
        tx.update(
            ROLE_CHANGED,
            &keys::role(a, after.id),
            Change {
                update: "SET #n = :n, #d = :d, #p = :p, #al = :al, #u = :u, #v = :next",
                condition: if losing_agents { "#v = :expected AND member_count = :zero" } else { "#v = :expected" },
                values,
                names: vec![
                    ("#n", "name"),
                    ("#d", "description"),
                    ("#p", "permissions"),
                    ("#al", "agent_like"),
                    ("#u", "updated_at"),
                    ("#v", "version"),
                ],
            },
        )?;
        let (old, new) = (keys::role_name(a, &name_key(&before.name)), keys::role_name(a, &name_key(&after.name)));
        tx.move_claim(ROLE_NAME_TAKEN, &old, &new, &NameClaim { role_id: after.id })?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Move some holders of `from` to the role their new state names, without deleting it (a
    /// deletion too large for one transaction does this in steps first; each step stands on
    /// its own).
    pub async fn move_role_members(
        &self,
        a: AccountId,
        from: RoleId,
        moves: &[Move<'_>],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        for m in moves {
            tx.replace_versioned(super::MEMBER_CHANGED, member_item(m.member)?, m.expected)?;
        }
        let changes: Vec<_> = moves
            .iter()
            .map(|m| (Some((RoleRef::Custom(from), m.member.status)), Some(super::stats::state(m.member))))
            .collect();
        super::stats::count(&mut tx, a, &changes)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Delete the role, moving its last holders (to the role their new state names) in the
    /// same transaction; fails with `ROLE_IN_USE` if anyone else holds it by then.
    pub async fn delete_role(&self, role: &CustomRole, moves: &[Move<'_>], audit: &AuditEntry) -> StoreResult<()> {
        let a = role.account_id;
        let mut tx = Tx::new();
        for m in moves {
            tx.replace_versioned(super::MEMBER_CHANGED, member_item(m.member)?, m.expected)?;
        }
        // The role's own counters go with it; the members' statuses count under their new role.
        let changes: Vec<_> = moves
            .iter()
            .map(|m| (Some((RoleRef::Custom(role.id), m.member.status)), Some(super::stats::state(m.member))))
            .collect();
        let mut tally = super::stats::Tally::new();
        for (before, after) in &changes {
            tally.change(*before, *after);
        }
        tally.forget_role(role.id);
        tally.write(&mut tx, a)?;
        tx.delete_where(
            ROLE_IN_USE,
            &keys::role(a, role.id),
            Condition { condition: "member_count = :held", values: vec![(":held", n(moves.len()))], names: vec![] },
        )?;
        tx.delete(&keys::role_name(a, &name_key(&role.name)))?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }
}
