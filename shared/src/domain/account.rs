//! Accounts (tenants): SPEC §1.
use super::email::Email;
use super::ids::AccountId;
use super::locale::{DateFormat, Language, Locale, TimeZone};
use super::settings::Design;
use super::web_address::WebAddress;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Deletion requested; every request of its members answers 410 until the purge ends.
    Deleting,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub web_address: WebAddress,
    /// Whether the one allowed change of web address has been used.
    pub web_address_changed: bool,
    pub company_name: String,
    pub language: Language,
    pub time_zone: TimeZone,
    pub date_format: DateFormat,
    /// How long an invitation link stays valid (1–30 days).
    pub invitation_validity_days: u32,
    pub status: AccountStatus,
    // Registration information besides the company name (added after launch: default when absent).
    #[serde(default)]
    pub contact_email: Option<Email>,
    #[serde(default)]
    pub main_phone: Option<String>,
    #[serde(default)]
    pub cell_phone: Option<String>,
    #[serde(default)]
    pub newsletter: bool,
    #[serde(default)]
    pub design: Design,
    /// When the owner confirmed their email; until then the account invites only a few people.
    #[serde(default)]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Hash of the current verification link (so a new one replaces it and the purge finds it).
    #[serde(default)]
    pub verification_link: Option<String>,
    /// Whether a manager of an organization sees the tickets of its descendants' members too.
    #[serde(default)]
    pub managers_see_child_organizations: bool,
    /// Whether an organization's usergroups pass to the members of its descendants.
    #[serde(default)]
    pub usergroups_from_parent_organizations: bool,
    /// Invitations the account may send per hour (the owner sets it).
    #[serde(default = "default_invitations_per_hour")]
    pub invitations_per_hour: u32,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

pub const DEFAULT_INVITATIONS_PER_HOUR: u32 = 500;
/// What the owner may set the hourly invitation limit to.
pub const INVITATIONS_PER_HOUR: std::ops::RangeInclusive<u32> = 1..=10_000;
/// Invitations an account may send, in all, before its owner's email is verified.
pub const UNVERIFIED_INVITATIONS: u32 = 20;

fn default_invitations_per_hour() -> u32 {
    DEFAULT_INVITATIONS_PER_HOUR
}

pub fn invitations_per_hour(field: &str, n: u32) -> Result<u32, super::FieldError> {
    if INVITATIONS_PER_HOUR.contains(&n) {
        Ok(n)
    } else {
        Err(super::FieldError::new(field, "out_of_range", "the hourly invitation limit is between 1 and 10,000"))
    }
}

pub const DEFAULT_INVITATION_VALIDITY_DAYS: u32 = 7;
/// How long an invitation link may be valid, in days (SPEC §2).
pub const INVITATION_VALIDITY_DAYS: std::ops::RangeInclusive<u32> = 1..=30;

pub fn invitation_validity(field: &str, days: u32) -> Result<u32, super::FieldError> {
    if INVITATION_VALIDITY_DAYS.contains(&days) {
        Ok(days)
    } else {
        Err(super::FieldError::new(field, "out_of_range", "an invitation is valid for 1 to 30 days"))
    }
}

impl Account {
    /// A new, active account with default settings.
    pub fn new(web_address: WebAddress, company_name: String, language: Language, time_zone: TimeZone) -> Self {
        Self {
            id: AccountId::new(),
            web_address,
            web_address_changed: false,
            company_name,
            language,
            time_zone,
            date_format: DateFormat::YearFirst,
            invitation_validity_days: DEFAULT_INVITATION_VALIDITY_DAYS,
            status: AccountStatus::Active,
            contact_email: None,
            main_phone: None,
            cell_phone: None,
            newsletter: false,
            design: Design::default(),
            email_verified_at: None,
            verification_link: None,
            invitations_per_hour: DEFAULT_INVITATIONS_PER_HOUR,
            managers_see_child_organizations: false,
            usergroups_from_parent_organizations: false,
            created_at: chrono::Utc::now(),
            version: 1,
        }
    }

    pub fn locale(&self) -> Locale {
        Locale { language: self.language, time_zone: self.time_zone.clone(), date_format: self.date_format }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitations_are_valid_for_one_to_thirty_days() {
        assert_eq!(invitation_validity("d", 1), Ok(1));
        assert_eq!(invitation_validity("d", 30), Ok(30));
        assert!(invitation_validity("d", 0).is_err() && invitation_validity("d", 31).is_err());
    }
}
