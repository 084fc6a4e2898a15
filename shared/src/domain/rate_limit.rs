//! Rate limits as fixed windows that never lose a count: each window is counted under its own
//! number, so a new window starts at zero without overwriting anyone's increment, and the count
//! is taken atomically *before* the work it guards. Logins add a lockout that grows with each
//! repeat offence and is capped, so an attacker can slow a person down but never lock them out
//! for good.

/// A limit: at most `max` events per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_secs: i64,
}

/// Failed-login guesses per account+email before a lockout.
pub const LOGIN: Limit = Limit { max: 10, window_secs: 15 * 60 };
/// find-web-address requests per email (known or not).
pub const FIND_ADDRESS: Limit = Limit { max: 5, window_secs: 3600 };
/// Password-reset requests per account+email (known or not).
pub const PASSWORD_RESET: Limit = Limit { max: 5, window_secs: 3600 };
/// An account's invitations per hour, at its own limit.
pub fn invitations(per_hour: u32) -> Limit {
    Limit { max: per_hour, window_secs: 3600 }
}
/// An unverified account's invitations in all (one window that never ends).
pub fn unverified_invitations(max: u32) -> Limit {
    Limit { max, window_secs: 100 * 365 * 24 * 3600 }
}
/// The longest a login lockout lasts, however often it is triggered.
pub const LOCKOUT_CAP_SECS: i64 = 60 * 60;
/// How long a lockout is remembered for the next one to be longer.
pub const STRIKE_MEMORY_SECS: i64 = 24 * 60 * 60;

impl Limit {
    /// The number of the window `now` (epoch seconds) falls in.
    pub fn window(self, now: i64) -> i64 {
        now.div_euclid(self.window_secs.max(1))
    }

    /// The attribute a window is counted under.
    pub fn window_name(self, now: i64) -> String {
        format!("w{}", self.window(now))
    }

    /// The previous window's attribute (removed when the next one is counted).
    pub fn previous_window_name(self, now: i64) -> String {
        format!("w{}", self.window(now) - 1)
    }

    /// Seconds until the window of `now` ends (at least 1).
    pub fn retry_after(self, now: i64) -> i64 {
        ((self.window(now) + 1) * self.window_secs - now).max(1)
    }
}

/// Of `wanted` events counted at once, bringing the window's count to `count`: how many fit
/// under `max` (the others go back).
pub fn allowed_of(count: i64, wanted: u32, max: u32) -> u32 {
    let before = count - i64::from(wanted);
    let room = (i64::from(max) - before).clamp(0, i64::from(wanted));
    u32::try_from(room).unwrap_or(0)
}

/// A lockout's length for the `strike`-th offence (1-based): the window, doubling, capped.
pub fn lockout_secs(limit: Limit, strike: u32) -> i64 {
    let doubled = limit.window_secs.saturating_mul(1i64 << strike.saturating_sub(1).min(20));
    doubled.min(LOCKOUT_CAP_SECS)
}

/// Which offence this is: one more than the last if that was recent, else the first.
pub fn next_strike(previous: u32, last_strike_at: Option<i64>, now: i64) -> u32 {
    match last_strike_at {
        Some(t) if now - t < STRIKE_MEMORY_SECS => previous.saturating_add(1),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gets_what_is_left_of_the_window() {
        assert_eq!(allowed_of(30, 30, 500), 30, "plenty of room");
        assert_eq!(allowed_of(520, 30, 500), 10, "ten left");
        assert_eq!(allowed_of(600, 30, 500), 0, "none left");
        assert_eq!(allowed_of(500, 500, 500), 500, "exactly the limit");
    }

    #[test]
    fn windows_are_numbered_and_end_on_time() {
        let l = Limit { max: 5, window_secs: 3600 };
        assert_eq!(l.window(7199), 1);
        assert_eq!(l.window(7200), 2);
        assert_eq!((l.window_name(7200), l.previous_window_name(7200)), ("w2".to_owned(), "w1".to_owned()));
        assert_eq!(l.retry_after(7200), 3600);
        assert_eq!(l.retry_after(10_799), 1);
    }

    #[test]
    fn lockouts_double_and_stop_growing_at_the_cap() {
        assert_eq!(lockout_secs(LOGIN, 1), 15 * 60);
        assert_eq!(lockout_secs(LOGIN, 2), 30 * 60);
        assert_eq!(lockout_secs(LOGIN, 3), 60 * 60);
        assert_eq!(lockout_secs(LOGIN, 50), LOCKOUT_CAP_SECS);
    }

    #[test]
    fn offences_are_forgotten_after_a_day() {
        assert_eq!(next_strike(0, None, 100), 1);
        assert_eq!(next_strike(2, Some(100), 200), 3);
        assert_eq!(next_strike(2, Some(100), 100 + STRIKE_MEMORY_SECS), 1);
    }
}
