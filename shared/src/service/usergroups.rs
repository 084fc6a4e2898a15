//! Usergroups (SPEC §5): their settings, giving them to organizations and users, and a user's
//! effective usergroups with where each came from.
use super::{Caller, Error, Result, Services};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{OrganizationId, UsergroupId};
use crate::domain::permissions::Permission;
use crate::domain::usergroup::{self, MAX_PER_HOLDER, PortalPermission, Usergroup, Via, effective};
use crate::domain::{FieldError, FieldErrors};
use crate::store::{HOLDER_CHANGED, Holder, StoreError, USERGROUP_CHANGED, USERGROUP_GONE, USERGROUP_NAME_TAKEN};
use chrono::Utc;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUsergroup {
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::description)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<PortalPermission>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsergroupChange {
    #[schema(schema_with = crate::http::openapi::field::name_or_null)]
    pub name: Option<String>,
    #[schema(schema_with = crate::http::openapi::field::description_or_null)]
    pub description: Option<String>,
    /// Replaces the list.
    pub permissions: Option<Vec<PortalPermission>>,
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

fn not_found() -> Error {
    Error::NotFound("usergroup")
}

async fn find(s: &Services, caller: &Caller, id: &str) -> Result<Usergroup> {
    let id = UsergroupId::parse(id).ok_or_else(not_found)?;
    s.store.get_usergroup(caller.account_id(), id).await?.ok_or_else(not_found)
}

fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(USERGROUP_NAME_TAKEN) => {
            Error::conflict("usergroup_name_taken", "another usergroup already has this name")
        }
        StoreError::Conflict(USERGROUP_CHANGED) => {
            Error::conflict("usergroup_changed", "the usergroup changed or gained holders meanwhile; reload and retry")
        }
        StoreError::Conflict(HOLDER_CHANGED) => {
            Error::conflict("holder_changed", "the organization or user changed meanwhile; retry")
        }
        StoreError::Conflict(USERGROUP_GONE) => not_found(),
        other => other.into(),
    }
}

fn settings(g: &Usergroup) -> serde_json::Value {
    serde_json::json!({ "name": g.name, "description": g.description, "permissions": g.permissions })
}

pub async fn list(s: &Services, caller: &Caller) -> Result<Vec<Usergroup>> {
    caller.require(Permission::UsersRead)?;
    Ok(s.store.list_usergroups(caller.account_id()).await?)
}

pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Usergroup> {
    caller.require(Permission::UsersRead)?;
    find(s, caller, id).await
}

pub async fn create(s: &Services, caller: &Caller, new: NewUsergroup) -> Result<Usergroup> {
    caller.require(Permission::UsersManage)?;
    let mut errors = FieldErrors::new();
    let name = errors.take(usergroup::name(&new.name));
    let description = errors.take(crate::domain::text::description(&new.description));
    errors.finish()?;
    let g = Usergroup::new(
        caller.account_id(),
        name.unwrap_or_default(),
        description.unwrap_or_default(),
        new.permissions,
        Utc::now(),
    );
    let audit = AuditEntry::new(caller.actor(), "usergroup.created", "usergroup", g.id, settings(&g));
    s.store.create_usergroup(&g, &audit).await.map_err(store_error)?;
    Ok(g)
}

pub async fn update(
    s: &Services,
    caller: &Caller,
    id: &str,
    change: UsergroupChange,
    if_version: Option<u64>,
) -> Result<Usergroup> {
    caller.require(Permission::UsersManage)?;
    let before = find(s, caller, id).await?;
    if if_version.is_some_and(|v| v != before.version) {
        return Err(Error::PreconditionFailed);
    }
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    if let Some(n) = &change.name {
        after.name = errors.take(usergroup::name(n)).unwrap_or_default();
    }
    if let Some(d) = &change.description {
        after.description = errors.take(crate::domain::text::description(d)).unwrap_or_default();
    }
    errors.finish()?;
    if let Some(p) = change.permissions {
        after.permissions =
            Usergroup::new(after.account_id, String::new(), String::new(), p, after.created_at).permissions;
    }
    after.version += 1;
    after.updated_at = Utc::now();
    let mut audit = AuditEntry::new(
        caller.actor(),
        "usergroup.updated",
        "usergroup",
        after.id,
        serde_json::json!({ "before": settings(&before), "after": settings(&after) }),
    );
    audit.memo = change.memo;
    match s.store.update_usergroup(&before, &after, &audit).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(USERGROUP_CHANGED)) if if_version.is_some() => Err(Error::PreconditionFailed),
        Err(e) => Err(store_error(e)),
    }
}

/// Delete a usergroup no organization or user holds any more.
pub async fn delete(s: &Services, caller: &Caller, id: &str, memo: Option<String>) -> Result<()> {
    caller.require(Permission::UsersManage)?;
    let g = find(s, caller, id).await?;
    if g.holders > 0 {
        return Err(Error::conflict(
            "usergroup_in_use",
            format!("{} organizations and users hold this usergroup: take it from them first", g.holders),
        ));
    }
    let mut audit = AuditEntry::new(caller.actor(), "usergroup.deleted", "usergroup", g.id, settings(&g));
    audit.memo = memo;
    s.store.delete_usergroup(&g, &audit).await.map_err(store_error)
}

/// Give a usergroup to an organization or a user (`give`), or take it back.
pub async fn hold(
    s: &Services,
    caller: &Caller,
    holder: &HolderRef<'_>,
    usergroup_id: &str,
    give: bool,
) -> Result<Vec<UsergroupId>> {
    let needed = match holder {
        HolderRef::Organization(_) => Permission::OrganizationsManage,
        HolderRef::User(_) => Permission::UsersManage,
    };
    caller.require(needed)?;
    let a = caller.account_id();
    let (target, version, mut held, target_type) = match holder {
        HolderRef::Organization(id) => {
            let o = super::organizations::find(s, caller, id).await?;
            (Holder::Organization(o.id), o.version, o.usergroups, "organization")
        }
        HolderRef::User(id) => {
            let u = super::users::find(s, caller, id).await?;
            (Holder::User(u.id), u.version, u.usergroups, "user")
        }
    };
    let g = find(s, caller, usergroup_id).await?;
    let has = held.contains(&g.id);
    if has == give {
        return if give { Ok(held) } else { Err(Error::NotFound("usergroup")) };
    }
    if give && held.len() >= MAX_PER_HOLDER {
        let message = format!("at most {MAX_PER_HOLDER} usergroups each");
        return Err(FieldError::new("usergroup_id", "too_many", message).into());
    }
    if give {
        held.push(g.id);
    } else {
        held.retain(|x| *x != g.id);
    }
    let target_id = match target {
        Holder::Organization(o) => o.to_string(),
        Holder::User(u) => u.to_string(),
    };
    let action = if give { "usergroup_given" } else { "usergroup_taken" };
    let audit = AuditEntry::new(
        caller.actor(),
        &format!("{target_type}.{action}"),
        target_type,
        target_id,
        serde_json::json!({ "usergroup_id": g.id, "usergroup": g.name }),
    );
    s.store
        .change_holding(a, (target, version, &held), (g.id, if give { 1 } else { -1 }), &audit)
        .await
        .map_err(store_error)?;
    Ok(held)
}

/// An organization or a user, by the id in the path.
pub enum HolderRef<'a> {
    Organization(&'a str),
    User(&'a str),
}

/// A user's usergroups: given to them, to their organizations and (with the account's
/// preference) to those organizations' ancestors; deleted ones never show.
pub async fn effective_of(s: &Services, caller: &Caller, user_id: &str) -> Result<Vec<(Usergroup, Vec<Via>)>> {
    caller.require(Permission::UsersRead)?;
    let a = caller.account_id();
    let u = super::users::get(s, caller, user_id).await?;
    let org_ids: Vec<OrganizationId> = u.memberships.iter().map(|m| m.organization).collect();
    let theirs = s.store.get_organizations(a, &org_ids).await?;
    let ancestors = if caller.account.usergroups_from_parent_organizations {
        let up: Vec<OrganizationId> = theirs.iter().flat_map(|o| o.lineage.iter().copied()).collect();
        s.store.get_organizations(a, &up).await?
    } else {
        Vec::new()
    };
    let by_org: Vec<(OrganizationId, &[UsergroupId])> =
        theirs.iter().map(|o| (o.id, o.usergroups.as_slice())).collect();
    let mut by_ancestor: Vec<(OrganizationId, OrganizationId, &[UsergroupId])> = Vec::new();
    for below in &theirs {
        // Nearest ancestor first.
        for up in below.lineage.iter().rev() {
            if let Some(o) = ancestors.iter().find(|x| x.id == *up) {
                by_ancestor.push((o.id, below.id, o.usergroups.as_slice()));
            }
        }
    }
    let found = effective(&u.usergroups, &by_org, &by_ancestor);
    let groups = s.store.get_usergroups(a, &found.iter().map(|(g, _)| *g).collect::<Vec<_>>()).await?;
    Ok(found
        .into_iter()
        .filter_map(|(id, via)| groups.iter().find(|g| g.id == id).cloned().map(|g| (g, via)))
        .collect())
}
