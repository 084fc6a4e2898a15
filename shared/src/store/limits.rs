//! DynamoDB's request limits, enforced here because moto does not enforce them.
use aws_sdk_dynamodb::types::AttributeValue;
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

/// An item's size as DynamoDB counts it: every attribute's name plus its value (strings and
/// binaries by length, numbers by digits, containers by their contents plus a little each).
pub(crate) fn item_size(item: &std::collections::HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(l) | AttributeValue::Ns(l) => l.iter().map(String::len).sum(),
        AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, x)| 1 + k.len() + value_size(x)).sum::<usize>(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_sizes_count_names_and_values() {
        let item = std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S("ACCOUNT#1".into())),
            ("n".to_owned(), AttributeValue::N("12345".into())),
            ("l".to_owned(), AttributeValue::L(vec![AttributeValue::S("ab".into())])),
        ]);
        assert_eq!(item_size(&item), (2 + 9) + (1 + 5) + (1 + 3 + 1 + 2));
    }

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
