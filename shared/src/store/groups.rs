//! Groups, their rotations and their assignments.
use super::records::{ROTATION_CHANGED, RotationChange, write_rotation};
use super::tx::{Change, Condition, Tx, n, s};
use super::{Item, Store, StoreError, StoreResult, from_item, keys, take_item, to_item};
use crate::domain::audit::AuditEntry;
use crate::domain::group::{Assignment, Group, name_key};
use crate::domain::ids::{AccountId, GroupId, MemberId};
use crate::domain::member::Member;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// Another group already has this name.
pub const GROUP_NAME_TAKEN: &str = "group_name_taken";
/// The group's settings version no longer matches.
pub const GROUP_CHANGED: &str = "group_changed";
/// Another assignment was made since the group was read.
pub const TURN_TAKEN: &str = "turn_taken";
/// This reference was assigned already.
pub const ASSIGNMENT_EXISTS: &str = "assignment_exists";

#[derive(Serialize, Deserialize)]
struct NameClaim {
    group_id: GroupId,
}

/// A member whose item changes with a group change: as read, and to be written.
pub struct MemberChange<'a> {
    pub before: &'a Member,
    pub after: &'a Member,
}

fn write_members(tx: &mut Tx, members: &[MemberChange<'_>]) -> StoreResult<()> {
    for m in members {
        tx.replace_versioned(super::MEMBER_CHANGED, super::records::member_item(m.after)?, m.before.version)?;
    }
    Ok(())
}

impl Store {
    pub async fn create_group(&self, g: &Group, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.create(
            GROUP_NAME_TAKEN,
            &keys::group_name(g.account_id, &name_key(&g.name)),
            &NameClaim { group_id: g.id },
        )?;
        tx.create("group_exists", &keys::group(g.account_id, g.id), g)?;
        tx.audit(g.account_id, audit)?;
        tx.commit(self).await
    }

    pub async fn get_group(&self, a: AccountId, g: GroupId) -> StoreResult<Option<Group>> {
        self.get(&keys::group(a, g)).await
    }

    /// The account's groups, oldest first.
    pub async fn list_groups(&self, a: AccountId) -> StoreResult<Vec<Group>> {
        self.query_prefix(a, keys::GROUP_PREFIX).await
    }

    /// Several groups of the account in one round trip (at most 100).
    pub async fn get_groups(&self, a: AccountId, ids: &[GroupId]) -> StoreResult<Vec<Group>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<_> = ids.iter().map(|g| keys::group(a, *g)).collect();
        let items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
        items.into_iter().map(from_item).collect()
    }

    /// Name, description and the automatic-assignment switch, if the settings version still matches.
    pub async fn update_group_settings(&self, before: &Group, after: &Group, audit: &AuditEntry) -> StoreResult<()> {
        let a = after.account_id;
        let mut tx = Tx::new();
        tx.update(
            GROUP_CHANGED,
            &keys::group(a, after.id),
            Change {
                update: "SET #n = :n, description = :d, auto_assign = :aa, updated_at = :u, #v = :next",
                condition: "#v = :expected",
                values: vec![
                    (":n", s(&after.name)),
                    (":d", s(&after.description)),
                    (":aa", AttributeValue::Bool(after.auto_assign)),
                    (":u", s(after.updated_at.to_rfc3339())),
                    (":next", n(after.version)),
                    (":expected", n(before.version)),
                ],
                names: vec![("#n", "name"), ("#v", "version")],
            },
        )?;
        let (old, new) = (keys::group_name(a, &name_key(&before.name)), keys::group_name(a, &name_key(&after.name)));
        tx.move_claim(GROUP_NAME_TAKEN, &old, &new, &NameClaim { group_id: after.id })?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Members join or leave groups, become (un)available or (in)active: the groups' rotations
    /// and the members' items change together, with the audit entry.
    pub async fn change_rotations(
        &self,
        a: AccountId,
        groups: &[RotationChange<'_>],
        members: &[MemberChange<'_>],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        for g in groups {
            write_rotation(&mut tx, g)?;
        }
        write_members(&mut tx, members)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Delete a group whose rotation is still as read; its last members leave it in the same
    /// transaction (a larger group is emptied in steps first).
    pub async fn delete_group(&self, g: &Group, members: &[MemberChange<'_>], audit: &AuditEntry) -> StoreResult<()> {
        let a = g.account_id;
        let mut tx = Tx::new();
        tx.delete_where(
            ROTATION_CHANGED,
            &keys::group(a, g.id),
            Condition { condition: "rotation_rev = :rev", values: vec![(":rev", n(g.rotation_rev))], names: vec![] },
        )?;
        tx.delete(&keys::group_name(a, &name_key(&g.name)))?;
        write_members(&mut tx, members)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// The group and, if that reference was assigned already, its assignment: one round trip.
    pub async fn group_and_assignment(
        &self,
        a: AccountId,
        g: GroupId,
        reference: &str,
    ) -> StoreResult<(Option<Group>, Option<Assignment>)> {
        let (kg, ka) = (keys::group(a, g), keys::assignment(a, g, reference));
        let mut items = self.batch_get(&[&kg, &ka]).await?;
        Ok((
            take_item(&mut items, &kg).map(from_item).transpose()?,
            take_item(&mut items, &ka).map(from_item).transpose()?,
        ))
    }

    pub async fn get_assignment(&self, a: AccountId, g: GroupId, reference: &str) -> StoreResult<Option<Assignment>> {
        self.get(&keys::assignment(a, g, reference)).await
    }

    /// Record an assignment as number `assigned + 1` of a group read with that count and that
    /// rotation; `last_seat` is the seat served (unchanged for an explicit assignment).
    pub async fn record_assignment(
        &self,
        a: AccountId,
        read: &Group,
        last_seat: u64,
        x: &Assignment,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.update(
            TURN_TAKEN,
            &keys::group(a, read.id),
            Change {
                update: "SET assigned = :n, last_seat = :seat",
                condition: "assigned = :prev AND rotation_rev = :rev",
                values: vec![
                    (":n", n(x.number)),
                    (":seat", n(last_seat)),
                    (":prev", n(read.assigned)),
                    (":rev", n(read.rotation_rev)),
                ],
                names: vec![],
            },
        )?;
        let mut item: Item = to_item(&keys::assignment(a, read.id, &x.reference), x)?;
        item.insert("gsi1pk".into(), s(keys::assignments_index(a, read.id)));
        item.insert("gsi1sk".into(), s(format!("{:020}", x.number)));
        tx.create_raw(ASSIGNMENT_EXISTS, item)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// A group's assignments in the order they were made, after number `after`.
    pub async fn list_assignments(
        &self,
        a: AccountId,
        g: GroupId,
        after: u64,
        limit: i32,
    ) -> StoreResult<Vec<Assignment>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk AND gsi1sk > :after")
            .expression_attribute_values(":pk", s(keys::assignments_index(a, g)))
            .expression_attribute_values(":after", s(format!("{after:020}")))
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    /// Members by id, in the order asked, skipping any that do not exist (batches of 100).
    pub async fn get_members(&self, a: AccountId, ids: &[MemberId]) -> StoreResult<Vec<Member>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let wanted: Vec<_> = chunk.iter().map(|m| keys::member(a, *m)).collect();
            let mut items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
            for k in &wanted {
                if let Some(item) = take_item(&mut items, k) {
                    found.push(from_item(item)?);
                }
            }
        }
        Ok(found)
    }
}
