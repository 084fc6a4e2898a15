//! DynamoDB's request limits, enforced here because moto does not enforce them.
use std::time::Duration;

/// Keys in one `BatchGetItem`.
pub(crate) const BATCH_GET_MAX: usize = 100;
/// Requests in one `BatchWriteItem`.
pub(crate) const BATCH_WRITE_MAX: usize = 25;
/// Attempts at a batch whose answer leaves items unprocessed (throttling), before giving up.
pub(crate) const RETRIES: u32 = 8;

/// Query pages one filtered list reads at most per request: a selective filter over a large
/// account answers a partial page (maybe empty) with a cursor, instead of reading on without
/// bound.
pub(crate) const FILTERED_READS: usize = 5;

/// `items` in runs of at most `max` (no empty run).
pub(crate) fn chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    items.chunks(max.max(1)).collect()
}

/// Exponential backoff for the retry `attempt` (1-based), capped at a second.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((25u64 << attempt.min(6)).min(1_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_never_exceed_dynamodbs_limits() {
        let keys: Vec<u32> = (0..250).collect();
        let runs = chunks(&keys, BATCH_GET_MAX);
        assert_eq!(runs.iter().map(|r| r.len()).collect::<Vec<_>>(), [100, 100, 50]);
        assert_eq!(runs.concat(), keys);
        assert_eq!(chunks(&keys[..25], BATCH_WRITE_MAX).len(), 1);
        assert_eq!(chunks(&keys[..26], BATCH_WRITE_MAX).len(), 2);
        assert!(chunks::<u32>(&[], BATCH_GET_MAX).is_empty());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) < backoff(2));
        assert_eq!(backoff(30), Duration::from_millis(1_000));
    }
}
