//! The OpenAPI 3.1 document, generated from the handlers' annotations.
use super::auth::Access;
use super::handlers::{
    accounts, api_keys, audit, auth, custom_fields, directories, docs, exports, groups, invitation_jobs, invitations,
    jobs, members, organizations, pages, roles, settings, usergroups, users,
};
use super::routes::{IDEMPOTENT, ROUTES};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Roster", description = "Organization, membership and access management for a support helpdesk."),
    paths(
        accounts::create, accounts::transfer_owner, accounts::change_web_address, accounts::delete, accounts::find_web_address, auth::login, auth::refresh, auth::logout, auth::change_password, auth::request_password_reset, accounts::resend_verification, pages::verify_form, pages::verify_submit, pages::reset_form, pages::reset_submit, members::me, members::list, members::get,
        members::update, members::delete, members::deactivate, members::reactivate, members::stats, exports::members_csv,
        exports::members_create, exports::members_get, exports::audit_create, exports::audit_get,
        members::assign_agent_id, members::release_agent_id,
        invitations::create, invitations::bulk, invitations::list, invitations::resend, invitations::cancel,
        invitation_jobs::create, invitation_jobs::list, invitation_jobs::get, invitation_jobs::cancel,
        invitation_jobs::results, invitation_jobs::results_csv,
        groups::list, groups::create, groups::get, groups::update, groups::delete, groups::members, groups::leaders,
        groups::assign, groups::assignments, groups::my_availability, groups::member_availability, groups::team,
        organizations::list, organizations::create, organizations::get, organizations::update, organizations::delete,
        organizations::set_parent, organizations::children, organizations::add_domain, organizations::remove_domain,
        organizations::remap, users::import, jobs::get, jobs::results, jobs::cancel,
        users::organization_members, users::set_member, users::remove_member,
        users::list, users::create, users::get, users::update, users::delete, users::can_view_tickets_of,
        usergroups::list, usergroups::create, usergroups::get, usergroups::update, usergroups::delete,
        usergroups::give_organization, usergroups::take_organization, usergroups::give_user, usergroups::take_user,
        usergroups::effective,
        directories::list, directories::create, directories::get, directories::update, directories::delete,
        directories::test, directories::run, directories::runs, directories::run_get, directories::run_results,
        directories::approve, directories::reject,
        custom_fields::list, custom_fields::create, custom_fields::get, custom_fields::update, custom_fields::delete,
        roles::list, roles::get, roles::create, roles::update, roles::delete,
        audit::list, exports::audit_csv, audit::verify,
        settings::registration, settings::update_registration, settings::preferences, settings::update_preferences,
        settings::design, settings::update_design, settings::upload_image, settings::image,
        api_keys::create, api_keys::list, api_keys::revoke,
        pages::accept_form, pages::accept_submit, docs::openapi,
    ),
    modifiers(&BearerAuth, &FromRouteTable),
)]
pub struct ApiDoc;

/// What every route answers besides its own responses, derived from the route table and the
/// shared mechanisms (auth middleware, JSON extractor, problem net, rate limits), so the document
/// cannot drift from them: operation ids are route ids, and every error is problem+json.
struct FromRouteTable;

/// Routes whose answer may be 429 (their own counters, or a login attempt's).
const RATE_LIMITED: &[&str] = &[
    "auth-login",
    "auth-password-reset",
    "account-find-web-address",
    "me-password",
    "invitations-create",
    "invitations-resend",
];

fn problem(description: &str) -> RefOr<Response> {
    let mut r = Response::new(description);
    r.content.insert("application/problem+json".into(), Content::new(Some(Ref::from_schema_name("Problem"))));
    RefOr::T(r)
}

impl Modify for FromRouteTable {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for route in ROUTES {
            let Some(item) = doc.paths.paths.get_mut(route.path) else { continue };
            let op = match route.method {
                "get" => item.get.as_mut(),
                "post" => item.post.as_mut(),
                "put" => item.put.as_mut(),
                "patch" => item.patch.as_mut(),
                "delete" => item.delete.as_mut(),
                _ => None,
            };
            let Some(op) = op else { continue };
            op.operation_id = Some(route.id.to_owned());
            op.security = credentials(route.access);
            let idempotent = IDEMPOTENT.contains(&route.id);
            if idempotent {
                op.parameters.get_or_insert_default().push(field::idempotency_key());
            }
            // The pages a person opens answer HTML, errors included.
            if !route.path.starts_with("/v1/") {
                continue;
            }
            let responses = &mut op.responses.responses;
            for (status, response) in responses.iter_mut() {
                if (status.starts_with('4') || status.starts_with('5'))
                    && let RefOr::T(r) = response
                {
                    r.content.clear();
                    r.content.insert(
                        "application/problem+json".into(),
                        Content::new(Some(Ref::from_schema_name("Problem"))),
                    );
                }
            }
            let has_body = op.request_body.is_some();
            let mut add = |status: &str, why: &str| {
                responses.entry(status.to_owned()).or_insert_with(|| problem(why));
            };
            add("400", "the path or query string could not be read");
            if route.access != Access::Public {
                add("401", "no valid credential");
                add("403", "the credential does not allow this");
                add("410", "the account was deleted or is being deleted");
            }
            if has_body {
                add("413", "the body is too large");
                add("415", "the body is not of the documented type");
                add("422", "the body does not hold valid values for the documented fields");
            }
            let has_query =
                op.parameters.iter().flatten().any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query);
            if route.path.contains('{') {
                add("404", "nothing of this account at this address");
            }
            // Ids in a body or a query (a group, a role, a cursor's page) may name nothing.
            if route.access != Access::Public && (has_body || has_query) {
                add("404", "the request names something this account does not have");
            }
            // Query values are validated like body fields (a `limit` out of range, say).
            if has_query {
                add("422", "a query value is not valid");
            }
            // Any write can lose a race on an invariant (answered 409, retry), besides the
            // conflicts with current state each route names.
            if route.method != "get" && route.access != Access::Public {
                add("409", "the change conflicts with the current state or a concurrent change");
            }
            if idempotent {
                add("409", "the first request with this Idempotency-Key is still running");
                add("422", "this Idempotency-Key was used for another request");
            }
            if RATE_LIMITED.contains(&route.id) {
                add("429", "too many requests; see Retry-After");
            }
        }
    }
}

/// Schemas of Roster's string formats (`#[schema(schema_with = field::…)]` targets), built from
/// `domain::format`, the same patterns and lengths the validators use.
pub mod field {
    use crate::domain::format::{self, Format};
    use utoipa::openapi::extensions::ExtensionsBuilder;
    use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};

    fn string(f: &Format, nullable: bool) -> ObjectBuilder {
        let kind =
            if nullable { SchemaType::from_iter([Type::String, Type::Null]) } else { SchemaType::new(Type::String) };
        ObjectBuilder::new()
            .schema_type(kind)
            .pattern(Some(f.pattern))
            .min_length((f.min_chars > 0).then_some(f.min_chars))
            .max_length(Some(f.max_chars))
    }

    macro_rules! formats {
        ($($name:ident => $format:expr;)*) => {$(
            pub fn $name() -> Object { string(&$format, false).build() }
        )*};
    }

    /// The same, or `null` (each field's description says what `null` does).
    macro_rules! or_null {
        ($($name:ident => $format:expr;)*) => {$(
            pub fn $name() -> Object { string(&$format, true).build() }
        )*};
    }

    formats! {
        name => format::NAME;
        role_name => format::ROLE_NAME;
        company => format::COMPANY;
        description => format::DESCRIPTION;
        reference => format::REFERENCE;
        search => format::SEARCH;
        filter => format::FILTER;
        cursor => format::CURSOR;
        email => format::EMAIL;
        id => format::ID;
        agent_id => format::AGENT_ID;
        role => format::ROLE;
        any_role => format::ANY_ROLE;
        handle => format::HANDLE;
        address => format::ADDRESS;
        summary => format::SUMMARY;
        domain => format::DOMAIN;
    }

    or_null! {
        name_or_null => format::NAME;
        role_name_or_null => format::ROLE_NAME;
        company_or_null => format::COMPANY;
        description_or_null => format::DESCRIPTION;
        memo_or_null => format::MEMO;
        email_or_null => format::EMAIL;
        phone_or_null => format::PHONE;
        image_url_or_null => format::IMAGE_URL;
        id_or_null => format::ID;
        role_or_null => format::ROLE;
        filter_or_null => format::FILTER;
        summary_or_null => format::SUMMARY;
        website_or_null => format::WEBSITE;
        external_id_or_null => format::EXTERNAL_ID;
        phone_or_blank => format::PHONE_OR_BLANK;
    }

    /// The `Idempotency-Key` header of a creating POST.
    pub fn idempotency_key() -> utoipa::openapi::path::Parameter {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        let max = crate::http::idempotency::KEY_MAX;
        let schema = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .pattern(Some(format!("^[!-~]{{1,{max}}}$")))
            .min_length(Some(1))
            .max_length(Some(max));
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(utoipa::openapi::Required::False)
            .description(Some(
                "A fresh key (a UUID) per request: repeating the request with the same key replays the \
                 first answer (header `Idempotent-Replayed: true`) for 24 hours, instead of doing it twice.",
            ))
            .schema(Some(schema))
            .build()
    }

    /// A list of names (groups, as a spreadsheet names them).
    pub fn names() -> utoipa::openapi::schema::Array {
        ArrayBuilder::new().items(string(&format::NAME, false)).build()
    }

    fn at_most(f: &Format, max: usize) -> utoipa::openapi::schema::Array {
        ArrayBuilder::new().items(string(f, false)).max_items(Some(max)).build()
    }

    /// An organization's phone numbers.
    pub fn phones() -> utoipa::openapi::schema::Array {
        at_most(&format::PHONE, crate::domain::organization::MAX_CONTACTS)
    }

    /// Custom field values by field id (any JSON value; the field's kind says which).
    pub fn custom_fields() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
            .property_names(Some(string(&format::ID, false)))
            .build()
    }

    /// A custom field's choices.
    pub fn choices() -> utoipa::openapi::schema::Array {
        at_most(&format::NAME, crate::domain::custom_field::MAX_CHOICES)
    }

    /// The same, or `null` (unchanged).
    pub fn choices_or_null() -> utoipa::openapi::schema::Array {
        let mut a = choices();
        a.min_items = Some(1);
        a.schema_type = SchemaType::from_iter([Type::Array, Type::Null]);
        a
    }

    /// A user's emails, the primary first.
    pub fn user_emails() -> utoipa::openapi::schema::Array {
        let mut a = at_most(&format::EMAIL, crate::domain::user::MAX_EMAILS);
        a.min_items = Some(1);
        a
    }

    /// The same, or `null` (unchanged).
    pub fn user_emails_or_null() -> utoipa::openapi::schema::Array {
        let mut a = user_emails();
        a.schema_type = SchemaType::from_iter([Type::Array, Type::Null]);
        a
    }

    /// An organization's contact addresses.
    pub fn contact_emails() -> utoipa::openapi::schema::Array {
        at_most(&format::EMAIL, crate::domain::organization::MAX_CONTACTS)
    }

    fn ids_at_most(max: usize) -> utoipa::openapi::schema::Array {
        at_most(&format::ID, max)
    }

    /// Members one call adds (or removes).
    pub fn member_changes() -> utoipa::openapi::schema::Array {
        ids_at_most(crate::domain::group::MAX_CHANGES)
    }

    /// A group's leaders.
    pub fn leaders() -> utoipa::openapi::schema::Array {
        ids_at_most(crate::domain::group::MAX_PER_CALL)
    }

    /// The groups an invitation names.
    pub fn invite_groups() -> utoipa::openapi::schema::Array {
        ids_at_most(crate::domain::group::MAX_INVITE_GROUPS)
    }

    /// None of `values` (served as `not: {enum}`, see `document`).
    fn excluding<'a>(b: ObjectBuilder, values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
        let values: Vec<&str> = values.into_iter().collect();
        b.extensions(Some(ExtensionsBuilder::new().add(super::NOT_ONE_OF, values).build()))
    }

    /// A new password: 12–128 characters and none of the common passwords (variants of them
    /// — padded with digits, repeated, other case — are refused too).
    pub fn new_password() -> Object {
        let (min, max) = crate::domain::password::LENGTH;
        let string =
            ObjectBuilder::new().schema_type(SchemaType::new(Type::String)).min_length(Some(min)).max_length(Some(max));
        excluding(string, crate::domain::password::common().filter(|p| p.chars().count() >= min)).build()
    }

    /// A web address: its shape, and none of the reserved names.
    pub fn web_address() -> Object {
        excluding(string(&format::WEB_ADDRESS, false), crate::domain::web_address::RESERVED.iter().copied()).build()
    }

    /// One of `values`, or `null`.
    fn one_of_or_null<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
        let choices: Vec<serde_json::Value> =
            values.into_iter().map(serde_json::Value::from).chain([serde_json::Value::Null]).collect();
        let kind = SchemaType::from_iter([Type::String, Type::Null]);
        ObjectBuilder::new().schema_type(kind).enum_values(Some(choices)).build()
    }

    /// An IANA time zone name (the tz database's names), or `null`.
    pub fn time_zone_or_null() -> Object {
        one_of_or_null(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()))
    }

    pub fn language_or_null() -> Object {
        one_of_or_null(crate::domain::locale::Language::ALL.map(|l| l.tag()))
    }

    pub fn date_format_or_null() -> Object {
        one_of_or_null(crate::domain::locale::DateFormat::NAMES)
    }

    /// An RFC 3339 time, or `null`. The pattern documents the plain form (days up to 28, so every
    /// string it allows is a real date); any RFC 3339 time is read.
    pub fn date_time_or_null() -> Object {
        date_time(SchemaType::from_iter([Type::String, Type::Null]))
    }

    /// An RFC 3339 time (a query parameter's).
    pub fn date_time_param() -> Object {
        date_time(SchemaType::new(Type::String))
    }

    fn date_time(kind: SchemaType) -> Object {
        use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
        let pattern = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-](0\d|1[0-3]):[0-5]\d)$";
        ObjectBuilder::new()
            .schema_type(kind)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .pattern(Some(pattern))
            .build()
    }
}

/// The document as served: utoipa's, with the exclusions utoipa cannot spell (`not`), which
/// the field schemas carry as `x-not-one-of`.
pub fn document() -> serde_json::Value {
    fn exclusions(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(values) = o.remove(NOT_ONE_OF) {
                    o.insert("not".into(), serde_json::json!({ "enum": values }));
                }
                o.values_mut().for_each(exclusions);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(exclusions),
            _ => {}
        }
    }
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    exclusions(&mut doc);
    doc
}

const NOT_ONE_OF: &str = "x-not-one-of";

/// The two credentials: a member's access token (from login) and an API key (`rk_…`), both
/// sent as `Authorization: Bearer`.
const MEMBER: &str = "member";
const API_KEY: &str = "api_key";

/// Which credentials a route takes: members' own routes (and the owner's) need a member's token;
/// a permission can come from either.
fn credentials(access: Access) -> Option<Vec<SecurityRequirement>> {
    let one = |scheme: &str| SecurityRequirement::new(scheme, Vec::<String>::new());
    match access {
        Access::Public => None,
        Access::Member | Access::Owner => Some(vec![one(MEMBER)]),
        Access::Permission(_) => Some(vec![one(API_KEY), one(MEMBER)]),
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut member = Http::new(HttpAuthScheme::Bearer);
        member.bearer_format = Some("JWT".into());
        member.description = Some("A member's access token from /v1/auth/login.".into());
        components.add_security_scheme(MEMBER, SecurityScheme::Http(member));
        let mut key = Http::new(HttpAuthScheme::Bearer);
        key.description = Some("An API key (rk_…) from /v1/api-keys: its scopes, within its creator's role.".into());
        components.add_security_scheme(API_KEY, SecurityScheme::Http(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes::ROUTES;

    #[test]
    fn every_route_is_described_and_nothing_else() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for r in ROUTES {
            assert!(
                paths.get(r.path).and_then(|p| p.get(r.method)).is_some(),
                "{} {} is not in the OpenAPI document",
                r.method,
                r.path
            );
        }
        let described: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(described, ROUTES.len());
    }

    /// Every route is documented as completely as a client (or a fuzzer) needs: its operation id
    /// is its route id (so ids are unique), it has a success answer, a body route its body's
    /// schema, every error answer is problem+json, query parameters are in the query, and every
    /// `$ref` resolves.
    #[test]
    fn every_route_has_schemas_and_its_error_answers() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let text = doc.to_string();
        for name in text.split("\"#/components/schemas/").skip(1).filter_map(|s| s.split('"').next()) {
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method];
            assert_eq!(op["operationId"], r.id);
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{}: no success answer", r.id);
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                assert_eq!(p["in"] == "path", r.path.contains(&format!("{{{name}}}")), "{}: parameter {name}", r.id);
            }
            if !r.path.starts_with("/v1/") {
                continue;
            }
            for (status, answer) in responses {
                if status.starts_with('4') {
                    assert!(
                        answer["content"]["application/problem+json"].is_object(),
                        "{} {status}: not problem+json",
                        r.id
                    );
                }
            }
            if r.access != Access::Public {
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{}", r.id);
            }
            // The credentials a route takes are the route table's, never a handler's guess.
            let schemes: Vec<&str> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|req| req.as_object()?.keys().next().map(String::as_str))
                .collect();
            let expected: &[&str] = match r.access {
                Access::Public => &[],
                Access::Member | Access::Owner => &[MEMBER],
                Access::Permission(_) => &[API_KEY, MEMBER],
            };
            assert_eq!(schemes, expected, "{}", r.id);
            if let Some(body) = op["requestBody"].as_object() {
                assert!(body["content"].as_object().is_some_and(|c| !c.is_empty()), "{}: body without a schema", r.id);
                assert!(responses.contains_key("422") && responses.contains_key("415"), "{}", r.id);
            }
        }
    }
}

#[cfg(test)]
mod date_time_tests {
    #[test]
    fn every_time_the_documented_pattern_allows_is_read() {
        let schema = serde_json::to_value(super::field::date_time_param()).unwrap();
        let pattern = regex_lite::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
        for t in [
            "0000-01-01T00:00:00Z",
            "9999-12-28T23:59:59.123456789+13:59",
            "2000-02-28T00:00:00-13:00",
            "1970-01-01T00:00:00.1Z",
        ] {
            assert!(pattern.is_match(t), "{t}");
            let read: Result<chrono::DateTime<chrono::Utc>, _> = serde_json::from_value(serde_json::json!(t));
            assert!(read.is_ok(), "{t}: {read:?}");
        }
        for t in ["", "2000-02-30T00:00:00Z", "2000-01-01 00:00:00Z", "2000-01-01T24:00:00Z"] {
            assert!(!pattern.is_match(t), "{t}");
        }
    }
}
