//! Translations: one Fluent file per language under `locales/`. Adding a language is adding a
//! file here and a line in `source`; a missing message falls back to English.
use crate::domain::locale::Language;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::collections::HashMap;
use std::sync::LazyLock;

fn source(lang: Language) -> Option<&'static str> {
    match lang {
        Language::En => Some(include_str!("locales/en.ftl")),
        Language::Ko => Some(include_str!("locales/ko.ftl")),
        Language::Ja => Some(include_str!("locales/ja.ftl")),
        Language::ZhHans => Some(include_str!("locales/zh-Hans.ftl")),
        Language::ZhHant => Some(include_str!("locales/zh-Hant.ftl")),
        Language::Th => Some(include_str!("locales/th.ftl")),
        Language::Id => Some(include_str!("locales/id.ftl")),
        Language::Vi => Some(include_str!("locales/vi.ftl")),
    }
}

type Bundle = FluentBundle<FluentResource>;

static BUNDLES: LazyLock<HashMap<Language, Bundle>> = LazyLock::new(|| {
    Language::ALL
        .into_iter()
        .filter_map(|lang| {
            let text = source(lang)?;
            let resource = FluentResource::try_new(text.to_owned()).ok()?;
            let id: unic_langid::LanguageIdentifier = lang.tag().parse().ok()?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Isolation marks (U+2068/2069) show up as boxes in plain-text mail clients.
            bundle.set_use_isolating(false);
            bundle.add_resource(resource).ok()?;
            Some((lang, bundle))
        })
        .collect()
});

/// The languages that have a translation file.
pub fn translated() -> Vec<Language> {
    Language::ALL.into_iter().filter(|l| source(*l).is_some()).collect()
}

fn lookup(lang: Language, id: &str, args: &[(&str, &str)]) -> Option<String> {
    let bundle = BUNDLES.get(&lang)?;
    let pattern = bundle.get_message(id)?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (k, v) in args {
        fluent_args.set(*k, v.to_string());
    }
    let mut errors = vec![];
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    errors.is_empty().then(|| text.into_owned())
}

/// The message in `lang`, else in English, else its id (so a gap is visible, never a crash).
pub fn t(lang: Language, id: &str, args: &[(&str, &str)]) -> String {
    lookup(lang, id, args).or_else(|| lookup(Language::En, id, args)).unwrap_or_else(|| id.to_owned())
}

/// Message ids of a language's file, for completeness checks.
pub fn message_ids(lang: Language) -> Vec<String> {
    source(lang)
        .map(|text| {
            text.lines()
                .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim()))
                .filter(|id| !id.is_empty() && !id.starts_with('#') && !id.starts_with(' '))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_translation_has_every_english_message() {
        let english = message_ids(Language::En);
        assert!(english.len() > 10);
        for lang in translated() {
            let ids = message_ids(lang);
            for id in &english {
                assert!(ids.contains(id), "{} lacks {id}", lang.tag());
                assert!(
                    lookup(
                        lang,
                        id,
                        &[
                            ("company", "C"),
                            ("name", "N"),
                            ("inviter", "I"),
                            ("expires", "E"),
                            ("email", "e"),
                            ("old_owner", "O"),
                            ("new_owner", "W"),
                            ("date", "D"),
                            ("web_address", "A"),
                            ("old", "X"),
                            ("new", "Y"),
                        ]
                    )
                    .is_some(),
                    "{} {id} does not format",
                    lang.tag()
                );
            }
        }
    }

    #[test]
    fn arguments_are_filled_in_without_isolation_marks() {
        let s = t(Language::En, "invitation-subject", &[("company", "Acme")]);
        assert!(s.contains("Acme") && !s.contains('\u{2068}'), "{s}");
        let ko = t(Language::Ko, "invitation-subject", &[("company", "Acme")]);
        assert_ne!(s, ko);
    }

    #[test]
    fn all_eight_languages_are_translated_and_no_file_has_extra_messages() {
        assert_eq!(translated(), Language::ALL);
        let english = message_ids(Language::En);
        for lang in Language::ALL {
            assert_eq!(message_ids(lang).len(), english.len(), "{}", lang.tag());
            if lang != Language::En {
                assert_ne!(t(lang, "accept-submit", &[]), t(Language::En, "accept-submit", &[]), "{}", lang.tag());
            }
        }
    }
}
