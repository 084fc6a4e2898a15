//! The route table: the single source of truth for paths, methods, handlers and who may call
//! them. The local server mounts all of it; a Lambda function mounts the one route it is named
//! after; a test checks the templates (`template.yaml` and its nested `stacks/`) declare exactly these routes.
use super::auth::{Access, authorize};
use super::handlers::{
    accounts, api_keys, audit, auth, custom_fields, directories, docs, exports, groups, invitation_jobs, invitations,
    jobs, members, organizations, pages, roles, settings, usergroups, users,
};
use super::idempotency::{RouteId, idempotent};
use super::problem::{method_not_allowed, not_found, problem_for_every_error};
use super::{AppState, TRANSPORT_LIMIT};
use crate::domain::permissions::Permission;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension};
use axum::middleware::from_fn_with_state;
use axum::routing::MethodRouter;

#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The function's name: `_HANDLER` in Lambda, its `Handler` in `infra/template/functions.yaml`.
    pub id: &'static str,
    /// Lower-case HTTP method.
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

macro_rules! route_table {
    ($( $id:literal : $method:ident $path:literal => $handler:path, $access:expr; )*) => {
        pub const ROUTES: &[Route] = &[$( Route { id: $id, method: stringify!($method), path: $path, access: $access } ),*];

        fn method_router(id: &str) -> Option<MethodRouter<AppState>> {
            match id {
                $( $id => Some(axum::routing::$method($handler)), )*
                _ => None,
            }
        }
    };
}

use Access::{Member, Public};
use Permission as P;

route_table! {
    "accounts-create":         post "/v1/accounts"        => accounts::create,       Public;
    "account-web-address":     put  "/v1/account/web-address" => accounts::change_web_address, Access::Owner;
    "account-find-web-address": post "/v1/account/find-web-address" => accounts::find_web_address, Public;
    "account-delete":          delete "/v1/account"       => accounts::delete,       Access::Owner;
    "account-owner-transfer":  post "/v1/account/owner"   => accounts::transfer_owner, Access::Owner;
    "settings-registration-get":    get   "/v1/account/registration" => settings::registration, Access::Permission(P::SettingsRead);
    "settings-registration-update": patch "/v1/account/registration" => settings::update_registration, Access::Permission(P::SettingsManage);
    "settings-preferences-get":     get   "/v1/account/preferences"  => settings::preferences, Member;
    "settings-preferences-update":  patch "/v1/account/preferences"  => settings::update_preferences, Access::Permission(P::SettingsManage);
    "settings-design-get":          get   "/v1/account/design"       => settings::design, Member;
    "settings-design-update":       patch "/v1/account/design"       => settings::update_design, Access::Permission(P::SettingsManage);
    "settings-image-upload":        put   "/v1/account/design/{image}" => settings::upload_image, Access::Permission(P::SettingsManage);
    "settings-image-get":           get   "/v1/account/design/{image}" => settings::image, Member;
    "auth-login":              post "/v1/auth/login"      => auth::login,            Public;
    "auth-refresh":            post "/v1/auth/refresh"    => auth::refresh,          Public;
    "auth-logout":             post "/v1/auth/logout"     => auth::logout,           Member;
    "auth-password-reset":     post "/v1/auth/password-reset" => auth::request_password_reset, Public;
    "account-verification-resend": post "/v1/account/verification" => accounts::resend_verification, Access::Owner;
    "me-get":                  get  "/v1/me"              => members::me,            Member;
    "me-password":             post "/v1/me/password"     => auth::change_password,  Member;
    "members-list":            get  "/v1/members"         => members::list,          Access::Permission(P::MembersRead);
    "members-get":             get  "/v1/members/{id}"    => members::get,           Access::Permission(P::MembersRead);
    "members-update":          patch "/v1/members/{id}"   => members::update,        Access::Permission(P::MembersManage);
    "members-delete":          delete "/v1/members/{id}"  => members::delete,        Access::Permission(P::MembersManage);
    "members-deactivate":      post "/v1/members/{id}/deactivate" => members::deactivate, Access::Permission(P::MembersManage);
    "members-reactivate":      post "/v1/members/{id}/reactivate" => members::reactivate, Access::Permission(P::MembersManage);
    "members-agent-id-assign":  put "/v1/members/{id}/agent-ids/{agent_id}" => members::assign_agent_id, Access::Permission(P::MembersManage);
    "members-agent-id-release": delete "/v1/members/{id}/agent-ids/{agent_id}" => members::release_agent_id, Access::Permission(P::MembersManage);
    "members-stats":           get  "/v1/members/stats"   => members::stats,         Access::Permission(P::MembersRead);
    "members-export":          get  "/v1/members/export.csv" => exports::members_csv, Access::Permission(P::MembersManage);
    "members-exports-create":  post "/v1/members/exports" => exports::members_create, Access::Permission(P::MembersManage);
    "members-exports-get":     get  "/v1/members/exports/{id}" => exports::members_get, Access::Permission(P::MembersManage);
    "invitations-create":      post "/v1/invitations"     => invitations::create,    Access::Permission(P::InvitationsManage);
    "invitations-bulk":        post "/v1/invitations/bulk" => invitations::bulk,     Access::Permission(P::InvitationsManage);
    "invitations-list":        get  "/v1/invitations"     => invitations::list,      Access::Permission(P::InvitationsManage);
    "invitations-resend":      post "/v1/invitations/{member_id}/resend" => invitations::resend, Access::Permission(P::InvitationsManage);
    "invitations-cancel":      delete "/v1/invitations/{member_id}" => invitations::cancel, Access::Permission(P::InvitationsManage);
    "invitation-jobs-create":  post "/v1/invitation-jobs" => invitation_jobs::create, Access::Permission(P::InvitationsManage);
    "invitation-jobs-list":    get  "/v1/invitation-jobs" => invitation_jobs::list,   Access::Permission(P::InvitationsManage);
    "invitation-jobs-get":     get  "/v1/invitation-jobs/{id}" => invitation_jobs::get, Access::Permission(P::InvitationsManage);
    "invitation-jobs-cancel":  post "/v1/invitation-jobs/{id}/cancel" => invitation_jobs::cancel, Access::Permission(P::InvitationsManage);
    "invitation-jobs-results": get  "/v1/invitation-jobs/{id}/results" => invitation_jobs::results, Access::Permission(P::InvitationsManage);
    "invitation-jobs-results-csv": get "/v1/invitation-jobs/{id}/results.csv" => invitation_jobs::results_csv, Access::Permission(P::InvitationsManage);
    "roles-list":              get  "/v1/roles"           => roles::list,            Access::Permission(P::RolesRead);
    "roles-get":               get  "/v1/roles/{id}"      => roles::get,             Access::Permission(P::RolesRead);
    "roles-create":            post "/v1/roles"           => roles::create,          Access::Permission(P::RolesManage);
    "roles-update":            patch "/v1/roles/{id}"     => roles::update,          Access::Permission(P::RolesManage);
    "roles-delete":            delete "/v1/roles/{id}"    => roles::delete,          Access::Permission(P::RolesManage);
    "groups-list":             get  "/v1/groups"          => groups::list,           Access::Permission(P::GroupsRead);
    "groups-create":           post "/v1/groups"          => groups::create,         Access::Permission(P::GroupsManage);
    "groups-get":              get  "/v1/groups/{id}"     => groups::get,            Access::Permission(P::GroupsRead);
    "groups-update":           patch "/v1/groups/{id}"    => groups::update,         Access::Permission(P::GroupsManage);
    "groups-delete":           delete "/v1/groups/{id}"   => groups::delete,         Access::Permission(P::GroupsManage);
    "groups-members":          post "/v1/groups/{id}/members" => groups::members,    Access::Permission(P::GroupsManage);
    "groups-leaders":          put  "/v1/groups/{id}/leaders" => groups::leaders,    Access::Permission(P::GroupsManage);
    "groups-assign":           post "/v1/groups/{id}/assignments" => groups::assign, Access::Permission(P::AssignmentsCreate);
    "groups-assignments":      get  "/v1/groups/{id}/assignments" => groups::assignments, Access::Permission(P::GroupsRead);
    "me-availability":         put  "/v1/me/availability" => groups::my_availability, Member;
    "me-team":                 get  "/v1/me/team"         => groups::team,           Member;
    "members-availability":    put  "/v1/members/{id}/availability" => groups::member_availability, Access::Permission(P::GroupsManage);
    "organizations-list":      get  "/v1/organizations"   => organizations::list,    Access::Permission(P::OrganizationsRead);
    "organizations-create":    post "/v1/organizations"   => organizations::create,  Access::Permission(P::OrganizationsManage);
    "organizations-get":       get  "/v1/organizations/{id}" => organizations::get,  Access::Permission(P::OrganizationsRead);
    "organizations-update":    patch "/v1/organizations/{id}" => organizations::update, Access::Permission(P::OrganizationsManage);
    "organizations-delete":    delete "/v1/organizations/{id}" => organizations::delete, Access::Permission(P::OrganizationsManage);
    "organizations-parent":    put  "/v1/organizations/{id}/parent" => organizations::set_parent, Access::Permission(P::OrganizationsManage);
    "organizations-children":  get  "/v1/organizations/{id}/children" => organizations::children, Access::Permission(P::OrganizationsRead);
    "organizations-domain-add": put "/v1/organizations/{id}/domains/{domain}" => organizations::add_domain, Access::Permission(P::OrganizationsManage);
    "organizations-domain-remap": post "/v1/organizations/{id}/domains/{domain}/remap" => organizations::remap, Access::Permission(P::OrganizationsManage);
    "organizations-domain-remove": delete "/v1/organizations/{id}/domains/{domain}" => organizations::remove_domain, Access::Permission(P::OrganizationsManage);
    "organizations-members":   get  "/v1/organizations/{id}/members" => users::organization_members, Access::Permission(P::UsersRead);
    "organizations-member-set": put "/v1/organizations/{id}/members/{user_id}" => users::set_member, Access::Permission(P::UsersManage);
    "organizations-member-remove": delete "/v1/organizations/{id}/members/{user_id}" => users::remove_member, Access::Permission(P::UsersManage);
    "users-list":              get  "/v1/users"           => users::list,            Access::Permission(P::UsersRead);
    "users-create":            post "/v1/users"           => users::create,          Access::Permission(P::UsersManage);
    "users-import":            post "/v1/users/import"    => users::import,          Access::Permission(P::UsersManage);
    "users-get":               get  "/v1/users/{id}"      => users::get,             Access::Permission(P::UsersRead);
    "users-update":            patch "/v1/users/{id}"     => users::update,          Access::Permission(P::UsersManage);
    "users-delete":            delete "/v1/users/{id}"    => users::delete,          Access::Permission(P::UsersManage);
    "users-can-view-tickets":  get  "/v1/users/{id}/can-view-tickets-of/{other_id}" => users::can_view_tickets_of, Access::Permission(P::UsersRead);
    "usergroups-list":         get  "/v1/usergroups"      => usergroups::list,       Access::Permission(P::UsersRead);
    "usergroups-create":       post "/v1/usergroups"      => usergroups::create,     Access::Permission(P::UsersManage);
    "usergroups-get":          get  "/v1/usergroups/{id}" => usergroups::get,        Access::Permission(P::UsersRead);
    "usergroups-update":       patch "/v1/usergroups/{id}" => usergroups::update,    Access::Permission(P::UsersManage);
    "usergroups-delete":       delete "/v1/usergroups/{id}" => usergroups::delete,   Access::Permission(P::UsersManage);
    "organizations-usergroup-give": put "/v1/organizations/{id}/usergroups/{usergroup_id}" => usergroups::give_organization, Access::Permission(P::OrganizationsManage);
    "organizations-usergroup-take": delete "/v1/organizations/{id}/usergroups/{usergroup_id}" => usergroups::take_organization, Access::Permission(P::OrganizationsManage);
    "users-usergroup-give":    put  "/v1/users/{id}/usergroups/{usergroup_id}" => usergroups::give_user, Access::Permission(P::UsersManage);
    "users-usergroup-take":    delete "/v1/users/{id}/usergroups/{usergroup_id}" => usergroups::take_user, Access::Permission(P::UsersManage);
    "users-usergroups":        get  "/v1/users/{id}/usergroups" => usergroups::effective, Access::Permission(P::UsersRead);
    "jobs-get":                get  "/v1/jobs/{id}"       => jobs::get,              Access::Permission(P::UsersRead);
    "jobs-results":            get  "/v1/jobs/{id}/results" => jobs::results,       Access::Permission(P::UsersRead);
    "jobs-cancel":             post "/v1/jobs/{id}/cancel" => jobs::cancel,         Access::Permission(P::UsersRead);
    "custom-fields-list":      get  "/v1/custom-fields"   => custom_fields::list,    Access::Permission(P::SettingsRead);
    "custom-fields-create":    post "/v1/custom-fields"   => custom_fields::create,  Access::Permission(P::SettingsManage);
    "custom-fields-get":       get  "/v1/custom-fields/{id}" => custom_fields::get,  Access::Permission(P::SettingsRead);
    "custom-fields-update":    patch "/v1/custom-fields/{id}" => custom_fields::update, Access::Permission(P::SettingsManage);
    "custom-fields-delete":    delete "/v1/custom-fields/{id}" => custom_fields::delete, Access::Permission(P::SettingsManage);
    "directories-list":        get  "/v1/directories"     => directories::list,      Access::Permission(P::DirectoryManage);
    "directories-create":      post "/v1/directories"     => directories::create,    Access::Permission(P::DirectoryManage);
    "directories-get":         get  "/v1/directories/{id}" => directories::get,      Access::Permission(P::DirectoryManage);
    "directories-update":      patch "/v1/directories/{id}" => directories::update,  Access::Permission(P::DirectoryManage);
    "directories-delete":      delete "/v1/directories/{id}" => directories::delete, Access::Permission(P::DirectoryManage);
    "directories-test":        post "/v1/directories/{id}/test" => directories::test, Access::Permission(P::DirectoryManage);
    "directories-run":         post "/v1/directories/{id}/runs" => directories::run, Access::Permission(P::DirectoryManage);
    "directories-runs":        get  "/v1/directories/{id}/runs" => directories::runs, Access::Permission(P::DirectoryManage);
    "directories-run-get":     get  "/v1/directories/{id}/runs/{run}" => directories::run_get, Access::Permission(P::DirectoryManage);
    "directories-run-results": get  "/v1/directories/{id}/runs/{run}/results" => directories::run_results, Access::Permission(P::DirectoryManage);
    "directories-run-approve": post "/v1/directories/{id}/runs/{run}/approve" => directories::approve, Access::Permission(P::DirectoryManage);
    "directories-run-reject":  post "/v1/directories/{id}/runs/{run}/reject" => directories::reject, Access::Permission(P::DirectoryManage);
    "audit-list":              get  "/v1/audit"           => audit::list,            Access::Permission(P::AuditRead);
    "audit-verify":            get  "/v1/audit/verify"    => audit::verify,          Access::Permission(P::AuditRead);
    "audit-export":            get  "/v1/audit/export.csv" => exports::audit_csv,    Access::Permission(P::AuditRead);
    "audit-exports-create":    post "/v1/audit/exports"   => exports::audit_create,  Access::Permission(P::AuditRead);
    "audit-exports-get":       get  "/v1/audit/exports/{id}" => exports::audit_get,  Access::Permission(P::AuditRead);
    "api-keys-create":         post "/v1/api-keys"        => api_keys::create,       Access::Permission(P::ApiKeysManage);
    "api-keys-list":           get  "/v1/api-keys"        => api_keys::list,         Access::Permission(P::ApiKeysManage);
    "api-keys-revoke":         delete "/v1/api-keys/{id}" => api_keys::revoke,       Access::Permission(P::ApiKeysManage);
    "invitations-accept-form": get  "/invitations/accept" => pages::accept_form,     Public;
    "invitations-accept":      post "/invitations/accept" => pages::accept_submit,   Public;
    "account-verify-form":     get  "/account/verify"     => pages::verify_form,     Public;
    "account-verify":          post "/account/verify"     => pages::verify_submit,   Public;
    "password-reset-form":     get  "/password-reset"     => pages::reset_form,      Public;
    "password-reset":          post "/password-reset"     => pages::reset_submit,    Public;
    "openapi":                 get  "/openapi.json"       => docs::openapi,          Public;
}

/// The creating POSTs that honour `Idempotency-Key` (`http/idempotency.rs`).
pub const IDEMPOTENT: &[&str] = &[
    "accounts-create",
    "invitations-create",
    "invitations-bulk",
    "invitation-jobs-create",
    "members-exports-create",
    "audit-exports-create",
    "roles-create",
    "groups-create",
    "groups-assign",
    "organizations-create",
    "users-create",
    "users-import",
    "organizations-domain-remap",
    "usergroups-create",
    "custom-fields-create",
    "directories-create",
    "api-keys-create",
];

pub fn find(id: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.id == id)
}

/// The router for every route (`only = None`) or for one function.
pub fn router(state: AppState, only: Option<&str>) -> Router {
    let mut app = Router::new();
    for route in ROUTES.iter().filter(|r| only.is_none_or(|id| id == r.id)) {
        let Some(handler) = method_router(route.id) else {
            continue;
        };
        // Innermost first: idempotency (which needs the caller), then the access rule's check,
        // then what the outer layers record (the route's id and access rule).
        let handler = if IDEMPOTENT.contains(&route.id) {
            handler.route_layer(from_fn_with_state(state.clone(), idempotent))
        } else {
            handler
        };
        let handler = handler
            .route_layer(from_fn_with_state(state.clone(), authorize))
            .route_layer(Extension(route.access))
            .route_layer(Extension(RouteId(route.id)));
        app = app.route(route.path, handler);
    }
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(TRANSPORT_LIMIT))
        .layer(axum::middleware::map_response(problem_for_every_error))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_ids_are_unique_and_every_route_has_a_handler() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert!(ROUTES.iter().skip(i + 1).all(|o| o.id != r.id), "duplicate id {}", r.id);
            assert!(
                ROUTES.iter().skip(i + 1).all(|o| (o.method, o.path) != (r.method, r.path)),
                "duplicate route {}",
                r.id
            );
            assert!(method_router(r.id).is_some());
        }
    }

    #[test]
    fn only_the_documented_public_routes_skip_authentication() {
        let public: Vec<_> = ROUTES.iter().filter(|r| r.access == Access::Public).map(|r| r.id).collect();
        assert_eq!(
            public,
            [
                "accounts-create",
                "account-find-web-address",
                "auth-login",
                "auth-refresh",
                "auth-password-reset",
                "invitations-accept-form",
                "invitations-accept",
                "account-verify-form",
                "account-verify",
                "password-reset-form",
                "password-reset",
                "openapi"
            ]
        );
    }
}
