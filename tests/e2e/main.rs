//! End-to-end tests: real HTTP against the local API, which runs on the local stack (moto,
//! aws-ses-v2-local). One test binary, a module per feature. Run with `bash infra/test.sh`.
mod agent_ids;
mod api_keys;
mod api_surface;
mod audit;
mod audit_coverage;
mod authorization;
mod bad_input;
mod concurrency;
mod deletion;
mod edges;
mod groups;
mod invitations;
mod isolation;
mod journey;
mod listing;
mod members;
mod ownership;
mod roles;
mod sealing;
mod sessions;
mod settings;
mod stats;
mod template;
mod verification;
mod web_address;
