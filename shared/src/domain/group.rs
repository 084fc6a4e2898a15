//! Agent groups and round-robin assignment (SPEC §4).
use super::FieldError;
use super::ids::{AccountId, GroupId, MemberId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Members per group: the rotation lives in the group item (one read per assignment), and a
/// DynamoDB item holds 400 KB.
pub const MAX_MEMBERS: usize = 2000;
/// Member ids per add/remove call: each changes the member's item in the same transaction.
pub const MAX_PER_CALL: usize = 90;
/// Members one call adds, and members it removes: half each, so together they fit one call.
pub const MAX_CHANGES: usize = MAX_PER_CALL / 2;
/// Groups an invitation names at most.
pub const MAX_INVITE_GROUPS: usize = 20;

/// A member's place in the group's rotation. `seat` numbers only grow, so the order is the
/// order of joining and survives adds and removes without renumbering anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub member: MemberId,
    pub seat: u64,
    /// Active and available: may be chosen now.
    pub eligible: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    pub auto_assign: bool,
    pub leaders: Vec<MemberId>,
    /// Members in seat order.
    pub rotation: Vec<Seat>,
    /// Seat number the next member added gets.
    pub next_seat: u64,
    /// Moves with every change of `rotation`, so an assignment chosen from an older rotation
    /// cannot be written.
    pub rotation_rev: u64,
    /// Seat of the member the last automatic assignment went to (0: none yet).
    pub last_seat: u64,
    /// Assignments made so far; the next one is number `assigned + 1`.
    pub assigned: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Of the settings (name, description, auto_assign, leaders): the ETag.
    pub version: u64,
}

impl Group {
    pub fn new(
        account_id: AccountId,
        name: String,
        description: String,
        auto_assign: bool,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: GroupId::new(),
            account_id,
            name,
            description,
            auto_assign,
            leaders: Vec::new(),
            rotation: Vec::new(),
            next_seat: 0,
            rotation_rev: 0,
            last_seat: 0,
            assigned: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    pub fn has_member(&self, m: MemberId) -> bool {
        self.rotation.iter().any(|s| s.member == m)
    }

    /// Round robin: the first eligible seat after the last one served, wrapping around.
    pub fn next_in_turn(&self) -> Option<Seat> {
        let eligible = self.rotation.iter().filter(|s| s.eligible);
        eligible.clone().find(|s| s.seat > self.last_seat).or_else(|| eligible.min_by_key(|s| s.seat)).copied()
    }

    /// Add members at the end of the rotation (those already in it stay where they are).
    pub fn add(&mut self, members: &[(MemberId, bool)]) {
        for (m, eligible) in members {
            if !self.has_member(*m) {
                self.next_seat += 1;
                self.rotation.push(Seat { member: *m, seat: self.next_seat, eligible: *eligible });
            }
        }
    }

    pub fn remove(&mut self, members: &[MemberId]) {
        self.rotation.retain(|s| !members.contains(&s.member));
        self.leaders.retain(|l| !members.contains(l));
    }

    pub fn set_eligible(&mut self, m: MemberId, eligible: bool) {
        for s in self.rotation.iter_mut().filter(|s| s.member == m) {
            s.eligible = eligible;
        }
    }
}

/// A group's name: trimmed text; what makes two names the same is case and runs of spaces.
pub fn name(raw: &str) -> Result<String, FieldError> {
    super::text::required_text("name", raw, &super::format::NAME)
}

pub fn name_key(name: &str) -> String {
    super::role::name_key(name)
}

/// The ticketing system's reference for what is assigned: the idempotency key.
pub fn reference(raw: &str) -> Result<String, FieldError> {
    super::format::REFERENCE.check("ref", raw, "must not contain control characters").map(str::to_owned)
}

/// One assignment, recorded under its `ref`: the same ref asked again gets this answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub group_id: GroupId,
    #[serde(rename = "ref")]
    pub reference: String,
    pub member_id: MemberId,
    /// 1, 2, 3… within the group.
    pub number: u64,
    pub automatic: bool,
    pub at: DateTime<Utc>,
    /// Who asked: a member's or an API key's id.
    pub by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(n: usize) -> (Group, Vec<MemberId>) {
        let mut g = Group::new(AccountId::new(), "Billing".into(), String::new(), true, Utc::now());
        let members: Vec<MemberId> = (0..n).map(|_| MemberId::new()).collect();
        g.add(&members.iter().map(|m| (*m, true)).collect::<Vec<_>>());
        (g, members)
    }

    fn serve(g: &mut Group) -> MemberId {
        let s = g.next_in_turn().unwrap();
        g.last_seat = s.seat;
        g.assigned += 1;
        s.member
    }

    #[test]
    fn turns_go_round_in_joining_order() {
        let (mut g, m) = group(3);
        let served: Vec<_> = (0..7).map(|_| serve(&mut g)).collect();
        assert_eq!(served, [m[0], m[1], m[2], m[0], m[1], m[2], m[0]]);
    }

    #[test]
    fn ineligible_members_are_skipped_and_nobody_is_served_twice_in_a_row_by_a_change() {
        let (mut g, m) = group(4);
        assert_eq!(serve(&mut g), m[0]);
        g.set_eligible(m[1], false);
        assert_eq!(serve(&mut g), m[2]);
        // Removing the next in turn and adding someone new: the order carries on.
        g.remove(&[m[3]]);
        let newcomer = MemberId::new();
        g.add(&[(newcomer, true), (m[0], true)]);
        assert_eq!(serve(&mut g), newcomer);
        assert_eq!(serve(&mut g), m[0]);
        g.set_eligible(m[1], true);
        assert_eq!(serve(&mut g), m[1]);
        assert_eq!(serve(&mut g), m[2]);
    }

    #[test]
    fn nobody_eligible_means_no_turn() {
        let (mut g, m) = group(2);
        for x in &m {
            g.set_eligible(*x, false);
        }
        assert_eq!(g.next_in_turn(), None);
        assert_eq!(group(0).0.next_in_turn(), None);
    }

    #[test]
    fn many_turns_are_exactly_fair() {
        let (mut g, m) = group(6);
        g.set_eligible(m[5], false);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..600 {
            *counts.entry(serve(&mut g)).or_insert(0) += 1;
        }
        assert!(m[..5].iter().all(|x| counts[x] == 120));
        assert!(!counts.contains_key(&m[5]));
    }

    #[test]
    fn references_are_bounded_text() {
        assert_eq!(reference("  T-1042 ").unwrap(), "T-1042");
        assert!(reference("").is_err());
        assert!(reference(&"x".repeat(201)).is_err());
        assert!(reference("a\nb").is_err());
    }
}
