//! The system log (SPEC §8): query and export. Entries are written by every change, in its
//! transaction; nothing here writes.
use super::{Caller, Error, Result, Services};
use crate::domain::FieldError;
use crate::domain::audit::AuditEntry;
use crate::domain::permissions::Permission;
use crate::store::AuditFilter;
use chrono::{DateTime, Utc};

/// The seeds' "system log" view: deletions, blocks (deactivations) and custom-role deletions.
pub const SYSTEM_LOG: &[&str] =
    &["member.deleted", "member.deactivated", "invitation.cancelled", "role.deleted", "group.deleted"];
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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

/// Which entries a listing or an export holds: the query's filters (an export job keeps them).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// RFC 3339; entries at or after.
    #[schema(schema_with = crate::http::openapi::field::date_time_or_null)]
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; entries at or before (an export job holds no entry written after it started).
    #[schema(schema_with = crate::http::openapi::field::date_time_or_null)]
    pub to: Option<DateTime<Utc>>,
    /// The acting member's or API key's id.
    #[schema(schema_with = crate::http::openapi::field::filter_or_null)]
    pub actor: Option<String>,
    /// An exact action (`member.deleted`) or a prefix ending in `.` (`member.`).
    #[schema(schema_with = crate::http::openapi::field::filter_or_null)]
    pub action: Option<String>,
    #[schema(schema_with = crate::http::openapi::field::filter_or_null)]
    pub target_type: Option<String>,
    #[schema(schema_with = crate::http::openapi::field::filter_or_null)]
    pub target_id: Option<String>,
    #[schema(inline)]
    pub category: Option<Category>,
}

impl AuditQuery {
    /// The query's filters, checked with its paging (an export ignores the paging but a bad
    /// value is still refused).
    pub fn selection(&self) -> Result<Selection> {
        let mut errors = Vec::new();
        if !(1..=200).contains(&self.limit.unwrap_or(50)) {
            errors.push(FieldError::new("limit", "invalid", "limit is between 1 and 200"));
        }
        if self.cursor.as_ref().is_some_and(|c| !crate::domain::format::CURSOR.matches(c)) {
            errors.push(FieldError::new("cursor", "invalid", "cursor is a next_cursor this API returned"));
        }
        let selection = Selection {
            from: self.from,
            to: self.to,
            actor: self.actor.clone(),
            action: self.action.clone(),
            target_type: self.target_type.clone(),
            target_id: self.target_id.clone(),
            category: self.category,
        };
        match selection.check() {
            Err(Error::Validation(more)) => errors.extend(more),
            other => other?,
        }
        if errors.is_empty() { Ok(selection) } else { Err(Error::Validation(errors)) }
    }
}

impl Selection {
    pub fn check(&self) -> Result<()> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target_type", &self.target_type),
            ("target_id", &self.target_id),
        ] {
            if value.as_ref().is_some_and(|v| !crate::domain::format::FILTER.matches(v)) {
                errors.push(FieldError::new(
                    field,
                    "invalid",
                    format!("{field} has 1–200 characters, no control characters"),
                ));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(Error::Validation(errors)) }
    }

    /// The store's filter; `None` when `from` is after `to`, so nothing can match.
    pub fn filter(&self) -> Option<AuditFilter> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return None;
        }
        Some(AuditFilter {
            from: self.from,
            to: self.to,
            actor: self.actor.clone(),
            action: self.action.clone(),
            target_type: self.target_type.clone(),
            target_id: self.target_id.clone(),
            actions_in: match self.category {
                Some(Category::SystemLog) => SYSTEM_LOG.to_vec(),
                None => Vec::new(),
            },
        })
    }
}

/// One page, newest first; the cursor is bound to the caller's account.
pub async fn list(s: &Services, caller: &Caller, q: &AuditQuery) -> Result<(Vec<AuditEntry>, Option<String>)> {
    caller.require(Permission::AuditRead)?;
    let filtered = q.selection()?.filter();
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
