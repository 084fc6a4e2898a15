//! Managing members (SPEC §2): list, read, edit, change role, deactivate, reactivate, delete,
//! stats and export.
use super::{Caller, Error, Result, Services};
use crate::domain::audit::AuditEntry;
use crate::domain::format::NAME;
use crate::domain::ids::MemberId;
use crate::domain::member::{Member, MemberAction, MemberStatus};
use crate::domain::permissions::{self, OptionalPermission, Permission};
use crate::domain::role::{CustomRole, RoleRef};
use crate::domain::text::required_text;
use crate::store::{MEMBER_CHANGED, MemberFilter, ROTATION_CHANGED, StoreError};
use chrono::Utc;

pub struct Page {
    pub members: Vec<Member>,
    pub next_cursor: Option<String>,
}

/// The list's query string, as a client sends it.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
    /// Prefix of the email, the full name or the last name (case-insensitive).
    #[param(schema_with = crate::http::openapi::field::search)]
    pub q: Option<String>,
    /// `invited`, `active` or `deactivated`.
    pub status: Option<MemberStatus>,
    /// A basic role's id or a custom role's id.
    #[param(schema_with = crate::http::openapi::field::any_role)]
    pub role: Option<RoleRef>,
    /// A group's id: its members, in the group's order.
    #[param(schema_with = crate::http::openapi::field::id)]
    pub group: Option<String>,
}

pub async fn list(s: &Services, caller: &Caller, q: ListQuery) -> Result<Page> {
    caller.require(Permission::MembersRead)?;
    let search = match q.q.as_deref() {
        Some(raw) => Some(crate::domain::format::SEARCH.check("q", raw, "must not contain control characters")?),
        None => None,
    };
    let search = search.filter(|x| !x.is_empty()).map(str::to_lowercase);
    let filter = MemberFilter { status: q.status, role: q.role, search };
    match &q.group {
        Some(g) => group_page(s, caller, g, &filter, q.limit, q.cursor.as_deref()).await,
        None => page(s, caller, &filter, q.limit, q.cursor.as_deref()).await,
    }
}

fn open_cursor(s: &Services, caller: &Caller, cursor: Option<&str>) -> Result<Option<String>> {
    cursor.map(|c| s.keys.open_cursor(caller.account_id(), c).ok_or_else(Error::invalid_cursor)).transpose()
}

/// One page of a group's members, in the group's (seat) order: the group item is the index,
/// the members are read by key. The cursor is a seat number, so adds and removes between pages
/// neither repeat nor skip anyone.
async fn group_page(
    s: &Services,
    caller: &Caller,
    group: &str,
    filter: &MemberFilter,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<Page> {
    let limit = super::paging::limit(limit)? as usize;
    let after: u64 = match open_cursor(s, caller, cursor)? {
        None => 0,
        Some(p) => p.strip_prefix("seat:").and_then(|n| n.parse().ok()).ok_or_else(Error::invalid_cursor)?,
    };
    let seats: Vec<(u64, MemberId)> =
        super::groups::members_of(s, caller, group).await?.into_iter().filter(|(seat, _)| *seat > after).collect();
    let mut members = Vec::new();
    let mut last_seat = after;
    for chunk in seats.chunks(100) {
        let ids: Vec<MemberId> = chunk.iter().map(|(_, m)| *m).collect();
        let found = s.store.get_members(caller.account_id(), &ids).await?;
        for (seat, id) in chunk {
            if members.len() == limit {
                break;
            }
            last_seat = *seat;
            if let Some(m) = found.iter().find(|m| m.id == *id).filter(|m| filter.matches(m)) {
                members.push(m.clone());
            }
        }
        if members.len() == limit {
            break;
        }
    }
    let more = seats.iter().any(|(seat, _)| *seat > last_seat);
    let next_cursor = more.then(|| s.keys.sign_cursor(caller.account_id(), &format!("seat:{last_seat}")));
    Ok(Page { members, next_cursor })
}

/// One page of the caller's members; cursors are bound to the caller's account.
pub(crate) async fn page(
    s: &Services,
    caller: &Caller,
    filter: &MemberFilter,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<Page> {
    let limit = super::paging::limit(limit)?;
    let after = match open_cursor(s, caller, cursor)? {
        None => None,
        Some(p) => Some(MemberId::parse(&p).ok_or_else(Error::invalid_cursor)?),
    };
    let page = s.store.list_members(caller.account_id(), filter, after, limit as usize).await?;
    let next_cursor = page.last.map(|m| s.keys.sign_cursor(caller.account_id(), &m.to_string()));
    Ok(Page { members: page.members, next_cursor })
}

/// Another account's id is simply not found: the lookup only ever reads the caller's partition.
pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Member> {
    caller.require(Permission::MembersRead)?;
    find(s, caller, id).await
}

async fn find(s: &Services, caller: &Caller, id: &str) -> Result<Member> {
    let id = MemberId::parse(id).ok_or(Error::NotFound("member"))?;
    s.store.get_member(caller.account_id(), id).await?.ok_or(Error::NotFound("member"))
}

/// `PATCH /v1/members/{id}`: any subset of the fields; absent means unchanged.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    #[schema(schema_with = crate::http::openapi::field::name_or_null)]
    pub first_name: Option<String>,
    #[schema(schema_with = crate::http::openapi::field::name_or_null)]
    pub last_name: Option<String>,
    /// admin, supervisor, pro_agent, agent, viewer or a custom role's id.
    #[schema(schema_with = crate::http::openapi::field::role_or_null)]
    pub role: Option<String>,
    pub optional_permissions: Option<Vec<OptionalPermission>>,
    /// Why (kept in the system log).
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

/// Edit a member. `if_version` is the client's `If-Match`; without it the write still only
/// succeeds if nobody changed the member since it was read here.
pub async fn update(
    s: &Services,
    caller: &Caller,
    id: &str,
    change: MemberChange,
    if_version: Option<u64>,
) -> Result<Member> {
    caller.require(Permission::MembersManage)?;
    let before = find(s, caller, id).await?;
    super::roles::may_manage(s, caller, &before).await?;
    let mut after = before.clone();
    let mut errors = crate::domain::FieldErrors::new();
    if let Some(f) = &change.first_name {
        after.first_name = errors.take(required_text("first_name", f, &NAME)).unwrap_or_default();
    }
    if let Some(l) = &change.last_name {
        after.last_name = errors.take(required_text("last_name", l, &NAME)).unwrap_or_default();
    }
    if let Some(p) = &change.optional_permissions {
        let mut p = p.clone();
        p.sort_by_key(|x| *x as u8);
        p.dedup();
        after.optional_permissions = p;
    }
    errors.finish()?;
    if let Some(raw) = change.role.as_deref().filter(|r| RoleRef::parse(r.trim()) != Some(before.role)) {
        let role = super::roles::assignable(s, caller, "role", raw).await?;
        if !after.agent_ids.is_empty() && !role.agent_like() {
            return Err(Error::conflict(
                "holds_agent_ids",
                "this member holds agent IDs; release them before giving a role that cannot hold them",
            ));
        }
        after.role = role.id();
    }
    let action = if after.role != before.role || after.optional_permissions != before.optional_permissions {
        MemberAction::ChangeRole
    } else {
        MemberAction::EditProfile
    };
    before.check(caller.member_id(), action).map_err(Error::Forbidden)?;
    let name = if action == MemberAction::ChangeRole { "member.role_changed" } else { "member.updated" };
    save(s, caller, before, after, name, change.memo, if_version).await
}

pub async fn deactivate(s: &Services, caller: &Caller, id: &str, memo: Option<String>) -> Result<Member> {
    change_status(s, caller, id, MemberAction::Deactivate, memo).await
}

pub async fn reactivate(s: &Services, caller: &Caller, id: &str, memo: Option<String>) -> Result<Member> {
    change_status(s, caller, id, MemberAction::Reactivate, memo).await
}

async fn change_status(
    s: &Services,
    caller: &Caller,
    id: &str,
    action: MemberAction,
    memo: Option<String>,
) -> Result<Member> {
    caller.require(Permission::MembersManage)?;
    let before = find(s, caller, id).await?;
    before.check(caller.member_id(), action).map_err(Error::Forbidden)?;
    super::roles::may_manage(s, caller, &before).await?;
    let mut after = before.clone();
    let name = if action == MemberAction::Deactivate {
        after.status = MemberStatus::Deactivated;
        // Every session of the member ends now, and stays ended after a reactivation.
        after.sessions_valid_after = Some(Utc::now());
        "member.deactivated"
    } else {
        after.status = MemberStatus::Active;
        "member.reactivated"
    };
    save(s, caller, before, after, name, memo, None).await
}

async fn save(
    s: &Services,
    caller: &Caller,
    before: Member,
    mut after: Member,
    action: &str,
    memo: Option<String>,
    if_version: Option<u64>,
) -> Result<Member> {
    if if_version.is_some_and(|v| v != before.version) {
        return Err(Error::PreconditionFailed);
    }
    after.version = before.version + 1;
    let seats = super::groups::seats(s, &before, Some(&after)).await?;
    let mut audit = AuditEntry::new(
        caller.actor(),
        action,
        "member",
        after.id,
        serde_json::json!({ "before": snapshot(&before), "after": snapshot(&after) }),
    );
    audit.memo = memo;
    match s.store.save_member(&before, &after, &super::groups::rotation_changes(&seats), &audit).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(MEMBER_CHANGED)) if if_version.is_some() => Err(Error::PreconditionFailed),
        Err(StoreError::Conflict(MEMBER_CHANGED | ROTATION_CHANGED)) => {
            Err(Error::conflict("member_changed", "the member changed meanwhile; reload and retry"))
        }
        Err(e) => Err(e.into()),
    }
}

/// What the system log keeps of a member (never secrets).
fn snapshot(m: &Member) -> serde_json::Value {
    serde_json::json!({
        "email": m.email, "first_name": m.first_name, "last_name": m.last_name, "role": m.role,
        "status": m.status, "optional_permissions": m.optional_permissions,
    })
}

pub async fn delete(s: &Services, caller: &Caller, id: &str, memo: Option<String>) -> Result<()> {
    caller.require(Permission::MembersManage)?;
    let member = find(s, caller, id).await?;
    member.check(caller.member_id(), MemberAction::Delete).map_err(Error::Forbidden)?;
    super::roles::may_manage(s, caller, &member).await?;
    let mut audit = AuditEntry::new(caller.actor(), "member.deleted", "member", member.id, snapshot(&member));
    audit.memo = memo;
    let seats = super::groups::seats(s, &member, None).await?;
    match s.store.delete_member(&member, &super::groups::rotation_changes(&seats), &audit).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(_)) => {
            Err(Error::conflict("member_changed", "the member changed meanwhile; reload and retry"))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub active: u32,
    /// Invited and not yet accepted.
    pub invited: u32,
    pub deactivated: u32,
    /// Active members whose role may manage members (owner, admin, such custom roles).
    pub admins: u32,
    /// Active members with any other role.
    pub standard: u32,
}

/// The stats from the counters the transactions keep, and the account's custom roles (which
/// of them are admin roles is read now, so a role edit needs no recount).
pub fn from_counts(c: &crate::store::MemberCounts, roles: &[CustomRole]) -> Stats {
    let custom_admins: u64 =
        roles.iter().filter(|r| permissions::is_admin(&r.permissions)).map(|r| r.active_count).sum();
    let clamp = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    let admins = clamp(c.basic_admins).saturating_add(u32::try_from(custom_admins).unwrap_or(u32::MAX));
    let active = clamp(c.active);
    Stats {
        active,
        invited: clamp(c.invited),
        deactivated: clamp(c.deactivated),
        admins,
        standard: active.saturating_sub(admins),
    }
}

pub async fn stats(s: &Services, caller: &Caller) -> Result<Stats> {
    caller.require(Permission::MembersRead)?;
    let a = caller.account_id();
    let (counts, roles) = s.store.member_counts(a).await?;
    Ok(from_counts(&counts, &roles))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemberCounts;

    #[test]
    fn stats_add_custom_admin_roles_active_holders_to_the_basic_admins() {
        let counts = MemberCounts { active: 10, invited: 3, deactivated: 2, basic_admins: 2 };
        let role = |permissions, active_count| CustomRole {
            id: crate::domain::ids::RoleId::new(),
            account_id: crate::domain::ids::AccountId::new(),
            name: "r".into(),
            description: String::new(),
            permissions,
            agent_like: false,
            member_count: active_count,
            active_count,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            version: 1,
        };
        let (admin_like, reader) = (role(vec![Permission::MembersManage], 3), role(vec![Permission::MembersRead], 4));
        let st = from_counts(&counts, &[admin_like, reader]);
        assert_eq!(st, Stats { active: 10, invited: 3, deactivated: 2, admins: 5, standard: 5 });
        assert_eq!(from_counts(&MemberCounts { active: -1, ..Default::default() }, &[]).active, 0);
    }
}
