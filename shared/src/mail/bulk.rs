//! Templated mail through SES v2 `SendBulkEmail`: one stored template per mail and language,
//! up to 50 destinations per call, each with its own data. Errors are told apart by HTTP status
//! (the local stand-in's error bodies are not in the shape the SDK decodes).
use super::{Mail, Mailer};
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{
    BulkEmailContent, BulkEmailEntry, BulkEmailStatus, Destination, EmailTemplateContent, ReplacementEmailContent,
    ReplacementTemplate, Template,
};

/// SES's limit of destinations in one `SendBulkEmail`.
pub const BULK_MAX: usize = 50;

/// A stored template: its name carries a digest of its content, so a changed template is a new
/// one (created on first use) and mail already queued keeps rendering as it was written.
#[derive(Debug, Clone)]
pub struct StoredTemplate {
    pub name: String,
    pub content: Mail,
}

impl StoredTemplate {
    pub fn new(purpose: &str, lang_tag: &str, content: Mail) -> Self {
        let digest = crate::domain::digest::sha256_hex(
            format!("{}\u{0}{}\u{0}{}", content.subject, content.text, content.html).as_bytes(),
        );
        let short = digest.get(..12).unwrap_or(&digest);
        Self { name: format!("roster-{purpose}-{lang_tag}-{short}"), content }
    }
}

/// One destination and the values its copy of the template is filled with.
#[derive(Debug, Clone)]
pub struct Destined {
    pub to: String,
    pub data: serde_json::Value,
}

/// What SES said about one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Refused for this destination (a bad address, say): trying again would not help.
    Rejected(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// SES is down, throttling or unreachable: nothing was sent; try again later.
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
    /// SES refused the request itself (not one destination): trying again would not help.
    #[error("mail service refused the request: {0}")]
    Refused(String),
}

impl Mailer {
    /// Send `template` to each destination (at most `BULK_MAX`): one result per destination, in
    /// order. A template SES does not have yet is stored first.
    pub async fn send_bulk(&self, template: &StoredTemplate, to: &[Destined]) -> Result<Vec<Delivery>, SendError> {
        if to.len() > BULK_MAX {
            return Err(SendError::Refused(format!("at most {BULK_MAX} destinations per call")));
        }
        if to.is_empty() {
            return Ok(Vec::new());
        }
        match self.try_bulk(template, to).await {
            Err(Failure::NoTemplate) => {
                self.store_template(template).await?;
                match self.try_bulk(template, to).await {
                    Err(Failure::NoTemplate) => {
                        Err(SendError::Refused(format!("template {} not found", template.name)))
                    }
                    Err(Failure::Send(e)) => Err(e),
                    Ok(d) => Ok(d),
                }
            }
            Err(Failure::Send(e)) => Err(e),
            Ok(d) => Ok(d),
        }
    }

    async fn try_bulk(&self, template: &StoredTemplate, to: &[Destined]) -> Result<Vec<Delivery>, Failure> {
        let entries = to
            .iter()
            .map(|d| {
                BulkEmailEntry::builder()
                    .destination(Destination::builder().to_addresses(&d.to).build())
                    .replacement_email_content(
                        ReplacementEmailContent::builder()
                            .replacement_template(
                                ReplacementTemplate::builder().replacement_template_data(d.data.to_string()).build(),
                            )
                            .build(),
                    )
                    .build()
            })
            .collect();
        let out = self
            .client
            .send_bulk_email()
            .from_email_address(&self.from)
            .default_content(
                BulkEmailContent::builder()
                    .template(Template::builder().template_name(&template.name).template_data("{}").build())
                    .build(),
            )
            .set_bulk_email_entries(Some(entries))
            .send()
            .await
            .map_err(|e| match status_of(&e) {
                Some(404) => Failure::NoTemplate,
                _ => Failure::Send(classify(e)),
            })?;
        let results = out.bulk_email_entry_results();
        Ok((0..to.len())
            .map(|i| match results.get(i) {
                Some(r) if r.status() == Some(&BulkEmailStatus::Success) => Delivery::Sent,
                Some(r) => Delivery::Rejected(r.error().unwrap_or("refused by the mail service").to_owned()),
                None => Delivery::Rejected("no answer from the mail service for this destination".into()),
            })
            .collect())
    }

    async fn store_template(&self, template: &StoredTemplate) -> Result<(), SendError> {
        let content = EmailTemplateContent::builder()
            .subject(&template.content.subject)
            .text(&template.content.text)
            .html(&template.content.html)
            .build();
        match self.client.create_email_template().template_name(&template.name).template_content(content).send().await {
            Ok(_) => Ok(()),
            // Stored meanwhile by another sender.
            Err(e) if e.code() == Some("AlreadyExistsException") || status_of(&e) == Some(400) && exists(&e) => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

enum Failure {
    NoTemplate,
    Send(SendError),
}

type Response = aws_smithy_runtime_api::http::Response;

fn status_of<E>(e: &SdkError<E, Response>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// Whether a 400 says the template already exists (the stand-in's body names the exception).
fn exists<E>(e: &SdkError<E, Response>) -> bool {
    e.raw_response()
        .and_then(|r| r.body().bytes())
        .is_some_and(|b| String::from_utf8_lossy(b).contains("AlreadyExists"))
}

/// Throttling, server errors and no answer at all are worth retrying; other answers are not.
pub(crate) fn classify<E: std::error::Error + Send + Sync + 'static>(e: SdkError<E, Response>) -> SendError {
    let status = status_of(&e);
    let text = aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string();
    match status {
        Some(429) | Some(500..) | None => SendError::Unavailable(text),
        Some(_) => SendError::Refused(text),
    }
}

/// Fill a template's `{{{name}}}` placeholders as SES does (no escaping: the data carries the
/// escaped values for HTML), to check templates without SES.
#[cfg(test)]
pub fn render(template: &Mail, data: &serde_json::Value) -> Mail {
    let fill = |s: &str| {
        let mut out = s.to_owned();
        if let Some(map) = data.as_object() {
            for (k, v) in map {
                out = out.replace(&format!("{{{{{{{k}}}}}}}"), v.as_str().unwrap_or_default());
            }
        }
        out
    };
    Mail { subject: fill(&template.subject), text: fill(&template.text), html: fill(&template.html) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_template_is_a_new_one() {
        let mail = |s: &str| Mail { subject: s.into(), text: "t".into(), html: "h".into() };
        let (a, b) = (StoredTemplate::new("x", "en", mail("a")), StoredTemplate::new("x", "en", mail("b")));
        assert_ne!(a.name, b.name);
        assert_eq!(a.name, StoredTemplate::new("x", "en", mail("a")).name);
        assert!(a.name.starts_with("roster-x-en-"), "{}", a.name);
    }
}
