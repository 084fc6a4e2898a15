//! Importing end users (SPEC §5): a spreadsheet of people, read the way bulk invitations read
//! theirs (`bulk::read_csv`): a malformed line is that row's problem, a body that is not the
//! expected CSV is refused whole. Pure: the service creates each row through the one creation
//! path.
use super::bulk::{Columns, NotCsv, Numbered, read_csv};
use super::custom_field::{CustomField, name_key};
use super::user::OrganizationRole;
use serde::{Deserialize, Serialize};

/// Rows one request imports at once; larger spreadsheets become a job.
pub const INLINE_MAX: usize = 100;
/// Rows one import job may hold.
pub const JOB_MAX: usize = 50_000;

pub const COLUMNS: Columns = Columns {
    all: &["name", "email", "other_emails", "phone", "external_id", "organization", "organization_role"],
    required: &["name", "email"],
    extra: Some(FIELD_COLUMN),
};

/// A column headed `field:<name>` holds the values of the account's user field of that name.
pub const FIELD_COLUMN: &str = "field:";

/// One person, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRow {
    pub name: String,
    /// The primary email.
    pub email: String,
    /// More emails, `;`-separated in the file.
    pub other_emails: Vec<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    /// An organization's name or id to join by hand.
    pub organization: Option<String>,
    pub organization_role: OrganizationRole,
    /// Custom field values as written, by the field's name (empty cells left out).
    #[serde(default)]
    pub custom_fields: Vec<(String, String)>,
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ImportOutcome)]
pub enum Outcome {
    Created,
    /// A user of the account already has this email (or this external id).
    SkippedExisting,
    /// The same email came earlier in this file.
    SkippedDuplicateRow,
    Invalid,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::SkippedExisting => "skipped_existing",
            Self::SkippedDuplicateRow => "skipped_duplicate_row",
            Self::Invalid => "invalid",
        }
    }
}

/// An import spreadsheet as read.
pub struct Sheet {
    /// The custom fields its `field:` columns name.
    pub fields: Vec<String>,
    /// Each data row: an `ImportRow`, or the reason it is not one.
    pub rows: Vec<Numbered<Result<ImportRow, String>>>,
}

/// Read an import spreadsheet.
pub fn parse_csv(body: &[u8]) -> Result<Sheet, NotCsv> {
    let sheet = read_csv(body, &COLUMNS)?;
    let fields = sheet.extra;
    let rows = sheet.rows.into_iter().map(|r| Numbered { line: r.line, row: r.row.and_then(|f| row_of(f, &fields)) });
    Ok(Sheet { rows: rows.collect(), fields })
}

/// The field a `field:` column names (ignoring case).
pub fn field_named<'a>(fields: &'a [CustomField], name: &str) -> Option<&'a CustomField> {
    let key = name_key(name);
    fields.iter().find(|f| name_key(&f.name) == key)
}

/// The first of `names` that is no field of `fields`.
pub fn unknown_field<'a>(names: &'a [String], fields: &[CustomField]) -> Option<&'a str> {
    names.iter().find(|n| field_named(fields, n).is_none()).map(String::as_str)
}

fn row_of(fields: Vec<String>, custom: &[String]) -> Result<ImportRow, String> {
    let mut f = fields.into_iter();
    let mut next = || f.next().unwrap_or_default();
    let (name, email, others, phone, external_id, organization, role) =
        (next(), next(), next(), next(), next(), next(), next());
    let custom_fields =
        custom.iter().map(|field| (field.clone(), next())).filter(|(_, v)| !v.trim().is_empty()).collect();
    let given = |v: String| (!v.trim().is_empty()).then(|| v.trim().to_owned());
    let organization_role = match role.trim().to_ascii_lowercase().as_str() {
        "" | "member" => OrganizationRole::Member,
        "manager" => OrganizationRole::Manager,
        other => return Err(format!("organization_role {other:?} is neither member nor manager")),
    };
    let organization = given(organization);
    if organization.is_none() && organization_role == OrganizationRole::Manager {
        return Err("organization_role needs an organization".to_owned());
    }
    Ok(ImportRow {
        name,
        email,
        other_emails: others.split(';').map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect(),
        phone: given(phone),
        external_id: given(external_id),
        organization,
        organization_role,
        custom_fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_read_as_written_and_bad_lines_are_only_theirs() {
        let body = "\u{feff}Name,Email,Other Emails,organization,organization_role\r\n\
                    \"Lee, Ann\",ann@acme.test,ann@home.test; a.lee@acme.test,Acme,manager\r\n\
                    Bo,bo@acme.test,,,\r\n\
                    Cy,cy@acme.test,,,boss\r\n\
                    Di,di@acme.test,,,manager\r\n\
                    Ed\r\n";
        let rows = parse_csv(body.as_bytes()).unwrap().rows;
        let ann = rows[0].row.as_ref().unwrap();
        assert_eq!((ann.name.as_str(), ann.other_emails.len()), ("Lee, Ann", 2));
        assert_eq!((ann.organization.as_deref(), ann.organization_role), (Some("Acme"), OrganizationRole::Manager));
        let bo = rows[1].row.as_ref().unwrap();
        assert_eq!((bo.organization.clone(), bo.phone.clone()), (None, None));
        assert!(rows[2].row.as_ref().unwrap_err().contains("boss"));
        assert!(rows[3].row.as_ref().unwrap_err().contains("needs an organization"));
        assert_eq!((rows[4].line, rows[4].row.is_err()), (6, true));
    }

    #[test]
    fn field_columns_carry_custom_field_values_by_name() {
        let body = "name,Field: Customer number,email,FIELD:Tier\nAnn,C-1,ann@acme.test,\nBo,,bo@acme.test,Gold\n";
        let sheet = parse_csv(body.as_bytes()).unwrap();
        assert_eq!(sheet.fields, ["Customer number", "Tier"]);
        let values = |i: usize| sheet.rows[i].row.as_ref().unwrap().custom_fields.clone();
        assert_eq!(values(0), [("Customer number".to_owned(), "C-1".to_owned())]);
        assert_eq!(values(1), [("Tier".to_owned(), "Gold".to_owned())]);
        assert_eq!(sheet.rows[1].row.as_ref().unwrap().email, "bo@acme.test");
        assert!(parse_csv(b"name,email,field:\n").is_err(), "a field column names its field");
        assert!(parse_csv(b"name,email,field:Tier,field:tier\n").is_err(), "once each");
    }

    #[test]
    fn a_body_that_is_not_the_spreadsheet_is_refused_whole() {
        assert!(parse_csv(b"email\nann@acme.test\n").is_err(), "no name column");
        assert!(parse_csv(b"name,email,salary\n").is_err());
        assert!(parse_csv(b"\x89PNG\r\n\x1a\n\0\0\0").is_err());
    }
}
