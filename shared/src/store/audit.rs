//! Reading the system log: newest first, by time range, filtered, never a scan.
use super::tx::s;
use super::{Store, StoreError, StoreResult, from_item, keys};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::AccountId;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

/// Which entries a query returns (all conditions must hold).
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The acting member's or API key's id.
    pub actor: Option<String>,
    /// An exact action, or a prefix ending in `.` (`member.`).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Only these actions (a category such as the system log's deletions and blocks).
    pub actions_in: Vec<&'static str>,
}

/// Page size of the internal reads a filtered query makes.
const FILTER_READ: i32 = 200;

/// Audit ids are UUIDv7: their first 12 hex digits are the milliseconds since the epoch, so a
/// time is a sort-key bound.
pub(crate) fn bound(t: DateTime<Utc>, fill: char) -> String {
    let ms = t.timestamp_millis().max(0) as u64;
    format!("{}{:012x}{}", keys::AUDIT_PREFIX, ms, fill.to_string().repeat(20))
}

impl Store {
    /// An entry that goes with no other change (a job's summary of changes logged one by one).
    pub async fn log_audit(
        &self,
        a: crate::domain::ids::AccountId,
        entry: &crate::domain::audit::AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = super::tx::Tx::new();
        tx.audit(a, entry)?;
        tx.commit(self).await
    }

    /// One page of entries, newest first, starting below the sort key `before` (a cursor).
    pub async fn query_audit(
        &self,
        a: AccountId,
        f: &AuditFilter,
        before: Option<String>,
        limit: usize,
    ) -> StoreResult<(Vec<AuditEntry>, Option<String>)> {
        let low = f.from.map(|t| bound(t, '0')).unwrap_or_else(|| keys::AUDIT_PREFIX.to_owned());
        let mut high = f.to.map(|t| bound(t, 'f')).unwrap_or_else(|| format!("{}~", keys::AUDIT_PREFIX));
        // Below the cursor (BETWEEN includes it; it is skipped below).
        if let Some(b) = before.as_ref().filter(|b| **b < high) {
            high = b.clone();
        }
        let (expression, values, names) = filter(f);
        let mut entries: Vec<(String, AuditEntry)> = Vec::new();
        let mut start = None;
        for _ in 0..super::limits::FILTERED_READS {
            let mut q = self
                .range_query(a, &low, &high)
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .limit(if expression.is_some() { FILTER_READ } else { (limit + 1) as i32 });
            if let Some(e) = &expression {
                q = q.filter_expression(e);
                for (k, v) in &values {
                    q = q.expression_attribute_values(k.clone(), v.clone());
                }
                for (k, v) in &names {
                    q = q.expression_attribute_names(*k, *v);
                }
            }
            let out = q.send().await.map_err(StoreError::from_sdk)?;
            for item in out.items.unwrap_or_default() {
                let sk = match item.get(keys::SK) {
                    Some(AttributeValue::S(sk)) => sk.clone(),
                    _ => continue,
                };
                if before.as_deref() == Some(sk.as_str()) {
                    continue;
                }
                entries.push((sk, from_item(item)?));
            }
            start = out.last_evaluated_key;
            if entries.len() > limit || start.is_none() {
                break;
            }
        }
        // A short page with reading left to do goes on where the reads stopped.
        let more = entries.len() > limit;
        entries.truncate(limit);
        let stopped = start.as_ref().and_then(|k| k.get(keys::SK)).and_then(|v| v.as_s().ok()).cloned();
        let next = if more { entries.last().map(|(sk, _)| sk.clone()) } else { stopped };
        Ok((entries.into_iter().map(|(_, e)| e).collect(), next))
    }
}

type Values = Vec<(String, AttributeValue)>;

fn filter(f: &AuditFilter) -> (Option<String>, Values, Vec<(&'static str, &'static str)>) {
    let (mut parts, mut values, mut names) = (Vec::new(), Values::new(), Vec::new());
    if let Some(actor) = &f.actor {
        // What a job did on someone's behalf counts as theirs too.
        parts.push("(#actor.#id = :actor OR #actor.on_behalf_of.#id = :actor)".to_owned());
        values.push((":actor".into(), s(actor.clone())));
        names.extend([("#actor", "actor"), ("#id", "id")]);
    }
    match &f.action {
        Some(p) if p.ends_with('.') => {
            parts.push("begins_with(#action, :action)".to_owned());
            values.push((":action".into(), s(p.clone())));
            names.push(("#action", "action"));
        }
        Some(x) => {
            parts.push("#action = :action".to_owned());
            values.push((":action".into(), s(x.clone())));
            names.push(("#action", "action"));
        }
        None => {}
    }
    if let Some(t) = &f.target_type {
        parts.push("target_type = :tt".to_owned());
        values.push((":tt".into(), s(t.clone())));
    }
    if let Some(t) = &f.target_id {
        parts.push("target_id = :tid".to_owned());
        values.push((":tid".into(), s(t.clone())));
    }
    if !f.actions_in.is_empty() {
        let placeholders: Vec<String> = (0..f.actions_in.len()).map(|i| format!(":in{i}")).collect();
        parts.push(format!("#action IN ({})", placeholders.join(", ")));
        for (p, a) in placeholders.into_iter().zip(&f.actions_in) {
            values.push((p, s(*a)));
        }
        if !names.contains(&("#action", "action")) {
            names.push(("#action", "action"));
        }
    }
    ((!parts.is_empty()).then(|| parts.join(" AND ")), values, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds_bracket_the_ids_made_between_them() {
        let t1 = Utc::now();
        let sk = format!("{}{}", keys::AUDIT_PREFIX, crate::domain::ids::AuditId::new());
        let t2 = Utc::now();
        assert!(bound(t1, '0') <= sk && sk <= bound(t2, 'f'), "{} {sk} {}", bound(t1, '0'), bound(t2, 'f'));
        assert!(bound(t2 + chrono::Duration::milliseconds(1), '0') > sk);
        assert!(bound(t1 - chrono::Duration::milliseconds(1), 'f') < sk);
    }
}
