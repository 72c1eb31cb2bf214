//! Country and language inference for incoming messages. Pure: no I/O.
//!
//! [`infer_country`] weighs several signals, strongest first:
//!
//! 1. [`CountrySource::Stated`]: the sender says where they live ("I live in
//!    Toronto", "moro em Lisboa", "東京在住", a `Country: Brazil` line).
//!    A place name only counts after a locative cue.
//! 2. [`CountrySource::Phone`]: an international phone number in the text.
//! 3. [`CountrySource::Domain`]: the ccTLD of the sender's address.
//! 4. [`CountrySource::History`]: the country of the requester's earlier cases.
//! 5. [`CountrySource::Language`] and [`CountrySource::Timezone`]: weak hints.
//!
//! The strongest single signal picks the country; agreeing signals raise its
//! confidence, disagreeing ones lower it. A result below
//! [`DEFAULT_THRESHOLD`] should go to human triage.

mod domain;
mod language;
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

pub use language::{InvalidLanguage, Language, detect_language};
pub use region::subregion;

/// Below this confidence a guess should be checked by a human.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// Confidence given to the requester's previous country.
const HISTORY: f32 = 0.55;

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

/// Where a country guess came from, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountrySource {
    /// Set by a person (never produced by [`infer_country`]).
    Manual,
    /// The sender said where they are.
    Stated,
    /// An international phone number in the message.
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

    /// Lower is stronger; breaks ties between equally confident signals.
    fn rank(self) -> u8 {
        self as u8
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
    /// The signal that decided it.
    pub source: CountrySource,
    /// Confidence in 0..=1; compare with [`DEFAULT_THRESHOLD`].
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

/// The decision and every signal behind it, so contradictions can be
/// recorded or shown to a triager.
#[derive(Clone, Debug, PartialEq)]
pub struct CountryInference {
    /// The combined guess.
    pub best: CountryGuess,
    /// Each signal found, with its own confidence, strongest first.
    pub signals: Vec<CountryGuess>,
}

impl CountryInference {
    /// Whether some signal pointed to another country.
    pub fn is_contradicted(&self) -> bool {
        self.signals.iter().any(|s| s.country != self.best.country)
    }

    /// Countries named by signals other than the chosen one.
    pub fn alternatives(&self) -> impl Iterator<Item = &CountryGuess> {
        self.signals
            .iter()
            .filter(|s| s.country != self.best.country)
    }
}

fn cc(s: &str) -> Option<CountryCode> {
    s.parse().ok()
}

/// Best guess of the sender's country; `None` when there is no evidence.
pub fn infer_country(e: &Evidence) -> Option<CountryGuess> {
    analyze_country(e).map(|i| i.best)
}

/// Like [`infer_country`], also returning every signal considered.
pub fn analyze_country(e: &Evidence) -> Option<CountryInference> {
    let body = text::strip_quoted(e.text);
    let mut signals: Vec<CountryGuess> = Vec::new();
    let mut push = |country, source, confidence| {
        signals.push(CountryGuess {
            country,
            source,
            confidence,
        });
    };

    let statements = stated::statements(e.subject, &body);
    if let Some((country, confidence)) = stated::best(&statements) {
        push(country, CountrySource::Stated, confidence);
    }
    // One signal per country: most numbers first, then first seen.
    let numbers = phone::international(&body);
    let mut phones: Vec<(CountryCode, usize)> = Vec::new();
    for c in &numbers {
        match phones.iter_mut().find(|(p, _)| p == c) {
            Some((_, n)) => *n += 1,
            None => phones.push((*c, 1)),
        }
    }
    phones.sort_by_key(|p| std::cmp::Reverse(p.1));
    for (country, _) in phones {
        push(country, CountrySource::Phone, phone::PHONE);
    }
    if let Some(country) = domain::country_of_address(e.from_address) {
        push(country, CountrySource::Domain, domain::DOMAIN);
    }
    if let Some(country) = e.previous_country {
        push(country, CountrySource::History, HISTORY);
    }
    let sample = if body.trim().is_empty() {
        e.subject
    } else {
        body.as_str()
    };
    if let Some((country, confidence)) = detect_language(sample)
        .and_then(language::country_hint)
        .and_then(|(c, conf)| cc(c).map(|c| (c, conf)))
    {
        push(country, CountrySource::Language, confidence);
    }
    let zone: Vec<CountryCode> = e
        .date_offset_minutes
        .map(timezone::candidates)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| cc(c))
        .collect();

    signals.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.source.rank().cmp(&b.source.rank()))
    });

    let Some(winner) = signals.first().copied() else {
        // Only the offset: a very low-confidence guess, if any.
        let first = *zone.first()?;
        let guess = CountryGuess {
            country: first,
            source: CountrySource::Timezone,
            confidence: timezone::standalone_confidence(zone.len()),
        };
        return Some(CountryInference {
            best: guess,
            signals: vec![guess],
        });
    };

    // A statement explains contradictions (people keep phones and addresses
    // when they move), so it is penalised less by them.
    let penalty = if winner.source == CountrySource::Stated {
        0.25
    } else {
        0.5
    };
    let mut confidence = winner.confidence;
    for s in &signals[1..] {
        if s.country == winner.country {
            confidence += (1.0 - confidence) * s.confidence * 0.5;
        } else {
            confidence *= 1.0 - s.confidence * penalty;
        }
    }
    // A national-format phone number valid for the winner corroborates it.
    if phone::national_matches(&body, winner.country) {
        confidence += (1.0 - confidence) * 0.2;
    }
    if !zone.is_empty() {
        let agrees = zone.contains(&winner.country);
        confidence = if agrees {
            confidence + (1.0 - confidence) * 0.05
        } else {
            confidence * 0.95
        };
        let tz_country = if agrees { winner.country } else { zone[0] };
        signals.push(CountryGuess {
            country: tz_country,
            source: CountrySource::Timezone,
            confidence: timezone::standalone_confidence(zone.len()),
        });
    }
    let best = CountryGuess {
        confidence: confidence.clamp(0.0, 0.99),
        ..winner
    };
    Some(CountryInference { best, signals })
}
