//! Phone-number signal: international numbers (`+55 11 9...`, `0049 30 ...`)
//! parsed with `phonenumber`; national-format numbers only corroborate a
//! country another signal already suggests.

use phonenumber::metadata::DATABASE;
use phonenumber::{PhoneNumber, Type};

use super::CountryCode;

const MIN_DIGITS: usize = 7;
const MAX_DIGITS: usize = 15;

fn is_phone_char(c: char) -> bool {
    c.is_ascii_digit()
        || matches!(
            c,
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' | '\u{2011}' | '\u{2013}'
        )
}

/// A run of phone characters starting at byte `start`, with its digit count.
fn run_at(text: &str, start: usize) -> (&str, usize) {
    let mut end = start;
    let mut digits = 0;
    for (i, c) in text[start..].char_indices() {
        if !is_phone_char(c) || digits >= MAX_DIGITS && c.is_ascii_digit() {
            break;
        }
        if c.is_ascii_digit() {
            digits += 1;
        }
        end = start + i + c.len_utf8();
    }
    let run = text[start..end].trim_end_matches(|c: char| !c.is_ascii_digit());
    (run, digits)
}

/// Shorter versions of a candidate, dropping trailing digit groups, so that
/// a number followed by other digits ("... 4321 2024") still parses.
fn prefixes(run: &str) -> impl Iterator<Item = &str> {
    let mut cur = Some(run);
    std::iter::from_fn(move || {
        let now = cur?;
        let cut = now
            .rfind(|c: char| !c.is_ascii_digit())
            .map(|i| now[..i].trim_end_matches(|c: char| !c.is_ascii_digit()));
        cur = cut.filter(|s| s.chars().filter(char::is_ascii_digit).count() >= MIN_DIGITS);
        Some(now)
    })
}

fn region_of(n: &PhoneNumber) -> Option<CountryCode> {
    if let Some(id) = n.country().id() {
        return id.as_ref().parse().ok();
    }
    // Codes shared by several regions (+39 IT/VA, +7 RU/KZ): take the main one.
    let code = n.code().value();
    let regions = DATABASE.region(&code)?;
    let main = regions
        .iter()
        .find(|r| {
            DATABASE
                .by_id(**r)
                .is_some_and(|m| m.is_main_country_for_code())
        })
        .or_else(|| regions.first())?;
    main.parse().ok()
}

/// Crown dependencies that share a calling code with a larger country and
/// whose people are served by its services (+44 7911 is Guernsey's and the
/// UK's both): a number there counts for both.
const SHARES_WITH: &[(&str, &str)] = &[("GG", "GB"), ("JE", "GB"), ("IM", "GB")];

/// The countries a number points to.
fn countries_of(c: CountryCode) -> Vec<CountryCode> {
    let mut out = vec![c];
    for (small, big) in SHARES_WITH {
        if c.as_str() == *small
            && let Ok(b) = big.parse()
        {
            out.push(b);
        }
    }
    out
}

/// Ranges reserved for drama and documentation, which no real person has
/// but which stand for a real person's number in examples and tests:
/// Ofcom's 07700 900000–900999 (GB), NANPA's 555-0100–0199 (US, CA and the
/// other +1 countries) and ACMA's 0491 570–573 (AU). Takes the national
/// significant number's digits.
fn fictional(country: CountryCode, national: &str) -> bool {
    match country.as_str() {
        "GB" => national.len() == 10 && national.starts_with("7700900"),
        "AU" => {
            national.len() == 9
                && ["491570", "491571", "491572", "491573"]
                    .iter()
                    .any(|p| national.starts_with(p))
        }
        c if DATABASE.by_id(c).is_some_and(|m| m.country_code() == 1) => {
            national.len() == 10 && &national[3..7] == "5550" && national.as_bytes()[7] == b'1'
        }
        _ => false,
    }
}

/// Whether a national-format number is in `country`'s reserved example
/// range; for the +1 countries, the one its area code belongs to.
pub(super) fn fictional_in(number: &str, country: CountryCode) -> bool {
    let Ok(id) = country.as_str().parse::<phonenumber::country::Id>() else {
        return false;
    };
    let Ok(n) = phonenumber::parse(Some(id), number) else {
        return false;
    };
    let national = n.national().value().to_string();
    if !fictional(country, &national) {
        return false;
    }
    if n.code().value() != 1 {
        return true;
    }
    // 555-01xx exists under every area code: ask whose area code it is with
    // an ordinary number under it.
    let probe = format!("+1{}2345678", &national[..3]);
    phonenumber::parse(None, &probe)
        .ok()
        .and_then(|p| p.country().id())
        .and_then(|id| id.as_ref().parse::<CountryCode>().ok())
        == Some(country)
}

/// A valid personal number, or one in a reserved fictional range.
fn acceptable(n: &PhoneNumber, region: Option<CountryCode>) -> bool {
    (n.is_valid() && personal(n))
        || region.is_some_and(|c| fictional(c, &n.national().value().to_string()))
}

/// Helplines and premium numbers say nothing about where the sender lives.
fn personal(n: &PhoneNumber) -> bool {
    !matches!(
        n.number_type(&DATABASE),
        Type::TollFree | Type::PremiumRate | Type::SharedCost | Type::Uan | Type::Voicemail
    )
}

/// Countries of the international-format phone numbers in `text`, in order
/// of appearance, one entry per number, with the number as written.
pub(super) fn international(text: &str) -> Vec<(Vec<CountryCode>, String)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let prev_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'+');
        let start = if bytes[i] == b'+' && prev_ok {
            Some(i + 1)
        } else if prev_ok
            && bytes[i..].starts_with(b"00")
            && bytes.get(i + 2).is_some_and(|b| (b'1'..=b'9').contains(b))
        {
            Some(i + 2)
        } else {
            None
        };
        let Some(start) = start else {
            i += 1;
            continue;
        };
        // "+55 (11)": allow one space or bracket after the plus sign.
        let (run, digits) = run_at(text, start);
        if digits < MIN_DIGITS + 1 {
            i = start.max(i + 1);
            continue;
        }
        for candidate in prefixes(run) {
            let normalised = format!("+{}", candidate.replace("(0)", ""));
            let Ok(n) = phonenumber::parse(None, &normalised) else {
                continue;
            };
            let region = region_of(&n);
            if acceptable(&n, region) {
                if let Some(c) = region {
                    let written = text.get(i..start + candidate.len()).unwrap_or(candidate);
                    out.push((countries_of(c), written.trim().to_string()));
                }
                break;
            }
        }
        i = start + run.len().max(1);
    }
    out
}

/// Whether `run` begins with a date such as `03.06.2024`, `2024-06-03` or
/// `3/6/24` (three digit groups joined by the same `.`, `/` or `-`, not
/// followed by a fourth group with that separator as in `06.12.34.56.78`).
fn starts_with_date(run: &str) -> bool {
    let mut groups = Vec::new();
    let mut seps = Vec::new();
    let mut cur = 0usize;
    for c in run.chars() {
        if c.is_ascii_digit() {
            cur += 1;
        } else {
            groups.push(cur);
            seps.push(c);
            cur = 0;
            if groups.len() == 4 {
                break;
            }
        }
    }
    groups.push(cur);
    if groups.len() < 3 || !matches!(seps[0], '.' | '/' | '-') || seps[1] != seps[0] {
        return false;
    }
    if seps.get(2) == Some(&seps[0]) {
        return false;
    }
    let (a, b, c) = (groups[0], groups[1], groups[2]);
    let day_first = (1..=2).contains(&a) && (1..=2).contains(&b) && (2..=4).contains(&c);
    let year_first = a == 4 && (1..=2).contains(&b) && (1..=2).contains(&c);
    day_first || year_first
}

/// Labels that introduce a phone number in a signature.
const PHONE_LABELS: &[&str] = &[
    "call",
    "ring",
    "text me",
    "sms",
    "number",
    "numero",
    "número",
    "nummer",
    "tel",
    "phone",
    "mobile",
    "mob",
    "cell",
    "fone",
    "telefone",
    "celular",
    "cel",
    "telefono",
    "teléfono",
    "móvil",
    "movil",
    "tél",
    "portable",
    "handy",
    "telefon",
    "mobil",
    "tlf",
    "puh",
    "puhelin",
    "cellulare",
    "cellphone",
    "whatsapp",
    "電話",
    "携帯",
    "전화",
    "휴대폰",
];

/// National-format numbers (no country code) in `text`: on a line with a
/// phone label, or written with a bracketed area code, 8 to 13 digits, not a
/// date.
pub(super) fn national(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let lower = line.to_lowercase();
        let labelled = PHONE_LABELS.iter().any(|l| lower.contains(l));
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let prev = if i == 0 { b' ' } else { bytes[i - 1] };
            if c == b'+'
                || (c == b'0' && bytes.get(i + 1) == Some(&b'0') && !prev.is_ascii_alphanumeric())
            {
                // An international number: not a national one.
                let (run, _) = run_at(line, i + 1);
                i += 1 + run.len();
                continue;
            }
            let starts =
                (c.is_ascii_digit() || c == b'(') && !prev.is_ascii_alphanumeric() && prev != b'+';
            if !starts {
                i += 1;
                continue;
            }
            let (run, digits) = run_at(line, i);
            let bracketed = run.starts_with('(');
            let trunk = run.starts_with('0');
            let alone = line.trim().len() <= run.len() + 2;
            if (labelled || bracketed || alone || trunk)
                && !run.starts_with("00")
                && !starts_with_date(run)
                && (8..=13).contains(&digits)
                && out.len() < 8
            {
                out.push(run.to_string());
            }
            i += run.len().max(1);
        }
    }
    out
}

/// Whether a national-format `number` is a valid personal number of
/// `country`.
pub(super) fn valid_in(number: &str, country: CountryCode) -> bool {
    let Ok(id) = country.as_str().parse::<phonenumber::country::Id>() else {
        return false;
    };
    phonenumber::parse(Some(id), number).is_ok_and(|n| {
        let region = region_of(&n);
        let fits = region.is_some_and(|r| countries_of(r).contains(&country))
            || fictional(country, &n.national().value().to_string());
        fits && acceptable(&n, Some(country))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_not_phone_numbers() {
        assert!(starts_with_date("03.06.2024 12"));
        assert!(starts_with_date("2024-06-03 10"));
        assert!(starts_with_date("3/6/24"));
        assert!(!starts_with_date("06.12.34.56.78"));
        assert!(!starts_with_date("615-322-4000"));
        assert!(!starts_with_date("(11) 98765-4321"));
        assert!(!starts_with_date("030 1234567"));
    }

    #[test]
    fn international_numbers_in_text() {
        let found =
            international("Call +55 11 98765-4321 or 0049 30 12345678, not 2000 1234 5678.");
        let codes: Vec<&str> = found.iter().map(|c| c.0[0].as_str()).collect();
        assert_eq!(codes, ["BR", "DE"]);
        assert!(international("Order #+12 and 00000000000").is_empty());
    }
}
