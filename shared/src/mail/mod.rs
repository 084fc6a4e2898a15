//! Email: per-language templates (Fluent) and sending through SES v2.
pub mod bulk;
pub mod i18n;
pub mod templates;

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

/// A rendered email, ready to send.
#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
#[error("sending mail failed: {0}")]
pub struct MailError(String);

#[derive(Clone)]
pub struct Mailer {
    client: Client,
    from: String,
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| MailError(e.to_string()))
}

impl Mailer {
    pub fn new(client: Client, from: String) -> Self {
        Self { client, from }
    }

    /// Send a notice whose action already happened: it stands whether or not the mail goes
    /// out, so a failure is logged, not returned.
    pub async fn notify(&self, to: &str, mail: &Mail) {
        if let Err(e) = self.send(to, mail).await {
            tracing::warn!(error = %e, subject = %mail.subject, "notice not sent");
        }
    }

    pub async fn send(&self, to: &str, mail: &Mail) -> Result<(), MailError> {
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
            .map_err(|e| MailError(aws_sdk_sesv2::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
