use super::tx::{Change, Tx, n, s};
use super::{Store, StoreError, StoreResult, keys};
use crate::domain::audit::AuditEntry;
use crate::domain::email::Email;
use crate::domain::ids::{AccountId, MemberId, SessionId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A login: holds the hash of its current refresh token, which rotates on every refresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub account_id: AccountId,
    pub member_id: MemberId,
    pub refresh_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ttl: i64,
}

#[derive(Serialize, Deserialize)]
struct LoginFailures {
    count: u32,
    /// Epoch seconds, so the condition below compares numbers.
    window_start: i64,
    ttl: i64,
}

impl Store {
    /// A new session and the member's last-login time, only while the member is active.
    pub async fn create_session(&self, session: &Session, now: DateTime<Utc>, audit: &AuditEntry) -> StoreResult<()> {
        let a = session.account_id;
        let mut tx = Tx::new();
        tx.create("session_exists", &keys::session(a, session.id), session)?;
        tx.update(
            "member_not_active",
            &keys::member(a, session.member_id),
            Change {
                update: "SET last_login_at = :now",
                condition: "#status = :active",
                values: vec![(":now", s(now.to_rfc3339())), (":active", s("active"))],
                names: vec![("#status", "status")],
            },
        )?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    pub async fn get_session(&self, a: AccountId, sid: SessionId) -> StoreResult<Option<Session>> {
        self.get(&keys::session(a, sid)).await
    }

    /// Swap the refresh token's hash; fails with a conflict if `old_hash` is no longer current
    /// (a replayed token, or two refreshes racing).
    pub async fn rotate_refresh(
        &self,
        a: AccountId,
        sid: SessionId,
        old_hash: &str,
        new_hash: &str,
    ) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::session(a, sid).to_item()))
            .update_expression("SET refresh_hash = :new")
            .condition_expression("refresh_hash = :old")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":old", s(old_hash))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Logout, or revocation after a replayed refresh token.
    pub async fn delete_session(&self, a: AccountId, sid: SessionId, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.delete_existing("session_missing", &keys::session(a, sid))?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Failed logins for this email within the current window.
    pub async fn login_failures(
        &self,
        a: AccountId,
        e: &Email,
        window: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let found = self.get::<LoginFailures>(&keys::login_failures(a, e)).await?;
        Ok(found.filter(|f| f.window_start > (now - window).timestamp()).map_or(0, |f| f.count))
    }

    /// Count one failure; a window that has passed starts again at one.
    pub async fn record_login_failure(
        &self,
        a: AccountId,
        e: &Email,
        window: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let key = keys::login_failures(a, e);
        let window_open_since = (now - window).timestamp();
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression("ADD #count :one")
            .condition_expression("window_start > :since")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":since", n(window_open_since))
            .send()
            .await;
        match counted.map_err(StoreError::from_sdk) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => {
                let fresh = LoginFailures { count: 1, window_start: now.timestamp(), ttl: (now + window).timestamp() };
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(super::to_item(&key, &fresh)?))
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
