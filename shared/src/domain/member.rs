//! Members: the account's staff (SPEC §2).
use super::email::Email;
use super::ids::{AccountId, GroupId, MemberId};
use super::permissions::OptionalPermission;
use super::role::RoleRef;
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
    pub role: RoleRef,
    pub status: MemberStatus,
    pub source: MemberSource,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// argon2id PHC string; absent until the member sets a password.
    pub password_hash: Option<String>,
    /// Conversation-platform permissions granted on top of the role.
    #[serde(default)]
    pub optional_permissions: Vec<OptionalPermission>,
    /// External agent identifiers this member holds (each held by one member at a time).
    #[serde(default)]
    pub agent_ids: Vec<String>,
    /// Sessions started before this moment no longer work (deactivation ends them all).
    #[serde(default)]
    pub sessions_valid_after: Option<DateTime<Utc>>,
    /// While invited: the current link's dates, copied from the invitation in the same
    /// transactions, so listing pending invitations reads members only.
    #[serde(default)]
    pub invitation: Option<LinkWindow>,
    /// Groups the member belongs to (each group keeps the member's seat in its rotation).
    #[serde(default)]
    pub groups: Vec<GroupId>,
    /// The member's own switch: unavailable members are skipped by automatic assignment.
    #[serde(default = "yes")]
    pub available: bool,
    /// Hash of the member's outstanding password-reset link (a new request replaces it).
    #[serde(default)]
    pub reset_link: Option<String>,
    pub version: u64,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkWindow {
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Where this link's mail is followed (absent for invitations from before it was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailRef>,
}

/// Where an invitation's mail is followed: its outbox entry, or its row of the invitation job
/// that invited it (the row's result page, and the job's checkpoint, say how far mail went).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum MailRef {
    Outbox { job: super::ids::JobId },
    Job { job: super::ids::JobId, page: u64, row: u64 },
}

/// What one member can do to another, beyond holding the permission for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAction {
    EditProfile,
    ChangeRole,
    Deactivate,
    Reactivate,
    Delete,
}

impl Member {
    /// A new manual member with nothing granted beyond the role.
    pub fn new(
        account_id: AccountId,
        email: Email,
        first_name: String,
        last_name: String,
        role: RoleRef,
        status: MemberStatus,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: MemberId::new(),
            account_id,
            email,
            first_name,
            last_name,
            role,
            status,
            source: MemberSource::Manual,
            created_at: now,
            last_login_at: None,
            password_hash: None,
            optional_permissions: Vec::new(),
            agent_ids: Vec::new(),
            sessions_valid_after: None,
            invitation: None,
            groups: Vec::new(),
            available: true,
            reset_link: None,
            version: 1,
        }
    }

    pub fn can_log_in(&self) -> bool {
        self.status == MemberStatus::Active && self.password_hash.is_some()
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Whether a session started at `started` still stands.
    pub fn session_valid(&self, started: DateTime<Utc>) -> bool {
        self.status == MemberStatus::Active && self.sessions_valid_after.is_none_or(|after| started >= after)
    }

    /// The rules of SPEC §1–§2 on top of permissions: the owner changes only through an
    /// ownership transfer, nobody removes their own access, and status moves along
    /// invited → active ⇄ deactivated.
    /// `actor` is the acting member, `None` for a machine (API key).
    pub fn check(&self, actor: Option<MemberId>, action: MemberAction) -> Result<(), &'static str> {
        let me = actor == Some(self.id);
        if self.role == RoleRef::OWNER && !(action == MemberAction::EditProfile && me) {
            return Err("the account owner changes only through an ownership transfer");
        }
        match action {
            MemberAction::EditProfile => Ok(()),
            MemberAction::ChangeRole | MemberAction::Deactivate | MemberAction::Delete if me => {
                Err("you cannot change your own role or remove your own access")
            }
            MemberAction::ChangeRole | MemberAction::Delete => Ok(()),
            MemberAction::Deactivate if self.status == MemberStatus::Active => Ok(()),
            MemberAction::Deactivate if self.status == MemberStatus::Invited => {
                Err("an invited member has no access yet; cancel the invitation instead")
            }
            MemberAction::Deactivate => Err("this member is already deactivated"),
            MemberAction::Reactivate if self.status == MemberStatus::Deactivated => Ok(()),
            MemberAction::Reactivate => Err("only a deactivated member can be reactivated"),
        }
    }

    /// Whether automatic assignment may choose this member now.
    pub fn assignable(&self) -> bool {
        self.status == MemberStatus::Active && self.available
    }

    /// The lower-case forms the member list searches by prefix.
    pub fn search_terms(&self) -> (String, String) {
        (format!("{} {}", self.first_name, self.last_name).to_lowercase(), self.last_name.to_lowercase())
    }
}

/// Cells that start like a formula are neutralized so a spreadsheet never runs them (CSV injection).
pub fn csv_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AccountId;
    use crate::domain::permissions::BasicRole;

    fn member(role: BasicRole, status: MemberStatus) -> Member {
        let email = Email::parse("email", "a@example.com").unwrap();
        Member::new(AccountId::new(), email, "Ann".into(), "Lee".into(), role.into(), status, Utc::now())
    }

    #[test]
    fn the_owner_is_changed_only_by_ownership_transfer() {
        let owner = member(BasicRole::Owner, MemberStatus::Active);
        let admin = member(BasicRole::Admin, MemberStatus::Active);
        for action in
            [MemberAction::ChangeRole, MemberAction::Deactivate, MemberAction::Delete, MemberAction::EditProfile]
        {
            assert!(owner.check(Some(admin.id), action).is_err(), "{action:?}");
        }
        assert!(owner.check(Some(owner.id), MemberAction::EditProfile).is_ok());
    }

    #[test]
    fn nobody_removes_their_own_access() {
        let admin = member(BasicRole::Admin, MemberStatus::Active);
        for action in [MemberAction::ChangeRole, MemberAction::Deactivate, MemberAction::Delete] {
            assert!(admin.check(Some(admin.id), action).is_err(), "{action:?}");
        }
        assert!(admin.check(Some(admin.id), MemberAction::EditProfile).is_ok());
    }

    #[test]
    fn status_moves_along_its_lifecycle() {
        let admin = member(BasicRole::Admin, MemberStatus::Active);
        let active = member(BasicRole::Agent, MemberStatus::Active);
        let invited = member(BasicRole::Agent, MemberStatus::Invited);
        let off = member(BasicRole::Agent, MemberStatus::Deactivated);
        assert!(active.check(Some(admin.id), MemberAction::Deactivate).is_ok());
        assert!(invited.check(Some(admin.id), MemberAction::Deactivate).is_err());
        assert!(off.check(Some(admin.id), MemberAction::Deactivate).is_err());
        assert!(off.check(Some(admin.id), MemberAction::Reactivate).is_ok());
        assert!(active.check(Some(admin.id), MemberAction::Reactivate).is_err());
    }

    #[test]
    fn sessions_started_before_deactivation_stay_void_after_reactivation() {
        let mut m = member(BasicRole::Agent, MemberStatus::Active);
        let before = Utc::now() - chrono::Duration::minutes(5);
        assert!(m.session_valid(before));
        m.sessions_valid_after = Some(Utc::now());
        assert!(!m.session_valid(before));
        assert!(m.session_valid(Utc::now() + chrono::Duration::seconds(1)));
        m.status = MemberStatus::Deactivated;
        assert!(!m.session_valid(Utc::now() + chrono::Duration::seconds(1)));
    }

    #[test]
    fn formula_cells_are_neutralized() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("Ann"), "Ann");
    }
}
