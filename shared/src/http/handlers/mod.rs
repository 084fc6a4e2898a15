//! Endpoint handlers, one module per resource.
pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod docs;
mod etag;
pub mod exports;
pub mod groups;
pub mod invitation_jobs;
pub mod invitations;
pub mod members;
pub mod organizations;
pub mod pages;
pub mod roles;
pub mod settings;
pub mod usergroups;
pub mod users;
pub mod views;
