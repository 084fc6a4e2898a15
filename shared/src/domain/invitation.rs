//! Invitations: a one-time link to set a password (SPEC §2, §7).
use super::ids::{AccountId, MemberId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Cancelled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub account_id: AccountId,
    pub member_id: MemberId,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The inviting member; `None` when a machine (API key) invited.
    #[serde(default)]
    pub invited_by: Option<MemberId>,
    /// SHA-256 of the link's token; a newer token (resend) makes older links unusable.
    pub token_hash: String,
}

/// Why a link cannot be used: each gets its own clear page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Expired,
    Used,
    Cancelled,
    /// A newer link was sent for the same invitation.
    Replaced,
}

impl Invitation {
    pub fn new(
        account_id: AccountId,
        member_id: MemberId,
        invited_by: Option<MemberId>,
        token_hash: String,
        now: DateTime<Utc>,
        days: u32,
    ) -> Self {
        Self {
            account_id,
            member_id,
            status: InvitationStatus::Pending,
            created_at: now,
            expires_at: now + Duration::days(i64::from(days)),
            invited_by,
            token_hash,
        }
    }

    /// The link's dates as the invited member keeps them.
    pub fn window(&self) -> super::member::LinkWindow {
        super::member::LinkWindow { sent_at: self.created_at, expires_at: self.expires_at, mail: None }
    }

    /// Expiry is checked at use, not only by the store's TTL sweep.
    pub fn usable_at(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), LinkProblem> {
        if token_hash != self.token_hash {
            return Err(LinkProblem::Replaced);
        }
        match self.status {
            InvitationStatus::Accepted => Err(LinkProblem::Used),
            InvitationStatus::Cancelled => Err(LinkProblem::Cancelled),
            InvitationStatus::Pending if now >= self.expires_at => Err(LinkProblem::Expired),
            InvitationStatus::Pending => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(now: DateTime<Utc>) -> Invitation {
        Invitation::new(AccountId::new(), MemberId::new(), Some(MemberId::new()), "h1".into(), now, 7)
    }

    #[test]
    fn a_link_is_valid_for_exactly_the_configured_days() {
        let now = Utc::now();
        let inv = pending(now);
        assert_eq!(inv.usable_at("h1", now + Duration::days(7) - Duration::seconds(1)), Ok(()));
        assert_eq!(inv.usable_at("h1", now + Duration::days(7)), Err(LinkProblem::Expired));
    }

    #[test]
    fn used_and_cancelled_links_say_so_even_before_expiry() {
        let now = Utc::now();
        let mut inv = pending(now);
        inv.status = InvitationStatus::Accepted;
        assert_eq!(inv.usable_at("h1", now), Err(LinkProblem::Used));
        inv.status = InvitationStatus::Cancelled;
        assert_eq!(inv.usable_at("h1", now), Err(LinkProblem::Cancelled));
    }

    #[test]
    fn an_older_link_stops_working_when_a_new_one_is_sent() {
        let now = Utc::now();
        assert_eq!(pending(now).usable_at("h0", now), Err(LinkProblem::Replaced));
    }
}
