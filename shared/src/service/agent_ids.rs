//! Mapping external agent IDs to members (SPEC §2): one member at a time per ID, reassignment
//! explicit and logged with the previous holder.
use super::{Caller, Error, Result, Services};
use crate::domain::agent_id;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::MemberId;
use crate::domain::member::Member;
use crate::domain::permissions::Permission;
use crate::store::{AGENT_ID_TAKEN, MEMBER_CHANGED, StoreError, Versioned};

async fn member(s: &Services, caller: &Caller, id: &str) -> Result<Member> {
    let id = MemberId::parse(id).ok_or(Error::NotFound("member"))?;
    s.store.get_member(caller.account_id(), id).await?.ok_or(Error::NotFound("member"))
}

fn taken(agent_id: &str, holder: MemberId) -> Error {
    Error::conflict(
        "agent_id_taken",
        format!("agent ID {agent_id} belongs to member {holder}; send reassign=true to move it"),
    )
}

/// Give the agent ID to the member. Already theirs: nothing changes. Held by someone else:
/// 409 naming the holder, unless `reassign`.
pub async fn assign(s: &Services, caller: &Caller, member_id: &str, raw: &str, reassign: bool) -> Result<Member> {
    caller.require(Permission::MembersManage)?;
    let agent_id = agent_id::parse(raw)?;
    let id = MemberId::parse(member_id).ok_or(Error::NotFound("member"))?;
    let (target, holder) = s.store.member_and_agent_id_holder(caller.account_id(), id, &agent_id).await?;
    let target = target.ok_or(Error::NotFound("member"))?;
    super::roles::may_manage(s, caller, &target).await?;
    let agent_like = super::roles::resolve(s, caller.account_id(), target.role).await?.is_some_and(|r| r.agent_like());
    if !agent_like {
        return Err(Error::conflict(
            "role_cannot_hold_agent_ids",
            "only agents, pro agents, supervisors and agent-like custom roles hold agent IDs",
        ));
    }
    if holder == Some(target.id) {
        return Ok(target);
    }
    let mut to = target.clone();
    to.agent_ids.push(agent_id.clone());
    to.version += 1;
    let previous = match holder {
        Some(h) if !reassign => return Err(taken(&agent_id, h)),
        Some(h) => Some(s.store.get_member(caller.account_id(), h).await?.ok_or_else(|| taken(&agent_id, h))?),
        None => None,
    };
    // Taking it from its holder is managing the holder too.
    if let Some(p) = &previous {
        super::roles::may_manage(s, caller, p).await?;
    }
    let from = previous.as_ref().map(|p| {
        let mut after = p.clone();
        after.agent_ids.retain(|x| *x != agent_id);
        after.version += 1;
        (after, p.version)
    });
    let (action, content) = match &previous {
        Some(p) => (
            "agent_id.reassigned",
            serde_json::json!({ "agent_id": agent_id, "from": p.id, "from_name": p.full_name(), "to": to.id }),
        ),
        None => ("agent_id.assigned", serde_json::json!({ "agent_id": agent_id, "to": to.id })),
    };
    let audit = AuditEntry::new(caller.actor(), action, "agent_id", &agent_id, content);
    let result = s
        .store
        .assign_agent_id(
            &agent_id,
            Versioned { member: &to, expected: target.version },
            from.as_ref().map(|(after, expected)| Versioned { member: after, expected: *expected }),
            &audit,
        )
        .await;
    match result {
        Ok(()) => Ok(to),
        // Someone else got it first: report who holds it now.
        Err(StoreError::Conflict(AGENT_ID_TAKEN)) => match s.store.agent_id_holder(&target, &agent_id).await? {
            Some(h) => Err(taken(&agent_id, h)),
            None => Err(Error::conflict("agent_id_changed", "the agent ID changed meanwhile; retry")),
        },
        Err(StoreError::Conflict(MEMBER_CHANGED)) => {
            Err(Error::conflict("member_changed", "the member changed meanwhile; reload and retry"))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn release(s: &Services, caller: &Caller, member_id: &str, raw: &str) -> Result<Member> {
    caller.require(Permission::MembersManage)?;
    let target = member(s, caller, member_id).await?;
    super::roles::may_manage(s, caller, &target).await?;
    if !target.agent_ids.iter().any(|x| x == raw) {
        return Err(Error::NotFound("agent ID of this member"));
    }
    let mut after = target.clone();
    after.agent_ids.retain(|x| x != raw);
    after.version += 1;
    let audit = AuditEntry::new(
        caller.actor(),
        "agent_id.released",
        "agent_id",
        raw,
        serde_json::json!({ "agent_id": raw, "from": target.id }),
    );
    match s.store.release_agent_id(raw, Versioned { member: &after, expected: target.version }, &audit).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(_)) => {
            Err(Error::conflict("member_changed", "the member changed meanwhile; reload and retry"))
        }
        Err(e) => Err(e.into()),
    }
}
