//! Exports (SPEC §2, §8): members and the system log as CSV, formula cells neutralized. Up to
//! `INLINE_BYTES` the file is the answer itself; a larger one is an export job that writes it to
//! S3 in parts of about 5 MiB (never the whole file in memory) and hands out a link valid for
//! `LINK_VALID`. Both read the same pages in the same order.
use super::{Caller, Error, Result, Services, audit::Selection};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, JobId, MemberId};
use crate::domain::member::{Member, csv_safe};
use crate::domain::permissions::Permission;
use crate::domain::role::{CustomRole, RoleRef};
use crate::files::{FileError, PART_MIN};
use crate::jobs::{Job, Kind, Step};
use crate::store::MemberFilter;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The largest file answered inline (Lambda answers at most 6 MB).
pub const INLINE_BYTES: usize = 4 * 1024 * 1024;
/// How long a download link works; asking for the job again gives a fresh one.
pub const LINK_VALID: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How long an export's file is kept (the bucket's lifecycle rule in `template.yaml`).
pub const FILE_KEPT: Duration = Duration::days(7);
/// Rows one read takes.
const PAGE: usize = 1000;

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum ExportOf {
    /// Every member (admins only: it lists every email).
    Members,
    /// The system log's entries the selection picks, newest first.
    SystemLog(Selection),
}

impl ExportOf {
    pub fn permission(&self) -> Permission {
        match self {
            ExportOf::Members => Permission::MembersManage,
            ExportOf::SystemLog(_) => Permission::AuditRead,
        }
    }

    pub fn file_name(&self) -> &'static str {
        match self {
            ExportOf::Members => "members.csv",
            ExportOf::SystemLog(_) => "system-log.csv",
        }
    }

    fn header(&self) -> &'static [&'static str] {
        match self {
            ExportOf::Members => &[
                "id",
                "email",
                "first_name",
                "last_name",
                "role",
                "role_name",
                "status",
                "source",
                "created_at",
                "last_login_at",
            ],
            ExportOf::SystemLog(_) => &[
                "id",
                "at",
                "actor_kind",
                "actor_id",
                "actor_name",
                "action",
                "target_type",
                "target_id",
                "memo",
                "content",
            ],
        }
    }
}

type Writer = csv::Writer<Vec<u8>>;

fn csv_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("writing CSV: {e}"))
}

fn writer(of: &ExportOf, header: bool) -> Result<Writer> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if header {
        w.write_record(of.header()).map_err(csv_error)?;
    }
    Ok(w)
}

/// The bytes written so far (the writer's own buffer flushed into them).
fn written(w: &mut Writer) -> Result<usize> {
    w.flush().map_err(csv_error)?;
    Ok(w.get_ref().len())
}

/// One page of rows after the cursor `after`, written to `w`: how many, and the next cursor.
async fn page(
    s: &Services,
    a: AccountId,
    of: &ExportOf,
    after: Option<&str>,
    roles: &[CustomRole],
    w: &mut Writer,
) -> Result<(u64, Option<String>)> {
    match of {
        ExportOf::Members => {
            let after = after.map(|c| MemberId::parse(c).ok_or_else(|| Error::Internal("export cursor".into())));
            let page = s.store.list_members(a, &MemberFilter::default(), after.transpose()?, PAGE).await?;
            for m in &page.members {
                w.write_record(member_row(m, roles)).map_err(csv_error)?;
            }
            Ok((page.members.len() as u64, page.last.map(|m| m.to_string())))
        }
        ExportOf::SystemLog(selection) => {
            let Some(f) = selection.filter() else { return Ok((0, None)) };
            let (entries, next) = s.store.query_audit(a, &f, after.map(str::to_owned), PAGE).await?;
            for e in &entries {
                w.write_record(audit_row(e)).map_err(csv_error)?;
            }
            Ok((entries.len() as u64, next))
        }
    }
}

fn member_row(m: &Member, roles: &[CustomRole]) -> [String; 10] {
    let role_name = match m.role {
        RoleRef::Basic(b) => b.display_name().to_owned(),
        RoleRef::Custom(id) => roles.iter().find(|c| c.id == id).map(|c| c.name.clone()).unwrap_or_default(),
    };
    let word = |v: serde_json::Result<serde_json::Value>| {
        v.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    };
    [
        m.id.to_string(),
        csv_safe(m.email.as_str()),
        csv_safe(&m.first_name),
        csv_safe(&m.last_name),
        m.role.to_string(),
        csv_safe(&role_name),
        word(serde_json::to_value(m.status)),
        word(serde_json::to_value(m.source)),
        m.created_at.to_rfc3339(),
        m.last_login_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
    ]
}

fn audit_row(e: &AuditEntry) -> [String; 10] {
    let (kind, id, name) = e.actor.parts();
    [
        e.id.to_string(),
        e.at.to_rfc3339(),
        kind.to_owned(),
        id,
        csv_safe(&name),
        e.action.clone(),
        e.target_type.clone(),
        csv_safe(&e.target_id),
        csv_safe(e.memo.as_deref().unwrap_or_default()),
        csv_safe(&e.content.to_string()),
    ]
}

async fn roles_for(s: &Services, a: AccountId, of: &ExportOf) -> Result<Vec<CustomRole>> {
    Ok(match of {
        ExportOf::Members => s.store.list_roles(a).await?,
        ExportOf::SystemLog(_) => Vec::new(),
    })
}

/// The whole file as the answer, when it is at most `INLINE_BYTES`; otherwise 409
/// `export_too_large`, naming the export job to start instead.
pub async fn inline(s: &Services, caller: &Caller, of: &ExportOf) -> Result<Vec<u8>> {
    caller.require(of.permission())?;
    of_checked(of)?;
    let a = caller.account_id();
    let roles = roles_for(s, a, of).await?;
    let mut w = writer(of, true)?;
    let mut after = None;
    loop {
        let (_, next) = page(s, a, of, after.as_deref(), &roles, &mut w).await?;
        if written(&mut w)? > INLINE_BYTES {
            let route = match of {
                ExportOf::Members => "/v1/members/exports",
                ExportOf::SystemLog(_) => "/v1/audit/exports",
            };
            return Err(Error::conflict(
                "export_too_large",
                format!(
                    "the export is larger than {} MB, more than one answer holds: start an export job \
                     (POST {route}) and download the file it writes",
                    INLINE_BYTES / (1024 * 1024)
                ),
            ));
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    w.into_inner().map_err(csv_error)
}

fn of_checked(of: &ExportOf) -> Result<()> {
    match of {
        ExportOf::Members => Ok(()),
        ExportOf::SystemLog(selection) => selection.check(),
    }
}

/// What an export job was asked for, and where its file goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportInput {
    #[serde(flatten)]
    pub of: ExportOf,
    /// The file's key in the export bucket.
    pub file: String,
}

/// Where an export job is: the next page's cursor and the parts uploaded so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportCheckpoint {
    pub after: Option<String>,
    /// The open multipart upload.
    pub upload: Option<String>,
    /// The ETags of the parts uploaded, part 1 first.
    pub parts: Vec<String>,
}

/// Where an account's export files are (the purge deletes them with the account).
pub fn files_of(a: AccountId) -> String {
    format!("exports/{a}/")
}

/// Start an export job. A system-log export holds no entry written after this moment, so a
/// step done again reads the same entries.
pub async fn create(s: &Services, caller: &Caller, of: ExportOf) -> Result<Job> {
    caller.require(of.permission())?;
    of_checked(&of)?;
    let now = Utc::now();
    let of = match of {
        ExportOf::SystemLog(mut selection) => {
            selection.to = Some(selection.to.map_or(now, |t| t.min(now)));
            ExportOf::SystemLog(selection)
        }
        members => members,
    };
    let a = caller.account_id();
    let id = JobId::new();
    let input = ExportInput { file: format!("{}{id}/{}", files_of(a), of.file_name()), of };
    let value = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
    let mut job = Job::new(Kind::Export, Some(a), value, now);
    job.id = id;
    job.created_by = Some(caller.actor());
    let audit = AuditEntry::new(
        caller.actor(),
        "export.created",
        "job",
        job.id,
        serde_json::json!({ "of": input.of.file_name() }),
    );
    s.store.create_job_logged(&job, &audit).await?;
    Ok(job)
}

/// An export job of the caller's account holding `what` (`members`, `system_log`), or 404.
pub async fn get(s: &Services, caller: &Caller, what: Permission, id: &str) -> Result<(Job, ExportInput)> {
    caller.require(what)?;
    let not_found = || Error::NotFound("export");
    let id = JobId::parse(id).ok_or_else(not_found)?;
    let job = s.store.get_job_of(Some(caller.account_id()), Kind::Export, id).await?.ok_or_else(not_found)?;
    let input: ExportInput = job.input_as()?;
    if job.kind != Kind::Export || input.of.permission() != what {
        return Err(not_found());
    }
    Ok((job, input))
}

/// A fresh link to a finished export's file while it is kept.
pub async fn download(s: &Services, job: &Job, input: &ExportInput) -> Result<Option<(String, DateTime<Utc>)>> {
    let kept = job.finished_at.is_some_and(|at| Utc::now() < at + FILE_KEPT);
    if job.status != crate::jobs::Status::Succeeded || !kept {
        return Ok(None);
    }
    let link = s.files.download_link(&input.file, input.of.file_name(), LINK_VALID).await.map_err(file_error)?;
    let expires = Utc::now() + Duration::from_std(LINK_VALID).unwrap_or_default();
    Ok(Some((link, expires)))
}

fn file_error(e: FileError) -> Error {
    match e {
        FileError::UploadGone => Error::Refused("the file's upload was aborted".into()),
        FileError::Unavailable(m) => Error::Unavailable(m),
    }
}

/// One step of an export job: pages until a part's worth (or the end), uploaded as the next
/// part; at the end the parts become the file. Done again after a crash, a step re-reads the
/// same pages and uploads the same part number, replacing it.
pub async fn step(s: &Services, job: &Job, at: ExportCheckpoint) -> Result<Step<ExportCheckpoint>> {
    let input: ExportInput = job.input_as()?;
    // Whoever started it, as they are now: a member who lost the right stops the export.
    let caller = super::caller::starter(s, job).await?;
    let a = caller.account_id();
    caller.require(input.of.permission())?;
    let upload = match &at.upload {
        Some(u) => u.clone(),
        None => s.files.start_upload(&input.file).await.map_err(file_error)?,
    };
    let roles = roles_for(s, a, &input.of).await?;
    let mut w = writer(&input.of, at.parts.is_empty())?;
    let (mut after, mut rows) = (at.after.clone(), 0);
    let done = loop {
        let (n, next) = page(s, a, &input.of, after.as_deref(), &roles, &mut w).await?;
        rows += n;
        match next {
            None => break true,
            Some(next) => after = Some(next),
        }
        if written(&mut w)? >= PART_MIN {
            break false;
        }
    };
    let bytes = w.into_inner().map_err(csv_error)?;
    let size = bytes.len() as u64;
    let mut parts = at.parts;
    let number = parts.len() as i32 + 1;
    let uploaded = match s.files.upload_part(&input.file, &upload, number, bytes).await {
        Ok(etag) => {
            parts.push(etag);
            true
        }
        // This last step was done once already, up to the file itself.
        Err(FileError::UploadGone) if done && s.files.size(&input.file).await.map_err(file_error)?.is_some() => false,
        Err(e) => return Err(file_error(e)),
    };
    let counts = vec![("rows", rows), ("bytes", size)];
    if !done {
        return Ok(Step::to(Some(ExportCheckpoint { after, upload: Some(upload), parts }), Vec::new(), counts));
    }
    if uploaded {
        match s.files.complete_upload(&input.file, &upload, &parts).await {
            Ok(()) => {}
            Err(FileError::UploadGone) if s.files.size(&input.file).await.map_err(file_error)?.is_some() => {}
            Err(e) => return Err(file_error(e)),
        }
    }
    Ok(Step::to(None, Vec::new(), counts))
}
