use super::accounts::EmailClaim;
use super::sessions::Session;
use super::tx::s;
use super::{Store, StoreError, StoreResult, from_item, keys, take_item};
use crate::domain::account::Account;
use crate::domain::email::Email;
use crate::domain::ids::{AccountId, MemberId, SessionId};
use crate::domain::member::Member;

pub struct MemberPage {
    pub members: Vec<Member>,
    /// Where the next page starts after, if there is one.
    pub last: Option<MemberId>,
}

/// What authenticating one request needs, read in one round trip.
pub struct CallerRecords {
    pub account: Option<Account>,
    pub member: Option<Member>,
    pub session: Option<Session>,
}

impl Store {
    pub async fn get_member(&self, a: AccountId, m: MemberId) -> StoreResult<Option<Member>> {
        self.get(&keys::member(a, m)).await
    }

    pub async fn member_id_by_email(&self, a: AccountId, e: &Email) -> StoreResult<Option<MemberId>> {
        Ok(self.get::<EmailClaim>(&keys::member_email(a, e)).await?.map(|c| c.member_id))
    }

    /// Members in creation order; one query page, never a scan.
    pub async fn list_members(&self, a: AccountId, after: Option<MemberId>, limit: i32) -> StoreResult<MemberPage> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(keys::account_pk(a)))
            .expression_attribute_values(":prefix", s(keys::MEMBER_PREFIX))
            .limit(limit);
        if let Some(m) = after {
            q = q.set_exclusive_start_key(Some(keys::member(a, m).to_item()));
        }
        let out = q.send().await.map_err(StoreError::from_sdk)?;
        let members = out.items.unwrap_or_default().into_iter().map(from_item).collect::<StoreResult<Vec<Member>>>()?;
        let last = out
            .last_evaluated_key
            .and_then(|k| k.get(keys::SK).and_then(|v| v.as_s().ok()).and_then(|sk| keys::member_sk_to_id(sk)));
        Ok(MemberPage { members, last })
    }

    /// The account, the member and the session behind an access token, in one batch read.
    pub async fn caller_records(&self, a: AccountId, m: MemberId, sid: SessionId) -> StoreResult<CallerRecords> {
        let (ka, km, ks) = (keys::account(a), keys::member(a, m), keys::session(a, sid));
        let mut items = self.batch_get(&[&ka, &km, &ks]).await?;
        Ok(CallerRecords {
            account: take_item(&mut items, &ka).map(from_item).transpose()?,
            member: take_item(&mut items, &km).map(from_item).transpose()?,
            session: take_item(&mut items, &ks).map(from_item).transpose()?,
        })
    }
}
