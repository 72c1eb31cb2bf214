//! Language detection (whatlang) and the weak language → country hint.

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

/// Country suggested by a language, only when the language is spoken
/// essentially in one country of our audience. Confidences are low: a
/// language says where someone is from, not where they live.
pub(super) fn country_hint(lang: Language) -> Option<(&'static str, f32)> {
    Some(match lang.as_str() {
        "ja" => ("JP", 0.35),
        "ko" => ("KR", 0.35),
        "sv" => ("SE", 0.3),
        "fi" => ("FI", 0.3),
        "da" => ("DK", 0.3),
        "nb" => ("NO", 0.3),
        "pl" => ("PL", 0.3),
        "uk" => ("UA", 0.3),
        "el" => ("GR", 0.3),
        "hu" => ("HU", 0.3),
        "cs" => ("CZ", 0.3),
        "tr" => ("TR", 0.3),
        "he" => ("IL", 0.3),
        "th" => ("TH", 0.3),
        "vi" => ("VN", 0.3),
        "ka" => ("GE", 0.3),
        "hy" => ("AM", 0.3),
        "et" => ("EE", 0.3),
        "lv" => ("LV", 0.3),
        "lt" => ("LT", 0.3),
        "sk" => ("SK", 0.3),
        "sl" => ("SI", 0.3),
        "bg" => ("BG", 0.3),
        "cy" => ("GB", 0.3),
        "it" => ("IT", 0.25),
        "ro" => ("RO", 0.25),
        "hr" => ("HR", 0.25),
        "id" => ("ID", 0.25),
        "fa" => ("IR", 0.25),
        "zu" => ("ZA", 0.25),
        "af" => ("ZA", 0.2),
        "ca" => ("ES", 0.2),
        // Dutch: Netherlands or Flanders.
        "nl" => ("NL", 0.15),
        // German: Germany, Austria, Switzerland.
        "de" => ("DE", 0.12),
        _ => return None,
    })
}
