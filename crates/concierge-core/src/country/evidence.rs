//! The pieces of evidence a message offers about where its writer lives,
//! each with the countries it points to. [`super::model`] weighs them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    CountryCode, CountrySource, Evidence, domain, language, phone, stated, text, timezone,
};

/// What kind of evidence an item is. Every kind has its own fitted weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// "I live in", "moro em", "ich wohne in", "東京在住".
    Residence,
    /// "I'm in", "estoy en", "here in": where they are now.
    Present,
    /// "I moved to", "me mudei para": where they live since.
    MovedTo,
    /// "based in", "located in".
    Based,
    /// "greetings from", "writing from", "saludos desde".
    Greeting,
    /// A form-like line: `Country: Brazil`, `Location: Leeds`.
    Label,
    /// A signature line of places ("Lisboa, Portugal", "Nashville, TN").
    Signature,
    /// "I'm from", "sou de", "出身": where they come from.
    Origin,
    /// A place after a bare preposition ("in Berlin", "em Lisboa").
    Mention,
    /// A place they left ("I used to live in", "moved from", "lived in … before").
    Left,
    /// A tour stop, gig, festival or trip: not where they need care.
    Tour,
    /// A phone number in international format.
    PhoneInternational,
    /// A national-format number valid in a country other evidence suggests.
    PhoneNational,
    /// The ccTLD of the sender's address.
    Domain,
    /// The country of the requester's earlier cases.
    History,
    /// The language of the message.
    Language,
    /// The UTC offset of the Date header.
    Timezone,
}

impl EvidenceKind {
    /// Every kind, in the order of the model's weight vector.
    pub const ALL: [EvidenceKind; 17] = [
        Self::Residence,
        Self::Present,
        Self::MovedTo,
        Self::Based,
        Self::Greeting,
        Self::Label,
        Self::Signature,
        Self::Origin,
        Self::Mention,
        Self::Left,
        Self::Tour,
        Self::PhoneInternational,
        Self::PhoneNational,
        Self::Domain,
        Self::History,
        Self::Language,
        Self::Timezone,
    ];

    /// The snake_case name, as serialised and in the weights file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Residence => "residence",
            Self::Present => "present",
            Self::MovedTo => "moved_to",
            Self::Based => "based",
            Self::Greeting => "greeting",
            Self::Label => "label",
            Self::Signature => "signature",
            Self::Origin => "origin",
            Self::Mention => "mention",
            Self::Left => "left",
            Self::Tour => "tour",
            Self::PhoneInternational => "phone_international",
            Self::PhoneNational => "phone_national",
            Self::Domain => "domain",
            Self::History => "history",
            Self::Language => "language",
            Self::Timezone => "timezone",
        }
    }

    /// Index in [`Self::ALL`].
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }

    /// The family a guess decided by this kind is reported under.
    pub fn source(self) -> CountrySource {
        match self {
            Self::PhoneInternational | Self::PhoneNational => CountrySource::Phone,
            Self::Domain => CountrySource::Domain,
            Self::History => CountrySource::History,
            Self::Language => CountrySource::Language,
            Self::Timezone => CountrySource::Timezone,
            _ => CountrySource::Stated,
        }
    }
}

impl fmt::Display for EvidenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence for one country, as shown to caseworkers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// What kind of evidence it is.
    pub kind: EvidenceKind,
    /// The country it points to.
    pub country: CountryCode,
    /// The words, number, header or value it came from (at most 120 chars).
    pub text: String,
    /// Its contribution to the country's score (the kind's weight times the
    /// share of the name's population in this country); negative for places
    /// left, tour stops and other counter-evidence.
    pub weight: f32,
    /// A word of explanation, e.g. "tour stop: not where they need care".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A finding before weighing: one kind, the countries it points to with
/// their shares (summing to at most 1), and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// What kind of evidence it is.
    pub kind: EvidenceKind,
    /// Countries and shares: 1.0 for an unambiguous name, the population
    /// share for a name that exists in several countries.
    pub shares: Vec<(CountryCode, f32)>,
    /// The words, number, header or value it came from.
    pub text: String,
    /// A word of explanation.
    pub note: Option<String>,
}

impl Finding {
    pub(super) fn one(kind: EvidenceKind, country: CountryCode, text: impl Into<String>) -> Self {
        Self {
            kind,
            shares: vec![(country, 1.0)],
            text: clip(&text.into()),
            note: None,
        }
    }
}

/// At most 120 characters, on a character boundary, one line.
pub(super) fn clip(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 120 {
        return one_line;
    }
    let mut out: String = one_line.chars().take(119).collect();
    out.push('…');
    out
}

/// How much more a name that exists in several countries is taken to mean
/// one the sender's phone or domain points to than its population says.
const CONTEXT_LEAN: f32 = 1000.0;

fn lean(shares: &mut [(CountryCode, f32)], context: &[CountryCode]) {
    for (c, s) in shares.iter_mut() {
        if context.contains(c) {
            *s *= CONTEXT_LEAN;
        }
    }
    let total: f32 = shares.iter().map(|s| s.1).sum();
    if total > 0.0 {
        for (_, s) in shares.iter_mut() {
            *s /= total;
        }
    }
    shares.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

/// Facts about the whole message (not about one country).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// The writer says they split their time between places ("half the
    /// year in Lisbon, half in São Paulo", "vivo entre México y España").
    pub splits_time: bool,
}

/// Phrases of a life split between places, folded.
const SPLIT_TIME: &[&str] = &[
    "half the year",
    "half of the year",
    "half the time in",
    "split my time",
    "split our time",
    "live between",
    "living between",
    "six months in",
    "metade do ano",
    "metade em",
    "seis meses em",
    "moro entre",
    "vivo entre",
    "mitad del ano",
    "seis meses en",
    "la moitie de l annee",
    "six mois a",
    "je vis entre",
    "die halfte des jahres",
    "lebe zwischen",
    "pendle zwischen",
    "meta dell anno",
    "vivo tra",
    "halva aret",
    "bor mellan",
];

/// Facts about the message as a whole.
pub fn facts(e: &Evidence) -> Facts {
    let body = text::strip_quoted(e.text);
    let folded: String = text::tokenize(&body)
        .iter()
        .map(|t| t.norm.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let padded = format!(" {folded} ");
    Facts {
        splits_time: SPLIT_TIME
            .iter()
            .any(|p| padded.contains(&format!(" {p} "))),
    }
}

/// Every finding in the message.
pub fn findings(e: &Evidence) -> Vec<Finding> {
    let body = text::strip_quoted(e.text);
    let mut out = stated::findings(e.subject, &body);

    for (countries, number) in phone::international(&body) {
        out.push(Finding {
            kind: EvidenceKind::PhoneInternational,
            shares: countries.iter().map(|c| (*c, 1.0)).collect(),
            text: clip(&number),
            note: None,
        });
    }
    if let Some((country, tld)) = domain::country_of_address(e.from_address) {
        out.push(Finding::one(EvidenceKind::Domain, country, tld));
    }
    if let Some(country) = e.previous_country {
        out.push(Finding::one(
            EvidenceKind::History,
            country,
            "earlier cases of this requester",
        ));
    }
    let sample = if body.trim().is_empty() {
        e.subject
    } else {
        body.as_str()
    };
    let lang = super::detect_language(sample);
    if let Some(l) = lang {
        let shares = language::country_shares(l);
        if !shares.is_empty() {
            out.push(Finding {
                kind: EvidenceKind::Language,
                shares,
                text: format!("written in {l}"),
                note: None,
            });
        }
    }
    if let Some(offset) = e.date_offset_minutes {
        let zone: Vec<CountryCode> = timezone::candidates(offset)
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect();
        if !zone.is_empty() {
            let share = 1.0 / zone.len() as f32;
            out.push(Finding {
                kind: EvidenceKind::Timezone,
                shares: zone.iter().map(|c| (*c, share)).collect(),
                text: format!(
                    "Date header offset {}{:02}{:02}",
                    if offset < 0 { '-' } else { '+' },
                    offset.abs() / 60,
                    offset.abs() % 60
                ),
                note: None,
            });
        }
    }
    // A name that exists in several countries ("Georgia", "Córdoba") leans
    // to the countries the sender's phone numbers and domain point to.
    let context: Vec<CountryCode> = out
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                EvidenceKind::Domain | EvidenceKind::PhoneInternational
            )
        })
        .flat_map(|f| f.shares.iter().map(|s| s.0))
        .collect();
    if !context.is_empty() {
        for f in out.iter_mut() {
            if f.kind.source() == CountrySource::Stated && f.shares.len() > 1 {
                lean(&mut f.shares, &context);
            }
        }
    }

    // National-format numbers: valid in a country other evidence names
    // (the Date offset alone names too many); failing that, in a country
    // whose language the message is written in. A name's unlikely meaning
    // (Dingle in the Philippines) does not count as named.
    let mut named: Vec<CountryCode> = Vec::new();
    for f in out
        .iter()
        .filter(|f| !matches!(f.kind, EvidenceKind::Timezone | EvidenceKind::Language))
    {
        for (c, share) in &f.shares {
            if *share >= 0.5 && !named.contains(c) {
                named.push(*c);
            }
        }
    }
    let speakers: Vec<CountryCode> = lang
        .or_else(|| language::guess_language(sample))
        .map(language::speakers)
        .unwrap_or_default();
    for number in phone::national(&body) {
        let valid_among = |list: &[CountryCode]| -> Vec<CountryCode> {
            list.iter()
                .copied()
                .filter(|c| phone::valid_in(&number, *c))
                .collect()
        };
        let mut valid = valid_among(&named);
        let mut from_language = false;
        if valid.is_empty() {
            valid = valid_among(&speakers);
            from_language = true;
        }
        // A reserved example range names its own country.
        if valid.len() > 1
            && let Some(c) = valid
                .iter()
                .copied()
                .find(|c| phone::fictional_in(&number, *c))
        {
            valid = vec![c];
        }
        if valid.is_empty() {
            continue;
        }
        // Valid in several of the language's countries ("0170 …" in DE and
        // AT): as likely as the language makes each.
        let lang_shares = lang
            .or_else(|| language::guess_language(sample))
            .map(language::country_shares)
            .unwrap_or_default();
        let prior = |c: &CountryCode| {
            lang_shares
                .iter()
                .find(|s| s.0 == *c)
                .map_or(0.05, |s| s.1.max(0.05))
        };
        let weights: Vec<f32> = valid
            .iter()
            .map(|c| if from_language { prior(c) } else { 1.0 })
            .collect();
        let total: f32 = weights.iter().sum();
        let mut shares: Vec<(CountryCode, f32)> = valid
            .iter()
            .zip(weights)
            .map(|(c, w)| (*c, w / total))
            .collect();
        shares.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.push(Finding {
            kind: EvidenceKind::PhoneNational,
            shares,
            text: clip(&number),
            note: Some("national format, valid there".into()),
        });
    }
    out
}
