//! Process configuration, read once at start. AWS endpoints come from the SDK's own settings
//! (`AWS_ENDPOINT_URL_DYNAMODB`, …), so nothing here knows whether it talks to AWS or the local stack.
use std::env;

#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    /// Base URL of the public API, for links in emails (`https://roster.example.com`).
    pub public_url: String,
    pub mail_from: String,
    /// Secrets Manager id of the signing secret (JWT, cursors).
    pub signing_secret_id: String,
    /// S3 bucket that holds large exports (kept a week by its lifecycle rule).
    pub export_bucket: String,
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let need = |name: &str| env::var(name).map_err(|_| format!("environment variable {name} is not set"));
        Ok(Self {
            table: need("ROSTER_TABLE")?,
            public_url: need("ROSTER_PUBLIC_URL")?.trim_end_matches('/').to_owned(),
            mail_from: need("ROSTER_MAIL_FROM")?,
            signing_secret_id: need("ROSTER_SIGNING_SECRET_ID")?,
            export_bucket: need("ROSTER_EXPORT_BUCKET")?,
        })
    }
}

/// The SDK configuration, loaded once per process with credentials resolved up front so the
/// first request does not pay for the lookup.
pub async fn aws_config() -> aws_config::SdkConfig {
    use aws_credential_types::provider::ProvideCredentials as _;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    if let Some(provider) = config.credentials_provider()
        && let Err(e) = provider.provide_credentials().await
    {
        tracing::warn!(error = %e, "could not resolve AWS credentials at start");
    }
    config
}
