//! End users (SPEC §5): the one path that creates a person (every source: the API, imports,
//! directory sync, SCIM), editing, organization memberships, listing and the ticket-visibility
//! check a ticketing system calls.
use super::organizations::{self as orgs, descendants};
use super::{Caller, Error, Result, Services, custom_fields, paging};
use crate::domain::audit::AuditEntry;
use crate::domain::custom_field::{CustomField, FieldTarget, Values};
use crate::domain::email::Email;
use crate::domain::ids::{AccountId, OrganizationId, UserId};
use crate::domain::organization::{Organization, name_key};
use crate::domain::permissions::Permission;
use crate::domain::user::{
    self, LinkedBy, MAX_ORGANIZATIONS, Membership, OrganizationRole, User, UserSource, starting_memberships,
};
use crate::domain::{FieldError, FieldErrors};
use crate::store::{
    ORGANIZATION_GONE, OrgMember, StoreError, USER_CHANGED, USER_EMAIL_TAKEN, USER_EXTERNAL_ID_TAKEN, UserWrite,
};
use chrono::Utc;
use std::collections::HashMap;

/// Organizations one listing "with descendants" walks at most.
pub const MAX_LISTED_ORGANIZATIONS: usize = 1000;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipInput {
    #[schema(schema_with = crate::http::openapi::field::id)]
    pub organization_id: String,
    #[serde(default = "member")]
    pub role: OrganizationRole,
    /// Make it the user's primary organization.
    #[serde(default)]
    pub primary: bool,
}

fn member() -> OrganizationRole {
    OrganizationRole::Member
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(schema_with = crate::http::openapi::field::company)]
    pub name: String,
    /// The primary first; each unique in the account (ignoring case).
    #[schema(schema_with = crate::http::openapi::field::user_emails)]
    pub emails: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::phone_or_null)]
    pub phone: Option<String>,
    /// The id a source system knows this person by.
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::external_id_or_null)]
    pub external_id: Option<String>,
    /// Organizations joined by hand; the organization the primary email's domain names is
    /// joined too (as a member, linked by domain).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub organizations: Vec<MembershipInput>,
    /// Values of the account's user fields by field id (`GET /v1/custom-fields?target=user`); required ones must be given.
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::custom_fields)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What to change; absent fields stay. `emails` replaces the list (the first is the primary).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[schema(schema_with = crate::http::openapi::field::company_or_null)]
    pub name: Option<String>,
    #[schema(schema_with = crate::http::openapi::field::user_emails_or_null)]
    pub emails: Option<Vec<String>>,
    /// A phone number; blank removes it.
    #[schema(schema_with = crate::http::openapi::field::phone_or_blank)]
    pub phone: Option<String>,
    /// Values of the account's user fields by field id (`GET /v1/custom-fields?target=user`); those named change (`null` removes a value), others stay.
    #[schema(schema_with = crate::http::openapi::field::custom_fields)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipChange {
    #[serde(default = "member")]
    pub role: OrganizationRole,
    #[serde(default)]
    pub primary: bool,
}

pub(crate) fn not_found() -> Error {
    Error::NotFound("user")
}

pub(crate) async fn find(s: &Services, caller: &Caller, id: &str) -> Result<User> {
    let id = UserId::parse(id).ok_or_else(not_found)?;
    let mut u = s.store.get_user(caller.account_id(), id).await?.ok_or_else(not_found)?;
    present(s, caller, std::slice::from_mut(&mut u)).await?;
    Ok(u)
}

/// Users as shown: only the values of custom fields that exist (what is written back keeps
/// only those).
async fn present(s: &Services, caller: &Caller, users: &mut [User]) -> Result<()> {
    custom_fields::present(s, caller.account_id(), FieldTarget::User, users, |x| &mut x.custom_fields).await
}

fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(USER_EMAIL_TAKEN) => {
            Error::conflict("user_email_taken", "another user of this account already has one of these emails")
        }
        StoreError::Conflict(USER_EXTERNAL_ID_TAKEN) => {
            Error::conflict("user_external_id_taken", "another user from this source already has this external id")
        }
        StoreError::Conflict(USER_CHANGED) => {
            Error::conflict("user_changed", "the user changed meanwhile; reload and retry")
        }
        StoreError::Conflict(ORGANIZATION_GONE) => {
            Error::unknown("organizations", "unknown_organization", "an organization named was deleted meanwhile")
        }
        other => other.into(),
    }
}

fn described(u: &User) -> serde_json::Value {
    serde_json::json!({
        "name": u.name,
        "emails": u.emails,
        "phone": u.phone,
        "source": u.source,
        "external_id": u.external_id,
        "custom_fields": u.custom_fields,
        "deactivated_at": u.deactivated_at,
        "organizations": u.memberships.iter().map(|m| serde_json::json!({
            "organization_id": m.organization, "role": m.role, "linked_by": m.linked_by,
        })).collect::<Vec<_>>(),
    })
}

fn phone(raw: &str) -> std::result::Result<String, FieldError> {
    crate::domain::settings::phone("phone", raw)
}

/// Create a person. Every source calls this: it links them by their primary email's domain
/// (`organizations::matching`) and writes their claims, memberships and the audit entry in one
/// transaction.
pub async fn create(s: &Services, caller: &Caller, new: NewUser, source: UserSource) -> Result<User> {
    create_as(s, caller, new, source, UserId::new(), &mut Lookups::default(), Vec::new()).await
}

/// What creating many people asks again and again, asked once: the account's user fields,
/// the organization each email domain links to, the organization each name names. One lives
/// for one request or one job step (a few seconds), so a change made meanwhile is seen by the
/// next step.
#[derive(Default, Clone)]
pub(crate) struct Lookups {
    fields: Option<Vec<CustomField>>,
    domains: HashMap<String, Option<OrganizationId>>,
    names: HashMap<String, Option<OrganizationId>>,
}

impl Lookups {
    pub(crate) async fn user_fields(&mut self, s: &Services, a: AccountId) -> Result<&[CustomField]> {
        if self.fields.is_none() {
            self.fields = Some(s.store.custom_fields(a, FieldTarget::User).await?);
        }
        Ok(self.fields.as_deref().unwrap_or_default())
    }

    /// The organization `email` links to (`organizations::matching`), once per domain.
    pub(crate) async fn matching(
        &mut self,
        s: &Services,
        a: AccountId,
        email: &Email,
    ) -> Result<Option<OrganizationId>> {
        let key = email.domain().to_owned();
        if let Some(found) = self.domains.get(&key) {
            return Ok(*found);
        }
        let found = orgs::matching(s, a, email).await?;
        self.domains.insert(key, found);
        Ok(found)
    }

    /// The organization `name` names: its id, or its name (ignoring case).
    pub(crate) async fn organization(
        &mut self,
        s: &Services,
        a: AccountId,
        name: &str,
    ) -> Result<Option<OrganizationId>> {
        if let Some(id) = OrganizationId::parse(name) {
            return Ok(Some(id));
        }
        let key = name_key(name);
        if let Some(found) = self.names.get(&key) {
            return Ok(*found);
        }
        let found = s.store.organization_named(a, name).await?;
        self.names.insert(key, found);
        Ok(found)
    }
}

/// `create` with the new user's id chosen by the caller (a job's, made from the row, so a row
/// redone after a crash finds the user it made), asking `lookups` what it asked before.
pub(crate) async fn create_as(
    s: &Services,
    caller: &Caller,
    new: NewUser,
    source: UserSource,
    id: UserId,
    lookups: &mut Lookups,
    also: Vec<crate::store::Item>,
) -> Result<User> {
    let w = creation(s, caller, new, source, id, lookups, also).await?;
    let u = w.after.clone();
    s.store.write_user(w).await.map_err(store_error)?;
    Ok(u)
}

/// A new user checked and linked as `create_as` makes it, not yet written (a batch writes
/// many together with `commit`).
pub(crate) async fn creation(
    s: &Services,
    caller: &Caller,
    new: NewUser,
    source: UserSource,
    id: UserId,
    lookups: &mut Lookups,
    also: Vec<crate::store::Item>,
) -> Result<UserWrite> {
    caller.require(Permission::UsersManage)?;
    let a = caller.account_id();
    let mut errors = FieldErrors::new();
    let name = errors.take(user::name(&new.name));
    let emails = errors.take_all(user::emails(&new.emails)).unwrap_or_default();
    let phone = new.phone.as_deref().and_then(|p| errors.take(phone(p)));
    let external_id = new.external_id.as_deref().and_then(|x| errors.take(user::external_id(x)));
    if new.organizations.len() > MAX_ORGANIZATIONS {
        errors.push(FieldError::new(
            "organizations",
            "too_many",
            format!("a user belongs to at most {MAX_ORGANIZATIONS} organizations"),
        ));
    }
    let values = custom_fields::checked(
        lookups.user_fields(s, a).await?,
        &Values::new(),
        new.custom_fields.as_ref().unwrap_or(&serde_json::Map::new()),
    )?;
    let values = errors.take_all(values);
    errors.finish()?;
    let by_hand = named_organizations(s, caller, &new.organizations).await?;
    let by_domain = match emails.first() {
        Some(e) => lookups.matching(s, a, e).await?,
        None => None,
    };
    let mut memberships = starting_memberships(by_hand, by_domain);
    memberships.truncate(MAX_ORGANIZATIONS);
    let now = Utc::now();
    let u = User {
        id,
        account_id: a,
        name: name.unwrap_or_default(),
        emails,
        phone,
        source,
        external_id,
        memberships,
        usergroups: Vec::new(),
        deactivated_at: None,
        custom_fields: values.unwrap_or_default(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let audit = AuditEntry::new(caller.actor(), "user.created", "user", u.id, described(&u));
    Ok(UserWrite { before: None, after: u, audit, also })
}

/// Write many users' changes (as few transactions as fit): each one's outcome, or an error
/// for the whole when the store fails.
pub(crate) async fn commit(s: &Services, writes: Vec<UserWrite>) -> Result<Vec<Result<User>>> {
    let users: Vec<User> = writes.iter().map(|w| w.after.clone()).collect();
    let done = s.store.write_users(writes).await?;
    Ok(users.into_iter().zip(done).map(|(u, r)| r.map(|()| u).map_err(store_error)).collect())
}

/// The organizations a request names by hand, each checked to exist.
async fn named_organizations(
    s: &Services,
    caller: &Caller,
    asked: &[MembershipInput],
) -> Result<Vec<(Membership, bool)>> {
    let mut ids = Vec::with_capacity(asked.len());
    for (i, m) in asked.iter().enumerate() {
        let field = format!("organizations[{i}].organization_id");
        let id = OrganizationId::parse(&m.organization_id)
            .ok_or_else(|| Error::unknown(&field, "unknown_organization", "names no organization of this account"))?;
        ids.push(id);
    }
    let found = s.store.get_organizations(caller.account_id(), &ids).await?;
    let mut out = Vec::with_capacity(asked.len());
    for (i, (m, id)) in asked.iter().zip(&ids).enumerate() {
        if !found.iter().any(|o| o.id == *id) {
            let field = format!("organizations[{i}].organization_id");
            return Err(Error::unknown(&field, "unknown_organization", "names no organization of this account"));
        }
        out.push((Membership { organization: *id, role: m.role, linked_by: LinkedBy::Hand }, m.primary));
    }
    Ok(out)
}

pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<User> {
    caller.require(Permission::UsersRead)?;
    find(s, caller, id).await
}

pub(crate) async fn write(
    s: &Services,
    caller: &Caller,
    before: &User,
    after: User,
    action: &str,
    memo: Option<String>,
) -> Result<User> {
    write_with(s, caller, before, after, action, memo, Vec::new()).await
}

/// `write`, with `also` (a directory entry's state) in the same transaction.
pub(crate) async fn write_with(
    s: &Services,
    caller: &Caller,
    before: &User,
    after: User,
    action: &str,
    memo: Option<String>,
    also: Vec<crate::store::Item>,
) -> Result<User> {
    let w = change(caller, before, after, action, memo, also);
    let u = w.after.clone();
    s.store.write_user(w).await.map_err(store_error)?;
    Ok(u)
}

/// A user's change as `write_with` writes it, not yet written.
pub(crate) fn change(
    caller: &Caller,
    before: &User,
    mut after: User,
    action: &str,
    memo: Option<String>,
    also: Vec<crate::store::Item>,
) -> UserWrite {
    after.version = before.version + 1;
    after.updated_at = Utc::now();
    let mut audit = AuditEntry::new(
        caller.actor(),
        action,
        "user",
        after.id,
        serde_json::json!({ "before": described(before), "after": described(&after) }),
    );
    audit.memo = memo;
    UserWrite { before: Some(before.clone()), after, audit, also }
}

pub async fn update(
    s: &Services,
    caller: &Caller,
    id: &str,
    change: UserChange,
    if_version: Option<u64>,
) -> Result<User> {
    caller.require(Permission::UsersManage)?;
    let before = find(s, caller, id).await?;
    if if_version.is_some_and(|v| v != before.version) {
        return Err(Error::PreconditionFailed);
    }
    let mut after = before.clone();
    let mut errors = FieldErrors::new();
    if let Some(n) = &change.name {
        after.name = errors.take(user::name(n)).unwrap_or_default();
    }
    if let Some(e) = change.emails.as_deref().and_then(|e| errors.take_all(user::emails(e))) {
        after.emails = e;
    }
    if let Some(p) = &change.phone {
        after.phone = if p.trim().is_empty() { None } else { errors.take(phone(p)) };
    }
    let a = caller.account_id();
    let values =
        custom_fields::apply(s, a, FieldTarget::User, &before.custom_fields, change.custom_fields.as_ref(), false);
    if let Some(v) = errors.take_all(values.await?) {
        after.custom_fields = v;
    }
    errors.finish()?;
    match write(s, caller, &before, after, "user.updated", change.memo).await {
        Err(Error::Conflict { code: "user_changed", .. }) if if_version.is_some() => Err(Error::PreconditionFailed),
        other => other,
    }
}

pub async fn delete(s: &Services, caller: &Caller, id: &str, memo: Option<String>) -> Result<()> {
    caller.require(Permission::UsersManage)?;
    let u = find(s, caller, id).await?;
    let mut audit = AuditEntry::new(caller.actor(), "user.deleted", "user", u.id, described(&u));
    audit.memo = memo;
    s.store.delete_user(&u, &audit).await.map_err(store_error)
}

/// Join an organization, or change the role in it (a hand-made link: a re-map never undoes it).
pub async fn set_membership(
    s: &Services,
    caller: &Caller,
    org_id: &str,
    user_id: &str,
    change: MembershipChange,
) -> Result<User> {
    caller.require(Permission::UsersManage)?;
    let o = orgs::find(s, caller, org_id).await?;
    let before = find(s, caller, user_id).await?;
    let m = Membership { organization: o.id, role: change.role, linked_by: LinkedBy::Hand };
    let primary_now = before.memberships.first().is_some_and(|x| x.organization == o.id);
    if before.membership(o.id) == Some(&m) && change.primary == primary_now {
        return Ok(before);
    }
    if before.membership(o.id).is_none() && before.memberships.len() >= MAX_ORGANIZATIONS {
        let message = format!("a user belongs to at most {MAX_ORGANIZATIONS} organizations");
        return Err(FieldError::new("organization_id", "too_many", message).into());
    }
    let mut after = before.clone();
    after.join(m, change.primary || primary_now);
    write(s, caller, &before, after, "user.organization_joined", None).await
}

pub async fn remove_membership(s: &Services, caller: &Caller, org_id: &str, user_id: &str) -> Result<User> {
    caller.require(Permission::UsersManage)?;
    let o = orgs::find(s, caller, org_id).await?;
    let before = find(s, caller, user_id).await?;
    let mut after = before.clone();
    if !after.leave(o.id) {
        return Err(Error::NotFound("membership"));
    }
    write(s, caller, &before, after, "user.organization_left", None).await
}

/// Whom a list shows.
#[derive(Debug, Default)]
pub struct UserFilter {
    /// Name prefix.
    pub q: Option<String>,
    /// Email prefix.
    pub email: Option<String>,
    pub organization: Option<String>,
    /// With `organization`: its descendants' people too.
    pub descendants: bool,
    pub source: Option<UserSource>,
}

pub struct Page {
    pub items: Vec<User>,
    pub next_cursor: Option<String>,
}

pub async fn list(
    s: &Services,
    caller: &Caller,
    f: UserFilter,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<Page> {
    caller.require(Permission::UsersRead)?;
    let limit = paging::limit(limit)?;
    let a = caller.account_id();
    let search = |field: &str, raw: &Option<String>| -> Result<Option<String>> {
        raw.as_deref()
            .map(|r| crate::domain::format::SEARCH.check(field, r, "must not contain control characters").map(name_key))
            .transpose()
            .map(|x| x.filter(|x| !x.is_empty()))
            .map_err(Error::from)
    };
    let (q, email) = (search("q", &f.q)?, search("email", &f.email)?);
    let keep = |u: &User| {
        f.source.is_none_or(|x| u.source == x) && q.as_ref().is_none_or(|q| name_key(&u.name).starts_with(q))
    };
    if let Some(org) = &f.organization {
        return organization_people(s, caller, org, f.descendants, &keep, limit, cursor).await;
    }
    let (users, last) = if let Some(e) = &email {
        let list = format!("users:email:{e}");
        let after = paging::open(s, caller, &list, cursor)?;
        let (users, last) = s.store.users_by_email(a, e, after.as_deref(), limit).await?;
        (users, paging::sign(s, caller, &list, last))
    } else if let Some(q) = &q {
        let list = format!("users:name:{q}");
        let after = paging::open(s, caller, &list, cursor)?;
        let (users, last) = s.store.users_named(a, q, after.as_deref(), limit).await?;
        (users, paging::sign(s, caller, &list, last))
    } else {
        let after = paging::open(s, caller, "users", cursor)?;
        let after = after.map(|p| UserId::parse(&p).ok_or_else(Error::invalid_cursor)).transpose()?;
        let (users, last) = s.store.user_page(a, after, limit).await?;
        (users, paging::sign(s, caller, "users", last.map(|u| u.to_string())))
    };
    let mut items: Vec<User> = users.into_iter().filter(|u| keep(u)).collect();
    present(s, caller, &mut items).await?;
    Ok(Page { items, next_cursor: last })
}

/// The people of an organization (and its descendants), each once: organization after
/// organization, a person listed under the first of theirs the walk meets.
async fn organization_people(
    s: &Services,
    caller: &Caller,
    org: &str,
    with_descendants: bool,
    keep: &(dyn Fn(&User) -> bool + Sync),
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page> {
    let a = caller.account_id();
    let unknown = || Error::unknown("organization", "unknown_organization", "names no organization of this account");
    let root_id = OrganizationId::parse(org).ok_or_else(unknown)?;
    let root = s.store.get_organization(a, root_id).await?.ok_or_else(unknown)?;
    let mut walk: Vec<Organization> = vec![root.clone()];
    if with_descendants {
        let below = descendants(s, a, &root, MAX_LISTED_ORGANIZATIONS).await?.ok_or_else(|| {
            Error::from(FieldError::new(
                "descendants",
                "too_many",
                format!("the organization has more than {MAX_LISTED_ORGANIZATIONS} descendants; list them one by one"),
            ))
        })?;
        walk.extend(below);
    }
    let list = format!("users:org:{}:{with_descendants}", root.id);
    let (mut index, mut after) = match paging::open(s, caller, &list, cursor)? {
        Some(p) => {
            let (i, sk) = p.split_once(':').ok_or_else(Error::invalid_cursor)?;
            (i.parse::<usize>().map_err(|_| Error::invalid_cursor())?, (!sk.is_empty()).then(|| sk.to_owned()))
        }
        None => (0, None),
    };
    let mut items = Vec::new();
    let mut scanned = 0;
    while let Some(o) = walk.get(index) {
        let (entries, last) =
            s.store.organization_member_page(a, o.id, None, after.as_deref(), limit - scanned).await?;
        scanned += entries.len() as i32;
        let ids: Vec<UserId> = entries.iter().map(|m| m.user_id).collect();
        let earlier = &walk[..index];
        for u in s.store.get_users(a, &ids).await? {
            let seen_before = u.memberships.iter().any(|m| earlier.iter().any(|e| e.id == m.organization));
            if !seen_before && keep(&u) {
                items.push(u);
            }
        }
        match last {
            Some(sk) => after = Some(sk),
            None => {
                index += 1;
                after = None;
            }
        }
        if scanned >= limit {
            break;
        }
    }
    let next = (index < walk.len()).then(|| format!("{index}:{}", after.unwrap_or_default()));
    present(s, caller, &mut items).await?;
    Ok(Page { items, next_cursor: paging::sign(s, caller, &list, next) })
}

/// An organization's memberships with the users, managers first.
pub async fn organization_members(
    s: &Services,
    caller: &Caller,
    org: &str,
    role: Option<OrganizationRole>,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<(Vec<(OrgMember, User)>, Option<String>)> {
    caller.require(Permission::UsersRead)?;
    let limit = paging::limit(limit)?;
    let o = orgs::find(s, caller, org).await?;
    let a = caller.account_id();
    let list = format!("members:{}:{}", o.id, role.map_or("all", OrganizationRole::as_str));
    let after = paging::open(s, caller, &list, cursor)?;
    let (entries, last) = s.store.organization_member_page(a, o.id, role, after.as_deref(), limit).await?;
    let mut users = s.store.get_users(a, &entries.iter().map(|m| m.user_id).collect::<Vec<_>>()).await?;
    present(s, caller, &mut users).await?;
    let pairs =
        entries.into_iter().filter_map(|m| users.iter().find(|u| u.id == m.user_id).cloned().map(|u| (m, u))).collect();
    Ok((pairs, paging::sign(s, caller, &list, last)))
}

/// Why one person may see another's tickets.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Visibility {
    pub allowed: bool,
    /// `same_user`, `manager` (of an organization the other belongs to) or
    /// `manager_of_ancestor` (with the account's hierarchy setting on); absent when not allowed.
    pub reason: Option<&'static str>,
    /// The organization that grants it.
    pub organization_id: Option<String>,
}

/// The check a ticketing system calls: may `viewer` see the tickets of `other`?
pub async fn can_view_tickets_of(s: &Services, caller: &Caller, viewer: &str, other: &str) -> Result<Visibility> {
    caller.require(Permission::UsersRead)?;
    let a = caller.account_id();
    let (v, o) = (UserId::parse(viewer).ok_or_else(not_found)?, UserId::parse(other).ok_or_else(not_found)?);
    let found = s.store.get_users(a, &[v, o]).await?;
    let viewer = found.iter().find(|u| u.id == v).ok_or_else(not_found)?;
    let other = found.iter().find(|u| u.id == o).ok_or_else(not_found)?;
    let grant = |reason, org: OrganizationId| Visibility {
        allowed: true,
        reason: Some(reason),
        organization_id: Some(org.to_string()),
    };
    if viewer.id == other.id {
        return Ok(Visibility { allowed: true, reason: Some("same_user"), organization_id: None });
    }
    let managed: Vec<OrganizationId> = viewer.managed().collect();
    if let Some(m) = other.memberships.iter().find(|m| managed.contains(&m.organization)) {
        return Ok(grant("manager", m.organization));
    }
    if !managed.is_empty() && caller.account.managers_see_child_organizations {
        let theirs =
            s.store.get_organizations(a, &other.memberships.iter().map(|m| m.organization).collect::<Vec<_>>()).await?;
        if let Some(up) = theirs.iter().flat_map(|o| o.lineage.iter()).find(|x| managed.contains(x)) {
            return Ok(grant("manager_of_ancestor", *up));
        }
    }
    Ok(Visibility { allowed: false, reason: None, organization_id: None })
}
