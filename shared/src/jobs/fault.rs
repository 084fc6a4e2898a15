//! Fault injection for the crash tests: with `ROSTER_FAULT_ABORT=point:n` set, the process
//! dies (abort, as a killed Lambda would) the `n`-th time it passes `point`. Inert otherwise.
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

static PLAN: LazyLock<Option<(String, u64)>> = LazyLock::new(|| {
    let raw = std::env::var("ROSTER_FAULT_ABORT").ok()?;
    let (point, n) = raw.split_once(':')?;
    Some((point.to_owned(), n.parse().ok()?))
});
static PASSED: AtomicU64 = AtomicU64::new(0);

/// A place where a crash must lose nothing (named in the crash tests).
pub fn point(name: &str) {
    if let Some((point, n)) = PLAN.as_ref()
        && point == name
        && PASSED.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("fault injection: aborting at {name} #{n}");
        std::process::abort();
    }
}
