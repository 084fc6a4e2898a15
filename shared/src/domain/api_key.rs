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

/// What a key may do now: its scopes, cut down to what its creator holds at this moment (a
/// demoted creator's key loses what the creator lost).
pub fn effective_scopes(scopes: &[Permission], creator_holds: &[Permission]) -> Vec<Permission> {
    scopes.iter().copied().filter(|p| creator_holds.contains(p)).collect()
}

/// Where a presented key lives: the account, the key and its creator, so one batch read finds
/// the key and the creator's current standing together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRef<'a> {
    pub account: AccountId,
    pub key: ApiKeyId,
    pub creator: MemberId,
    pub secret: &'a str,
}

/// The key a client sends: `rk_<account>_<key>_<creator>_<secret>`; only the secret's hash is
/// stored and compared.
pub fn token(a: AccountId, id: ApiKeyId, creator: MemberId, secret: &str) -> String {
    format!("rk_{a}_{id}_{creator}_{secret}")
}

pub fn parse_token(token: &str) -> Option<TokenRef<'_>> {
    let rest = token.strip_prefix("rk_")?;
    let mut parts = rest.splitn(4, '_');
    let account = AccountId::parse(parts.next()?)?;
    let key = ApiKeyId::parse(parts.next()?)?;
    let creator = MemberId::parse(parts.next()?)?;
    Some(TokenRef { account, key, creator, secret: parts.next().filter(|s| !s.is_empty())? })
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
        let (account, key, creator) = (AccountId::new(), ApiKeyId::new(), MemberId::new());
        let t = token(account, key, creator, "ab_c-d_e");
        assert_eq!(parse_token(&t), Some(TokenRef { account, key, creator, secret: "ab_c-d_e" }));
        assert_eq!(parse_token("rk_nope"), None);
        assert_eq!(parse_token(&format!("rk_{account}_{key}_{creator}_")), None);
        assert_eq!(parse_token(&format!("rk_{account}_{key}_secret")), None);
        assert_eq!(parse_token("eyJhbGciOi.x.y"), None);
    }

    #[test]
    fn a_key_never_does_more_than_its_creator_holds_now() {
        let scopes = [Permission::MembersRead, Permission::InvitationsManage];
        assert_eq!(effective_scopes(&scopes, &[Permission::MembersRead]), vec![Permission::MembersRead]);
        assert!(effective_scopes(&scopes, &[]).is_empty());
        assert_eq!(effective_scopes(&scopes, &scopes), scopes.to_vec());
    }
}
