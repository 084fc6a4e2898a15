//! Connections a run keeps open between its steps. A paged-results cookie is good only on the
//! connection that made it, so a run resumed by the same process continues its search where it
//! was; a run resumed elsewhere (another invocation) reconnects and reads up to its checkpoint
//! again (`Cursor::skip`).
use super::{Directory, DirectoryError, LdapDirectory, Page, Query};
use crate::domain::directory::RawEntry;
use crate::domain::ids::JobId;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Sessions kept at once, and how long an unused one is kept.
const KEPT: usize = 8;
const IDLE: Duration = Duration::from_secs(120);

/// A search in progress on an open connection.
pub struct Cursor {
    pub dir: LdapDirectory,
    pub query: Query,
    /// Which of the run's searches this is, and entries handed out so far.
    pub search: usize,
    pub position: u64,
    pub pages: u64,
    page_size: u32,
    buffer: VecDeque<RawEntry>,
    cookie: Vec<u8>,
    finished: bool,
}

impl Cursor {
    pub fn new(dir: LdapDirectory, query: Query, search: usize, page_size: u32) -> Self {
        Self {
            dir,
            query,
            search,
            position: 0,
            pages: 0,
            page_size,
            buffer: VecDeque::new(),
            cookie: Vec::new(),
            finished: false,
        }
    }

    /// Up to `n` next entries; fewer only at the end of the search.
    pub async fn take(&mut self, n: usize) -> Result<Vec<RawEntry>, DirectoryError> {
        while self.buffer.len() < n && !self.finished {
            let Page { entries, next } = self.dir.search_page(&self.query, &self.cookie, self.page_size).await?;
            self.pages += 1;
            self.buffer.extend(entries);
            match next {
                Some(c) => self.cookie = c,
                None => self.finished = true,
            }
        }
        let out: Vec<RawEntry> = self.buffer.drain(..n.min(self.buffer.len())).collect();
        self.position += out.len() as u64;
        Ok(out)
    }

    /// Read past the first `to` entries (a resumed run on a new connection).
    pub async fn skip(&mut self, to: u64) -> Result<(), DirectoryError> {
        while self.position < to {
            let want = usize::try_from(to - self.position).unwrap_or(usize::MAX).min(self.page_size as usize);
            if self.take(want).await?.is_empty() {
                break;
            }
        }
        Ok(())
    }

    /// Whether every entry has been handed out.
    pub fn done(&self) -> bool {
        self.finished && self.buffer.is_empty()
    }
}

#[derive(Default)]
pub struct Sessions(tokio::sync::Mutex<HashMap<JobId, (Cursor, Instant)>>);

impl Sessions {
    /// The open search of `job`, if this process has it at exactly this point.
    pub async fn take(&self, job: JobId, search: usize, position: u64) -> Option<Cursor> {
        let mut map = self.0.lock().await;
        let (c, _) = map.remove(&job)?;
        (c.search == search && c.position == position).then_some(c)
    }

    /// Keep `c` for `job`'s next step (the oldest sessions beyond `KEPT` are dropped).
    pub async fn keep(&self, job: JobId, c: Cursor) {
        let mut map = self.0.lock().await;
        let now = Instant::now();
        map.retain(|_, (_, at)| now.duration_since(*at) < IDLE);
        while map.len() >= KEPT {
            let Some(oldest) = map.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k) else { break };
            map.remove(&oldest);
        }
        map.insert(job, (c, now));
    }
}
