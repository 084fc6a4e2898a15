//! Small bookkeeping items: rate-limit counters (failed logins, find-web-address requests,
//! invitations; one item per subject, each window its own attribute, expired by TTL) and the
//! scheduled jobs' cursors.
use super::keys::{self, Key};
use super::tx::n;
use super::{Store, StoreError, StoreResult};
use crate::domain::account::{Account, UNVERIFIED_INVITATIONS};
use crate::domain::email::Email;
use crate::domain::ids::AccountId;
use crate::domain::rate_limit::{self, Limit};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::Deserialize;
use std::collections::HashMap;

/// What a counted event may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Within the limit; `window` names the attribute it was counted under (to give it back).
    Allowed { window: String },
    /// Over the limit or locked: try again after this many seconds.
    Refused { retry_after: i64 },
}

/// What an invitation may do; `Allowed` names the windows it was counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitationAdmission {
    Allowed {
        hour: String,
        cap: Option<String>,
    },
    HourlyLimit {
        retry_after: i64,
    },
    /// The account's owner has not verified their email and the small cap is used up.
    Unverified,
}

/// What a batch of invitations may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// How many (the first ones) may be invited now.
    pub allowed: u32,
    /// When the rest may be: seconds from now.
    pub retry_after: Option<i64>,
    hour: String,
    cap: Option<String>,
}

/// A login guard's lock, read when a locked guard refuses a count.
#[derive(Deserialize)]
struct Lock {
    locked_until: Option<i64>,
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

impl Store {
    /// Count one event against `limit` before doing the work it guards. One atomic `ADD` on
    /// the current window's attribute: concurrent callers get distinct counts, so at most
    /// `limit.max` are allowed, and a new window never overwrites anyone's count. With `lockable`
    /// the first event over the limit locks the subject for a growing, capped time.
    async fn admit(&self, key: &Key, limit: Limit, lockable: bool, now: i64) -> StoreResult<Admission> {
        let window = limit.window_name(now);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression("ADD #w :one SET #ttl = :ttl REMOVE #prev")
            .expression_attribute_names("#w", &window)
            .expression_attribute_names("#prev", limit.previous_window_name(now))
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(now + rate_limit::STRIKE_MEMORY_SECS.max(limit.window_secs * 2)))
            .return_values(ReturnValue::AllNew);
        if lockable {
            update = update
                .condition_expression("attribute_not_exists(locked_until) OR locked_until <= :now")
                .expression_attribute_values(":now", n(now));
        }
        let item = match update.send().await.map_err(StoreError::from_sdk) {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(StoreError::Conflict(_)) => {
                let until = self.get::<Lock>(key).await?.and_then(|l| l.locked_until).unwrap_or(now + 1);
                return Ok(Admission::Refused { retry_after: (until - now).max(1) });
            }
            Err(e) => return Err(e),
        };
        let count = number(&item, &window).unwrap_or(1);
        if count <= i64::from(limit.max) {
            return Ok(Admission::Allowed { window });
        }
        if !lockable || count > i64::from(limit.max) + 1 {
            return Ok(Admission::Refused { retry_after: limit.retry_after(now) });
        }
        // Exactly one caller sees the first count over the limit: it sets the lock.
        let strike = rate_limit::next_strike(
            number(&item, "strikes").and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
            number(&item, "last_strike_at"),
            now,
        );
        let lock = rate_limit::lockout_secs(limit, strike);
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression("SET locked_until = :until, strikes = :strike, last_strike_at = :now")
            .expression_attribute_values(":until", n(now + lock))
            .expression_attribute_values(":strike", n(strike))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(Admission::Refused { retry_after: lock })
    }

    /// Give back an allowed event (a login that turned out to be right is not a failure).
    async fn give_back(&self, key: &Key, window: &str) -> StoreResult<()> {
        self.give_back_n(key, window, 1).await
    }

    /// Give back `count` allowed events of a window.
    async fn give_back_n(&self, key: &Key, window: &str, count: u32) -> StoreResult<()> {
        if count == 0 {
            return Ok(());
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression("ADD #w :minus")
            .condition_expression("#w >= :count")
            .expression_attribute_names("#w", window)
            .expression_attribute_values(":minus", n(-i64::from(count)))
            .expression_attribute_values(":count", n(count))
            .send()
            .await
            .map_err(StoreError::from_sdk);
        match result {
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Count `wanted` events at once (a batch of invitations): how many of them the limit
    /// allows, in order; the rest are given back at once.
    async fn admit_many(&self, key: &Key, limit: Limit, wanted: u32, now: i64) -> StoreResult<(u32, String)> {
        let window = limit.window_name(now);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression("ADD #w :k SET #ttl = :ttl REMOVE #prev")
            .expression_attribute_names("#w", &window)
            .expression_attribute_names("#prev", limit.previous_window_name(now))
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":k", n(wanted))
            .expression_attribute_values(":ttl", n(now + limit.window_secs * 2))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let count = number(&out.attributes.unwrap_or_default(), &window).unwrap_or(i64::from(wanted));
        let allowed = rate_limit::allowed_of(count, wanted, limit.max);
        self.give_back_n(key, &window, wanted - allowed).await?;
        Ok((allowed, window))
    }

    /// A login attempt for this account+email, counted before the password is checked.
    pub async fn admit_login(&self, a: AccountId, e: &Email, now: i64) -> StoreResult<Admission> {
        self.admit(&keys::login_failures(a, e), rate_limit::LOGIN, true, now).await
    }

    /// The attempt was right: it does not count towards the limit.
    pub async fn login_succeeded(&self, a: AccountId, e: &Email, window: &str) -> StoreResult<()> {
        self.give_back(&keys::login_failures(a, e), window).await
    }

    /// A password-reset request for an account+email (known or not).
    pub async fn admit_reset(&self, a: AccountId, e: &Email, now: i64) -> StoreResult<Admission> {
        self.admit(&keys::reset_requests(a, e), rate_limit::PASSWORD_RESET, false, now).await
    }

    /// One invitation of the account, against its hourly limit and, while the owner's email is
    /// not verified, against the small cap for such accounts. `Refused` with `retry_after` 0
    /// means the cap: only verifying the email lifts it.
    pub async fn admit_invitation(&self, account: &Account, now: i64) -> StoreResult<InvitationAdmission> {
        let hourly = keys::invitation_counter(account.id, "HOUR");
        let hour = match self.admit(&hourly, rate_limit::invitations(account.invitations_per_hour), false, now).await? {
            Admission::Allowed { window } => window,
            Admission::Refused { retry_after } => return Ok(InvitationAdmission::HourlyLimit { retry_after }),
        };
        if account.email_verified_at.is_some() {
            return Ok(InvitationAdmission::Allowed { hour, cap: None });
        }
        let capped = keys::invitation_counter(account.id, "UNVERIFIED");
        match self.admit(&capped, rate_limit::unverified_invitations(UNVERIFIED_INVITATIONS), false, now).await? {
            Admission::Allowed { window } => Ok(InvitationAdmission::Allowed { hour, cap: Some(window) }),
            Admission::Refused { .. } => {
                self.give_back(&hourly, &hour).await?;
                Ok(InvitationAdmission::Unverified)
            }
        }
    }

    /// An admitted invitation that was not sent after all (its email was taken, say).
    pub async fn invitation_not_sent(&self, account: AccountId, admitted: &InvitationAdmission) -> StoreResult<()> {
        if let InvitationAdmission::Allowed { hour, cap } = admitted {
            self.give_back(&keys::invitation_counter(account, "HOUR"), hour).await?;
            if let Some(w) = cap {
                self.give_back(&keys::invitation_counter(account, "UNVERIFIED"), w).await?;
            }
        }
        Ok(())
    }

    /// `wanted` invitations of the account at once (a step of an invitation job): how many the
    /// hourly limit and, while the owner is unverified, the small cap allow now.
    pub async fn admit_invitations(&self, account: &Account, wanted: u32, now: i64) -> StoreResult<Admitted> {
        if wanted == 0 {
            return Ok(Admitted { allowed: 0, retry_after: None, hour: String::new(), cap: None });
        }
        let hourly = keys::invitation_counter(account.id, "HOUR");
        let limit = rate_limit::invitations(account.invitations_per_hour);
        let (mut allowed, hour) = self.admit_many(&hourly, limit, wanted, now).await?;
        let mut retry_after = (allowed < wanted).then(|| limit.retry_after(now));
        let mut cap = None;
        if account.email_verified_at.is_none() && allowed > 0 {
            let capped = keys::invitation_counter(account.id, "UNVERIFIED");
            let (in_cap, window) = self
                .admit_many(&capped, rate_limit::unverified_invitations(UNVERIFIED_INVITATIONS), allowed, now)
                .await?;
            self.give_back_n(&hourly, &hour, allowed - in_cap).await?;
            if in_cap < allowed {
                // Only verifying the owner's email lifts the cap: look again in an hour.
                retry_after = Some(retry_after.unwrap_or(3600));
            }
            allowed = in_cap;
            cap = Some(window);
        }
        Ok(Admitted { allowed, retry_after, hour, cap })
    }

    /// Admitted invitations that were not sent after all (their emails were taken).
    pub async fn invitations_not_sent(&self, account: AccountId, admitted: &Admitted, count: u32) -> StoreResult<()> {
        if admitted.allowed == 0 {
            return Ok(());
        }
        self.give_back_n(&keys::invitation_counter(account, "HOUR"), &admitted.hour, count).await?;
        if let Some(w) = &admitted.cap {
            self.give_back_n(&keys::invitation_counter(account, "UNVERIFIED"), w, count).await?;
        }
        Ok(())
    }

    /// A find-web-address request for an email (known or not).
    pub async fn admit_find_address(&self, e: &Email, now: i64) -> StoreResult<Admission> {
        self.admit(&keys::find_address_requests(e), rate_limit::FIND_ADDRESS, false, now).await
    }
}
