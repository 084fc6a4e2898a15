//! Organizations, their names, their place in the tree and the email domains they claim.
//!
//! The tree's invariants (no cycle, depth) are kept by conditions: every organization a change
//! places somewhere is written only if its `lineage_rev` and `children` are still as read, and a
//! parent gains a child only while its own `lineage_rev` is as read. Two moves that together
//! would close a cycle therefore touch a common item, and one of them fails.
use super::tx::{Change, Condition, Tx, n, s};
use super::{Store, StoreError, StoreResult, from_item, keys, take_item, to_attribute};
use crate::domain::audit::AuditEntry;
use crate::domain::email_domain::EmailDomain;
use crate::domain::ids::{AccountId, OrganizationId};
use crate::domain::organization::{Organization, name_key};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// Another organization already has this name.
pub const ORGANIZATION_NAME_TAKEN: &str = "organization_name_taken";
/// Another organization already claims this domain.
pub const DOMAIN_TAKEN: &str = "domain_taken";
/// The organization (its settings, or its place in the tree) changed since it was read.
pub const ORGANIZATION_CHANGED: &str = "organization_changed";

#[derive(Serialize, Deserialize)]
struct Claim {
    organization_id: OrganizationId,
}

/// An organization whose place in the tree changes: as read, and as it will be.
pub struct Placed<'a> {
    pub before: &'a Organization,
    pub after: Organization,
}

/// One change of the tree, written in one transaction: organizations placed elsewhere (moved
/// ones and their descendants), parents gaining or losing children, and perhaps one deleted
/// organization.
#[derive(Default)]
pub struct TreeChange<'a> {
    pub placed: Vec<Placed<'a>>,
    /// Organizations outside `placed` whose children count changes, as read, with the change.
    pub counts: Vec<(&'a Organization, i64)>,
    pub deleted: Option<&'a Organization>,
}

fn unchanged_place(o: &Organization) -> Vec<(&'static str, AttributeValue)> {
    vec![(":rev", n(o.lineage_rev)), (":children", n(o.children)), (":version", n(o.version))]
}

fn write_placed(tx: &mut Tx, p: &Placed<'_>) -> StoreResult<()> {
    let (b, a) = (p.before, &p.after);
    let mut values = unchanged_place(b);
    values.extend([
        (":lineage", to_attribute(&a.lineage)?),
        (":next_rev", n(a.lineage_rev)),
        (":parent", to_attribute(&a.parent)?),
        (":next_version", n(a.version)),
        (":updated", s(a.updated_at.to_rfc3339())),
    ]);
    tx.update(
        ORGANIZATION_CHANGED,
        &keys::organization(a.account_id, a.id),
        Change {
            update: "SET lineage = :lineage, lineage_rev = :next_rev, parent = :parent, #v = :next_version, \
                     updated_at = :updated",
            condition: "lineage_rev = :rev AND children = :children AND #v = :version",
            values,
            names: vec![("#v", "version")],
        },
    )?;
    if b.parent != a.parent {
        if let Some(old) = b.parent {
            tx.delete(&keys::organization_child(a.account_id, old, a.id))?;
        }
        if let Some(new) = a.parent {
            tx.create(
                ORGANIZATION_CHANGED,
                &keys::organization_child(a.account_id, new, a.id),
                &Claim { organization_id: a.id },
            )?;
        }
    }
    Ok(())
}

/// A parent gains or loses children; it must still be where it was read (so no cycle).
fn count_children(tx: &mut Tx, o: &Organization, delta: i64) -> StoreResult<()> {
    tx.update(
        ORGANIZATION_CHANGED,
        &keys::organization(o.account_id, o.id),
        Change {
            update: "ADD children :delta",
            condition: "lineage_rev = :rev",
            values: vec![(":delta", n(delta)), (":rev", n(o.lineage_rev))],
            names: vec![],
        },
    )
}

impl Store {
    /// The organization with this name (ignoring case and spacing), read through its claim.
    pub async fn organization_named(&self, a: AccountId, name: &str) -> StoreResult<Option<OrganizationId>> {
        let claim: Option<Claim> = self.get(&keys::organization_name(a, &name_key(name))).await?;
        Ok(claim.map(|c| c.organization_id))
    }

    /// A new organization, under `parent` as read (its lineage already computed from it).
    pub async fn create_organization(
        &self,
        o: &Organization,
        parent: Option<&Organization>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let a = o.account_id;
        let mut tx = Tx::new();
        tx.create(
            ORGANIZATION_NAME_TAKEN,
            &keys::organization_name(a, &name_key(&o.name)),
            &Claim { organization_id: o.id },
        )?;
        tx.create("organization_exists", &keys::organization(a, o.id), o)?;
        if let Some(p) = parent {
            count_children(&mut tx, p, 1)?;
            tx.create(
                ORGANIZATION_CHANGED,
                &keys::organization_child(a, p.id, o.id),
                &Claim { organization_id: o.id },
            )?;
        }
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    pub async fn get_organization(&self, a: AccountId, o: OrganizationId) -> StoreResult<Option<Organization>> {
        self.get(&keys::organization(a, o)).await
    }

    /// Organizations of the account by id, in the order asked, skipping missing ones.
    pub async fn get_organizations(&self, a: AccountId, ids: &[OrganizationId]) -> StoreResult<Vec<Organization>> {
        let wanted: Vec<_> = ids.iter().map(|o| keys::organization(a, *o)).collect();
        let mut items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
        wanted.iter().filter_map(|k| take_item(&mut items, k)).map(from_item).collect()
    }

    /// Organizations by name, those whose name key starts with `prefix`, after the name key
    /// `after`; with the last name key when more may follow.
    pub async fn list_organizations(
        &self,
        a: AccountId,
        prefix: &str,
        after: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<Organization>, Option<String>)> {
        let full = format!("{}{prefix}", keys::ORGANIZATION_NAME_PREFIX);
        let start = after.map(|k| keys::organization_name(a, k).to_item());
        let out = self
            .prefix_query(a, &full)
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let claims = out.items.unwrap_or_default();
        let last = out
            .last_evaluated_key
            .and_then(|k| k.get(keys::SK).and_then(|v| v.as_s().ok()).cloned())
            .and_then(|sk| sk.strip_prefix(keys::ORGANIZATION_NAME_PREFIX).map(str::to_owned));
        let ids: Vec<OrganizationId> = claims
            .into_iter()
            .map(from_item::<Claim>)
            .map(|c| c.map(|c| c.organization_id))
            .collect::<Result<_, _>>()?;
        Ok((self.get_organizations(a, &ids).await?, last))
    }

    /// The ids of an organization's children, oldest first.
    pub async fn child_ids(&self, a: AccountId, parent: OrganizationId) -> StoreResult<Vec<OrganizationId>> {
        let links: Vec<Claim> = self.query_prefix(a, &keys::organization_children(parent)).await?;
        Ok(links.into_iter().map(|c| c.organization_id).collect())
    }

    /// A page of an organization's children's ids, after the child `after`; with the last id
    /// when more may follow.
    pub async fn child_page(
        &self,
        a: AccountId,
        parent: OrganizationId,
        after: Option<OrganizationId>,
        limit: i32,
    ) -> StoreResult<(Vec<OrganizationId>, Option<OrganizationId>)> {
        let start = after.map(|c| keys::organization_child(a, parent, c).to_item());
        let out = self
            .prefix_query(a, &keys::organization_children(parent))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let ids: Vec<OrganizationId> = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| from_item::<Claim>(i).map(|c| c.organization_id))
            .collect::<Result<_, _>>()?;
        let last = out.last_evaluated_key.is_some().then(|| ids.last().copied()).flatten();
        Ok((ids, last))
    }

    /// Name, summary and contact information, if the settings version still matches.
    pub async fn update_organization(
        &self,
        before: &Organization,
        after: &Organization,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let a = after.account_id;
        let mut tx = Tx::new();
        tx.update(
            ORGANIZATION_CHANGED,
            &keys::organization(a, after.id),
            Change {
                update: "SET #n = :n, summary = :summary, contact = :contact, custom_fields = :cf, updated_at = :u, \
                         #v = :next",
                condition: "#v = :expected",
                values: vec![
                    (":n", s(&after.name)),
                    (":summary", s(&after.summary)),
                    (":contact", to_attribute(&after.contact)?),
                    (":cf", to_attribute(&after.custom_fields)?),
                    (":u", s(after.updated_at.to_rfc3339())),
                    (":next", n(after.version)),
                    (":expected", n(before.version)),
                ],
                names: vec![("#n", "name"), ("#v", "version")],
            },
        )?;
        let (old, new) =
            (keys::organization_name(a, &name_key(&before.name)), keys::organization_name(a, &name_key(&after.name)));
        tx.move_claim(ORGANIZATION_NAME_TAKEN, &old, &new, &Claim { organization_id: after.id })?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Moves and deletions: everything `change` names, with the audit entry, or nothing.
    pub async fn change_tree(&self, a: AccountId, change: &TreeChange<'_>, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = Tx::new();
        for p in &change.placed {
            write_placed(&mut tx, p)?;
        }
        for (o, delta) in &change.counts {
            count_children(&mut tx, o, *delta)?;
        }
        if let Some(d) = change.deleted {
            // Its children as read: every one of them is placed elsewhere in this change; its
            // members as read: the change unlinks them.
            let mut values = unchanged_place(d);
            values.push((":members", n(d.members)));
            tx.delete_where(
                ORGANIZATION_CHANGED,
                &keys::organization(a, d.id),
                Condition {
                    condition: "lineage_rev = :rev AND children = :children AND #v = :version AND members = :members",
                    values,
                    names: vec![("#v", "version")],
                },
            )?;
            tx.delete(&keys::organization_name(a, &name_key(&d.name)))?;
            if let Some(p) = d.parent {
                tx.delete(&keys::organization_child(a, p, d.id))?;
            }
            for domain in &d.domains {
                tx.delete(&keys::organization_domain(a, domain))?;
            }
            for g in &d.usergroups {
                super::usergroups::count_holder(&mut tx, a, *g, -1)?;
            }
        }
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Claim domains for an organization (the settings version still as read): each must be
    /// unclaimed in the account.
    pub async fn change_domains(
        &self,
        before: &Organization,
        after: &Organization,
        added: &[EmailDomain],
        removed: &[EmailDomain],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let a = after.account_id;
        let mut tx = Tx::new();
        tx.update(
            ORGANIZATION_CHANGED,
            &keys::organization(a, after.id),
            Change {
                update: "SET domains = :domains, updated_at = :u, #v = :next",
                condition: "#v = :expected",
                values: vec![
                    (":domains", to_attribute(&after.domains)?),
                    (":u", s(after.updated_at.to_rfc3339())),
                    (":next", n(after.version)),
                    (":expected", n(before.version)),
                ],
                names: vec![("#v", "version")],
            },
        )?;
        for d in added {
            tx.create(DOMAIN_TAKEN, &keys::organization_domain(a, d), &Claim { organization_id: after.id })?;
        }
        for d in removed {
            tx.delete(&keys::organization_domain(a, d))?;
        }
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Which of `domains` are claimed, and by whom: one round trip.
    pub async fn domain_claims(
        &self,
        a: AccountId,
        domains: &[EmailDomain],
    ) -> StoreResult<Vec<(EmailDomain, OrganizationId)>> {
        let wanted: Vec<_> = domains.iter().map(|d| keys::organization_domain(a, d)).collect();
        let mut items = self.batch_get(&wanted.iter().collect::<Vec<_>>()).await?;
        let mut found = Vec::new();
        for (d, k) in domains.iter().zip(&wanted) {
            if let Some(item) = take_item(&mut items, k) {
                found.push((d.clone(), from_item::<Claim>(item)?.organization_id));
            }
        }
        Ok(found)
    }
}
