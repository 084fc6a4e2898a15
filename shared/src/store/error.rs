use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Store failures, kept apart so a failed condition is never confused with throttling.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write failed; names which invariant (see `tx::Guard`).
    #[error("condition failed: {0}")]
    Conflict(&'static str),
    #[error("storage is busy or unavailable: {0}")]
    Unavailable(String),
    #[error("stored item does not match its type: {0}")]
    Corrupt(String),
    /// The change needs more than one transaction holds (100 actions, 4 MB).
    #[error("the change is larger than one transaction")]
    TooLarge,
    #[error("storage request failed: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Whether this is the failure of the condition named `guard`.
    pub fn is_conflict(&self, guard: &str) -> bool {
        matches!(self, StoreError::Conflict(g) if *g == guard)
    }

    pub(crate) fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = err.code().unwrap_or_default().to_owned();
        match code.as_str() {
            "ConditionalCheckFailedException" => StoreError::Conflict("condition"),
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "InternalServerError" => StoreError::Unavailable(code),
            _ => StoreError::Other(format!("{code}: {}", aws_smithy_error_message(&err))),
        }
    }

    /// `from_sdk` for a request with one condition, which names as `guard` when it fails.
    pub(crate) fn guarded<E, R>(guard: &'static str) -> impl FnOnce(SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        move |err| match Self::from_sdk(err) {
            StoreError::Conflict(_) => StoreError::Conflict(guard),
            other => other,
        }
    }

    pub(crate) fn build(err: impl std::fmt::Display) -> Self {
        StoreError::Other(format!("request could not be built: {err}"))
    }
}

fn aws_smithy_error_message<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String {
    match err {
        SdkError::ServiceError(e) => e.err().message().unwrap_or_default().to_owned(),
        other => format!("{:?}", std::mem::discriminant(other)).replace("Discriminant", "transport error"),
    }
}
