use super::views::Memo;
use crate::domain::api_key::ApiKey;
use crate::domain::permissions::Permission;
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service::Caller;
use crate::service::api_keys::{self, NewApiKey};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Permission>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            created_by: k.created_by.to_string(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// Send as `Authorization: Bearer <secret>`. Shown this once; Roster keeps only its hash.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyView>,
}

/// Create an API key scoped to permissions you hold. The secret is in this answer only.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(cmd): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), Problem> {
    let (key, secret) = api_keys::create(&s, &caller, cmd).await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key: (&key).into(), secret })))
}

/// The account's API keys (never their secrets).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    responses((status = 200, body = ApiKeyList), (status = 403, body = Rendered)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<ApiKeyList>, Problem> {
    let keys = api_keys::list(&s, &caller).await?;
    Ok(Json(ApiKeyList { items: keys.iter().map(ApiKeyView::from).collect() }))
}

/// Revoke an API key: it stops working on its next request.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)), request_body = Option<Memo>,
    responses((status = 200, body = ApiKeyView), (status = 404, body = Rendered)))]
pub async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<Json<ApiKeyView>, Problem> {
    Ok(Json((&api_keys::revoke(&s, &caller, &id, body.validated()?).await?).into()))
}
