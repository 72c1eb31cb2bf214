//! The countries and languages a volunteer covers, as typed on the command
//! line, in the JSON API or on the admin pages: one rule for all three.
//!
//! Entries are trimmed and blank ones skipped; a country is an ISO 3166
//! alpha-2 code (returned upper-cased) or `*`, the global pool; a language
//! an ISO 639-1 code (returned lower-cased).

use super::{CountryCode, Language};

/// The global pool, in a volunteer's country list.
pub const GLOBAL_POOL: &str = "*";

/// An entry of a volunteer's country or language list that is not a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCoverage {
    /// Not an ISO 3166 alpha-2 code nor `*`.
    #[error("{0:?} is not an ISO 3166 alpha-2 country code (or * for the global pool)")]
    Country(String),
    /// Not an ISO 639-1 code.
    #[error("{0:?} is not an ISO 639-1 language code")]
    Language(String),
}

fn entries<S: AsRef<str>>(list: &[S]) -> impl Iterator<Item = &str> {
    list.iter()
        .map(|s| s.as_ref().trim())
        .filter(|s| !s.is_empty())
}

/// A volunteer's countries: upper-cased codes and `*`.
pub fn covered_countries<S: AsRef<str>>(list: &[S]) -> Result<Vec<String>, InvalidCoverage> {
    entries(list)
        .map(|c| {
            if c == GLOBAL_POOL {
                return Ok(GLOBAL_POOL.to_owned());
            }
            c.parse::<CountryCode>()
                .map(|c| c.to_string())
                .map_err(|_| InvalidCoverage::Country(c.to_owned()))
        })
        .collect()
}

/// A volunteer's languages: lower-cased codes.
pub fn spoken_languages<S: AsRef<str>>(list: &[S]) -> Result<Vec<String>, InvalidCoverage> {
    entries(list)
        .map(|l| {
            l.parse::<Language>()
                .map(|l| l.as_str().to_owned())
                .map_err(|_| InvalidCoverage::Language(l.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_and_blanks_skipped() {
        assert_eq!(
            covered_countries(&[" de", "AT ", "", "*", "  "]),
            Ok(vec!["DE".to_owned(), "AT".to_owned(), "*".to_owned()])
        );
        assert_eq!(
            spoken_languages(&["DE", " en ", ""]),
            Ok(vec!["de".to_owned(), "en".to_owned()])
        );
        assert!(covered_countries::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn non_codes_are_refused_by_name() {
        assert_eq!(
            covered_countries(&["DE", "UK"]),
            Err(InvalidCoverage::Country("UK".into()))
        );
        assert_eq!(
            covered_countries(&["**"]),
            Err(InvalidCoverage::Country("**".into()))
        );
        assert_eq!(
            spoken_languages(&["english"]),
            Err(InvalidCoverage::Language("english".into()))
        );
        assert!(
            InvalidCoverage::Country("UK".into())
                .to_string()
                .contains("or * for the global pool")
        );
    }
}
