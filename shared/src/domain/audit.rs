//! System-log entries (SPEC §8): written in the same transaction as the change they describe.
use super::ids::{ApiKeyId, AuditId, JobId, MemberId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    Member {
        #[schema(value_type = String)]
        id: MemberId,
        name: String,
    },
    ApiKey {
        #[schema(value_type = String)]
        id: ApiKeyId,
        name: String,
    },
    /// Background work someone started (a job; later a directory-sync run or a SCIM client),
    /// acting with that person's authority as it is when each change is made.
    Job {
        #[schema(value_type = String)]
        id: JobId,
        /// What the job does (`invite_rows`).
        job_kind: String,
        /// The member or API key that started it.
        #[schema(no_recursion)]
        on_behalf_of: Box<Actor>,
    },
    System,
}

impl Actor {
    /// The one it names (`kind`, id, name): for a job, the job itself.
    pub fn parts(&self) -> (&'static str, String, String) {
        match self {
            Actor::Member { id, name } => ("member", id.to_string(), name.clone()),
            Actor::ApiKey { id, name } => ("api_key", id.to_string(), name.clone()),
            Actor::Job { id, job_kind, .. } => ("job", id.to_string(), job_kind.clone()),
            Actor::System => ("system", String::new(), String::new()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// `noun.verb`, e.g. `account.created`, `invitation.accepted`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// What the target looked like after the change (never secrets).
    #[serde(default, with = "super::json_text")]
    pub content: serde_json::Value,
    /// The reason the processor gave, where they gave one.
    pub memo: Option<String>,
}

impl AuditEntry {
    pub fn new(
        actor: Actor,
        action: &str,
        target_type: &str,
        target_id: impl ToString,
        content: serde_json::Value,
    ) -> Self {
        Self {
            id: AuditId::new(),
            at: Utc::now(),
            actor,
            action: action.to_owned(),
            target_type: target_type.to_owned(),
            target_id: target_id.to_string(),
            content,
            memo: None,
        }
    }
}
