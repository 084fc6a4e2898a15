//! Custom fields (SPEC §5): the account's definitions, and the check every write of an
//! organization's or user's values goes through.
use super::{Caller, Error, Result, Services};
use crate::domain::audit::AuditEntry;
use crate::domain::custom_field::{self, CustomField, FieldKind, FieldTarget, Values};
use crate::domain::ids::{AccountId, CustomFieldId};
use crate::domain::permissions::Permission;
use crate::domain::{FieldError, FieldErrors};
use crate::store::{CUSTOM_FIELD_CHANGED, CUSTOM_FIELD_NAME_TAKEN, StoreError};
use chrono::Utc;

/// A new field: choice fields come with their choices, others with none (the document says so
/// with one shape per kind).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomField {
    pub target: FieldTarget,
    pub name: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub choices: Vec<String>,
}

impl utoipa::PartialSchema for NewCustomField {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::http::openapi::field;
        use utoipa::openapi::schema::{
            AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, SchemaType, Type,
        };
        let shape = |kinds: &[&str], choices: utoipa::openapi::schema::Array, needed: bool| {
            let b = ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Object))
                .property("target", utoipa::openapi::Ref::from_schema_name("FieldTarget"))
                .property("name", field::name())
                .property(
                    "kind",
                    ObjectBuilder::new().schema_type(SchemaType::new(Type::String)).enum_values(Some(kinds.to_vec())),
                )
                .property("required", ObjectBuilder::new().schema_type(SchemaType::new(Type::Boolean)))
                .property("choices", choices)
                .required("target")
                .required("name")
                .required("kind")
                .additional_properties(Some(AdditionalProperties::<utoipa::openapi::Schema>::FreeForm(false)));
            if needed { b.required("choices").build() } else { b.build() }
        };
        let mut offered = field::choices();
        offered.min_items = Some(1);
        let none = ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(SchemaType::new(Type::String)))
            .max_items(Some(0))
            .build();
        OneOfBuilder::new()
            .item(shape(&["text", "number", "date", "boolean"], none, false))
            .item(shape(&["single_choice", "multiple_choice"], offered, true))
            .into()
    }
}

impl utoipa::ToSchema for NewCustomField {}

/// What to change; absent fields stay. The kind and target never change.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldChange {
    #[schema(schema_with = crate::http::openapi::field::name_or_null)]
    pub name: Option<String>,
    pub required: Option<bool>,
    /// Replaces the list (values already given stay as they are).
    #[schema(schema_with = crate::http::openapi::field::choices_or_null)]
    pub choices: Option<Vec<String>>,
    #[schema(schema_with = crate::http::openapi::field::memo_or_null)]
    pub memo: Option<String>,
}

fn not_found() -> Error {
    Error::NotFound("custom field")
}

async fn find(s: &Services, caller: &Caller, id: &str) -> Result<CustomField> {
    let id = CustomFieldId::parse(id).ok_or_else(not_found)?;
    s.store.get_custom_field(caller.account_id(), id).await?.ok_or_else(not_found)
}

fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(CUSTOM_FIELD_NAME_TAKEN) => {
            Error::conflict("custom_field_name_taken", "another field of this target already has this name")
        }
        StoreError::Conflict(CUSTOM_FIELD_CHANGED) => {
            Error::conflict("custom_field_changed", "the field changed meanwhile; reload and retry")
        }
        other => other.into(),
    }
}

fn settings(f: &CustomField) -> serde_json::Value {
    serde_json::json!({
        "target": f.target, "name": f.name, "kind": f.kind, "required": f.required, "choices": f.choices,
    })
}

/// The account's fields, of one target or both.
pub async fn list(s: &Services, caller: &Caller, target: Option<FieldTarget>) -> Result<Vec<CustomField>> {
    caller.require(Permission::SettingsRead)?;
    let a = caller.account_id();
    let mut out = Vec::new();
    for t in [FieldTarget::Organization, FieldTarget::User] {
        if target.is_none_or(|x| x == t) {
            out.extend(s.store.custom_fields(a, t).await?);
        }
    }
    Ok(out)
}

pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<CustomField> {
    caller.require(Permission::SettingsRead)?;
    find(s, caller, id).await
}

pub async fn create(s: &Services, caller: &Caller, new: NewCustomField) -> Result<CustomField> {
    caller.require(Permission::SettingsManage)?;
    let mut errors = FieldErrors::new();
    let name = errors.take(custom_field::name(&new.name));
    let choices = errors.take(custom_field::choices(new.kind, &new.choices));
    errors.finish()?;
    let now = Utc::now();
    let f = CustomField {
        id: CustomFieldId::new(),
        account_id: caller.account_id(),
        target: new.target,
        name: name.unwrap_or_default(),
        kind: new.kind,
        required: new.required,
        choices: choices.unwrap_or_default(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let audit = AuditEntry::new(caller.actor(), "custom_field.created", "custom_field", f.id, settings(&f));
    s.store.create_custom_field(&f, &audit).await.map_err(store_error)?;
    Ok(f)
}

pub async fn update(
    s: &Services,
    caller: &Caller,
    id: &str,
    change: CustomFieldChange,
    if_version: Option<u64>,
) -> Result<CustomField> {
    caller.require(Permission::SettingsManage)?;
    let before = find(s, caller, id).await?;
    if if_version.is_some_and(|v| v != before.version) {
        return Err(Error::PreconditionFailed);
    }
    let mut after = before.clone();
    let mut errors = FieldErrors::new();
    if let Some(n) = &change.name {
        after.name = errors.take(custom_field::name(n)).unwrap_or_default();
    }
    if change.choices.is_some() && !after.kind.has_choices() {
        return Err(Error::conflict("field_has_no_choices", "only choice fields have choices; this one is not"));
    }
    if let Some(c) = &change.choices {
        after.choices = errors.take(custom_field::choices(after.kind, c)).unwrap_or_default();
    }
    errors.finish()?;
    if let Some(r) = change.required {
        after.required = r;
    }
    after.version += 1;
    after.updated_at = Utc::now();
    let mut audit = AuditEntry::new(
        caller.actor(),
        "custom_field.updated",
        "custom_field",
        after.id,
        serde_json::json!({ "before": settings(&before), "after": settings(&after) }),
    );
    audit.memo = change.memo;
    match s.store.update_custom_field(&before, &after, &audit).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(CUSTOM_FIELD_CHANGED)) if if_version.is_some() => Err(Error::PreconditionFailed),
        Err(e) => Err(store_error(e)),
    }
}

/// Delete a field: its values are gone from every organization or user at once (not shown,
/// dropped on their next write).
pub async fn delete(s: &Services, caller: &Caller, id: &str, memo: Option<String>) -> Result<()> {
    caller.require(Permission::SettingsManage)?;
    let f = find(s, caller, id).await?;
    let mut audit = AuditEntry::new(caller.actor(), "custom_field.deleted", "custom_field", f.id, settings(&f));
    audit.memo = memo;
    s.store.delete_custom_field(&f, &audit).await.map_err(store_error)
}

/// The values a write leaves: `values` with `change` applied and checked against the
/// account's fields of `target` (`None`: no change asked, but required fields still hold when
/// `creating`). The inner error is the request's, to report beside its other fields'.
pub(crate) async fn apply(
    s: &Services,
    a: AccountId,
    target: FieldTarget,
    values: &Values,
    change: Option<&serde_json::Map<String, serde_json::Value>>,
    creating: bool,
) -> Result<std::result::Result<Values, Vec<FieldError>>> {
    let none = serde_json::Map::new();
    let change = match change {
        Some(c) if !c.is_empty() => c,
        _ if creating => &none,
        _ => return Ok(Ok(values.clone())),
    };
    let fields = s.store.custom_fields(a, target).await?;
    checked(&fields, values, change)
}

/// `values` changed by `change`, checked against `fields` (the account's fields of the
/// holder's kind).
pub(crate) fn checked(
    fields: &[CustomField],
    values: &Values,
    change: &serde_json::Map<String, serde_json::Value>,
) -> Result<std::result::Result<Values, Vec<FieldError>>> {
    match custom_field::apply(fields, values, change) {
        // A well-formed id of no field here names nothing of this account: 404, like any such id.
        Err(errors) if errors.iter().any(|e| e.code == custom_field::UNKNOWN_FIELD) => {
            Err(Error::Unknown(errors.into_iter().filter(|e| e.code == custom_field::UNKNOWN_FIELD).collect()))
        }
        other => Ok(other),
    }
}

/// Show only the values of fields that exist now, on each of `holders` (`values` picks a
/// holder's); one read for any number of holders, none when they have no values. What is read
/// this way and written back drops a deleted field's values.
pub(crate) async fn present<T>(
    s: &Services,
    a: AccountId,
    target: FieldTarget,
    holders: &mut [T],
    values: fn(&mut T) -> &mut Values,
) -> Result<()> {
    if holders.iter_mut().all(|h| values(h).is_empty()) {
        return Ok(());
    }
    let fields = s.store.custom_fields(a, target).await?;
    for h in holders {
        let v = values(h);
        *v = custom_field::visible(&fields, v);
    }
    Ok(())
}
