//! Account settings (SPEC §1): registration information, design, service preferences. Each
//! section has its own ETag (a hash of its content), so editing one never conflicts with a
//! concurrent edit of another; the write itself is guarded by the account's version.
use super::{Caller, Error, Result, Services};
use crate::domain::FieldErrors;
use crate::domain::account::{self, Account};
use crate::domain::audit::AuditEntry;
use crate::domain::email::Email;
use crate::domain::format::COMPANY;
use crate::domain::locale::{DateFormat, Language, TimeZone};
use crate::domain::role::RoleRef;
use crate::domain::settings::{self, Design, Image, ImageSlot, TopMenu};
use crate::domain::text::required_text;
use crate::store::{ACCOUNT_CHANGED, StoredImage};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// `null` in a PATCH body clears the field; absent leaves it.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Registration {
    pub company_name: String,
    pub contact_email: Option<String>,
    pub main_phone: Option<String>,
    pub cell_phone: Option<String>,
    pub newsletter: bool,
}

impl From<&Account> for Registration {
    fn from(a: &Account) -> Self {
        Self {
            company_name: a.company_name.clone(),
            contact_email: a.contact_email.as_ref().map(ToString::to_string),
            main_phone: a.main_phone.clone(),
            cell_phone: a.cell_phone.clone(),
            newsletter: a.newsletter,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationPatch {
    #[schema(schema_with = crate::http::openapi::field::company_or_null)]
    pub company_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::http::openapi::field::email_or_null)]
    pub contact_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::http::openapi::field::phone_or_null)]
    pub main_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::http::openapi::field::phone_or_null)]
    pub cell_phone: Option<Option<String>>,
    pub newsletter: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Preferences {
    pub language: Language,
    /// IANA time zone name.
    pub time_zone: String,
    pub date_format: DateFormat,
    /// Days an invitation link stays valid (1–30); invite and resend use it.
    pub invitation_validity_days: u32,
    /// Invitations the account may send per hour (1–10,000; only the owner changes it).
    pub invitations_per_hour: u32,
    /// A manager of an organization may see the tickets of its child organizations' members
    /// too (`can-view-tickets-of` follows the hierarchy).
    pub managers_see_child_organizations: bool,
    /// Members of an organization get the usergroups of its ancestors too.
    pub usergroups_from_parent_organizations: bool,
}

impl From<&Account> for Preferences {
    fn from(a: &Account) -> Self {
        Self {
            language: a.language,
            time_zone: a.time_zone.as_str().to_owned(),
            date_format: a.date_format,
            invitation_validity_days: a.invitation_validity_days,
            invitations_per_hour: a.invitations_per_hour,
            managers_see_child_organizations: a.managers_see_child_organizations,
            usergroups_from_parent_organizations: a.usergroups_from_parent_organizations,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesPatch {
    /// One of ko, en, ja, zh-Hans, zh-Hant, th, id, vi.
    #[schema(schema_with = crate::http::openapi::field::language_or_null)]
    pub language: Option<String>,
    /// IANA time zone name, e.g. Asia/Seoul.
    #[schema(schema_with = crate::http::openapi::field::time_zone_or_null)]
    pub time_zone: Option<String>,
    /// `YYYY.MM.DD` or `MM.DD.YYYY`.
    #[schema(schema_with = crate::http::openapi::field::date_format_or_null)]
    pub date_format: Option<String>,
    /// 1–30.
    #[schema(minimum = 1, maximum = 30)]
    pub invitation_validity_days: Option<u32>,
    /// 1–10,000; the account owner only.
    #[schema(minimum = 1, maximum = 10000)]
    pub invitations_per_hour: Option<u32>,
    pub managers_see_child_organizations: Option<bool>,
    pub usergroups_from_parent_organizations: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignPatch {
    pub top_menu: Option<TopMenu>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::http::openapi::field::company_or_null)]
    pub website_name: Option<Option<String>>,
    /// An https address of the logo; `null` removes the logo (also an uploaded one).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::http::openapi::field::image_url_or_null)]
    pub logo_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::http::openapi::field::image_url_or_null)]
    pub favicon_url: Option<Option<String>>,
}

fn design_of(a: &Account) -> Design {
    a.design.clone()
}

/// A section's ETag: a hash of what the section shows.
pub fn etag(section: &impl Serialize) -> u64 {
    let bytes = serde_json::to_vec(section).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) >> 1
}

fn apply_registration(a: &mut Account, p: RegistrationPatch) -> Result<()> {
    let mut errors = FieldErrors::new();
    if let Some(name) = p.company_name {
        a.company_name = errors.take(required_text("company_name", &name, &COMPANY)).unwrap_or_default();
    }
    if let Some(email) = p.contact_email {
        a.contact_email = email.and_then(|e| errors.take(Email::parse("contact_email", &e)));
    }
    for (field, value, target) in
        [("main_phone", p.main_phone, &mut a.main_phone), ("cell_phone", p.cell_phone, &mut a.cell_phone)]
    {
        if let Some(v) = value {
            *target = v.and_then(|v| errors.take(settings::phone(field, &v)));
        }
    }
    if let Some(n) = p.newsletter {
        a.newsletter = n;
    }
    Ok(errors.finish()?)
}

fn apply_preferences(a: &mut Account, p: PreferencesPatch) -> Result<()> {
    let mut errors = FieldErrors::new();
    if let Some(l) = p.language.and_then(|l| errors.take(Language::parse("language", &l))) {
        a.language = l;
    }
    if let Some(t) = p.time_zone.and_then(|t| errors.take(TimeZone::parse("time_zone", &t))) {
        a.time_zone = t;
    }
    if let Some(d) = p.date_format.and_then(|d| errors.take(DateFormat::parse("date_format", &d))) {
        a.date_format = d;
    }
    let field = "invitation_validity_days";
    if let Some(d) = p.invitation_validity_days.and_then(|d| errors.take(account::invitation_validity(field, d))) {
        a.invitation_validity_days = d;
    }
    let field = "invitations_per_hour";
    if let Some(n) = p.invitations_per_hour.and_then(|n| errors.take(account::invitations_per_hour(field, n))) {
        a.invitations_per_hour = n;
    }
    if let Some(m) = p.managers_see_child_organizations {
        a.managers_see_child_organizations = m;
    }
    if let Some(u) = p.usergroups_from_parent_organizations {
        a.usergroups_from_parent_organizations = u;
    }
    Ok(errors.finish()?)
}

/// Returns the image slots whose uploaded file is no longer used.
fn apply_design(a: &mut Account, p: DesignPatch) -> Result<Vec<ImageSlot>> {
    let mut errors = FieldErrors::new();
    let d = &mut a.design;
    if let Some(t) = p.top_menu {
        d.top_menu = t;
    }
    if let Some(name) = p.website_name {
        d.website_name = name.and_then(|n| errors.take(required_text("website_name", &n, &COMPANY)));
    }
    let mut dropped = Vec::new();
    for (slot, field, value) in
        [(ImageSlot::Logo, "logo_url", p.logo_url), (ImageSlot::Favicon, "favicon_url", p.favicon_url)]
    {
        let Some(value) = value else { continue };
        let image = d.image_mut(slot);
        if matches!(image, Some(Image::Uploaded { .. })) {
            dropped.push(slot);
        }
        *image = value.and_then(|u| errors.take(settings::image_url(field, &u))).map(|url| Image::Url { url });
    }
    errors.finish()?;
    // Well-formed, but the design would show a logo it does not have: a conflict with its state.
    if d.top_menu != TopMenu::Name && d.logo.is_none() {
        return Err(Error::conflict(
            "logo_required",
            "showing a logo in the top menu needs a logo; set logo_url or upload one",
        ));
    }
    Ok(dropped)
}

/// Read-modify-write of one section: `If-Match` is checked against the section as it is now;
/// a concurrent change of another section only makes us re-read and re-apply.
async fn update<V: Serialize + PartialEq>(
    s: &Services,
    caller: &Caller,
    if_match: Option<u64>,
    action: &str,
    view: fn(&Account) -> V,
    apply: impl Fn(&mut Account) -> Result<Vec<(ImageSlot, Option<StoredImage>)>>,
) -> Result<Account> {
    let mut current = caller.account.clone();
    for _ in 0..5 {
        let before = view(&current);
        if if_match.is_some_and(|tag| tag != etag(&before)) {
            return Err(Error::PreconditionFailed);
        }
        let mut next = current.clone();
        let images = apply(&mut next)?;
        let after = view(&next);
        if after == before && images.is_empty() {
            return Ok(current);
        }
        next.version = current.version + 1;
        let audit = AuditEntry::new(
            caller.actor(),
            action,
            "account",
            current.id,
            serde_json::json!({ "before": before, "after": after }),
        );
        let images: Vec<_> = images.iter().map(|(slot, stored)| (*slot, stored.as_ref())).collect();
        match s.store.update_account(&next, current.version, &images, &audit).await {
            Ok(()) => return Ok(next),
            Err(e) if e.is_conflict(ACCOUNT_CHANGED) => {
                current = s.store.get_account(current.id).await?.ok_or(Error::Gone)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Unavailable("the account's settings are changing too often; retry".into()))
}

pub async fn update_registration(
    s: &Services,
    caller: &Caller,
    patch: RegistrationPatch,
    if_match: Option<u64>,
) -> Result<Account> {
    update(
        s,
        caller,
        if_match,
        "account.registration_changed",
        |a| Registration::from(a),
        |a: &mut Account| apply_registration(a, patch.clone()).map(|()| Vec::new()),
    )
    .await
}

pub async fn update_preferences(
    s: &Services,
    caller: &Caller,
    patch: PreferencesPatch,
    if_match: Option<u64>,
) -> Result<Account> {
    // The mail the account may send is the owner's decision.
    if patch.invitations_per_hour.is_some() && caller.member().is_none_or(|m| m.role != RoleRef::OWNER) {
        return Err(Error::Forbidden("only the account owner sets the hourly invitation limit"));
    }
    update(
        s,
        caller,
        if_match,
        "account.preferences_changed",
        |a| Preferences::from(a),
        |a: &mut Account| apply_preferences(a, patch.clone()).map(|()| Vec::new()),
    )
    .await
}

pub async fn update_design(
    s: &Services,
    caller: &Caller,
    patch: DesignPatch,
    if_match: Option<u64>,
) -> Result<Account> {
    update(s, caller, if_match, "account.design_changed", design_of, |a: &mut Account| {
        // Uploaded files no longer used go in the same transaction.
        Ok(apply_design(a, patch.clone())?.into_iter().map(|slot| (slot, None)).collect())
    })
    .await
}

/// Upload a logo or favicon: the bytes decide the type, the design points at the upload.
pub async fn upload_image(s: &Services, caller: &Caller, slot: ImageSlot, bytes: &[u8]) -> Result<Account> {
    let content_type = settings::sniff_image(bytes)?;
    let sha256 = crate::domain::digest::sha256_hex(bytes);
    let stored = StoredImage { content_type: content_type.to_owned(), data: bytes.to_vec(), sha256: sha256.clone() };
    update(s, caller, None, "account.design_changed", design_of, |a: &mut Account| {
        *a.design.image_mut(slot) =
            Some(Image::Uploaded { content_type: content_type.to_owned(), size: bytes.len(), sha256: sha256.clone() });
        Ok(vec![(slot, Some(stored.clone()))])
    })
    .await
}

/// The uploaded file of a slot, if the design uses one.
pub async fn image(s: &Services, caller: &Caller, slot: ImageSlot) -> Result<StoredImage> {
    let uploaded = matches!(caller.account.design.image(slot), Some(Image::Uploaded { .. }));
    let not_found = || Error::NotFound("uploaded image");
    if !uploaded {
        return Err(not_found());
    }
    s.store.design_image(caller.account_id(), slot).await?.ok_or_else(not_found)
}
