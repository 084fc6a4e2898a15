//! The test directory: the suite's slapd (started by `infra/test.sh`), written to as its admin
//! over plain LDAP on loopback. Each test works in an `ou` of its own.
use ldap3::{LdapConnAsync, Mod};
use std::collections::HashSet;

pub struct TestDirectory {
    pub ldap: ldap3::Ldap,
    pub url: String,
    pub ldaps_url: String,
    pub base: String,
    pub admin: String,
    pub password: String,
    pub ca: String,
}

pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the suite with `bash infra/test.sh`"))
}

/// The DN of a person of `unit`.
pub fn person_dn(unit: &str, uid: &str) -> String {
    format!("uid={},{unit}", ldap3::dn_escape(uid))
}

/// A person of a test's `ou`.
pub struct Person {
    pub uid: String,
    pub cn: String,
    pub mail: String,
}

impl TestDirectory {
    pub async fn connect() -> Self {
        let url = env("ROSTER_TEST_LDAP_URL");
        let (conn, mut ldap) = LdapConnAsync::new(&url).await.expect("slapd");
        ldap3::drive!(conn);
        let (admin, password) = (env("ROSTER_TEST_LDAP_ADMIN"), env("ROSTER_TEST_LDAP_PASSWORD"));
        ldap.simple_bind(&admin, &password).await.unwrap().success().unwrap();
        let ca = std::fs::read_to_string(env("ROSTER_TEST_CA")).unwrap();
        Self {
            ldap,
            url,
            ldaps_url: env("ROSTER_TEST_LDAPS_URL"),
            base: env("ROSTER_TEST_LDAP_BASE"),
            admin,
            password,
            ca,
        }
    }

    /// A new organizational unit of its own; its DN.
    pub async fn unit(&mut self, prefix: &str) -> String {
        let ou = crate::unique(prefix);
        let dn = format!("ou={ou},{}", self.base);
        let attrs = vec![("objectClass", HashSet::from(["organizationalUnit"])), ("ou", HashSet::from([ou.as_str()]))];
        self.ldap.add(&dn, attrs).await.unwrap().success().unwrap();
        dn
    }

    /// Add people under `unit`, many at once (ldap3 multiplexes one connection).
    pub async fn add_people(&self, unit: &str, people: &[Person]) {
        use futures::StreamExt;
        futures::stream::iter(people)
            .map(|p| {
                let mut ldap = self.ldap.clone();
                let dn = person_dn(unit, &p.uid);
                async move {
                    let (given, sn) = p.cn.split_once(' ').unwrap_or((p.cn.as_str(), p.cn.as_str()));
                    let attrs = vec![
                        ("objectClass", HashSet::from(["inetOrgPerson"])),
                        ("uid", HashSet::from([p.uid.as_str()])),
                        ("cn", HashSet::from([p.cn.as_str()])),
                        ("givenName", HashSet::from([given])),
                        ("sn", HashSet::from([sn])),
                        ("mail", HashSet::from([p.mail.as_str()])),
                    ];
                    ldap.add(&dn, attrs).await.unwrap().success().unwrap_or_else(|e| panic!("adding {dn}: {e}"));
                }
            })
            .buffer_unordered(32)
            .collect::<Vec<_>>()
            .await;
    }

    /// An organization under `unit` with these email domains (RFC 4524's `associatedDomain`);
    /// its DN.
    pub async fn add_organization(&mut self, unit: &str, name: &str, domains: &[&str]) -> String {
        let dn = format!("o={},{unit}", ldap3::dn_escape(name));
        let mut attrs =
            vec![("objectClass", HashSet::from(["organization", "domainRelatedObject"])), ("o", HashSet::from([name]))];
        attrs.push(("associatedDomain", domains.iter().copied().collect()));
        self.ldap.add(&dn, attrs).await.unwrap().success().unwrap_or_else(|e| panic!("adding {dn}: {e}"));
        dn
    }

    /// A group (`groupOfNames`) under `unit` with these member DNs; its DN. The server's
    /// memberof overlay gives each member its `memberOf`.
    pub async fn add_group(&mut self, unit: &str, name: &str, members: &[&str]) -> String {
        let dn = format!("cn={},{unit}", ldap3::dn_escape(name));
        let attrs = vec![
            ("objectClass", HashSet::from(["groupOfNames"])),
            ("cn", HashSet::from([name])),
            ("member", members.iter().copied().collect()),
        ];
        self.ldap.add(&dn, attrs).await.unwrap().success().unwrap_or_else(|e| panic!("adding {dn}: {e}"));
        dn
    }

    /// Replace every value of `attribute` (none: remove it).
    pub async fn replace_all(&mut self, dn: &str, attribute: &str, values: &[&str]) {
        let m = vec![Mod::Replace(attribute, values.iter().copied().collect())];
        self.ldap.modify(dn, m).await.unwrap().success().unwrap();
    }

    pub async fn replace(&mut self, dn: &str, attribute: &str, value: &str) {
        let m = vec![Mod::Replace(attribute, HashSet::from([value]))];
        self.ldap.modify(dn, m).await.unwrap().success().unwrap();
    }

    /// Move an entry under another parent (its entryUUID stays).
    pub async fn move_to(&mut self, dn: &str, parent: &str) -> String {
        let (rdn, _) = dn.split_once(',').unwrap();
        self.ldap.modifydn(dn, rdn, true, Some(parent)).await.unwrap().success().unwrap();
        format!("{rdn},{parent}")
    }

    /// Give an entry a new RDN (the old value goes; its entryUUID stays).
    pub async fn rename(&mut self, dn: &str, rdn: &str) {
        self.ldap.modifydn(dn, rdn, true, None).await.unwrap().success().unwrap();
    }

    pub async fn delete(&mut self, dn: &str) {
        self.ldap.delete(dn).await.unwrap().success().unwrap();
    }
}
