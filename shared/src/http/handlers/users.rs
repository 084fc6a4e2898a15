use super::etag::{if_match, tagged};
use super::members::query;
use super::views::Memo;
use crate::domain::user::{LinkedBy, OrganizationRole, User, UserSource};
use crate::domain::user_import::{self, COLUMNS, JOB_MAX, Outcome};
use crate::http::AppState;
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::problem::{Problem, Rendered};
use crate::service;
use crate::service::Caller;
use crate::service::user_import::{Imported, RowResult};
use crate::service::users::{self, MembershipChange, NewUser, UserChange, UserFilter, Visibility};
use crate::store::OrgMember;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct MembershipView {
    pub organization_id: String,
    pub role: OrganizationRole,
    /// `hand` (a person linked them) or `domain` (their email's domain did).
    pub linked_by: LinkedBy,
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub name: String,
    /// The primary first.
    pub emails: Vec<String>,
    pub phone: Option<String>,
    pub source: UserSource,
    pub external_id: Option<String>,
    /// The primary organization first.
    pub organizations: Vec<MembershipView>,
    /// Usergroups given to the user directly (`GET /v1/users/{id}/usergroups`: all they hold).
    pub usergroups: Vec<String>,
    /// Values of the account's user fields, by field id.
    #[schema(value_type = Object)]
    pub custom_fields: crate::domain::custom_field::Values,
    /// `false` while their directory says they are gone or disabled.
    pub active: bool,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            name: u.name.clone(),
            emails: u.emails.iter().map(ToString::to_string).collect(),
            phone: u.phone.clone(),
            source: u.source,
            external_id: u.external_id.clone(),
            organizations: u
                .memberships
                .iter()
                .map(|m| MembershipView {
                    organization_id: m.organization.to_string(),
                    role: m.role,
                    linked_by: m.linked_by,
                })
                .collect(),
            usergroups: u.usergroups.iter().map(ToString::to_string).collect(),
            custom_fields: u.custom_fields.clone(),
            active: u.deactivated_at.is_none(),
            deactivated_at: u.deactivated_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

fn view(u: &User) -> Response {
    tagged(UserView::from(u), u.version)
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    /// Absent on the last page. A page may hold fewer items than `limit` (filters apply to
    /// what was read) and still have a next one.
    pub next_cursor: Option<String>,
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
    /// Prefix of the name (case-insensitive).
    #[param(schema_with = crate::http::openapi::field::search)]
    pub q: Option<String>,
    /// Prefix of any of the user's emails (with `q` too: those whose name also starts so).
    #[param(schema_with = crate::http::openapi::field::search)]
    pub email: Option<String>,
    /// An organization's id: its people.
    #[param(schema_with = crate::http::openapi::field::id)]
    pub organization: Option<String>,
    /// With `organization`: the people of its descendants too.
    pub descendants: Option<bool>,
    pub source: Option<UserSource>,
}

/// The account's end users: all (oldest first), by name or email prefix, or an organization's.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(ListQuery), responses((status = 200, body = UserList)))]
pub async fn list(State(s): State<AppState>, caller: Caller, RawQuery(q): RawQuery) -> Result<Json<UserList>, Problem> {
    let q: ListQuery = query(q)?;
    let filter = UserFilter {
        q: q.q,
        email: q.email,
        organization: q.organization,
        descendants: q.descendants.unwrap_or(false),
        source: q.source,
    };
    let page = users::list(&s, &caller, filter, q.limit, q.cursor.as_deref()).await?;
    Ok(Json(UserList { items: page.items.iter().map(UserView::from).collect(), next_cursor: page.next_cursor }))
}

/// Create an end user. Their primary email's domain links them to the organization that claims
/// it (the most specific domain).
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 409, body = Rendered), (status = 422, body = Rendered)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Response), Problem> {
    Ok((StatusCode::CREATED, view(&users::create(&s, &caller, new, UserSource::Manual).await?)))
}

/// One end user (`ETag` for `If-Match`).
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserView)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(view(&users::get(&s, &caller, &id).await?))
}

/// Edit name, emails, phone (`If-Match`: 412 when stale).
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UserChange,
    responses((status = 200, body = UserView), (status = 409, body = Rendered), (status = 412, body = Rendered)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut change): ApiJson<UserChange>,
) -> Result<Response, Problem> {
    change.memo = Memo { memo: change.memo }.validated()?;
    Ok(view(&users::update(&s, &caller, &id, change, if_match(&headers)?).await?))
}

/// Delete an end user; their memberships go with them.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = Option<Memo>,
    responses((status = 204)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<Memo>,
) -> Result<StatusCode, Problem> {
    users::delete(&s, &caller, &id, body.validated()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// May the first user see the second's tickets? Yes for the same person, and for a manager of
/// an organization the other belongs to (or, with the account's `managers_see_child_organizations`
/// preference, of one of its ancestors).
#[utoipa::path(get, path = "/v1/users/{id}/can-view-tickets-of/{other_id}", tag = "users",
    params(("id" = String, Path), ("other_id" = String, Path)), responses((status = 200, body = Visibility)))]
pub async fn can_view_tickets_of(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, other)): Path<(String, String)>,
) -> Result<Json<Visibility>, Problem> {
    Ok(Json(users::can_view_tickets_of(&s, &caller, &id, &other).await?))
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationMemberView {
    pub role: OrganizationRole,
    pub linked_by: LinkedBy,
    pub user: UserView,
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationMemberList {
    pub items: Vec<OrganizationMemberView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
    #[param(schema_with = crate::http::openapi::field::cursor)]
    pub cursor: Option<String>,
    /// Only managers, or only members.
    pub role: Option<OrganizationRole>,
}

/// An organization's people, managers first.
#[utoipa::path(get, path = "/v1/organizations/{id}/members", tag = "organizations",
    params(("id" = String, Path), MembersQuery), responses((status = 200, body = OrganizationMemberList)))]
pub async fn organization_members(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<OrganizationMemberList>, Problem> {
    let q: MembersQuery = query(q)?;
    let (pairs, next_cursor) =
        users::organization_members(&s, &caller, &id, q.role, q.limit, q.cursor.as_deref()).await?;
    let items = pairs
        .iter()
        .map(|(m, u): &(OrgMember, User)| OrganizationMemberView {
            role: m.role,
            linked_by: m.linked_by,
            user: u.into(),
        })
        .collect();
    Ok(Json(OrganizationMemberList { items, next_cursor }))
}

/// Add an end user to an organization, or change their role in it (`primary`: make it their
/// primary organization).
#[utoipa::path(put, path = "/v1/organizations/{id}/members/{user_id}", tag = "organizations",
    params(("id" = String, Path), ("user_id" = String, Path)), request_body = MembershipChange,
    responses((status = 200, body = UserView)))]
pub async fn set_member(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(change): ApiJson<MembershipChange>,
) -> Result<Response, Problem> {
    Ok(view(&users::set_membership(&s, &caller, &id, &user_id, change).await?))
}

/// Remove an end user from an organization.
#[utoipa::path(delete, path = "/v1/organizations/{id}/members/{user_id}", tag = "organizations",
    params(("id" = String, Path), ("user_id" = String, Path)), responses((status = 200, body = UserView)))]
pub async fn remove_member(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(view(&users::remove_membership(&s, &caller, &id, &user_id).await?))
}

/// An import spreadsheet, as documented: the header in its plain form (`name,email`, then any of
/// the optional columns in this order), then up to 50,000 lines.
pub struct ImportCsv;

impl utoipa::PartialSchema for ImportCsv {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let optional: String = COLUMNS.all[2..].iter().map(|c| format!("(?:,{c})?")).collect();
        let csv = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .pattern(Some(format!("^name,email{optional}(?:\\r?\\n[^\\r\\n]*){{0,{JOB_MAX}}}$")))
            .max_length(Some(crate::http::JOB_BODY_LIMIT / 4));
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(csv.build()))
    }
}

impl ToSchema for ImportCsv {}

#[derive(Serialize, Default, ToSchema)]
pub struct ImportSummary {
    pub created: usize,
    pub skipped_existing: usize,
    pub skipped_duplicate_row: usize,
    pub invalid: usize,
}

#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    pub summary: ImportSummary,
    /// One per row, in the order of the file.
    pub rows: Vec<RowResult>,
}

/// Import end users from a CSV file (`text/csv`: UTF-8, a header with `name,email` and any of
/// `other_emails` (`;`-separated), `phone`, `external_id`, `organization` (a name or an id) and
/// `organization_role` (`member` or `manager`)). Each row is created exactly like a single user —
/// linked by its email's domain too — and gets an outcome: `created`, `skipped_existing`,
/// `skipped_duplicate_row` or `invalid` (with the reason and its line). Up to 100 rows are
/// answered at once (200); more (up to 50,000), or any with `run_at`, become a job (202,
/// `GET /v1/jobs/{id}`).
#[utoipa::path(post, path = "/v1/users/import", tag = "users", params(super::invitation_jobs::CreateQuery),
    request_body(content((ImportCsv = "text/csv"))),
    responses((status = 200, body = ImportResult), (status = 202, body = super::jobs::JobView),
        (status = 413, body = Rendered), (status = 415, body = Rendered), (status = 422, body = Rendered)))]
pub async fn import(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    use axum::response::IntoResponse;
    let q: super::invitation_jobs::CreateQuery = query(q)?;
    let body = super::invitations::csv_body(&headers, &body, crate::http::JOB_BODY_LIMIT)?;
    let sheet = user_import::parse_csv(body).map_err(|crate::domain::bulk::NotCsv(why)| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "not_csv", format!("the body is not the expected CSV: {why}"))
    })?;
    match service::user_import::import(&s, &caller, sheet, q.run_at).await? {
        Imported::Job(job) => Ok(super::jobs::started(&job)),
        Imported::Inline(rows) => {
            let mut summary = ImportSummary::default();
            for r in &rows {
                *match r.outcome {
                    Outcome::Created => &mut summary.created,
                    Outcome::SkippedExisting => &mut summary.skipped_existing,
                    Outcome::SkippedDuplicateRow => &mut summary.skipped_duplicate_row,
                    Outcome::Invalid => &mut summary.invalid,
                } += 1;
            }
            Ok(Json(ImportResult { summary, rows }).into_response())
        }
    }
}
