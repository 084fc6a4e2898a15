use crate::domain::FieldError;
use crate::store::StoreError;

/// What a use case can answer besides success; the HTTP layer maps each to one status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// An API key whose creator is deactivated or deleted: it waits for an admin to re-issue it.
    #[error("the API key's creator is no longer an active member")]
    KeyCreatorInactive,
    #[error("{0}")]
    Forbidden(&'static str),
    /// A re-confirmation (the current password, the web address typed again) did not match:
    /// the credential alone does not allow the act.
    #[error("the confirmation does not match")]
    NotConfirmed(FieldError),
    /// The owner has not confirmed their email and the account's few invitations are used.
    #[error("the owner's email is not verified")]
    EmailNotVerified,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Well-formed ids in the request that name nothing of this account (a group, a member, a
    /// role, a cursor's page): 404 like a path to nothing, with the fields that name them.
    #[error("the request names things this account does not have")]
    Unknown(Vec<FieldError>),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("this account is being deleted")]
    Gone,
    #[error("the resource changed since the version in If-Match")]
    PreconditionFailed,
    /// Too many of something; `retry_after` seconds until it is allowed again.
    #[error("{message}")]
    RateLimited { message: &'static str, retry_after: i64 },
    #[error("a service Roster depends on is unavailable: {0}")]
    Unavailable(String),
    /// A service Roster depends on refused the request for good (a mail address it will not
    /// deliver to, say): background work stops trying.
    #[error("refused: {0}")]
    Refused(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict { code, message: message.into() }
    }

    /// A cursor that was not made for this listing or account (or was edited).
    pub fn invalid_cursor() -> Self {
        Error::unknown("cursor", "unknown_cursor", "this cursor does not name a page of this list; start without one")
    }

    pub fn unknown(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Error::Unknown(vec![FieldError::new(field, code, message)])
    }

    /// Whether background work would meet the same answer if it tried again: the one it acts
    /// for lost the right, or the account is going, or a service refused for good.
    pub fn is_lasting(&self) -> bool {
        matches!(
            self,
            Error::Forbidden(_)
                | Error::KeyCreatorInactive
                | Error::Gone
                | Error::Refused(_)
                | Error::Validation(_)
                | Error::NotFound(_)
        )
    }

    /// The account item changed between the read and the write.
    pub fn account_changed() -> Self {
        Error::conflict("account_changed", "the account changed meanwhile; reload and retry")
    }
}

impl From<FieldError> for Error {
    fn from(error: FieldError) -> Self {
        Error::Validation(vec![error])
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(errors: Vec<FieldError>) -> Self {
        Error::Validation(errors)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => Error::Unavailable(m),
            // A conflict nobody mapped is a lost race on an invariant: ask the client to retry.
            // The guard's name is internal: logged, never shown.
            StoreError::Conflict(guard) => {
                tracing::info!(guard, "unmapped conflict");
                Error::conflict("conflict", "the change conflicted with another one made at the same time; retry")
            }
            other => Error::Internal(other.to_string()),
        }
    }
}
