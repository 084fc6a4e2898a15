//! Roles (SPEC §3): the basic roles, read-only, and the account's custom roles: create, edit
//! (with If-Match), delete (refused while held unless the holders move in the same call).
use super::{Caller, Error, Result, Services};
use crate::domain::FieldErrors;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::RoleId;
use crate::domain::member::Member;
use crate::domain::permissions::{self, BasicRole, Permission};
use crate::domain::role::{self, CustomRole, Role, RoleRef};
use crate::domain::{FieldError, ids::AccountId};
use crate::store::{MEMBER_CHANGED, MemberFilter, Move, ROLE_CHANGED, ROLE_IN_USE, ROLE_NAME_TAKEN, StoreError};
use chrono::Utc;

/// Holders moved per transaction when a deletion is too large for one (DynamoDB allows 100
/// actions; the deletion itself needs four more).
pub const MOVES_PER_TRANSACTION: usize = 90;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    #[schema(schema_with = crate::http::openapi::field::role_name)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::description)]
    pub description: String,
    pub permissions: Vec<Permission>,
    /// Its members handle conversations and can hold agent IDs (default false).
    #[serde(default)]
    pub agent_like: bool,
}

/// `PATCH /v1/roles/{id}`: any subset of the fields; absent means unchanged.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    #[schema(schema_with = crate::http::openapi::field::role_name_or_null)]
    pub name: Option<String>,
    #[schema(schema_with = crate::http::openapi::field::description_or_null)]
    pub description: Option<String>,
    pub permissions: Option<Vec<Permission>>,
    pub agent_like: Option<bool>,
    /// Why (kept in the system log).
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

/// `DELETE /v1/roles/{id}` body.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleDeletion {
    /// Where the role's members go (a basic role id or another custom role's id). Required
    /// while anyone holds the role.
    #[schema(schema_with = crate::http::openapi::field::role_or_null)]
    pub replacement_role: Option<String>,
    /// Why (kept in the system log).
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

/// The basic roles, then the account's custom roles, oldest first.
pub async fn list(s: &Services, caller: &Caller) -> Result<Vec<Role>> {
    caller.require(Permission::RolesRead)?;
    let custom = s.store.list_roles(caller.account_id()).await?;
    Ok(BasicRole::ALL.into_iter().map(Role::Basic).chain(custom.into_iter().map(Role::Custom)).collect())
}

pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Role> {
    caller.require(Permission::RolesRead)?;
    let id = RoleRef::parse(id).ok_or(Error::NotFound("role"))?;
    resolve(s, caller.account_id(), id).await?.ok_or(Error::NotFound("role"))
}

/// A role of the account by id; `None` when there is no such custom role here.
pub(crate) async fn resolve(s: &Services, a: AccountId, id: RoleRef) -> Result<Option<Role>> {
    Ok(match id {
        RoleRef::Basic(r) => Some(Role::Basic(r)),
        RoleRef::Custom(id) => s.store.get_role(a, id).await?.map(Role::Custom),
    })
}

/// The role a client asks to give someone (`field` names it in errors): it must exist in the
/// caller's account and grant nothing the caller does not hold.
pub(crate) async fn assignable(s: &Services, caller: &Caller, field: &str, raw: &str) -> Result<Role> {
    let what = "is a basic role (admin, supervisor, pro_agent, agent, viewer) or a custom role's id";
    let id = RoleRef::parse(raw).ok_or_else(|| FieldError::new(field, "invalid", format!("{field} {what}")))?;
    let role = resolve(s, caller.account_id(), id)
        .await?
        .ok_or_else(|| Error::unknown(field, "unknown_role", format!("no role {raw} in this account")))?;
    role.assignable_by(caller.permissions()).map_err(|mut e| {
        e.field = field.to_owned();
        Error::Validation(vec![e])
    })?;
    Ok(role)
}

/// Whether the caller may act on a member with this role: only on those whose role grants
/// nothing beyond the caller's own permissions (so a limited manager cannot touch an admin).
pub(crate) async fn may_manage(s: &Services, caller: &Caller, member: &Member) -> Result<()> {
    let held = caller.permissions();
    if permissions::ALL.iter().all(|p| held.contains(p)) {
        return Ok(());
    }
    let role = resolve(s, caller.account_id(), member.role).await?;
    match role {
        Some(r) if r.permissions().iter().all(|p| held.contains(p)) => Ok(()),
        _ => Err(Error::Forbidden("this member's role grants more than yours")),
    }
}

pub async fn create(s: &Services, caller: &Caller, new: NewRole) -> Result<CustomRole> {
    caller.require(Permission::RolesManage)?;
    let mut errors = FieldErrors::new();
    let name = errors.take(role::name(&new.name));
    let description = errors.take(crate::domain::text::description(&new.description));
    let permissions = errors.take(permissions::grantable("permissions", &new.permissions, caller.permissions()));
    errors.finish()?;
    if name.as_deref().is_some_and(role::is_basic_name) {
        return Err(name_taken());
    }
    let now = Utc::now();
    let role = CustomRole {
        id: RoleId::new(),
        account_id: caller.account_id(),
        name: name.unwrap_or_default(),
        description: description.unwrap_or_default(),
        permissions: permissions.unwrap_or_default(),
        agent_like: new.agent_like,
        member_count: 0,
        active_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let audit = AuditEntry::new(caller.actor(), "role.created", "role", role.id, snapshot(&role));
    match s.store.create_role(&role, &audit).await {
        Ok(()) => Ok(role),
        Err(StoreError::Conflict(ROLE_NAME_TAKEN)) => Err(name_taken()),
        Err(e) => Err(e.into()),
    }
}

fn name_taken() -> Error {
    Error::conflict("role_name_taken", "another role already has this name")
}

/// A custom role of the caller's account the caller may change, or why not.
async fn changeable(s: &Services, caller: &Caller, id: &str) -> Result<CustomRole> {
    caller.require(Permission::RolesManage)?;
    let role = match RoleRef::parse(id) {
        Some(RoleRef::Custom(id)) => s.store.get_role(caller.account_id(), id).await?,
        Some(RoleRef::Basic(_)) => {
            return Err(Error::conflict("basic_role", "basic roles are defined by Roster and cannot be changed"));
        }
        None => None,
    };
    let role = role.ok_or(Error::NotFound("role"))?;
    if !role.permissions.iter().all(|p| caller.permissions().contains(p)) {
        return Err(Error::Forbidden("this role grants more than yours"));
    }
    Ok(role)
}

pub async fn update(
    s: &Services,
    caller: &Caller,
    id: &str,
    change: RoleChange,
    if_version: Option<u64>,
) -> Result<CustomRole> {
    let before = changeable(s, caller, id).await?;
    if if_version.is_some_and(|v| v != before.version) {
        return Err(Error::PreconditionFailed);
    }
    let mut after = before.clone();
    let mut errors = FieldErrors::new();
    if let Some(n) = &change.name {
        after.name = errors.take(role::name(n)).unwrap_or_default();
        if role::is_basic_name(&after.name) {
            return Err(name_taken());
        }
    }
    if let Some(d) = &change.description {
        after.description = errors.take(crate::domain::text::description(d)).unwrap_or_default();
    }
    if let Some(p) = &change.permissions {
        after.permissions =
            errors.take(permissions::grantable("permissions", p, caller.permissions())).unwrap_or_default();
    }
    if let Some(a) = change.agent_like {
        after.agent_like = a;
    }
    errors.finish()?;
    if before.agent_like && !after.agent_like && before.member_count > 0 {
        return Err(Error::conflict(
            "role_in_use",
            "members hold this role and may hold agent IDs; move them to another role before turning agent_like off",
        ));
    }
    after.version = before.version + 1;
    after.updated_at = Utc::now();
    let mut audit = AuditEntry::new(
        caller.actor(),
        "role.updated",
        "role",
        after.id,
        serde_json::json!({ "before": snapshot(&before), "after": snapshot(&after) }),
    );
    audit.memo = change.memo;
    match s.store.update_role(&before, &after, &audit).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(ROLE_NAME_TAKEN)) => Err(name_taken()),
        Err(StoreError::Conflict(ROLE_CHANGED)) if if_version.is_some() => Err(Error::PreconditionFailed),
        Err(StoreError::Conflict(ROLE_CHANGED)) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

fn changed_meanwhile() -> Error {
    Error::conflict("role_changed", "the role or its members changed meanwhile; reload and retry")
}

/// Delete a custom role. Its holders, if any, move to `replacement_role` in the same
/// transaction as the deletion; a role held by more than one transaction can carry moves its
/// holders in steps first (each atomic, each logged), so a retry after a timeout finishes the job.
pub async fn delete(
    s: &Services,
    caller: &Caller,
    id: &str,
    replacement: Option<String>,
    memo: Option<String>,
) -> Result<()> {
    let role = changeable(s, caller, id).await?;
    let a = caller.account_id();
    if caller.member().is_some_and(|m| m.role == RoleRef::Custom(role.id)) {
        return Err(Error::conflict("own_role", "you cannot delete the role you hold"));
    }
    let to = match &replacement {
        None => None,
        Some(raw) => {
            let r = assignable(s, caller, "replacement_role", raw).await?;
            if r.id() == RoleRef::Custom(role.id) {
                return Err(vec![FieldError::new(
                    "replacement_role",
                    "invalid",
                    "the replacement is the role being deleted",
                )]
                .into());
            }
            Some(r)
        }
    };
    let filter = MemberFilter { role: Some(RoleRef::Custom(role.id)), ..Default::default() };
    let holders = if role.member_count == 0 { Vec::new() } else { s.store.all_members(a, &filter).await? };
    if holders.is_empty() {
        return finish(s, caller, &role, None, &[], memo).await;
    }
    let Some(to) = to else {
        return Err(Error::conflict(
            "role_in_use",
            format!("{} members hold this role; name a replacement_role to move them", holders.len()),
        ));
    };
    if !to.agent_like() && holders.iter().any(|m| !m.agent_ids.is_empty()) {
        return Err(Error::conflict(
            "holds_agent_ids",
            "some holders hold agent IDs and the replacement role cannot hold them; release them first",
        ));
    }
    let moved: Vec<Member> = holders
        .iter()
        .map(|m| {
            let mut after = m.clone();
            after.role = to.id();
            after.version += 1;
            after
        })
        .collect();
    let moves: Vec<Move> =
        moved.iter().zip(&holders).map(|(member, before)| Move { member, expected: before.version }).collect();
    let (steps, last) = moves.split_at(moves.len().saturating_sub(MOVES_PER_TRANSACTION));
    for step in steps.chunks(MOVES_PER_TRANSACTION) {
        let ids: Vec<_> = step.iter().map(|m| m.member.id).collect();
        let mut audit = AuditEntry::new(
            caller.actor(),
            "role.members_moved",
            "role",
            role.id,
            serde_json::json!({ "name": role.name, "to": to.id(), "members": ids }),
        );
        audit.memo = memo.clone();
        s.store.move_role_members(a, role.id, step, &audit).await.map_err(conflict)?;
    }
    finish(s, caller, &role, Some(&to), last, memo).await
}

async fn finish(
    s: &Services,
    caller: &Caller,
    role: &CustomRole,
    to: Option<&Role>,
    moves: &[Move<'_>],
    memo: Option<String>,
) -> Result<()> {
    let mut content = snapshot(role);
    content["replacement_role"] = serde_json::json!(to.map(Role::id));
    content["moved_members"] = serde_json::json!(moves.iter().map(|m| m.member.id).collect::<Vec<_>>());
    let mut audit = AuditEntry::new(caller.actor(), "role.deleted", "role", role.id, content);
    audit.memo = memo;
    s.store.delete_role(role, moves, &audit).await.map_err(conflict)
}

fn conflict(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(ROLE_IN_USE | MEMBER_CHANGED) => changed_meanwhile(),
        other => other.into(),
    }
}

/// What the system log keeps of a role.
fn snapshot(r: &CustomRole) -> serde_json::Value {
    serde_json::json!({
        "name": r.name, "description": r.description, "permissions": r.permissions, "agent_like": r.agent_like,
    })
}
