//! The directory engine (SPEC §6): reaching an LDAP server safely (Roster's own TLS, a guard that
//! lets no malformed answer reach ldap3, timeouts on everything) behind a small port, so the sync
//! logic is tested with a fake as well as against real servers.
pub mod ber;
mod guard;
mod ldap;
mod port;
mod sessions;

pub use ldap::{LdapDirectory, Target, Timeouts};
pub use port::{Directory, Page, Query};
pub use sessions::{Cursor, Sessions};

use crate::domain::directory::{MAX_RANGE_ROUNDS, RawEntry};

/// What went wrong talking to a directory, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot reach the directory server: {0}")]
    Unreachable(String),
    #[error("TLS with the directory server failed: {0}")]
    Tls(String),
    #[error("the directory refused the bind: {0}")]
    Bind(String),
    #[error("the directory answered with an error: {0}")]
    Ldap(String),
    #[error("the directory server sent a malformed answer: {0}")]
    Malformed(String),
    #[error("the directory server did not answer within {0} seconds")]
    Timeout(u64),
}

/// Read the rest of `name`'s values when the server sent only a range of them (AD's ranged
/// retrieval of large `memberOf` / `member` lists): ask for the next range of the entry until
/// the last one, within `MAX_RANGE_ROUNDS`.
pub async fn complete_ranges<D: Directory>(
    dir: &mut D,
    entry: &mut RawEntry,
    name: &str,
) -> Result<(), DirectoryError> {
    let malformed = DirectoryError::Malformed;
    let mut next = entry.take_range(name, None).map_err(malformed)?;
    for _ in 0..MAX_RANGE_ROUNDS {
        let Some(start) = next else { return Ok(()) };
        let ask = format!("{name};range={start}-*");
        let Some(mut part) = dir.read(&entry.dn, &[ask.as_str()]).await? else {
            return Ok(());
        };
        next = part.take_range(name, Some(start)).map_err(malformed)?;
        entry.absorb(part, name);
    }
    Err(DirectoryError::Malformed(format!("{name} of {} has more values than Roster reads", entry.dn)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A server that sends `memberOf` of one entry 2 values at a time.
    struct Ranged {
        values: Vec<String>,
        reads: Vec<String>,
    }

    impl Directory for Ranged {
        async fn search_page(&mut self, _: &Query, _: &[u8], _: u32) -> Result<Page, DirectoryError> {
            Ok(Page::default())
        }

        async fn read(&mut self, dn: &str, attributes: &[&str]) -> Result<Option<RawEntry>, DirectoryError> {
            self.reads.push(attributes.join(","));
            let start: usize =
                attributes.first().and_then(|a| a.split_once("range=")?.1.split_once('-')?.0.parse().ok()).unwrap_or(0);
            Ok(Some(self.part(dn, start)))
        }
    }

    impl Ranged {
        fn part(&self, dn: &str, start: usize) -> RawEntry {
            let end = (start + 2).min(self.values.len());
            let last = if end == self.values.len() { "*".to_owned() } else { (end - 1).to_string() };
            let key = format!("memberOf;range={start}-{last}");
            let values = self.values.get(start..end).unwrap_or_default().to_vec();
            RawEntry { dn: dn.into(), attrs: HashMap::from([(key, values)]), bin_attrs: HashMap::new() }
        }
    }

    #[tokio::test]
    async fn ranged_values_are_read_to_the_last_range() {
        let values: Vec<String> = (0..7).map(|i| format!("cn=g{i}")).collect();
        let mut dir = Ranged { values: values.clone(), reads: Vec::new() };
        let mut entry = dir.part("uid=a", 0);
        entry.attrs.insert("mail".into(), vec!["a@x.test".into()]);
        complete_ranges(&mut dir, &mut entry, "memberOf").await.unwrap();
        assert_eq!(entry.values("memberOf"), values.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(dir.reads, ["memberOf;range=2-*", "memberOf;range=4-*", "memberOf;range=6-*"]);
        assert_eq!(entry.attrs.len(), 2, "no ranged name is left: {:?}", entry.attrs.keys());

        // Not ranged: nothing is read.
        let mut plain = RawEntry { dn: "uid=b".into(), ..Default::default() };
        plain.attrs.insert("memberOf".into(), vec!["cn=g".into()]);
        complete_ranges(&mut dir, &mut plain, "memberOf").await.unwrap();
        assert_eq!((plain.values("memberOf"), dir.reads.len()), (vec!["cn=g"], 3));
    }

    /// A server whose ranges never end, or go back.
    struct Looping;

    impl Directory for Looping {
        async fn search_page(&mut self, _: &Query, _: &[u8], _: u32) -> Result<Page, DirectoryError> {
            Ok(Page::default())
        }

        async fn read(&mut self, dn: &str, attributes: &[&str]) -> Result<Option<RawEntry>, DirectoryError> {
            let key = attributes.first().map(|a| a.replace("-*", "-0")).unwrap_or_default();
            Ok(Some(RawEntry { dn: dn.into(), attrs: HashMap::from([(key, vec!["x".into()])]), ..Default::default() }))
        }
    }

    #[tokio::test]
    async fn a_server_whose_ranges_do_not_move_forward_is_refused() {
        let mut entry = RawEntry { dn: "uid=a".into(), ..Default::default() };
        entry.attrs.insert("memberOf;range=0-0".into(), vec!["x".into()]);
        let e = complete_ranges(&mut Looping, &mut entry, "memberOf").await.unwrap_err();
        assert!(matches!(e, DirectoryError::Malformed(_)), "{e:?}");

        let mut two = RawEntry { dn: "uid=a".into(), ..Default::default() };
        two.attrs.insert("memberOf;range=0-0".into(), vec!["x".into()]);
        two.attrs.insert("memberOf;range=1-*".into(), vec!["y".into()]);
        assert!(complete_ranges(&mut Looping, &mut two, "memberOf").await.is_err());
    }
}
