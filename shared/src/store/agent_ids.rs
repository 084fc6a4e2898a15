use super::records::{MEMBER_CHANGED, member_item};
use super::tx::{Change, Condition, Tx, s};
use super::{Store, StoreResult, from_item, keys, take_item};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::member::Member;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The per-account item whose existence makes an agent ID one member's.
#[derive(Serialize, Deserialize)]
struct AgentIdClaim {
    agent_id: String,
    member_id: MemberId,
    assigned_at: DateTime<Utc>,
}

/// Guard when the agent ID is (no longer) held as read.
pub const AGENT_ID_TAKEN: &str = "agent_id_taken";

/// A member as changed, with the version it had when read.
pub struct Versioned<'a> {
    pub member: &'a Member,
    pub expected: u64,
}

impl Store {
    pub async fn agent_id_holder(&self, member: &Member, agent_id: &str) -> StoreResult<Option<MemberId>> {
        Ok(self.get::<AgentIdClaim>(&keys::agent_id(member.account_id, agent_id)).await?.map(|c| c.member_id))
    }

    /// A member and the current holder of an agent ID, in one round trip.
    pub async fn member_and_agent_id_holder(
        &self,
        a: AccountId,
        m: MemberId,
        agent_id: &str,
    ) -> StoreResult<(Option<Member>, Option<MemberId>)> {
        let (km, kc) = (keys::member(a, m), keys::agent_id(a, agent_id));
        let mut items = self.batch_get(&[&km, &kc]).await?;
        let claim: Option<AgentIdClaim> = take_item(&mut items, &kc).map(from_item).transpose()?;
        Ok((take_item(&mut items, &km).map(from_item).transpose()?, claim.map(|c| c.member_id)))
    }

    /// Give `agent_id` to `to`; from `from` when it is a reassignment. The claim item and both
    /// members change together, each only if unchanged since read.
    pub async fn assign_agent_id(
        &self,
        agent_id: &str,
        to: Versioned<'_>,
        from: Option<Versioned<'_>>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let a = to.member.account_id;
        let key = keys::agent_id(a, agent_id);
        let claim = AgentIdClaim { agent_id: agent_id.to_owned(), member_id: to.member.id, assigned_at: Utc::now() };
        let mut tx = Tx::new();
        match &from {
            None => tx.create(AGENT_ID_TAKEN, &key, &claim)?,
            Some(previous) => tx.update(
                AGENT_ID_TAKEN,
                &key,
                Change {
                    update: "SET member_id = :to, assigned_at = :at",
                    condition: "member_id = :from",
                    values: vec![
                        (":to", s(to.member.id.to_string())),
                        (":from", s(previous.member.id.to_string())),
                        (":at", s(claim.assigned_at.to_rfc3339())),
                    ],
                    names: vec![],
                },
            )?,
        }
        tx.replace_versioned(MEMBER_CHANGED, member_item(to.member)?, to.expected)?;
        if let Some(previous) = from {
            tx.replace_versioned(MEMBER_CHANGED, member_item(previous.member)?, previous.expected)?;
        }
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    pub async fn release_agent_id(&self, agent_id: &str, holder: Versioned<'_>, audit: &AuditEntry) -> StoreResult<()> {
        let a = holder.member.account_id;
        let mut tx = Tx::new();
        tx.delete_where(
            AGENT_ID_TAKEN,
            &keys::agent_id(a, agent_id),
            Condition {
                condition: "member_id = :m",
                values: vec![(":m", s(holder.member.id.to_string()))],
                names: vec![],
            },
        )?;
        tx.replace_versioned(MEMBER_CHANGED, member_item(holder.member)?, holder.expected)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }
}
