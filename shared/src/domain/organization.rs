//! Customer organizations (SPEC §5, Deskpro's model): contact information, the parent/child
//! hierarchy and its rules, the email domains that link new people to them.
use super::FieldError;
use super::email::Email;
use super::email_domain::EmailDomain;
use super::ids::{AccountId, OrganizationId, UsergroupId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Levels of the hierarchy, a root organization being level 1.
pub const MAX_DEPTH: usize = 10;
/// Email domains one organization claims.
pub const MAX_DOMAINS: usize = 100;
/// Entries of each contact list (phones, emails, social handles).
pub const MAX_CONTACTS: usize = 10;
/// Organizations one re-parenting rewrites (the moved one and its descendants): their lineage
/// changes in the same transaction, so a concurrent move can never leave a cycle.
pub const MAX_MOVED: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SocialNetwork {
    X,
    Linkedin,
    Facebook,
    Instagram,
    Youtube,
    Github,
    Whatsapp,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialHandle {
    pub network: SocialNetwork,
    pub handle: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub phones: Vec<String>,
    pub emails: Vec<Email>,
    pub social: Vec<SocialHandle>,
    pub website: Option<String>,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrganizationId,
    pub account_id: AccountId,
    pub name: String,
    pub summary: String,
    pub contact: Contact,
    pub parent: Option<OrganizationId>,
    /// Every ancestor, the root first and the parent last: cycle and depth checks and reads
    /// "through the hierarchy" need no walk up the tree.
    pub lineage: Vec<OrganizationId>,
    /// Moves with every change of `lineage` and of the children count, so a move computed
    /// from an older tree cannot be written.
    pub lineage_rev: u64,
    pub children: u64,
    /// End users who belong to it (kept by every membership change).
    #[serde(default)]
    pub members: u64,
    pub domains: Vec<EmailDomain>,
    /// Usergroups every member gets.
    #[serde(default)]
    pub usergroups: Vec<UsergroupId>,
    /// Values of the account's organization fields, by field id.
    #[serde(default)]
    pub custom_fields: super::custom_field::Values,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Of the settings (name, summary, contact, parent, domains): the ETag.
    pub version: u64,
}

impl Organization {
    pub fn new(account_id: AccountId, name: String, now: DateTime<Utc>) -> Self {
        Self {
            id: OrganizationId::new(),
            account_id,
            name,
            summary: String::new(),
            contact: Contact::default(),
            parent: None,
            lineage: Vec::new(),
            lineage_rev: 0,
            children: 0,
            members: 0,
            domains: Vec::new(),
            usergroups: Vec::new(),
            custom_fields: Default::default(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// 1 for a root organization.
    pub fn level(&self) -> usize {
        self.lineage.len() + 1
    }

    /// Whether `other` is this organization or one of its ancestors.
    pub fn is_within(&self, other: OrganizationId) -> bool {
        self.id == other || self.lineage.contains(&other)
    }
}

/// An organization's name: one line; two names are the same regardless of case and spacing.
pub fn name(raw: &str) -> Result<String, FieldError> {
    super::text::required_text("name", raw, &super::format::COMPANY)
}

pub fn name_key(name: &str) -> String {
    super::role::name_key(name)
}

pub fn summary(raw: &str) -> Result<String, FieldError> {
    super::format::SUMMARY
        .check("summary", raw, "must not contain control characters other than line breaks")
        .map(str::to_owned)
}

/// Contact information as sent, each list bounded and each entry checked.
pub struct ContactInput<'a> {
    pub phones: &'a [String],
    pub emails: &'a [String],
    pub social: &'a [(SocialNetwork, String)],
    pub website: Option<&'a str>,
    pub address: &'a str,
}

pub fn contact(c: ContactInput<'_>) -> Result<Contact, Vec<FieldError>> {
    use super::format::{ADDRESS, HANDLE, PHONE, WEBSITE};
    let mut errors = super::FieldErrors::new();
    for (field, n) in
        [("contact.phones", c.phones.len()), ("contact.emails", c.emails.len()), ("contact.social", c.social.len())]
    {
        if n > MAX_CONTACTS {
            errors.push(FieldError::new(field, "too_many", format!("{field} has at most {MAX_CONTACTS} entries")));
        }
    }
    let phones = c
        .phones
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let field = format!("contact.phones[{i}]");
            errors.take(PHONE.check(&field, p, "is a phone number such as +1 555 0100").map(str::to_owned))
        })
        .collect();
    let emails = c
        .emails
        .iter()
        .enumerate()
        .filter_map(|(i, e)| errors.take(Email::parse(&format!("contact.emails[{i}]"), e)))
        .collect();
    let social = c
        .social
        .iter()
        .enumerate()
        .filter_map(|(i, (network, handle))| {
            let field = format!("contact.social[{i}].handle");
            let handle = errors.take(HANDLE.check(&field, handle, "is a handle or profile address on one line"))?;
            Some(SocialHandle { network: *network, handle: handle.to_owned() })
        })
        .collect();
    let website = c.website.and_then(|w| {
        errors.take(
            WEBSITE.check("contact.website", w, "is an http:// or https:// address with a host").map(str::to_owned),
        )
    });
    let address = errors
        .take(ADDRESS.check("contact.address", c.address, "must not contain control characters other than line breaks"))
        .unwrap_or_default()
        .to_owned();
    errors.finish()?;
    Ok(Contact { phones, emails, social, website, address })
}

/// Why an organization cannot go where it was asked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misplaced {
    /// Under itself or under one of its descendants.
    Cycle,
    /// Its deepest descendant would be below level `MAX_DEPTH`.
    TooDeep,
}

/// The lineage `moved` gets under `parent` (none: a root), given `height`, the levels of its
/// subtree counting itself (1 without children).
pub fn place(
    moved: OrganizationId,
    height: usize,
    parent: Option<&Organization>,
) -> Result<Vec<OrganizationId>, Misplaced> {
    let Some(p) = parent else {
        return if height > MAX_DEPTH { Err(Misplaced::TooDeep) } else { Ok(Vec::new()) };
    };
    if p.is_within(moved) {
        return Err(Misplaced::Cycle);
    }
    if p.level() + height > MAX_DEPTH {
        return Err(Misplaced::TooDeep);
    }
    let mut lineage = p.lineage.clone();
    lineage.push(p.id);
    Ok(lineage)
}

/// Levels of `moved`'s subtree, itself included, from its descendants' lineages.
pub fn height(moved: &Organization, descendants: &[Organization]) -> usize {
    descendants.iter().map(|d| d.level()).max().map_or(1, |deepest| deepest.saturating_sub(moved.level()) + 1)
}

/// A descendant's lineage once `moved` has `moved_lineage`: what lies below `moved` stays.
pub fn relineage(
    descendant: &[OrganizationId],
    moved: OrganizationId,
    moved_lineage: &[OrganizationId],
) -> Vec<OrganizationId> {
    let below = descendant.iter().position(|x| *x == moved).map_or(&[][..], |i| &descendant[i..]);
    moved_lineage.iter().chain(below).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain root → … of `n` organizations, each the child of the one before.
    fn chain(n: usize) -> Vec<Organization> {
        let a = AccountId::new();
        let mut out: Vec<Organization> = Vec::new();
        for i in 0..n {
            let mut o = Organization::new(a, format!("Org {i}"), Utc::now());
            if let Some(p) = out.last() {
                o.lineage = place(o.id, 1, Some(p)).unwrap();
                o.parent = Some(p.id);
            }
            out.push(o);
        }
        out
    }

    #[test]
    fn an_organization_cannot_go_under_itself_or_its_descendants() {
        let c = chain(5);
        assert_eq!(place(c[0].id, 5, Some(&c[0])), Err(Misplaced::Cycle), "directly under itself");
        assert_eq!(place(c[0].id, 5, Some(&c[1])), Err(Misplaced::Cycle), "under its child");
        assert_eq!(place(c[0].id, 5, Some(&c[4])), Err(Misplaced::Cycle), "five levels down");
        assert_eq!(place(c[2].id, 3, Some(&c[4])), Err(Misplaced::Cycle));
        assert!(place(c[4].id, 1, Some(&c[0])).is_ok(), "moving up is fine");
    }

    #[test]
    fn the_depth_limit_counts_the_whole_moved_subtree() {
        let c = chain(MAX_DEPTH);
        let other = Organization::new(c[0].account_id, "Other".into(), Utc::now());
        assert_eq!(place(other.id, 1, Some(&c[MAX_DEPTH - 1])), Err(Misplaced::TooDeep), "an 11th level");
        assert!(place(other.id, 1, Some(&c[MAX_DEPTH - 2])).is_ok(), "the 10th level");
        // A subtree of 3 levels fits under level 7, not under level 8.
        assert!(place(other.id, 3, Some(&c[6])).is_ok());
        assert_eq!(place(other.id, 3, Some(&c[7])), Err(Misplaced::TooDeep));
        assert_eq!(place(other.id, MAX_DEPTH + 1, None), Err(Misplaced::TooDeep));
        assert_eq!(height(&c[0], &c[1..]), MAX_DEPTH);
        assert_eq!(height(&c[3], &c[4..6]), 3);
        assert_eq!(height(&c[3], &[]), 1);
    }

    #[test]
    fn a_move_rewrites_what_lies_above_the_moved_organization_only() {
        let c = chain(4);
        let new_root = Organization::new(c[0].account_id, "New".into(), Utc::now());
        let moved_lineage = place(c[1].id, 3, Some(&new_root)).unwrap();
        assert_eq!(moved_lineage, [new_root.id]);
        assert_eq!(relineage(&c[3].lineage, c[1].id, &moved_lineage), [new_root.id, c[1].id, c[2].id]);
        assert_eq!(relineage(&c[2].lineage, c[1].id, &[]), [c[1].id], "moved to the top");
    }

    #[test]
    fn contact_information_is_checked_entry_by_entry() {
        let social = [(SocialNetwork::X, "@acme".to_owned())];
        let ok = contact(ContactInput {
            phones: &["+1 555 0100 12".into()],
            emails: &["Help@Acme.com".into()],
            social: &social,
            website: Some("https://acme.com"),
            address: "1 Main St\nSpringfield",
        })
        .unwrap();
        assert_eq!(ok.emails[0].as_str(), "help@acme.com");
        let bad = contact(ContactInput {
            phones: &["call me".into()],
            emails: &["nobody".into()],
            social: &[(SocialNetwork::Other, "a\u{0}b".into())],
            website: Some("javascript:alert(1)"),
            address: "",
        })
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["contact.phones[0]", "contact.emails[0]", "contact.social[0].handle", "contact.website"]);
        let many = vec!["+1 555 0100 12".to_owned(); MAX_CONTACTS + 1];
        let too_many =
            contact(ContactInput { phones: &many, emails: &[], social: &[], website: None, address: "" }).unwrap_err();
        assert_eq!(too_many[0].code, "too_many");
    }
}
