//! The OpenAPI 3.1 document, generated from the handlers' annotations.
use super::handlers::{accounts, api_keys, audit, auth, docs, groups, invitations, members, pages, roles, settings};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Roster", description = "Organization, membership and access management for a support helpdesk."),
    paths(
        accounts::create, accounts::transfer_owner, accounts::change_web_address, accounts::delete, accounts::find_web_address, auth::login, auth::refresh, auth::logout, auth::change_password, auth::request_password_reset, accounts::resend_verification, pages::verify_form, pages::verify_submit, pages::reset_form, pages::reset_submit, members::me, members::list, members::get,
        members::update, members::delete, members::deactivate, members::reactivate, members::stats, members::export,
        members::assign_agent_id, members::release_agent_id,
        invitations::create, invitations::list, invitations::resend, invitations::cancel,
        groups::list, groups::create, groups::get, groups::update, groups::delete, groups::members, groups::leaders,
        groups::assign, groups::assignments, groups::my_availability, groups::member_availability, groups::team,
        roles::list, roles::get, roles::create, roles::update, roles::delete,
        audit::list, audit::export, audit::verify,
        settings::registration, settings::update_registration, settings::preferences, settings::update_preferences,
        settings::design, settings::update_design, settings::upload_image, settings::image,
        api_keys::create, api_keys::list, api_keys::revoke,
        pages::accept_form, pages::accept_submit, docs::openapi,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes::ROUTES;

    #[test]
    fn every_route_is_described_and_nothing_else() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
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
}
