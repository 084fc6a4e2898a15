//! Every key format of the table, in one place. The partition key carries the account, so a
//! query can never cross tenants; the few global lookups are their own items, listed here.
use super::Item;
use crate::domain::custom_field::FieldTarget;
use crate::domain::email::Email;
use crate::domain::email_domain::EmailDomain;
use crate::domain::ids::{
    AccountId, AuditId, CustomFieldId, DirectoryId, GroupId, JobId, MemberId, OrganizationId, RoleId, SessionId,
    UserId, UsergroupId,
};
use crate::domain::user::{OrganizationRole, UserSource};
use crate::domain::web_address::WebAddress;
use aws_sdk_dynamodb::types::AttributeValue;

pub const PK: &str = "pk";
pub const SK: &str = "sk";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub(crate) fn new(pk: String, sk: String) -> Self {
        Self { pk, sk }
    }

    pub(crate) fn to_item(&self) -> Item {
        Item::from([(PK.into(), AttributeValue::S(self.pk.clone())), (SK.into(), AttributeValue::S(self.sk.clone()))])
    }

    pub(crate) fn matches(&self, item: &Item) -> bool {
        matches!(item.get(PK), Some(AttributeValue::S(p)) if *p == self.pk)
            && matches!(item.get(SK), Some(AttributeValue::S(s)) if *s == self.sk)
    }
}

pub fn account_pk(a: AccountId) -> String {
    format!("ACCOUNT#{a}")
}

/// The account's settings item.
pub fn account(a: AccountId) -> Key {
    Key::new(account_pk(a), "ACCOUNT".into())
}

pub const MEMBER_PREFIX: &str = "MEMBER#";

pub fn member(a: AccountId, m: MemberId) -> Key {
    Key::new(account_pk(a), format!("{MEMBER_PREFIX}{m}"))
}

/// Uniqueness of a member's email within the account (case-insensitive: `Email` is lower case).
pub fn member_email(a: AccountId, e: &Email) -> Key {
    Key::new(account_pk(a), format!("MEMBEREMAIL#{e}"))
}

/// Uniqueness of an agent ID within the account: which member holds it.
pub fn agent_id(a: AccountId, agent_id: &str) -> Key {
    Key::new(account_pk(a), format!("AGENTID#{agent_id}"))
}

pub const INVITATION_PREFIX: &str = "INVITATION#";

pub fn invitation(a: AccountId, m: MemberId) -> Key {
    Key::new(account_pk(a), format!("{INVITATION_PREFIX}{m}"))
}

pub fn session(a: AccountId, s: SessionId) -> Key {
    Key::new(account_pk(a), format!("SESSION#{s}"))
}

pub fn login_failures(a: AccountId, e: &Email) -> Key {
    Key::new(account_pk(a), format!("LOGINFAIL#{e}"))
}

pub const AUDIT_PREFIX: &str = "AUDIT#";

/// A system-log digest, by sequence number (`DIGEST#000000000001`).
pub const DIGEST_PREFIX: &str = "DIGEST#";

pub fn audit(a: AccountId, id: AuditId) -> Key {
    Key::new(account_pk(a), format!("{AUDIT_PREFIX}{id}"))
}

/// An uploaded design image (`logo`, `favicon`).
pub fn design_image(a: AccountId, slot: &str) -> Key {
    Key::new(account_pk(a), format!("DESIGNIMAGE#{slot}"))
}

/// Global: web address → account. Its existence is the uniqueness of the address.
pub fn web_address(w: &WebAddress) -> Key {
    Key::new(format!("WEBADDRESS#{w}"), "WEBADDRESS".into())
}

/// Global: find-web-address requests for an email (rate limit; the email is hashed so the
/// key does not hold it).
pub fn find_address_requests(e: &Email) -> Key {
    let hash = crate::domain::digest::sha256_hex(e.as_str().as_bytes());
    Key::new(format!("FINDADDRESS#{hash}"), "FINDADDRESS".into())
}

/// The sealing job's verification walk over an account's digests, and its last result.
pub fn verification(a: AccountId) -> Key {
    Key::new(account_pk(a), "VERIFICATION".into())
}

/// Global: where a scheduled job stopped.
/// Where a job lives: in its account's partition (purged with it), or with Roster's own
/// upkeep jobs when it works across accounts.
pub fn job_pk(account: Option<AccountId>) -> String {
    account.map_or_else(|| "JOBS#SYSTEM".to_owned(), account_pk)
}

pub fn job(account: Option<AccountId>, id: JobId) -> Key {
    job_of(account, crate::jobs::Kind::PurgeAccount, id)
}

/// A job of `kind` (its shelf: mail apart from the rest).
pub fn job_of(account: Option<AccountId>, kind: crate::jobs::Kind, id: JobId) -> Key {
    Key::new(job_pk(account), format!("{}{id}", kind.shelf()))
}

/// One entry of a job's result log, by the item's number in the job's input.
pub fn job_result(account: Option<AccountId>, id: JobId, index: u64) -> Key {
    Key::new(job_pk(account), format!("JOBRESULT#{id}#{index:020}"))
}

/// One chunk of a job's input (rows of an invitation job), by its first row's index.
pub fn job_input(account: Option<AccountId>, id: JobId, first: u64) -> Key {
    Key::new(job_pk(account), format!("JOBINPUT#{id}#{first:020}"))
}

/// An idempotency key's claim and kept answer: in the account's partition (purged with it), or
/// for sign-up under the client's hashed address.
pub fn idempotency(scope: &super::idempotency::Scope, key_id: &str) -> Key {
    use super::idempotency::Scope;
    match scope {
        Scope::Account(a) => Key::new(account_pk(*a), format!("IDEMPOTENCY#{key_id}")),
        Scope::Client(client) => Key::new(format!("IDEMPOTENCY#{client}"), format!("IDEMPOTENCY#{key_id}")),
    }
}

/// Global: what remains of a deleted account (outside its partition, which is emptied).
pub fn tombstone(a: AccountId) -> Key {
    Key::new(format!("TOMBSTONE#{a}"), "TOMBSTONE".into())
}

/// Global: invitation token hash → invitation (the link carries no account).
pub fn invitation_token(token_hash: &str) -> Key {
    Key::new(format!("INVTOKEN#{token_hash}"), "INVTOKEN".into())
}

/// Global: a one-time link (email verification, password reset) by its token's hash.
pub fn link(token_hash: &str) -> Key {
    Key::new(format!("LINK#{token_hash}"), "LINK".into())
}

/// An account's invitation counters (hourly, and in all while unverified).
pub fn invitation_counter(a: AccountId, which: &str) -> Key {
    Key::new(account_pk(a), format!("INVITECOUNT#{which}"))
}

/// Password-reset requests for an email in an account (or in the stand-in for unknown ones).
pub fn reset_requests(a: AccountId, e: &Email) -> Key {
    Key::new(account_pk(a), format!("RESETCOUNT#{e}"))
}

/// Sort key of a member item → member id (for cursors).
pub fn member_sk_to_id(sk: &str) -> Option<MemberId> {
    sk.strip_prefix(MEMBER_PREFIX).and_then(MemberId::parse)
}

pub const API_KEY_PREFIX: &str = "APIKEY#";

pub fn api_key(a: AccountId, id: crate::domain::ids::ApiKeyId) -> Key {
    Key::new(account_pk(a), format!("{API_KEY_PREFIX}{id}"))
}

pub const ROLE_PREFIX: &str = "ROLE#";

pub fn role(a: AccountId, id: RoleId) -> Key {
    Key::new(account_pk(a), format!("{ROLE_PREFIX}{id}"))
}

/// Uniqueness of a custom role's name within the account (`name_key` form).
pub fn role_name(a: AccountId, name_key: &str) -> Key {
    Key::new(account_pk(a), format!("ROLENAME#{name_key}"))
}

pub const GROUP_PREFIX: &str = "GROUP#";

/// A group with its rotation (one read per assignment).
pub fn group(a: AccountId, g: GroupId) -> Key {
    Key::new(account_pk(a), format!("{GROUP_PREFIX}{g}"))
}

/// Uniqueness of a group's name within the account (`name_key` form).
pub fn group_name(a: AccountId, name_key: &str) -> Key {
    Key::new(account_pk(a), format!("GROUPNAME#{name_key}"))
}

/// An assignment under its ticket reference (its existence makes the reference idempotent).
pub fn assignment(a: AccountId, g: GroupId, reference: &str) -> Key {
    Key::new(account_pk(a), format!("ASSIGNMENT#{g}#{reference}"))
}

/// The `gsi1` partition listing a group's assignments in the order they were made.
pub fn assignments_index(a: AccountId, g: GroupId) -> String {
    format!("ACCOUNT#{a}#ASSIGNMENTS#{g}")
}

pub const ORGANIZATION_PREFIX: &str = "ORG#";

pub fn organization(a: AccountId, o: OrganizationId) -> Key {
    Key::new(account_pk(a), format!("{ORGANIZATION_PREFIX}{o}"))
}

pub const ORGANIZATION_NAME_PREFIX: &str = "ORGNAME#";

/// Uniqueness of an organization's name (`name_key` form); the claims in sort-key order are the
/// organizations by name, so a name-prefix search is one range of them.
pub fn organization_name(a: AccountId, name_key: &str) -> Key {
    Key::new(account_pk(a), format!("{ORGANIZATION_NAME_PREFIX}{name_key}"))
}

/// The children of an organization, one link each (a strongly consistent query lists them).
pub fn organization_children(parent: OrganizationId) -> String {
    format!("ORGCHILD#{parent}#")
}

pub fn organization_child(a: AccountId, parent: OrganizationId, child: OrganizationId) -> Key {
    Key::new(account_pk(a), format!("{}{child}", organization_children(parent)))
}

/// Which organization claims an email domain in the account (its existence is the uniqueness).
pub fn organization_domain(a: AccountId, d: &EmailDomain) -> Key {
    Key::new(account_pk(a), format!("ORGDOMAIN#{d}"))
}

pub const USER_PREFIX: &str = "USER#";

pub fn user(a: AccountId, u: UserId) -> Key {
    Key::new(account_pk(a), format!("{USER_PREFIX}{u}"))
}

pub const USER_EMAIL_PREFIX: &str = "USEREMAIL#";

/// Uniqueness of an end user's email in the account; in sort-key order the users by email.
pub fn user_email(a: AccountId, e: &Email) -> Key {
    Key::new(account_pk(a), format!("{USER_EMAIL_PREFIX}{e}"))
}

/// Uniqueness of the id a source system knows a person by.
pub fn user_external_id(a: AccountId, source: UserSource, external_id: &str) -> Key {
    Key::new(account_pk(a), format!("USEREXT#{}#{external_id}", source.as_str()))
}

/// The `gsi1` partition listing an account's end users by name.
pub fn user_names_index(a: AccountId) -> String {
    format!("ACCOUNT#{a}#USERNAMES")
}

/// The `gsi2` partition listing an account's users by their primary email's domain
/// (`EmailDomain::reversed`, then the user id).
pub fn user_domains_index(a: AccountId) -> String {
    format!("ACCOUNT#{a}#USERDOMAINS")
}

/// An organization's memberships, managers before members (`manager` sorts first).
pub fn organization_members(o: OrganizationId, role: Option<OrganizationRole>) -> String {
    match role {
        Some(r) => format!("ORGMEMBER#{o}#{}#", r.as_str()),
        None => format!("ORGMEMBER#{o}#"),
    }
}

pub fn organization_member(a: AccountId, o: OrganizationId, role: OrganizationRole, u: UserId) -> Key {
    Key::new(account_pk(a), format!("{}{u}", organization_members(o, Some(role))))
}

pub const USERGROUP_PREFIX: &str = "USERGROUP#";

pub fn usergroup(a: AccountId, g: UsergroupId) -> Key {
    Key::new(account_pk(a), format!("{USERGROUP_PREFIX}{g}"))
}

pub const DIRECTORY_PREFIX: &str = "DIRECTORY#";

pub fn directory(a: AccountId, d: DirectoryId) -> Key {
    Key::new(account_pk(a), format!("{DIRECTORY_PREFIX}{d}"))
}

/// What Roster holds for one entry of a directory (by stable id): the person it became, the
/// fingerprint of what the directory said, whether they are active.
pub fn directory_entries(d: DirectoryId) -> String {
    format!("DIRENT#{d}#")
}

pub fn directory_entry(a: AccountId, d: DirectoryId, stable: uuid::Uuid) -> Key {
    Key::new(account_pk(a), format!("{}{}", directory_entries(d), stable.as_simple()))
}

/// What Roster holds for one organization entry of a directory: the organization it became.
pub fn directory_organization(a: AccountId, d: DirectoryId, stable: uuid::Uuid) -> Key {
    Key::new(account_pk(a), format!("{}{}", directory_organizations(d), stable.as_simple()))
}

pub fn directory_organizations(d: DirectoryId) -> String {
    format!("DIRORG#{d}#")
}

/// An account's custom fields (of both targets), in creation order (ids are time-ordered).
pub const CUSTOM_FIELD_PREFIX: &str = "CUSTOMFIELD#";

pub fn custom_field(a: AccountId, f: CustomFieldId) -> Key {
    Key::new(account_pk(a), format!("{CUSTOM_FIELD_PREFIX}{f}"))
}

/// Uniqueness of a custom field's name among its target's (`name_key` form).
pub fn custom_field_name(a: AccountId, target: FieldTarget, name_key: &str) -> Key {
    Key::new(account_pk(a), format!("CUSTOMFIELDNAME#{}#{name_key}", target.as_str()))
}

/// Uniqueness of a usergroup's name (`name_key` form).
pub fn usergroup_name(a: AccountId, name_key: &str) -> Key {
    Key::new(account_pk(a), format!("USERGROUPNAME#{name_key}"))
}
