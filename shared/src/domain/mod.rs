//! Entities, value types and rules. Pure: no I/O, no AWS types, no async.
pub mod account;
pub mod agent_id;
pub mod api_key;
pub mod audit;
pub mod bulk;
pub mod digest;
pub mod email;
pub mod email_domain;
pub mod errors;
pub mod format;
pub mod group;
pub mod ids;
pub mod invitation;
pub mod link;
pub mod locale;
pub mod member;
pub mod organization;
pub mod password;
pub mod permissions;
pub mod rate_limit;
pub mod role;
pub mod seal;
pub mod settings;
pub mod text;
pub mod user;
pub mod web_address;

pub use errors::{FieldError, FieldErrors};
