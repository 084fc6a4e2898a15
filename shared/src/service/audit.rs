//! The system log (SPEC §8): query and export. Entries are written by every change, in its
//! transaction; nothing here writes.
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;
use crate::domain::audit::AuditEntry;
use crate::domain::member::csv_safe;
use crate::domain::permissions::Permission;
use crate::store::AuditFilter;
use chrono::{DateTime, Utc};

/// The seeds' "system log" view: deletions, blocks (deactivations) and custom-role deletions.
pub const SYSTEM_LOG: &[&str] =
    &["member.deleted", "member.deactivated", "invitation.cancelled", "role.deleted", "group.deleted"];
/// Entries one export holds at most.
pub const EXPORT_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    SystemLog,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// RFC 3339; entries at or after.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; entries at or before.
    pub to: Option<DateTime<Utc>>,
    /// The acting member's or API key's id.
    #[param(schema_with = crate::http::openapi::field::filter)]
    pub actor: Option<String>,
    /// An exact action (`member.deleted`) or a prefix ending in `.` (`member.`).
    #[param(schema_with = crate::http::openapi::field::filter)]
    pub action: Option<String>,
    #[param(schema_with = crate::http::openapi::field::filter)]
    pub target_type: Option<String>,
    #[param(schema_with = crate::http::openapi::field::filter)]
    pub target_id: Option<String>,
    #[param(inline)]
    pub category: Option<Category>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}

/// The store's filter; `None` when `from` is after `to`, so nothing can match.
fn filter(q: &AuditQuery) -> Result<Option<AuditFilter>> {
    let mut errors = Vec::new();
    for (field, value) in
        [("actor", &q.actor), ("action", &q.action), ("target_type", &q.target_type), ("target_id", &q.target_id)]
    {
        if value.as_ref().is_some_and(|v| !crate::domain::format::FILTER.matches(v)) {
            errors.push(FieldError::new(
                field,
                "invalid",
                format!("{field} has 1–200 characters, no control characters"),
            ));
        }
    }
    // Validated for the export too, which reads every entry and ignores them.
    if !(1..=200).contains(&q.limit.unwrap_or(50)) {
        errors.push(FieldError::new("limit", "invalid", "limit is between 1 and 200"));
    }
    if q.cursor.as_ref().is_some_and(|c| !crate::domain::format::CURSOR.matches(c)) {
        errors.push(FieldError::new("cursor", "invalid", "cursor is a next_cursor this API returned"));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Ok(None);
    }
    Ok(Some(AuditFilter {
        from: q.from,
        to: q.to,
        actor: q.actor.clone(),
        action: q.action.clone(),
        target_type: q.target_type.clone(),
        target_id: q.target_id.clone(),
        actions_in: match q.category {
            Some(Category::SystemLog) => SYSTEM_LOG.to_vec(),
            None => Vec::new(),
        },
    }))
}

/// One page, newest first; the cursor is bound to the caller's account.
pub async fn list(s: &Services, caller: &Caller, q: &AuditQuery) -> Result<(Vec<AuditEntry>, Option<String>)> {
    caller.require(Permission::AuditRead)?;
    let filtered = filter(q)?;
    let limit = q.limit.unwrap_or(50);
    let before = match &q.cursor {
        None => None,
        Some(c) => Some(
            s.keys
                .open_cursor(caller.account_id(), c)
                .filter(|p| p.starts_with(crate::store::keys::AUDIT_PREFIX))
                .ok_or_else(Error::invalid_cursor)?,
        ),
    };
    let Some(f) = filtered else { return Ok((Vec::new(), None)) };
    let (entries, last) = s.store.query_audit(caller.account_id(), &f, before, limit as usize).await?;
    Ok((entries, last.map(|sk| s.keys.sign_cursor(caller.account_id(), &sk))))
}

/// Every matching entry (newest first, at most 100,000) as CSV, formula cells neutralized.
pub async fn export_csv(s: &Services, caller: &Caller, q: &AuditQuery) -> Result<String> {
    caller.require(Permission::AuditRead)?;
    let f = filter(q)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Internal(e.to_string());
    w.write_record([
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
    ])
    .map_err(fail)?;
    let (mut before, mut written) = (None, 0);
    while let Some(f) = &f {
        let (entries, last) = s.store.query_audit(caller.account_id(), f, before, 1000).await?;
        for e in &entries {
            let (kind, id, name) = e.actor.parts();
            w.write_record([
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
            ])
            .map_err(fail)?;
        }
        written += entries.len();
        match last {
            Some(l) if written < EXPORT_MAX => before = Some(l),
            _ => break,
        }
    }
    String::from_utf8(w.into_inner().map_err(|e| Error::Internal(e.to_string()))?)
        .map_err(|e| Error::Internal(e.to_string()))
}
