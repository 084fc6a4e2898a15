//! Bulk invitations (SPEC §2): the rows of a spreadsheet or a JSON list, read the way people
//! write them. A malformed row is that row's problem, with its line; a body that is not the
//! expected CSV at all is refused whole. Pure: the service invites.
use super::FieldError;
use serde::{Deserialize, Serialize};

/// Rows one request may hold (inline); larger lists are invitation jobs.
pub const INLINE_MAX: usize = 100;
/// The columns, in any order; `groups` may be left out.
pub const COLUMNS: [&str; 5] = ["email", "first_name", "last_name", "role", "groups"];

/// One person to invite, as written: checked by the same rules as a single invitation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Row {
    #[schema(schema_with = crate::http::openapi::field::email)]
    pub email: String,
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub first_name: String,
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub last_name: String,
    /// A basic role's id, a custom role's id, or a role's name (any case).
    #[schema(schema_with = crate::http::openapi::field::name)]
    pub role: String,
    /// Groups the member joins: ids or names (any case).
    #[serde(default)]
    #[schema(schema_with = crate::http::openapi::field::names)]
    pub groups: Vec<String>,
}

/// A row where it was found: the CSV line (the header is line 1), or the list position from 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbered<T> {
    pub line: u64,
    pub row: T,
}

/// The body is not the expected CSV: nothing is invited.
#[derive(Debug, PartialEq)]
pub struct NotCsv(pub String);

/// One line's fields, or why the line is not a row.
pub type Fields = Result<Vec<String>, String>;

/// A spreadsheet's shape: its columns (in any order in the file) and those it must have.
pub struct Columns {
    pub all: &'static [&'static str],
    pub required: &'static [&'static str],
    /// Columns whose header starts with this (ignoring case) are the sheet's own, named by
    /// what follows it (`field:Customer number`).
    pub extra: Option<&'static str>,
}

/// Extra columns one sheet may have.
pub const MAX_EXTRA_COLUMNS: usize = 100;

/// The invitation spreadsheet's.
pub const INVITATION_COLUMNS: Columns =
    Columns { all: &COLUMNS, required: &["email", "first_name", "last_name", "role"], extra: None };

/// A spreadsheet as read: the names of its extra columns, and each data row's fields (those of
/// `Columns::all` in that order, then the extra ones in the order of `extra`) or why the line is
/// not a row.
pub struct Sheet {
    pub extra: Vec<String>,
    pub rows: Vec<Numbered<Fields>>,
}

/// Read a CSV body: UTF-8 (a BOM is fine), a header naming the columns, quoted fields, CRLF or LF.
/// Each data row is a `Row` or the reason it is not one.
pub fn parse_csv(body: &[u8]) -> Result<Vec<Numbered<Result<Row, String>>>, NotCsv> {
    let rows = read_csv(body, &INVITATION_COLUMNS)?.rows;
    Ok(rows.into_iter().map(|r| Numbered { line: r.line, row: r.row.map(row_of) }).collect())
}

/// Read a CSV body of `columns` (names compared ignoring case, spaces and dashes; absent
/// optional columns are empty fields).
pub fn read_csv(body: &[u8], columns: &Columns) -> Result<Sheet, NotCsv> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let header = reader.byte_headers().map_err(|e| NotCsv(format!("the header line cannot be read: {e}")))?.clone();
    let (mut names, mut extra) = (Vec::with_capacity(header.len()), Vec::new());
    for h in &header {
        let h = std::str::from_utf8(h).map_err(|_| NotCsv("the header line is not valid UTF-8".into()))?.trim();
        let own = columns.extra.and_then(|p| {
            let (start, rest) = (h.get(..p.len())?, h.get(p.len()..)?);
            start.eq_ignore_ascii_case(p).then(|| rest.trim().to_owned())
        });
        if let Some(name) = own {
            if name.is_empty() || extra.iter().any(|x: &String| x.to_lowercase() == name.to_lowercase()) {
                return Err(NotCsv(format!("the column {h:?} is empty or repeated")));
            }
            // Kept apart from the named columns: `\u{0}` starts no normalised name.
            names.push(format!("\u{0}{}", extra.len()));
            extra.push(name);
        } else {
            names.push(h.to_ascii_lowercase().replace([' ', '-'], "_"));
        }
    }
    if extra.len() > MAX_EXTRA_COLUMNS {
        return Err(NotCsv(format!("at most {MAX_EXTRA_COLUMNS} {:?} columns", columns.extra.unwrap_or_default())));
    }
    if let Some(unknown) = names.iter().find(|n| !n.starts_with('\u{0}') && !columns.all.contains(&n.as_str())) {
        let extra = columns.extra.map(|p| format!(", and {p}<name> columns")).unwrap_or_default();
        return Err(NotCsv(format!("unknown column {unknown:?}; the columns are {}{extra}", columns.all.join(", "))));
    }
    if !columns.required.iter().all(|needed| names.iter().any(|n| n == needed)) {
        let optional: Vec<&str> = columns.all.iter().filter(|c| !columns.required.contains(c)).copied().collect();
        return Err(NotCsv(format!(
            "the header needs the columns {} (and optionally {})",
            columns.required.join(", "),
            optional.join(", ")
        )));
    }
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        // Where this record starts: after the previous one and any empty lines csv skips.
        let from = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
        let skipped = body.get(from..).map_or(0, |rest| rest.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count());
        let line = line_at(body, from.saturating_add(skipped));
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) => {} // a blank line
            Ok(true) => rows.push(Numbered { line, row: fields_of(&record, &names, columns, &extra) }),
            Err(_) => {
                rows.push(Numbered { line, row: Err("this line is not valid CSV".to_owned()) });
                // A reader that cannot get past the line would loop: stop there.
                if usize::try_from(reader.position().byte()).unwrap_or(usize::MAX) <= from {
                    break;
                }
            }
        }
    }
    Ok(Sheet { extra, rows })
}

/// The line (from 1) a byte offset is on, as an editor shows it.
fn line_at(body: &[u8], offset: usize) -> u64 {
    let end = offset.min(body.len());
    body.get(..end).map_or(0, |before| before.iter().filter(|b| **b == b'\n').count() as u64) + 1
}

fn fields_of(record: &csv::ByteRecord, names: &[String], columns: &Columns, extra: &[String]) -> Fields {
    if record.len() != names.len() {
        return Err(format!("this line has {} fields; the header has {}", record.len(), names.len()));
    }
    let named = columns.all.iter().map(|c| ((*c).to_owned(), (*c).to_owned()));
    let own = extra.iter().enumerate().map(|(i, x)| (format!("\u{0}{i}"), x.clone()));
    named
        .chain(own)
        .map(|(key, label)| {
            let raw = names.iter().position(|n| *n == key).and_then(|i| record.get(i)).unwrap_or_default();
            String::from_utf8(raw.to_vec()).map_err(|_| format!("{label} is not valid UTF-8"))
        })
        .collect()
}

/// An invitation row from its fields (in `COLUMNS` order).
fn row_of(fields: Vec<String>) -> Row {
    let mut f = fields.into_iter();
    let mut next = || f.next().unwrap_or_default();
    let (email, first_name, last_name, role, groups) = (next(), next(), next(), next(), next());
    Row {
        email,
        first_name,
        last_name,
        role,
        groups: groups.split(';').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned).collect(),
    }
}

/// A row's departures from the documented shape (JSON rows are held to it): the same formats
/// a single invitation's fields have.
pub fn shape_errors(row: &Row) -> Vec<FieldError> {
    use super::format::{EMAIL, NAME};
    let mut errors = Vec::new();
    let mut check = |field: &str, ok: bool| {
        if !ok {
            errors.push(FieldError::new(field, "invalid", format!("{field} does not have the documented shape")));
        }
    };
    check("email", EMAIL.matches(&row.email));
    check("first_name", NAME.matches(&row.first_name));
    check("last_name", NAME.matches(&row.last_name));
    check("role", NAME.matches(&row.role));
    check("groups", row.groups.iter().all(|g| NAME.matches(g)));
    errors
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Invited,
    /// Someone with this email is already a member or invited.
    SkippedExisting,
    /// The same email came earlier in this list.
    SkippedDuplicateRow,
    Invalid,
    /// The account's hourly invitation limit was reached before this row.
    RateLimited,
}

/// The first row of each email (case-insensitive) goes on; later ones are duplicates of it.
pub fn first_of_each_email<T>(rows: &[Numbered<Result<Row, T>>]) -> Vec<Option<u64>> {
    first_of_each(rows, |r| &r.email)
}

/// The same for rows of any kind, by the email `email` reads from a row: for each row, the
/// line of the earlier row it repeats.
pub fn first_of_each<R, T>(rows: &[Numbered<Result<R, T>>], email: impl Fn(&R) -> &str) -> Vec<Option<u64>> {
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    rows.iter()
        .map(|r| {
            let Ok(row) = &r.row else { return None };
            let key = email(row).trim().to_lowercase();
            match seen.get(&key) {
                Some(first) => Some(*first),
                None => {
                    seen.insert(key, r.line);
                    None
                }
            }
        })
        .collect()
}

/// Field errors as one sentence for a row's reason.
pub fn reason(errors: &[FieldError]) -> String {
    errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheets_are_read_as_people_write_them() {
        let body = "\u{feff}Email,First Name,last_name,ROLE,groups\r\n\
                    ann@acme.test,Ann,Lee,agent,Tier 1; Tier 2\r\n\
                    \"bo@acme.test\",\"Bo, Jr.\",\"Kim \"\"BK\"\"\",viewer,\r\n\
                    \r\n\
                    cy@acme.test,Cy,Park\r\n";
        let rows = parse_csv(body.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        let ann = rows[0].row.as_ref().unwrap();
        assert_eq!((rows[0].line, ann.groups.clone()), (2, vec!["Tier 1".to_owned(), "Tier 2".to_owned()]));
        let bo = rows[1].row.as_ref().unwrap();
        assert_eq!((bo.first_name.as_str(), bo.last_name.as_str(), bo.groups.len()), ("Bo, Jr.", "Kim \"BK\"", 0));
        assert_eq!(rows[2].line, 5);
        assert!(rows[2].row.as_ref().unwrap_err().contains("3 fields"));
    }

    #[test]
    fn a_bad_row_is_only_that_row() {
        let mut body = b"email,first_name,last_name,role\nann@acme.test,Ann,Lee,agent\n".to_vec();
        body.extend_from_slice(b"bo@acme.test,B\xff,Kim,agent\n");
        let rows = parse_csv(&body).unwrap();
        assert!(rows[0].row.is_ok());
        assert_eq!((rows[1].line, rows[1].row.clone().unwrap_err()), (3, "first_name is not valid UTF-8".to_owned()));
    }

    #[test]
    fn a_body_that_is_not_the_csv_is_refused_whole() {
        assert!(parse_csv(b"\x89PNG\r\n\x1a\n\0\0\0").is_err());
        assert!(parse_csv(b"name,mail\nAnn,ann@acme.test\n").is_err());
        assert!(parse_csv(b"email,first_name,last_name,role,salary\n").is_err());
        assert!(parse_csv(b"").is_err());
    }

    #[test]
    fn later_rows_with_the_same_email_are_duplicates_of_the_first() {
        let row = |line, email: &str| Numbered {
            line,
            row: Ok::<_, String>(Row {
                email: email.into(),
                first_name: "A".into(),
                last_name: "B".into(),
                role: "agent".into(),
                groups: vec![],
            }),
        };
        let rows = [row(2, "ann@acme.test"), row(3, "bo@acme.test"), row(4, " ANN@acme.test")];
        assert_eq!(first_of_each_email(&rows), [None, None, Some(2)]);
    }
}
