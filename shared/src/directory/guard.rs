//! The guard between ldap3 and a directory server. ldap3 `expect`s and `panic!`s on malformed
//! answers (its message decoder, control and result parsers), and a panic aborts a release
//! build. So ldap3 never talks to the server: it talks to this guard over a socket pair, and
//! the guard passes on only whole messages of the shapes ldap3 reads safely — anything else
//! ends the connection with the reason, which the run reports.
use super::ber::{self, BerError, Class, Tlv};
use bytes::BytesMut;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Protocol operation numbers (RFC 4511 §4.2…4.14).
mod op {
    pub const BIND: u8 = 0;
    pub const BIND_RESPONSE: u8 = 1;
    pub const UNBIND: u8 = 2;
    pub const SEARCH: u8 = 3;
    pub const SEARCH_ENTRY: u8 = 4;
    pub const SEARCH_DONE: u8 = 5;
    pub const ABANDON: u8 = 16;
    pub const SEARCH_REFERENCE: u8 = 19;
    pub const EXTENDED_RESPONSE: u8 = 24;
    pub const INTERMEDIATE: u8 = 25;
}

/// Requests sent and not yet answered: message id → operation.
#[derive(Default)]
pub struct Pending(HashMap<i64, u8>);

impl Pending {
    /// Note a request Roster (through ldap3) sends.
    pub fn sent(&mut self, message: &[u8]) {
        let Ok(parts) = Tlv::whole(message).and_then(|m| m.children()) else { return };
        let (Some(id), Some(request)) = (parts.first().and_then(|t| t.int().ok()), parts.get(1)) else { return };
        if request.class == Class::Application && !matches!(request.number, op::UNBIND | op::ABANDON) {
            self.0.insert(id, request.number);
        }
    }
}

fn bad<T>(why: &'static str) -> Result<T, BerError> {
    Err(BerError::Malformed(why))
}

/// Check one whole message from the server against what was asked.
pub fn check_response(message: &[u8], pending: &mut Pending) -> Result<(), BerError> {
    let m = Tlv::whole(message)?;
    if !m.is(Class::Universal, 16) {
        return bad("a message that is not a SEQUENCE");
    }
    let parts = m.children()?;
    let (Some(id), Some(answer)) = (parts.first(), parts.get(1)) else {
        return bad("a message without an id or an operation");
    };
    if !id.is(Class::Universal, 2) {
        return bad("a message id that is not an INTEGER");
    }
    let id = id.int()?;
    match parts.get(2) {
        None => {}
        Some(c) if c.is(Class::Context, 0) && c.constructed => controls(c)?,
        Some(_) => return bad("a message element that is not controls"),
    }
    if parts.len() > 3 {
        return bad("a message with more than three elements");
    }
    if answer.class != Class::Application || !answer.constructed {
        return bad("an operation that is not a constructed application element");
    }
    // Id 0 is the server's unsolicited notification (an extended response nobody waits for).
    let asked = if id == 0 { Some(op::EXTENDED_RESPONSE - 1) } else { pending.0.get(&id).copied() };
    let Some(asked) = asked else { return bad("an answer to no request") };
    match (asked, answer.number) {
        (op::SEARCH, op::SEARCH_ENTRY) => entry(answer),
        (op::SEARCH, op::SEARCH_REFERENCE) => references(answer),
        (op::SEARCH, op::INTERMEDIATE) => intermediate(answer),
        (op::SEARCH, op::SEARCH_DONE) => {
            pending.0.remove(&id);
            result(answer)
        }
        (op::BIND, op::BIND_RESPONSE) => {
            pending.0.remove(&id);
            result(answer)
        }
        // Every other request has one answer numbered one above it (add 8 → 9 …, extended 23 → 24).
        (asked, number) if asked != op::SEARCH && number == asked + 1 => {
            pending.0.remove(&id);
            result(answer)
        }
        _ => bad("an answer of another kind than the request"),
    }
}

/// LDAPResult: code, matched DN, message, then optional referral, SASL credentials, extended
/// response name and value.
fn result(t: &Tlv) -> Result<(), BerError> {
    let parts = t.children()?;
    let [code, matched, message, rest @ ..] = parts.as_slice() else {
        return bad("a result without code, matched DN and message");
    };
    if !code.is(Class::Universal, 10) {
        return bad("a result code that is not ENUMERATED");
    }
    code.int()?;
    matched.text()?;
    message.text()?;
    for extra in rest {
        match extra.number {
            3 => {
                for uri in extra.children()? {
                    uri.text()?;
                }
            }
            10 => {
                extra.text()?;
            }
            7 | 11 => {
                extra.primitive()?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// SearchResultEntry: a DN and attributes, each a type and a set of values.
fn entry(t: &Tlv) -> Result<(), BerError> {
    let parts = t.children()?;
    let [dn, attributes] = parts.as_slice() else { return bad("an entry without DN and attributes") };
    dn.text()?;
    for a in attributes.children()? {
        let pair = a.children()?;
        let [kind, values] = pair.as_slice() else { return bad("an attribute without type and values") };
        kind.text()?;
        for v in values.children()? {
            v.primitive()?;
        }
    }
    Ok(())
}

fn references(t: &Tlv) -> Result<(), BerError> {
    for uri in t.children()? {
        uri.text()?;
    }
    Ok(())
}

fn intermediate(t: &Tlv) -> Result<(), BerError> {
    for part in t.children()? {
        if part.class != Class::Context || part.number > 1 {
            return bad("an intermediate response element other than name or value");
        }
        part.primitive()?;
    }
    Ok(())
}

/// Controls: each a SEQUENCE of an OID, an optional criticality and an optional value.
fn controls(t: &Tlv) -> Result<(), BerError> {
    for c in t.children()? {
        if !c.constructed {
            return bad("a control that is not a SEQUENCE");
        }
        let parts = c.children()?;
        let Some(oid) = parts.first() else { return bad("a control without a type") };
        oid.text()?;
        match parts.get(1..).unwrap_or_default() {
            [] => {}
            [crit] if crit.number == 1 => nonempty(crit)?,
            [crit, value] if crit.number == 1 => {
                nonempty(crit)?;
                value.primitive()?;
            }
            [value] if value.number == 4 => {
                value.primitive()?;
            }
            _ => return bad("a control element that is neither criticality nor value"),
        }
    }
    Ok(())
}

fn nonempty(t: &Tlv) -> Result<(), BerError> {
    if t.primitive()?.is_empty() { bad("an empty BOOLEAN") } else { Ok(()) }
}

/// Whole messages at the front of `buf`, taken out of it.
fn messages(buf: &mut BytesMut) -> Result<Vec<BytesMut>, BerError> {
    let mut out = Vec::new();
    while let Some((_, used)) = ber::read(buf)? {
        out.push(buf.split_to(used));
    }
    Ok(out)
}

/// Why the guard closed the connection, if it did.
pub type Verdict = Arc<Mutex<Option<String>>>;

/// Pass messages between ldap3 (`client`) and the server until either side closes or the server
/// sends something malformed (then the reason goes into `verdict`).
pub async fn pipe<S, C>(server: S, client: C, verdict: Verdict)
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: AsyncRead + AsyncWrite + Unpin,
{
    let reason = relay(server, client).await;
    if let (Some(reason), Ok(mut v)) = (reason, verdict.lock()) {
        tracing::warn!(reason, "directory connection closed by the guard");
        *v = Some(reason);
    }
}

async fn relay<S, C>(server: S, client: C) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: AsyncRead + AsyncWrite + Unpin,
{
    let (mut server_in, mut server_out) = tokio::io::split(server);
    let (mut client_in, mut client_out) = tokio::io::split(client);
    let mut pending = Pending::default();
    let (mut from_server, mut from_client) = (BytesMut::with_capacity(64 << 10), BytesMut::with_capacity(4 << 10));
    loop {
        tokio::select! {
            n = server_in.read_buf(&mut from_server) => {
                match n {
                    Ok(0) => return None,
                    Err(e) => return Some(format!("reading from the server: {e}")),
                    Ok(_) => {}
                }
                let whole = match messages(&mut from_server) {
                    Ok(whole) => whole,
                    Err(e) => return Some(format!("the server sent a malformed message: {e}")),
                };
                for m in whole {
                    if let Err(e) = check_response(&m, &mut pending) {
                        return Some(format!("the server sent a malformed answer: {e}"));
                    }
                    if client_out.write_all(&m).await.is_err() {
                        return None;
                    }
                }
            }
            n = client_in.read_buf(&mut from_client) => {
                match n {
                    Ok(0) | Err(_) => {
                        let _ = server_out.shutdown().await;
                        return None;
                    }
                    Ok(_) => {}
                }
                let Ok(whole) = messages(&mut from_client) else { return Some("an unreadable request".into()) };
                for m in whole {
                    pending.sent(&m);
                    if let Err(e) = server_out.write_all(&m).await {
                        return Some(format!("writing to the server: {e}"));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ber::encode;

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        encode(Class::Universal, true, 16, &parts.concat())
    }
    fn octets(s: &[u8]) -> Vec<u8> {
        encode(Class::Universal, false, 4, s)
    }
    fn int(n: u8) -> Vec<u8> {
        encode(Class::Universal, false, 2, &[n])
    }
    fn app(number: u8, parts: &[Vec<u8>]) -> Vec<u8> {
        encode(Class::Application, true, number, &parts.concat())
    }
    fn ldap_result() -> Vec<u8> {
        [encode(Class::Universal, false, 10, &[0]), octets(b""), octets(b"")].concat()
    }
    fn message(id: u8, op: Vec<u8>, controls: Option<Vec<u8>>) -> Vec<u8> {
        let mut parts = vec![int(id), op];
        parts.extend(controls.map(|c| encode(Class::Context, true, 0, &c)));
        seq(&parts)
    }
    fn searching(id: u8) -> Pending {
        let mut p = Pending::default();
        p.sent(&message(id, app(op::SEARCH, &[octets(b"dc=x")]), None));
        p
    }

    #[test]
    fn well_formed_answers_pass_and_end_their_request() {
        let mut p = searching(2);
        let attr = seq(&[octets(b"cn"), encode(Class::Universal, true, 17, &[octets(b"A"), octets(&[0xff])].concat())]);
        let e = message(2, app(op::SEARCH_ENTRY, &[octets(b"cn=A,dc=x"), seq(&[attr])]), None);
        check_response(&e, &mut p).unwrap();
        let paged = seq(&[octets(b"1.2.840.113556.1.4.319"), octets(&seq(&[int(0), octets(b"")]))]);
        let done = message(2, app(op::SEARCH_DONE, &[ldap_result()]), Some(paged));
        check_response(&done, &mut p).unwrap();
        assert!(check_response(&e, &mut p).is_err(), "an entry after the search is done");
    }

    #[test]
    fn what_would_panic_ldap3_is_refused() {
        let garbage: Vec<(&str, Vec<u8>)> = vec![
            ("one element", seq(&[int(2)])),
            ("id not an integer", seq(&[octets(b"2"), app(op::SEARCH_DONE, &[ldap_result()])])),
            ("result without message", message(2, app(op::SEARCH_DONE, &[octets(b"")]), None)),
            ("result code not enumerated", message(2, app(op::SEARCH_DONE, &[int(0), octets(b""), octets(b"")]), None)),
            (
                "matched DN not UTF-8",
                message(
                    2,
                    app(op::SEARCH_DONE, &[encode(Class::Universal, false, 10, &[0]), octets(&[0xc3]), octets(b"")]),
                    None,
                ),
            ),
            (
                "control with an odd element",
                message(2, app(op::SEARCH_DONE, &[ldap_result()]), Some(seq(&[octets(b"1.2.3"), int(5)]))),
            ),
            (
                "control with an empty criticality",
                message(
                    2,
                    app(op::SEARCH_DONE, &[ldap_result()]),
                    Some(seq(&[octets(b"1.2.3"), encode(Class::Universal, false, 1, &[])])),
                ),
            ),
            ("entry without attributes", message(2, app(op::SEARCH_ENTRY, &[octets(b"cn=A")]), None)),
            ("bind response to a search", message(2, app(op::BIND_RESPONSE, &[ldap_result()]), None)),
            ("answer to nothing asked", message(9, app(op::SEARCH_DONE, &[ldap_result()]), None)),
            ("reference that is not text", message(2, app(op::SEARCH_REFERENCE, &[octets(&[0xff])]), None)),
        ];
        for (what, m) in garbage {
            assert!(check_response(&m, &mut searching(2)).is_err(), "{what}");
        }
    }

    #[tokio::test]
    async fn the_pipe_stops_at_the_first_malformed_answer() {
        let (server, mut server_end) = tokio::io::duplex(1 << 16);
        let (client, mut client_end) = tokio::io::duplex(1 << 16);
        let verdict = Verdict::default();
        let guard = tokio::spawn(pipe(server, client, verdict.clone()));
        let search = message(2, app(op::SEARCH, &[octets(b"dc=x")]), None);
        client_end.write_all(&search).await.unwrap();
        let mut got = vec![0u8; search.len()];
        server_end.read_exact(&mut got).await.unwrap();
        assert_eq!(got, search);
        let done = message(2, app(op::SEARCH_DONE, &[ldap_result()]), None);
        // Sent in two pieces: passed on whole.
        server_end.write_all(&done[..3]).await.unwrap();
        server_end.write_all(&done[3..]).await.unwrap();
        let mut got = vec![0u8; done.len()];
        client_end.read_exact(&mut got).await.unwrap();
        assert_eq!(got, done);
        server_end.write_all(&seq(&[int(2)])).await.unwrap();
        guard.await.unwrap();
        let mut rest = Vec::new();
        client_end.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "nothing malformed reaches ldap3");
        assert!(verdict.lock().unwrap().as_deref().unwrap().contains("malformed"));
    }
}
