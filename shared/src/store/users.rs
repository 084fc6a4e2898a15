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
use crate::domain::user::{LinkedBy, Membership, OrganizationRole, User, UserSource};
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

/// An organization's member count changes by this much.
type CountDelta = (OrganizationId, i64);

fn join(tx: &mut Tx, u: &User, m: &Membership, counts: &mut Vec<CountDelta>, count: bool) -> StoreResult<()> {
    let entry = OrgMember { user_id: u.id, role: m.role, linked_by: m.linked_by };
    tx.put(&keys::organization_member(u.account_id, m.organization, m.role, u.id), &entry)?;
    if count {
        counts.push((m.organization, 1));
    }
    Ok(())
}

fn leave(tx: &mut Tx, u: &User, m: &Membership, counts: &mut Vec<CountDelta>, count: bool) -> StoreResult<()> {
    tx.delete(&keys::organization_member(u.account_id, m.organization, m.role, u.id))?;
    if count {
        counts.push((m.organization, -1));
    }
    Ok(())
}

/// The organizations' member counts (each also proves its organization still exists), one
/// update per organization however many people of the transaction join or leave it.
fn member_counts(tx: &mut Tx, a: AccountId, deltas: &[CountDelta]) -> StoreResult<()> {
    let mut summed: std::collections::BTreeMap<OrganizationId, i64> = std::collections::BTreeMap::new();
    for (o, d) in deltas {
        *summed.entry(*o).or_default() += d;
    }
    for (o, delta) in summed {
        tx.update(
            ORGANIZATION_GONE,
            &keys::organization(a, o),
            Change {
                update: "ADD members :d",
                condition: "attribute_exists(#pk)",
                values: vec![(":d", n(delta))],
                names: vec![("#pk", keys::PK)],
            },
        )?;
    }
    Ok(())
}

fn membership_changes(tx: &mut Tx, before: &User, after: &User, counts: &mut Vec<CountDelta>) -> StoreResult<()> {
    for m in &before.memberships {
        match after.membership(m.organization) {
            None => leave(tx, before, m, counts, true)?,
            Some(now) if now != m => {
                leave(tx, before, m, counts, false)?;
                join(tx, after, now, counts, false)?;
            }
            Some(_) => {}
        }
    }
    for m in after.memberships.iter().filter(|m| before.membership(m.organization).is_none()) {
        join(tx, after, m, counts, true)?;
    }
    Ok(())
}

/// One user's change as it is written: created (`before` is `None`) or replaced at the version
/// read, with its audit entry and `also` (a directory entry's state) in the same transaction.
pub struct UserWrite {
    pub before: Option<User>,
    pub after: User,
    pub audit: AuditEntry,
    pub also: Vec<Item>,
}

/// Whether `next` can join `batch` in one transaction: within DynamoDB's actions (with one
/// count update per organization) and bytes, and no claim touched twice.
fn fits(batch: &[&Actions], next: &Actions) -> bool {
    let all = || batch.iter().copied().chain([next]);
    let mut orgs: Vec<OrganizationId> = all().flat_map(|w| w.counts.iter().map(|c| c.0)).collect();
    orgs.sort();
    orgs.dedup();
    let actions: usize = all().map(|w| w.tx.len()).sum::<usize>() + orgs.len();
    let bytes: usize = all().map(|w| w.tx.bytes()).sum();
    let shared = batch.iter().any(|w| w.claims.iter().any(|c| next.claims.contains(c)));
    actions <= super::tx::MAX_ACTIONS && bytes <= super::tx::MAX_BYTES && !shared
}

/// The changes, in order, grouped into transactions that `fits` allows.
fn batches(actions: &[Actions]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, next) in actions.iter().enumerate() {
        match out.last_mut() {
            Some(batch) if fits(&batch.iter().filter_map(|j| actions.get(*j)).collect::<Vec<_>>(), next) => {
                batch.push(i)
            }
            _ => out.push(vec![i]),
        }
    }
    out
}

/// One user's actions, and the member counts they change (added up per transaction).
struct Actions {
    tx: Tx,
    counts: Vec<CountDelta>,
    /// The claims taken or given up: two changes sharing one cannot be in one transaction.
    claims: Vec<String>,
}

impl UserWrite {
    fn actions(&self) -> StoreResult<Actions> {
        let (u, a) = (&self.after, self.after.account_id);
        let (mut tx, mut counts) = (Tx::new(), Vec::new());
        for item in &self.also {
            tx.put_raw(item.clone())?;
        }
        let mut claims: Vec<String> = u.emails.iter().map(|e| e.to_string()).collect();
        claims.extend(u.external_id.clone());
        match &self.before {
            None => {
                for (guard, item) in user_records(u)? {
                    tx.create_raw(guard, item)?;
                }
                for m in &u.memberships {
                    join(&mut tx, u, m, &mut counts, true)?;
                }
            }
            Some(before) => {
                tx.replace_versioned(USER_CHANGED, user_item(u)?, before.version)?;
                for e in before.emails.iter().filter(|e| !u.emails.contains(e)) {
                    tx.delete(&keys::user_email(a, e))?;
                    claims.push(e.to_string());
                }
                for e in u.emails.iter().filter(|e| !before.emails.contains(e)) {
                    tx.create(USER_EMAIL_TAKEN, &keys::user_email(a, e), &Claim { user_id: u.id })?;
                }
                membership_changes(&mut tx, before, u, &mut counts)?;
            }
        }
        tx.audit(a, &self.audit)?;
        Ok(Actions { tx, counts, claims })
    }
}

impl Store {
    /// Commit one transaction of these users' changes.
    async fn commit_users(&self, a: AccountId, batch: Vec<Actions>) -> StoreResult<()> {
        let mut tx = Tx::new();
        let mut counts = Vec::new();
        for w in batch {
            tx.append(w.tx)?;
            counts.extend(w.counts);
        }
        member_counts(&mut tx, a, &counts)?;
        tx.commit(self).await
    }

    /// Write many users' changes in as few transactions as DynamoDB's limits allow (each change
    /// whole, with its audit entry, in one of them). A transaction that fails a condition is
    /// written again one change at a time, so each change gets its own answer.
    pub async fn write_users(&self, writes: Vec<UserWrite>) -> StoreResult<Vec<StoreResult<()>>> {
        let Some(a) = writes.first().map(|w| w.after.account_id) else { return Ok(Vec::new()) };
        let actions = writes.iter().map(UserWrite::actions).collect::<StoreResult<Vec<_>>>()?;
        let planned = batches(&actions);
        let mut actions: Vec<Option<Actions>> = actions.into_iter().map(Some).collect();
        let mut results: Vec<StoreResult<()>> = writes.iter().map(|_| Ok(())).collect();
        for positions in planned {
            let batch = positions.iter().filter_map(|i| actions.get_mut(*i).and_then(Option::take)).collect();
            match self.commit_users(a, batch).await {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) if positions.len() > 1 => {
                    for i in positions {
                        let alone = writes.get(i).map(UserWrite::actions).transpose()?;
                        if let Some(r) = results.get_mut(i) {
                            *r = self.commit_users(a, alone.into_iter().collect()).await;
                        }
                    }
                }
                Err(StoreError::Conflict(guard)) => {
                    for i in positions {
                        if let Some(r) = results.get_mut(i) {
                            *r = Err(StoreError::Conflict(guard));
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(results)
    }

    /// One user's change (`write_users` of one).
    pub async fn write_user(&self, w: UserWrite) -> StoreResult<()> {
        let a = w.after.account_id;
        let actions = w.actions()?;
        self.commit_users(a, vec![actions]).await
    }

    pub async fn get_user(&self, a: AccountId, u: UserId) -> StoreResult<Option<User>> {
        self.get(&keys::user(a, u)).await
    }

    /// The users holding these external ids from `source`, by external id (absent: no one).
    pub async fn users_by_external_id(
        &self,
        a: AccountId,
        source: UserSource,
        ids: &[String],
    ) -> StoreResult<std::collections::HashMap<String, UserId>> {
        let wanted: Vec<_> = ids.iter().map(|x| keys::user_external_id(a, source, x)).collect();
        let mut items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
        let mut out = std::collections::HashMap::with_capacity(items.len());
        for (x, key) in ids.iter().zip(&wanted) {
            if let Some(item) = take_item(&mut items, key) {
                out.insert(x.clone(), from_item::<Claim>(item)?.user_id);
            }
        }
        Ok(out)
    }

    /// Users by id, in the order asked, skipping missing ones.
    pub async fn get_users(&self, a: AccountId, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let wanted: Vec<_> = ids.iter().map(|u| keys::user(a, *u)).collect();
        let mut items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
        wanted.iter().filter_map(|k| take_item(&mut items, k)).map(from_item).collect()
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
        let mut counts = Vec::new();
        for m in &u.memberships {
            leave(&mut tx, u, m, &mut counts, true)?;
        }
        member_counts(&mut tx, a, &counts)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::Actor;
    use crate::domain::email::Email;
    use crate::domain::user::UserSource;

    fn user(i: usize, org: Option<OrganizationId>) -> User {
        let now = chrono::Utc::now();
        User {
            id: UserId::new(),
            account_id: AccountId::fixed(1),
            name: format!("P {i}"),
            emails: vec![Email::parse("email", &format!("p{i}@x.test")).unwrap()],
            phone: None,
            source: UserSource::Directory,
            external_id: Some(format!("ext{i}")),
            memberships: org
                .map(|organization| Membership {
                    organization,
                    role: OrganizationRole::Member,
                    linked_by: LinkedBy::Domain,
                })
                .into_iter()
                .collect(),
            usergroups: Vec::new(),
            custom_fields: Default::default(),
            deactivated_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn created(u: User) -> Actions {
        let audit = AuditEntry::new(Actor::System, "user.created", "user", u.id, serde_json::json!({}));
        UserWrite { before: None, after: u, audit, also: Vec::new() }.actions().unwrap()
    }

    fn renamed(u: User) -> Actions {
        let mut after = u.clone();
        after.name.push('!');
        let audit = AuditEntry::new(Actor::System, "user.updated", "user", u.id, serde_json::json!({}));
        UserWrite { before: Some(u), after, audit, also: Vec::new() }.actions().unwrap()
    }

    #[test]
    fn changes_share_transactions_up_to_dynamodbs_100_actions() {
        // A rename is the user and its audit entry: 50 to a transaction.
        let renames: Vec<Actions> = (0..120).map(|i| renamed(user(i, None))).collect();
        let sizes: Vec<usize> = batches(&renames).iter().map(Vec::len).collect();
        assert_eq!(sizes, [50, 50, 20]);
        // A creation linked to an organization: email and external-id claims, the user, the
        // organization's member item, the audit entry — and one count update per organization.
        let orgs: Vec<OrganizationId> = (0..3).map(|_| OrganizationId::new()).collect();
        let created: Vec<Actions> = (0..60).map(|i| created(user(i, orgs.get(i % 3).copied()))).collect();
        let planned = batches(&created);
        for b in &planned {
            let batch: Vec<&Actions> = b.iter().map(|i| &created[*i]).collect();
            let actions: usize = batch.iter().map(|w| w.tx.len()).sum();
            assert!(actions + 3 <= crate::store::tx::MAX_ACTIONS, "{actions} actions and 3 counts");
        }
        assert_eq!(planned.iter().map(Vec::len).sum::<usize>(), 60);
        assert_eq!(planned.first().map(Vec::len), Some(19), "5 actions each, 3 counts: 19 fit in 100");
    }

    #[test]
    fn two_changes_of_one_claim_are_never_in_one_transaction() {
        // One person gives up an address another takes: DynamoDB refuses two actions on one item.
        let mut a = user(1, None);
        let b_before = user(2, None);
        let mut b_after = b_before.clone();
        b_after.emails = a.emails.clone();
        a.emails = vec![Email::parse("email", "new@x.test").unwrap()];
        let a_before = user(1, None);
        let audit = |u: &User| AuditEntry::new(Actor::System, "user.updated", "user", u.id, serde_json::json!({}));
        let first = UserWrite { before: Some(a_before), audit: audit(&a), after: a, also: Vec::new() };
        let second = UserWrite { before: Some(b_before), audit: audit(&b_after), after: b_after, also: Vec::new() };
        let actions = vec![first.actions().unwrap(), second.actions().unwrap()];
        assert_eq!(batches(&actions), [vec![0], vec![1]]);
    }
}
