//! Email: per-language templates (Fluent) and sending through SES v2.
pub mod bulk;
pub mod i18n;
pub mod templates;

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use bulk::SendError;

/// A rendered email, ready to send (an outbox entry may hold it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The SES client: one attempt per call. The outbox retries a mail that did not go (30 s, 1, 2,
/// 4 minutes), so the SDK's own retries would only hold a request up and race the outbox.
pub fn ses_client(sdk: &aws_config::SdkConfig) -> Client {
    let retry = aws_config::retry::RetryConfig::standard().with_max_attempts(1);
    Client::from_conf(aws_sdk_sesv2::config::Builder::from(sdk).retry_config(retry).build())
}

#[derive(Clone)]
pub struct Mailer {
    client: Client,
    from: String,
}

fn utf8(data: &str) -> Result<Content, SendError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| SendError::Refused(e.to_string()))
}

impl Mailer {
    pub fn new(client: Client, from: String) -> Self {
        Self { client, from }
    }

    /// Send one mail; SES's errors told apart by HTTP status, as for bulk mail.
    pub async fn send(&self, to: &str, mail: &Mail) -> Result<(), SendError> {
        let message = Message::builder()
            .subject(utf8(&mail.subject)?)
            .body(Body::builder().text(utf8(&mail.text)?).html(utf8(&mail.html)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(bulk::classify)?;
        Ok(())
    }
}
