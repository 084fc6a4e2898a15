//! The test Active Directory: the suite's Samba AD DC (started by `infra/test.sh`), written to
//! as its Administrator over plain LDAP on loopback (this throwaway DC allows it; Roster's
//! connections use LDAPS). Each test works in an OU of its own.
use crate::ldap::env;
use ldap3::{LdapConnAsync, Mod};
use std::collections::HashSet;

pub struct TestAd {
    pub ldap: ldap3::Ldap,
    pub url: String,
    pub base: String,
    pub admin: String,
    pub password: String,
    pub ca: String,
}

/// A person of a test's OU (`sam` at most 20 characters, unique in the domain).
pub struct AdPerson {
    pub sam: String,
    pub display_name: String,
    pub mail: String,
}

/// AD's `userAccountControl`: a normal account that needs no password, enabled or disabled.
pub const ENABLED: &str = "544";
pub const DISABLED: &str = "546";

impl TestAd {
    pub async fn connect() -> Self {
        let (conn, mut ldap) = LdapConnAsync::new(&env("ROSTER_TEST_AD_PLAIN_URL")).await.expect("samba");
        ldap3::drive!(conn);
        let (admin, password) = (env("ROSTER_TEST_AD_ADMIN"), env("ROSTER_TEST_AD_PASSWORD"));
        ldap.simple_bind(&admin, &password).await.unwrap().success().unwrap();
        let ca = std::fs::read_to_string(env("ROSTER_TEST_AD_CA")).unwrap();
        Self { ldap, url: env("ROSTER_TEST_AD_URL"), base: env("ROSTER_TEST_AD_BASE"), admin, password, ca }
    }

    /// A new OU of its own; its DN.
    pub async fn unit(&mut self, prefix: &str) -> String {
        let ou = crate::unique(prefix);
        let dn = format!("OU={ou},{}", self.base);
        let attrs = vec![("objectClass", HashSet::from(["organizationalUnit"])), ("ou", HashSet::from([ou.as_str()]))];
        self.ldap.add(&dn, attrs).await.unwrap().success().unwrap();
        dn
    }

    pub fn dn(unit: &str, sam: &str) -> String {
        format!("CN={},{unit}", ldap3::dn_escape(sam))
    }

    /// Add enabled people under `unit`.
    pub async fn add_people(&mut self, unit: &str, people: &[AdPerson]) {
        for p in people {
            let dn = Self::dn(unit, &p.sam);
            let (given, sn) = p.display_name.split_once(' ').unwrap_or((&p.display_name, &p.display_name));
            let attrs = vec![
                ("objectClass", HashSet::from(["top", "person", "organizationalPerson", "user"])),
                ("cn", HashSet::from([p.sam.as_str()])),
                ("sAMAccountName", HashSet::from([p.sam.as_str()])),
                ("displayName", HashSet::from([p.display_name.as_str()])),
                ("givenName", HashSet::from([given])),
                ("sn", HashSet::from([sn])),
                ("mail", HashSet::from([p.mail.as_str()])),
                ("userAccountControl", HashSet::from([ENABLED])),
            ];
            self.ldap.add(&dn, attrs).await.unwrap().success().unwrap_or_else(|e| panic!("adding {dn}: {e}"));
        }
    }

    /// A global security group under `unit` with these members; its DN.
    pub async fn add_group(&mut self, unit: &str, sam: &str, members: &[&str]) -> String {
        let dn = Self::dn(unit, sam);
        let attrs = vec![
            ("objectClass", HashSet::from(["top", "group"])),
            ("cn", HashSet::from([sam])),
            ("sAMAccountName", HashSet::from([sam])),
            ("member", members.iter().copied().collect()),
        ];
        self.ldap.add(&dn, attrs).await.unwrap().success().unwrap_or_else(|e| panic!("adding {dn}: {e}"));
        dn
    }

    /// Replace every value of `attribute`.
    pub async fn replace_all(&mut self, dn: &str, attribute: &str, values: &[&str]) {
        let m = vec![Mod::Replace(attribute, values.iter().copied().collect())];
        self.ldap.modify(dn, m).await.unwrap().success().unwrap();
    }

    pub async fn replace(&mut self, dn: &str, attribute: &str, value: &str) {
        let m = vec![Mod::Replace(attribute, HashSet::from([value]))];
        self.ldap.modify(dn, m).await.unwrap().success().unwrap();
    }

    pub async fn delete(&mut self, dn: &str) {
        self.ldap.delete(dn).await.unwrap().success().unwrap();
    }

    /// The entry's `objectGUID` as AD writes it (16 bytes, the first three fields little-endian).
    pub async fn object_guid(&mut self, dn: &str) -> uuid::Uuid {
        let (found, _) = self
            .ldap
            .search(dn, ldap3::Scope::Base, "(objectClass=*)", vec!["objectGUID"])
            .await
            .unwrap()
            .success()
            .unwrap();
        let e = ldap3::SearchEntry::construct(found.into_iter().next().unwrap());
        let raw: Vec<u8> = match e.bin_attrs.get("objectGUID") {
            Some(v) => v[0].clone(),
            None => e.attrs["objectGUID"][0].as_bytes().to_vec(),
        };
        uuid::Uuid::from_bytes_le(raw.try_into().unwrap())
    }
}
