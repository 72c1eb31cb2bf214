//! Country and language inference for incoming messages. Pure: no I/O.
//!
//! [`analyze_country`] collects [`EvidenceItem`]s — what the sender says
//! about where they live, move, come from or tour ("I live in Toronto",
//! "moro em Lisboa", "東京在住", a `Country: Brazil` line, a signature),
//! international and national-format phone numbers, the sender's ccTLD, the
//! requester's earlier cases, the language and the Date header's offset —
//! and combines them in a small log-linear model ([`model`]) whose per-kind
//! weights are fitted on the labelled set in `tests/fixtures/country/`
//! (`concierge-country-report --fit`). The result's confidence is the
//! model's probability for its country; below [`calibrated_threshold`] a
//! case goes to human triage with the best country as a suggestion.
//!
//! Place names come from generated data (`data/country/places.tsv`,
//! GeoNames, ISO 3166-2 and CLDR; see `data/country/ATTRIBUTION.md`).

mod coverage;
mod domain;
mod evidence;
mod language;
pub mod model;
mod phone;
mod places;
mod region;
mod stated;
mod text;
mod timezone;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use coverage::{GLOBAL_POOL, InvalidCoverage, covered_countries, spoken_languages};
pub use evidence::{EvidenceItem, EvidenceKind, Facts, Finding, facts, findings};
pub use language::{InvalidLanguage, Language, detect_language};
pub use region::{subregion, subregion_named};

/// The confidence at and above which a case is placed in a country without
/// a person checking it, calibrated on the labelled set with the weights.
pub fn calibrated_threshold() -> f32 {
    model::weights().threshold
}

/// An ISO 3166-1 alpha-2 country code known to celes, e.g. `BR`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

/// Error for a string that is not an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ISO 3166-1 alpha-2 country code: {0:?}")]
pub struct InvalidCountryCode(pub String);

impl CountryCode {
    /// The code as a string slice, e.g. `"BR"`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }
}

impl FromStr for CountryCode {
    type Err = InvalidCountryCode;

    /// Case-insensitive; must be a code celes knows (`"uk"` is rejected).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || InvalidCountryCode(s.to_string());
        let [a, b] = s.trim().as_bytes() else {
            return Err(err());
        };
        if !a.is_ascii_alphabetic() || !b.is_ascii_alphabetic() {
            return Err(err());
        }
        let code = Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]);
        celes::Country::from_alpha2(code.as_str()).map_err(|_| err())?;
        Ok(code)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// English name of a country as celes spells it (e.g. "Brazil",
/// "The United Kingdom Of Great Britain And Northern Ireland").
pub fn country_name(c: CountryCode) -> &'static str {
    celes::Country::from_alpha2(c.as_str()).map_or("", |c| c.long_name)
}

/// Where a country guess came from: the family of its strongest evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountrySource {
    /// Set by a person (never produced by [`infer_country`]).
    Manual,
    /// The sender said where they are.
    Stated,
    /// A phone number in the message.
    Phone,
    /// The ccTLD of the sender's address.
    Domain,
    /// The requester's earlier cases.
    History,
    /// The language of the message.
    Language,
    /// The UTC offset of the Date header.
    Timezone,
}

impl CountrySource {
    /// The snake_case name, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Stated => "stated",
            Self::Phone => "phone",
            Self::Domain => "domain",
            Self::History => "history",
            Self::Language => "language",
            Self::Timezone => "timezone",
        }
    }
}

impl fmt::Display for CountrySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A country with where it came from and how sure we are (0..=1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountryGuess {
    /// The guessed country.
    pub country: CountryCode,
    /// The family of the evidence that contributed most to it.
    pub source: CountrySource,
    /// The model's probability for this country; compare with
    /// [`calibrated_threshold`].
    pub confidence: f32,
}

/// What we know about a message when guessing the sender's country.
#[derive(Clone, Copy, Debug, Default)]
pub struct Evidence<'a> {
    /// The Subject header.
    pub subject: &'a str,
    /// Plain-text body; quoted replies and forwarded parts are ignored.
    pub text: &'a str,
    /// Sender address, e.g. `ana@uol.com.br` (a `Name <addr>` form is accepted).
    pub from_address: &'a str,
    /// UTC offset of the Date header, in minutes.
    pub date_offset_minutes: Option<i32>,
    /// Country from the requester's earlier cases.
    pub previous_country: Option<CountryCode>,
}

/// The decision and every piece of evidence behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct CountryInference {
    /// The most probable country, whatever its confidence; `None` when no
    /// evidence names a country or "unknown" is more probable than any.
    pub best: Option<CountryGuess>,
    /// Every piece of evidence found, strongest contribution first; each
    /// `weight` is its contribution to its country's score.
    pub evidence: Vec<EvidenceItem>,
    /// Probability of each candidate country, most probable first.
    pub candidates: Vec<(CountryCode, f32)>,
}

impl CountryInference {
    /// The country to place the case in: the best guess at or above
    /// `threshold`.
    pub fn placed(&self, threshold: f32) -> Option<CountryGuess> {
        self.best.filter(|g| g.confidence >= threshold)
    }

    /// The best guess when it is below `threshold`: a suggestion for the
    /// person triaging, and the crisis lines to offer meanwhile.
    pub fn suggestion(&self, threshold: f32) -> Option<CountryGuess> {
        self.best.filter(|g| g.confidence < threshold)
    }

    /// Whether some evidence pointed to another country than the best.
    pub fn is_contradicted(&self) -> bool {
        let best = self.best.map(|b| b.country);
        self.evidence
            .iter()
            .any(|e| Some(e.country) != best && e.weight > 0.0)
    }
}

/// Loads the gazetteer, cue tables and weights now (a few hundred
/// milliseconds in a release build) rather than on the first message;
/// servers call it at start.
pub fn warm_up() {
    let _ = analyze_country(&Evidence {
        text: "I live in Lisbon",
        ..Evidence::default()
    });
}

/// Best guess of the sender's country; `None` when there is no evidence.
pub fn infer_country(e: &Evidence) -> Option<CountryGuess> {
    analyze_country(e).best
}

/// Every piece of evidence in the message and the model's decision.
pub fn analyze_country(e: &Evidence) -> CountryInference {
    let items = evidence::findings(e);
    model::decide(items, evidence::facts(e))
}
