//! Local-stack helpers shared by the local API server and the benchmarks.
pub mod bench;

/// Create the table (from the same definition `template.yaml` is checked against), the
/// signing secret and the export bucket in the local stand-ins, unless they exist.
pub async fn init_stack() -> Result<(), String> {
    let config = roster::config::Config::from_env()?;
    let sdk = roster::config::aws_config().await;
    roster::store::schema::ensure_table(&aws_sdk_dynamodb::Client::new(&sdk), &config.table).await?;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    if secrets.describe_secret().secret_id(&config.signing_secret_id).send().await.is_err() {
        let value = format!("{}{}", roster::service::secrets::random_token(), roster::service::secrets::random_token());
        secrets.create_secret().name(&config.signing_secret_id).secret_string(value).send().await.map_err(|e| {
            format!("creating the signing secret: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e))
        })?;
    }
    roster::files::Files::new(&sdk, config.export_bucket.clone()).ensure_bucket().await
}
