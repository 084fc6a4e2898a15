//! A directory connection's settings (SPEC §6), checked before anything is stored: where the
//! server is and how it is reached (TLS unless plain is asked for, and only to this machine),
//! the CA certificate an enterprise's internal CA needs, the base DNs, how often it runs.
//! Pure: the engine connects with what passes here.
use super::FieldError;
use rustls_pki_types::pem::{PemObject, SectionKind};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// TLS from the first byte (`ldaps://`, port 636 by default).
    Ldaps,
    /// `ldap://` upgraded by StartTLS before the bind.
    Starttls,
    /// No TLS: the bind password crosses the network readable. Only to a loopback address, and
    /// only when asked for (`allow_insecure`).
    Plain,
}

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `ldap://host:port` or `ldaps://host:port`, nothing else.
    pub url: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
}

/// Read the server's URL for `security`.
pub fn endpoint(raw: &str, security: Security, allow_insecure: bool) -> Result<Endpoint, FieldError> {
    let bad = |why: &str| FieldError::new("url", "invalid", why);
    let raw = raw.trim();
    if raw.len() > 512 {
        return Err(bad("a URL has at most 512 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad("not a URL like ldaps://dc1.example.com"))?;
    let tls_scheme = match url.scheme() {
        "ldaps" => true,
        "ldap" => false,
        _ => return Err(bad("the URL starts with ldaps:// or ldap://")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("the URL carries no credentials: the bind DN and password are their own fields"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("the URL names a server only (base DNs and filters are their own fields)"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        None => return Err(bad("the URL names no host")),
    };
    let field = |why: &str| FieldError::new("security", "mismatch", why);
    match (security, tls_scheme) {
        (Security::Ldaps, false) => return Err(field("ldaps needs an ldaps:// URL")),
        (Security::Starttls | Security::Plain, true) => {
            return Err(field("an ldaps:// URL is TLS from the start: use security ldaps"));
        }
        _ => {}
    }
    if security == Security::Plain {
        let loopback = host == "localhost"
            || host.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !allow_insecure || !loopback {
            return Err(FieldError::new(
                "security",
                "insecure",
                "plain LDAP sends the bind password readable; it is allowed only to a loopback address, with allow_insecure=true",
            ));
        }
    }
    let port = url.port().unwrap_or(if tls_scheme { 636 } else { 389 });
    let url = format!("{}://{host}:{port}", if tls_scheme { "ldaps" } else { "ldap" });
    Ok(Endpoint { url, host, port, security })
}

/// Size of the CA certificate field.
pub const MAX_CA_PEM: usize = 32 * 1024;

/// A CA certificate (or a chain of them) in PEM: certificates only — a private key pasted by
/// mistake is refused, not stored. Kept as sent, trimmed.
pub fn ca_certificate(pem: &str) -> Result<String, FieldError> {
    let bad = |code, why: &str| FieldError::new("ca_certificate", code, why);
    let pem = pem.trim();
    if pem.len() > MAX_CA_PEM {
        return Err(bad("too_long", "a CA certificate field has at most 32 KiB"));
    }
    let mut found = 0;
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes()) {
        match section {
            Ok((SectionKind::Certificate, _)) => found += 1,
            Ok(_) => return Err(bad("not_a_certificate", "only certificates belong here (is that a private key?)")),
            Err(_) => return Err(bad("invalid", "the PEM cannot be read")),
        }
    }
    if found == 0 {
        return Err(bad("invalid", "no -----BEGIN CERTIFICATE----- block"));
    }
    Ok(pem.to_owned())
}

/// Longest DN a connection takes.
pub const MAX_DN: usize = 1_024;

/// A DN as RFC 4514 writes it (`ou=People,dc=example,dc=com`; specials escaped, `\,` or `\2c`):
/// each comma-separated part an `attribute=value` (several joined by `+`).
pub fn dn(field: &str, raw: &str) -> Result<String, FieldError> {
    let bad = |why: &str| FieldError::new(field, "invalid", why);
    let dn = raw.trim();
    if dn.is_empty() || dn.len() > MAX_DN {
        return Err(bad(&format!("a DN has 1 to {MAX_DN} characters")));
    }
    if dn.chars().any(char::is_control) {
        return Err(bad("a DN has no control characters"));
    }
    // Split on unescaped `,` and `+`; each piece must be `type=value` with a type of letters,
    // digits and hyphens (or an OID) and an escape being `\` + a special or two hex digits.
    let (mut piece, mut chars) = (String::new(), dn.chars().peekable());
    let mut pieces = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else { return Err(bad("a DN does not end with a lone backslash")) };
                if n.is_ascii_hexdigit() {
                    if !chars.next().is_some_and(|h| h.is_ascii_hexdigit()) {
                        return Err(bad("a \\ escape is a special character or two hex digits"));
                    }
                } else if !" \"#+,;<=>\\".contains(n) {
                    return Err(bad("a \\ escape is a special character or two hex digits"));
                }
                piece.push('x');
            }
            ',' | '+' => pieces.push(std::mem::take(&mut piece)),
            _ => piece.push(c),
        }
    }
    pieces.push(piece);
    for p in &pieces {
        let Some((ty, value)) = p.split_once('=') else { return Err(bad("each part of a DN is attribute=value")) };
        let ty = ty.trim();
        let named = ty.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let oid = !ty.is_empty() && ty.split('.').all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if !(named || oid) || value.trim().is_empty() {
            return Err(bad("each part of a DN is attribute=value"));
        }
    }
    Ok(dn.to_owned())
}

/// Base DNs one connection searches.
pub const MAX_BASE_DNS: usize = 10;

pub fn base_dns(raw: &[String]) -> Result<Vec<String>, FieldError> {
    if raw.is_empty() || raw.len() > MAX_BASE_DNS {
        return Err(FieldError::new("base_dns", "invalid", format!("1 to {MAX_BASE_DNS} base DNs")));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, b) in raw.iter().enumerate() {
        let b = dn(&format!("base_dns[{i}]"), b)?;
        if !out.iter().any(|x| x.eq_ignore_ascii_case(&b)) {
            out.push(b);
        }
    }
    Ok(out)
}

/// How often runs start, and how often one is a full pass (the one that sees deletions).
pub fn schedule(every_minutes: u32, full_pass_hours: u32) -> Result<(u32, u32), FieldError> {
    if !(5..=1440).contains(&every_minutes) || !every_minutes.is_multiple_of(5) {
        return Err(FieldError::new(
            "every_minutes",
            "invalid",
            "a multiple of 5 from 5 to 1440 (the scheduler's beat)",
        ));
    }
    if !(1..=168).contains(&full_pass_hours) {
        return Err(FieldError::new("full_pass_hours", "invalid", "1 to 168 hours"));
    }
    Ok((every_minutes, full_pass_hours))
}

/// What synced people become: end users (customers), or members (staff) whose role comes from
/// their directory groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeopleBecome {
    EndUsers,
    Members,
}

/// Members: people in this directory group get this role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRole {
    /// The group's DN, as the people's group attribute (`memberOf`) names it.
    #[schema(max_length = 1024)]
    pub group_dn: String,
    /// admin, supervisor, pro_agent, agent, viewer or a custom role's id.
    #[schema(value_type = String)]
    pub role: crate::domain::role::RoleRef,
}

/// The role of a person in `groups`: the first line whose group they are in, else the default.
pub fn mapped_role(
    lines: &[GroupRole],
    default: Option<crate::domain::role::RoleRef>,
    groups: &[String],
) -> Option<crate::domain::role::RoleRef> {
    let mapped = lines.iter().find(|m| groups.iter().any(|g| g.eq_ignore_ascii_case(&m.group_dn)));
    mapped.map(|m| m.role).or(default)
}

/// Group-to-role lines one connection may have.
pub const MAX_GROUP_ROLES: usize = 50;

/// The group-to-role lines, checked: valid DNs, each group once (the role a person gets is the
/// first line whose group they are in, so order is the admin's priority).
pub fn group_roles(raw: &[GroupRole]) -> Result<Vec<GroupRole>, FieldError> {
    if raw.len() > MAX_GROUP_ROLES {
        return Err(FieldError::new("role_mapping", "too_many", format!("at most {MAX_GROUP_ROLES} groups")));
    }
    let mut out: Vec<GroupRole> = Vec::with_capacity(raw.len());
    for (i, line) in raw.iter().enumerate() {
        let group_dn = dn(&format!("role_mapping[{i}].group_dn"), &line.group_dn)?;
        if out.iter().any(|x| x.group_dn.eq_ignore_ascii_case(&group_dn)) {
            return Err(FieldError::new(&format!("role_mapping[{i}].group_dn"), "duplicate", "each group once"));
        }
        if line.role == crate::domain::role::RoleRef::OWNER {
            let why = "the owner's role passes only by an ownership transfer";
            return Err(FieldError::new(&format!("role_mapping[{i}].role"), "invalid", why));
        }
        out.push(GroupRole { group_dn, role: line.role });
    }
    Ok(out)
}

/// Where organizations come from: entries of `class`, each value of `attribute` one of its
/// email domains (RFC 4524's `organization` / `associatedDomain` by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrganizationSource {
    pub enabled: bool,
    pub class: String,
    pub attribute: String,
}

impl Default for OrganizationSource {
    fn default() -> Self {
        Self { enabled: false, class: "organization".into(), attribute: "associatedDomain".into() }
    }
}

/// An LDAP attribute or class name (RFC 4512 descr or numeric OID): nothing a filter could be
/// widened with.
pub fn attribute_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let raw = raw.trim();
    let descr = raw.len() <= 64
        && raw.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = raw.len() <= 64
        && !raw.is_empty()
        && raw.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if descr || oid {
        Ok(raw.to_owned())
    } else {
        Err(FieldError::new(field, "invalid", "an attribute name: letters, digits and hyphens, starting with a letter"))
    }
}

/// A directory connection as stored. The bind password is not here: it lives in the secret
/// store under `secret_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: crate::domain::ids::DirectoryId,
    pub account_id: crate::domain::ids::AccountId,
    pub name: String,
    pub endpoint: Endpoint,
    pub allow_insecure: bool,
    pub ca_certificate: Option<String>,
    pub bind_dn: String,
    pub secret_id: String,
    pub base_dns: Vec<String>,
    pub user_filter: String,
    pub preset: super::directory::Preset,
    pub mapping: super::directory::Mapping,
    pub people_become: PeopleBecome,
    /// Members: which role each directory group gives, first match wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_mapping: Vec<GroupRole>,
    /// Members: the role of people in none of the mapped groups (none: they are not synced, and
    /// a member who leaves every mapped group is deactivated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<crate::domain::role::RoleRef>,
    pub organizations: OrganizationSource,
    pub every_minutes: u32,
    pub full_pass_hours: u32,
    pub deletion_threshold: super::directory::DeletionThreshold,
    pub enabled: bool,
    /// On whose authority scheduled runs act: the member who last saved the connection (a run
    /// never has more than they have now).
    pub configured_by: crate::domain::audit::Actor,
    /// The run going on, if any: a second one does not start meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_run: Option<crate::domain::ids::JobId>,
    /// When the last run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The server's change mark when the last finished run started: the next run reads only
    /// what changed since (cleared when the settings change, so the next run is full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_mark: Option<String>,
    /// When the last finished full pass started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_full_pass_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: u64,
}

impl Connection {
    /// The attributes a run reads of each person.
    pub fn person_attributes(&self) -> Vec<String> {
        let m = &self.mapping;
        let mut out = vec![m.id.clone(), m.email.clone(), m.name.clone(), m.given_name.clone(), m.surname.clone()];
        out.push(m.groups.clone());
        if self.preset == super::directory::Preset::ActiveDirectory {
            out.push("userAccountControl".into());
        }
        out.dedup();
        out
    }

    /// What a run of this connection does, and so what whoever saves it (whose authority its
    /// scheduled runs act with) and whoever starts a run must hold.
    pub fn run_permissions(&self) -> Vec<crate::domain::permissions::Permission> {
        use crate::domain::permissions::Permission as P;
        let mut out = vec![P::DirectoryManage];
        match self.people_become {
            PeopleBecome::EndUsers => out.push(P::UsersManage),
            PeopleBecome::Members => out.extend([P::MembersManage, P::InvitationsManage]),
        }
        if self.organizations.enabled {
            out.push(P::OrganizationsManage);
        }
        out
    }

    /// Members: the role a person in these groups (lower-cased DNs) gets, if any.
    pub fn role_for(&self, groups: &[String]) -> Option<crate::domain::role::RoleRef> {
        mapped_role(&self.role_mapping, self.default_role, groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_unless_plain_is_asked_for_and_the_server_is_this_machine() {
        let e = endpoint("LDAPS://DC1.Example.com", Security::Ldaps, false).unwrap();
        assert_eq!((e.url.as_str(), e.port), ("ldaps://dc1.example.com:636", 636));
        assert_eq!(endpoint("ldap://dc1.example.com:3389/", Security::Starttls, false).unwrap().port, 3389);
        assert_eq!(endpoint("ldap://127.0.0.1:3899", Security::Plain, true).unwrap().url, "ldap://127.0.0.1:3899");
        assert!(endpoint("ldap://[::1]:3899", Security::Plain, true).is_ok());
        assert!(endpoint("ldap://localhost", Security::Plain, true).is_ok());
        for (url, security, allow, code) in [
            ("ldap://127.0.0.1", Security::Plain, false, "insecure"),
            ("ldap://10.0.0.5", Security::Plain, true, "insecure"),
            ("ldap://127.0.0.1.evil.test", Security::Plain, true, "insecure"),
            ("ldap://dc1.example.com", Security::Ldaps, false, "mismatch"),
            ("ldaps://dc1.example.com", Security::Starttls, false, "mismatch"),
            ("https://dc1.example.com", Security::Ldaps, false, "invalid"),
            ("ldaps://admin:secret@dc1.example.com", Security::Ldaps, false, "invalid"),
            ("ldaps://dc1.example.com/dc=example?uid", Security::Ldaps, false, "invalid"),
            ("ldaps://", Security::Ldaps, false, "invalid"),
            ("not a url", Security::Ldaps, false, "invalid"),
        ] {
            assert_eq!(endpoint(url, security, allow).unwrap_err().code, code, "{url}");
        }
    }

    #[test]
    fn group_roles_are_valid_dns_each_once_and_never_the_owner() {
        use crate::domain::role::RoleRef;
        let line = |dn: &str, role: &str| GroupRole { group_dn: dn.into(), role: RoleRef::parse(role).unwrap() };
        let ok = group_roles(&[line(" cn=Admins,ou=Groups,dc=x ", "admin"), line("cn=Agents,dc=x", "agent")]).unwrap();
        assert_eq!(ok[0].group_dn, "cn=Admins,ou=Groups,dc=x");
        let twice = group_roles(&[line("cn=A,dc=x", "admin"), line("CN=a,DC=X", "agent")]).unwrap_err();
        assert_eq!((twice.field.as_str(), twice.code), ("role_mapping[1].group_dn", "duplicate"));
        assert_eq!(group_roles(&[line("cn=A,dc=x", "owner")]).unwrap_err().field, "role_mapping[0].role");
        assert_eq!(group_roles(&[line("not a dn", "agent")]).unwrap_err().code, "invalid");
        let groups = |g: &[&str]| g.iter().map(|x| x.to_lowercase()).collect::<Vec<_>>();
        let role = |r: &str| RoleRef::parse(r);
        assert_eq!(mapped_role(&ok, None, &groups(&["cn=agents,dc=x", "cn=admins,ou=groups,dc=x"])), role("admin"));
        assert_eq!(mapped_role(&ok, None, &groups(&["cn=agents,dc=x"])), role("agent"));
        assert_eq!(mapped_role(&ok, None, &groups(&["cn=other,dc=x"])), None);
        assert_eq!(mapped_role(&ok, role("viewer"), &[]), role("viewer"));
        let many: Vec<GroupRole> = (0..=MAX_GROUP_ROLES).map(|i| line(&format!("cn=g{i},dc=x"), "agent")).collect();
        assert_eq!(group_roles(&many).unwrap_err().code, "too_many");
    }

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMAoGCCqGSM49BAMC\n-----END CERTIFICATE-----";

    #[test]
    fn a_ca_field_holds_certificates_only() {
        assert_eq!(ca_certificate(&format!("\n{CERT}\n")).unwrap(), CERT);
        assert!(ca_certificate(&format!("{CERT}\n{CERT}")).is_ok(), "a chain");
        let key = "-----BEGIN PRIVATE KEY-----\nMAoGCCqGSM49BAMC\n-----END PRIVATE KEY-----";
        assert_eq!(ca_certificate(&format!("{CERT}\n{key}")).unwrap_err().code, "not_a_certificate");
        assert_eq!(ca_certificate("hello").unwrap_err().code, "invalid");
        assert_eq!(
            ca_certificate("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----").unwrap_err().code,
            "invalid"
        );
        assert_eq!(ca_certificate(&"a".repeat(MAX_CA_PEM + 1)).unwrap_err().code, "too_long");
    }

    #[test]
    fn dns_follow_rfc_4514() {
        for good in [
            "dc=example,dc=com",
            " ou=People , dc=example,dc=com ",
            "cn=Lee\\, Ann+uid=ann,ou=People,dc=example",
            "cn=O\\2cBrien,dc=example",
            "2.5.4.3=x,dc=example",
            "cn=Zoë,dc=example",
        ] {
            assert!(dn("base_dn", good).is_ok(), "{good}");
        }
        for bad in ["", "example.com", "dc=", "=x", "dc=a,", "cn=a\\", "cn=a\\q", "cn=a\\2", "1x=a", "cn=a\u{0}"] {
            assert!(dn("base_dn", bad).is_err(), "{bad:?}");
        }
        assert_eq!(base_dns(&["dc=a".into(), "DC=A".into(), "dc=b".into()]).unwrap(), ["dc=a", "dc=b"]);
        assert!(base_dns(&[]).is_err());
    }

    #[test]
    fn runs_follow_the_schedulers_beat() {
        assert_eq!(schedule(15, 24).unwrap(), (15, 24));
        for (every, full) in [(0, 24), (7, 24), (1445, 24), (15, 0), (15, 169)] {
            assert!(schedule(every, full).is_err(), "{every} {full}");
        }
    }
}
