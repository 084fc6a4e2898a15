//! The port over ldap3's async API. The TCP connection and its TLS (ldaps or StartTLS, with the
//! connection's own CA when it has one) are Roster's; ldap3 speaks LDAP over a socket pair to
//! the guard, which passes on only well-formed answers.
use super::DirectoryError;
use super::ber::{self, Class, Tlv};
use super::guard::{self, Verdict};
use super::port::{Directory, Page, Query};
use crate::domain::directory::RawEntry;
use crate::domain::directory_settings::{Endpoint, Security};
use ldap3::controls::PagedResults;
use ldap3::{LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, SearchResult, StdStream};
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// What to connect to and as whom.
pub struct Target<'a> {
    pub endpoint: &'a Endpoint,
    /// PEM certificates to trust instead of the system's (an enterprise's internal CA).
    pub ca_certificate: Option<&'a str>,
    pub bind_dn: &'a str,
    pub password: &'a str,
}

/// ldap3 waits forever by default; Roster never does.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(10), operation: Duration::from_secs(30) }
    }
}

const PAGED_RESULTS: &str = "1.2.840.113556.1.4.319";
const STARTTLS: &str = "1.3.6.1.4.1.1466.20037";

pub struct LdapDirectory {
    ldap: ldap3::Ldap,
    verdict: Verdict,
    timeouts: Timeouts,
}

impl LdapDirectory {
    /// Connect, secure the connection as the endpoint says, and bind.
    pub async fn connect(t: &Target<'_>, timeouts: Timeouts) -> Result<Self, DirectoryError> {
        let e = t.endpoint;
        let host = e.host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tcp = tokio::time::timeout(timeouts.connect, TcpStream::connect((host.as_str(), e.port)))
            .await
            .map_err(|_| DirectoryError::Timeout(timeouts.connect.as_secs()))?
            .map_err(|err| DirectoryError::Unreachable(format!("{}:{}: {err}", e.host, e.port)))?;
        let _ = tcp.set_nodelay(true);
        let verdict = Verdict::default();
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(unreachable)?;
        ours.set_nonblocking(true).map_err(unreachable)?;
        let ours = tokio::net::UnixStream::from_std(ours).map_err(unreachable)?;
        match e.security {
            Security::Plain => {
                tokio::spawn(guard::pipe(tcp, ours, verdict.clone()));
            }
            Security::Ldaps => {
                let tls = handshake(tcp, &host, t.ca_certificate, timeouts).await?;
                tokio::spawn(guard::pipe(tls, ours, verdict.clone()));
            }
            Security::Starttls => {
                let mut tcp = tcp;
                tokio::time::timeout(timeouts.operation, starttls(&mut tcp))
                    .await
                    .map_err(|_| DirectoryError::Timeout(timeouts.operation.as_secs()))??;
                let tls = handshake(tcp, &host, t.ca_certificate, timeouts).await?;
                tokio::spawn(guard::pipe(tls, ours, verdict.clone()));
            }
        }
        let settings = LdapConnSettings::new().set_std_stream(StdStream::Unix(theirs));
        let (conn, ldap) = LdapConnAsync::with_settings(settings, "ldapi:///")
            .await
            .map_err(|err| DirectoryError::Unreachable(err.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "directory connection ended");
            }
        });
        let mut d = Self { ldap, verdict, timeouts };
        let bound = d.ldap.with_timeout(timeouts.operation).simple_bind(t.bind_dn, t.password).await;
        match bound.and_then(|r| r.success()) {
            Ok(_) => Ok(d),
            Err(LdapError::LdapResult { result }) => Err(DirectoryError::Bind(result.to_string())),
            Err(other) => Err(d.failure(other)),
        }
    }

    /// An ldap3 error, or the guard's reason when the guard closed the connection.
    fn failure(&self, e: LdapError) -> DirectoryError {
        if let Some(reason) = self.verdict.lock().ok().and_then(|v| v.clone()) {
            return DirectoryError::Malformed(reason);
        }
        match e {
            LdapError::LdapResult { result } => DirectoryError::Ldap(result.to_string()),
            LdapError::Timeout { .. } => DirectoryError::Timeout(self.timeouts.operation.as_secs()),
            other => DirectoryError::Unreachable(other.to_string()),
        }
    }

    /// Say goodbye (errors do not matter: the connection is dropped either way).
    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

impl Directory for LdapDirectory {
    async fn search_page(&mut self, q: &Query, cookie: &[u8], size: u32) -> Result<Page, DirectoryError> {
        let paged = PagedResults { size: i32::try_from(size).unwrap_or(1000), cookie: cookie.to_vec() };
        let answer = self
            .ldap
            .with_controls(paged)
            .with_timeout(self.timeouts.operation)
            .search(&q.base, Scope::Subtree, &q.filter, &q.attributes)
            .await;
        let SearchResult(found, result) = answer.map_err(|e| self.failure(e))?;
        let result = result.success().map_err(|e| self.failure(e))?;
        let mut next = None;
        for c in &result.ctrls {
            if c.1.ctype == PAGED_RESULTS {
                next = paged_cookie(c.1.val.as_deref().unwrap_or_default())
                    .map_err(|e| DirectoryError::Malformed(format!("paged-results control: {e}")))?;
            }
        }
        // The guard let only well-formed entries through, so ldap3's reader cannot panic on them.
        let entries = found
            .into_iter()
            .filter(|r| !r.is_ref() && !r.is_intermediate())
            .map(SearchEntry::construct)
            .map(|e| RawEntry { dn: e.dn, attrs: e.attrs, bin_attrs: e.bin_attrs })
            .collect();
        Ok(Page { entries, next })
    }

    async fn read(&mut self, dn: &str, attributes: &[&str]) -> Result<Option<RawEntry>, DirectoryError> {
        let answer = self
            .ldap
            .with_timeout(self.timeouts.operation)
            .search(dn, Scope::Base, "(objectClass=*)", attributes)
            .await;
        let SearchResult(found, result) = answer.map_err(|e| self.failure(e))?;
        // 32: noSuchObject.
        if result.rc == 32 {
            return Ok(None);
        }
        result.success().map_err(|e| self.failure(e))?;
        Ok(found
            .into_iter()
            .find(|r| !r.is_ref() && !r.is_intermediate())
            .map(SearchEntry::construct)
            .map(|e| RawEntry { dn: e.dn, attrs: e.attrs, bin_attrs: e.bin_attrs }))
    }
}

/// The cookie of a paged-results response control (`SEQUENCE { size INTEGER, cookie OCTET
/// STRING }`); `None` when it is empty (the last page).
fn paged_cookie(value: &[u8]) -> Result<Option<Vec<u8>>, ber::BerError> {
    let t = Tlv::whole(value)?;
    let parts = t.children()?;
    let [size, cookie] = parts.as_slice() else { return Err(ber::BerError::Malformed("not size and cookie")) };
    size.int()?;
    let cookie = cookie.primitive()?;
    Ok((!cookie.is_empty()).then(|| cookie.to_vec()))
}

fn unreachable(e: std::io::Error) -> DirectoryError {
    DirectoryError::Unreachable(e.to_string())
}

fn tls_error(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Tls(e.to_string())
}

/// The roots a connection trusts: its own CA certificates, or else the system's.
fn tls_config(ca: Option<&str>) -> Result<Arc<rustls::ClientConfig>, DirectoryError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.add(cert.map_err(tls_error)?).map_err(tls_error)?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn handshake(
    tcp: TcpStream,
    host: &str,
    ca: Option<&str>,
    timeouts: Timeouts,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, DirectoryError> {
    let name = ServerName::try_from(host.to_owned()).map_err(tls_error)?;
    let connector = tokio_rustls::TlsConnector::from(tls_config(ca)?);
    tokio::time::timeout(timeouts.connect, connector.connect(name, tcp))
        .await
        .map_err(|_| DirectoryError::Timeout(timeouts.connect.as_secs()))?
        .map_err(tls_error)
}

/// Ask for StartTLS (RFC 4511 §4.14) and read the answer with the checked reader.
async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> Result<(), DirectoryError> {
    let name = ber::encode(Class::Context, false, 0, STARTTLS.as_bytes());
    let request = ber::encode(Class::Application, true, 23, &name);
    let id = ber::encode(Class::Universal, false, 2, &[1]);
    let message = ber::encode(Class::Universal, true, 16, &[id, request].concat());
    s.write_all(&message).await.map_err(unreachable)?;
    let mut buf = Vec::with_capacity(256);
    let used = loop {
        if let Some((_, used)) = ber::read(&buf).map_err(|e| DirectoryError::Malformed(e.to_string()))? {
            break used;
        }
        if buf.len() > 64 << 10 || s.read_buf(&mut buf).await.map_err(unreachable)? == 0 {
            return Err(DirectoryError::Unreachable("the server closed the connection during StartTLS".into()));
        }
    };
    let malformed = |e: ber::BerError| DirectoryError::Malformed(format!("StartTLS answer: {e}"));
    let answer = Tlv::whole(buf.get(..used).unwrap_or_default()).map_err(malformed)?;
    let parts = answer.children().map_err(malformed)?;
    let code = match parts.get(1) {
        Some(op) if op.is(Class::Application, 24) => op.children().map_err(malformed)?,
        _ => return Err(DirectoryError::Malformed("StartTLS answer is not an extended response".into())),
    };
    match code.first().map(Tlv::int) {
        Some(Ok(0)) => Ok(()),
        Some(Ok(rc)) => Err(DirectoryError::Tls(format!("the server refused StartTLS (result code {rc})"))),
        _ => Err(DirectoryError::Malformed("StartTLS answer without a result code".into())),
    }
}
