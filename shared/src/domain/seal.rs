//! Tamper evidence for the system log (SPEC §8), CloudTrail's digest model: writes append
//! entries freely; a scheduled run seals older entries into a digest per account — an HMAC over
//! the entries' content hashes in order, chained to the previous digest's HMAC. Verifying
//! recomputes the chain and compares every sealed entry with what is stored now.
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// One sealed entry: its id and the hash of its stored content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub id: String,
    pub hash: String,
}

/// A digest: entries in id order, after the previous digest's last one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Digest {
    pub seq: u64,
    pub entries: Vec<Sealed>,
    pub prev_mac: String,
    pub mac: String,
    pub sealed_at: chrono::DateTime<chrono::Utc>,
    /// The version of the signing secret that sealed it (absent on digests from before
    /// rotation was possible: the current version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// Entries one digest holds at most (keeps the item far below DynamoDB's 400 KB).
pub const DIGEST_MAX_ENTRIES: usize = 1000;

pub fn mac(key: &[u8], seq: u64, prev_mac: &str, entries: &[Sealed]) -> String {
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else { return String::new() };
    m.update(format!("roster-audit-digest-v1\n{seq}\n{prev_mac}\n").as_bytes());
    for e in entries {
        m.update(format!("{}:{}\n", e.id, e.hash).as_bytes());
    }
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

impl Digest {
    pub fn seal(
        (key, key_id): (&[u8], &str),
        previous: Option<&Digest>,
        entries: Vec<Sealed>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let seq = previous.map_or(1, |p| p.seq + 1);
        let prev_mac = previous.map(|p| p.mac.clone()).unwrap_or_default();
        let mac = mac(key, seq, &prev_mac, &entries);
        Self { seq, entries, prev_mac, mac, sealed_at: at, key_id: Some(key_id.to_owned()) }
    }

    pub fn last_id(&self) -> Option<&str> {
        self.entries.last().map(|e| e.id.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// A digest is missing from the chain, or its HMAC or link no longer matches.
    DigestAltered {
        seq: u64,
    },
    DigestMissing {
        seq: u64,
    },
    /// A sealed entry's content changed.
    EntryEdited {
        digest: u64,
        entry_id: String,
    },
    /// A sealed entry is gone.
    EntryDeleted {
        digest: u64,
        entry_id: String,
    },
    /// An entry appeared among sealed ones.
    EntryInserted {
        digest: u64,
        entry_id: String,
    },
}

/// Where a walk along the chain stands: the next digest it expects, the HMAC that digest must
/// chain to, and the last entry sealed before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainPosition {
    pub next_seq: u64,
    pub prev_mac: String,
    pub after: Option<String>,
}

impl Default for ChainPosition {
    fn default() -> Self {
        Self { next_seq: 1, prev_mac: String::new(), after: None }
    }
}

impl ChainPosition {
    /// Past `d`: a missing digest is reported once, and the walk goes on from the one found.
    pub fn past(&self, d: &Digest) -> Self {
        Self {
            next_seq: d.seq + 1,
            prev_mac: d.mac.clone(),
            after: d.last_id().map(str::to_owned).or_else(|| self.after.clone()),
        }
    }
}

/// Check one digest's own integrity and link to the one before it.
pub fn check_digest(key: &[u8], expected_seq: u64, prev_mac: &str, d: &Digest) -> Option<Finding> {
    if d.seq != expected_seq {
        return Some(Finding::DigestMissing { seq: expected_seq });
    }
    (d.prev_mac != prev_mac || mac(key, d.seq, &d.prev_mac, &d.entries) != d.mac)
        .then_some(Finding::DigestAltered { seq: d.seq })
}

/// Compare what a digest sealed with the entries stored now in its range (both in id order).
pub fn compare(digest: u64, sealed: &[Sealed], stored: &[Sealed]) -> Vec<Finding> {
    let (mut i, mut j, mut found) = (0, 0, Vec::new());
    while i < sealed.len() || j < stored.len() {
        match (sealed.get(i), stored.get(j)) {
            (Some(a), Some(b)) if a.id == b.id => {
                if a.hash != b.hash {
                    found.push(Finding::EntryEdited { digest, entry_id: a.id.clone() });
                }
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.id < b.id => {
                found.push(Finding::EntryDeleted { digest, entry_id: a.id.clone() });
                i += 1;
            }
            (Some(a), None) => {
                found.push(Finding::EntryDeleted { digest, entry_id: a.id.clone() });
                i += 1;
            }
            (_, Some(b)) => {
                found.push(Finding::EntryInserted { digest, entry_id: b.id.clone() });
                j += 1;
            }
            (None, None) => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: &str, hash: &str) -> Sealed {
        Sealed { id: id.into(), hash: hash.into() }
    }

    #[test]
    fn a_chain_verifies_and_any_change_to_a_digest_shows() {
        let key = b"k".repeat(32);
        let now = chrono::Utc::now();
        let d1 = Digest::seal((&key, "k1"), None, vec![e("a", "1"), e("b", "2")], now);
        let d2 = Digest::seal((&key, "k1"), Some(&d1), vec![e("c", "3")], now);
        assert_eq!(check_digest(&key, 1, "", &d1), None);
        assert_eq!(check_digest(&key, 2, &d1.mac, &d2), None);
        let mut forged = d2.clone();
        forged.entries[0].hash = "4".into();
        assert_eq!(check_digest(&key, 2, &d1.mac, &forged), Some(Finding::DigestAltered { seq: 2 }));
        // Re-sealing with another key does not pass.
        let other = Digest::seal((b"other key of thirty-two bytes!!!", "k2"), Some(&d1), d2.entries.clone(), now);
        assert_eq!(check_digest(&key, 2, &d1.mac, &other), Some(Finding::DigestAltered { seq: 2 }));
        // A dropped digest breaks the sequence.
        assert_eq!(
            check_digest(&key, 2, &d1.mac, &Digest::seal((&key, "k1"), Some(&d2), vec![], now)),
            Some(Finding::DigestMissing { seq: 2 })
        );
    }

    #[test]
    fn a_walk_moves_past_each_digest_and_over_a_gap() {
        let key = b"k".repeat(32);
        let now = chrono::Utc::now();
        let d1 = Digest::seal((&key, "k1"), None, vec![e("a", "1")], now);
        let d2 = Digest::seal((&key, "k1"), Some(&d1), vec![], now);
        let start = ChainPosition::default();
        let p1 = start.past(&d1);
        assert_eq!(p1, ChainPosition { next_seq: 2, prev_mac: d1.mac.clone(), after: Some("a".into()) });
        // A digest without entries keeps the last entry id.
        assert_eq!(p1.past(&d2).after.as_deref(), Some("a"));
        assert_eq!(check_digest(&key, p1.next_seq, &p1.prev_mac, &d2), None);
    }

    #[test]
    fn edits_deletions_and_insertions_are_named() {
        let sealed = [e("a", "1"), e("b", "2"), e("c", "3"), e("e", "5")];
        let stored = [e("a", "1"), e("b", "X"), e("d", "4"), e("e", "5"), e("f", "6")];
        assert_eq!(
            compare(7, &sealed, &stored),
            [
                Finding::EntryEdited { digest: 7, entry_id: "b".into() },
                Finding::EntryDeleted { digest: 7, entry_id: "c".into() },
                Finding::EntryInserted { digest: 7, entry_id: "d".into() },
                Finding::EntryInserted { digest: 7, entry_id: "f".into() },
            ]
        );
        assert!(compare(1, &sealed, &sealed).is_empty());
    }
}
