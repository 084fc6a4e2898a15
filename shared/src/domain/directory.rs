//! Directory sync rules (SPEC §6): who a directory entry is (its stable id), what it says (read
//! through the connection's attribute mapping), and what a run does with it (the plan). Pure:
//! the engine reads the server and applies the plan through the one creation path.
//!
//! A server's answers are input: nothing here trusts an attribute to be present, well-formed,
//! single-valued or of a sane size.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use uuid::Uuid;

/// Values one attribute may bring before the entry is refused (a hostile server's lists).
pub const MAX_VALUES: usize = 5_000;
/// Bytes one value may have.
pub const MAX_VALUE_BYTES: usize = 4_096;

/// Which kind of server, and so which attributes mean what by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Openldap,
    ActiveDirectory,
}

/// The attributes a person is read from (names compared ignoring case, as LDAP does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mapping {
    /// The stable id: `entryUUID` (text or 16 bytes, big-endian) or `objectGUID` (16 bytes,
    /// Microsoft's mixed-endian layout).
    pub id: String,
    pub email: String,
    /// The full name; when the entry has none, given name and surname joined.
    pub name: String,
    pub given_name: String,
    pub surname: String,
    /// Group memberships (DNs), for role mapping.
    pub groups: String,
}

impl Preset {
    pub fn mapping(self) -> Mapping {
        let m = |id: &str, name: &str| Mapping {
            id: id.to_owned(),
            email: "mail".to_owned(),
            name: name.to_owned(),
            given_name: "givenName".to_owned(),
            surname: "sn".to_owned(),
            groups: "memberOf".to_owned(),
        };
        match self {
            Self::Openldap => m("entryUUID", "cn"),
            Self::ActiveDirectory => m("objectGUID", "displayName"),
        }
    }
}

/// An entry as the server sent it: ldap3 puts a value it can read as UTF-8 in `attrs`, others in
/// `bin_attrs`, so an attribute is looked up in both.
#[derive(Debug, Clone, Default)]
pub struct RawEntry {
    pub dn: String,
    pub attrs: HashMap<String, Vec<String>>,
    pub bin_attrs: HashMap<String, Vec<Vec<u8>>>,
}

impl RawEntry {
    /// The values of `name` that are text, from any spelling of the name.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.text(name)
    }

    /// Every value of `name` as bytes (text or binary).
    pub fn binary(&self, name: &str) -> Vec<&[u8]> {
        self.bytes(name)
    }

    fn text(&self, name: &str) -> Vec<&str> {
        self.attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.iter().map(String::as_str))
            .collect()
    }

    fn bytes(&self, name: &str) -> Vec<&[u8]> {
        let bin = self.bin_attrs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).flat_map(|(_, v)| v.iter());
        self.text(name).into_iter().map(str::as_bytes).chain(bin.map(Vec::as_slice)).collect()
    }

    /// Refuse an entry with more or longer values than a person or organization can have.
    fn bounded(&self) -> Result<(), String> {
        let text = self.attrs.iter().map(|(n, v)| (n, v.len(), v.iter().map(String::len).max()));
        let bin = self.bin_attrs.iter().map(|(n, v)| (n, v.len(), v.iter().map(Vec::len).max()));
        match text.chain(bin).find(|(_, n, longest)| *n > MAX_VALUES || longest.unwrap_or(0) > MAX_VALUE_BYTES) {
            Some((name, _, _)) => Err(format!("the attribute {name} has too many or too long values")),
            None => Ok(()),
        }
    }

    fn first(&self, name: &str) -> Option<String> {
        self.text(name).into_iter().map(str::trim).find(|v| !v.is_empty()).map(str::to_owned)
    }
}

/// Rounds of AD's ranged retrieval one attribute may take (1,500 values a round by default).
pub const MAX_RANGE_ROUNDS: usize = MAX_VALUES / 100;

impl RawEntry {
    /// AD sends at most `MaxValRange` values of an attribute at once, named `memberOf;range=0-1499`
    /// (draft-kashi-incremental): this moves such a part's values under the plain name and says
    /// where the next range starts (ask for `memberOf;range=1500-*`), or `None` when the last part
    /// (`-*`) is in or there is none; an error when the part is not the one asked for (`start`).
    pub fn take_range(&mut self, name: &str, start: Option<u64>) -> Result<Option<u64>, String> {
        let ranged: Vec<(String, u64, Option<u64>)> = self
            .attrs
            .keys()
            .chain(self.bin_attrs.keys())
            .filter_map(|k| range_of(k, name).map(|(start, end)| (k.clone(), start, end)))
            .collect();
        let [(key, first, end)] = ranged.as_slice() else {
            return match ranged.len() {
                0 => Ok(None),
                _ => Err(format!("the server sent several ranges of {name} at once")),
            };
        };
        if start.is_some_and(|s| *first != s) || end.is_some_and(|e| e < *first) {
            return Err(format!("the server sent {key}, not the range asked for"));
        }
        let (key, end) = (key.clone(), *end);
        self.move_values(&key, name);
        Ok(end.map(|e| e + 1))
    }

    /// Add `other`'s values of `name` to this entry's.
    pub fn absorb(&mut self, mut other: RawEntry, name: &str) {
        self.add(name, other.attrs.remove(name), other.bin_attrs.remove(name));
    }

    /// Move the values under `from` to `to` (text and binary).
    fn move_values(&mut self, from: &str, to: &str) {
        let (text, bin) = (self.attrs.remove(from), self.bin_attrs.remove(from));
        self.add(to, text, bin);
    }

    fn add(&mut self, name: &str, text: Option<Vec<String>>, bin: Option<Vec<Vec<u8>>>) {
        if let Some(values) = text {
            self.attrs.entry(name.to_owned()).or_default().extend(values);
        }
        if let Some(values) = bin {
            self.bin_attrs.entry(name.to_owned()).or_default().extend(values);
        }
    }
}

/// `(start, end)` of an attribute description `name;range=start-end` (`end` `None` for `*`).
fn range_of(key: &str, name: &str) -> Option<(u64, Option<u64>)> {
    let (attr, options) = key.split_once(';')?;
    if !attr.eq_ignore_ascii_case(name) {
        return None;
    }
    let range = options.split(';').find_map(|o| {
        let (option, value) = o.split_at_checked(6)?;
        option.eq_ignore_ascii_case("range=").then_some(value)
    })?;
    let (start, end) = range.split_once('-')?;
    let start = start.parse().ok()?;
    let end = if end == "*" { None } else { Some(end.parse().ok()?) };
    Some((start, end))
}

/// The id a directory keeps for an entry whatever else changes (name, email, place in the tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StableId(pub Uuid);

impl StableId {
    /// From an attribute's value as sent: 16 raw bytes (AD's `objectGUID` is little-endian in
    /// its first three fields; `entryUUID` in binary is big-endian) or the text form.
    pub fn from_value(preset: Preset, raw: &[u8]) -> Option<Self> {
        if let Ok(bytes) = <[u8; 16]>::try_from(raw) {
            return Some(Self(match preset {
                Preset::ActiveDirectory => Uuid::from_bytes_le(bytes),
                Preset::Openldap => Uuid::from_bytes(bytes),
            }));
        }
        let text = std::str::from_utf8(raw).ok()?.trim();
        // Only the two text forms a server writes: no braces, no URNs of arbitrary length.
        (text.len() == 36 || text.len() == 32).then(|| Uuid::try_parse(text).ok()).flatten().map(Self)
    }
}

/// The stable id of an entry, read through `id_attribute` alone (a full pass's id-only search).
pub fn entry_id(entry: &RawEntry, preset: Preset, id_attribute: &str) -> Option<StableId> {
    match entry.bytes(id_attribute).as_slice() {
        [one] => StableId::from_value(preset, one),
        _ => None,
    }
}

/// A person as the directory describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: StableId,
    pub dn: String,
    /// Lower-cased; `None` when the entry has none (such a person is reported, not created).
    pub email: Option<String>,
    pub name: String,
    /// AD: `userAccountControl` has ACCOUNTDISABLE (0x2).
    pub disabled: bool,
    /// Group DNs, lower-cased, sorted, each once.
    pub groups: Vec<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    /// Members: the role the connection's mapping gives them (`None` for end users, and for
    /// people in no mapped group, who are not synced as members).
    #[serde(default)]
    pub role: Option<String>,
}

impl Person {
    /// A member's first and last name: the directory's given name and surname, else the full
    /// name split at its last space (a one-word name is both).
    pub fn member_names(&self) -> (String, String) {
        let (first, last) = match self.name.trim().rsplit_once(' ') {
            Some((f, l)) => (f.trim().to_owned(), l.trim().to_owned()),
            None => (self.name.trim().to_owned(), self.name.trim().to_owned()),
        };
        (self.given_name.clone().unwrap_or(first), self.surname.clone().unwrap_or(last))
    }
}

/// AD's `userAccountControl` flag for a disabled account.
const ACCOUNTDISABLE: u32 = 0x2;

/// Read a person from an entry, or say why the entry is not one.
pub fn person(entry: &RawEntry, preset: Preset, m: &Mapping) -> Result<Person, String> {
    entry.bounded()?;
    let ids = entry.bytes(&m.id);
    let id = match ids.as_slice() {
        [one] => StableId::from_value(preset, one).ok_or_else(|| format!("{} is not a UUID", m.id))?,
        [] => return Err(format!("the entry has no {}", m.id)),
        _ => return Err(format!("the entry has several {} values", m.id)),
    };
    let email = entry.first(&m.email).map(|e| e.to_lowercase());
    let (given_name, surname) = (entry.first(&m.given_name), entry.first(&m.surname));
    let joined = [given_name.clone(), surname.clone()].into_iter().flatten().collect::<Vec<_>>();
    let name = entry
        .first(&m.name)
        .or_else(|| (!joined.is_empty()).then(|| joined.join(" ")))
        .or_else(|| email.clone())
        .ok_or("the entry has no name and no email")?;
    let disabled = preset == Preset::ActiveDirectory
        && entry
            .first("userAccountControl")
            .and_then(|v| v.parse::<u32>().ok())
            .is_some_and(|f| f & ACCOUNTDISABLE != 0);
    let mut groups: Vec<String> = entry.text(&m.groups).into_iter().map(|g| g.trim().to_lowercase()).collect();
    groups.sort();
    groups.dedup();
    Ok(Person { id, dn: entry.dn.clone(), email, name, disabled, groups, given_name, surname, role: None })
}

/// An organization as the directory describes it (an entry of the connection's organization
/// class): its name and the email domains its people's addresses are at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryOrganization {
    pub id: StableId,
    pub dn: String,
    pub name: String,
    /// Lower-cased, sorted, each once (not yet checked as domains: the service does that).
    pub domains: Vec<String>,
}

/// Attributes an organization's name is read from, first found wins (`o` is RFC 4519's).
pub const ORGANIZATION_NAMES: [&str; 3] = ["o", "ou", "cn"];

/// Read an organization from an entry of the organization class, or say why it is not one.
pub fn organization(
    entry: &RawEntry,
    preset: Preset,
    id_attribute: &str,
    domain_attribute: &str,
) -> Result<DirectoryOrganization, String> {
    entry.bounded()?;
    let id = entry_id(entry, preset, id_attribute).ok_or_else(|| format!("the entry has no single {id_attribute}"))?;
    let name =
        ORGANIZATION_NAMES.iter().find_map(|a| entry.first(a)).ok_or("the organization has no name (o, ou or cn)")?;
    let mut domains: Vec<String> = entry
        .text(domain_attribute)
        .into_iter()
        .map(|d| d.trim().trim_end_matches('.').to_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    domains.sort();
    domains.dedup();
    Ok(DirectoryOrganization { id, dn: entry.dn.clone(), name, domains })
}

/// A digest of what Roster takes from an organization's entry (its place in the tree is not
/// part of it: moving the entry changes nothing in Roster).
pub fn organization_fingerprint(o: &DirectoryOrganization) -> String {
    digest(std::iter::once(o.name.as_str()).chain(o.domains.iter().map(String::as_str)))
}

fn digest<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A digest of what Roster takes from an entry: the same entry read again gives the same one,
/// so an unchanged entry costs no write.
pub fn fingerprint(p: &Person) -> String {
    let fixed = [p.dn.as_str(), p.email.as_deref().unwrap_or(""), p.name.as_str(), if p.disabled { "1" } else { "0" }];
    // A member's role and name parts count too (an end user's fingerprint stays as it was).
    let member = p
        .role
        .as_deref()
        .map(|role| ["\0member", role, p.given_name.as_deref().unwrap_or(""), p.surname.as_deref().unwrap_or("")]);
    digest(fixed.into_iter().chain(p.groups.iter().map(String::as_str)).chain(member.into_iter().flatten()))
}

/// What Roster holds for a stable id of this connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    pub fingerprint: String,
    pub active: bool,
}

/// What a run does with one stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Deactivate,
    /// Back (enabled again, or seen again after a deletion): the same person, with what they had.
    Reactivate,
}

/// The plan for one id: `seen` is the entry when the run read it (`None`: a full pass did not
/// find it, i.e. it was deleted or moved out of scope); `None` when there is nothing to do or
/// record (a disabled entry never synced, a deletion already applied).
pub fn decide(seen: Option<&Person>, known: Option<&Known>) -> Option<Action> {
    match (seen, known) {
        (None, None) => None,
        (None, Some(k)) => k.active.then_some(Action::Deactivate),
        (Some(p), None) => (!p.disabled).then_some(Action::Create),
        (Some(p), Some(k)) if p.disabled => k.active.then_some(Action::Deactivate),
        (Some(_), Some(k)) if !k.active => Some(Action::Reactivate),
        (Some(p), Some(k)) if fingerprint(p) == k.fingerprint => Some(Action::Unchanged),
        (Some(_), Some(_)) => Some(Action::Update),
    }
}

/// Whether a run reads everything (and sweeps for deletions) or only what changed since the
/// last run started: full when asked, when the stored mark cannot be continued from (none yet —
/// first run, or the settings changed — or the server gives none, or AD answers from another
/// database), or when the last full pass is `full_pass_hours` old.
pub fn full_run(
    asked: bool,
    continues: bool,
    last_full: Option<chrono::DateTime<chrono::Utc>>,
    full_pass_hours: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    asked || !continues || last_full.is_none_or(|at| now - at >= chrono::Duration::hours(i64::from(full_pass_hours)))
}

/// Where a server's changes stood when a run started: OpenLDAP's `contextCSN`, or AD's
/// `highestCommittedUSN` on the domain controller whose database has this `invocationId`
/// (USNs are per database: another DC, or a restored one, counts differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeMark {
    Csn(String),
    Usn { invocation: Uuid, usn: u64 },
}

impl ChangeMark {
    /// As stored with the connection: the CSN, or `usn:<invocation>:<usn>`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.strip_prefix("usn:") {
            Some(rest) => {
                let (invocation, usn) = rest.split_once(':')?;
                Some(Self::Usn { invocation: Uuid::try_parse(invocation).ok()?, usn: usn.parse().ok()? })
            }
            None => is_csn(raw).then(|| Self::Csn(raw.to_owned())),
        }
    }

    /// Whether a run may read the changes after `self` from a server whose mark is now `now`.
    pub fn continues_to(&self, now: &ChangeMark) -> bool {
        match (self, now) {
            (Self::Csn(_), Self::Csn(_)) => true,
            (Self::Usn { invocation: a, .. }, Self::Usn { invocation: b, .. }) => a == b,
            _ => false,
        }
    }

    /// An incremental search's filter: the connection's own, and changed after the mark (LDAP
    /// has no `>`: not at or before it). A change at the mark was written before the run that
    /// read the mark searched, so that run saw it. Escaped: a CSN came from the server.
    pub fn changed_since(&self, filter: &str) -> String {
        match self {
            Self::Csn(csn) => format!("(&{filter}(!(entryCSN<={})))", ldap3::ldap_escape(csn.as_str())),
            Self::Usn { usn, .. } => format!("(&{filter}(!(uSNChanged<={usn})))"),
        }
    }

    /// Whether an entry read with `entryCSN` / `uSNChanged` changed after this mark (unreadable:
    /// taken as changed).
    pub fn changed(&self, entry: &RawEntry) -> bool {
        match self {
            Self::Csn(mark) => {
                let csns: Vec<&str> = entry.text("entryCSN").into_iter().map(str::trim).filter(|v| is_csn(v)).collect();
                csns.is_empty() || csns.iter().any(|v| *v > mark.as_str())
            }
            Self::Usn { usn, .. } => {
                let usns: Vec<u64> =
                    entry.text("uSNChanged").into_iter().filter_map(|v| v.trim().parse().ok()).collect();
                usns.is_empty() || usns.iter().any(|v| v > usn)
            }
        }
    }

    /// AD's mark from the root DSE's `highestCommittedUSN` and the DC's `invocationId`.
    pub fn usn(highest: &str, invocation: &[u8]) -> Option<Self> {
        let invocation = Uuid::from_bytes_le(<[u8; 16]>::try_from(invocation).ok()?);
        Some(Self::Usn { invocation, usn: highest.trim().parse().ok()? })
    }
}

impl std::fmt::Display for ChangeMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Csn(csn) => f.write_str(csn),
            Self::Usn { invocation, usn } => write!(f, "usn:{invocation}:{usn}"),
        }
    }
}

/// A naming context's change mark from its `contextCSN` values (one per provider): the oldest,
/// since a change made after it on any provider has a later CSN. Only well-formed CSNs
/// (`YYYYmmddHHMMSS.ffffffZ#count#sid#mod`) count: the value goes into a filter.
pub fn csn_mark(values: &[&str]) -> Option<ChangeMark> {
    values.iter().map(|v| v.trim()).filter(|v| is_csn(v)).min().map(|v| ChangeMark::Csn(v.to_owned()))
}

fn is_csn(v: &str) -> bool {
    let Some((time, rest)) = v.split_once('#') else { return false };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let hex = |s: &str| !s.is_empty() && s.len() <= 8 && s.chars().all(|c| c.is_ascii_hexdigit());
    let time_ok = time.len() == 22
        && time.ends_with('Z')
        && time.split_once('.').is_some_and(|(a, b)| a.len() == 14 && digits(a) && digits(b.trim_end_matches('Z')));
    let parts: Vec<&str> = rest.split('#').collect();
    time_ok && parts.len() == 3 && parts.iter().all(|p| hex(p))
}

/// The naming context (of the root DSE's `namingContexts`) a base DN is in: the longest one
/// it ends with, at a component boundary, ignoring case.
pub fn naming_context<'a>(contexts: &[&'a str], base: &str) -> Option<&'a str> {
    let base = base.to_lowercase();
    contexts
        .iter()
        .filter(|c| {
            let c = c.trim().to_lowercase();
            !c.is_empty() && (base == c || base.ends_with(&format!(",{c}")))
        })
        .max_by_key(|c| c.len())
        .copied()
}

/// When a run stops for a person's approval before deactivating people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletionThreshold {
    /// Share of the connection's active people, in percent.
    #[schema(minimum = 1, maximum = 100)]
    pub percent: u8,
    /// And at least this many.
    #[schema(maximum = 1_000_000)]
    pub at_least: u64,
}

impl Default for DeletionThreshold {
    fn default() -> Self {
        Self { percent: 10, at_least: 10 }
    }
}

impl DeletionThreshold {
    /// Whether deactivating `count` of `active` people is above the threshold.
    pub fn exceeded(self, count: u64, active: u64) -> bool {
        count >= self.at_least && u128::from(count) * 100 > u128::from(self.percent) * u128::from(active)
    }
}

/// Longest search filter a connection may be given.
pub const MAX_FILTER: usize = 1_024;

/// A connection's search filter: exactly one parenthesised RFC 4515 filter, so the engine's
/// `(&(objectClass=…)FILTER)` cannot be escaped from — `(uid=a))(|(uid=*)` closes what it did
/// not open and is refused. Parentheses and backslashes in values are written escaped
/// (`\28`, `\29`, `\5c`).
pub fn search_filter(raw: &str) -> Result<String, super::FieldError> {
    let bad = |why: &str| super::FieldError::new("user_filter", "invalid", why);
    let f = raw.trim();
    if f.is_empty() || f.len() > MAX_FILTER {
        return Err(bad(&format!("a filter has 1 to {MAX_FILTER} characters")));
    }
    if f.chars().any(char::is_control) {
        return Err(bad("a filter has no control characters"));
    }
    let (mut depth, mut chars) = (0usize, f.char_indices().peekable());
    while let Some((i, c)) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1).ok_or_else(|| bad("a ')' closes nothing"))?;
                if depth == 0 && i + 1 != f.len() {
                    return Err(bad("the filter is one parenthesised expression, like (objectClass=person)"));
                }
            }
            '\\' => {
                let hex = [chars.next(), chars.next()];
                if !hex.iter().all(|h| h.is_some_and(|(_, h)| h.is_ascii_hexdigit())) {
                    return Err(bad("a backslash starts an escape of two hex digits (\\28 for '(')"));
                }
            }
            _ if depth == 0 => return Err(bad("the filter starts with '('")),
            _ => {}
        }
    }
    if depth != 0 || !f.starts_with('(') {
        return Err(bad("the filter's parentheses do not match"));
    }
    Ok(f.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str, attrs: &[(&str, &str)]) -> RawEntry {
        let mut e = RawEntry { dn: dn.into(), ..Default::default() };
        for (k, v) in attrs {
            e.attrs.entry((*k).to_owned()).or_default().push((*v).to_owned());
        }
        e
    }

    const ID: &str = "9c1b7c4e-8f3a-4f43-9b1e-2a6f0d5e4c3b";

    #[test]
    fn stable_ids_read_each_servers_form() {
        let u = Uuid::try_parse(ID).unwrap();
        assert_eq!(StableId::from_value(Preset::Openldap, ID.as_bytes()), Some(StableId(u)));
        assert_eq!(StableId::from_value(Preset::Openldap, u.as_bytes()), Some(StableId(u)));
        // objectGUID: the first three fields little-endian.
        let le = u.to_bytes_le();
        assert_eq!(le[..4], [0x4e, 0x7c, 0x1b, 0x9c], "as AD stores {ID}");
        assert_eq!(StableId::from_value(Preset::ActiveDirectory, &le), Some(StableId(u)));
        assert_ne!(StableId::from_value(Preset::Openldap, &le), Some(StableId(u)));
        for bad in [&b"not-a-uuid"[..], b"", &[0u8; 15], &[b'a'; 1000], b"{9c1b7c4e-8f3a-4f43-9b1e-2a6f0d5e4c3b}"] {
            assert_eq!(StableId::from_value(Preset::Openldap, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_person_is_read_through_the_mapping_whatever_the_case_of_attribute_names() {
        let m = Preset::Openldap.mapping();
        let e = entry(
            "uid=ann,ou=people,dc=acme,dc=test",
            &[
                ("entryuuid", ID),
                ("MAIL", " Ann.Lee@Acme.TEST "),
                ("givenName", "Ann"),
                ("sn", "Lee"),
                ("memberOf", "CN=Agents,dc=acme"),
                ("memberof", "cn=agents,DC=acme"),
            ],
        );
        let p = person(&e, Preset::Openldap, &m).unwrap();
        assert_eq!(p.email.as_deref(), Some("ann.lee@acme.test"));
        assert_eq!(p.name, "Ann Lee", "no cn: given name and surname");
        assert_eq!(p.groups, ["cn=agents,dc=acme"]);
        assert!(!p.disabled);
        // The id may come as bytes too.
        let mut bin = entry("uid=bo", &[("cn", "Bo")]);
        bin.bin_attrs.insert("entryUUID".into(), vec![Uuid::try_parse(ID).unwrap().as_bytes().to_vec()]);
        assert_eq!(person(&bin, Preset::Openldap, &m).unwrap().id.0.to_string(), ID);
    }

    #[test]
    fn entries_that_are_no_person_say_why() {
        let m = Preset::Openldap.mapping();
        assert!(person(&entry("x", &[("cn", "A")]), Preset::Openldap, &m).unwrap_err().contains("no entryUUID"));
        let two = entry("x", &[("entryUUID", ID), ("entryUUID", ID), ("cn", "A")]);
        assert!(person(&two, Preset::Openldap, &m).unwrap_err().contains("several"));
        assert!(person(&entry("x", &[("entryUUID", "nope"), ("cn", "A")]), Preset::Openldap, &m).is_err());
        assert!(person(&entry("x", &[("entryUUID", ID)]), Preset::Openldap, &m).unwrap_err().contains("no name"));
        let huge = entry("x", &[("entryUUID", ID), ("cn", &"a".repeat(MAX_VALUE_BYTES + 1))]);
        assert!(person(&huge, Preset::Openldap, &m).is_err());
    }

    #[test]
    fn active_directorys_disabled_bit_deactivates() {
        let m = Preset::ActiveDirectory.mapping();
        let guid = Uuid::try_parse(ID).unwrap().to_bytes_le().to_vec();
        let read = |uac: &str| {
            let mut e = entry("cn=Ann", &[("displayName", "Ann"), ("userAccountControl", uac)]);
            e.bin_attrs.insert("objectGUID".into(), vec![guid.clone()]);
            person(&e, Preset::ActiveDirectory, &m).unwrap()
        };
        assert!(!read("512").disabled);
        assert!(read("514").disabled);
        assert!(!read("garbage").disabled);
        assert_eq!(read("512").id.0.to_string(), ID);
    }

    #[test]
    fn the_plan_follows_the_stable_id_and_the_fingerprint() {
        let m = Preset::Openldap.mapping();
        let ann = person(
            &entry("uid=ann", &[("entryUUID", ID), ("cn", "Ann"), ("mail", "ann@a.test")]),
            Preset::Openldap,
            &m,
        )
        .unwrap();
        let known = |active| Known { fingerprint: fingerprint(&ann), active };
        assert_eq!(decide(Some(&ann), None), Some(Action::Create));
        assert_eq!(decide(Some(&ann), Some(&known(true))), Some(Action::Unchanged));
        let renamed = Person { email: Some("ann.lee@a.test".into()), ..ann.clone() };
        assert_eq!(decide(Some(&renamed), Some(&known(true))), Some(Action::Update), "same id: the same person");
        assert_eq!(decide(None, Some(&known(true))), Some(Action::Deactivate));
        assert_eq!(decide(None, Some(&known(false))), None, "already deactivated");
        assert_eq!(decide(Some(&ann), Some(&known(false))), Some(Action::Reactivate));
        let disabled = Person { disabled: true, ..ann.clone() };
        assert_eq!(decide(Some(&disabled), Some(&known(true))), Some(Action::Deactivate));
        assert_eq!(decide(Some(&disabled), None), None, "never synced, disabled: nothing");
        assert_eq!(decide(None, None), None);
    }

    #[test]
    fn fingerprints_change_with_what_roster_takes_and_nothing_else() {
        let m = Preset::Openldap.mapping();
        let a = person(&entry("uid=a", &[("entryUUID", ID), ("cn", "A"), ("mail", "a@x.test")]), Preset::Openldap, &m)
            .unwrap();
        let same = person(
            &entry("uid=a", &[("mail", "A@X.test"), ("cn", "A"), ("entryUUID", ID), ("description", "ignored")]),
            Preset::Openldap,
            &m,
        )
        .unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&same));
        // No two fields run into each other: "ab"+"c" is not "a"+"bc".
        let x = Person { dn: "ab".into(), name: "c".into(), ..a.clone() };
        let y = Person { dn: "a".into(), name: "bc".into(), ..a.clone() };
        assert_ne!(fingerprint(&x), fingerprint(&y));
        assert_ne!(fingerprint(&a), fingerprint(&Person { groups: vec!["cn=g".into()], ..a.clone() }));
        // An end user's fingerprint ignores the name parts; a member's counts them and the role.
        assert_eq!(fingerprint(&a), fingerprint(&Person { surname: Some("Lee".into()), ..a.clone() }));
        let member = Person { role: Some("agent".into()), ..a.clone() };
        assert_ne!(fingerprint(&a), fingerprint(&member));
        assert_ne!(fingerprint(&member), fingerprint(&Person { role: Some("admin".into()), ..member.clone() }));
        assert_ne!(fingerprint(&member), fingerprint(&Person { surname: Some("Lee".into()), ..member.clone() }));
    }

    #[test]
    fn a_group_changed_after_the_mark_is_seen_by_its_csn_or_usn() {
        let csn = |v: &str| ranged(&[("entryCSN", &[v])]);
        let mark = ChangeMark::Csn("20261205101010.000000Z#000002#000#000000".into());
        assert!(mark.changed(&csn("20261205101010.000000Z#000003#000#000000")));
        assert!(!mark.changed(&csn("20261205101010.000000Z#000002#000#000000")));
        assert!(!mark.changed(&csn("20261204000000.000000Z#000000#000#000000")));
        assert!(mark.changed(&csn("garbage")), "unreadable: taken as changed");
        let usn = ChangeMark::Usn { invocation: Uuid::nil(), usn: 4000 };
        assert!(usn.changed(&ranged(&[("uSNChanged", &["4001"])])));
        assert!(!usn.changed(&ranged(&[("uSNChanged", &["3999"])])));
        assert!(usn.changed(&ranged(&[])));
    }

    #[test]
    fn a_members_names_come_from_the_name_parts_or_the_full_name() {
        let m = Preset::Openldap.mapping();
        let read = |attrs: &[(&str, &str)]| {
            let mut all = vec![("entryUUID", ID)];
            all.extend_from_slice(attrs);
            person(&entry("uid=a", &all), Preset::Openldap, &m).unwrap().member_names()
        };
        assert_eq!(
            read(&[("cn", "Ann Lee"), ("givenName", "Annie"), ("sn", "Lee-Park")]),
            ("Annie".into(), "Lee-Park".into())
        );
        assert_eq!(read(&[("cn", "Ann Marie Lee")]), ("Ann Marie".into(), "Lee".into()));
        assert_eq!(read(&[("cn", "Cher")]), ("Cher".into(), "Cher".into()));
    }

    fn ranged(keys: &[(&str, &[&str])]) -> RawEntry {
        let attrs = keys.iter().map(|(k, v)| (k.to_string(), v.iter().map(|x| x.to_string()).collect())).collect();
        RawEntry { dn: "cn=a".into(), attrs, bin_attrs: HashMap::new() }
    }

    #[test]
    fn ranged_values_move_under_the_plain_name_and_say_what_comes_next() {
        let mut e = ranged(&[("memberOf;range=0-1", &["cn=a", "cn=b"]), ("mail", &["a@x.test"])]);
        assert_eq!(e.take_range("memberof", None).unwrap(), Some(2));
        assert_eq!(e.values("memberOf"), ["cn=a", "cn=b"]);
        let mut last = ranged(&[("memberOf;Range=2-*", &["cn=c"])]);
        assert_eq!(last.take_range("memberOf", Some(2)).unwrap(), None);
        assert_eq!(last.values("memberOf"), ["cn=c"]);
        assert_eq!(ranged(&[("memberOf", &["cn=a"])]).take_range("memberOf", None).unwrap(), None, "not ranged");
        // A server that goes back, skips, or sends two ranges at once is not followed.
        assert!(ranged(&[("memberOf;range=0-5", &["x"])]).take_range("memberOf", Some(10)).is_err());
        assert!(ranged(&[("memberOf;range=5-2", &["x"])]).take_range("memberOf", None).is_err());
        assert!(
            ranged(&[("memberOf;range=0-1", &["x"]), ("memberOf;range=2-*", &["y"])])
                .take_range("memberOf", None)
                .is_err()
        );
        // Unreadable ranges are not ranges.
        assert_eq!(ranged(&[("memberOf;range=a-b", &["x"])]).take_range("memberOf", None).unwrap(), None);
    }

    #[test]
    fn a_configured_filter_cannot_widen_the_search() {
        for good in ["(objectClass=inetOrgPerson)", "(&(ou=Sales)(!(title=Intern)))", "(cn=O\\27Brien \\28UK\\29)"] {
            assert_eq!(search_filter(&format!(" {good} ")).unwrap(), good);
        }
        for bad in [
            "",
            "uid=a",
            "(uid=a))(|(uid=*)",
            "(uid=a)(uid=b)",
            "((uid=a)",
            "(uid=a\\)",
            "(uid=a\\zz)",
            "(uid=a\u{0})",
            ")(",
            &format!("({})", "a".repeat(MAX_FILTER)),
        ] {
            assert!(search_filter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_deletion_threshold_needs_both_the_share_and_the_count() {
        let t = DeletionThreshold::default();
        assert!(!t.exceeded(9, 20), "≥ 10 people");
        assert!(!t.exceeded(10, 100), "more than 10%");
        assert!(t.exceeded(11, 100));
        assert!(t.exceeded(20_000, 100_000));
        assert!(t.exceeded(10, 0), "everyone when there was nobody: still a stop");
        assert!(!DeletionThreshold { percent: 100, at_least: 1 }.exceeded(5, 5));
    }

    #[test]
    fn an_organization_is_its_name_and_domains_whatever_the_servers_spelling() {
        let e = entry(
            "o=Globex,ou=orgs,dc=x",
            &[
                ("entryUUID", ID),
                ("o", " Globex "),
                ("associatedDomain", "GLOBEX.test."),
                ("associateddomain", "a.test"),
            ],
        );
        let o = organization(&e, Preset::Openldap, "entryUUID", "associatedDomain").unwrap();
        assert_eq!(
            (o.name.as_str(), o.domains.clone()),
            ("Globex", vec!["a.test".to_owned(), "globex.test".to_owned()])
        );
        // Where the entry sits is not part of it; its name and domains are.
        let moved = DirectoryOrganization { dn: "o=Globex,ou=elsewhere".into(), ..o.clone() };
        assert_eq!(organization_fingerprint(&moved), organization_fingerprint(&o));
        let renamed = DirectoryOrganization { name: "Globex Corp".into(), ..o.clone() };
        assert_ne!(organization_fingerprint(&renamed), organization_fingerprint(&o));
        // A unit named by `ou` only still has a name; an entry without id or name is refused.
        let ou = entry("ou=Sales,dc=x", &[("entryUUID", ID), ("ou", "Sales")]);
        assert_eq!(organization(&ou, Preset::Openldap, "entryUUID", "associatedDomain").unwrap().name, "Sales");
        assert!(organization(&entry("o=x", &[("o", "x")]), Preset::Openldap, "entryUUID", "associatedDomain").is_err());
        assert!(
            organization(&entry("x=y", &[("entryUUID", ID)]), Preset::Openldap, "entryUUID", "associatedDomain")
                .is_err()
        );
        let mut flood = entry("o=f", &[("entryUUID", ID), ("o", "F")]);
        flood.attrs.insert("associatedDomain".into(), vec!["d.test".into(); MAX_VALUES + 1]);
        assert!(organization(&flood, Preset::Openldap, "entryUUID", "associatedDomain").is_err());
    }

    #[test]
    fn a_run_is_full_unless_a_recent_full_pass_left_a_mark_it_can_continue_from() {
        let now = chrono::Utc::now();
        let hour = chrono::Duration::hours(1);
        assert!(!full_run(false, true, Some(now - hour), 24, now));
        assert!(full_run(true, true, Some(now - hour), 24, now), "asked for");
        assert!(full_run(false, false, Some(now - hour), 24, now), "no mark to continue from");
        assert!(full_run(false, true, None, 24, now), "never a full pass");
        assert!(full_run(false, true, Some(now - hour * 24), 24, now), "the full pass is due");
    }

    #[test]
    fn change_marks_round_trip_and_say_what_changed_since() {
        let a = "20261206011555.123456Z#000000#001#000000";
        let b = "20261206011554.000001Z#000003#002#000000";
        assert_eq!(csn_mark(&[a, b]), Some(ChangeMark::Csn(b.into())), "the oldest provider's");
        assert_eq!(csn_mark(&[a, "20261206011554Z)(uid=*"]), Some(ChangeMark::Csn(a.into())), "garbage is no mark");
        assert_eq!(csn_mark(&["", "x#y#z#w"]), None);
        let csn = ChangeMark::Csn(a.into());
        assert_eq!(ChangeMark::parse(&csn.to_string()), Some(csn.clone()));
        assert_eq!(csn.changed_since("(objectClass=person)"), format!("(&(objectClass=person)(!(entryCSN<={a})))"));
        let dc = Uuid::now_v7();
        let usn = ChangeMark::usn("4017", &dc.to_bytes_le()).unwrap();
        assert_eq!(usn, ChangeMark::Usn { invocation: dc, usn: 4017 });
        assert_eq!(ChangeMark::parse(&usn.to_string()), Some(usn.clone()));
        assert_eq!(usn.changed_since("(objectClass=user)"), "(&(objectClass=user)(!(uSNChanged<=4017)))");
        // Another DC's database (or a restored one) counts USNs differently: a full run.
        let other = ChangeMark::usn("9000", &Uuid::now_v7().to_bytes_le()).unwrap();
        assert!(!usn.continues_to(&other));
        assert!(usn.continues_to(&ChangeMark::Usn { invocation: dc, usn: 5000 }));
        assert!(!usn.continues_to(&csn) && !csn.continues_to(&usn));
        assert_eq!(ChangeMark::usn("12", &[1, 2, 3]), None);
        assert_eq!(ChangeMark::usn("-1", &dc.to_bytes_le()), None);
        assert_eq!(ChangeMark::parse("usn:nope:1"), None);
        assert_eq!(ChangeMark::parse("x)(y"), None, "only what a server writes");
    }

    #[test]
    fn a_base_dn_is_in_the_longest_naming_context_it_ends_with() {
        let contexts = ["dc=example,dc=com", "ou=people,dc=example,dc=com", "dc=com2"];
        let at = |base| naming_context(&contexts, base);
        assert_eq!(at("ou=Sales,OU=People,dc=Example,dc=com"), Some("ou=people,dc=example,dc=com"));
        assert_eq!(at("ou=x,dc=example,dc=com"), Some("dc=example,dc=com"));
        assert_eq!(at("dc=example,dc=com"), Some("dc=example,dc=com"));
        assert_eq!(at("ou=x,dc=notexample,dc=com"), None, "only at a component boundary");
        assert_eq!(at("dc=elsewhere"), None);
    }
}
