//! One-time links (email verification, password reset): a global item per link, created and
//! consumed inside the transactions that send and use them. Using a link deletes it under a
//! condition on its purpose and expiry, so it works once and never late.
use super::tx::{Change, Condition, Tx, n, s};
use super::{Store, StoreResult, keys};
use crate::domain::account::Account;
use crate::domain::audit::AuditEntry;
use crate::domain::link::{Link, LinkPurpose};
use crate::domain::member::Member;
use crate::jobs::Job;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A link's item: the link, kept a day past its expiry by TTL (clean-up only).
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    link: Link,
    ttl: i64,
}

/// Guard of a link that is gone, used, expired or meant for something else.
const LINK_UNUSABLE: &str = "link_unusable";

fn purpose(p: LinkPurpose) -> String {
    serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Create the link (the token is fresh, so it never collides).
pub(crate) fn put_link(tx: &mut Tx, token_hash: &str, link: &Link) -> StoreResult<()> {
    tx.create("link_exists", &keys::link(token_hash), &Stored { link: link.clone(), ttl: link.expires_at + 86_400 })
}

/// Use the link: it goes, only if it is still there, for this purpose, and not expired.
fn consume(tx: &mut Tx, token_hash: &str, p: LinkPurpose, now: DateTime<Utc>) -> StoreResult<()> {
    tx.delete_where(
        LINK_UNUSABLE,
        &keys::link(token_hash),
        Condition {
            condition: "purpose = :p AND expires_at > :now",
            values: vec![(":p", s(purpose(p))), (":now", n(now.timestamp()))],
            names: vec![],
        },
    )
}

impl Store {
    pub async fn get_link(&self, token_hash: &str) -> StoreResult<Option<Link>> {
        Ok(self.get::<Stored>(&keys::link(token_hash)).await?.map(|st| st.link))
    }

    /// A new verification link for the account's owner; the previous one stops working.
    pub async fn renew_verification(
        &self,
        account: &Account,
        token_hash: &str,
        link: &Link,
        audit: &AuditEntry,
        mail: &Job,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        super::jobs::new_job_in(&mut tx, mail)?;
        if let Some(old) = &account.verification_link {
            tx.delete(&keys::link(old))?;
        }
        put_link(&mut tx, token_hash, link)?;
        tx.update(
            super::ACCOUNT_CHANGED,
            &keys::account(account.id),
            Change {
                update: "SET verification_link = :h",
                // An unset option is stored as NULL, so "not verified" is absent or NULL.
                condition: "attribute_exists(#pk) AND (attribute_not_exists(email_verified_at) \
                            OR attribute_type(email_verified_at, :null))",
                values: vec![(":h", s(token_hash)), (":null", s("NULL"))],
                names: vec![("#pk", keys::PK)],
            },
        )?;
        tx.audit(account.id, audit)?;
        tx.commit(self).await
    }

    /// The owner's email is confirmed: the link goes, the account records when.
    pub async fn verify_email(
        &self,
        account: &Account,
        token_hash: &str,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        consume(&mut tx, token_hash, LinkPurpose::VerifyEmail, now)?;
        tx.update(
            super::ACCOUNT_CHANGED,
            &keys::account(account.id),
            Change {
                update: "SET email_verified_at = :now, #version = #version + :one REMOVE verification_link",
                condition: "#status = :active",
                values: vec![(":now", s(now.to_rfc3339())), (":one", n(1)), (":active", s("active"))],
                names: vec![("#status", "status"), ("#version", "version")],
            },
        )?;
        tx.audit(account.id, audit)?;
        tx.commit(self).await
    }

    /// A password-reset link for an active member; an earlier one stops working. The member's
    /// version does not move: asking for a link is not an edit (and anyone can ask).
    pub async fn request_reset(
        &self,
        member: &Member,
        token_hash: &str,
        link: &Link,
        audit: &AuditEntry,
        mail: &Job,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        super::jobs::new_job_in(&mut tx, mail)?;
        if let Some(old) = &member.reset_link {
            tx.delete(&keys::link(old))?;
        }
        put_link(&mut tx, token_hash, link)?;
        tx.update(
            super::MEMBER_CHANGED,
            &keys::member(member.account_id, member.id),
            Change {
                update: "SET reset_link = :h",
                condition: "#status = :active",
                values: vec![(":h", s(token_hash)), (":active", s("active"))],
                names: vec![("#status", "status")],
            },
        )?;
        tx.audit(member.account_id, audit)?;
        tx.commit(self).await
    }

    /// The new password: the link goes, the member (unchanged since read) gets the password
    /// and every session before now ends, while the account is active.
    pub async fn reset_password(
        &self,
        account: &Account,
        before: &Member,
        after: &Member,
        token_hash: &str,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        consume(&mut tx, token_hash, LinkPurpose::ResetPassword, now)?;
        tx.replace_versioned(super::MEMBER_CHANGED, super::records::member_item(after)?, before.version)?;
        super::sessions::account_active(&mut tx, account.id)?;
        tx.audit(account.id, audit)?;
        tx.commit(self).await
    }
}
