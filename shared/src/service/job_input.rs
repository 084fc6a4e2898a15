//! A job's input rows, stored beside it in chunks (an item holds 400 KB) and read back a range at
//! a time: invitation jobs and user imports keep their spreadsheets this way.
use super::{Error, Result, Services};
use crate::jobs::Job;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Rows of a stored input chunk at most, and its size.
const CHUNK_ROWS: usize = 2_000;
const CHUNK_BYTES: usize = 300 * 1024;

/// The rows in chunks by their first row: up to `CHUNK_ROWS` rows and `CHUNK_BYTES` each.
pub(crate) fn chunk<T: Serialize>(rows: &[T]) -> Result<Vec<(u64, serde_json::Value)>> {
    let mut out = Vec::new();
    let (mut first, mut current, mut bytes) = (0u64, Vec::new(), 0usize);
    for (i, row) in rows.iter().enumerate() {
        let value = serde_json::to_value(row).map_err(|e| Error::Internal(e.to_string()))?;
        let size = value.to_string().len();
        if !current.is_empty() && (current.len() == CHUNK_ROWS || bytes + size > CHUNK_BYTES) {
            out.push((first, serde_json::Value::Array(std::mem::take(&mut current))));
            (first, bytes) = (i as u64, 0);
        }
        bytes += size;
        current.push(value);
    }
    if !current.is_empty() {
        out.push((first, serde_json::Value::Array(current)));
    }
    Ok(out)
}

/// Rows `[from, to)` of the job's input with their indexes, read from the chunks (by first row,
/// in order) that hold them.
pub(crate) async fn load<T: DeserializeOwned>(
    s: &Services,
    job: &Job,
    chunks: &[u64],
    from: u64,
    to: u64,
) -> Result<Vec<(u64, T)>> {
    let mut out = Vec::new();
    let start = chunks.iter().rposition(|c| *c <= from).unwrap_or(0);
    for first in chunks.iter().skip(start) {
        if *first >= to {
            break;
        }
        let rows = s.store.job_input(job, *first).await?.ok_or_else(|| Error::Internal("job input missing".into()))?;
        let rows: Vec<T> = serde_json::from_value(rows).map_err(|e| Error::Internal(format!("job input: {e}")))?;
        for (offset, row) in rows.into_iter().enumerate() {
            let index = first + offset as u64;
            if index >= from && index < to {
                out.push((index, row));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_at_most_their_rows_and_bytes() {
        let rows: Vec<String> = (0..4_500).map(|i| format!("row {i}")).collect();
        let chunks = chunk(&rows).unwrap();
        assert_eq!(chunks.iter().map(|(f, _)| *f).collect::<Vec<_>>(), [0, 2_000, 4_000]);
        let big: Vec<String> = (0..10).map(|_| "x".repeat(100 * 1024)).collect();
        let chunks = chunk(&big).unwrap();
        assert!(chunks.iter().all(|(_, v)| v.to_string().len() <= CHUNK_BYTES + 10));
        assert_eq!(chunks.len(), 5, "two 100 KB rows a chunk");
    }
}
