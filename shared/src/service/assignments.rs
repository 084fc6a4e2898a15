//! Round-robin assignment in a group (SPEC §4): who gets this ticket, fairly, once per ref.
use super::groups::{find, member_ids, not_found};
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;
use crate::domain::audit::AuditEntry;
use crate::domain::group::{self, Assignment};
use crate::domain::ids::GroupId;
use crate::domain::permissions::Permission;
use crate::store::{ASSIGNMENT_EXISTS, ROTATION_CHANGED, StoreError, TURN_TAKEN};
use chrono::Utc;
use std::time::Duration;

/// Attempts of one assignment request when other assignments take the turn first.
const ASSIGN_ATTEMPTS: u32 = 100;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The ticket's reference: posting the same one again returns the first answer.
    #[serde(rename = "ref")]
    #[schema(schema_with = crate::http::openapi::field::reference)]
    pub reference: String,
    /// Required when automatic assignment is off; refused when it is on.
    #[schema(schema_with = crate::http::openapi::field::id_or_null)]
    pub member_id: Option<String>,
}

/// Assign a ticket in the group: round robin when automatic assignment is on, the named member
/// otherwise. The same `ref` always gets the same answer (`false`: it was assigned before).
pub async fn assign(s: &Services, caller: &Caller, id: &str, req: AssignRequest) -> Result<(Assignment, bool)> {
    caller.require(Permission::AssignmentsCreate)?;
    let reference = group::reference(&req.reference)?;
    let gid = GroupId::parse(id).ok_or_else(not_found)?;
    let named = match &req.member_id {
        None => None,
        Some(raw) => member_ids("member_id", std::slice::from_ref(raw))?.into_iter().next(),
    };
    let a = caller.account_id();
    // Requests this process serves for one group take turns instead of colliding; other
    // processes (Lambda instances) still race, and the transaction's conditions decide.
    let turn = group_lock(gid);
    let _turn = turn.lock().await;
    for attempt in 0..ASSIGN_ATTEMPTS {
        let (g, existing) = s.store.group_and_assignment(a, gid, &reference).await?;
        let g = g.ok_or_else(not_found)?;
        if let Some(x) = existing {
            return Ok((x, false));
        }
        let seat = match (g.auto_assign, named) {
            // The group's setting decides who chooses: a request that disagrees conflicts with it.
            (true, Some(_)) => {
                return Err(Error::conflict(
                    "assignment_is_automatic",
                    "automatic assignment is on: the group chooses the member; send no member_id",
                ));
            }
            (false, None) => {
                return Err(Error::conflict(
                    "member_required",
                    "automatic assignment is off: name the member in member_id",
                ));
            }
            (true, None) => g.next_in_turn().ok_or_else(|| {
                Error::conflict("no_one_available", "no member of this group is active and available")
            })?,
            (false, Some(m)) => {
                let seat = g.rotation.iter().find(|x| x.member == m).copied().ok_or_else(|| {
                    Error::unknown("member_id", "not_in_group", "no member of this group has this id")
                })?;
                if !seat.eligible {
                    return Err(Error::conflict("member_unavailable", "this member is not active and available"));
                }
                seat
            }
        };
        let x = Assignment {
            group_id: g.id,
            reference: reference.clone(),
            member_id: seat.member,
            number: g.assigned + 1,
            automatic: g.auto_assign,
            at: Utc::now(),
            by: caller.actor_id(),
        };
        let last_seat = if g.auto_assign { seat.seat } else { g.last_seat };
        let audit = AuditEntry::new(
            caller.actor(),
            "assignment.created",
            "assignment",
            format!("{}/{}", g.id, x.reference),
            serde_json::json!({ "group_id": g.id, "reference": x.reference, "member_id": x.member_id, "number": x.number, "automatic": x.automatic }),
        );
        match s.store.record_assignment(a, &g, last_seat, &x, &audit).await {
            Ok(()) => return Ok((x, true)),
            Err(StoreError::Conflict(ASSIGNMENT_EXISTS)) => {
                if let Some(first) = s.store.get_assignment(a, gid, &reference).await? {
                    return Ok((first, false));
                }
            }
            // Another assignment or a rotation change came first: read again and retry.
            Err(StoreError::Conflict(TURN_TAKEN | ROTATION_CHANGED)) | Err(StoreError::Unavailable(_)) => {}
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    Err(Error::Unavailable("the group is too busy right now; retry".into()))
}

fn group_lock(g: GroupId) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};
    static LOCKS: LazyLock<Mutex<HashMap<GroupId, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);
    let mut locks = LOCKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(g).or_default().clone()
}

/// Random, growing pauses so that competing requests spread out instead of colliding again.
pub(crate) fn backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let cap = 2u64.pow(attempt.min(5)) * 2;
    Duration::from_millis(rand::rng().random_range(0..=cap))
}

pub async fn list_assignments(
    s: &Services,
    caller: &Caller,
    id: &str,
    limit: Option<i32>,
    cursor: Option<&str>,
) -> Result<(Vec<Assignment>, Option<String>)> {
    caller.require(Permission::GroupsRead)?;
    let g = find(s, caller, id).await?;
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(vec![FieldError::new("limit", "invalid", "limit is between 1 and 200")].into());
    }
    let after = match cursor {
        None => 0,
        Some(c) => {
            s.keys.open_cursor(caller.account_id(), c).and_then(|p| p.parse().ok()).ok_or_else(Error::invalid_cursor)?
        }
    };
    let items = s.store.list_assignments(caller.account_id(), g.id, after, limit).await?;
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(|x| s.keys.sign_cursor(caller.account_id(), &x.number.to_string())))
        .flatten();
    Ok((items, next))
}
