use super::etag::{if_match, tagged};
use super::members::query;
use super::views::Memo;
use crate::domain::organization::{Organization, SocialNetwork};
use crate::domain::user::Remap;
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service::Caller;
use crate::service::organizations::{self, NewOrganization, NewParent, OrganizationChange, Reparent};
use crate::service::remap;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SocialView {
    pub network: SocialNetwork,
    pub handle: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub social: Vec<SocialView>,
    pub website: Option<String>,
    pub address: String,
}

#[derive(Serialize, ToSchema)]
pub struct DomainView {
    /// As stored and matched: ASCII, lower case (IDNA for other scripts).
    pub domain: String,
    /// As people read it (`bücher.example`).
    pub display: String,
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: String,
    pub name: String,
    pub summary: String,
    pub contact: ContactView,
    pub parent_id: Option<String>,
    /// Every ancestor, the top-level organization first and the parent last.
    pub ancestors: Vec<String>,
    /// Number of child organizations.
    pub children: u64,
    /// Number of end users who belong to it.
    pub members: u64,
    pub domains: Vec<DomainView>,
    /// Usergroups every member gets.
    pub usergroups: Vec<String>,
    /// Values of the account's organization fields, by field id.
    #[schema(value_type = Object)]
    pub custom_fields: crate::domain::custom_field::Values,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Organization> for OrganizationView {
    fn from(o: &Organization) -> Self {
        let c = &o.contact;
        Self {
            id: o.id.to_string(),
            name: o.name.clone(),
            summary: o.summary.clone(),
            contact: ContactView {
                phones: c.phones.clone(),
                emails: c.emails.iter().map(ToString::to_string).collect(),
                social: c.social.iter().map(|x| SocialView { network: x.network, handle: x.handle.clone() }).collect(),
                website: c.website.clone(),
                address: c.address.clone(),
            },
            parent_id: o.parent.map(|p| p.to_string()),
            ancestors: o.lineage.iter().map(ToString::to_string).collect(),
            children: o.children,
            members: o.members,
            domains: o.domains.iter().map(|d| DomainView { domain: d.to_string(), display: d.unicode() }).collect(),
            usergroups: o.usergroups.iter().map(ToString::to_string).collect(),
            custom_fields: o.custom_fields.clone(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

fn view(o: &Organization) -> Response {
    tagged(OrganizationView::from(o), o.version)
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationList {
    pub items: Vec<OrganizationView>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<organizations::Page> for OrganizationList {
    fn from(p: organizations::Page) -> Self {
        Self { items: p.items.iter().map(OrganizationView::from).collect(), next_cursor: p.next_cursor }
    }
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
    /// Prefix of the name (case-insensitive, spaces as one).
    #[param(schema_with = crate::http::openapi::field::search)]
    pub q: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Where the children go: an organization's id, or `root` to make them top level. Without
    /// it an organization with children is not deleted (409).
    #[param(pattern = "^(?:root|[0-9a-fA-F]{32})$")]
    pub reparent_to: Option<String>,
    /// Delete it even though people belong to it: a job (202, `GET /v1/jobs/{id}`) takes them
    /// out of it (they stay, with their other organizations), then deletes it. Without it an
    /// organization with members is not deleted (409).
    pub remove_members: Option<bool>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DomainPath {
    pub id: String,
    /// The domain (`acme.com`); domains in other scripts (`bücher.example`) are read too.
    #[param(schema_with = crate::http::openapi::field::domain)]
    pub domain: String,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DomainQuery {
    /// Claim a public mail domain (gmail.com, outlook.com, …) all the same.
    pub force: Option<bool>,
}

/// The account's organizations by name.
#[utoipa::path(get, path = "/v1/organizations", tag = "organizations", params(ListQuery),
    responses((status = 200, body = OrganizationList)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<OrganizationList>, Problem> {
    let q: ListQuery = query(q)?;
    Ok(Json(organizations::list(&s, &caller, q.q.as_deref(), q.limit, q.cursor.as_deref()).await?.into()))
}

/// Create an organization (name unique in the account, ignoring case), optionally under a parent.
#[utoipa::path(post, path = "/v1/organizations", tag = "organizations", request_body = NewOrganization,
    responses((status = 201, body = OrganizationView), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewOrganization>,
) -> Result<(StatusCode, Response), Problem> {
    Ok((StatusCode::CREATED, view(&organizations::create(&s, &caller, new).await?)))
}

/// One organization (`ETag` for its settings).
#[utoipa::path(get, path = "/v1/organizations/{id}", tag = "organizations", params(("id" = String, Path)),
    responses((status = 200, body = OrganizationView)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(view(&organizations::get(&s, &caller, &id).await?))
}

/// Rename, summarize, replace the contact information (`If-Match`: 412 when stale).
#[utoipa::path(patch, path = "/v1/organizations/{id}", tag = "organizations", params(("id" = String, Path)),
    request_body = OrganizationChange,
    responses((status = 200, body = OrganizationView), (status = 409, body = Rendered), (status = 412, body = Rendered)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut change): ApiJson<OrganizationChange>,
) -> Result<Response, Problem> {
    change.memo = Memo { memo: change.memo }.validated()?;
    Ok(view(&organizations::update(&s, &caller, &id, change, if_match(&headers)?).await?))
}

/// Delete an organization. With children it is refused unless `reparent_to` says where they go
/// (they move with their whole subtrees); with members, unless `remove_members=true` (then a job
/// does it: 202).
#[utoipa::path(delete, path = "/v1/organizations/{id}", tag = "organizations", params(("id" = String, Path), DeleteQuery),
    request_body = Option<Memo>,
    responses((status = 204), (status = 202, body = super::jobs::JobView), (status = 409, body = Rendered)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<Response, Problem> {
    use axum::response::IntoResponse;
    let q: DeleteQuery = query(q)?;
    let to = match q.reparent_to {
        None => Reparent::Refuse,
        Some(r) if r == "root" => Reparent::Root,
        Some(id) => Reparent::To(id),
    };
    match organizations::delete(&s, &caller, &id, to, body.validated()?, q.remove_members.unwrap_or(false)).await? {
        organizations::Deleted::Now => Ok(StatusCode::NO_CONTENT.into_response()),
        organizations::Deleted::Later(job) => Ok(super::jobs::started(&job)),
    }
}

/// Move an organization, with its subtree, under another one, or to the top (`null`). Cycles and
/// more than 10 levels are refused.
#[utoipa::path(put, path = "/v1/organizations/{id}/parent", tag = "organizations", params(("id" = String, Path)),
    request_body = NewParent,
    responses((status = 200, body = OrganizationView), (status = 409, body = Rendered), (status = 412, body = Rendered)))]
pub async fn set_parent(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(new): ApiJson<NewParent>,
) -> Result<Response, Problem> {
    Ok(view(&organizations::set_parent(&s, &caller, &id, new, if_match(&headers)?).await?))
}

/// An organization's children, oldest first.
#[utoipa::path(get, path = "/v1/organizations/{id}/children", tag = "organizations",
    params(("id" = String, Path), PageQuery), responses((status = 200, body = OrganizationList)))]
pub async fn children(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<OrganizationList>, Problem> {
    let q: PageQuery = query(q)?;
    Ok(Json(organizations::children(&s, &caller, &id, q.limit, q.cursor.as_deref()).await?.into()))
}

/// Claim an email domain: people whose address is at it (or below it, unless a more specific
/// domain is claimed) are linked to this organization. One organization per domain.
#[utoipa::path(put, path = "/v1/organizations/{id}/domains/{domain}", tag = "organizations",
    params(DomainPath, DomainQuery),
    responses((status = 200, body = OrganizationView), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn add_domain(
    State(s): State<AppState>,
    caller: Caller,
    Path(p): Path<DomainPath>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let q: DomainQuery = query(q)?;
    Ok(view(&organizations::add_domain(&s, &caller, &p.id, &p.domain, q.force.unwrap_or(false)).await?))
}

/// Release an email domain.
#[utoipa::path(delete, path = "/v1/organizations/{id}/domains/{domain}", tag = "organizations",
    params(DomainPath),
    responses((status = 200, body = OrganizationView)))]
pub async fn remove_domain(
    State(s): State<AppState>,
    caller: Caller,
    Path(p): Path<DomainPath>,
) -> Result<Response, Problem> {
    Ok(view(&organizations::remove_domain(&s, &caller, &p.id, &p.domain).await?))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RemapQuery {
    /// List who would change (a page at a time) instead of changing them.
    pub preview: Option<bool>,
    /// With `preview`: people of the domain read per page, 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RemapChange {
    pub change: Remap,
    pub user: super::users::UserView,
}

#[derive(Serialize, ToSchema)]
pub struct RemapPreview {
    pub items: Vec<RemapChange>,
    /// Absent on the last page; a page may list fewer people than it read (or none).
    pub next_cursor: Option<String>,
}

/// Re-map a domain's people to this organization, as if each were new: those whose primary
/// email the domain now links here join it (linked by domain); those it linked here before and
/// no longer does (the domain was removed, or a more specific one went elsewhere) leave it.
/// People linked by hand are never unlinked. `preview=true` lists the changes (200); without it
/// the re-map runs as a job (202, `GET /v1/jobs/{id}`) that ends with a summary in the system log.
#[utoipa::path(post, path = "/v1/organizations/{id}/domains/{domain}/remap", tag = "organizations",
    params(DomainPath, RemapQuery),
    responses((status = 200, body = RemapPreview), (status = 202, body = super::jobs::JobView), (status = 422, body = Rendered)))]
pub async fn remap(
    State(s): State<AppState>,
    caller: Caller,
    Path(p): Path<DomainPath>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    use axum::response::IntoResponse;
    let q: RemapQuery = query(q)?;
    crate::service::paging::limit(q.limit)?;
    if !q.preview.unwrap_or(false) {
        if q.cursor.is_some() {
            // Only a preview has pages.
            return Err(crate::service::Error::invalid_cursor().into());
        }
        return Ok(super::jobs::started(&remap::start(&s, &caller, &p.id, &p.domain).await?));
    }
    let (planned, next_cursor) = remap::preview(&s, &caller, &p.id, &p.domain, q.limit, q.cursor.as_deref()).await?;
    let items = planned.iter().map(|x| RemapChange { change: x.change, user: (&x.user).into() }).collect();
    Ok(Json(RemapPreview { items, next_cursor }).into_response())
}
