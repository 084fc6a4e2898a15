//! Importing end users (SPEC §5): a spreadsheet of people, read the way bulk invitations read
//! theirs (`bulk::read_csv`): a malformed line is that row's problem, a body that is not the
//! expected CSV is refused whole. Pure: the service creates each row through the one creation
//! path.
use super::bulk::{Columns, NotCsv, Numbered, read_csv};
use super::user::OrganizationRole;
use serde::{Deserialize, Serialize};

/// Rows one request imports at once; larger spreadsheets become a job.
pub const INLINE_MAX: usize = 100;
/// Rows one import job may hold.
pub const JOB_MAX: usize = 50_000;

pub const COLUMNS: Columns = Columns {
    all: &["name", "email", "other_emails", "phone", "external_id", "organization", "organization_role"],
    required: &["name", "email"],
};

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

/// Read an import spreadsheet: each data row is an `ImportRow` or the reason it is not one.
pub fn parse_csv(body: &[u8]) -> Result<Vec<Numbered<Result<ImportRow, String>>>, NotCsv> {
    let rows = read_csv(body, &COLUMNS)?;
    Ok(rows.into_iter().map(|r| Numbered { line: r.line, row: r.row.and_then(row_of) }).collect())
}

fn row_of(fields: Vec<String>) -> Result<ImportRow, String> {
    let mut f = fields.into_iter();
    let mut next = || f.next().unwrap_or_default();
    let (name, email, others, phone, external_id, organization, role) =
        (next(), next(), next(), next(), next(), next(), next());
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
        let rows = parse_csv(body.as_bytes()).unwrap();
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
    fn a_body_that_is_not_the_spreadsheet_is_refused_whole() {
        assert!(parse_csv(b"email\nann@acme.test\n").is_err(), "no name column");
        assert!(parse_csv(b"name,email,salary\n").is_err());
        assert!(parse_csv(b"\x89PNG\r\n\x1a\n\0\0\0").is_err());
    }
}
