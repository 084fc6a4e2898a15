//! One atomic unit of work: the change and its audit entry, with the invariants as conditions.
use super::keys::{Key, PK};
use super::{Item, Store, StoreError, StoreResult, to_item};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::AccountId;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};

/// DynamoDB's limits of one transaction: actions, and bytes of all items together.
pub(crate) const MAX_ACTIONS: usize = 100;
pub(crate) const MAX_BYTES: usize = 4 * 1024 * 1024;

#[derive(Default)]
pub(crate) struct Tx {
    actions: Vec<TransactWriteItem>,
    /// For each action, the invariant its condition protects (reported on failure).
    guards: Vec<&'static str>,
    /// The items' size as DynamoDB counts it (attribute names and values).
    bytes: usize,
}

/// A condition on an item (for a delete or a check), with its values and names.
pub(crate) struct Condition<'a> {
    pub condition: &'a str,
    pub values: Vec<(&'a str, AttributeValue)>,
    pub names: Vec<(&'a str, &'a str)>,
}

/// A conditional update: `SET`/`REMOVE` expression, its condition and values.
pub(crate) struct Change<'a> {
    pub update: &'a str,
    pub condition: &'a str,
    pub values: Vec<(&'a str, AttributeValue)>,
    pub names: Vec<(&'a str, &'a str)>,
}

impl Tx {
    pub fn new() -> Self {
        Self::default()
    }

    /// Create an item that must not exist yet; `guard` names the invariant (e.g. `email_taken`).
    pub fn create<T: serde::Serialize>(&mut self, guard: &'static str, key: &Key, value: &T) -> StoreResult<()> {
        let item = to_item(key, value)?;
        self.create_raw(guard, item)
    }

    pub fn create_raw(&mut self, guard: &'static str, item: Item) -> StoreResult<()> {
        let put = Put::builder()
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK);
        self.push_put(guard, put)
    }

    /// Move a uniqueness claim (a renamed role or group): the old one goes, the new one must be
    /// free. Nothing when the keys are the same.
    pub fn move_claim<T: serde::Serialize>(
        &mut self,
        guard: &'static str,
        old: &Key,
        new: &Key,
        claim: &T,
    ) -> StoreResult<()> {
        if old == new {
            return Ok(());
        }
        self.delete(old)?;
        self.create(guard, new, claim)
    }

    /// Write an item whatever is there.
    pub fn put<T: serde::Serialize>(&mut self, key: &Key, value: &T) -> StoreResult<()> {
        let put = Put::builder().set_item(Some(to_item(key, value)?));
        self.push_put("put", put)
    }

    /// Write an item whatever is there (already an item).
    pub fn put_raw(&mut self, item: Item) -> StoreResult<()> {
        self.push_put("put", Put::builder().set_item(Some(item)))
    }

    /// Write an item if `condition` holds on what is there.
    pub fn put_where(&mut self, guard: &'static str, item: Item, c: Condition<'_>) -> StoreResult<()> {
        let mut put = Put::builder().set_item(Some(item)).condition_expression(c.condition);
        for (k, v) in c.values {
            put = put.expression_attribute_values(k, v);
        }
        for (k, v) in c.names {
            put = put.expression_attribute_names(k, v);
        }
        self.push_put(guard, put)
    }

    /// Replace an item whose stored `version` must still be `expected` (optimistic concurrency).
    pub fn replace_versioned(&mut self, guard: &'static str, item: Item, expected: u64) -> StoreResult<()> {
        let put = Put::builder()
            .set_item(Some(item))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()));
        self.push_put(guard, put)
    }

    /// Delete an item if it is there (no condition).
    pub fn delete(&mut self, key: &Key) -> StoreResult<()> {
        let delete = Delete::builder()
            .set_key(Some(key.to_item()))
            .table_name(String::new())
            .build()
            .map_err(StoreError::build)?;
        self.push("delete", TransactWriteItem::builder().delete(delete).build())
    }

    /// Delete an item that must exist and satisfy `condition`.
    pub fn delete_where(&mut self, guard: &'static str, key: &Key, change: Condition<'_>) -> StoreResult<()> {
        let mut delete = Delete::builder().set_key(Some(key.to_item())).condition_expression(change.condition);
        for (k, v) in change.values {
            delete = delete.expression_attribute_values(k, v);
        }
        for (k, v) in change.names {
            delete = delete.expression_attribute_names(k, v);
        }
        let delete = delete.table_name(String::new()).build().map_err(StoreError::build)?;
        self.push(guard, TransactWriteItem::builder().delete(delete).build())
    }

    pub fn update(&mut self, guard: &'static str, key: &Key, change: Change<'_>) -> StoreResult<()> {
        let mut update = Update::builder()
            .set_key(Some(key.to_item()))
            .update_expression(change.update)
            .condition_expression(change.condition);
        for (k, v) in change.values {
            update = update.expression_attribute_values(k, v);
        }
        for (k, v) in change.names {
            update = update.expression_attribute_names(k, v);
        }
        let update = update.table_name(String::new()).build().map_err(StoreError::build)?;
        self.push(guard, TransactWriteItem::builder().update(update).build())
    }

    /// Add to numeric attributes (created at zero when absent; the item too).
    pub fn add(&mut self, key: &Key, deltas: &[(&str, i64)]) -> StoreResult<()> {
        let parts: Vec<String> = (0..deltas.len()).map(|i| format!("#a{i} :a{i}")).collect();
        let mut update =
            Update::builder().set_key(Some(key.to_item())).update_expression(format!("ADD {}", parts.join(", ")));
        for (i, (name, delta)) in deltas.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#a{i}"), *name)
                .expression_attribute_values(format!(":a{i}"), AttributeValue::N(delta.to_string()));
        }
        let update = update.table_name(String::new()).build().map_err(StoreError::build)?;
        self.push("counters", TransactWriteItem::builder().update(update).build())
    }

    /// Write nothing to `key`, but only commit while `condition` holds on it.
    pub fn check(&mut self, guard: &'static str, key: &Key, change: Condition<'_>) -> StoreResult<()> {
        let mut check = ConditionCheck::builder().set_key(Some(key.to_item())).condition_expression(change.condition);
        for (k, v) in change.values {
            check = check.expression_attribute_values(k, v);
        }
        for (k, v) in change.names {
            check = check.expression_attribute_names(k, v);
        }
        let check = check.table_name(String::new()).build().map_err(StoreError::build)?;
        self.push(guard, TransactWriteItem::builder().condition_check(check).build())
    }

    /// Delete an item that must exist.
    pub fn delete_existing(&mut self, guard: &'static str, key: &Key) -> StoreResult<()> {
        let delete = Delete::builder()
            .set_key(Some(key.to_item()))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .table_name(String::new())
            .build()
            .map_err(StoreError::build)?;
        self.push(guard, TransactWriteItem::builder().delete(delete).build())
    }

    /// The audit entry that goes with this change; its id is fresh, so it never collides.
    pub fn audit(&mut self, account: AccountId, entry: &AuditEntry) -> StoreResult<()> {
        self.create("audit", &super::keys::audit(account, entry.id), entry)
    }

    fn push_put(&mut self, guard: &'static str, put: aws_sdk_dynamodb::types::builders::PutBuilder) -> StoreResult<()> {
        let put = put.table_name(String::new()).build().map_err(StoreError::build)?;
        self.push(guard, TransactWriteItem::builder().put(put).build())
    }

    fn push(&mut self, guard: &'static str, action: TransactWriteItem) -> StoreResult<()> {
        let size = action_size(&action);
        if self.actions.len() >= MAX_ACTIONS || self.bytes + size > MAX_BYTES {
            return Err(StoreError::TooLarge);
        }
        self.actions.push(action);
        self.guards.push(guard);
        self.bytes += size;
        Ok(())
    }

    /// Actions so far.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Bytes so far, as DynamoDB counts them.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Take on another transaction's actions (several changes committed as one).
    pub fn append(&mut self, other: Tx) -> StoreResult<()> {
        if self.actions.len() + other.actions.len() > MAX_ACTIONS || self.bytes + other.bytes > MAX_BYTES {
            return Err(StoreError::TooLarge);
        }
        self.actions.extend(other.actions);
        self.guards.extend(other.guards);
        self.bytes += other.bytes;
        Ok(())
    }

    pub async fn commit(self, store: &Store) -> StoreResult<()> {
        match self.commit_or_failed(store).await? {
            Ok(()) => Ok(()),
            Err(failed) => Err(StoreError::Conflict(failed.first().map_or("condition", |f| f.1))),
        }
    }

    /// Commit, or say which actions' conditions failed (their positions and guards, from
    /// DynamoDB's cancellation reasons) so a batch can tell which of its items to leave out.
    pub async fn commit_or_failed(self, store: &Store) -> StoreResult<Result<(), Vec<(usize, &'static str)>>> {
        let guards = self.guards;
        let actions = self.actions.into_iter().map(|a| with_table(a, store.table())).collect::<Vec<_>>();
        let result = store.client.transact_write_items().set_transact_items(Some(actions)).send().await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(err) => match err.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let failed: Vec<(usize, &'static str)> = cancelled
                        .cancellation_reasons()
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| (i, guards.get(i).copied().unwrap_or("condition")))
                        .collect();
                    if failed.is_empty() {
                        // Cancelled for contention with another transaction: safe to retry.
                        Err(StoreError::Unavailable(format!("transaction cancelled: {cancelled}")))
                    } else {
                        Ok(Err(failed))
                    }
                }
                other => Err(StoreError::Other(aws_sdk_dynamodb::error::DisplayErrorContext(other).to_string())),
            },
        }
    }
}

/// An action's size as DynamoDB counts it towards the 4 MB: its item, or its key and values.
fn action_size(action: &TransactWriteItem) -> usize {
    use super::limits::item_size;
    let values = |v: Option<&std::collections::HashMap<String, AttributeValue>>| v.map_or(0, item_size);
    if let Some(p) = &action.put {
        item_size(&p.item)
    } else if let Some(u) = &action.update {
        item_size(&u.key) + values(u.expression_attribute_values.as_ref())
    } else if let Some(d) = &action.delete {
        item_size(&d.key)
    } else if let Some(c) = &action.condition_check {
        item_size(&c.key)
    } else {
        0
    }
}

/// Builders need a table name to build; the real one is filled in at commit.
fn with_table(mut action: TransactWriteItem, table: &str) -> TransactWriteItem {
    if let Some(p) = action.put.as_mut() {
        p.table_name = table.to_owned();
    }
    if let Some(u) = action.update.as_mut() {
        u.table_name = table.to_owned();
    }
    if let Some(d) = action.delete.as_mut() {
        d.table_name = table.to_owned();
    }
    if let Some(c) = action.condition_check.as_mut() {
        c.table_name = table.to_owned();
    }
    action
}

/// `HashMap` literal helper for expression values.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_refuses_its_101st_action() {
        let mut tx = Tx::new();
        for i in 0..MAX_ACTIONS {
            tx.put(&Key::new("A".into(), format!("K{i}")), &serde_json::json!({})).unwrap();
        }
        assert_eq!(tx.len(), MAX_ACTIONS);
        assert!(tx.put(&Key::new("A".into(), "K".into()), &serde_json::json!({})).is_err());
    }

    #[test]
    fn a_transaction_refuses_more_than_4_mb() {
        let mut tx = Tx::new();
        let big = serde_json::json!({ "blob": "x".repeat(390_000) });
        let mut added = 0;
        while tx.put(&Key::new("A".into(), format!("K{added}")), &big).is_ok() {
            added += 1;
        }
        assert_eq!(added, MAX_BYTES / 390_000, "as many 390 KB items as fit in 4 MB");
        assert!(tx.len() < MAX_ACTIONS);
    }
}
