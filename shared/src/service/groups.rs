//! Groups, team leaders, availability and round-robin assignment (SPEC §4).
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;
use crate::domain::FieldErrors;
use crate::domain::audit::AuditEntry;
use crate::domain::group::{self, Group, MAX_CHANGES, MAX_INVITE_GROUPS, MAX_MEMBERS, MAX_PER_CALL};
use crate::domain::ids::{GroupId, MemberId};
use crate::domain::member::Member;
use crate::domain::permissions::Permission;
use crate::domain::role::Role;
use crate::store::{
    GROUP_CHANGED, GROUP_NAME_TAKEN, MEMBER_CHANGED, MemberChange, ROTATION_CHANGED, RotationChange, StoreError,
};
use chrono::Utc;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::description)]
    pub description: String,
    /// Round-robin assignment (default off: assignments name the member).
    #[serde(default)]
    pub auto_assign: bool,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupChange {
    #[schema(schema_with = crate::http::openapi::field::name_or_null)]
    pub name: Option<String>,
    #[schema(schema_with = crate::http::openapi::field::description_or_null)]
    pub description: Option<String>,
    pub auto_assign: Option<bool>,
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

/// Members joining and leaving in one call (at most 45 each; an id in both lists stays as it is).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::member_changes)]
    pub add: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::member_changes)]
    pub remove: Vec<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Leaders {
    /// Member ids; each must have a role that may manage groups.
    #[schema(schema_with = crate::http::openapi::field::leaders)]
    pub leaders: Vec<String>,
}

pub(crate) fn not_found() -> Error {
    Error::NotFound("group")
}

pub(crate) async fn find(s: &Services, caller: &Caller, id: &str) -> Result<Group> {
    let id = GroupId::parse(id).ok_or_else(not_found)?;
    s.store.get_group(caller.account_id(), id).await?.ok_or_else(not_found)
}

pub async fn list(s: &Services, caller: &Caller) -> Result<Vec<Group>> {
    caller.require(Permission::GroupsRead)?;
    Ok(s.store.list_groups(caller.account_id()).await?)
}

pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Group> {
    caller.require(Permission::GroupsRead)?;
    find(s, caller, id).await
}

fn name_taken() -> Error {
    Error::conflict("group_name_taken", "another group already has this name")
}

pub async fn create(s: &Services, caller: &Caller, new: NewGroup) -> Result<Group> {
    caller.require(Permission::GroupsManage)?;
    let mut errors = FieldErrors::new();
    let name = errors.take(group::name(&new.name));
    let description = errors.take(crate::domain::text::description(&new.description));
    errors.finish()?;
    let g = Group::new(
        caller.account_id(),
        name.unwrap_or_default(),
        description.unwrap_or_default(),
        new.auto_assign,
        Utc::now(),
    );
    let audit = AuditEntry::new(caller.actor(), "group.created", "group", g.id, settings(&g));
    match s.store.create_group(&g, &audit).await {
        Ok(()) => Ok(g),
        Err(StoreError::Conflict(GROUP_NAME_TAKEN)) => Err(name_taken()),
        Err(e) => Err(e.into()),
    }
}

fn settings(g: &Group) -> serde_json::Value {
    serde_json::json!({ "name": g.name, "description": g.description, "auto_assign": g.auto_assign })
}

pub async fn update(
    s: &Services,
    caller: &Caller,
    id: &str,
    change: GroupChange,
    if_version: Option<u64>,
) -> Result<Group> {
    caller.require(Permission::GroupsManage)?;
    let before = find(s, caller, id).await?;
    may_run(caller, &before)?;
    if if_version.is_some_and(|v| v != before.version) {
        return Err(Error::PreconditionFailed);
    }
    let mut after = before.clone();
    let mut errors = FieldErrors::new();
    if let Some(n) = &change.name {
        after.name = errors.take(group::name(n)).unwrap_or_default();
    }
    if let Some(d) = &change.description {
        after.description = errors.take(crate::domain::text::description(d)).unwrap_or_default();
    }
    errors.finish()?;
    if let Some(a) = change.auto_assign {
        after.auto_assign = a;
    }
    after.version += 1;
    after.updated_at = Utc::now();
    let mut audit = AuditEntry::new(
        caller.actor(),
        "group.updated",
        "group",
        after.id,
        serde_json::json!({ "before": settings(&before), "after": settings(&after) }),
    );
    audit.memo = change.memo;
    match s.store.update_group_settings(&before, &after, &audit).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(GROUP_NAME_TAKEN)) => Err(name_taken()),
        Err(StoreError::Conflict(GROUP_CHANGED)) if if_version.is_some() => Err(Error::PreconditionFailed),
        Err(StoreError::Conflict(GROUP_CHANGED)) => Err(changed()),
        Err(e) => Err(e.into()),
    }
}

fn changed() -> Error {
    Error::conflict("group_changed", "the group or its members changed meanwhile; reload and retry")
}

fn store_conflict(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(ROTATION_CHANGED | MEMBER_CHANGED) => changed(),
        other => other.into(),
    }
}

/// Whoever may manage members runs every group; anyone else with `groups_manage` (a
/// supervisor) only the groups they lead.
fn may_run(caller: &Caller, g: &Group) -> Result<()> {
    if caller.permissions().contains(&Permission::MembersManage) {
        return Ok(());
    }
    match caller.member_id() {
        Some(me) if g.leaders.contains(&me) => Ok(()),
        _ => Err(Error::Forbidden("you can manage only the groups you lead")),
    }
}

pub(crate) fn member_ids(field: &str, raw: &[String]) -> Result<Vec<MemberId>> {
    let mut ids = Vec::with_capacity(raw.len());
    for r in raw {
        let id = MemberId::parse(r).ok_or_else(|| {
            Error::Validation(vec![FieldError::new(field, "invalid", format!("{r} is not a member id"))])
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Add and remove members in one transaction: the group's rotation and each member's item.
pub async fn change_members(s: &Services, caller: &Caller, id: &str, m: Membership) -> Result<Group> {
    caller.require(Permission::GroupsManage)?;
    for (field, list) in [("add", &m.add), ("remove", &m.remove)] {
        if list.len() > MAX_CHANGES {
            return Err(FieldError::new(field, "too_many", format!("at most {MAX_CHANGES} members per call")).into());
        }
    }
    let (add, remove) = (member_ids("add", &m.add)?, member_ids("remove", &m.remove)?);
    // Named in both lists: asked to come and go at once, the member stays as they are.
    let (add, remove): (Vec<MemberId>, Vec<MemberId>) = (
        add.iter().filter(|x| !remove.contains(x)).copied().collect(),
        remove.iter().filter(|x| !add.contains(x)).copied().collect(),
    );
    let before = find(s, caller, id).await?;
    may_run(caller, &before)?;
    let a = caller.account_id();
    let wanted: Vec<MemberId> = add.iter().chain(&remove).copied().collect();
    let found = s.store.get_members(a, &wanted).await?;
    if let Some(missing) = wanted.iter().find(|w| !found.iter().any(|f| f.id == **w)) {
        let field = if add.contains(missing) { "add" } else { "remove" };
        return Err(Error::unknown(field, "unknown_member", format!("no member {missing} in this account")));
    }
    let mut after = before.clone();
    after.add(&found.iter().filter(|f| add.contains(&f.id)).map(|f| (f.id, f.assignable())).collect::<Vec<_>>());
    after.remove(&remove);
    if after.rotation.len() > MAX_MEMBERS {
        return Err(Error::conflict("group_full", format!("a group has at most {MAX_MEMBERS} members")));
    }
    let changed_members: Vec<(Member, Member)> = found
        .into_iter()
        .filter_map(|before_m| {
            let mut m = before_m.clone();
            if add.contains(&m.id) && !m.groups.contains(&before.id) {
                m.groups.push(before.id);
            } else if remove.contains(&m.id) && m.groups.contains(&before.id) {
                m.groups.retain(|g| *g != before.id);
            } else {
                return None;
            }
            m.version += 1;
            Some((before_m, m))
        })
        .collect();
    let audit = AuditEntry::new(
        caller.actor(),
        "group.members_changed",
        "group",
        before.id,
        serde_json::json!({ "name": before.name, "added": add, "removed": remove }),
    );
    let members: Vec<MemberChange> =
        changed_members.iter().map(|(b, a)| MemberChange { before: b, after: a }).collect();
    let rotation = RotationChange { before: &before, after: &after };
    s.store.change_rotations(a, &[rotation], &members, &audit).await.map_err(store_conflict)?;
    after.rotation_rev += 1;
    Ok(after)
}

/// Set who leads the group: members whose role may manage groups.
pub async fn set_leaders(s: &Services, caller: &Caller, id: &str, l: Leaders) -> Result<Group> {
    caller.require(Permission::GroupsManage)?;
    let before = find(s, caller, id).await?;
    may_run(caller, &before)?;
    let leaders = member_ids("leaders", &l.leaders)?;
    if leaders.len() > MAX_PER_CALL {
        return Err(vec![FieldError::new("leaders", "too_many", format!("at most {MAX_PER_CALL} leaders"))].into());
    }
    let a = caller.account_id();
    let found = s.store.get_members(a, &leaders).await?;
    for id in &leaders {
        let m = found
            .iter()
            .find(|m| m.id == *id)
            .ok_or_else(|| Error::unknown("leaders", "unknown_member", format!("no member {id} in this account")))?;
        let role = super::roles::resolve(s, a, m.role).await?;
        if !role.as_ref().is_some_and(|r| Role::permissions(r).contains(&Permission::GroupsManage)) {
            return Err(vec![FieldError::new(
                "leaders",
                "not_a_leader_role",
                format!("member {id} has a role that cannot lead groups (it needs groups_manage)"),
            )]
            .into());
        }
    }
    let mut after = before.clone();
    after.leaders = leaders;
    let audit = AuditEntry::new(
        caller.actor(),
        "group.leaders_changed",
        "group",
        before.id,
        serde_json::json!({ "name": before.name, "before": before.leaders, "after": after.leaders }),
    );
    s.store
        .change_rotations(a, &[RotationChange { before: &before, after: &after }], &[], &audit)
        .await
        .map_err(store_conflict)?;
    after.rotation_rev += 1;
    Ok(after)
}

/// Delete a group; its members leave it (in steps of 90 first when it has more).
pub async fn delete(s: &Services, caller: &Caller, id: &str, memo: Option<String>) -> Result<()> {
    caller.require(Permission::GroupsManage)?;
    let mut g = find(s, caller, id).await?;
    may_run(caller, &g)?;
    let a = caller.account_id();
    loop {
        let ids: Vec<MemberId> = g.rotation.iter().take(MAX_PER_CALL).map(|x| x.member).collect();
        let members = s.store.get_members(a, &ids).await?;
        let left: Vec<(Member, Member)> = members
            .into_iter()
            .map(|before| {
                let mut after = before.clone();
                after.groups.retain(|x| *x != g.id);
                after.version += 1;
                (before, after)
            })
            .collect();
        let changes: Vec<MemberChange> = left.iter().map(|(b, a)| MemberChange { before: b, after: a }).collect();
        if g.rotation.len() <= MAX_PER_CALL {
            let mut content = settings(&g);
            content["members"] = serde_json::json!(ids);
            let mut audit = AuditEntry::new(caller.actor(), "group.deleted", "group", g.id, content);
            audit.memo = memo;
            return s.store.delete_group(&g, &changes, &audit).await.map_err(store_conflict);
        }
        let mut after = g.clone();
        after.remove(&ids);
        let audit = AuditEntry::new(
            caller.actor(),
            "group.members_changed",
            "group",
            g.id,
            serde_json::json!({ "name": g.name, "removed": ids, "reason": "group deletion" }),
        );
        s.store
            .change_rotations(a, &[RotationChange { before: &g, after: &after }], &changes, &audit)
            .await
            .map_err(store_conflict)?;
        after.rotation_rev += 1;
        g = after;
    }
}

/// Switch a member's availability (their own, or, for a leader or admin, a team member's);
/// their seats in every group follow in the same transaction.
pub async fn set_availability(
    s: &Services,
    caller: &Caller,
    member_id: Option<&str>,
    available: bool,
) -> Result<Member> {
    let a = caller.account_id();
    let before = match member_id {
        None => caller.member().cloned().ok_or(Error::Forbidden("an API key has no availability"))?,
        Some(raw) => {
            caller.require(Permission::GroupsManage)?;
            let id = MemberId::parse(raw).ok_or(Error::NotFound("member"))?;
            let m = s.store.get_member(a, id).await?.ok_or(Error::NotFound("member"))?;
            if !caller.permissions().contains(&Permission::MembersManage) {
                let mine = team_groups(s, caller).await?;
                if !mine.iter().any(|g| g.has_member(m.id)) {
                    return Err(Error::Forbidden("you can manage only the members of groups you lead"));
                }
            }
            m
        }
    };
    if before.available == available {
        return Ok(before);
    }
    let mut after = before.clone();
    after.available = available;
    after.version += 1;
    let action = if available { "member.available" } else { "member.unavailable" };
    let audit =
        AuditEntry::new(caller.actor(), action, "member", after.id, serde_json::json!({ "available": available }));
    save_with_seats(s, &before, &after, &audit).await?;
    Ok(after)
}

/// The member's groups as read and as they become when the member changes (`None`: deleted):
/// their seat follows whether they may be assigned now. Only groups that change.
pub(crate) async fn seats(s: &Services, before: &Member, after: Option<&Member>) -> Result<Vec<(Group, Group)>> {
    let groups = match after {
        Some(m) if m.assignable() == before.assignable() => return Ok(Vec::new()),
        Some(_) => s.store.get_groups(before.account_id, &before.groups).await?,
        // A deleted member also stops leading: those groups are found among all of them.
        None => s.store.list_groups(before.account_id).await?,
    };
    Ok(groups
        .into_iter()
        .filter_map(|g| {
            let mut u = g.clone();
            match after {
                Some(m) => u.set_eligible(m.id, m.assignable()),
                None => u.remove(&[before.id]),
            }
            (u.rotation != g.rotation || u.leaders != g.leaders).then_some((g, u))
        })
        .collect())
}

pub(crate) fn rotation_changes(pairs: &[(Group, Group)]) -> Vec<RotationChange<'_>> {
    pairs.iter().map(|(before, after)| RotationChange { before, after }).collect()
}

/// Write a member whose eligibility for assignment may have changed, with their seats.
async fn save_with_seats(s: &Services, before: &Member, after: &Member, audit: &AuditEntry) -> Result<()> {
    let pairs = seats(s, before, Some(after)).await?;
    match s.store.save_member(before, after, &rotation_changes(&pairs), audit).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(MEMBER_CHANGED | ROTATION_CHANGED)) => {
            Err(Error::conflict("member_changed", "the member changed meanwhile; reload and retry"))
        }
        Err(e) => Err(e.into()),
    }
}

async fn team_groups(s: &Services, caller: &Caller) -> Result<Vec<Group>> {
    let me = caller.member_id().ok_or(Error::Forbidden("an API key has no team"))?;
    Ok(s.store.list_groups(caller.account_id()).await?.into_iter().filter(|g| g.leaders.contains(&me)).collect())
}

/// "My team": the members of the groups the caller leads.
pub async fn team(s: &Services, caller: &Caller) -> Result<Vec<Member>> {
    let mut ids: Vec<MemberId> = Vec::new();
    for g in team_groups(s, caller).await? {
        for seat in g.rotation {
            if !ids.contains(&seat.member) {
                ids.push(seat.member);
            }
        }
    }
    Ok(s.store.get_members(caller.account_id(), &ids).await?)
}

/// The groups an invitation names: valid ids, each once, at most 20; giving groups needs
/// `groups_manage`.
pub(crate) fn group_ids(caller: &Caller, raw: &[String]) -> Result<Vec<GroupId>> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    caller.require(Permission::GroupsManage)?;
    if raw.len() > MAX_INVITE_GROUPS {
        return Err(FieldError::new("groups", "too_many", format!("at most {MAX_INVITE_GROUPS} groups")).into());
    }
    let mut ids = Vec::new();
    for r in raw {
        let id = GroupId::parse(r)
            .ok_or_else(|| Error::unknown("groups", "unknown_group", format!("{r} is not one of your groups")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The rotations of `groups` with a new (invited, not yet eligible) member at the end.
pub(crate) async fn joining(
    s: &Services,
    caller: &Caller,
    groups: &[GroupId],
    member: MemberId,
) -> Result<Vec<(Group, Group)>> {
    let found = s.store.get_groups(caller.account_id(), groups).await?;
    let mut pairs = Vec::with_capacity(found.len());
    for id in groups {
        let g = found
            .iter()
            .find(|g| g.id == *id)
            .ok_or_else(|| Error::unknown("groups", "unknown_group", format!("{id} is not one of your groups")))?;
        may_run(caller, g)?;
        if g.rotation.len() >= MAX_MEMBERS {
            return Err(Error::conflict("group_full", format!("{} has {MAX_MEMBERS} members already", g.name)));
        }
        let mut after = g.clone();
        after.add(&[(member, false)]);
        pairs.push((g.clone(), after));
    }
    Ok(pairs)
}

/// A group's members by seat, for the member list's group filter (404 for an unknown group).
pub(crate) async fn members_of(s: &Services, caller: &Caller, id: &str) -> Result<Vec<(u64, MemberId)>> {
    let g = find(s, caller, id).await.map_err(|e| match e {
        Error::NotFound(_) => Error::unknown("group", "unknown_group", "group is the id of one of your groups"),
        other => other,
    })?;
    Ok(g.rotation.iter().map(|x| (x.seat, x.member)).collect())
}
