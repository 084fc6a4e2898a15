//! Account settings (SPEC §1): registration information and design. Preferences (language,
//! zone, date display) live in `locale`.
use super::FieldError;
use serde::{Deserialize, Serialize};

/// A phone number as people type it: digits with `+`, spaces, dots, dashes and parentheses,
/// 6–20 digits. No country rules: the account may be anywhere.
pub fn phone(field: &str, raw: &str) -> Result<String, FieldError> {
    let what = "is a phone number: 6–20 digits, optionally with +, spaces, dashes or parentheses";
    super::format::PHONE.check(field, raw, what).map(str::to_owned)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopMenu {
    #[default]
    Name,
    Logo,
    NameAndLogo,
}

/// Which of the two design images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageSlot {
    Logo,
    Favicon,
}

impl ImageSlot {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "logo" => Some(Self::Logo),
            "favicon" => Some(Self::Favicon),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logo => "logo",
            Self::Favicon => "favicon",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Image {
    /// Hosted elsewhere.
    Url { url: String },
    /// Uploaded to Roster and served back from the account's design route.
    Uploaded { content_type: String, size: usize, sha256: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Design {
    pub top_menu: TopMenu,
    pub website_name: Option<String>,
    pub logo: Option<Image>,
    pub favicon: Option<Image>,
}

impl Design {
    pub fn image(&self, slot: ImageSlot) -> Option<&Image> {
        match slot {
            ImageSlot::Logo => self.logo.as_ref(),
            ImageSlot::Favicon => self.favicon.as_ref(),
        }
    }

    pub fn image_mut(&mut self, slot: ImageSlot) -> &mut Option<Image> {
        match slot {
            ImageSlot::Logo => &mut self.logo,
            ImageSlot::Favicon => &mut self.favicon,
        }
    }
}

/// The largest image an account may upload.
pub const IMAGE_MAX_BYTES: usize = 256 * 1024;

/// The image types accepted, recognised by their first bytes (never by a name or a header):
/// PNG, JPEG, WebP and ICO. SVG is refused because it can carry scripts.
pub fn sniff_image(bytes: &[u8]) -> Result<&'static str, FieldError> {
    if bytes.is_empty() {
        return Err(FieldError::new("image", "required", "send the image as the request body"));
    }
    if bytes.len() > IMAGE_MAX_BYTES {
        return Err(FieldError::new("image", "too_large", format!("an image has at most {IMAGE_MAX_BYTES} bytes")));
    }
    match infer::get(bytes).map(|t| t.mime_type()) {
        Some("image/png") => Ok("image/png"),
        Some("image/jpeg") => Ok("image/jpeg"),
        Some("image/webp") => Ok("image/webp"),
        Some("image/vnd.microsoft.icon" | "image/x-icon") => Ok("image/x-icon"),
        _ => Err(FieldError::new("image", "unsupported_type", "an image is a PNG, JPEG, WebP or ICO file (no SVG)")),
    }
}

/// An image address: absolute https, no credentials, nothing that could break out of an attribute.
pub fn image_url(field: &str, raw: &str) -> Result<String, FieldError> {
    super::format::IMAGE_URL.check(field, raw, "is an https:// address with a host").map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        for ok in ["+82 10-1234-5678", "(02) 555 0100", "010.1234.5678", "123456"] {
            assert_eq!(phone("main_phone", ok).unwrap(), ok);
        }
        for bad in ["12345", "call me", "+82+10 1234", "1".repeat(21).as_str(), "010-1234-5678 ext. 9", ""] {
            assert!(phone("main_phone", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        assert_eq!(sniff_image(&png).unwrap(), "image/png");
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).unwrap(), "image/jpeg");
        assert_eq!(sniff_image(b"RIFF\x10\0\0\0WEBPVP8 ").unwrap(), "image/webp");
        assert_eq!(sniff_image(&[0, 0, 1, 0, 1, 0, 16, 16, 0, 0]).unwrap(), "image/x-icon");
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        assert_eq!(sniff_image(svg).unwrap_err().code, "unsupported_type");
        assert_eq!(sniff_image(b"GIF89a....").unwrap_err().code, "unsupported_type");
        assert_eq!(sniff_image(&[]).unwrap_err().code, "required");
        let mut big = png.to_vec();
        big.resize(IMAGE_MAX_BYTES + 1, 0);
        assert_eq!(sniff_image(&big).unwrap_err().code, "too_large");
    }

    #[test]
    fn image_urls() {
        assert!(image_url("logo_url", "https://cdn.acme.test/logo.png").is_ok());
        for bad in [
            "http://acme.test/logo.png",
            "javascript:alert(1)",
            "https://",
            "https://user:pw@acme.test/x.png",
            "https://acme.test/a b.png",
            "https://acme.test/\"onload=x",
        ] {
            assert!(image_url("logo_url", bad).is_err(), "{bad}");
        }
    }
}
