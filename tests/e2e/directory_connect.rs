//! The directory port against the suite's real slapd: every way of securing the connection, the
//! exact errors an admin sees, paging to the end, and a hostile server that cannot kill the
//! process (issue 13).
use roster::directory::{Directory, DirectoryError, LdapDirectory, Query, Target, Timeouts};
use roster::domain::directory_settings::{Endpoint, Security, endpoint};
use roster_tests::ldap::{Person, TestDirectory};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn target<'a>(d: &'a TestDirectory, e: &'a Endpoint, ca: Option<&'a str>, password: &'a str) -> Target<'a> {
    Target { endpoint: e, ca_certificate: ca, bind_dn: &d.admin, password }
}

async fn all(dir: &mut LdapDirectory, q: &Query, size: u32) -> (usize, usize) {
    let (mut entries, mut pages, mut cookie) = (0, 0, Vec::new());
    loop {
        let page = dir.search_page(q, &cookie, size).await.unwrap();
        entries += page.entries.len();
        pages += 1;
        match page.next {
            Some(next) => cookie = next,
            None => return (entries, pages),
        }
    }
}

#[tokio::test]
async fn every_security_binds_and_pages_through_everything() {
    let mut d = TestDirectory::connect().await;
    let unit = d.unit("connect").await;
    let people: Vec<Person> = (0..1_203)
        .map(|i| Person { uid: format!("p{i}"), cn: format!("Person {i}"), mail: format!("p{i}@connect.test") })
        .collect();
    d.add_people(&unit, &people).await;
    let q = Query {
        base: unit.clone(),
        filter: "(objectClass=inetOrgPerson)".into(),
        attributes: vec!["entryUUID".into(), "mail".into()],
    };
    let plain = endpoint(&d.url, Security::Plain, true).unwrap();
    let ldaps = endpoint(&d.ldaps_url, Security::Ldaps, false).unwrap();
    let starttls = endpoint(&d.url, Security::Starttls, false).unwrap();
    for (e, ca) in [(&plain, None), (&ldaps, Some(d.ca.as_str())), (&starttls, Some(d.ca.as_str()))] {
        let mut dir = LdapDirectory::connect(&target(&d, e, ca, &d.password), Timeouts::default()).await.unwrap();
        // slapd's soft size limit is 500: paging is what returns all of them.
        assert_eq!(all(&mut dir, &q, 500).await, (1_203, 3), "{:?}", e.security);
        let first = dir.search_page(&q, &[], 1000).await.unwrap();
        let sample = &first.entries[0];
        assert!(sample.attrs.keys().any(|k| k.eq_ignore_ascii_case("entryUUID")), "{sample:?}");
        dir.close().await;
    }
}

#[tokio::test]
async fn errors_say_what_went_wrong() {
    let d = TestDirectory::connect().await;
    let plain = endpoint(&d.url, Security::Plain, true).unwrap();
    let wrong = LdapDirectory::connect(&target(&d, &plain, None, "not the password"), Timeouts::default()).await;
    match wrong {
        Err(DirectoryError::Bind(why)) => assert!(why.contains("49"), "{why}"),
        other => panic!("a wrong password is a refused bind: {:?}", other.err()),
    }
    // The test CA is not the system's: without it, TLS refuses the server's certificate.
    let ldaps = endpoint(&d.ldaps_url, Security::Ldaps, false).unwrap();
    match LdapDirectory::connect(&target(&d, &ldaps, None, &d.password), Timeouts::default()).await {
        Err(DirectoryError::Tls(why)) => assert!(why.to_lowercase().contains("certificate"), "{why}"),
        other => panic!("an unknown CA fails TLS: {:?}", other.err()),
    }
    // StartTLS against the LDAPS port: no LDAP answer comes back in time.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = endpoint(&format!("ldap://{}", listener.local_addr().unwrap()), Security::Plain, true).unwrap();
    let quick = Timeouts { connect: Duration::from_secs(2), operation: Duration::from_millis(500) };
    match LdapDirectory::connect(&target(&d, &silent, None, &d.password), quick).await {
        Err(DirectoryError::Timeout(_)) => {}
        other => panic!("a silent server times out: {:?}", other.err()),
    }
    drop(listener);
    let closed = endpoint(&format!("ldap://{}", silent.host.clone() + ":1"), Security::Plain, true).unwrap();
    match LdapDirectory::connect(&target(&d, &closed, None, &d.password), quick).await {
        Err(DirectoryError::Unreachable(why)) => assert!(why.contains("127.0.0.1:1"), "{why}"),
        other => panic!("nothing listening is unreachable: {:?}", other.err()),
    }
}

/// An LDAP message: SEQUENCE { id, op, [controls] } (short lengths only: test data is small).
fn message(id: u8, op: &[u8], controls: Option<&[u8]>) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, id];
    body.extend_from_slice(op);
    if let Some(c) = controls {
        body.push(0xa0);
        body.push(c.len() as u8);
        body.extend_from_slice(c);
    }
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// A server that accepts the bind, then answers the search with `answer`.
async fn hostile(answer: Vec<u8>) -> Endpoint {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        let bind_ok = message(1, &[0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00], None);
        s.write_all(&bind_ok).await.unwrap();
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(&answer).await;
        let _ = s.read(&mut buf).await;
    });
    endpoint(&format!("ldap://{addr}"), Security::Plain, true).unwrap()
}

#[tokio::test]
async fn garbage_from_a_server_fails_the_search_not_the_process() {
    let done = [0x65, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00];
    let answers: Vec<(&str, Vec<u8>)> = vec![
        // ldap3 would `panic!("decoding error")` on a criticality that is neither BOOLEAN nor value.
        (
            "a control with an INTEGER inside",
            message(2, &done, Some(&[0x30, 0x08, 0x04, 0x03, b'1', b'.', b'2', 0x02, 0x01, 0x05])),
        ),
        // …and `expect("element")` on a message with no operation.
        ("a message without an operation", vec![0x30, 0x03, 0x02, 0x01, 0x02]),
        // …and on a result without its code.
        ("a result without a code", message(2, &[0x65, 0x02, 0x04, 0x00], None)),
        ("an indefinite length", vec![0x30, 0x80, 0x02, 0x01, 0x02, 0x00, 0x00]),
    ];
    let d = TestDirectory::connect().await;
    let q = Query { base: "dc=x".into(), filter: "(objectClass=*)".into(), attributes: vec![] };
    for (what, answer) in answers {
        let e = hostile(answer).await;
        let mut dir = LdapDirectory::connect(&target(&d, &e, None, "x"), Timeouts::default()).await.unwrap();
        match dir.search_page(&q, &[], 10).await {
            Err(DirectoryError::Malformed(why)) => assert!(why.contains("malformed"), "{what}: {why}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}
