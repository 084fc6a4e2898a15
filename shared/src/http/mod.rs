//! What all endpoints share: auth, JSON and problem+json, pagination, the route table, OpenAPI.
//! Handlers are thin: parse → call a service → render.
pub mod auth;
pub mod handlers;
pub mod json;
pub mod openapi;
pub mod problem;
pub mod routes;

use crate::service::Services;
use std::sync::Arc;

pub type AppState = Arc<Services>;

/// Largest request body accepted (JSON and forms); larger answers 413.
pub const BODY_LIMIT: usize = 64 * 1024;
