//! Identifier newtypes: an account id can never be passed where a member id is expected.
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        /// Stored and sent in the same simple form as in keys and paths, so a condition on a
        /// stored id compares equal to the id as the code prints it.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0.as_simple())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Uuid::try_parse(&raw).map(Self).map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// Time-ordered (UUIDv7), so sort keys built from it list oldest first.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::try_parse(s).ok().map(Self)
            }
            /// An id no stored item has: a stand-in where a lookup must take the same steps
            /// whether or not the real thing exists.
            pub fn nil() -> Self {
                Self(Uuid::nil())
            }
            /// A fixed, well-known id (a recurring system job's).
            pub const fn fixed(n: u128) -> Self {
                Self(Uuid::from_u128(n))
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
            /// The id of `name` in `namespace` (a directory's entry in its connection): the
            /// same every time, so a run redone after a crash finds what it made before.
            pub fn named(namespace: Uuid, name: &[u8]) -> Self {
                use sha2::Digest;
                let digest = sha2::Sha256::new().chain_update(namespace.as_bytes()).chain_update(name).finalize();
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&digest[..16]);
                Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
            }
            /// The `n`th id made from another (a job's): the same every time it is made, so
            /// work redone after a crash recognises what it made before; ordered by the
            /// other's time like a new id made then.
            pub fn derived(from: Uuid, n: u64) -> Self {
                const LOW: u128 = (1 << 62) - 1;
                let raw = from.as_u128();
                let low = (raw & LOW).wrapping_add(u128::from(n)) & LOW;
                Self(Uuid::from_u128((raw & !((1 << 64) - 1)) | (0b10 << 62) | low))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_simple().fmt(f)
            }
        }
    };
}

id_type!(AccountId);
id_type!(MemberId);
id_type!(SessionId);
id_type!(AuditId);
id_type!(ApiKeyId);
id_type!(RoleId);
id_type!(GroupId);
id_type!(JobId);
id_type!(OrganizationId);
id_type!(UserId);
id_type!(DirectoryId);
id_type!(UsergroupId);
id_type!(CustomFieldId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_distinct_and_versioned() {
        let job = JobId::new().as_uuid();
        let (a, b) = (UserId::derived(job, 0), UserId::derived(job, 1));
        assert_eq!(a, UserId::derived(job, 0));
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(a.as_uuid().get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn named_ids_are_the_same_for_the_same_name_in_the_same_place() {
        let (dir, other) = (Uuid::now_v7(), Uuid::now_v7());
        let a = OrganizationId::named(dir, b"entry");
        assert_eq!(a, OrganizationId::named(dir, b"entry"));
        assert_ne!(a, OrganizationId::named(dir, b"entry2"));
        assert_ne!(a, OrganizationId::named(other, b"entry"));
        assert_eq!(a.as_uuid().get_version_num(), 8);
        assert_eq!(a.as_uuid().get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn ids_round_trip_through_their_display_form() {
        let id = MemberId::new();
        assert_eq!(MemberId::parse(&id.to_string()), Some(id));
        assert_eq!(MemberId::parse("not-an-id"), None);
    }

    #[test]
    fn ids_serialize_exactly_as_they_display() {
        let id = AccountId::new();
        assert_eq!(serde_json::to_value(id).unwrap(), serde_json::json!(id.to_string()));
        let back: AccountId = serde_json::from_value(serde_json::json!(id.as_uuid().hyphenated().to_string())).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn ids_created_later_sort_later() {
        let a = AuditId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = AuditId::new();
        assert!(a.to_string() < b.to_string());
    }
}
