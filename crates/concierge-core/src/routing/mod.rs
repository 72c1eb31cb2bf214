//! Routing policy: which volunteer caseworker gets a case. Pure: the store
//! gathers the facts, locks the candidates and applies the decision.
//!
//! Coverage decides the tier (the case's country, then its UN M49
//! sub-region, then the global pool); capacity decides who in the tier.
//! When everyone who covers the country is at capacity the case waits for
//! them rather than going to a neighbour country's volunteers.

mod on_call;
mod sla;

pub use on_call::{InvalidRegion, OnCallRegion, offered_to};
pub use sla::{FirstResponseClock, SlaTargets, first_response_due, human_duration};

use std::fmt;

use crate::country::{CountryCode, subregion};

/// A volunteer as routing sees them.
#[derive(Debug, Clone)]
pub struct Volunteer<Id> {
    /// Store id.
    pub id: Id,
    /// Countries covered (ISO alpha-2); `*` is the global pool.
    pub countries: Vec<String>,
    /// Languages spoken (ISO 639-1).
    pub languages: Vec<String>,
    /// Maximum active cases.
    pub capacity: i32,
    /// Active cases now.
    pub active_cases: i64,
    /// Seconds since their last assignment (`None`: never assigned).
    pub idle_secs: Option<i64>,
}

/// How a volunteer is related to the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// Covers the case's country.
    Country,
    /// Covers a country in the same sub-region.
    Subregion,
    /// In the global pool.
    Global,
}

impl Tier {
    /// Name used in reasons and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Country => "country",
            Self::Subregion => "subregion",
            Self::Global => "global",
        }
    }
}

/// The case being routed.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    /// Country, when known with enough confidence.
    pub country: Option<CountryCode>,
    /// Language of the case.
    pub language: Option<&'a str>,
}

/// Which volunteers are in the deciding tier (to be locked and counted).
pub fn tier_candidates<'v, Id>(
    case: &Case<'_>,
    all: &'v [Volunteer<Id>],
) -> Option<(Tier, Vec<&'v Volunteer<Id>>)> {
    let country = case.country?;
    let code = country.as_str();
    let covers = |v: &Volunteer<Id>| v.countries.iter().any(|c| c == code);
    let in_tier: Vec<_> = all.iter().filter(|v| covers(v)).collect();
    if !in_tier.is_empty() {
        return Some((Tier::Country, in_tier));
    }
    if let Some(region) = subregion(country) {
        let in_region: Vec<_> = all
            .iter()
            .filter(|v| {
                v.countries
                    .iter()
                    .filter_map(|c| c.parse::<CountryCode>().ok())
                    .any(|c| subregion(c) == Some(region))
            })
            .collect();
        if !in_region.is_empty() {
            return Some((Tier::Subregion, in_region));
        }
    }
    let global: Vec<_> = all
        .iter()
        .filter(|v| v.countries.iter().any(|c| c == "*"))
        .collect();
    (!global.is_empty()).then_some((Tier::Global, global))
}

/// The routing decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<Id> {
    /// Give the case to this volunteer.
    Assign {
        /// Who.
        volunteer: Id,
        /// Why, for people: "covers BR, speaks pt, 2/5 active".
        reason: String,
    },
    /// Someone covers it but everyone is at capacity: wait for them.
    Wait {
        /// Why.
        reason: String,
    },
    /// Nobody covers it, or the country is unknown: a person must decide.
    Triage {
        /// Why.
        reason: String,
    },
}

/// Chooses among the tier's volunteers (with fresh active counts): among
/// those under capacity prefer speakers of the case's language, then the
/// fewest active cases, then the longest wait since their last assignment.
pub fn choose<Id: Clone + fmt::Debug>(
    case: &Case<'_>,
    tier: Tier,
    candidates: &[Volunteer<Id>],
) -> Decision<Id> {
    let Some(country) = case.country else {
        return Decision::Triage {
            reason: "country unknown".into(),
        };
    };
    let speaks = |v: &Volunteer<Id>| {
        case.language
            .is_some_and(|l| v.languages.iter().any(|x| x == l))
    };
    let best = candidates
        .iter()
        .filter(|v| v.active_cases < i64::from(v.capacity))
        .min_by(|a, b| {
            speaks(b)
                .cmp(&speaks(a))
                .then(a.active_cases.cmp(&b.active_cases))
                // Never assigned waits longest; then the larger idle time.
                .then(
                    b.idle_secs
                        .map_or(i64::MAX, |s| s)
                        .cmp(&a.idle_secs.map_or(i64::MAX, |s| s)),
                )
        });
    match best {
        Some(v) => {
            let cover = match tier {
                Tier::Country => format!("covers {}", country.as_str()),
                Tier::Subregion => format!(
                    "covers {} ({} sub-region, nobody covers {})",
                    v.countries.join(","),
                    subregion(country).unwrap_or("same"),
                    country.as_str()
                ),
                Tier::Global => format!(
                    "global pool (nobody covers {} or its sub-region)",
                    country.as_str()
                ),
            };
            let lang = match case.language {
                Some(l) if speaks(v) => format!(", speaks {l}"),
                Some(l) => format!(", does not speak {l}"),
                None => String::new(),
            };
            Decision::Assign {
                volunteer: v.id.clone(),
                reason: format!("{cover}{lang}, {}/{} active", v.active_cases, v.capacity),
            }
        }
        None if candidates.is_empty() => Decision::Triage {
            reason: format!("nobody covers {}", country.as_str()),
        },
        None => Decision::Wait {
            reason: format!(
                "all {} volunteer(s) for {} ({}) are at capacity",
                candidates.len(),
                country.as_str(),
                tier.as_str()
            ),
        },
    }
}

#[cfg(test)]
mod tests;
