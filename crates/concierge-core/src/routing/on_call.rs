//! The on-call rota's policy: which region a shift covers, and who is
//! offered an urgent case. Pure: the store reads the shifts that are on now.

use std::fmt;
use std::str::FromStr;

use crate::country::{CountryCode, subregion, subregion_named};

/// What a shift covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnCallRegion {
    /// Every case, including those whose country is unknown (`*`).
    Everywhere,
    /// One country.
    Country(CountryCode),
    /// A UN M49 sub-region, as routing uses them ("South America").
    Subregion(&'static str),
}

/// Not a region a shift can cover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown on-call region {0:?}: use '*', a country code (BR) or a UN M49 sub-region (\"South America\")"
)]
pub struct InvalidRegion(pub String);

impl FromStr for OnCallRegion {
    type Err = InvalidRegion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t == "*" {
            return Ok(Self::Everywhere);
        }
        if t.len() == 2
            && let Ok(c) = t.to_ascii_uppercase().parse::<CountryCode>()
        {
            return Ok(Self::Country(c));
        }
        subregion_named(t)
            .map(Self::Subregion)
            .ok_or_else(|| InvalidRegion(s.to_owned()))
    }
}

impl fmt::Display for OnCallRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Everywhere => f.write_str("*"),
            Self::Country(c) => f.write_str(c.as_str()),
            Self::Subregion(n) => f.write_str(n),
        }
    }
}

impl OnCallRegion {
    /// Whether a shift for this region covers a case in `country` (the
    /// placed country, else the suggestion; `None` when nobody can tell:
    /// only `*` covers it).
    pub fn covers(&self, country: Option<CountryCode>) -> bool {
        match (self, country) {
            (Self::Everywhere, _) => true,
            (Self::Country(c), Some(k)) => *c == k,
            (Self::Subregion(n), Some(k)) => subregion(k) == Some(*n),
            (_, None) => false,
        }
    }
}

/// Who is offered an urgent case: everyone on call now whose shift covers
/// its country. When nobody's does, `None`: the caller falls back to every
/// coordinator, so an urgent case is never offered to no one.
pub fn offered_to<T: Clone + PartialEq>(
    on_call_now: &[(OnCallRegion, T)],
    country: Option<CountryCode>,
) -> Option<Vec<T>> {
    let mut out: Vec<T> = Vec::new();
    for (region, who) in on_call_now {
        if region.covers(country) && !out.contains(who) {
            out.push(who.clone());
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(s: &str) -> CountryCode {
        s.parse().expect("code")
    }

    #[test]
    fn regions_parse_and_print() {
        assert_eq!("*".parse(), Ok(OnCallRegion::Everywhere));
        assert_eq!("br".parse(), Ok(OnCallRegion::Country(cc("BR"))));
        assert_eq!(
            "south america".parse(),
            Ok(OnCallRegion::Subregion("South America"))
        );
        assert!("Atlantis".parse::<OnCallRegion>().is_err());
        assert!("".parse::<OnCallRegion>().is_err());
        assert_eq!(
            OnCallRegion::Subregion("South America").to_string(),
            "South America"
        );
    }

    #[test]
    fn coverage_by_country_subregion_and_everywhere() {
        let br = Some(cc("BR"));
        assert!(OnCallRegion::Country(cc("BR")).covers(br));
        assert!(!OnCallRegion::Country(cc("PT")).covers(br));
        assert!(OnCallRegion::Subregion("South America").covers(br));
        assert!(!OnCallRegion::Subregion("Southern Europe").covers(br));
        assert!(OnCallRegion::Everywhere.covers(br));
        assert!(OnCallRegion::Everywhere.covers(None));
        assert!(!OnCallRegion::Country(cc("BR")).covers(None));
    }

    #[test]
    fn offered_to_everyone_covering_once_or_nobody() {
        let shifts = vec![
            (OnCallRegion::Country(cc("BR")), "ana"),
            (OnCallRegion::Subregion("South America"), "ana"),
            (OnCallRegion::Everywhere, "sam"),
            (OnCallRegion::Country(cc("DE")), "lena"),
        ];
        assert_eq!(
            offered_to(&shifts, Some(cc("BR"))),
            Some(vec!["ana", "sam"])
        );
        assert_eq!(offered_to(&shifts, None), Some(vec!["sam"]));
        assert_eq!(offered_to(&shifts[..1], Some(cc("JP"))), None);
    }
}
