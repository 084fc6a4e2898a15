//! Who may call what: each route declares its `Access` next to its path, and this one
//! middleware enforces it against the caller's current role, read fresh on every request.
use super::AppState;
use super::problem::Problem;
use crate::domain::permissions::Permission;
use crate::domain::role::RoleRef;
use crate::service::{Caller, Error, auth};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials (sign-up, login, the accept page, the API description).
    Public,
    /// Any active member of the account (not an API key).
    Member,
    /// A member whose role grants this permission.
    Permission(Permission),
    /// The account owner only (ownership transfer, account deletion).
    Owner,
}

pub async fn authorize(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let access = req.extensions().get::<Access>().copied().unwrap_or(Access::Member);
    if access == Access::Public {
        return next.run(req).await;
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(bearer) = bearer else {
        return Error::Unauthenticated("send an access token: Authorization: Bearer <token>").into_response();
    };
    let caller = match auth::authenticate(&s, bearer).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let allowed = match access {
        Access::Permission(p) => caller.require(p),
        Access::Member if caller.member().is_none() => {
            Err(Error::Forbidden("this needs a member's login, not an API key"))
        }
        Access::Owner if caller.member().is_none_or(|m| m.role != RoleRef::OWNER) => {
            Err(Error::Forbidden("only the account owner can do this"))
        }
        _ => Ok(()),
    };
    if let Err(e) = allowed {
        return e.into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        // Present whenever the route is not public; absent means a route-table mistake.
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| Error::Internal("route has no caller".into()).into())
    }
}
