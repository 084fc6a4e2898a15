//! What the sync needs from a directory: pages of a subtree search, and single entries (the
//! root DSE, a naming context's change marks).
use super::DirectoryError;
use crate::domain::directory::RawEntry;

/// One subtree search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub base: String,
    /// A checked RFC 4515 filter (`domain::directory::search_filter`).
    pub filter: String,
    pub attributes: Vec<String>,
}

/// One page of answers.
#[derive(Debug, Default)]
pub struct Page {
    pub entries: Vec<RawEntry>,
    /// The paged-results cookie for the next page; `None` after the last.
    pub next: Option<Vec<u8>>,
}

pub trait Directory: Send {
    /// The page after `cookie` (empty: the first) of at most `size` entries (RFC 2696).
    fn search_page(
        &mut self,
        q: &Query,
        cookie: &[u8],
        size: u32,
    ) -> impl std::future::Future<Output = Result<Page, DirectoryError>> + Send;

    /// The entry `dn` itself (a base-scope search; `""` is the root DSE), if it exists.
    fn read(
        &mut self,
        dn: &str,
        attributes: &[&str],
    ) -> impl std::future::Future<Output = Result<Option<RawEntry>, DirectoryError>> + Send;
}
