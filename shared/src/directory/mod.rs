//! The directory engine (SPEC §6): reaching an LDAP server safely (Roster's own TLS, a guard that
//! lets no malformed answer reach ldap3, timeouts on everything) behind a small port, so the sync
//! logic is tested with a fake as well as against real servers.
pub mod ber;
mod guard;
mod ldap;
mod port;
mod sessions;

pub use ldap::{LdapDirectory, Target, Timeouts};
pub use port::{Directory, Page, Query};
pub use sessions::{Cursor, Sessions};

/// What went wrong talking to a directory, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot reach the directory server: {0}")]
    Unreachable(String),
    #[error("TLS with the directory server failed: {0}")]
    Tls(String),
    #[error("the directory refused the bind: {0}")]
    Bind(String),
    #[error("the directory answered with an error: {0}")]
    Ldap(String),
    #[error("the directory server sent a malformed answer: {0}")]
    Malformed(String),
    #[error("the directory server did not answer within {0} seconds")]
    Timeout(u64),
}
