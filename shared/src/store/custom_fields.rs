//! Custom field definitions. A field's values live on the organizations and users that have
//! them (by field id), so renaming or deleting a field writes only the field.
use super::tx::{Tx, n};
use super::{Store, StoreResult, keys};
use crate::domain::audit::AuditEntry;
use crate::domain::custom_field::{CustomField, FieldTarget, name_key};
use crate::domain::ids::{AccountId, CustomFieldId};
use serde::{Deserialize, Serialize};

pub const CUSTOM_FIELD_NAME_TAKEN: &str = "custom_field_name_taken";
pub const CUSTOM_FIELD_CHANGED: &str = "custom_field_changed";

#[derive(Serialize, Deserialize)]
struct Claim {
    custom_field_id: CustomFieldId,
}

impl Store {
    pub async fn create_custom_field(&self, f: &CustomField, audit: &AuditEntry) -> StoreResult<()> {
        let a = f.account_id;
        let mut tx = Tx::new();
        let claim = keys::custom_field_name(a, f.target, &name_key(&f.name));
        tx.create(CUSTOM_FIELD_NAME_TAKEN, &claim, &Claim { custom_field_id: f.id })?;
        tx.create("custom_field_exists", &keys::custom_field(a, f.id), f)?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    pub async fn get_custom_field(&self, a: AccountId, f: CustomFieldId) -> StoreResult<Option<CustomField>> {
        self.get(&keys::custom_field(a, f)).await
    }

    /// The account's fields of one target, oldest first (every write of a holder reads them).
    pub async fn custom_fields(&self, a: AccountId, target: FieldTarget) -> StoreResult<Vec<CustomField>> {
        let all: Vec<CustomField> = self.query_prefix(a, keys::CUSTOM_FIELD_PREFIX).await?;
        Ok(all.into_iter().filter(|f| f.target == target).collect())
    }

    /// Rename, change the choices or the required flag, if still at the version read.
    pub async fn update_custom_field(
        &self,
        before: &CustomField,
        after: &CustomField,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let a = after.account_id;
        let mut tx = Tx::new();
        tx.replace_versioned(
            CUSTOM_FIELD_CHANGED,
            super::to_item(&keys::custom_field(a, after.id), after)?,
            before.version,
        )?;
        let (old, new) = (
            keys::custom_field_name(a, before.target, &name_key(&before.name)),
            keys::custom_field_name(a, after.target, &name_key(&after.name)),
        );
        tx.move_claim(CUSTOM_FIELD_NAME_TAKEN, &old, &new, &Claim { custom_field_id: after.id })?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }

    /// Delete a field (still as read): its values are not shown from now on, and each holder
    /// drops them on its next write.
    pub async fn delete_custom_field(&self, f: &CustomField, audit: &AuditEntry) -> StoreResult<()> {
        let a = f.account_id;
        let mut tx = Tx::new();
        tx.delete_where(
            CUSTOM_FIELD_CHANGED,
            &keys::custom_field(a, f.id),
            super::tx::Condition {
                condition: "#v = :v",
                values: vec![(":v", n(f.version))],
                names: vec![("#v", "version")],
            },
        )?;
        tx.delete(&keys::custom_field_name(a, f.target, &name_key(&f.name)))?;
        tx.audit(a, audit)?;
        tx.commit(self).await
    }
}
