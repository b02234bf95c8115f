//! Words for codes: what people read where the API, the database and the configuration
//! keep a code (`dispatched`, `unit_handler`, `ticket.view`, `system:router`).
//!
//! Every enum whose values reach a page is declared with `code_enum!` (below), which gives each
//! value its code and a [`Label`] in Chinese and English, and implements [`Labelled`].
//! [`vocabularies`] lists every such enum with all its codes, so a test can look for any
//! code on any page without a hand-kept list (a unit test here checks that no
//! `code_enum!` is left out of it).

use crate::access::{Permission, Role};
use crate::event::{EventKind, SystemPart};
use crate::place::PlaceKind;
use crate::region::RegionLevel;
use crate::rollup::{AlertKind, Metric};
use crate::sensor::SensorKind;
use crate::ticket::{Channel, CheckKind, Kind, PartState, Satisfaction, Status};
use crate::timer::{DeadlineKind, EscalationTarget, Flag, TimerKind};
use crate::unit::UnitLevel;

/// A code's words for people, in both languages of the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub zh: &'static str,
    pub en: &'static str,
}

impl Label {
    pub const fn new(zh: &'static str, en: &'static str) -> Self {
        Self { zh, en }
    }

    /// The English words when `english`, else the Chinese.
    pub fn pick(self, english: bool) -> &'static str {
        if english { self.en } else { self.zh }
    }
}

/// Yes or no, for a flag shown as a fact ("confidential: yes"), never `true`/`false`.
pub fn yes_no(value: bool) -> Label {
    if value {
        Label::new("是", "Yes")
    } else {
        Label::new("否", "No")
    }
}

/// An enum whose values are shown to people: each has a code and a [`Label`].
pub trait Labelled: Copy + 'static {
    /// The enum's name, as tests and messages name it.
    const NAME: &'static str;
    /// Every value, in declaration order.
    fn all() -> &'static [Self];
    /// The code used in the API, the database and the configuration.
    fn code(self) -> &'static str;
    /// What people read.
    fn label(self) -> Label;
    /// The name of the value in Rust (`DistrictDepartment`): what a `{:?}` would show.
    fn rust_name(self) -> &'static str;
}

/// Declares an enum of codes with their labels:
/// `Variant = "code" / "中文" / "English"`, each variant optionally documented. The enum
/// is serialized in snake case (serde), shown by its code (`Display`), and labelled
/// ([`Labelled`]). Add every new one to [`vocabularies`].
macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident {
        $($(#[$vdoc:meta])* $variant:ident = $code:literal / $zh:literal / $en:literal),+ $(,)?
    }) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code used in the API, the database and configuration.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese name shown to people.
            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            /// The English name shown to people.
            pub fn label_en(self) -> &'static str {
                match self { $($name::$variant => $en),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// Accepts the code or the Chinese name.
            pub fn from_name(name: &str) -> Option<Self> {
                let name = name.trim();
                Self::from_code(name).or_else(|| match name { $($zh => Some($name::$variant),)+ _ => None })
            }

            /// Every code, comma-separated, for error messages.
            pub fn codes() -> String {
                [$($code),+].join(", ")
            }
        }

        impl $crate::label::Labelled for $name {
            const NAME: &'static str = stringify!($name);
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn code(self) -> &'static str {
                $name::code(self)
            }
            fn label(self) -> $crate::label::Label {
                $crate::label::Label::new(self.label_zh(), self.label_en())
            }
            fn rust_name(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

/// One value of a labelled enum, as [`vocabularies`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub code: &'static str,
    pub rust_name: &'static str,
    pub label: Label,
}

/// One labelled enum with every value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocabulary {
    pub name: &'static str,
    pub words: Vec<Word>,
}

/// The vocabulary of one labelled enum.
pub fn vocabulary<T: Labelled>() -> Vocabulary {
    Vocabulary {
        name: T::NAME,
        words: T::all()
            .iter()
            .map(|&value| Word {
                code: value.code(),
                rust_name: value.rust_name(),
                label: value.label(),
            })
            .collect(),
    }
}

/// Every labelled enum of the domain, with all its codes and labels.
pub fn vocabularies() -> Vec<Vocabulary> {
    vec![
        vocabulary::<Channel>(),
        vocabulary::<Kind>(),
        vocabulary::<Status>(),
        vocabulary::<PartState>(),
        vocabulary::<Satisfaction>(),
        vocabulary::<EventKind>(),
        vocabulary::<SystemPart>(),
        vocabulary::<Role>(),
        vocabulary::<Permission>(),
        vocabulary::<UnitLevel>(),
        vocabulary::<RegionLevel>(),
        vocabulary::<PlaceKind>(),
        vocabulary::<TimerKind>(),
        vocabulary::<DeadlineKind>(),
        vocabulary::<EscalationTarget>(),
        vocabulary::<Flag>(),
        vocabulary::<Metric>(),
        vocabulary::<AlertKind>(),
        vocabulary::<SensorKind>(),
        vocabulary::<CheckKind>(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_han(text: &str) -> bool {
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_code_enum_is_listed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let declared: usize = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .map(|source| source.matches("\ncode_enum!(").count())
            .sum();
        assert_eq!(declared, vocabularies().len());
    }

    #[test]
    fn every_value_has_both_labels() {
        for vocabulary in vocabularies() {
            let mut seen = std::collections::HashSet::new();
            for word in &vocabulary.words {
                let Label { zh, en } = word.label;
                assert!(!zh.trim().is_empty() && !en.trim().is_empty(), "{word:?}");
                assert!(!has_han(en), "{}: English label {en:?}", vocabulary.name);
                assert!(
                    seen.insert((zh, en)),
                    "{}: label {zh}/{en} twice",
                    vocabulary.name
                );
            }
        }
    }
}
