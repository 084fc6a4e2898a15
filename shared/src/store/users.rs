//! End users, the claims on their emails and external ids, and the membership items that list
//! an organization's people. A user's memberships live in their item (one read answers "which
//! organizations"); each also has an item under the organization (one query answers "who"),
//! written in the same transaction, and the organization counts its members.
use super::tx::{Change, Condition, Tx, n, s};
use super::{Item, Store, StoreError, StoreResult, from_item, keys, take_item, to_item};
use crate::domain::audit::AuditEntry;
use crate::domain::email_domain::EmailDomain;
use crate::domain::ids::{AccountId, OrganizationId, UserId};
use crate::domain::organization::name_key;
use crate::domain::user::{LinkedBy, Membership, OrganizationRole, User};
use serde::{Deserialize, Serialize};

/// Another user of the account has this email.
pub const USER_EMAIL_TAKEN: &str = "user_email_taken";
/// Another user of the account has this external id (from the same source).
pub const USER_EXTERNAL_ID_TAKEN: &str = "user_external_id_taken";
/// The user changed since it was read.
pub const USER_CHANGED: &str = "user_changed";
/// An organization the change links to no longer exists.
pub const ORGANIZATION_GONE: &str = "organization_gone";

#[derive(Serialize, Deserialize)]
struct Claim {
    user_id: UserId,
}

/// A user as an organization lists them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgMember {
    pub user_id: UserId,
    pub role: OrganizationRole,
    pub linked_by: LinkedBy,
}

fn user_item(u: &User) -> StoreResult<Item> {
    let mut item = to_item(&keys::user(u.account_id, u.id), u)?;
    item.insert("gsi1pk".into(), s(keys::user_names_index(u.account_id)));
    item.insert("gsi1sk".into(), s(format!("{}#{}", name_key(&u.name), u.id)));
    if let Some(d) = u.primary_email().and_then(EmailDomain::of) {
        item.insert("gsi2pk".into(), s(keys::user_domains_index(u.account_id)));
        item.insert("gsi2sk".into(), s(format!("{}#{}", d.reversed(), u.id)));
    }
    Ok(item)
}

/// The items a user is stored as, apart from memberships: the claims on their emails and
/// external id, then the user; each with the guard its creation fails with when it exists. A
/// bulk load (a test's fixture) writes the same items.
pub fn user_records(u: &User) -> StoreResult<Vec<(&'static str, Item)>> {
    let a = u.account_id;
    let claim = Claim { user_id: u.id };
    let mut out = Vec::with_capacity(u.emails.len() + 2);
    for e in &u.emails {
        out.push((USER_EMAIL_TAKEN, to_item(&keys::user_email(a, e), &claim)?));
    }
    if let Some(x) = &u.external_id {
        out.push((USER_EXTERNAL_ID_TAKEN, to_item(&keys::user_external_id(a, u.source, x), &claim)?));
    }
    out.push(("user_exists", user_item(u)?));
    Ok(out)
}

fn join(tx: &mut Tx, u: &User, m: &Membership, count: bool) -> StoreResult<()> {
    let a = u.account_id;
    let entry = OrgMember { user_id: u.id, role: m.role, linked_by: m.linked_by };
    tx.put(&keys::organization_member(a, m.organization, m.role, u.id), &entry)?;
    if count {
        members_count(tx, a, m.organization, 1)?;
    }
    Ok(())
}

fn leave(tx: &mut Tx, u: &User, m: &Membership, count: bool) -> StoreResult<()> {
    tx.delete(&keys::organization_member(u.account_id, m.organization, m.role, u.id))?;
    if count {
        members_count(tx, u.account_id, m.organization, -1)?;
    }
    Ok(())
}

/// The organization's member count, which also proves it still exists.
fn members_count(tx: &mut Tx, a: AccountId, o: OrganizationId, delta: i64) -> StoreResult<()> {
    tx.update(
        ORGANIZATION_GONE,
        &keys::organization(a, o),
        Change {
            update: "ADD members :d",
            condition: "attribute_exists(#pk)",
            values: vec![(":d", n(delta))],
            names: vec![("#pk", keys::PK)],
        },
    )
}

/// What changes between two versions of a user's memberships: who leaves, who joins, and whose
/// role (or link) changes in place.
fn membership_changes(tx: &mut Tx, before: &User, after: &User) -> StoreResult<()> {
    for m in &before.memberships {
        match after.membership(m.organization) {
            None => leave(tx, before, m, true)?,
            Some(now) if now != m => {
                leave(tx, before, m, false)?;
                join(tx, after, now, false)?;
            }
            Some(_) => {}
        }
    }
    for m in after.memberships.iter().filter(|m| before.membership(m.organization).is_none()) {
        join(tx, after, m, true)?;
    }
    Ok(())
}

impl Store {
    /// A new user with its claims and memberships, and the audit entry.
    pub async fn create_user(&self, u: &User, audit: &AuditEntry) -> StoreResult<()> {
        self.create_user_with(u, audit, Vec::new()).await
    }

    /// `create_user`, writing `also` (a directory entry's state) in the same transaction.
    pub async fn create_user_with(&self, u: &User, audit: &AuditEntry, also: Vec<Item>) -> StoreResult<()> {
        let a = u.account_id;
        let mut tx = Tx::new();
        for item in also {
            tx.put_raw(item)?;
        }
        for (guard, item) in user_records(u)? {
            tx.create_raw(guard, item)?;
        }
        for m in &u.memberships {
            join(&mut tx, u, m, true)?;
        }
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    pub async fn get_user(&self, a: AccountId, u: UserId) -> StoreResult<Option<User>> {
        self.get(&keys::user(a, u)).await
    }

    /// Users by id, in the order asked, skipping missing ones.
    pub async fn get_users(&self, a: AccountId, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let wanted: Vec<_> = ids.iter().map(|u| keys::user(a, *u)).collect();
        let mut items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
        wanted.iter().filter_map(|k| take_item(&mut items, k)).map(from_item).collect()
    }

    /// Replace a user still at the version read: emails, external id and memberships follow.
    pub async fn update_user(&self, before: &User, after: &User, audit: &AuditEntry) -> StoreResult<()> {
        self.update_user_with(before, after, audit, Vec::new()).await
    }

    /// `update_user`, writing `also` (a directory entry's state) in the same transaction.
    pub async fn update_user_with(
        &self,
        before: &User,
        after: &User,
        audit: &AuditEntry,
        also: Vec<Item>,
    ) -> StoreResult<()> {
        let a = after.account_id;
        let mut tx = Tx::new();
        for item in also {
            tx.put_raw(item)?;
        }
        tx.replace_versioned(USER_CHANGED, user_item(after)?, before.version)?;
        for e in before.emails.iter().filter(|e| !after.emails.contains(e)) {
            tx.delete(&keys::user_email(a, e))?;
        }
        for e in after.emails.iter().filter(|e| !before.emails.contains(e)) {
            tx.create(USER_EMAIL_TAKEN, &keys::user_email(a, e), &Claim { user_id: after.id })?;
        }
        membership_changes(&mut tx, before, after)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    pub async fn delete_user(&self, u: &User, audit: &AuditEntry) -> StoreResult<()> {
        let a = u.account_id;
        let mut tx = Tx::new();
        tx.delete_where(
            USER_CHANGED,
            &keys::user(a, u.id),
            Condition { condition: "#v = :v", values: vec![(":v", n(u.version))], names: vec![("#v", "version")] },
        )?;
        for e in &u.emails {
            tx.delete(&keys::user_email(a, e))?;
        }
        if let Some(x) = &u.external_id {
            tx.delete(&keys::user_external_id(a, u.source, x))?;
        }
        for m in &u.memberships {
            leave(&mut tx, u, m, true)?;
        }
        for g in &u.usergroups {
            super::usergroups::count_holder(&mut tx, a, *g, -1)?;
        }
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// The account's users, oldest first, after `after`.
    pub async fn user_page(
        &self,
        a: AccountId,
        after: Option<UserId>,
        limit: i32,
    ) -> StoreResult<(Vec<User>, Option<UserId>)> {
        let out = self
            .prefix_query(a, keys::USER_PREFIX)
            .set_exclusive_start_key(after.map(|u| keys::user(a, u).to_item()))
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let users: Vec<User> = out.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        let last = out.last_evaluated_key.is_some().then(|| users.last().map(|u| u.id)).flatten();
        Ok((users, last))
    }

    /// Users whose name starts with `prefix` (`name_key` form), by name, after the index
    /// position `after`; with the last position when more may follow.
    pub async fn users_named(
        &self,
        a: AccountId,
        prefix: &str,
        after: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<User>, Option<String>)> {
        self.index_page(a, ("gsi1", keys::user_names_index(a)), prefix, after, limit).await
    }

    /// A page of the users whose primary email is at `domain` or a subdomain of it, after the
    /// index position `after`; with the last position when more may follow. Read from an index,
    /// so a change made a moment ago may not show yet (a re-map reads each user again).
    pub async fn users_in_domain(
        &self,
        a: AccountId,
        domain: &EmailDomain,
        after: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<User>, Option<String>)> {
        self.index_page(a, ("gsi2", keys::user_domains_index(a)), &domain.reversed(), after, limit).await
    }

    /// Users from one partition of an index (`gsi1` or `gsi2`: its attributes are `<index>pk`
    /// and `<index>sk`), those whose position starts with `prefix`, after `after`.
    async fn index_page(
        &self,
        a: AccountId,
        (index, pk): (&str, String),
        prefix: &str,
        after: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<User>, Option<String>)> {
        let (pk_name, sk_name) = (format!("{index}pk"), format!("{index}sk"));
        // An index's start key carries the table's key too (the user id ends the position).
        let start = after.map(|sk| {
            let mut k = Item::from([(pk_name.clone(), s(pk.clone())), (sk_name.clone(), s(sk))]);
            if let Some(id) = sk.rsplit('#').next().and_then(UserId::parse) {
                k.extend(keys::user(a, id).to_item());
            }
            k
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", &pk_name)
            .expression_attribute_names("#sk", &sk_name)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let items = out.items.unwrap_or_default();
        let last = items.last().and_then(|i| i.get(&sk_name)?.as_s().ok().cloned());
        let users: Vec<User> = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((users, out.last_evaluated_key.is_some().then_some(last).flatten()))
    }

    /// Users whose email (any of theirs) starts with `prefix`, by email, after the email `after`.
    pub async fn users_by_email(
        &self,
        a: AccountId,
        prefix: &str,
        after: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<User>, Option<String>)> {
        let start =
            after.map(|e| keys::Key::new(keys::account_pk(a), format!("{}{e}", keys::USER_EMAIL_PREFIX)).to_item());
        let out = self
            .prefix_query(a, &format!("{}{prefix}", keys::USER_EMAIL_PREFIX))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let items = out.items.unwrap_or_default();
        let last_email = items
            .last()
            .and_then(|i| i.get(keys::SK)?.as_s().ok()?.strip_prefix(keys::USER_EMAIL_PREFIX).map(str::to_owned));
        let mut ids: Vec<UserId> = Vec::new();
        for item in items {
            let id = from_item::<Claim>(item)?.user_id;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let last = out.last_evaluated_key.is_some().then_some(last_email).flatten();
        Ok((self.get_users(a, &ids).await?, last))
    }

    /// A page of an organization's memberships (one role, or managers then members), after the
    /// sort key `after`; with the last sort key when more may follow.
    pub async fn organization_member_page(
        &self,
        a: AccountId,
        o: OrganizationId,
        role: Option<OrganizationRole>,
        after: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<OrgMember>, Option<String>)> {
        let start = after.map(|sk| keys::Key::new(keys::account_pk(a), sk.to_owned()).to_item());
        let out = self
            .prefix_query(a, &keys::organization_members(o, role))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let items = out.items.unwrap_or_default();
        let last_sk = items.last().and_then(|i| i.get(keys::SK)?.as_s().ok().cloned());
        let members = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((members, out.last_evaluated_key.is_some().then_some(last_sk).flatten()))
    }
}
