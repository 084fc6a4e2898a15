//! What all endpoints share: auth, JSON and problem+json, pagination, the route table, OpenAPI.
//! Handlers are thin: parse → call a service → render.
pub mod auth;
pub mod handlers;
pub mod idempotency;
pub mod json;
pub mod openapi;
pub mod problem;
pub mod routes;

use crate::service::Services;
use std::sync::Arc;

pub type AppState = Arc<Services>;

/// Largest JSON or form body accepted; larger answers 413 problem+json.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the server reads at most before giving up on a request. Larger than `BODY_LIMIT` so an
/// oversized body is read and answered with a clean 413 instead of a reset connection.
pub const TRANSPORT_LIMIT: usize = 6 * 1024 * 1024;

/// Largest invitation-job body (50,000 rows): under Lambda's 6 MB request payload.
pub const JOB_BODY_LIMIT: usize = 5 * 1024 * 1024;
