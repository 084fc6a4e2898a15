//! Roles (SPEC §3): the six basic roles of the permission table, and each account's custom roles.
use super::FieldError;
use super::ids::{AccountId, RoleId};
use super::permissions::{BASIC_ROLES, BasicRole, Permission};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The role a member holds, as stored and sent: a basic role's id (`agent`) or a custom role's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleRef {
    Basic(BasicRole),
    Custom(RoleId),
}

impl RoleRef {
    pub const OWNER: RoleRef = RoleRef::Basic(BasicRole::Owner);

    pub fn parse(raw: &str) -> Option<Self> {
        BasicRole::parse(raw).map(Self::Basic).or_else(|| RoleId::parse(raw).map(Self::Custom))
    }

    pub fn custom(self) -> Option<RoleId> {
        match self {
            RoleRef::Custom(id) => Some(id),
            RoleRef::Basic(_) => None,
        }
    }
}

impl From<BasicRole> for RoleRef {
    fn from(r: BasicRole) -> Self {
        RoleRef::Basic(r)
    }
}

impl fmt::Display for RoleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleRef::Basic(r) => f.write_str(r.id()),
            RoleRef::Custom(id) => id.fmt(f),
        }
    }
}

impl Serialize for RoleRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RoleRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RoleRef::parse(&raw).ok_or_else(|| serde::de::Error::custom(format!("unknown role {raw}")))
    }
}

/// An account's own role. `member_count` is kept by every transaction that gives or takes the
/// role, so deleting it can require, atomically, that nobody holds it any more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomRole {
    pub id: RoleId,
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    pub permissions: Vec<Permission>,
    /// Its members handle conversations and can hold agent IDs.
    pub agent_like: bool,
    #[serde(default)]
    pub member_count: u64,
    /// Its active holders (for the member stats).
    #[serde(default)]
    pub active_count: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A role resolved to what it lets its holders do.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    Basic(BasicRole),
    Custom(CustomRole),
}

impl Role {
    pub fn id(&self) -> RoleRef {
        match self {
            Role::Basic(r) => RoleRef::Basic(*r),
            Role::Custom(c) => RoleRef::Custom(c.id),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Role::Basic(r) => r.display_name(),
            Role::Custom(c) => &c.name,
        }
    }

    pub fn permissions(&self) -> &[Permission] {
        match self {
            Role::Basic(r) => r.permissions(),
            Role::Custom(c) => &c.permissions,
        }
    }

    pub fn agent_like(&self) -> bool {
        match self {
            Role::Basic(r) => r.agent_like(),
            Role::Custom(c) => c.agent_like,
        }
    }

    /// Whether someone holding `held` may give this role to a member (or edit or delete it):
    /// never the owner's role, and only roles granting nothing beyond what they hold.
    pub fn assignable_by(&self, held: &[Permission]) -> Result<(), FieldError> {
        if self.id() == RoleRef::OWNER {
            return Err(FieldError::new("role", "invalid", "ownership is transferred, not assigned"));
        }
        match self.permissions().iter().find(|p| !held.contains(p)) {
            Some(p) => {
                Err(FieldError::new("role", "not_held", format!("this role grants {}, which you do not hold", p.id())))
            }
            None => Ok(()),
        }
    }
}

/// A custom role's name: like any text field.
pub fn name(raw: &str) -> Result<String, FieldError> {
    super::text::required_text("name", raw, &super::format::ROLE_NAME)
}

/// Whether a basic role already answers to this name: like another custom role's name, it is
/// taken (a conflict with what exists, not a malformed name).
pub fn is_basic_name(name: &str) -> bool {
    let key = name_key(name);
    BASIC_ROLES.iter().any(|(r, display, _)| name_key(display) == key || r.id().replace('_', " ") == key)
}

/// What makes two role names the same: case and runs of spaces do not count.
pub fn name_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(permissions: Vec<Permission>) -> Role {
        let now = Utc::now();
        Role::Custom(CustomRole {
            id: RoleId::new(),
            account_id: AccountId::new(),
            name: "Night shift".into(),
            description: String::new(),
            permissions,
            agent_like: true,
            member_count: 0,
            active_count: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    #[test]
    fn role_refs_are_basic_ids_or_custom_ids() {
        assert_eq!(RoleRef::parse("pro_agent"), Some(RoleRef::Basic(BasicRole::ProAgent)));
        let id = RoleId::new();
        assert_eq!(RoleRef::parse(&id.to_string()), Some(RoleRef::Custom(id)));
        assert_eq!(serde_json::to_value(RoleRef::Custom(id)).unwrap(), serde_json::json!(id.to_string()));
        assert_eq!(serde_json::to_value(RoleRef::OWNER).unwrap(), serde_json::json!("owner"));
        assert_eq!(RoleRef::parse("superuser"), None);
    }

    #[test]
    fn custom_role_names_never_shadow_basic_roles() {
        assert_eq!(name("  Night  shift ").unwrap(), "Night  shift");
        assert_eq!(name_key("  Night  SHIFT "), "night shift");
        for taken in ["admin", "Account Owner", "PRO AGENT", "pro agent", "Viewer"] {
            assert!(is_basic_name(taken), "{taken}");
        }
        assert_eq!(name("").unwrap_err().code, "required");
        assert_eq!(name(&"x".repeat(61)).unwrap_err().code, "too_long");
    }

    #[test]
    fn nobody_hands_out_a_role_stronger_than_their_own() {
        let held = BasicRole::Supervisor.permissions();
        assert!(Role::Basic(BasicRole::Agent).assignable_by(held).is_ok());
        assert_eq!(Role::Basic(BasicRole::Admin).assignable_by(held).unwrap_err().code, "not_held");
        assert_eq!(
            Role::Basic(BasicRole::Owner).assignable_by(BasicRole::Owner.permissions()).unwrap_err().code,
            "invalid"
        );
        assert!(custom(vec![Permission::MembersRead]).assignable_by(held).is_ok());
        assert!(custom(vec![Permission::SettingsManage]).assignable_by(held).is_err());
    }
}
