//! Directory connections (SPEC §6): their settings (the bind password kept in the secret store,
//! never returned), a connection test, and their runs (each a job: `service::directory_sync`).
use super::{Caller, Error, Result, Services};
use crate::directory::{Directory, DirectoryError, LdapDirectory, Query, Target, Timeouts};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::directory::{self, DeletionThreshold, Mapping, Preset};
use crate::domain::directory_settings::{
    self as settings, Connection, GroupRole, OrganizationSource, PeopleBecome, Security, attribute_name,
};
use crate::domain::ids::{DirectoryId, JobId};
use crate::domain::permissions::Permission;
use crate::domain::role::RoleRef;
use crate::domain::{FieldError, FieldErrors};
use crate::jobs::{Job, Kind};
use crate::store::{DIRECTORY_BUSY, DIRECTORY_CHANGED};
use chrono::Utc;

/// Connections one account may have.
pub const MAX_DIRECTORIES: usize = 20;
/// Longest bind password taken.
const MAX_PASSWORD: usize = 1024;

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingInput {
    pub id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub groups: Option<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSourceInput {
    #[serde(default)]
    pub enabled: bool,
    pub class: Option<String>,
    pub attribute: Option<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDirectory {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `ldaps://host[:port]` or `ldap://host[:port]`.
    #[schema(max_length = 512)]
    pub url: String,
    pub security: Security,
    /// Needed for `plain`, which is allowed only to a loopback address.
    #[serde(default)]
    pub allow_insecure: bool,
    /// PEM certificates of the CA that signed the server's (an internal CA).
    #[schema(max_length = 32768)]
    pub ca_certificate: Option<String>,
    #[schema(max_length = 1024)]
    pub bind_dn: String,
    /// Kept in the secret store; never returned.
    #[schema(max_length = 1024, min_length = 1)]
    pub bind_password: String,
    #[schema(min_items = 1, max_items = 10)]
    pub base_dns: Vec<String>,
    /// An RFC 4515 filter for people; the preset's by default.
    #[schema(max_length = 1024)]
    pub user_filter: Option<String>,
    pub preset: Preset,
    /// Attributes to read instead of the preset's.
    pub mapping: Option<MappingInput>,
    /// `end_users` by default; fixed once the connection exists.
    pub people_become: Option<PeopleBecome>,
    /// Members: the role each directory group gives; a person in several gets the first listed.
    #[schema(max_items = 50)]
    pub role_mapping: Option<Vec<GroupRole>>,
    /// Members: the role of people in none of the mapped groups; without it they are not synced.
    #[schema(schema_with = crate::http::openapi::field::role_or_null)]
    pub default_role: Option<String>,
    pub organizations: Option<OrganizationSourceInput>,
    /// Minutes between scheduled runs (5–1440, a multiple of 5); 60 by default.
    #[schema(minimum = 5, maximum = 1440, multiple_of = 5)]
    pub every_minutes: Option<u32>,
    /// Hours between full passes (1–168); 24 by default.
    #[schema(minimum = 1, maximum = 168)]
    pub full_pass_hours: Option<u32>,
    pub deletion_threshold: Option<DeletionThreshold>,
    /// Scheduled runs happen only while enabled (manual runs always can).
    pub enabled: Option<bool>,
}

/// What to change; absent fields stay.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryChange {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 512)]
    pub url: Option<String>,
    pub security: Option<Security>,
    pub allow_insecure: Option<bool>,
    /// Blank removes it.
    #[schema(max_length = 32768)]
    pub ca_certificate: Option<String>,
    #[schema(max_length = 1024)]
    pub bind_dn: Option<String>,
    #[schema(max_length = 1024, min_length = 1)]
    pub bind_password: Option<String>,
    #[schema(min_items = 1, max_items = 10)]
    pub base_dns: Option<Vec<String>>,
    #[schema(max_length = 1024)]
    pub user_filter: Option<String>,
    pub mapping: Option<MappingInput>,
    /// Only the value the connection has: what people become is fixed at creation.
    pub people_become: Option<PeopleBecome>,
    #[schema(max_items = 50)]
    pub role_mapping: Option<Vec<GroupRole>>,
    /// Blank removes it.
    #[schema(schema_with = crate::http::openapi::field::role_or_null)]
    pub default_role: Option<String>,
    pub organizations: Option<OrganizationSourceInput>,
    #[schema(minimum = 5, maximum = 1440, multiple_of = 5)]
    pub every_minutes: Option<u32>,
    #[schema(minimum = 1, maximum = 168)]
    pub full_pass_hours: Option<u32>,
    pub deletion_threshold: Option<DeletionThreshold>,
    pub enabled: Option<bool>,
}

fn not_found() -> Error {
    Error::NotFound("directory")
}

fn default_filter(p: Preset) -> &'static str {
    match p {
        Preset::Openldap => "(objectClass=inetOrgPerson)",
        Preset::ActiveDirectory => "(&(objectCategory=person)(objectClass=user))",
    }
}

fn mapping(base: Mapping, input: Option<&MappingInput>, errors: &mut FieldErrors) -> Mapping {
    let Some(i) = input else { return base };
    let mut pick = |field: &str, given: &Option<String>, current: String| match given {
        Some(v) => errors.take(attribute_name(&format!("mapping.{field}"), v)).unwrap_or(current),
        None => current,
    };
    Mapping {
        id: pick("id", &i.id, base.id.clone()),
        email: pick("email", &i.email, base.email.clone()),
        name: pick("name", &i.name, base.name.clone()),
        given_name: pick("given_name", &i.given_name, base.given_name.clone()),
        surname: pick("surname", &i.surname, base.surname.clone()),
        groups: pick("groups", &i.groups, base.groups.clone()),
    }
}

/// Runs act on the saver's authority: what a run does (`Connection::run_permissions`), and for
/// members each mapped role must be one the saver may grant.
async fn may_run(s: &Services, caller: &Caller, c: &Connection) -> Result<()> {
    for p in c.run_permissions() {
        caller.require(p)?;
    }
    if c.people_become == PeopleBecome::Members {
        let lines = c.role_mapping.iter().enumerate().map(|(i, m)| (format!("role_mapping[{i}].role"), m.role));
        for (field, role) in lines.chain(c.default_role.map(|r| ("default_role".to_owned(), r))) {
            super::roles::assignable(s, caller, &field, &role.to_string()).await?;
        }
    }
    Ok(())
}

/// The member settings: group lines and default role only for members, and then at least one.
fn member_roles(
    people: PeopleBecome,
    lines: Option<&[GroupRole]>,
    default_role: Option<&str>,
    current: (Vec<GroupRole>, Option<RoleRef>),
    errors: &mut FieldErrors,
) -> (Vec<GroupRole>, Option<RoleRef>) {
    let mut lines = match lines {
        Some(l) => errors.take(settings::group_roles(l)).unwrap_or_default(),
        None => current.0,
    };
    let mut default = match default_role.map(str::trim) {
        Some("") => None,
        Some(raw) => match RoleRef::parse(raw).filter(|r| *r != RoleRef::OWNER) {
            Some(r) => Some(r),
            None => {
                let what =
                    "a basic role other than owner (admin, supervisor, pro_agent, agent, viewer) or a custom role's id";
                errors.push(FieldError::new("default_role", "invalid", what));
                None
            }
        },
        None => current.1,
    };
    match people {
        PeopleBecome::EndUsers if !lines.is_empty() || default.is_some() => {
            errors.push(FieldError::new("role_mapping", "invalid", "roles are for people_become members"));
            (lines, default) = (Vec::new(), None);
        }
        PeopleBecome::Members if lines.is_empty() && default.is_none() => {
            let why = "members need a group mapped to a role (role_mapping) or a default_role";
            errors.push(FieldError::new("role_mapping", "required", why));
        }
        _ => {}
    }
    (lines, default)
}

fn organizations(
    base: OrganizationSource,
    input: Option<&OrganizationSourceInput>,
    errors: &mut FieldErrors,
) -> OrganizationSource {
    let Some(i) = input else { return base };
    OrganizationSource {
        enabled: i.enabled,
        class: match &i.class {
            Some(c) => errors.take(attribute_name("organizations.class", c)).unwrap_or(base.class),
            None => base.class,
        },
        attribute: match &i.attribute {
            Some(a) => errors.take(attribute_name("organizations.attribute", a)).unwrap_or(base.attribute),
            None => base.attribute,
        },
    }
}

fn password(raw: &str) -> std::result::Result<String, FieldError> {
    if raw.is_empty() || raw.len() > MAX_PASSWORD || raw.chars().any(char::is_control) {
        return Err(FieldError::new("bind_password", "invalid", "1 to 1024 characters, no control characters"));
    }
    Ok(raw.to_owned())
}

fn threshold(t: DeletionThreshold) -> std::result::Result<DeletionThreshold, FieldError> {
    if t.percent == 0 || t.percent > 100 || t.at_least > 1_000_000 {
        return Err(FieldError::new("deletion_threshold", "invalid", "percent 1–100, at_least 0–1,000,000"));
    }
    Ok(t)
}

fn secret_id(c: &Connection) -> String {
    format!("roster/directories/{}/{}", c.account_id, c.id)
}

fn secret_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("the secret store ({what}): {e}"))
}

async fn put_password(s: &Services, id: &str, password: &str, new: bool) -> Result<()> {
    use aws_sdk_secretsmanager::error::DisplayErrorContext;
    if new {
        let created = s.secrets.create_secret().name(id).secret_string(password).send().await;
        match created {
            Ok(_) => return Ok(()),
            Err(e) if e.as_service_error().is_some_and(|x| x.is_resource_exists_exception()) => {}
            Err(e) => return Err(secret_error("create", DisplayErrorContext(e))),
        }
    }
    s.secrets
        .put_secret_value()
        .secret_id(id)
        .secret_string(password)
        .send()
        .await
        .map_err(|e| secret_error("put", DisplayErrorContext(e)))?;
    Ok(())
}

/// The connection's bind password, read from the secret store.
pub(crate) async fn bind_password(s: &Services, c: &Connection) -> Result<String> {
    use aws_sdk_secretsmanager::error::DisplayErrorContext;
    let out = s
        .secrets
        .get_secret_value()
        .secret_id(&c.secret_id)
        .send()
        .await
        .map_err(|e| secret_error("read", DisplayErrorContext(e)))?;
    out.secret_string.ok_or_else(|| Error::Internal("the bind password secret has no text".into()))
}

async fn delete_password(s: &Services, id: &str) {
    let gone = s.secrets.delete_secret().secret_id(id).force_delete_without_recovery(true).send().await;
    if let Err(e) = gone {
        tracing::warn!(secret = id, error = %aws_sdk_secretsmanager::error::DisplayErrorContext(e), "a directory's secret was not deleted");
    }
}

/// The settings as the system log shows them (no password; the CA only as present or not).
fn described(c: &Connection) -> serde_json::Value {
    serde_json::json!({
        "name": c.name, "url": c.endpoint.url, "security": c.endpoint.security, "bind_dn": c.bind_dn,
        "base_dns": c.base_dns, "user_filter": c.user_filter, "preset": c.preset, "mapping": c.mapping,
        "ca_certificate": c.ca_certificate.is_some(), "organizations": c.organizations,
        "people_become": c.people_become, "role_mapping": c.role_mapping, "default_role": c.default_role,
        "every_minutes": c.every_minutes, "full_pass_hours": c.full_pass_hours,
        "deletion_threshold": c.deletion_threshold, "enabled": c.enabled,
    })
}

pub async fn create(s: &Services, caller: &Caller, new: NewDirectory) -> Result<Connection> {
    caller.require(Permission::DirectoryManage)?;
    let a = caller.account_id();
    let mut errors = FieldErrors::new();
    let name = errors.take(crate::domain::text::required_text("name", &new.name, &crate::domain::format::COMPANY));
    let endpoint = errors.take(settings::endpoint(&new.url, new.security, new.allow_insecure));
    let ca = new
        .ca_certificate
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .and_then(|c| errors.take(settings::ca_certificate(c)));
    let bind_dn = errors.take(settings::dn("bind_dn", &new.bind_dn));
    let secret = errors.take(password(&new.bind_password));
    let base_dns = errors.take(settings::base_dns(&new.base_dns));
    let filter =
        errors.take(directory::search_filter(new.user_filter.as_deref().unwrap_or(default_filter(new.preset))));
    let mapping = mapping(new.preset.mapping(), new.mapping.as_ref(), &mut errors);
    let organizations = organizations(OrganizationSource::default(), new.organizations.as_ref(), &mut errors);
    let people_become = new.people_become.unwrap_or(PeopleBecome::EndUsers);
    let (role_mapping, default_role) = member_roles(
        people_become,
        new.role_mapping.as_deref(),
        new.default_role.as_deref(),
        (Vec::new(), None),
        &mut errors,
    );
    let schedule = errors.take(settings::schedule(new.every_minutes.unwrap_or(60), new.full_pass_hours.unwrap_or(24)));
    let threshold = errors.take(threshold(new.deletion_threshold.unwrap_or_default()));
    errors.finish()?;
    let (
        Some(name),
        Some(endpoint),
        Some(bind_dn),
        Some(secret),
        Some(base_dns),
        Some(filter),
        Some(schedule),
        Some(threshold),
    ) = (name, endpoint, bind_dn, secret, base_dns, filter, schedule, threshold)
    else {
        return Err(Error::Internal("checked fields missing".into()));
    };
    if s.store.directories(a).await?.len() >= MAX_DIRECTORIES {
        return Err(Error::conflict(
            "too_many_directories",
            format!("an account has at most {MAX_DIRECTORIES} directory connections"),
        ));
    }
    let now = Utc::now();
    let mut c = Connection {
        id: DirectoryId::new(),
        account_id: a,
        name,
        endpoint,
        allow_insecure: new.allow_insecure,
        ca_certificate: ca,
        bind_dn,
        secret_id: String::new(),
        base_dns,
        user_filter: filter,
        preset: new.preset,
        mapping,
        people_become,
        role_mapping,
        default_role,
        organizations,
        every_minutes: schedule.0,
        full_pass_hours: schedule.1,
        deletion_threshold: threshold,
        enabled: new.enabled.unwrap_or(true),
        configured_by: caller.actor(),
        current_run: None,
        last_run_at: None,
        change_mark: None,
        last_full_pass_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    may_run(s, caller, &c).await?;
    c.secret_id = secret_id(&c);
    put_password(s, &c.secret_id, &secret, true).await?;
    let audit = AuditEntry::new(caller.actor(), "directory.created", "directory", c.id, described(&c));
    if let Err(e) = s.store.create_directory(&c, &schedule_job(&c), &audit).await {
        delete_password(s, &c.secret_id).await;
        return Err(e.into());
    }
    Ok(c)
}

pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Connection> {
    caller.require(Permission::DirectoryManage)?;
    let id = DirectoryId::parse(id).ok_or_else(not_found)?;
    s.store.get_directory(caller.account_id(), id).await?.ok_or_else(not_found)
}

pub async fn list(s: &Services, caller: &Caller) -> Result<Vec<Connection>> {
    caller.require(Permission::DirectoryManage)?;
    Ok(s.store.directories(caller.account_id()).await?)
}

pub async fn update(
    s: &Services,
    caller: &Caller,
    id: &str,
    change: DirectoryChange,
    if_version: Option<u64>,
) -> Result<Connection> {
    let before = get(s, caller, id).await?;
    if if_version.is_some_and(|v| v != before.version) {
        return Err(Error::PreconditionFailed);
    }
    let mut c = before.clone();
    let mut errors = FieldErrors::new();
    if let Some(n) = &change.name {
        c.name = errors
            .take(crate::domain::text::required_text("name", n, &crate::domain::format::COMPANY))
            .unwrap_or_default();
    }
    let security = change.security.unwrap_or(c.endpoint.security);
    let allow = change.allow_insecure.unwrap_or(c.allow_insecure);
    let url = change.url.clone().unwrap_or_else(|| c.endpoint.url.clone());
    if let Some(e) = errors.take(settings::endpoint(&url, security, allow)) {
        c.endpoint = e;
        c.allow_insecure = allow;
    }
    if let Some(ca) = &change.ca_certificate {
        c.ca_certificate = if ca.trim().is_empty() { None } else { errors.take(settings::ca_certificate(ca)) };
    }
    if let Some(dn) = &change.bind_dn {
        c.bind_dn = errors.take(settings::dn("bind_dn", dn)).unwrap_or_default();
    }
    let secret = change.bind_password.as_deref().and_then(|p| errors.take(password(p)));
    if let Some(b) = &change.base_dns {
        c.base_dns = errors.take(settings::base_dns(b)).unwrap_or_default();
    }
    if let Some(f) = &change.user_filter {
        c.user_filter = errors.take(directory::search_filter(f)).unwrap_or_default();
    }
    c.mapping = mapping(c.mapping.clone(), change.mapping.as_ref(), &mut errors);
    c.organizations = organizations(c.organizations.clone(), change.organizations.as_ref(), &mut errors);
    if change.people_become.is_some_and(|p| p != c.people_become) {
        let why = "what people become is fixed once a connection exists; create another connection";
        errors.push(FieldError::new("people_become", "immutable", why));
    }
    (c.role_mapping, c.default_role) = member_roles(
        c.people_become,
        change.role_mapping.as_deref(),
        change.default_role.as_deref(),
        (c.role_mapping.clone(), c.default_role),
        &mut errors,
    );
    if change.every_minutes.is_some() || change.full_pass_hours.is_some() {
        let asked =
            (change.every_minutes.unwrap_or(c.every_minutes), change.full_pass_hours.unwrap_or(c.full_pass_hours));
        if let Some((every, full)) = errors.take(settings::schedule(asked.0, asked.1)) {
            (c.every_minutes, c.full_pass_hours) = (every, full);
        }
    }
    if let Some(t) = change.deletion_threshold {
        c.deletion_threshold = errors.take(threshold(t)).unwrap_or_default();
    }
    if let Some(e) = change.enabled {
        c.enabled = e;
    }
    errors.finish()?;
    may_run(s, caller, &c).await?;
    if let Some(p) = &secret {
        put_password(s, &c.secret_id, p, false).await?;
    }
    // Reading other entries, or the same ones differently: the next run reads everything.
    let reads = |c: &Connection| (c.endpoint.clone(), c.base_dns.clone(), c.user_filter.clone(), c.mapping.clone());
    let roles = |c: &Connection| (c.role_mapping.clone(), c.default_role);
    if reads(&c) != reads(&before) || c.organizations != before.organizations || roles(&c) != roles(&before) {
        (c.change_mark, c.last_full_pass_at) = (None, None);
    }
    // Whoever saves the connection is whose authority its scheduled runs act with from now.
    c.configured_by = caller.actor();
    c.version = before.version + 1;
    c.updated_at = Utc::now();
    let mut details = serde_json::json!({ "before": described(&before), "after": described(&c) });
    if secret.is_some() {
        details["bind_password"] = serde_json::json!("changed");
    }
    let audit = AuditEntry::new(caller.actor(), "directory.updated", "directory", c.id, details);
    match s.store.update_directory(&before, &c, Some(&audit)).await {
        Ok(()) => Ok(c),
        Err(e) if e.is_conflict(DIRECTORY_CHANGED) && if_version.is_some() => Err(Error::PreconditionFailed),
        Err(e) if e.is_conflict(DIRECTORY_CHANGED) => {
            Err(Error::conflict("directory_changed", "the connection changed meanwhile; reload and retry"))
        }
        Err(e) => Err(e.into()),
    }
}

/// How long after a connection's deletion its entry states go.
const FORGET_AFTER: chrono::Duration = chrono::Duration::minutes(5);

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ForgetInput {
    pub directory_id: DirectoryId,
}

/// One step of forgetting a deleted connection's entries. It needs no one's authority: it only
/// removes Roster's own bookkeeping of a connection already deleted by someone who could.
pub(crate) async fn forget_step(s: &Services, job: &Job) -> Result<crate::jobs::Step<()>> {
    let input: ForgetInput = job.input_as()?;
    let Some(a) = job.account_id else { return Err(Error::Internal("a forget_directory job has no account".into())) };
    let deleted = s.store.forget_directory_step(a, input.directory_id).await? as u64;
    let next = (deleted > 0).then_some(());
    Ok(crate::jobs::Step::to(next, Vec::new(), vec![("deleted", deleted)]))
}

/// Delete a connection (its people stay, as they are) and its secret; a job deletes what Roster
/// kept of its entries.
pub async fn delete(s: &Services, caller: &Caller, id: &str) -> Result<()> {
    let c = get(s, caller, id).await?;
    let audit = AuditEntry::new(caller.actor(), "directory.deleted", "directory", c.id, described(&c));
    // A little later: a run's step under way when the connection goes writes no more after it.
    let input = serde_json::json!(ForgetInput { directory_id: c.id });
    let mut forget = Job::new(Kind::ForgetDirectory, Some(c.account_id), input, Utc::now() + FORGET_AFTER);
    forget.created_by = Some(caller.actor());
    match s.store.delete_directory(&c, schedule_id(&c), &forget, &audit).await {
        Ok(()) => {}
        Err(e) if e.is_conflict(DIRECTORY_CHANGED) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    }
    delete_password(s, &c.secret_id).await;
    Ok(())
}

/// Connect and bind as the connection says (`timeouts`: never ldap3's infinite defaults).
pub(crate) async fn connect(
    s: &Services,
    c: &Connection,
) -> Result<std::result::Result<LdapDirectory, DirectoryError>> {
    let password = bind_password(s, c).await?;
    let target = Target {
        endpoint: &c.endpoint,
        ca_certificate: c.ca_certificate.as_deref(),
        bind_dn: &c.bind_dn,
        password: &password,
    };
    Ok(LdapDirectory::connect(&target, Timeouts::default()).await)
}

/// The search of organizations under one base DN (the class is an attribute name: nothing a
/// filter could be widened with).
/// `since`: only entries changed at or after this change mark (an incremental run).
pub(crate) fn organizations_query(c: &Connection, base: &str, since: Option<&str>) -> Query {
    let o = &c.organizations;
    let mut attributes = vec![c.mapping.id.clone(), o.attribute.clone()];
    attributes.extend(crate::domain::directory::ORGANIZATION_NAMES.map(String::from));
    Query { base: base.to_owned(), filter: changed(&format!("(objectClass={})", o.class), since), attributes }
}

/// The search of people under one base DN (`since` as above).
pub(crate) fn people_query(c: &Connection, base: &str, since: Option<&str>) -> Query {
    Query { base: base.to_owned(), filter: changed(&c.user_filter, since), attributes: c.person_attributes() }
}

fn changed(filter: &str, since: Option<&str>) -> String {
    // A mark that does not read back (it always does: the run stored it) reads everything.
    match since.and_then(directory::ChangeMark::parse) {
        Some(mark) => mark.changed_since(filter),
        None => filter.to_owned(),
    }
}

/// The server's change mark now: OpenLDAP's `contextCSN` of the naming context each base DN is
/// in (the oldest of them), AD's `highestCommittedUSN` with the DC's `invocationId`; `None`
/// when the server keeps none (OpenLDAP without syncprov) — then every run is a full one.
pub(crate) async fn change_mark(
    dir: &mut LdapDirectory,
    c: &Connection,
) -> std::result::Result<Option<directory::ChangeMark>, DirectoryError> {
    let root_attributes = ["namingContexts", "highestCommittedUSN", "dsServiceName"];
    let Some(root) = dir.read("", &root_attributes).await? else { return Ok(None) };
    if c.preset == Preset::ActiveDirectory {
        let (usn, service) = (root.values("highestCommittedUSN"), root.values("dsServiceName"));
        let (Some(usn), Some(service)) = (usn.first(), service.first()) else { return Ok(None) };
        let Some(settings) = dir.read(service, &["invocationId"]).await? else { return Ok(None) };
        return Ok(settings.binary("invocationId").first().and_then(|id| directory::ChangeMark::usn(usn, id)));
    }
    let contexts = root.values("namingContexts");
    let mut marks = Vec::new();
    for base in &c.base_dns {
        let Some(context) = directory::naming_context(&contexts, base) else { return Ok(None) };
        let Some(entry) = dir.read(context, &["contextCSN"]).await? else { return Ok(None) };
        match directory::csn_mark(&entry.values("contextCSN")) {
            Some(directory::ChangeMark::Csn(csn)) => marks.push(csn),
            _ => return Ok(None),
        }
    }
    Ok(marks.into_iter().min().map(directory::ChangeMark::Csn))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SampleEntry {
    pub dn: String,
    /// The stable id, email and name as Roster reads them; `problem` says why an entry is not a person.
    pub stable_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub problem: Option<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TestReport {
    /// Bound and searched.
    pub ok: bool,
    /// Why not: unreachable, TLS, the bind refused (with the server's result code and message)…
    pub error: Option<String>,
    /// Up to 5 entries of the first base DN, read as a run would.
    pub sample: Vec<SampleEntry>,
    /// More entries follow the sample.
    pub more: bool,
}

/// Bind and read one small page: what a run would find, or the exact error.
pub async fn test(s: &Services, caller: &Caller, id: &str) -> Result<TestReport> {
    let c = get(s, caller, id).await?;
    let failed =
        |e: DirectoryError| TestReport { ok: false, error: Some(e.to_string()), sample: Vec::new(), more: false };
    let mut dir = match connect(s, &c).await? {
        Ok(d) => d,
        Err(e) => return Ok(failed(e)),
    };
    let Some(base) = c.base_dns.first() else { return Ok(failed(DirectoryError::Ldap("no base DN".into()))) };
    let page = match dir.search_page(&people_query(&c, base, None), &[], 5).await {
        Ok(p) => p,
        Err(e) => return Ok(failed(e)),
    };
    dir.close().await;
    let sample = page
        .entries
        .iter()
        .map(|e| match directory::person(e, c.preset, &c.mapping) {
            Ok(p) => SampleEntry {
                dn: e.dn.clone(),
                stable_id: Some(p.id.0.to_string()),
                email: p.email,
                name: Some(p.name),
                problem: None,
            },
            Err(why) => SampleEntry { dn: e.dn.clone(), stable_id: None, email: None, name: None, problem: Some(why) },
        })
        .collect();
    Ok(TestReport { ok: true, error: None, sample, more: page.next.is_some() })
}

/// What a run was asked to do.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunInput {
    pub directory_id: DirectoryId,
    /// Report what would change, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub scheduled: bool,
    /// A full pass, asked for.
    #[serde(default)]
    pub full: bool,
}

/// Start a run of `c` on `by`'s authority, unless one is going on (409).
pub(crate) async fn start_run(s: &Services, c: &Connection, by: Actor, input: RunInput) -> Result<Job> {
    let a = c.account_id;
    let body = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
    let mut job = Job::new(Kind::DirectorySync, Some(a), body, Utc::now());
    job.created_by = Some(by);
    let stale = match c.current_run {
        None => None,
        Some(run) => match s.store.get_job_of(Some(a), Kind::DirectorySync, run).await? {
            Some(j) if !j.status.is_final() => {
                return Err(Error::conflict(
                    "directory_run_in_progress",
                    format!("run {run} of this connection is not over"),
                ));
            }
            _ => Some(run),
        },
    };
    let details = serde_json::json!({ "run": job.id, "dry_run": input.dry_run, "scheduled": input.scheduled });
    let audit = AuditEntry::new(by_actor(&job), "directory.run_started", "directory", c.id, details);
    match s.store.claim_directory_run(c, job.id, stale, &job, &audit).await {
        Ok(()) => Ok(job),
        Err(e) if e.is_conflict(DIRECTORY_BUSY) => {
            Err(Error::conflict("directory_run_in_progress", "another run of this connection started meanwhile"))
        }
        Err(e) => Err(e.into()),
    }
}

fn by_actor(job: &Job) -> Actor {
    job.created_by.clone().unwrap_or(Actor::System)
}

/// A person's "run now" (or dry run).
pub async fn run(s: &Services, caller: &Caller, id: &str, dry_run: bool, full: bool) -> Result<Job> {
    let c = get(s, caller, id).await?;
    caller.require(Permission::UsersManage)?;
    start_run(s, &c, caller.actor(), RunInput { directory_id: c.id, dry_run, scheduled: false, full }).await
}

/// The connection's runs, newest first.
pub async fn runs(s: &Services, caller: &Caller, id: &str) -> Result<Vec<Job>> {
    let c = get(s, caller, id).await?;
    let (jobs, _) = s.store.list_jobs(c.account_id, Kind::DirectorySync, None, 200).await?;
    Ok(jobs.into_iter().filter(|j| of_connection(j, c.id)).take(50).collect())
}

fn of_connection(j: &Job, d: DirectoryId) -> bool {
    j.input_as::<RunInput>().is_ok_and(|i| i.directory_id == d)
}

/// One run of the connection, or 404.
pub async fn run_of(s: &Services, caller: &Caller, id: &str, run: &str) -> Result<Job> {
    let c = get(s, caller, id).await?;
    let gone = || Error::NotFound("run");
    let run = JobId::parse(run).ok_or_else(gone)?;
    let job = s.store.get_job_of(Some(c.account_id), Kind::DirectorySync, run).await?.ok_or_else(gone)?;
    if of_connection(&job, c.id) { Ok(job) } else { Err(gone()) }
}

/// Approve (the run goes on and deactivates) or reject (it ends, nothing deactivated) a run
/// that stopped above the deletion threshold.
pub async fn settle(s: &Services, caller: &Caller, id: &str, run: &str, approve: bool) -> Result<Job> {
    let job = run_of(s, caller, id, run).await?;
    super::jobs::settle(s, caller, &job, approve).await
}

/// How often a connection's schedule looks whether a run is due (the scheduler's beat).
const SCHEDULE_BEAT: chrono::Duration = chrono::Duration::minutes(5);

/// The schedule job's id: the connection's own, so it exists once per connection.
fn schedule_id(c: &Connection) -> JobId {
    JobId::fixed(c.id.as_uuid().as_u128())
}

fn schedule_job(c: &Connection) -> Job {
    let body = serde_json::json!({ "directory_id": c.id });
    let mut job = Job::new(Kind::DirectorySchedule, Some(c.account_id), body, Utc::now() + SCHEDULE_BEAT);
    job.id = schedule_id(c);
    job.every_seconds = Some(SCHEDULE_BEAT.num_seconds());
    job.created_by = Some(c.configured_by.clone());
    job
}

#[derive(serde::Deserialize)]
struct ScheduleInput {
    directory_id: DirectoryId,
}

/// One beat of a connection's schedule: start a run if the connection is enabled, its last run
/// started `every_minutes` ago or more, and none is going on. The run acts with the authority
/// of whoever last saved the connection, as they are now.
pub(crate) async fn scheduled(s: &Services, job: &Job) -> Result<crate::jobs::Step<()>> {
    let input: ScheduleInput = job.input_as()?;
    let a = job.account_id.ok_or_else(|| Error::Internal("a schedule belongs to an account".into()))?;
    let Some(c) = s.store.get_directory(a, input.directory_id).await? else {
        return Err(Error::Refused("the directory connection was deleted".into()));
    };
    let now = Utc::now();
    let due = c.last_run_at.is_none_or(|at| now - at >= chrono::Duration::minutes(i64::from(c.every_minutes)));
    let mut outcomes = Vec::new();
    if c.enabled && due {
        let input = RunInput { directory_id: c.id, dry_run: false, scheduled: true, full: false };
        match start_run(s, &c, c.configured_by.clone(), input).await {
            Ok(run) => {
                outcomes.push(crate::jobs::Outcome { outcome: "started", detail: serde_json::json!({ "run": run.id }) })
            }
            // One is going on: the next beat looks again.
            Err(Error::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let started = outcomes.len() as u64;
    Ok(crate::jobs::Step::to(None, outcomes, vec![("runs_started", started)]))
}
