//! API keys for machines (SPEC §7): scoped to permissions, shown once, stored hashed, revocable.
use super::FieldError;
use super::ids::{AccountId, ApiKeyId, MemberId};
use super::permissions::Permission;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub name: String,
    pub scopes: Vec<Permission>,
    pub created_by: MemberId,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// SHA-256 of the secret part; the secret itself is shown once and never stored.
    pub secret_hash: String,
}

impl ApiKey {
    pub fn active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A key may carry only permissions its creator holds, at least one, each once.
pub fn scopes(requested: &[Permission], creator: &[Permission]) -> Result<Vec<Permission>, FieldError> {
    if requested.is_empty() {
        return Err(FieldError::new("scopes", "required", "give the key at least one permission"));
    }
    super::permissions::grantable("scopes", requested, creator)
}

/// The key a client sends: `rk_<account>_<key>_<secret>`. It names where the key lives so one
/// read finds it; only the secret's hash is compared.
pub fn token(a: AccountId, id: ApiKeyId, secret: &str) -> String {
    format!("rk_{a}_{id}_{secret}")
}

pub fn parse_token(token: &str) -> Option<(AccountId, ApiKeyId, &str)> {
    let rest = token.strip_prefix("rk_")?;
    let mut parts = rest.splitn(3, '_');
    let a = AccountId::parse(parts.next()?)?;
    let id = ApiKeyId::parse(parts.next()?)?;
    Some((a, id, parts.next().filter(|s| !s.is_empty())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_only_what_their_creator_holds() {
        let creator = [Permission::MembersRead, Permission::InvitationsManage];
        assert_eq!(
            scopes(&[Permission::MembersRead, Permission::MembersRead], &creator).unwrap(),
            vec![Permission::MembersRead]
        );
        assert_eq!(scopes(&[Permission::SettingsManage], &creator).unwrap_err().code, "not_held");
        assert_eq!(scopes(&[], &creator).unwrap_err().code, "required");
    }

    #[test]
    fn tokens_round_trip_even_when_the_secret_has_underscores() {
        let (a, id) = (AccountId::new(), ApiKeyId::new());
        let t = token(a, id, "ab_c-d_e");
        assert_eq!(parse_token(&t), Some((a, id, "ab_c-d_e")));
        assert_eq!(parse_token("rk_nope"), None);
        assert_eq!(parse_token(&format!("rk_{a}_{id}_")), None);
        assert_eq!(parse_token("eyJhbGciOi.x.y"), None);
    }
}
