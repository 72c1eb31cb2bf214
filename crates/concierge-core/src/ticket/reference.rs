//! Short human ticket references such as `C-7K2M9X`.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Crockford-style alphabet without look-alikes (no 0/O, 1/I/L, U).
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters after the `C-` prefix.
pub const REFERENCE_LEN: usize = 6;

/// A ticket's public reference: `C-` followed by six random characters.
///
/// Random (not a sequence), so references reveal nothing about volume and
/// cannot be enumerated; uniqueness is enforced by the database.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TicketReference(String);

/// Why a string is not a ticket reference.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a ticket reference (expected C- and {REFERENCE_LEN} characters from {alphabet})", alphabet = std::str::from_utf8(ALPHABET).unwrap_or_default())]
pub struct InvalidReference;

impl TicketReference {
    /// A fresh random reference.
    pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let body: String = (0..REFERENCE_LEN)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        Self(format!("C-{body}"))
    }

    /// The reference as text, e.g. `C-7K2M9X`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six characters after `C-`.
    pub fn code(&self) -> &str {
        &self.0[2..]
    }

    /// Finds the first `[C-XXXXXX]` tag in a subject line.
    pub fn find_in_subject(subject: &str) -> Option<Self> {
        subject.match_indices('[').find_map(|(start, _)| {
            let after = &subject[start + 1..];
            let end = after.find(']')?;
            after[..end].trim().parse().ok()
        })
    }
}

impl FromStr for TicketReference {
    type Err = InvalidReference;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let body = s
            .strip_prefix("C-")
            .or_else(|| s.strip_prefix("c-"))
            .ok_or(InvalidReference)?;
        if body.len() != REFERENCE_LEN {
            return Err(InvalidReference);
        }
        let upper = body.to_ascii_uppercase();
        if upper.bytes().all(|b| ALPHABET.contains(&b)) {
            Ok(Self(format!("C-{upper}")))
        } else {
            Err(InvalidReference)
        }
    }
}

impl TryFrom<String> for TicketReference {
    type Error = InvalidReference;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TicketReference> for String {
    fn from(r: TicketReference) -> Self {
        r.0
    }
}

impl fmt::Display for TicketReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_parse_back() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let r = TicketReference::generate(&mut rng);
            assert_eq!(r.as_str().len(), 2 + REFERENCE_LEN);
            assert_eq!(r.as_str().parse::<TicketReference>(), Ok(r.clone()));
        }
    }

    #[test]
    fn generated_references_are_not_a_sequence() {
        let mut rng = rand::rng();
        let a: Vec<_> = (0..50)
            .map(|_| TicketReference::generate(&mut rng))
            .collect();
        let distinct: std::collections::HashSet<_> = a.iter().collect();
        assert!(distinct.len() > 45);
    }

    #[test]
    fn parsing_is_case_insensitive_and_strict() {
        assert_eq!(
            "c-7k2m9x".parse::<TicketReference>().unwrap().as_str(),
            "C-7K2M9X"
        );
        assert!("C-7K2M9".parse::<TicketReference>().is_err());
        assert!("C-7K2M9XX".parse::<TicketReference>().is_err());
        assert!(
            "C-7K2M0X".parse::<TicketReference>().is_err(),
            "0 is not in the alphabet"
        );
        assert!("X-7K2M9X".parse::<TicketReference>().is_err());
        assert!("".parse::<TicketReference>().is_err());
        assert!("C-ÄÄÄÄÄÄ".parse::<TicketReference>().is_err());
    }

    #[test]
    fn finds_tag_in_subject() {
        let r = TicketReference::find_in_subject("Re: Help please [C-7K2M9X]").unwrap();
        assert_eq!(r.as_str(), "C-7K2M9X");
        let r = TicketReference::find_in_subject("AW: [ext] [c-7k2m9x] x").unwrap();
        assert_eq!(r.as_str(), "C-7K2M9X");
        assert!(TicketReference::find_in_subject("Re: [C-7K2M9] short").is_none());
        assert!(TicketReference::find_in_subject("no tag [").is_none());
        let r = TicketReference::find_in_subject("x [y [C-7K2M9X]").unwrap();
        assert_eq!(r.as_str(), "C-7K2M9X", "a tag after an unmatched bracket");
        assert!(TicketReference::find_in_subject("C-7K2M9X without brackets").is_none());
    }
}
