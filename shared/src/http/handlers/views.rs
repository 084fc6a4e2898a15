//! Response bodies: what clients see of the domain (never password hashes or token hashes).
use crate::domain::locale::Language;
use crate::domain::member::{Member, MemberSource, MemberStatus};
use crate::domain::permissions::OptionalPermission;
use crate::domain::role::RoleRef;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// A basic role's id (`agent`) or a custom role's id.
    #[schema(value_type = String)]
    pub role: RoleRef,
    pub optional_permissions: Vec<OptionalPermission>,
    pub agent_ids: Vec<String>,
    pub groups: Vec<String>,
    /// The member's own switch for automatic assignment.
    pub available: bool,
    pub status: MemberStatus,
    pub source: MemberSource,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        Self {
            id: m.id.to_string(),
            email: m.email.to_string(),
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            role: m.role,
            optional_permissions: m.optional_permissions.clone(),
            agent_ids: m.agent_ids.clone(),
            groups: m.groups.iter().map(ToString::to_string).collect(),
            available: m.available,
            status: m.status,
            source: m.source,
            created_at: m.created_at,
            last_login_at: m.last_login_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub web_address: String,
    pub company_name: String,
    pub language: Language,
    pub time_zone: String,
    /// Whether the owner confirmed their email (until then the account invites at most 20).
    pub email_verified: bool,
}

impl From<&crate::domain::account::Account> for AccountView {
    fn from(a: &crate::domain::account::Account) -> Self {
        Self {
            id: a.id.to_string(),
            web_address: a.web_address.to_string(),
            company_name: a.company_name.clone(),
            language: a.language,
            time_zone: a.time_zone.as_str().to_owned(),
            email_verified: a.email_verified_at.is_some(),
        }
    }
}

/// An optional body with the reason for a change, kept in the system log.
#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Memo {
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

impl Memo {
    /// The trimmed memo; blank is none.
    pub fn validated(self) -> Result<Option<String>, crate::service::Error> {
        let Some(raw) = self.memo else { return Ok(None) };
        let memo = crate::domain::format::MEMO.check("memo", &raw, "must not contain control characters")?;
        Ok((!memo.is_empty()).then(|| memo.to_owned()))
    }
}

/// 202 with the queued job and its `Location` (every background-work route answers so).
pub fn accepted(body: impl serde::Serialize, location: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (axum::http::StatusCode::ACCEPTED, axum::Json(body)).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(location) {
        response.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    response
}

/// A CSV download that is never cached (it lists people and what they did).
pub fn csv_attachment(filename: &str, csv: impl Into<axum::body::Body>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        csv.into(),
    )
        .into_response()
}
