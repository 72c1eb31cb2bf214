//! Language detection (whatlang) and the weak language → country hint.

use super::CountryCode;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use whatlang::Lang;

/// An ISO 639-1 language code (two lower-case letters), e.g. `pt`, `ja`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language([u8; 2]);

/// Error for a string that is not a two-letter language code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ISO 639-1 language code: {0:?}")]
pub struct InvalidLanguage(pub String);

impl Language {
    /// The code as a string slice, e.g. `"pt"`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    fn from_static(code: &'static str) -> Option<Self> {
        match code.as_bytes() {
            [a, b] => Some(Self([*a, *b])),
            _ => None,
        }
    }
}

impl FromStr for Language {
    type Err = InvalidLanguage;

    /// Accepts any two ASCII letters (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_lowercase(), b.to_ascii_lowercase()]))
            }
            _ => Err(InvalidLanguage(s.to_string())),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Language({})", self.as_str())
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// ISO 639-1 code for every language whatlang 0.18 knows.
fn iso639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
    }
}

/// Minimum letters for an alphabetic script; CJK and Hangul carry more per
/// character.
const MIN_LETTERS: usize = 20;
const MIN_LETTERS_CJK: usize = 4;

/// Detects the language of `text` with whatlang; `None` unless whatlang
/// considers the result reliable and the text is long enough.
pub fn detect_language(text: &str) -> Option<Language> {
    let info = whatlang::detect(text)?;
    if !info.is_reliable() {
        return None;
    }
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let min = match info.lang() {
        Lang::Jpn | Lang::Kor | Lang::Cmn => MIN_LETTERS_CJK,
        _ => MIN_LETTERS,
    };
    if letters < min {
        return None;
    }
    Language::from_static(iso639_1(info.lang()))
}

/// whatlang's best guess even when it is not sure: only used to choose
/// which countries' national phone formats to try.
pub(super) fn guess_language(text: &str) -> Option<Language> {
    let info = whatlang::detect(text)?;
    Language::from_static(iso639_1(info.lang()))
}

/// Countries where a language is the main language, with shares: one
/// country for most languages, several for languages spoken across many
/// (Spanish, Portuguese, French, German, Dutch, Arabic, English).
pub(super) fn country_shares(lang: Language) -> Vec<(CountryCode, f32)> {
    let list: &[(&str, f32)] = match lang.as_str() {
        "ja" => &[("JP", 1.0)],
        "ko" => &[("KR", 1.0)],
        "sv" => &[("SE", 1.0)],
        "fi" => &[("FI", 1.0)],
        "da" => &[("DK", 1.0)],
        "nb" | "no" | "nn" => &[("NO", 1.0)],
        "pl" => &[("PL", 1.0)],
        "uk" => &[("UA", 1.0)],
        "el" => &[("GR", 0.9), ("CY", 0.1)],
        "hu" => &[("HU", 1.0)],
        "cs" => &[("CZ", 1.0)],
        "sk" => &[("SK", 1.0)],
        "tr" => &[("TR", 1.0)],
        "he" => &[("IL", 1.0)],
        "th" => &[("TH", 1.0)],
        "vi" => &[("VN", 1.0)],
        "ka" => &[("GE", 1.0)],
        "hy" => &[("AM", 1.0)],
        "et" => &[("EE", 1.0)],
        "lv" => &[("LV", 1.0)],
        "lt" => &[("LT", 1.0)],
        "sl" => &[("SI", 1.0)],
        "bg" => &[("BG", 1.0)],
        "it" => &[("IT", 1.0)],
        "ro" => &[("RO", 0.9), ("MD", 0.1)],
        "hr" => &[("HR", 1.0)],
        "id" => &[("ID", 1.0)],
        "fa" => &[("IR", 1.0)],
        "hi" => &[("IN", 1.0)],
        "ru" => &[("RU", 0.8), ("KZ", 0.1), ("BY", 0.1)],
        "zh" => &[("CN", 0.7), ("TW", 0.15), ("HK", 0.1), ("SG", 0.05)],
        "nl" => &[("NL", 0.75), ("BE", 0.25)],
        "de" => &[("DE", 0.8), ("AT", 0.1), ("CH", 0.1)],
        "pt" => &[("BR", 0.8), ("PT", 0.2)],
        "fr" => &[
            ("FR", 0.6),
            ("BE", 0.1),
            ("CA", 0.1),
            ("CH", 0.1),
            ("SN", 0.05),
            ("CI", 0.05),
        ],
        "es" => &[
            ("ES", 0.25),
            ("MX", 0.25),
            ("AR", 0.15),
            ("CO", 0.15),
            ("CL", 0.1),
            ("PE", 0.1),
        ],
        "ar" => &[
            ("EG", 0.3),
            ("SA", 0.2),
            ("AE", 0.1),
            ("MA", 0.1),
            ("JO", 0.1),
            ("LB", 0.1),
            ("IQ", 0.1),
        ],
        _ => &[],
    };
    list.iter()
        .filter_map(|(c, s)| c.parse().ok().map(|c| (c, *s)))
        .collect()
}

/// Countries whose national phone numbers are worth trying for a text in
/// `lang` (the language's countries; for English the main English-speaking
/// ones).
pub(super) fn speakers(lang: Language) -> Vec<CountryCode> {
    let extra: &[&str] = match lang.as_str() {
        "en" => &[
            "US", "GB", "CA", "AU", "IE", "NZ", "ZA", "NG", "IN", "KE", "GH", "JM",
        ],
        "es" => &["ES", "MX", "AR", "CO", "CL", "PE", "US"],
        "pt" => &["BR", "PT", "AO", "MZ"],
        _ => &[],
    };
    let mut out: Vec<CountryCode> = country_shares(lang).into_iter().map(|(c, _)| c).collect();
    for c in extra.iter().filter_map(|c| c.parse::<CountryCode>().ok()) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}
