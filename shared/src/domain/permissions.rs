//! The permission catalogue and the basic roles (SPEC §3): one table, read by the route table,
//! the authorizer and the README.
use super::FieldError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    MembersRead,
    MembersManage,
    InvitationsManage,
    RolesRead,
    RolesManage,
    GroupsRead,
    GroupsManage,
    AssignmentsCreate,
    OrganizationsRead,
    OrganizationsManage,
    UsersRead,
    UsersManage,
    SettingsRead,
    SettingsManage,
    AuditRead,
    DirectoryManage,
    ApiKeysManage,
}

/// Optional permissions from the conversations platform, granted per member on top of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptionalPermission {
    ConversationDispenser,
    ConversationTransfer,
    IndependentOrders,
    OrderPaymentAdministration,
    PaymentReconciliation,
    ConversationReports,
    PaymentReports,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BasicRole {
    Owner,
    Admin,
    Supervisor,
    ProAgent,
    Agent,
    Viewer,
}

use Permission as P;

/// The whole catalogue, in the order the README shows it.
pub const ALL: &[Permission] = &[
    P::MembersRead,
    P::MembersManage,
    P::InvitationsManage,
    P::RolesRead,
    P::RolesManage,
    P::GroupsRead,
    P::GroupsManage,
    P::AssignmentsCreate,
    P::OrganizationsRead,
    P::OrganizationsManage,
    P::UsersRead,
    P::UsersManage,
    P::SettingsRead,
    P::SettingsManage,
    P::AuditRead,
    P::DirectoryManage,
    P::ApiKeysManage,
];

const READ_ONLY: &[Permission] =
    &[P::MembersRead, P::RolesRead, P::GroupsRead, P::OrganizationsRead, P::UsersRead, P::SettingsRead];

/// The one role table. Basic roles are defined here and cannot be edited.
pub const BASIC_ROLES: &[(BasicRole, &str, &[Permission])] = &[
    (BasicRole::Owner, "Account Owner", ALL),
    (BasicRole::Admin, "Admin", ALL),
    (
        BasicRole::Supervisor,
        "Supervisor",
        &[
            P::MembersRead,
            P::RolesRead,
            P::GroupsRead,
            P::GroupsManage,
            P::AssignmentsCreate,
            P::OrganizationsRead,
            P::OrganizationsManage,
            P::UsersRead,
            P::UsersManage,
            P::SettingsRead,
        ],
    ),
    (
        BasicRole::ProAgent,
        "Pro Agent",
        &[
            P::MembersRead,
            P::GroupsRead,
            P::AssignmentsCreate,
            P::OrganizationsRead,
            P::OrganizationsManage,
            P::UsersRead,
            P::UsersManage,
        ],
    ),
    (
        BasicRole::Agent,
        "Agent",
        &[P::MembersRead, P::GroupsRead, P::AssignmentsCreate, P::OrganizationsRead, P::UsersRead, P::UsersManage],
    ),
    (BasicRole::Viewer, "Viewer", READ_ONLY),
];

impl BasicRole {
    pub const ALL: [BasicRole; 6] = [
        BasicRole::Owner,
        BasicRole::Admin,
        BasicRole::Supervisor,
        BasicRole::ProAgent,
        BasicRole::Agent,
        BasicRole::Viewer,
    ];

    fn entry(self) -> (&'static str, &'static [Permission]) {
        BASIC_ROLES.iter().find(|(r, _, _)| *r == self).map_or(("", &[][..]), |(_, name, perms)| (*name, *perms))
    }

    pub fn display_name(self) -> &'static str {
        self.entry().0
    }

    pub fn permissions(self) -> &'static [Permission] {
        self.entry().1
    }

    pub fn allows(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    pub fn id(self) -> &'static str {
        match self {
            BasicRole::Owner => "owner",
            BasicRole::Admin => "admin",
            BasicRole::Supervisor => "supervisor",
            BasicRole::ProAgent => "pro_agent",
            BasicRole::Agent => "agent",
            BasicRole::Viewer => "viewer",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == raw)
    }

    /// Roles that handle conversations, and so can hold agent IDs.
    pub fn agent_like(self) -> bool {
        matches!(self, BasicRole::Agent | BasicRole::ProAgent | BasicRole::Supervisor)
    }
}

impl Permission {
    pub fn id(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

/// Nobody grants what they do not hold (to an API key, a role or a member): `requested`, sorted
/// and each once, if every permission in it is in `held`.
pub fn grantable(field: &str, requested: &[Permission], held: &[Permission]) -> Result<Vec<Permission>, FieldError> {
    if let Some(p) = requested.iter().find(|p| !held.contains(p)) {
        return Err(FieldError::new(field, "not_held", format!("you cannot grant {} (you do not hold it)", p.id())));
    }
    let mut out = requested.to_vec();
    out.sort_by_key(|p| p.id());
    out.dedup();
    Ok(out)
}

/// "Admin members" in the stats: whoever may manage members (Owner, Admin, custom roles alike).
pub fn is_admin(permissions: &[Permission]) -> bool {
    permissions.contains(&Permission::MembersManage)
}

/// The role table as Markdown, for the README (a test keeps the two identical).
pub fn markdown_table() -> String {
    let mut out = String::from("| permission |");
    for (_, name, _) in BASIC_ROLES {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(BASIC_ROLES.len()));
    out.push('\n');
    for p in ALL {
        out.push_str(&format!("| `{}` |", p.id()));
        for (_, _, perms) in BASIC_ROLES {
            out.push_str(if perms.contains(p) { " ✔ |" } else { "   |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_basic_role_is_in_the_table_once() {
        for r in BasicRole::ALL {
            assert_eq!(BASIC_ROLES.iter().filter(|(x, _, _)| *x == r).count(), 1, "{r:?}");
            assert_eq!(BasicRole::parse(r.id()), Some(r));
        }
    }

    #[test]
    fn viewer_is_read_only_and_admin_has_everything() {
        assert!(BasicRole::Viewer.permissions().iter().all(|p| p.id().ends_with("_read")));
        assert!(ALL.iter().all(|p| BasicRole::Admin.allows(*p)));
        assert!(!BasicRole::Agent.allows(Permission::InvitationsManage));
    }

    #[test]
    fn only_agent_like_basic_roles_hold_agent_ids() {
        let agents: Vec<_> = BasicRole::ALL.into_iter().filter(|r| r.agent_like()).collect();
        assert_eq!(agents, [BasicRole::Supervisor, BasicRole::ProAgent, BasicRole::Agent]);
    }

    #[test]
    fn only_owner_and_admin_count_as_admins_among_basic_roles() {
        let admins: Vec<_> = BasicRole::ALL.into_iter().filter(|r| is_admin(r.permissions())).collect();
        assert_eq!(admins, [BasicRole::Owner, BasicRole::Admin]);
    }

    #[test]
    fn nobody_grants_what_they_do_not_hold() {
        let held = [Permission::MembersRead, Permission::InvitationsManage];
        let twice = [Permission::MembersRead, Permission::MembersRead];
        assert_eq!(grantable("scopes", &twice, &held).unwrap(), vec![Permission::MembersRead]);
        assert_eq!(grantable("scopes", &[Permission::SettingsManage], &held).unwrap_err().code, "not_held");
    }

    #[test]
    fn readme_shows_the_same_role_table() {
        let readme = include_str!("../../../README.md");
        assert!(readme.contains(&markdown_table()), "README role table is stale; paste:\n{}", markdown_table());
    }
}
