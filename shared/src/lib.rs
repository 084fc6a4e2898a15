//! Roster's domain crate. Data flows request → `http` → `service` → `store` / `mail`;
//! `domain` holds the pure rules every layer shares.
pub mod config;
pub mod directory;
pub mod domain;
pub mod files;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod service;
pub mod store;

/// Logs as JSON lines (CloudWatch-friendly); level from `RUST_LOG`, default `info`.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_target(false).without_time().try_init();
}
