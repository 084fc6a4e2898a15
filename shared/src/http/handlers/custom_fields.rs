use super::etag::{if_match, tagged};
use super::members::query;
use super::views::Memo;
use crate::domain::custom_field::{CustomField, FieldKind, FieldTarget};
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service::Caller;
use crate::service::custom_fields::{self, CustomFieldChange, NewCustomField};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct CustomFieldView {
    /// The key of the field's value in an organization's or user's `custom_fields`.
    pub id: String,
    pub target: FieldTarget,
    pub name: String,
    pub kind: FieldKind,
    pub required: bool,
    pub choices: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&CustomField> for CustomFieldView {
    fn from(f: &CustomField) -> Self {
        Self {
            id: f.id.to_string(),
            target: f.target,
            name: f.name.clone(),
            kind: f.kind,
            required: f.required,
            choices: f.choices.clone(),
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

fn view(f: &CustomField) -> Response {
    tagged(CustomFieldView::from(f), f.version)
}

#[derive(Serialize, ToSchema)]
pub struct CustomFieldList {
    pub items: Vec<CustomFieldView>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the fields of organizations, or of users.
    pub target: Option<FieldTarget>,
}

/// The account's custom fields, oldest first.
#[utoipa::path(get, path = "/v1/custom-fields", tag = "custom-fields", params(ListQuery),
    responses((status = 200, body = CustomFieldList)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<CustomFieldList>, Problem> {
    let q: ListQuery = query(q)?;
    let fields = custom_fields::list(&s, &caller, q.target).await?;
    Ok(Json(CustomFieldList { items: fields.iter().map(CustomFieldView::from).collect() }))
}

/// Define a field of organizations or users (name unique per target, ignoring case).
#[utoipa::path(post, path = "/v1/custom-fields", tag = "custom-fields", request_body = NewCustomField,
    responses((status = 201, body = CustomFieldView), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewCustomField>,
) -> Result<(StatusCode, Response), Problem> {
    Ok((StatusCode::CREATED, view(&custom_fields::create(&s, &caller, new).await?)))
}

#[utoipa::path(get, path = "/v1/custom-fields/{id}", tag = "custom-fields", params(("id" = String, Path)),
    responses((status = 200, body = CustomFieldView)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(view(&custom_fields::get(&s, &caller, &id).await?))
}

/// Rename, require or not, replace the choices (`If-Match`: 412 when stale).
#[utoipa::path(patch, path = "/v1/custom-fields/{id}", tag = "custom-fields", params(("id" = String, Path)),
    request_body = CustomFieldChange,
    responses((status = 200, body = CustomFieldView), (status = 409, body = Rendered), (status = 412, body = Rendered)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut change): ApiJson<CustomFieldChange>,
) -> Result<Response, Problem> {
    change.memo = Memo { memo: change.memo }.validated()?;
    Ok(view(&custom_fields::update(&s, &caller, &id, change, if_match(&headers)?).await?))
}

/// Delete a field; its values go with it.
#[utoipa::path(delete, path = "/v1/custom-fields/{id}", tag = "custom-fields", params(("id" = String, Path)),
    request_body = Option<Memo>, responses((status = 204)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<StatusCode, Problem> {
    custom_fields::delete(&s, &caller, &id, body.validated()?).await?;
    Ok(StatusCode::NO_CONTENT)
}
