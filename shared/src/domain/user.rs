//! End users (SPEC §5): the customers a helpdesk serves, not its staff. Several emails (the
//! first is the primary), memberships of organizations with a role, where they came from.
use super::FieldError;
use super::email::Email;
use super::ids::{AccountId, OrganizationId, UserId, UsergroupId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Emails of one user.
pub const MAX_EMAILS: usize = 10;
/// Organizations one user belongs to.
pub const MAX_ORGANIZATIONS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserSource {
    Manual,
    Import,
    Directory,
    Scim,
}

impl UserSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Import => "import",
            Self::Directory => "directory",
            Self::Scim => "scim",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationRole {
    Member,
    /// May see every ticket of the organization's members.
    Manager,
}

impl OrganizationRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Manager => "manager",
        }
    }
}

/// How a membership came about: a re-map may undo what a domain did, never what a person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkedBy {
    Hand,
    Domain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub organization: OrganizationId,
    pub role: OrganizationRole,
    pub linked_by: LinkedBy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub account_id: AccountId,
    pub name: String,
    /// The primary first; each unique in the account.
    pub emails: Vec<Email>,
    pub phone: Option<String>,
    pub source: UserSource,
    /// The id the source system knows this person by (a directory entry's, a SCIM client's).
    pub external_id: Option<String>,
    /// The primary organization first.
    pub memberships: Vec<Membership>,
    /// Usergroups given to the user directly.
    #[serde(default)]
    pub usergroups: Vec<UsergroupId>,
    /// Values of the account's user fields, by field id.
    #[serde(default)]
    pub custom_fields: super::custom_field::Values,
    /// Set while the source that made them says they are gone or disabled (a directory): kept
    /// with everything they had, and active again when they come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl User {
    pub fn primary_email(&self) -> Option<&Email> {
        self.emails.first()
    }

    pub fn membership(&self, o: OrganizationId) -> Option<&Membership> {
        self.memberships.iter().find(|m| m.organization == o)
    }

    /// The organizations this user manages.
    pub fn managed(&self) -> impl Iterator<Item = OrganizationId> + '_ {
        self.memberships.iter().filter(|m| m.role == OrganizationRole::Manager).map(|m| m.organization)
    }

    /// Join (or change role in) an organization; `primary` puts it first. A hand-made link
    /// replaces a domain's.
    pub fn join(&mut self, m: Membership, primary: bool) {
        self.memberships.retain(|x| x.organization != m.organization);
        if primary {
            self.memberships.insert(0, m);
        } else {
            self.memberships.push(m);
        }
    }

    pub fn leave(&mut self, o: OrganizationId) -> bool {
        let before = self.memberships.len();
        self.memberships.retain(|m| m.organization != o);
        self.memberships.len() != before
    }
}

pub fn name(raw: &str) -> Result<String, FieldError> {
    super::text::required_text("name", raw, &super::format::COMPANY)
}

/// The emails as sent: at least one, at most `MAX_EMAILS`; one spelled twice (ignoring case
/// and spaces) is kept once.
pub fn emails(raw: &[String]) -> Result<Vec<Email>, Vec<FieldError>> {
    let mut errors = super::FieldErrors::new();
    if raw.is_empty() {
        errors.push(FieldError::new("emails", "required", "a user has at least one email"));
    }
    if raw.len() > MAX_EMAILS {
        errors.push(FieldError::new("emails", "too_many", format!("a user has at most {MAX_EMAILS} emails")));
    }
    let mut out: Vec<Email> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let field = format!("emails[{i}]");
        if let Some(e) = errors.take(Email::parse(&field, r))
            && !out.contains(&e)
        {
            out.push(e);
        }
    }
    errors.finish()?;
    Ok(out)
}

/// A source system's id for a person: printable, one line.
pub fn external_id(raw: &str) -> Result<String, FieldError> {
    super::format::EXTERNAL_ID
        .check("external_id", raw, "must be printable characters without spaces")
        .map(str::to_owned)
}

/// The memberships a new person starts with: those asked for by hand, then the organization
/// their address links to (unless asked for already).
pub fn starting_memberships(by_hand: Vec<(Membership, bool)>, by_domain: Option<OrganizationId>) -> Vec<Membership> {
    let mut u: Vec<Membership> = Vec::new();
    for (m, primary) in by_hand {
        u.retain(|x| x.organization != m.organization);
        if primary { u.insert(0, m) } else { u.push(m) }
    }
    if let Some(o) = by_domain.filter(|o| !u.iter().any(|m| m.organization == *o)) {
        u.push(Membership { organization: o, role: OrganizationRole::Member, linked_by: LinkedBy::Domain });
    }
    u
}

/// What a re-map does to one person and one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Remap {
    /// Their address now links them to the organization: they join it (linked by domain).
    Link,
    /// Their domain link to it no longer holds: they leave it.
    Unlink,
}

/// The re-map of `u` against `org`, given the organization their primary address links to now
/// (`target`). A link made by hand is never undone, and one already there is not made again.
pub fn remap(u: &User, org: OrganizationId, target: Option<OrganizationId>) -> Option<Remap> {
    match u.membership(org) {
        None if target == Some(org) => Some(Remap::Link),
        Some(m) if m.linked_by == LinkedBy::Domain && target != Some(org) => Some(Remap::Unlink),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remap_links_the_domains_people_and_never_undoes_a_hand_made_link() {
        let (org, other) = (OrganizationId::new(), OrganizationId::new());
        let mut u = person();
        assert_eq!(remap(&u, org, Some(org)), Some(Remap::Link));
        assert_eq!(remap(&u, org, Some(other)), None, "another organization's domain");
        assert_eq!(remap(&u, org, None), None);
        u.join(Membership { organization: org, role: OrganizationRole::Member, linked_by: LinkedBy::Domain }, false);
        assert_eq!(remap(&u, org, Some(org)), None, "already linked");
        assert_eq!(remap(&u, org, None), Some(Remap::Unlink), "the domain went");
        assert_eq!(remap(&u, org, Some(other)), Some(Remap::Unlink), "a more specific domain won");
        u.join(hand(org, OrganizationRole::Member), false);
        assert_eq!(remap(&u, org, None), None, "linked by hand: stays");
    }

    fn hand(o: OrganizationId, role: OrganizationRole) -> Membership {
        Membership { organization: o, role, linked_by: LinkedBy::Hand }
    }

    #[test]
    fn emails_are_checked_and_unique_ignoring_case() {
        let ok = emails(&["Ann@Acme.com".into(), "ann@home.example".into()]).unwrap();
        assert_eq!(ok[0].as_str(), "ann@acme.com");
        let dup = emails(&["ann@acme.com".into(), " ANN@acme.com".into()]).unwrap();
        assert_eq!(dup.len(), 1, "one address, spelled twice");
        assert_eq!(emails(&[]).unwrap_err()[0].code, "required");
        assert_eq!(emails(&vec!["a@b.example".to_owned(); MAX_EMAILS + 1]).unwrap_err()[0].code, "too_many");
        assert_eq!(emails(&["nope".into()]).unwrap_err()[0].field, "emails[0]");
    }

    #[test]
    fn a_new_person_is_linked_by_hand_first_then_by_their_domain() {
        let (a, b, c) = (OrganizationId::new(), OrganizationId::new(), OrganizationId::new());
        let m = starting_memberships(
            vec![(hand(a, OrganizationRole::Member), false), (hand(b, OrganizationRole::Manager), true)],
            Some(c),
        );
        assert_eq!(m.iter().map(|x| x.organization).collect::<Vec<_>>(), [b, a, c], "the primary first");
        assert_eq!(m[2].linked_by, LinkedBy::Domain);
        // The domain's organization asked for by hand: the hand-made link stays.
        let m = starting_memberships(vec![(hand(c, OrganizationRole::Manager), false)], Some(c));
        assert_eq!(m, [hand(c, OrganizationRole::Manager)]);
        assert!(starting_memberships(vec![], None).is_empty());
    }

    #[test]
    fn joining_again_changes_the_role_and_leaving_removes() {
        let (a, b) = (OrganizationId::new(), OrganizationId::new());
        let mut u = person();
        u.join(hand(a, OrganizationRole::Member), false);
        u.join(hand(b, OrganizationRole::Member), true);
        u.join(hand(a, OrganizationRole::Manager), false);
        assert_eq!(u.memberships.iter().map(|m| m.organization).collect::<Vec<_>>(), [b, a]);
        assert_eq!(u.managed().collect::<Vec<_>>(), [a]);
        assert!(u.leave(a) && !u.leave(a));
    }

    fn person() -> User {
        User {
            id: UserId::new(),
            account_id: AccountId::new(),
            name: "Ann".into(),
            emails: vec![],
            phone: None,
            source: UserSource::Manual,
            external_id: None,
            memberships: vec![],
            usergroups: vec![],
            custom_fields: Default::default(),
            deactivated_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        }
    }
}
