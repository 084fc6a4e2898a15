//! Tokens, hashes and signatures: random one-time tokens (stored only as SHA-256), argon2id
//! password hashes, the JWT access token and HMAC-signed cursors.
use super::{Error, Result};
use crate::domain::ids::{AccountId, MemberId, RoleId, SessionId};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Access tokens are short-lived; the refresh token renews them.
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
const ISSUER: &str = "roster";

/// 256-bit random token, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// What is stored instead of a token: its SHA-256, hex. Tokens have 256 bits of entropy, so a
/// fast hash is enough (no salt or stretching needed, unlike passwords).
pub fn token_hash(token: &str) -> String {
    crate::domain::digest::sha256_hex(token.as_bytes())
}

/// argon2id with the crate's defaults, which are OWASP's (19 MiB, 2 passes, 1 lane). CPU-heavy,
/// so it runs off the async workers.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(e.to_string()))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Verify a password; with no stored hash it still spends the same time, so a response never
/// reveals whether the email exists.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    const DUMMY: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZCd2Dj2sLpsGmqBOoEyJ3XxXHedZ8FhuqAW3Ub2cX6I";
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| DUMMY.to_owned());
    tokio::task::spawn_blocking(move || {
        let ok = PasswordHash::new(&stored)
            .map(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// Member id.
    pub sub: String,
    /// Account id: the only source of the tenant for a request.
    pub acc: String,
    pub sid: String,
    /// The custom role the member held when the token was issued: a hint so that one batch
    /// read fetches the role with the member. Never trusted: the member record decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rol: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

/// What a verified access token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub account: AccountId,
    pub member: MemberId,
    pub session: SessionId,
    pub role_hint: Option<RoleId>,
}

/// The keys derived from one version of the signing secret. Access tokens, refresh tokens and
/// cursors use only the current version (older ones fail cleanly: log in again, reload the list);
/// audit digests name the version that sealed them, and older versions are fetched on demand so
/// a digest sealed before a rotation still verifies.
pub struct Keys {
    /// The secret's version these keys come from (Secrets Manager's `VersionId`).
    key_id: String,
    /// Where older versions come from (absent in unit tests).
    source: Option<Source>,
    /// Audit keys of older versions, fetched once each.
    previous: tokio::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    cursor: Vec<u8>,
    /// Signs refresh tokens, so that only a token Roster issued can trigger replay detection.
    refresh: Vec<u8>,
    /// Seals the system log's digests.
    audit: Vec<u8>,
    /// The current version's secret, for keys derived on demand.
    current: Vec<u8>,
}

impl Keys {
    /// Derive separate keys for each use from one secret.
    pub fn from_secret(secret: &[u8]) -> Result<Self> {
        Self::versioned("local", secret, None)
    }

    fn versioned(key_id: &str, secret: &[u8], source: Option<Source>) -> Result<Self> {
        let derive = |label: &[u8]| derive(secret, label);
        let jwt = derive(b"roster/jwt/v1")?;
        Ok(Self {
            key_id: key_id.to_owned(),
            source,
            previous: Default::default(),
            encoding: EncodingKey::from_secret(&jwt),
            decoding: DecodingKey::from_secret(&jwt),
            cursor: derive(b"roster/cursor/v1")?,
            refresh: derive(b"roster/refresh/v1")?,
            audit: derive(AUDIT_LABEL)?,
            current: secret.to_vec(),
        })
    }

    /// The current version of the secret (read once, at init).
    pub async fn fetch(client: &aws_sdk_secretsmanager::Client, id: &str) -> std::result::Result<Self, String> {
        let source = Source { client: client.clone(), secret_id: id.to_owned() };
        let (version, secret) = source.read(None).await.map_err(|e| e.to_string())?;
        Self::versioned(&version, secret.as_bytes(), Some(source)).map_err(|e| e.to_string())
    }

    /// The version of the secret new digests are sealed with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The audit key of the version that sealed a digest: `None` (digests from before key ids)
    /// means the current one. `Ok(None)`: that version no longer exists.
    pub async fn audit_key_of(&self, key_id: Option<&str>) -> Result<Option<Vec<u8>>> {
        self.key_of(AUDIT_LABEL, key_id).await
    }

    /// The key `label` derives from the secret's version `key_id` (`None`: the current one),
    /// older versions fetched once each.
    async fn key_of(&self, label: &[u8], key_id: Option<&str>) -> Result<Option<Vec<u8>>> {
        let version = key_id.unwrap_or(&self.key_id);
        let cached = format!("{version}/{}", String::from_utf8_lossy(label));
        let mut previous = self.previous.lock().await;
        if let Some(k) = previous.get(&cached) {
            return Ok(Some(k.clone()));
        }
        let secret = if version == self.key_id {
            self.current.clone()
        } else {
            let Some(source) = &self.source else { return Ok(None) };
            let Some((_, secret)) = source.read_version(version).await? else { return Ok(None) };
            secret.into_bytes()
        };
        let key = derive(&secret, label)?;
        previous.insert(cached, key.clone());
        Ok(Some(key))
    }

    /// An invitation's link token, derived from the invitation (its member and when it was
    /// issued) with the secret's version `key_id`: nothing secret is stored to send the mail
    /// later, and only its hash is kept to look the link up. `None`: that version is gone.
    pub async fn invitation_token(
        &self,
        key_id: &str,
        member: MemberId,
        issued_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>> {
        self.derived_token(INVITATION_LABEL, key_id, &format!("{member}|{}", issued_at.timestamp_micros())).await
    }

    /// An email-confirmation or password-reset link's token, derived the same way.
    pub async fn link_token(
        &self,
        purpose: crate::domain::link::LinkPurpose,
        key_id: &str,
        member: MemberId,
        issued_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>> {
        let data = format!("{}|{member}|{}", purpose.messages(), issued_at.timestamp_micros());
        self.derived_token(LINK_LABEL, key_id, &data).await
    }

    async fn derived_token(&self, label: &[u8], key_id: &str, data: &str) -> Result<Option<String>> {
        let Some(key) = self.key_of(label, Some(key_id)).await? else { return Ok(None) };
        Ok(Some(B64.encode(hmac(&key, data.as_bytes()))))
    }

    pub fn access_token(&self, t: Access, now: i64) -> Result<String> {
        let claims = AccessClaims {
            iss: ISSUER.into(),
            sub: t.member.to_string(),
            acc: t.account.to_string(),
            sid: t.session.to_string(),
            rol: t.role_hint.map(|r| r.to_string()),
            iat: now,
            exp: now + ACCESS_TTL_SECONDS,
        };
        let header = Header { kid: Some(self.key_id.clone()), ..Header::new(Algorithm::HS256) };
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|e| Error::Internal(e.to_string()))
    }

    /// Signature, algorithm, issuer and expiry are all checked; any failure is just "unauthenticated".
    pub fn verify_access(&self, token: &str) -> Result<Access> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.leeway = 5;
        let bad = || Error::Unauthenticated("the access token is invalid or expired");
        let kid = jsonwebtoken::decode_header(token).map_err(|_| bad())?.kid;
        if kid.is_some_and(|k| k != self.key_id) {
            return Err(Error::Unauthenticated("the access token was signed with a retired key; log in again"));
        }
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &v).map_err(|_| bad())?;
        let c = data.claims;
        match (AccountId::parse(&c.acc), MemberId::parse(&c.sub), SessionId::parse(&c.sid)) {
            (Some(account), Some(member), Some(session)) => {
                Ok(Access { account, member, session, role_hint: c.rol.as_deref().and_then(RoleId::parse) })
            }
            _ => Err(bad()),
        }
    }

    /// An opaque cursor: the position plus the account it belongs to, HMAC-signed so it can be
    /// neither edited nor replayed against another account.
    pub fn sign_cursor(&self, account: AccountId, position: &str) -> String {
        let payload = B64.encode(format!("{account}|{position}"));
        format!("{payload}.{}", B64.encode(self.mac(payload.as_bytes())))
    }

    pub fn open_cursor(&self, account: AccountId, cursor: &str) -> Option<String> {
        let (payload, sig) = cursor.split_once('.')?;
        let sig = B64.decode(sig).ok()?;
        let mut mac = HmacSha256::new_from_slice(&self.cursor).ok()?;
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).ok()?;
        let decoded = String::from_utf8(B64.decode(payload).ok()?).ok()?;
        let (acc, position) = decoded.split_once('|')?;
        (acc == account.to_string()).then(|| position.to_owned())
    }

    /// A refresh token: where its session lives, the secret whose hash the session keeps, and
    /// a signature over both.
    pub fn refresh_token(&self, account: AccountId, session: SessionId, secret: &str) -> String {
        let body = format!("{account}.{session}.{secret}");
        let sig = B64.encode(hmac(&self.refresh, body.as_bytes()));
        format!("{body}.{sig}")
    }

    /// A refresh token's parts, only if Roster signed it (a token made up from an access token's
    /// ids fails here, before it could revoke anything).
    pub fn open_refresh<'t>(&self, token: &'t str) -> Option<(AccountId, SessionId, &'t str)> {
        let (body, sig) = token.rsplit_once('.')?;
        let mut mac = HmacSha256::new_from_slice(&self.refresh).ok()?;
        mac.update(body.as_bytes());
        mac.verify_slice(&B64.decode(sig).ok()?).ok()?;
        let mut parts = body.splitn(3, '.');
        let a = AccountId::parse(parts.next()?)?;
        let s = SessionId::parse(parts.next()?)?;
        Some((a, s, parts.next().filter(|x| !x.is_empty())?))
    }

    /// The key audit digests are sealed with.
    pub fn audit_key(&self) -> &[u8] {
        &self.audit
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        hmac(&self.cursor, data)
    }
}

const AUDIT_LABEL: &[u8] = b"roster/audit-digest/v1";
const INVITATION_LABEL: &[u8] = b"roster/invitation-link/v1";
const LINK_LABEL: &[u8] = b"roster/one-time-link/v1";

fn derive(secret: &[u8], label: &[u8]) -> Result<Vec<u8>> {
    if secret.len() < 32 {
        return Err(Error::Internal("the signing secret must have at least 32 bytes".into()));
    }
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|e| Error::Internal(e.to_string()))?;
    mac.update(label);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// The secret in Secrets Manager, by version.
struct Source {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl Source {
    /// (version id, value) of `version`, or of the current one.
    async fn read(&self, version: Option<&str>) -> Result<(String, String)> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await
            .map_err(|e| {
                Error::Unavailable(format!(
                    "reading secret {}: {}",
                    self.secret_id,
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                ))
            })?;
        let value = out.secret_string().ok_or_else(|| Error::Internal("the secret has no string value".into()))?;
        Ok((out.version_id().unwrap_or("unversioned").to_owned(), value.to_owned()))
    }

    /// A given version; `None` when Secrets Manager no longer has it.
    async fn read_version(&self, version: &str) -> Result<Option<(String, String)>> {
        let out = self.client.get_secret_value().secret_id(&self.secret_id).version_id(version).send().await;
        match out {
            Ok(o) => Ok(o.secret_string().map(|v| (version.to_owned(), v.to_owned()))),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(Error::Unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())),
        }
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_secret(&[7u8; 32]).unwrap()
    }

    #[test]
    fn tokens_are_256_bit_and_only_their_hash_is_kept() {
        let t = random_token();
        assert_eq!(B64.decode(&t).unwrap().len(), 32);
        assert_ne!(random_token(), t);
        assert_eq!(token_hash(&t).len(), 64);
        assert!(!token_hash(&t).contains(&t));
    }

    #[test]
    fn access_tokens_verify_and_expire() {
        let k = keys();
        let access = Access {
            account: AccountId::new(),
            member: MemberId::new(),
            session: SessionId::new(),
            role_hint: Some(RoleId::new()),
        };
        let now = chrono::Utc::now().timestamp();
        let t = k.access_token(access, now).unwrap();
        assert_eq!(k.verify_access(&t).unwrap(), access);
        let basic = Access { role_hint: None, ..access };
        assert_eq!(k.verify_access(&k.access_token(basic, now).unwrap()).unwrap(), basic);
        let old = k.access_token(access, now - ACCESS_TTL_SECONDS - 60).unwrap();
        assert!(k.verify_access(&old).is_err());
        let other = Keys::from_secret(&[8u8; 32]).unwrap();
        assert!(other.verify_access(&t).is_err(), "signed with another key");
    }

    #[test]
    fn cursors_cannot_be_edited_or_moved_to_another_account() {
        let k = keys();
        let (a, b) = (AccountId::new(), AccountId::new());
        let c = k.sign_cursor(a, "MEMBER#x");
        assert_eq!(k.open_cursor(a, &c).as_deref(), Some("MEMBER#x"));
        assert_eq!(k.open_cursor(b, &c), None);
        let forged = format!("{}.{}", B64.encode(format!("{b}|MEMBER#x")), c.split_once('.').unwrap().1);
        assert_eq!(k.open_cursor(b, &forged), None);
        assert_eq!(k.open_cursor(a, "garbage"), None);
    }

    #[test]
    fn only_refresh_tokens_roster_signed_open() {
        let k = keys();
        let (a, sid) = (AccountId::new(), SessionId::new());
        let t = k.refresh_token(a, sid, "s3cr-t_x");
        assert_eq!(k.open_refresh(&t), Some((a, sid, "s3cr-t_x")));
        // Made up from the ids an access token shows: no signature, or a wrong one.
        assert_eq!(k.open_refresh(&format!("{a}.{sid}.guess")), None);
        assert_eq!(k.open_refresh(&format!("{a}.{sid}.guess.{}", t.rsplit_once('.').unwrap().1)), None);
        assert_eq!(Keys::from_secret(&[8u8; 32]).unwrap().open_refresh(&t), None);
        assert_eq!(k.open_refresh("garbage"), None);
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }
}
