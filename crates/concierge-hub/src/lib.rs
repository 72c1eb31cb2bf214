//! The resource hub's seed file (`config/resource-hub/hub.toml`): parsing
//! and validation.
//!
//! Pure: no I/O apart from [`load`]. The store takes the validated
//! [`Entry`] values; the header of `hub.toml` documents the conventions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// The `schema_version` this crate understands.
pub const SCHEMA_VERSION: u32 = 1;

/// What kind of help an entry offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A line (phone, SMS or chat) for people in crisis.
    CrisisLine,
    /// Peer support (people with lived experience).
    PeerSupport,
    /// Advocacy and case management.
    Advocacy,
    /// Money for people in need.
    FinancialAid,
    /// Grants or funds that pay for therapy.
    TherapyFund,
}

impl Kind {
    /// Every kind, in the order of the database CHECK constraint.
    pub const ALL: [Kind; 5] = [
        Kind::CrisisLine,
        Kind::PeerSupport,
        Kind::Advocacy,
        Kind::FinancialAid,
        Kind::TherapyFund,
    ];

    /// The value stored and shown in the file, e.g. `crisis_line`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CrisisLine => "crisis_line",
            Kind::PeerSupport => "peer_support",
            Kind::Advocacy => "advocacy",
            Kind::FinancialAid => "financial_aid",
            Kind::TherapyFund => "therapy_fund",
        }
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "kind {s:?} is not one of {}",
                    join(Kind::ALL.map(Kind::as_str))
                )
            })
    }
}

/// How far an entry has been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// A public source names it and no conflict is known.
    Sourced,
    /// Marked unverified by the leads, or no contact found; `notes` says why.
    Unverified,
    /// Sources disagree; `notes` gives both values.
    Conflicting,
}

impl Verification {
    /// Every status.
    pub const ALL: [Verification; 3] = [
        Verification::Sourced,
        Verification::Unverified,
        Verification::Conflicting,
    ];

    /// The value stored and shown in the file, e.g. `sourced`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Sourced => "sourced",
            Verification::Unverified => "unverified",
            Verification::Conflicting => "conflicting",
        }
    }
}

impl FromStr for Verification {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Verification::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "verification {s:?} is not one of {}",
                    join(Verification::ALL.map(Verification::as_str))
                )
            })
    }
}

/// A calendar date (`YYYY-MM-DD`), checked to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Year, 1900–9999.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
}

impl FromStr for Date {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a date (YYYY-MM-DD)");
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u16, String> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(bad()),
        };
        if year < 1900 || day == 0 || day > days {
            return Err(bad());
        }
        Ok(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One validated hub entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Stable slug, e.g. `br-cvv`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it offers.
    pub kind: Kind,
    /// ISO 3166-1 alpha-2 codes, or `["*"]` for a global entry.
    pub countries: Vec<String>,
    /// ISO 639 codes of the languages it serves in.
    pub languages: Vec<String>,
    /// Phone numbers as dialled locally.
    pub phone: Vec<String>,
    /// SMS numbers as dialled locally.
    pub sms: Vec<String>,
    /// Chat URL (http or https).
    pub chat: Option<String>,
    /// Website (http or https).
    pub web: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Opening hours, language-neutral (`24/7`, `10:00–24:00`).
    pub hours: Option<String>,
    /// `free`, `unknown`, or a short free text.
    pub cost: String,
    /// How far it has been checked.
    pub verification: Verification,
    /// Where the information comes from; never empty.
    pub source: String,
    /// When it was last checked.
    pub last_verified: Date,
    /// Caveats, conflicts, gaps.
    pub notes: Option<String>,
    /// Short description per ISO 639 language; always has `en`.
    pub description: BTreeMap<String, String>,
}

impl Entry {
    /// Whether the entry applies to every country (`countries = ["*"]`).
    pub fn is_global(&self) -> bool {
        self.countries.iter().any(|c| c == "*")
    }

    /// The description in `lang`, else in English, with the language used.
    pub fn description_in(&self, lang: &str) -> Option<(&str, &str)> {
        self.description
            .get_key_value(lang)
            .or_else(|| self.description.get_key_value("en"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The whole validated hub file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hub {
    /// Entries in file order (the display order within a group).
    pub entries: Vec<Entry>,
}

impl Hub {
    /// Country codes (not `*`) with at least one crisis line.
    pub fn countries_with_crisis_line(&self) -> BTreeSet<&str> {
        self.entries
            .iter()
            .filter(|e| e.kind == Kind::CrisisLine)
            .flat_map(|e| e.countries.iter().map(String::as_str))
            .filter(|c| *c != "*")
            .collect()
    }
}

/// One problem with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The entry's id, or `#n` (1-based position) when it has none.
    pub entry: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}: {}", self.entry, self.message)
    }
}

/// Why a hub file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The file cannot be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// Not TOML, or a field has the wrong type or an unknown name.
    #[error("the hub file is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    /// A `schema_version` this code does not know.
    #[error(
        "the hub file has schema_version {0}; this version of Concierge reads {SCHEMA_VERSION}"
    )]
    Schema(u32),
    /// Entries that break the rules; every problem is listed.
    #[error("the hub file has {} problem(s):\n{}", .0.len(), lines(.0))]
    Invalid(Vec<Problem>),
}

fn lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn join<const N: usize>(items: [&str; N]) -> String {
    items.join(", ")
}

/// Reads and validates a hub file.
pub fn load(path: &Path) -> Result<Hub, HubError> {
    let text = std::fs::read_to_string(path).map_err(|source| HubError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(&text)
}

/// Parses and validates the text of a hub file.
pub fn parse(text: &str) -> Result<Hub, HubError> {
    let raw: RawHub = toml::from_str(text)?;
    if raw.schema_version != SCHEMA_VERSION {
        return Err(HubError::Schema(raw.schema_version));
    }
    let mut problems = Vec::new();
    let mut entries = Vec::with_capacity(raw.entry.len());
    let mut seen = BTreeSet::new();
    for (i, r) in raw.entry.into_iter().enumerate() {
        let label = if r.id.trim().is_empty() {
            format!("#{}", i + 1)
        } else {
            format!("{:?}", r.id)
        };
        if !r.id.is_empty() && !seen.insert(r.id.clone()) {
            problems.push(Problem {
                entry: label.clone(),
                message: "the id is used by an earlier entry".into(),
            });
        }
        match validate(r) {
            Ok(e) => entries.push(e),
            Err(msgs) => problems.extend(msgs.into_iter().map(|message| Problem {
                entry: label.clone(),
                message,
            })),
        }
    }
    if problems.is_empty() {
        Ok(Hub { entries })
    } else {
        Err(HubError::Invalid(problems))
    }
}

/// An entry as someone typed it (a dashboard form), before validation:
/// the same fields as the file, every value a string or list of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// Slug.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One of [`Kind`]'s names.
    pub kind: String,
    /// ISO 3166-1 alpha-2 codes, or `*` alone.
    pub countries: Vec<String>,
    /// ISO 639 codes.
    pub languages: Vec<String>,
    /// Phone numbers.
    pub phone: Vec<String>,
    /// SMS numbers.
    pub sms: Vec<String>,
    /// Chat URL or empty.
    pub chat: String,
    /// Website or empty.
    pub web: String,
    /// Address or empty.
    pub email: String,
    /// Opening hours or empty.
    pub hours: String,
    /// Cost or empty (`unknown`).
    pub cost: String,
    /// One of [`Verification`]'s names.
    pub verification: String,
    /// Where the information comes from.
    pub source: String,
    /// `YYYY-MM-DD`, or empty (refused: it is required).
    pub last_verified: String,
    /// Caveats.
    pub notes: String,
    /// Language → description; needs `en`.
    pub description: BTreeMap<String, String>,
}

/// Validates a [`Draft`] by the rules the hub file follows; every problem
/// is returned.
pub fn check_draft(d: Draft) -> Result<Entry, Vec<String>> {
    let last_verified = d.last_verified.trim();
    validate(RawEntry {
        id: d.id,
        name: d.name,
        kind: d.kind,
        countries: d.countries,
        languages: d.languages,
        phone: d.phone,
        sms: d.sms,
        chat: d.chat,
        web: d.web,
        email: d.email,
        hours: d.hours,
        cost: d.cost,
        verification: d.verification,
        source: d.source,
        last_verified: (!last_verified.is_empty()).then(|| RawDate::Text(last_verified.to_owned())),
        notes: d.notes,
        description: d.description,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHub {
    schema_version: u32,
    #[serde(default)]
    entry: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    countries: Vec<String>,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    phone: Vec<String>,
    #[serde(default)]
    sms: Vec<String>,
    #[serde(default)]
    chat: String,
    #[serde(default)]
    web: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    cost: String,
    #[serde(default)]
    verification: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    last_verified: Option<RawDate>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    description: BTreeMap<String, String>,
}

/// `last_verified = "2026-11-25"` or the TOML date `2026-11-25`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDate {
    Text(String),
    Toml(toml::value::Datetime),
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn is_language(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

fn is_country(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

fn is_number(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
}

fn is_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() > "https://".len()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn optional(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Checks one entry; every problem is returned.
fn validate(r: RawEntry) -> Result<Entry, Vec<String>> {
    let mut p = Vec::new();
    if !is_slug(&r.id) {
        p.push(format!(
            "id {:?} must be a slug: lowercase letters and digits in words joined by '-'",
            r.id
        ));
    }
    if r.name.trim().is_empty() {
        p.push("name is empty".into());
    }
    let kind = r.kind.parse::<Kind>().map_err(|e| p.push(e)).ok();
    if r.countries.is_empty() {
        p.push("countries is empty (use [\"*\"] for a global entry)".into());
    }
    for c in &r.countries {
        if c != "*" && !is_country(c) {
            p.push(format!(
                "country {c:?} is not an ISO 3166-1 alpha-2 code (two uppercase letters) or \"*\""
            ));
        }
    }
    if r.countries.len() > 1 && r.countries.iter().any(|c| c == "*") {
        p.push("\"*\" (global) must be the only country".into());
    }
    for l in &r.languages {
        if !is_language(l) {
            p.push(format!("language {l:?} is not an ISO 639 code (lowercase)"));
        }
    }
    for (field, numbers) in [("phone", &r.phone), ("sms", &r.sms)] {
        for n in numbers {
            if !is_number(n) {
                p.push(format!(
                    "{field} {n:?} must be a number (digits, spaces, + - ( ) .)"
                ));
            }
        }
    }
    for (field, url) in [("chat", &r.chat), ("web", &r.web)] {
        if !url.is_empty() && !is_url(url) {
            p.push(format!("{field} {url:?} must be an http(s) URL"));
        }
    }
    if !r.email.is_empty() && (!r.email.contains('@') || r.email.chars().any(|c| c.is_whitespace()))
    {
        p.push(format!("email {:?} is not an address", r.email));
    }
    let verification = r
        .verification
        .parse::<Verification>()
        .map_err(|e| p.push(e))
        .ok();
    if verification.is_some_and(|v| v != Verification::Sourced) && r.notes.trim().is_empty() {
        p.push("notes must say why an entry is not sourced".into());
    }
    if r.source.trim().is_empty() {
        p.push("source is empty: never add an entry without a source".into());
    }
    let last_verified = match &r.last_verified {
        None => {
            p.push("last_verified is missing".into());
            None
        }
        Some(RawDate::Text(s)) => s
            .parse::<Date>()
            .map_err(|e| p.push(format!("last_verified: {e}")))
            .ok(),
        Some(RawDate::Toml(dt)) => match (dt.date, dt.time) {
            (Some(d), None) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
                .parse::<Date>()
                .map_err(|e| p.push(format!("last_verified: {e}")))
                .ok(),
            _ => {
                p.push(format!(
                    "last_verified: {dt} is not a plain date (YYYY-MM-DD)"
                ));
                None
            }
        },
    };
    if !r.description.contains_key("en") {
        p.push("description has no `en` text (the fallback)".into());
    }
    for (lang, text) in &r.description {
        if !is_language(lang) {
            p.push(format!(
                "description language {lang:?} is not an ISO 639 code"
            ));
        }
        if text.trim().is_empty() {
            p.push(format!("description.{lang} is empty"));
        }
    }
    match (kind, verification, last_verified) {
        (Some(kind), Some(verification), Some(last_verified)) if p.is_empty() => Ok(Entry {
            id: r.id,
            name: r.name.trim().to_owned(),
            kind,
            countries: r.countries,
            languages: r.languages,
            phone: r.phone,
            sms: r.sms,
            chat: optional(r.chat),
            web: optional(r.web),
            email: optional(r.email),
            hours: optional(r.hours),
            cost: optional(r.cost).unwrap_or_else(|| "unknown".into()),
            verification,
            source: r.source.trim().to_owned(),
            last_verified,
            notes: optional(r.notes),
            description: r
                .description
                .into_iter()
                .map(|(k, v)| (k, v.trim().to_owned()))
                .collect(),
        }),
        _ => Err(p),
    }
}
