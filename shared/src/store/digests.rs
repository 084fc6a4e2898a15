//! The system log's digests and the content hashes they seal. An entry's hash covers its
//! stored item exactly as DynamoDB holds it (every attribute, in a canonical order), so any
//! direct edit of the item shows.
use super::accounts::ACCOUNTS_INDEX;
use super::keys;
use super::tx::s;
use super::{Item, Store, StoreError, StoreResult, from_item, to_item};
use crate::domain::digest::sha256_hex;
use crate::domain::ids::AccountId;
use crate::domain::seal::{ChainPosition, Digest, Finding, Sealed};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Guard of a digest another sealing run wrote first.
pub const DIGEST_EXISTS: &str = "digest_exists";

/// A canonical text of an attribute value: maps by sorted key, sets sorted.
fn canonical(v: &AttributeValue, out: &mut String) {
    use std::fmt::Write as _;
    match v {
        AttributeValue::S(x) => {
            let _ = write!(out, "S{}:{x}", x.len());
        }
        AttributeValue::N(x) => {
            let _ = write!(out, "N{}:{x}", x.len());
        }
        AttributeValue::Bool(x) => {
            let _ = write!(out, "B:{x}");
        }
        AttributeValue::Null(_) => out.push('Z'),
        AttributeValue::B(x) => {
            let b = base64::engine::general_purpose::STANDARD.encode(x.as_ref());
            let _ = write!(out, "Y{}:{b}", b.len());
        }
        AttributeValue::L(items) => {
            let _ = write!(out, "L{}[", items.len());
            items.iter().for_each(|i| canonical(i, out));
            out.push(']');
        }
        AttributeValue::M(map) => canonical_map(map, out),
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => {
            let mut sorted = set.clone();
            sorted.sort();
            let _ = write!(
                out,
                "T{}[{}]",
                sorted.len(),
                sorted.iter().map(|x| format!("{}:{x}", x.len())).collect::<String>()
            );
        }
        other => {
            let _ = write!(out, "?{other:?}");
        }
    }
}

fn canonical_map(map: &std::collections::HashMap<String, AttributeValue>, out: &mut String) {
    use std::fmt::Write as _;
    let mut names: Vec<&String> = map.keys().collect();
    names.sort();
    let _ = write!(out, "M{}{{", names.len());
    for name in names {
        let _ = write!(out, "{}:{name}=", name.len());
        if let Some(v) = map.get(name) {
            canonical(v, out);
        }
    }
    out.push('}');
}

/// The content hash of a stored item.
pub(crate) fn item_hash(item: &Item) -> String {
    let mut text = String::new();
    canonical_map(item, &mut text);
    sha256_hex(text.as_bytes())
}

fn digest_key(a: AccountId, seq: u64) -> keys::Key {
    keys::Key::new(keys::account_pk(a), format!("{}{seq:012}", keys::DIGEST_PREFIX))
}

/// The sealing job's walk along an account's chain, a few digests per run, and the result of
/// the last walk that reached the end.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VerificationState {
    #[serde(default)]
    pub walk: Option<Walk>,
    #[serde(default)]
    pub last_complete: Option<CompleteVerification>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Walk {
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub position: ChainPosition,
    pub digests: u64,
    pub sealed_entries: u64,
    pub problems: u64,
    pub first_problem: Option<Finding>,
}

/// A verification of the whole chain, recorded by the sealing job.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompleteVerification {
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
    pub ok: bool,
    pub digests: u64,
    pub sealed_entries: u64,
    pub problems: u64,
    pub first_problem: Option<Finding>,
}

impl Store {
    /// One page of the accounts index, in id order, after `after`.
    pub async fn accounts_after(&self, after: Option<AccountId>, limit: i32) -> StoreResult<Vec<AccountId>> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .expression_attribute_values(":p", s(ACCOUNTS_INDEX))
            .projection_expression("gsi1sk")
            .limit(limit);
        // A key attribute cannot be compared with an empty string: no bound for the first page.
        let q = match after {
            Some(a) => q
                .key_condition_expression("gsi1pk = :p AND gsi1sk > :after")
                .expression_attribute_values(":after", s(a.to_string())),
            None => q.key_condition_expression("gsi1pk = :p"),
        };
        let out = q.send().await.map_err(StoreError::from_sdk)?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i.get("gsi1sk").and_then(|v| v.as_s().ok()).and_then(|id| AccountId::parse(id)))
            .collect())
    }

    pub async fn last_digest(&self, a: AccountId) -> StoreResult<Option<Digest>> {
        let out = self
            .prefix_query(a, keys::DIGEST_PREFIX)
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.items.unwrap_or_default().into_iter().next().map(from_item).transpose()
    }

    /// Up to `limit` digests from number `from` on, oldest first.
    pub async fn digests_from(&self, a: AccountId, from: u64, limit: usize) -> StoreResult<Vec<Digest>> {
        let low = digest_key(a, from).sk;
        let high = format!("{}~", keys::DIGEST_PREFIX);
        let out = self
            .range_query(a, &low, &high)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    pub async fn verification_state(&self, a: AccountId) -> StoreResult<VerificationState> {
        Ok(self.get(&keys::verification(a)).await?.unwrap_or_default())
    }

    /// Bookkeeping of the sealing job (no account data; the job is its only writer).
    pub async fn set_verification_state(&self, a: AccountId, state: &VerificationState) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&keys::verification(a), state)?))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Write a new digest; `DIGEST_EXISTS` if a concurrent run sealed this number first.
    pub async fn put_digest(&self, a: AccountId, d: &Digest) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&digest_key(a, d.seq), d)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(StoreError::from_sdk)
            .map_err(|e| if matches!(e, StoreError::Conflict(_)) { StoreError::Conflict(DIGEST_EXISTS) } else { e })?;
        Ok(())
    }

    /// The entries after the id `after` (exclusive) up to the id `through` or, without one, to
    /// those made at `until` (inclusive), oldest first, with their content hashes; at most
    /// `limit` (`None`: all).
    pub async fn audit_hashes(
        &self,
        a: AccountId,
        after: Option<&str>,
        (through, until): (Option<&str>, chrono::DateTime<chrono::Utc>),
        limit: Option<usize>,
    ) -> StoreResult<Vec<Sealed>> {
        let high = match through {
            Some(id) => format!("{}{id}", keys::AUDIT_PREFIX),
            None => super::audit::bound(until, 'f'),
        };
        // Just above `after`'s own key: the id followed by the lowest character.
        let low = match after {
            Some(id) => format!("{}{id}\u{1}", keys::AUDIT_PREFIX),
            None => keys::AUDIT_PREFIX.to_owned(),
        };
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut q = self.range_query(a, &low, &high).set_exclusive_start_key(start);
            if let Some(limit) = limit {
                q = q.limit((limit - found.len()).min(1000) as i32);
            }
            let out = q.send().await.map_err(StoreError::from_sdk)?;
            for item in out.items.unwrap_or_default() {
                let Some(id) =
                    item.get(keys::SK).and_then(|v| v.as_s().ok()).and_then(|sk| sk.strip_prefix(keys::AUDIT_PREFIX))
                else {
                    continue;
                };
                found.push(Sealed { id: id.to_owned(), hash: item_hash(&item) });
            }
            start = out.last_evaluated_key;
            if start.is_none() || limit.is_some_and(|l| found.len() >= l) {
                return Ok(found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_attribute_order_but_not_content() {
        let a: Item =
            [("x".to_owned(), AttributeValue::S("1".into())), ("y".to_owned(), AttributeValue::N("2".into()))].into();
        let mut b = Item::new();
        b.insert("y".into(), AttributeValue::N("2".into()));
        b.insert("x".into(), AttributeValue::S("1".into()));
        assert_eq!(item_hash(&a), item_hash(&b));
        b.insert("memo".into(), AttributeValue::S("added".into()));
        assert_ne!(item_hash(&a), item_hash(&b));
        // The type of a value counts, not only its text.
        let c: Item =
            [("x".to_owned(), AttributeValue::N("1".into())), ("y".to_owned(), AttributeValue::N("2".into()))].into();
        assert_ne!(item_hash(&a), item_hash(&c));
    }
}
