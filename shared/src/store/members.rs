use super::records::EmailClaim;
use super::records::{MEMBER_CHANGED, RotationChange, member_item, write_rotation};
use super::sessions::Session;
use super::stats::{self, state};
use super::tx::{Condition, Tx, s};
use super::{Store, StoreError, StoreResult, from_item, keys, take_item};
use crate::domain::account::Account;
use crate::domain::audit::AuditEntry;
use crate::domain::email::Email;
use crate::domain::ids::{AccountId, MemberId, RoleId, SessionId};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::role::CustomRole;
use crate::domain::role::RoleRef;
use crate::jobs::Job;
use aws_sdk_dynamodb::types::AttributeValue;

/// Which members a listing returns (all conditions must hold).
#[derive(Debug, Default, Clone)]
pub struct MemberFilter {
    pub status: Option<MemberStatus>,
    pub role: Option<RoleRef>,
    /// Lower-case prefix of the email, the full name or the last name.
    pub search: Option<String>,
}

impl MemberFilter {
    /// The same test the query's filter expression makes, for members read by id.
    pub fn matches(&self, m: &Member) -> bool {
        let (name, last) = m.search_terms();
        self.status.is_none_or(|st| st == m.status)
            && self.role.is_none_or(|r| r == m.role)
            && self.search.as_ref().is_none_or(|q| {
                m.email.as_str().starts_with(q.as_str()) || name.starts_with(q.as_str()) || last.starts_with(q.as_str())
            })
    }
}

/// Page size of the internal reads a filtered listing makes.
const FILTER_READ: i32 = 200;

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
    /// The custom role asked for, if any (whether the member still holds it is for the caller).
    pub role: Option<CustomRole>,
    /// The account was deleted and purged (only its tombstone is left).
    pub purged: bool,
}

impl Store {
    pub async fn get_member(&self, a: AccountId, m: MemberId) -> StoreResult<Option<Member>> {
        self.get(&keys::member(a, m)).await
    }

    /// The account and one of its members, in one round trip.
    pub async fn member_records(&self, a: AccountId, m: MemberId) -> StoreResult<(Option<Account>, Option<Member>)> {
        let (ka, km) = (keys::account(a), keys::member(a, m));
        let mut items = self.batch_get(&[&ka, &km]).await?;
        Ok((
            super::take_item(&mut items, &ka).map(super::from_item).transpose()?,
            super::take_item(&mut items, &km).map(super::from_item).transpose()?,
        ))
    }

    pub async fn member_id_by_email(&self, a: AccountId, e: &Email) -> StoreResult<Option<MemberId>> {
        Ok(self.get::<EmailClaim>(&keys::member_email(a, e)).await?.map(|c| c.member_id))
    }

    /// Members in creation order, filtered; never a scan. Reads query pages until `limit`
    /// matches are found, at most `FILTERED_READS` of them: then the page may be short and
    /// `last` says where the next one starts.
    pub async fn list_members(
        &self,
        a: AccountId,
        filter: &MemberFilter,
        after: Option<MemberId>,
        limit: usize,
    ) -> StoreResult<MemberPage> {
        let query_filter = filter_expression(filter);
        let mut members = Vec::new();
        let mut start = after.map(|m| keys::member(a, m).to_item());
        for _ in 0..super::limits::FILTERED_READS {
            let mut q = self
                .prefix_query(a, keys::MEMBER_PREFIX)
                .set_exclusive_start_key(start)
                .limit(if query_filter.is_some() { FILTER_READ } else { (limit + 1) as i32 });
            if let Some(f) = &query_filter {
                q = q.filter_expression(&f.expression);
                for (k, v) in &f.values {
                    q = q.expression_attribute_values(*k, v.clone());
                }
                for (k, v) in &f.names {
                    q = q.expression_attribute_names(*k, *v);
                }
            }
            let out = q.send().await.map_err(StoreError::from_sdk)?;
            for item in out.items.unwrap_or_default() {
                members.push(from_item::<Member>(item)?);
            }
            start = out.last_evaluated_key;
            if members.len() > limit || start.is_none() {
                break;
            }
        }
        // One more than asked for means there is a next page, starting after the last one kept;
        // a short page with reading left to do starts where the reads stopped.
        let more = members.len() > limit;
        members.truncate(limit);
        let stopped = start.as_ref().and_then(|k| k.get(keys::SK)).and_then(|v| v.as_s().ok());
        let last = if more { members.last().map(|m| m.id) } else { stopped.and_then(|sk| keys::member_sk_to_id(sk)) };
        Ok(MemberPage { members, last })
    }

    /// Every member of the account that passes `filter` (for counts, exports, role moves).
    pub async fn all_members(&self, a: AccountId, filter: &MemberFilter) -> StoreResult<Vec<Member>> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.list_members(a, filter, after, 1000).await?;
            all.extend(page.members);
            match page.last {
                Some(last) => after = Some(last),
                None => return Ok(all),
            }
        }
    }

    /// Write a changed member if it is still as it was read (`before`), with the rotations of
    /// its groups when whether it may be assigned changed.
    pub async fn save_member(
        &self,
        before: &Member,
        member: &Member,
        groups: &[RotationChange<'_>],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        for g in groups {
            write_rotation(&mut tx, g)?;
        }
        tx.replace_versioned(MEMBER_CHANGED, member_item(member)?, before.version)?;
        stats::count(&mut tx, member.account_id, &[(Some(state(before)), Some(state(member)))])?;
        tx.audit(member.account_id, audit)?;
        tx.commit(self).await
    }

    /// Hand the owner role over: both members change together, each if unchanged since read.
    pub async fn transfer_ownership(
        &self,
        (old_before, old_after): (&Member, &Member),
        (new_before, new_after): (&Member, &Member),
        audit: &AuditEntry,
        mail: &[Job],
    ) -> StoreResult<()> {
        let mut tx = Tx::new();
        super::jobs::mail_in(&mut tx, mail)?;
        tx.replace_versioned(MEMBER_CHANGED, member_item(old_after)?, old_before.version)?;
        tx.replace_versioned(MEMBER_CHANGED, member_item(new_after)?, new_before.version)?;
        stats::count(
            &mut tx,
            new_after.account_id,
            &[(Some(state(old_before)), Some(state(old_after))), (Some(state(new_before)), Some(state(new_after)))],
        )?;
        tx.audit(new_after.account_id, audit)?;
        tx.commit(self).await
    }

    /// Remove a member, the claim on their email, any invitation and their seats in groups, if
    /// unchanged since read.
    pub async fn delete_member(
        &self,
        member: &Member,
        groups: &[RotationChange<'_>],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let a = member.account_id;
        let mut tx = Tx::new();
        for g in groups {
            write_rotation(&mut tx, g)?;
        }
        tx.delete_where(
            MEMBER_CHANGED,
            &keys::member(a, member.id),
            Condition {
                condition: "#version = :v",
                values: vec![(":v", super::tx::n(member.version))],
                names: vec![("#version", "version")],
            },
        )?;
        tx.delete(&keys::member_email(a, &member.email))?;
        tx.delete(&keys::invitation(a, member.id))?;
        for agent_id in &member.agent_ids {
            tx.delete(&keys::agent_id(a, agent_id))?;
        }
        stats::count(&mut tx, a, &[(Some(state(member)), None)])?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// The account, the member, the session and (if given) a custom role behind an access
    /// token, in one batch read.
    pub async fn caller_records(
        &self,
        a: AccountId,
        m: MemberId,
        sid: SessionId,
        role: Option<RoleId>,
    ) -> StoreResult<CallerRecords> {
        let (ka, km, ks) = (keys::account(a), keys::member(a, m), keys::session(a, sid));
        let kr = role.map(|r| keys::role(a, r));
        // The tombstone rides along so a purged account's tokens answer 410, not 401.
        let kt = keys::tombstone(a);
        let mut wanted = vec![&ka, &km, &ks, &kt];
        wanted.extend(kr.as_ref());
        let mut items = self.batch_get(&wanted).await?;
        Ok(CallerRecords {
            account: take_item(&mut items, &ka).map(from_item).transpose()?,
            member: take_item(&mut items, &km).map(from_item).transpose()?,
            session: take_item(&mut items, &ks).map(from_item).transpose()?,
            role: kr.and_then(|k| take_item(&mut items, &k)).map(from_item).transpose()?,
            purged: take_item(&mut items, &kt).is_some(),
        })
    }
}

/// A query's filter: its expression and the values and names it uses.
struct QueryFilter {
    expression: String,
    values: Vec<(&'static str, AttributeValue)>,
    names: Vec<(&'static str, &'static str)>,
}

fn filter_expression(f: &MemberFilter) -> Option<QueryFilter> {
    let (mut parts, mut values, mut names) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(status) = f.status {
        parts.push("#status = :status");
        values.push((
            ":status",
            s(serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()),
        ));
        names.push(("#status", "status"));
    }
    if let Some(role) = f.role {
        parts.push("#role = :role");
        values.push((":role", s(role.to_string())));
        names.push(("#role", "role"));
    }
    if let Some(q) = &f.search {
        parts.push("(begins_with(email, :q) OR begins_with(name_lc, :q) OR begins_with(last_lc, :q))");
        values.push((":q", s(q.clone())));
    }
    (!parts.is_empty()).then(|| QueryFilter { expression: parts.join(" AND "), values, names })
}
