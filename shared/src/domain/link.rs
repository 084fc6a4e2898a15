//! One-time links other than invitations: verifying the owner's email after sign-up, and
//! resetting a forgotten password (SPEC §1, §7). The token is 256-bit random, stored only as a
//! hash, single use (the link is deleted in the transaction that uses it), and checked for
//! expiry inside that transaction.
use super::ids::{AccountId, MemberId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
}

impl LinkPurpose {
    pub fn validity(self) -> Duration {
        match self {
            LinkPurpose::VerifyEmail => Duration::days(7),
            LinkPurpose::ResetPassword => Duration::hours(1),
        }
    }

    /// The page the emailed link opens.
    pub fn page(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "/account/verify",
            LinkPurpose::ResetPassword => "/password-reset",
        }
    }

    /// The prefix of its mail and page messages.
    pub fn messages(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "verify-email",
            LinkPurpose::ResetPassword => "password-reset",
        }
    }
}

/// A link as stored under its token's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub purpose: LinkPurpose,
    pub account_id: AccountId,
    pub member_id: MemberId,
    /// Epoch seconds, so the write that uses it can compare it in its condition.
    pub expires_at: i64,
}

impl Link {
    pub fn new(purpose: LinkPurpose, account_id: AccountId, member_id: MemberId, now: DateTime<Utc>) -> Self {
        Self { purpose, account_id, member_id, expires_at: (now + purpose.validity()).timestamp() }
    }

    pub fn expires(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.expires_at, 0).unwrap_or_default()
    }

    /// Whether it may be used for `purpose` at `now`.
    pub fn usable_for(&self, purpose: LinkPurpose, now: DateTime<Utc>) -> bool {
        self.purpose == purpose && now.timestamp() < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_serves_one_purpose_until_it_expires() {
        let now = Utc::now();
        let reset = Link::new(LinkPurpose::ResetPassword, AccountId::new(), MemberId::new(), now);
        assert!(reset.usable_for(LinkPurpose::ResetPassword, now + Duration::minutes(59)));
        assert!(!reset.usable_for(LinkPurpose::ResetPassword, now + Duration::minutes(61)));
        assert!(!reset.usable_for(LinkPurpose::VerifyEmail, now));
        let verify = Link::new(LinkPurpose::VerifyEmail, AccountId::new(), MemberId::new(), now);
        assert!(verify.usable_for(LinkPurpose::VerifyEmail, now + Duration::days(6)));
        assert_eq!(verify.expires().timestamp(), verify.expires_at);
    }
}
