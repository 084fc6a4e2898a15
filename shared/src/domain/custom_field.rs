//! Custom fields (SPEC §5): an account's own fields on organizations and users, each typed,
//! optionally required, checked on every write. Values are kept by the field's id, so renaming
//! a field touches no value, and a deleted field's values are never shown again.
use super::FieldError;
use super::ids::{AccountId, CustomFieldId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Choices one field offers.
pub const MAX_CHOICES: usize = 200;
/// Characters of a text value.
pub const MAX_TEXT: usize = 2000;
/// Bytes of one organization's or user's values together (items hold 400 KB).
pub const MAX_VALUES_BYTES: usize = 64 * 1024;

/// What a field describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldTarget {
    Organization,
    User,
}

impl FieldTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organization => "organization",
            Self::User => "user",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    /// `YYYY-MM-DD`.
    Date,
    Boolean,
    /// One of the choices.
    SingleChoice,
    /// Some of the choices (a list).
    MultipleChoice,
}

impl FieldKind {
    pub fn has_choices(self) -> bool {
        matches!(self, Self::SingleChoice | Self::MultipleChoice)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomField {
    pub id: CustomFieldId,
    pub account_id: AccountId,
    pub target: FieldTarget,
    pub name: String,
    pub kind: FieldKind,
    pub required: bool,
    pub choices: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// The code of a well-formed field id that names no field of the account (or of the target).
pub const UNKNOWN_FIELD: &str = "unknown_field";

/// An organization's or a user's values, by field id.
pub type Values = BTreeMap<String, serde_json::Value>;

pub fn name(raw: &str) -> Result<String, FieldError> {
    super::text::required_text("name", raw, &super::format::NAME)
}

pub fn name_key(name: &str) -> String {
    super::role::name_key(name)
}

/// The choices of a field of `kind`: needed (and only allowed) for choice fields, each a name;
/// one spelled twice (ignoring case) is kept once, as first spelled.
pub fn choices(kind: FieldKind, raw: &[String]) -> Result<Vec<String>, FieldError> {
    let err = |code, message: &str| FieldError::new("choices", code, message);
    if !kind.has_choices() {
        return if raw.is_empty() {
            Ok(Vec::new())
        } else {
            Err(err("not_allowed", "only choice fields have choices"))
        };
    }
    if raw.is_empty() {
        return Err(err("required", "a choice field needs at least one choice"));
    }
    if raw.len() > MAX_CHOICES {
        return Err(err("too_many", &format!("a field offers at most {MAX_CHOICES} choices")));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, c) in raw.iter().enumerate() {
        let c = super::text::required_text(&format!("choices[{i}]"), c, &super::format::NAME)?;
        if !out.iter().any(|x| name_key(x) == name_key(&c)) {
            out.push(c);
        }
    }
    Ok(out)
}

/// `values` after `change` (a field id → its new value, `null` removes it), checked against
/// the account's `fields`: every named field exists and gets a value of its kind, and every
/// required one has a value. Values of fields since deleted are dropped.
pub fn apply(
    fields: &[CustomField],
    values: &Values,
    change: &serde_json::Map<String, serde_json::Value>,
) -> Result<Values, Vec<FieldError>> {
    let mut errors = super::FieldErrors::new();
    let mut out = visible(fields, values);
    for (key, value) in change {
        let path = format!("custom_fields.{}", key.chars().take(64).collect::<String>());
        let Some(id) = CustomFieldId::parse(key) else {
            errors.push(FieldError::new(&path, "invalid", "is not a custom field's id"));
            continue;
        };
        let Some(field) = fields.iter().find(|f| f.id == id) else {
            errors.push(FieldError::new(&path, UNKNOWN_FIELD, "no custom field of this account has this id"));
            continue;
        };
        let key = field.id.to_string();
        if value.is_null() {
            out.remove(&key);
            continue;
        }
        if let Some(v) = errors.take(checked(field, &path, value)) {
            out.insert(key, v);
        }
    }
    for f in fields.iter().filter(|f| f.required) {
        if !out.contains_key(&f.id.to_string()) {
            let path = format!("custom_fields.{}", f.id);
            errors.push(FieldError::new(&path, "required", format!("the field {:?} is required", f.name)));
        }
    }
    if serde_json::to_string(&out).map_or(0, |s| s.len()) > MAX_VALUES_BYTES {
        errors.push(FieldError::new(
            "custom_fields",
            "too_large",
            format!("custom field values take at most {MAX_VALUES_BYTES} bytes together"),
        ));
    }
    errors.finish()?;
    Ok(out)
}

/// The values still shown: those of fields that exist.
pub fn visible(fields: &[CustomField], values: &Values) -> Values {
    values
        .iter()
        .filter(|(k, _)| fields.iter().any(|f| f.id.to_string() == **k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A spreadsheet cell as the value it stands for in a field of `f`'s kind (`yes`/`no` for a
/// boolean, `;` between choices); a cell that stands for none is kept as text, which the
/// field's check then refuses.
pub fn from_cell(f: &CustomField, cell: &str) -> serde_json::Value {
    use serde_json::Value as J;
    let cell = cell.trim();
    match f.kind {
        FieldKind::Number => cell.parse::<serde_json::Number>().map_or_else(|_| J::String(cell.to_owned()), J::Number),
        FieldKind::Boolean => match cell.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => J::Bool(true),
            "false" | "no" | "0" => J::Bool(false),
            _ => J::String(cell.to_owned()),
        },
        FieldKind::MultipleChoice => J::Array(
            cell.split(';').map(str::trim).filter(|c| !c.is_empty()).map(|c| J::String(c.to_owned())).collect(),
        ),
        FieldKind::Text | FieldKind::Date | FieldKind::SingleChoice => J::String(cell.to_owned()),
    }
}

/// One value as stored: of the field's kind (choices as the field spells them).
fn checked(f: &CustomField, path: &str, v: &serde_json::Value) -> Result<serde_json::Value, FieldError> {
    use serde_json::Value as J;
    let wrong = |what: &str| FieldError::new(path, "wrong_type", format!("the field {:?} takes {what}", f.name));
    let choice = |c: &J| -> Result<String, FieldError> {
        let c = c.as_str().ok_or_else(|| wrong("one of its choices"))?;
        f.choices.iter().find(|x| name_key(x) == name_key(c)).cloned().ok_or_else(|| {
            FieldError::new(path, "not_a_choice", format!("{c:?} is not one of the choices of {:?}", f.name))
        })
    };
    match (f.kind, v) {
        (FieldKind::Text, J::String(s)) => {
            if s.chars().count() > MAX_TEXT {
                return Err(FieldError::new(path, "too_long", format!("at most {MAX_TEXT} characters")));
            }
            if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return Err(FieldError::new(path, "invalid", "must not contain control characters"));
            }
            Ok(J::String(s.clone()))
        }
        (FieldKind::Number, J::Number(n)) => Ok(J::Number(n.clone())),
        (FieldKind::Date, J::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| J::String(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| wrong("a date (YYYY-MM-DD)")),
        (FieldKind::Boolean, J::Bool(b)) => Ok(J::Bool(*b)),
        (FieldKind::SingleChoice, c) => choice(c).map(J::String),
        (FieldKind::MultipleChoice, J::Array(cs)) => {
            let mut out: Vec<String> = Vec::new();
            for c in cs {
                let c = choice(c)?;
                if !out.contains(&c) {
                    out.push(c);
                }
            }
            Ok(J::Array(out.into_iter().map(J::String).collect()))
        }
        (FieldKind::Text, _) => Err(wrong("text")),
        (FieldKind::Number, _) => Err(wrong("a number")),
        (FieldKind::Date, _) => Err(wrong("a date (YYYY-MM-DD)")),
        (FieldKind::Boolean, _) => Err(wrong("true or false")),
        (FieldKind::MultipleChoice, _) => Err(wrong("a list of its choices")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, kind: FieldKind, required: bool, choices: &[&str]) -> CustomField {
        CustomField {
            id: CustomFieldId::new(),
            account_id: AccountId::new(),
            target: FieldTarget::User,
            name: name.into(),
            kind,
            required,
            choices: choices.iter().map(|c| (*c).to_owned()).collect(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        }
    }

    fn change(pairs: &[(&CustomField, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
        pairs.iter().map(|(f, v)| (f.id.to_string(), v.clone())).collect()
    }

    #[test]
    fn each_kind_takes_its_own_values() {
        let text = field("Notes", FieldKind::Text, false, &[]);
        let num = field("Seats", FieldKind::Number, false, &[]);
        let date = field("Renewal", FieldKind::Date, false, &[]);
        let flag = field("VIP", FieldKind::Boolean, false, &[]);
        let plan = field("Plan", FieldKind::SingleChoice, false, &["Basic", "Pro"]);
        let tags = field("Tags", FieldKind::MultipleChoice, false, &["a", "b"]);
        let all = [text.clone(), num.clone(), date.clone(), flag.clone(), plan.clone(), tags.clone()];
        let good = change(&[
            (&text, json!("hi\nthere")),
            (&num, json!(12.5)),
            (&date, json!("2026-02-28")),
            (&flag, json!(true)),
            (&plan, json!("pro")),
            (&tags, json!(["b", "A", "b"])),
        ]);
        let v = apply(&all, &Values::new(), &good).unwrap();
        assert_eq!(v[&plan.id.to_string()], json!("Pro"), "spelled as the field spells it");
        assert_eq!(v[&tags.id.to_string()], json!(["b", "a"]));
        for (f, bad, code) in [
            (&text, json!(1), "wrong_type"),
            (&num, json!("12"), "wrong_type"),
            (&date, json!("2026-02-30"), "wrong_type"),
            (&flag, json!("yes"), "wrong_type"),
            (&plan, json!("Gold"), "not_a_choice"),
            (&tags, json!("a"), "wrong_type"),
            (&text, json!("x".repeat(MAX_TEXT + 1)), "too_long"),
        ] {
            let e = apply(&all, &Values::new(), &change(&[(f, bad)])).unwrap_err();
            assert_eq!((e[0].field.clone(), e[0].code), (format!("custom_fields.{}", f.id), code));
        }
    }

    #[test]
    fn unknown_and_missing_required_fields_are_named() {
        let req = field("Customer number", FieldKind::Text, true, &[]);
        let mut c = serde_json::Map::new();
        c.insert("nope".into(), json!(1));
        c.insert(CustomFieldId::new().to_string(), json!(1));
        let e = apply(std::slice::from_ref(&req), &Values::new(), &c).unwrap_err();
        assert_eq!(e.iter().map(|e| e.code).collect::<Vec<_>>(), ["unknown_field", "invalid", "required"]);
        assert_eq!(e[2].field, format!("custom_fields.{}", req.id));
        // Null removes a value — not a required one.
        let set = apply(std::slice::from_ref(&req), &Values::new(), &change(&[(&req, json!("7"))])).unwrap();
        assert!(apply(std::slice::from_ref(&req), &set, &change(&[(&req, json!(null))])).is_err());
    }

    #[test]
    fn values_of_deleted_fields_go() {
        let kept = field("Kept", FieldKind::Boolean, false, &[]);
        let mut values = Values::new();
        values.insert(kept.id.to_string(), json!(true));
        values.insert(CustomFieldId::new().to_string(), json!("left over"));
        assert_eq!(visible(std::slice::from_ref(&kept), &values).len(), 1);
        assert_eq!(apply(std::slice::from_ref(&kept), &values, &serde_json::Map::new()).unwrap().len(), 1);
    }

    #[test]
    fn cells_become_values_of_the_fields_kind() {
        let of = |kind, cell| from_cell(&field("F", kind, false, &["A", "B"]), cell);
        assert_eq!(of(FieldKind::Number, " 12.5 "), json!(12.5));
        assert_eq!(of(FieldKind::Number, "twelve"), json!("twelve"));
        assert_eq!(of(FieldKind::Boolean, "Yes"), json!(true));
        assert_eq!(of(FieldKind::Boolean, "0"), json!(false));
        assert_eq!(of(FieldKind::MultipleChoice, "A; b;"), json!(["A", "b"]));
        assert_eq!(of(FieldKind::Date, "2026-01-31"), json!("2026-01-31"));
        // What no kind reads stays text, and the field's check names it.
        let f = field("Seats", FieldKind::Number, false, &[]);
        let mut c = serde_json::Map::new();
        c.insert(f.id.to_string(), from_cell(&f, "many"));
        assert_eq!(apply(std::slice::from_ref(&f), &Values::new(), &c).unwrap_err()[0].code, "wrong_type");
    }

    #[test]
    fn choices_belong_to_choice_fields_once_each() {
        assert!(choices(FieldKind::Text, &["a".into()]).is_err());
        assert!(choices(FieldKind::SingleChoice, &[]).is_err());
        assert_eq!(choices(FieldKind::MultipleChoice, &["A".into(), " a".into(), "B".into()]).unwrap(), ["A", "B"]);
        assert_eq!(choices(FieldKind::SingleChoice, &[" Pro ".into()]).unwrap(), ["Pro"]);
    }
}
