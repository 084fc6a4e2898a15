use super::tx::{Change, Condition, Tx, s};
use super::{Store, StoreError, StoreResult, keys};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, MemberId, SessionId};
use chrono::{DateTime, Utc};
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

/// Guard of a login into an account being deleted.
pub const ACCOUNT_NOT_ACTIVE: &str = "account_not_active";

/// Commit only while the account is active (not being deleted).
pub(crate) fn account_active(tx: &mut Tx, a: crate::domain::ids::AccountId) -> StoreResult<()> {
    tx.check(
        ACCOUNT_NOT_ACTIVE,
        &keys::account(a),
        Condition {
            condition: "#status = :active",
            values: vec![(":active", s("active"))],
            names: vec![("#status", "status")],
        },
    )
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
        account_active(&mut tx, a)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// A new password: the member (if unchanged since read, with every older session cut off)
    /// and the fresh session that replaces the caller's, together.
    pub async fn change_password(
        &self,
        before: &crate::domain::member::Member,
        after: &crate::domain::member::Member,
        session: &Session,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        tx.replace_versioned(super::MEMBER_CHANGED, super::records::member_item(after)?, before.version)?;
        tx.create("session_exists", &keys::session(session.account_id, session.id), session)?;
        tx.audit(session.account_id, audit)?;
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
}
