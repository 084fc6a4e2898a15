//! Service preferences that shape what people read: language, time zone, date display (SPEC §1).
use super::FieldError;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Language {
    #[serde(rename = "ko")]
    Ko,
    #[serde(rename = "en")]
    En,
    #[serde(rename = "ja")]
    Ja,
    #[serde(rename = "zh-Hans")]
    ZhHans,
    #[serde(rename = "zh-Hant")]
    ZhHant,
    #[serde(rename = "th")]
    Th,
    #[serde(rename = "id")]
    Id,
    #[serde(rename = "vi")]
    Vi,
}

impl Language {
    pub const ALL: [Language; 8] = [
        Language::Ko,
        Language::En,
        Language::Ja,
        Language::ZhHans,
        Language::ZhHant,
        Language::Th,
        Language::Id,
        Language::Vi,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            Language::Ko => "ko",
            Language::En => "en",
            Language::Ja => "ja",
            Language::ZhHans => "zh-Hans",
            Language::ZhHant => "zh-Hant",
            Language::Th => "th",
            Language::Id => "id",
            Language::Vi => "vi",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|l| l.tag() == raw).ok_or_else(|| {
            FieldError::new(field, "invalid", "language is one of ko, en, ja, zh-Hans, zh-Hant, th, id, vi")
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DateFormat {
    #[serde(rename = "YYYY.MM.DD")]
    YearFirst,
    #[serde(rename = "MM.DD.YYYY")]
    MonthFirst,
}

impl DateFormat {
    pub const NAMES: [&str; 2] = ["YYYY.MM.DD", "MM.DD.YYYY"];

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        match raw {
            r if r == Self::NAMES[0] => Ok(Self::YearFirst),
            r if r == Self::NAMES[1] => Ok(Self::MonthFirst),
            _ => Err(FieldError::new(field, "invalid", "date display is YYYY.MM.DD or MM.DD.YYYY")),
        }
    }
}

/// An IANA time zone name, validated against the tz database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeZone(String);

impl TimeZone {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        raw.parse::<Tz>().map(|tz| Self(tz.name().to_owned())).map_err(|_| {
            FieldError::new(field, "invalid", "time zone is an IANA name such as Asia/Seoul or Europe/Paris")
        })
    }

    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    pub fn tz(&self) -> Tz {
        self.0.parse().unwrap_or(Tz::UTC)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How the account shows a moment to people: its time zone and date display.
#[derive(Debug, Clone)]
pub struct Locale {
    pub language: Language,
    pub time_zone: TimeZone,
    pub date_format: DateFormat,
}

impl Locale {
    /// Date and time in the account's zone, e.g. `2026.11.30 17:05 KST`.
    pub fn format_datetime(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.time_zone.tz());
        let pattern = match self.date_format {
            DateFormat::YearFirst => "%Y.%m.%d %H:%M %Z",
            DateFormat::MonthFirst => "%m.%d.%Y %H:%M %Z",
        };
        local.format(pattern).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn every_language_tag_parses_back() {
        for l in Language::ALL {
            assert_eq!(Language::parse("language", l.tag()).unwrap(), l);
        }
        assert!(Language::parse("language", "fr").is_err());
        assert!(Language::parse("language", "KO").is_err());
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(TimeZone::parse("time_zone", "Asia/Seoul").unwrap().as_str(), "Asia/Seoul");
        assert!(TimeZone::parse("time_zone", "Mars/Olympus").is_err());
        assert!(TimeZone::parse("time_zone", "+09:00").is_err());
    }

    #[test]
    fn dates_render_in_the_account_zone_and_format() {
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap();
        let seoul = Locale {
            language: Language::Ko,
            time_zone: TimeZone::parse("tz", "Asia/Seoul").unwrap(),
            date_format: DateFormat::YearFirst,
        };
        assert_eq!(seoul.format_datetime(at), "2026.12.01 08:30 KST");
        let ny = Locale {
            language: Language::En,
            time_zone: TimeZone::parse("tz", "America/New_York").unwrap(),
            date_format: DateFormat::MonthFirst,
        };
        assert_eq!(ny.format_datetime(at), "11.30.2026 18:30 EST");
    }
}
