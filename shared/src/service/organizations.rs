//! Customer organizations (SPEC §5): settings, the hierarchy, email domains, and the one
//! matching rule that links a new person to an organization by their address.
use super::{Caller, Error, Result, Services, custom_fields, paging};
use crate::domain::FieldErrors;
use crate::domain::audit::AuditEntry;
use crate::domain::custom_field::{FieldTarget, Values};
use crate::domain::email::Email;
use crate::domain::email_domain::{EmailDomain, most_specific};
use crate::domain::ids::{AccountId, OrganizationId};
use crate::domain::organization::{
    self, ContactInput, MAX_DOMAINS, MAX_MOVED, Misplaced, Organization, SocialNetwork, height, place, relineage,
};
use crate::domain::permissions::Permission;
use crate::store::{DOMAIN_TAKEN, ORGANIZATION_CHANGED, ORGANIZATION_NAME_TAKEN, Placed, StoreError, TreeChange};
use chrono::Utc;
use std::collections::BTreeMap;

/// Tries of a change computed from a read of the tree, when the tree changed meanwhile.
const ATTEMPTS: usize = 6;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialInput {
    pub network: SocialNetwork,
    #[schema(schema_with = crate::http::openapi::field::handle)]
    pub handle: String,
}

/// Contact information; every list at most 10 entries.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::phones)]
    pub phones: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::contact_emails)]
    pub emails: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub social: Vec<SocialInput>,
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::website_or_null)]
    pub website: Option<String>,
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::address)]
    pub address: String,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    #[schema(schema_with = crate::http::openapi::field::company)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::summary)]
    pub summary: String,
    #[serde(default)]
    pub contact: ContactBody,
    /// The parent organization (none: a top-level organization).
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::id_or_null)]
    pub parent_id: Option<String>,
    /// Values of the account's organization fields by field id (`GET /v1/custom-fields?target=organization`); required ones must be given.
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::custom_fields)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What to change; absent fields stay. `contact` replaces the whole contact information.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationChange {
    #[schema(schema_with = crate::http::openapi::field::company_or_null)]
    pub name: Option<String>,
    #[schema(schema_with = crate::http::openapi::field::summary_or_null)]
    pub summary: Option<String>,
    pub contact: Option<ContactBody>,
    /// Values of the account's organization fields by field id (`GET /v1/custom-fields?target=organization`); those named change (`null` removes a value), others stay.
    #[schema(schema_with = crate::http::openapi::field::custom_fields)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewParent {
    /// The new parent, or `null` to make the organization a top-level one.
    #[schema(schema_with = crate::http::openapi::field::id_or_null)]
    pub parent_id: Option<String>,
}

pub(crate) fn not_found() -> Error {
    Error::NotFound("organization")
}

pub(crate) async fn find(s: &Services, caller: &Caller, id: &str) -> Result<Organization> {
    let id = OrganizationId::parse(id).ok_or_else(not_found)?;
    let mut o = s.store.get_organization(caller.account_id(), id).await?.ok_or_else(not_found)?;
    present(s, caller, std::slice::from_mut(&mut o)).await?;
    Ok(o)
}

/// Organizations as shown: only the values of custom fields that exist.
async fn present(s: &Services, caller: &Caller, orgs: &mut [Organization]) -> Result<()> {
    custom_fields::present(s, caller.account_id(), FieldTarget::Organization, orgs, |x| &mut x.custom_fields).await
}

/// An organization a request body names (`field`): 404 naming the field when there is none.
async fn named(s: &Services, caller: &Caller, field: &str, id: &str) -> Result<Organization> {
    let unknown =
        || Error::unknown(field, "unknown_organization", format!("{field} names no organization of this account"));
    let id = OrganizationId::parse(id).ok_or_else(unknown)?;
    s.store.get_organization(caller.account_id(), id).await?.ok_or_else(unknown)
}

fn changed() -> Error {
    Error::conflict(
        "organization_changed",
        "the organization or its place in the tree changed meanwhile; reload and retry",
    )
}

fn name_taken() -> Error {
    Error::conflict("organization_name_taken", "another organization already has this name")
}

fn too_large() -> Error {
    Error::conflict(
        "too_many_changes",
        format!(
            "this change rewrites more than one call can (at most {MAX_MOVED} organizations moved at once, \
             and the domains of a deleted one): move part of the tree or remove domains first"
        ),
    )
}

fn misplaced(m: Misplaced) -> Error {
    let (code, message) = match m {
        Misplaced::Cycle => {
            ("cycle", "an organization cannot be placed under itself or one of its descendants".to_owned())
        }
        Misplaced::TooDeep => ("too_deep", format!("the hierarchy has at most {} levels", organization::MAX_DEPTH)),
    };
    crate::domain::FieldError::new("parent_id", code, message).into()
}

fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(ORGANIZATION_NAME_TAKEN) => name_taken(),
        StoreError::Conflict(ORGANIZATION_CHANGED) => changed(),
        StoreError::Conflict(DOMAIN_TAKEN) => {
            Error::conflict("domain_taken", "another organization of this account already has this domain")
        }
        StoreError::TooLarge => too_large(),
        other => other.into(),
    }
}

/// Run a change computed from a fresh read again while the tree moved under it meanwhile.
async fn retrying<T, F: Future<Output = Result<T>>>(mut attempt: impl FnMut() -> F) -> Result<T> {
    for n in 1..ATTEMPTS {
        match attempt().await {
            Err(Error::Conflict { code: "organization_changed", .. }) => {
                tokio::time::sleep(super::assignments::backoff(n as u32)).await;
            }
            other => return other,
        }
    }
    attempt().await
}

fn contact(c: &ContactBody) -> std::result::Result<organization::Contact, Vec<crate::domain::FieldError>> {
    let social: Vec<(SocialNetwork, String)> = c.social.iter().map(|x| (x.network, x.handle.clone())).collect();
    organization::contact(ContactInput {
        phones: &c.phones,
        emails: &c.emails,
        social: &social,
        website: c.website.as_deref(),
        address: &c.address,
    })
}

fn settings(o: &Organization) -> serde_json::Value {
    serde_json::json!({ "name": o.name, "summary": o.summary, "contact": o.contact, "custom_fields": o.custom_fields })
}

pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Organization> {
    caller.require(Permission::OrganizationsRead)?;
    find(s, caller, id).await
}

pub async fn create(s: &Services, caller: &Caller, new: NewOrganization) -> Result<Organization> {
    create_as(s, caller, new, OrganizationId::new()).await
}

async fn create_as(s: &Services, caller: &Caller, new: NewOrganization, id: OrganizationId) -> Result<Organization> {
    caller.require(Permission::OrganizationsManage)?;
    let mut errors = FieldErrors::new();
    let name = errors.take(organization::name(&new.name));
    let summary = errors.take(organization::summary(&new.summary));
    let contact = errors.take_all(contact(&new.contact));
    let (a, target, none) = (caller.account_id(), FieldTarget::Organization, Values::new());
    let values = errors.take_all(custom_fields::apply(s, a, target, &none, new.custom_fields.as_ref(), true).await?);
    errors.finish()?;
    let mut o = Organization::new(caller.account_id(), name.unwrap_or_default(), Utc::now());
    o.id = id;
    o.summary = summary.unwrap_or_default();
    o.contact = contact.unwrap_or_default();
    o.custom_fields = values.unwrap_or_default();
    retrying(|| {
        let mut o = o.clone();
        async {
            let parent = match &new.parent_id {
                Some(p) => Some(named(s, caller, "parent_id", p).await?),
                None => None,
            };
            o.lineage = place(o.id, 1, parent.as_ref()).map_err(misplaced)?;
            o.parent = parent.as_ref().map(|p| p.id);
            let audit = AuditEntry::new(
                caller.actor(),
                "organization.created",
                "organization",
                o.id,
                serde_json::json!({ "settings": settings(&o), "parent_id": o.parent }),
            );
            s.store.create_organization(&o, parent.as_ref(), &audit).await.map_err(store_error)?;
            Ok(o)
        }
    })
    .await
}

pub async fn update(
    s: &Services,
    caller: &Caller,
    id: &str,
    change: OrganizationChange,
    if_version: Option<u64>,
) -> Result<Organization> {
    caller.require(Permission::OrganizationsManage)?;
    let before = find(s, caller, id).await?;
    if if_version.is_some_and(|v| v != before.version) {
        return Err(Error::PreconditionFailed);
    }
    let mut after = before.clone();
    let mut errors = FieldErrors::new();
    if let Some(n) = &change.name {
        after.name = errors.take(organization::name(n)).unwrap_or_default();
    }
    if let Some(x) = &change.summary {
        after.summary = errors.take(organization::summary(x)).unwrap_or_default();
    }
    if let Some(c) = change.contact.as_ref().and_then(|c| errors.take_all(contact(c))) {
        after.contact = c;
    }
    let (a, target) = (caller.account_id(), FieldTarget::Organization);
    let values = custom_fields::apply(s, a, target, &before.custom_fields, change.custom_fields.as_ref(), false);
    if let Some(v) = errors.take_all(values.await?) {
        after.custom_fields = v;
    }
    errors.finish()?;
    after.version += 1;
    after.updated_at = Utc::now();
    let mut audit = AuditEntry::new(
        caller.actor(),
        "organization.updated",
        "organization",
        after.id,
        serde_json::json!({ "before": settings(&before), "after": settings(&after) }),
    );
    audit.memo = change.memo;
    match s.store.update_organization(&before, &after, &audit).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(ORGANIZATION_CHANGED)) if if_version.is_some() => Err(Error::PreconditionFailed),
        Err(e) => Err(store_error(e)),
    }
}

/// Every descendant of `root` (read consistently, level by level), or `None` when there are
/// more than `max`.
pub(crate) async fn descendants(
    s: &Services,
    a: AccountId,
    root: &Organization,
    max: usize,
) -> Result<Option<Vec<Organization>>> {
    let mut out: Vec<Organization> = Vec::new();
    let mut frontier: Vec<OrganizationId> = if root.children > 0 { vec![root.id] } else { Vec::new() };
    while !frontier.is_empty() {
        let lists = futures::future::try_join_all(frontier.iter().map(|p| s.store.child_ids(a, *p))).await?;
        let ids: Vec<OrganizationId> = lists.into_iter().flatten().collect();
        if out.len() + ids.len() > max {
            return Ok(None);
        }
        let level = s.store.get_organizations(a, &ids).await?;
        frontier = level.iter().filter(|o| o.children > 0).map(|o| o.id).collect();
        out.extend(level);
    }
    Ok(Some(out))
}

/// The descendants a move rewrites along with `moved`.
async fn moving_with(s: &Services, a: AccountId, moved: &Organization) -> Result<Vec<Organization>> {
    descendants(s, a, moved, MAX_MOVED - 1).await?.ok_or_else(too_large)
}

/// `moved` and its descendants, placed under `parent` (as read).
fn placements<'a>(
    moved: &'a Organization,
    below: &'a [Organization],
    parent: Option<&Organization>,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<Placed<'a>>> {
    let subtree: Vec<&Organization> = below.iter().filter(|d| d.lineage.contains(&moved.id)).collect();
    // The parent was read before the subtree: if it has gone under `moved` meanwhile, this
    // move would close a cycle now.
    if parent.is_some_and(|p| subtree.iter().any(|d| d.id == p.id)) {
        return Err(misplaced(Misplaced::Cycle));
    }
    let owned: Vec<Organization> = subtree.iter().map(|d| (*d).clone()).collect();
    let lineage = place(moved.id, height(moved, &owned), parent).map_err(misplaced)?;
    let mut after = moved.clone();
    after.lineage = lineage;
    after.parent = parent.map(|p| p.id);
    after.lineage_rev += 1;
    after.version += 1;
    after.updated_at = now;
    let mut out = Vec::with_capacity(subtree.len() + 1);
    for d in subtree {
        let mut moved_d = d.clone();
        moved_d.lineage = relineage(&d.lineage, moved.id, &after.lineage);
        moved_d.lineage_rev += 1;
        out.push(Placed { before: d, after: moved_d });
    }
    out.insert(0, Placed { before: moved, after });
    Ok(out)
}

/// Children-count changes, one per organization (a transaction touches an item once).
fn counts<'a>(deltas: impl IntoIterator<Item = (&'a Organization, i64)>) -> Vec<(&'a Organization, i64)> {
    let mut by_id: BTreeMap<OrganizationId, (&Organization, i64)> = BTreeMap::new();
    for (o, d) in deltas {
        by_id.entry(o.id).or_insert((o, 0)).1 += d;
    }
    by_id.into_values().filter(|(_, d)| *d != 0).collect()
}

/// Re-parent an organization (`null`: make it top level) with its whole subtree.
pub async fn set_parent(
    s: &Services,
    caller: &Caller,
    id: &str,
    new: NewParent,
    if_version: Option<u64>,
) -> Result<Organization> {
    caller.require(Permission::OrganizationsManage)?;
    let a = caller.account_id();
    retrying(|| async {
        let moved = find(s, caller, id).await?;
        if if_version.is_some_and(|v| v != moved.version) {
            return Err(Error::PreconditionFailed);
        }
        let parent = match &new.parent_id {
            Some(p) => Some(named(s, caller, "parent_id", p).await?),
            None => None,
        };
        if parent.as_ref().map(|p| p.id) == moved.parent {
            return Ok(moved);
        }
        let old_parent = match moved.parent {
            Some(p) => s.store.get_organization(a, p).await?,
            None => None,
        };
        let below = moving_with(s, a, &moved).await?;
        let placed = placements(&moved, &below, parent.as_ref(), Utc::now())?;
        let after = placed.first().map(|p| p.after.clone()).ok_or_else(changed)?;
        let change = TreeChange {
            counts: counts(old_parent.iter().map(|p| (p, -1)).chain(parent.iter().map(|p| (p, 1)))),
            placed,
            deleted: None,
        };
        let audit = AuditEntry::new(
            caller.actor(),
            "organization.moved",
            "organization",
            moved.id,
            serde_json::json!({ "from": moved.parent, "to": after.parent, "descendants": below.len() }),
        );
        s.store.change_tree(a, &change, &audit).await.map_err(store_error)?;
        Ok(after)
    })
    .await
}

/// Where a deleted organization's children go.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Reparent {
    /// Nowhere: deleting an organization with children is refused.
    Refuse,
    Root,
    To(String),
}

/// What a deletion did.
pub enum Deleted {
    Now,
    /// The organization has members: a job removes them, then deletes it.
    Later(Box<crate::jobs::Job>),
}

/// Delete an organization. One with members is deleted by a job that first removes them from it
/// (`remove_members`; refused otherwise); the people stay.
pub async fn delete(
    s: &Services,
    caller: &Caller,
    id: &str,
    children_to: Reparent,
    memo: Option<String>,
    remove_members: bool,
) -> Result<Deleted> {
    caller.require(Permission::OrganizationsManage)?;
    let a = caller.account_id();
    retrying(|| async {
        let gone = find(s, caller, id).await?;
        if gone.children > 0 && matches!(children_to, Reparent::Refuse) {
            return Err(Error::conflict(
                "organization_has_children",
                "this organization has child organizations: name where they go (reparent_to)",
            ));
        }
        let target = match &children_to {
            Reparent::To(t) => {
                let t = named(s, caller, "reparent_to", t).await?;
                if t.is_within(gone.id) {
                    return Err(crate::domain::FieldError::new(
                        "reparent_to",
                        "cycle",
                        "the children cannot go under the deleted organization or its descendants",
                    )
                    .into());
                }
                Some(t)
            }
            Reparent::Refuse | Reparent::Root => None,
        };
        if gone.members > 0 {
            if !remove_members {
                return Err(Error::conflict(
                    "organization_has_members",
                    format!(
                        "this organization has {} members: remove them from it first, or delete it with remove_members=true",
                        gone.members
                    ),
                ));
            }
            let job = super::organization_deletion::start(s, caller, &gone, &children_to, memo.clone()).await?;
            return Ok(Deleted::Later(Box::new(job)));
        }
        let old_parent = match gone.parent {
            Some(p) => s.store.get_organization(a, p).await?,
            None => None,
        };
        let below = moving_with(s, a, &gone).await?;
        let now = Utc::now();
        let mut placed = Vec::new();
        let children: Vec<&Organization> = below.iter().filter(|d| d.parent == Some(gone.id)).collect();
        if children.len() as u64 != gone.children {
            return Err(changed());
        }
        for child in &children {
            placed.extend(placements(child, &below, target.as_ref(), now)?);
        }
        let change = TreeChange {
            counts: counts(old_parent.iter().map(|p| (p, -1)).chain(target.iter().map(|t| (t, children.len() as i64)))),
            placed,
            deleted: Some(&gone),
        };
        let mut audit = AuditEntry::new(
            caller.actor(),
            "organization.deleted",
            "organization",
            gone.id,
            serde_json::json!({
                "name": gone.name,
                "domains": gone.domains,
                "children": children.iter().map(|c| c.id).collect::<Vec<_>>(),
                "children_to": target.as_ref().map(|t| t.id),
            }),
        );
        audit.memo = memo.clone();
        s.store.change_tree(a, &change, &audit).await.map_err(store_error)?;
        Ok(Deleted::Now)
    })
    .await
}

/// Claim a domain (`force`: even a public-mail one). Claiming one already claimed by this
/// organization changes nothing.
pub async fn add_domain(s: &Services, caller: &Caller, id: &str, raw: &str, force: bool) -> Result<Organization> {
    caller.require(Permission::OrganizationsManage)?;
    let domain = EmailDomain::parse("domain", raw)?;
    if domain.is_public() && !force {
        return Err(crate::domain::FieldError::new(
            "domain",
            "public_domain",
            format!(
                "{domain} is a public mail service: anyone can have an address there; add force=true to claim it anyway"
            ),
        )
        .into());
    }
    retrying(|| async {
        let before = find(s, caller, id).await?;
        if before.domains.contains(&domain) {
            return Ok(before);
        }
        if before.domains.len() >= MAX_DOMAINS {
            return Err(crate::domain::FieldError::new(
                "domain",
                "too_many",
                format!("an organization has at most {MAX_DOMAINS} domains"),
            )
            .into());
        }
        let mut after = before.clone();
        after.domains.push(domain.clone());
        after.domains.sort();
        after.version += 1;
        after.updated_at = Utc::now();
        let audit = AuditEntry::new(
            caller.actor(),
            "organization.domain_added",
            "organization",
            after.id,
            serde_json::json!({ "domain": domain, "forced": force && domain.is_public() }),
        );
        s.store
            .change_domains(&before, &after, std::slice::from_ref(&domain), &[], &audit)
            .await
            .map_err(store_error)?;
        Ok(after)
    })
    .await
}

pub async fn remove_domain(s: &Services, caller: &Caller, id: &str, raw: &str) -> Result<Organization> {
    caller.require(Permission::OrganizationsManage)?;
    let domain = EmailDomain::parse("domain", raw).map_err(|_| Error::NotFound("domain"))?;
    retrying(|| async {
        let before = find(s, caller, id).await?;
        if !before.domains.contains(&domain) {
            return Err(Error::NotFound("domain"));
        }
        let mut after = before.clone();
        after.domains.retain(|d| *d != domain);
        after.version += 1;
        after.updated_at = Utc::now();
        let audit = AuditEntry::new(
            caller.actor(),
            "organization.domain_removed",
            "organization",
            after.id,
            serde_json::json!({ "domain": domain }),
        );
        s.store
            .change_domains(&before, &after, &[], std::slice::from_ref(&domain), &audit)
            .await
            .map_err(store_error)?;
        Ok(after)
    })
    .await
}

/// What a directory's organization entry asks of Roster: an organization under `id` (derived
/// from the entry) with this name and these domains; `previous` are the domains the directory
/// gave it before (only those are taken away when the directory drops them — a domain added by
/// hand stays).
pub struct FromDirectory<'a> {
    pub id: OrganizationId,
    pub name: &'a str,
    pub domains: &'a [EmailDomain],
    pub previous: &'a [EmailDomain],
}

/// What keeping a directory's organization did.
pub struct Kept {
    pub organization: Organization,
    pub created: bool,
    pub added: Vec<EmailDomain>,
    pub removed: Vec<EmailDomain>,
    /// Domains the directory names that Roster does not give it, and why.
    pub refused: Vec<(EmailDomain, &'static str)>,
}

/// Domain claims one transaction changes (with the organization and the audit entry, well
/// under DynamoDB's 100 actions).
const DOMAINS_PER_CHANGE: usize = 50;

/// Create or bring up to date an organization a directory keeps. An organization of the same
/// name made by hand is adopted, not duplicated. Each change is its own transaction with its
/// audit entry; redone after a crash, it finds what it did and does only the rest.
pub async fn keep_from_directory(s: &Services, caller: &Caller, want: FromDirectory<'_>) -> Result<Kept> {
    caller.require(Permission::OrganizationsManage)?;
    let a = caller.account_id();
    let (mut o, created) = match s.store.get_organization(a, want.id).await? {
        Some(o) => (o, false),
        None => match s.store.organization_named(a, want.name).await? {
            Some(same) => (s.store.get_organization(a, same).await?.ok_or_else(not_found)?, false),
            None => {
                let new = NewOrganization {
                    name: want.name.to_owned(),
                    summary: String::new(),
                    contact: ContactBody::default(),
                    parent_id: None,
                    custom_fields: None,
                };
                (create_as(s, caller, new, want.id).await?, true)
            }
        },
    };
    if !created && o.name != want.name.trim() {
        let change = OrganizationChange { name: Some(want.name.to_owned()), ..Default::default() };
        o = update(s, caller, &o.id.to_string(), change, None).await?;
    }
    let mut refused = Vec::new();
    let mut add: Vec<EmailDomain> = Vec::new();
    let wanted_new: Vec<EmailDomain> = want.domains.iter().filter(|d| !o.domains.contains(d)).cloned().collect();
    let claimed = s.store.domain_claims(a, &wanted_new).await?;
    for d in wanted_new {
        if d.is_public() {
            refused.push((d, "a public mail service: anyone can have an address there"));
        } else if claimed.iter().any(|(c, owner)| *c == d && *owner != o.id) {
            refused.push((d, "another organization of this account already has this domain"));
        } else if o.domains.len() + add.len() >= MAX_DOMAINS {
            refused.push((d, "the organization has as many domains as it may"));
        } else {
            add.push(d);
        }
    }
    let remove: Vec<EmailDomain> =
        want.previous.iter().filter(|d| o.domains.contains(d) && !want.domains.contains(d)).cloned().collect();
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let mut pending = (add.as_slice(), remove.as_slice());
    while !pending.0.is_empty() || !pending.1.is_empty() {
        let (a_now, a_rest) = pending.0.split_at(pending.0.len().min(DOMAINS_PER_CHANGE));
        let (r_now, r_rest) = pending.1.split_at(pending.1.len().min(DOMAINS_PER_CHANGE - a_now.len()));
        o = retrying(|| async {
            let before = s.store.get_organization(a, o.id).await?.ok_or_else(not_found)?;
            let mut after = before.clone();
            let a_now: Vec<EmailDomain> = a_now.iter().filter(|d| !before.domains.contains(d)).cloned().collect();
            let r_now: Vec<EmailDomain> = r_now.iter().filter(|d| before.domains.contains(d)).cloned().collect();
            after.domains.retain(|d| !r_now.contains(d));
            after.domains.extend(a_now.iter().cloned());
            after.domains.sort();
            after.version += 1;
            after.updated_at = Utc::now();
            let audit = AuditEntry::new(
                caller.actor(),
                "organization.domains_changed",
                "organization",
                after.id,
                serde_json::json!({ "added": a_now, "removed": r_now }),
            );
            s.store.change_domains(&before, &after, &a_now, &r_now, &audit).await.map_err(store_error)?;
            Ok(after)
        })
        .await?;
        added.extend_from_slice(a_now);
        removed.extend_from_slice(r_now);
        pending = (a_rest, r_rest);
    }
    Ok(Kept { organization: o, created, added, removed, refused })
}

/// The organization an address links to: the most specific claimed domain of the address's.
/// Every path that creates a person (API, import, directory, SCIM) asks this, in one read.
pub async fn matching(s: &Services, a: AccountId, email: &Email) -> Result<Option<OrganizationId>> {
    let Some(domain) = EmailDomain::of(email) else { return Ok(None) };
    let claimed = s.store.domain_claims(a, &domain.candidates()).await?;
    Ok(most_specific(claimed.iter().map(|(d, o)| (d, *o))))
}

pub struct Page {
    pub items: Vec<Organization>,
    pub next_cursor: Option<String>,
}

const LIST: &str = "organizations";

/// Organizations by name; `search`: those whose name starts with it (case-insensitive).
pub async fn list(
    s: &Services,
    caller: &Caller,
    search: Option<&str>,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<Page> {
    caller.require(Permission::OrganizationsRead)?;
    let limit = paging::limit(limit)?;
    let prefix = match search {
        Some(raw) => organization::name_key(crate::domain::format::SEARCH.check(
            "q",
            raw,
            "must not contain control characters",
        )?),
        None => String::new(),
    };
    let after = paging::open(s, caller, LIST, cursor)?;
    let (mut items, last) = s.store.list_organizations(caller.account_id(), &prefix, after.as_deref(), limit).await?;
    present(s, caller, &mut items).await?;
    let next_cursor = paging::sign(s, caller, LIST, last);
    Ok(Page { items, next_cursor })
}

/// An organization's children, oldest first, a page at a time.
pub async fn children(
    s: &Services,
    caller: &Caller,
    id: &str,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<Page> {
    caller.require(Permission::OrganizationsRead)?;
    let limit = paging::limit(limit)?;
    let parent = find(s, caller, id).await?;
    let a = caller.account_id();
    let list = format!("children:{}", parent.id);
    let after = match paging::open(s, caller, &list, cursor)? {
        Some(p) => Some(OrganizationId::parse(&p).ok_or_else(Error::invalid_cursor)?),
        None => None,
    };
    let (ids, last) = s.store.child_page(a, parent.id, after, limit).await?;
    let mut items = s.store.get_organizations(a, &ids).await?;
    present(s, caller, &mut items).await?;
    let next_cursor = paging::sign(s, caller, &list, last.map(|k| k.to_string()));
    Ok(Page { items, next_cursor })
}
