use super::accounts::{EMAIL_TAKEN, EmailClaim};
use super::tx::{Change, Tx, n, s};
use super::{Store, StoreResult, from_item, keys, take_item};
use crate::domain::account::Account;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::invitation::Invitation;
use crate::domain::member::Member;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Global item: token hash → invitation. Kept past expiry so an old link gets a clear page.
#[derive(Serialize, Deserialize)]
struct TokenRef {
    account_id: AccountId,
    member_id: MemberId,
    ttl: i64,
}

/// How long after expiry a link still explains itself before it is simply unknown.
const TOKEN_REF_GRACE_DAYS: i64 = 30;

pub struct InvitationByToken {
    pub account: Account,
    pub member: Member,
    pub invitation: Invitation,
}

impl Store {
    /// A new member in `invited` state, the invitation, the token lookup and the audit entry.
    /// Fails with `EMAIL_TAKEN` when anyone in the account already has that email.
    pub async fn create_invitation(
        &self,
        member: &Member,
        invitation: &Invitation,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let a = member.account_id;
        let ttl = (invitation.expires_at + Duration::days(TOKEN_REF_GRACE_DAYS)).timestamp();
        let mut tx = Tx::new();
        tx.create(EMAIL_TAKEN, &keys::member_email(a, &member.email), &EmailClaim { member_id: member.id })?;
        tx.create("member_exists", &keys::member(a, member.id), member)?;
        tx.create("invitation_exists", &keys::invitation(a, member.id), invitation)?;
        tx.create(
            "token_exists",
            &keys::invitation_token(&invitation.token_hash),
            &TokenRef { account_id: a, member_id: member.id, ttl },
        )?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Everything the accept page needs: two round trips, no scan.
    pub async fn invitation_by_token(&self, token_hash: &str) -> StoreResult<Option<InvitationByToken>> {
        let Some(r) = self.get::<TokenRef>(&keys::invitation_token(token_hash)).await? else {
            return Ok(None);
        };
        let (ka, km, ki) = (
            keys::account(r.account_id),
            keys::member(r.account_id, r.member_id),
            keys::invitation(r.account_id, r.member_id),
        );
        let mut items = self.batch_get(&[&ka, &km, &ki]).await?;
        let found = (take_item(&mut items, &ka), take_item(&mut items, &km), take_item(&mut items, &ki));
        match found {
            (Some(a), Some(m), Some(i)) => {
                Ok(Some(InvitationByToken { account: from_item(a)?, member: from_item(m)?, invitation: from_item(i)? }))
            }
            _ => Ok(None),
        }
    }

    /// The invitee sets a password: invitation used, member active, in one transaction. The
    /// conditions make a second use of the same link (or a race of two) fail.
    pub async fn accept_invitation(
        &self,
        found: &InvitationByToken,
        password_hash: &str,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let (a, m) = (found.member.account_id, found.member.id);
        let mut tx = Tx::new();
        tx.update(
            "invitation_not_pending",
            &keys::invitation(a, m),
            Change {
                update: "SET #status = :accepted, accepted_at = :now",
                condition: "#status = :pending AND token_hash = :hash",
                values: vec![
                    (":accepted", s("accepted")),
                    (":pending", s("pending")),
                    (":now", s(now.to_rfc3339())),
                    (":hash", s(found.invitation.token_hash.clone())),
                ],
                names: vec![("#status", "status")],
            },
        )?;
        tx.update(
            "member_not_invited",
            &keys::member(a, m),
            Change {
                update: "SET #status = :active, password_hash = :pw, last_login_at = :null, #version = #version + :one",
                condition: "#status = :invited",
                values: vec![
                    (":active", s("active")),
                    (":invited", s("invited")),
                    (":pw", s(password_hash)),
                    (":null", aws_sdk_dynamodb::types::AttributeValue::Null(true)),
                    (":one", n(1)),
                ],
                names: vec![("#status", "status"), ("#version", "version")],
            },
        )?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }
}
