//! Members: the account's staff (SPEC §2).
use super::email::Email;
use super::ids::{AccountId, MemberId};
use super::permissions::BasicRole;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Invited,
    Active,
    Deactivated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberSource {
    Manual,
    Directory,
    Scim,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub account_id: AccountId,
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    pub role: BasicRole,
    pub status: MemberStatus,
    pub source: MemberSource,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// argon2id PHC string; absent until the member sets a password.
    pub password_hash: Option<String>,
    pub version: u64,
}

impl Member {
    pub fn can_log_in(&self) -> bool {
        self.status == MemberStatus::Active && self.password_hash.is_some()
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}
