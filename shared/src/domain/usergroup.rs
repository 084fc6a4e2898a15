//! Usergroups (SPEC §5): named sets of what end users may do in the help center, given to
//! users directly or through the organizations they belong to.
use super::FieldError;
use super::ids::{AccountId, OrganizationId, UsergroupId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Usergroups one organization or one user holds.
pub const MAX_PER_HOLDER: usize = 20;

/// What an end user may do, the whole catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub enum PortalPermission {
    #[serde(rename = "kb.read")]
    KbRead,
    #[serde(rename = "kb.comment")]
    KbComment,
    #[serde(rename = "kb.rate")]
    KbRate,
    #[serde(rename = "news.read")]
    NewsRead,
    #[serde(rename = "downloads.read")]
    DownloadsRead,
    #[serde(rename = "community.post")]
    CommunityPost,
    #[serde(rename = "portal.tickets.create")]
    TicketsCreate,
    #[serde(rename = "portal.tickets.view_own")]
    TicketsViewOwn,
    /// See the tickets of everyone in the user's organizations.
    #[serde(rename = "portal.tickets.view_org")]
    TicketsViewOrg,
    #[serde(rename = "portal.chat")]
    Chat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usergroup {
    pub id: UsergroupId,
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    pub permissions: Vec<PortalPermission>,
    /// Organizations and users holding it (it is deleted only when none do).
    pub holders: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Usergroup {
    pub fn new(
        account_id: AccountId,
        name: String,
        description: String,
        mut permissions: Vec<PortalPermission>,
        now: DateTime<Utc>,
    ) -> Self {
        permissions.sort();
        permissions.dedup();
        Self {
            id: UsergroupId::new(),
            account_id,
            name,
            description,
            permissions,
            holders: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

pub fn name(raw: &str) -> Result<String, FieldError> {
    super::text::required_text("name", raw, &super::format::NAME)
}

pub fn name_key(name: &str) -> String {
    super::role::name_key(name)
}

/// How a user came to hold a usergroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    /// Given to the user.
    User,
    /// Given to an organization the user belongs to.
    Organization {
        #[schema(value_type = String)]
        organization_id: OrganizationId,
    },
    /// Given to an ancestor of one of the user's organizations (with the account's
    /// `usergroups_from_parent_organizations` preference on).
    Ancestor {
        #[schema(value_type = String)]
        organization_id: OrganizationId,
        /// The user's organization below it.
        #[schema(value_type = String)]
        below: OrganizationId,
    },
}

/// A user's effective usergroups: direct ∪ their organizations' ∪ (if `ancestors`) their
/// organizations' ancestors', each with every way it came, in the order met.
pub fn effective(
    direct: &[UsergroupId],
    organizations: &[(OrganizationId, &[UsergroupId])],
    ancestors: &[(OrganizationId, OrganizationId, &[UsergroupId])],
) -> Vec<(UsergroupId, Vec<Via>)> {
    let mut out: Vec<(UsergroupId, Vec<Via>)> = Vec::new();
    let mut add = |g: UsergroupId, via: Via| match out.iter_mut().find(|(x, _)| *x == g) {
        Some((_, vias)) if !vias.contains(&via) => vias.push(via),
        Some(_) => {}
        None => out.push((g, vec![via])),
    };
    for g in direct {
        add(*g, Via::User);
    }
    for (o, gs) in organizations {
        for g in *gs {
            add(*g, Via::Organization { organization_id: *o });
        }
    }
    for (up, below, gs) in ancestors {
        for g in *gs {
            add(*g, Via::Ancestor { organization_id: *up, below: *below });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_usergroups_name_every_way_they_came() {
        let (kb, tickets, chat) = (UsergroupId::new(), UsergroupId::new(), UsergroupId::new());
        let (org, parent) = (OrganizationId::new(), OrganizationId::new());
        let got = effective(&[kb], &[(org, &[kb, tickets])], &[(parent, org, &[chat, tickets])]);
        assert_eq!(
            got,
            [
                (kb, vec![Via::User, Via::Organization { organization_id: org }]),
                (
                    tickets,
                    vec![
                        Via::Organization { organization_id: org },
                        Via::Ancestor { organization_id: parent, below: org }
                    ]
                ),
                (chat, vec![Via::Ancestor { organization_id: parent, below: org }]),
            ]
        );
        assert!(effective(&[], &[], &[]).is_empty());
    }

    #[test]
    fn permissions_are_kept_sorted_and_once() {
        use PortalPermission as P;
        let g = Usergroup::new(
            AccountId::new(),
            "KB".into(),
            String::new(),
            vec![P::KbRead, P::Chat, P::KbRead],
            Utc::now(),
        );
        assert_eq!(g.permissions, [P::KbRead, P::Chat]);
        assert_eq!(serde_json::to_value(P::TicketsViewOrg).unwrap(), "portal.tickets.view_org");
    }
}
