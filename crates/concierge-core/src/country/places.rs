//! The gazetteer: country, region and city names with their countries and
//! populations, generated into `data/country/places.tsv` from GeoNames,
//! ISO 3166-2 (pycountry) and CLDR (babel) by `scripts/gen-country-data.sh`
//! (attribution in `data/country/ATTRIBUTION.md`). Keys are folded (see
//! [`super::text::fold`]) and space-joined.
//!
//! A name that exists in several countries ("Manchester", "Córdoba",
//! "Georgia") points to all of them, each with its share of the population
//! that carries the name, so other evidence can decide.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::CountryCode;
use super::text::{self, Token};

/// The generated gazetteer compiled into the binary.
const PLACES_TSV: &str = include_str!("../../data/country/places.tsv");

/// What kind of place a name refers to (the largest of its meanings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    City,
    Region,
    Country,
}

/// Extra matching conditions, from the data's flags.
pub(super) mod flag {
    /// Also a common word or first name ("Nice", "Reading", "Jordan"):
    /// counts only when capitalised and after a clear cue.
    pub const COMMON: u8 = 1;
    /// Written in a non-Latin script.
    pub const NATIVE: u8 = 2;
    /// Only an alternate name (another language's name for a country,
    /// "Čada" for Chad): counts in lower case only after a clear cue.
    pub const ALT: u8 = 4;
    /// One of the name's meanings is a region or a country ("Ontario" is a
    /// province and a Californian city): it can qualify a city.
    pub const AREA: u8 = 8;
}

/// A known place name with the countries it may mean.
#[derive(Clone, Debug)]
pub(super) struct Place {
    /// Countries and shares (summing to 1), largest first.
    pub shares: Vec<(CountryCode, f32)>,
    /// Population (or pseudo-population) of the largest meaning.
    pub size: f64,
    pub kind: Kind,
    pub flags: u8,
}

#[cfg(test)]
impl Place {
    /// The most likely country.
    pub fn top(&self) -> Option<CountryCode> {
        self.shares.first().map(|s| s.0)
    }
}

/// Pseudo-populations that let a country or region name outweigh towns of
/// the same name elsewhere ("Georgia" the country vs. the US state).
const COUNTRY_WEIGHT: f64 = 50_000_000.0;
const REGION_WEIGHT: f64 = 100_000.0;

/// Word-frequency data flags a name as a common word whatever its use; a
/// city this large is what the word usually means ("Manchester").
const COMMON_BELOW: f64 = 500_000.0;

/// A city this large is a real second meaning of a country's name.
const BIG_CITY: f64 = 1_000_000.0;

struct Gazetteer {
    /// Folded, space-joined names (Latin, Cyrillic, Arabic, Devanagari...).
    words: HashMap<String, Place>,
    /// Names in scripts written without spaces (Han, Kana, Hangul), matched
    /// as substrings.
    cjk: HashMap<String, Place>,
    /// Longest CJK name, in characters.
    cjk_max: usize,
    /// Region codes used as qualifiers ("TX", "NSW", "SP").
    codes: HashMap<String, Vec<CountryCode>>,
    /// Stems of inflected languages ("warszaw" for Warszawa/Warszawie).
    stems: HashMap<String, String>,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F)
}

fn kind_of(s: &str) -> Option<Kind> {
    Some(match s {
        "country" => Kind::Country,
        "region" => Kind::Region,
        "city" => Kind::City,
        _ => return None,
    })
}

/// Accumulates raw weights per (key, country) before normalising.
#[derive(Default)]
struct Acc {
    weights: Vec<(CountryCode, f64, Kind)>,
    common: bool,
    native: bool,
    /// Some row of this key is a main name.
    main: bool,
}

fn finish(acc: HashMap<String, Acc>) -> HashMap<String, Place> {
    acc.into_iter()
        .map(|(k, a)| {
            let mut per: Vec<(CountryCode, f64, Kind)> = Vec::new();
            for (c, w, kind) in a.weights {
                match per.iter_mut().find(|p| p.0 == c) {
                    Some(p) => {
                        p.1 = p.1.max(w);
                        p.2 = p.2.max(kind);
                    }
                    None => per.push((c, w, kind)),
                }
            }
            // A country's name that is also a big city's elsewhere (عمان:
            // Oman and Amman) is read both ways, evenly.
            if per.iter().any(|p| p.2 == Kind::Country)
                && let Some(city) = per
                    .iter()
                    .filter(|p| p.2 == Kind::City && p.1 >= BIG_CITY)
                    .map(|p| p.0)
                    .next()
                && per.iter().any(|p| p.2 == Kind::Country && p.0 != city)
            {
                for p in per.iter_mut() {
                    if p.0 == city {
                        p.1 = COUNTRY_WEIGHT;
                    }
                }
            }
            per.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let total: f64 = per.iter().map(|p| p.1).sum::<f64>().max(1.0);
            let kind = per.first().map_or(Kind::City, |p| p.2);
            let top_weight = per.first().map_or(0.0, |p| p.1);
            let shares = per
                .iter()
                .map(|p| (p.0, (p.1 / total) as f32))
                .filter(|p| p.1 >= 0.001)
                .collect();
            let mut flags = 0;
            // A city-state's region row ("Wien", "Hamburg") does not make
            // its large city a common word.
            if a.common && top_weight < COMMON_BELOW {
                flags |= flag::COMMON;
            }
            if !a.main {
                flags |= flag::ALT;
            }
            if per.iter().any(|p| p.2 != Kind::City) {
                flags |= flag::AREA;
            }
            if a.native {
                flags |= flag::NATIVE;
            }
            (
                k,
                Place {
                    shares,
                    size: top_weight,
                    kind,
                    flags,
                },
            )
        })
        .collect()
}

/// A key's stems: without its final vowels ("warszawa" → "warszaw"), and
/// without the fleeting e of Czech and Slovak ("viden" → "vidn", for
/// "Vídni" from "Vídeň").
fn stems_of(key: &str) -> Vec<String> {
    let mut out: Vec<String> = stem(key).into_iter().collect();
    if !key.contains(' ')
        && key.chars().count() >= 5
        && let Some(base) = key.strip_suffix("en")
    {
        out.push(format!("{base}n"));
    }
    // Ukrainian і/ї alternates with о/е/є in inflected forms (Київ → Києві,
    // Харків → Харкова).
    let chars: Vec<char> = key.chars().collect();
    if !key.contains(' ') && chars.len() >= 4 {
        let n = chars.len();
        if matches!(chars[n - 2], 'і' | 'ї') && !"аеєиіїоуюяь".contains(chars[n - 1]) {
            for v in ['о', 'е', 'є'] {
                let mut c = chars.clone();
                c[n - 2] = v;
                out.push(c.into_iter().collect());
            }
        }
    }
    out
}

/// Vowels and soft signs a stem drops ("Warszawa" → "warszaw").
fn stem(key: &str) -> Option<String> {
    if key.contains(' ') || key.chars().count() < 5 {
        return None;
    }
    let trimmed = key.trim_end_matches([
        'a', 'e', 'i', 'o', 'u', 'y', 'а', 'е', 'и', 'о', 'у', 'ы', 'я', 'ь', 'і', 'ї',
    ]);
    (trimmed.chars().count() >= 4 && trimmed != key).then(|| trimmed.to_string())
}

fn build() -> Gazetteer {
    let mut words: HashMap<String, Acc> = HashMap::new();
    let mut cjk: HashMap<String, Acc> = HashMap::new();
    let mut codes: HashMap<String, Vec<CountryCode>> = HashMap::new();
    for line in PLACES_TSV.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(name), Some(country), Some(kind), pop, flags) = (
            cols.next(),
            cols.next(),
            cols.next(),
            cols.next(),
            cols.next().unwrap_or(""),
        ) else {
            continue;
        };
        let Ok(country) = country.parse::<CountryCode>() else {
            continue;
        };
        if kind == "region_code" {
            let list = codes.entry(name.to_ascii_uppercase()).or_default();
            if !list.contains(&country) {
                list.push(country);
            }
            continue;
        }
        let Some(kind) = kind_of(kind) else { continue };
        let pop: f64 = pop.and_then(|p| p.parse().ok()).unwrap_or(0.0);
        let weight = match kind {
            Kind::Country => COUNTRY_WEIGHT,
            Kind::Region => REGION_WEIGHT.max(pop),
            Kind::City => pop.max(1000.0),
        };
        let common = flags.split(',').any(|f| f == "common");
        let native = flags.split(',').any(|f| f == "native");
        let alt = flags.split(',').any(|f| f == "alt");
        let (map, k) = if name.chars().any(is_cjk) {
            (&mut cjk, text::fold(name.trim()))
        } else {
            (&mut words, key(name))
        };
        if k.is_empty() {
            continue;
        }
        // "St. Pölten", "St Gallen": the abbreviated form people write.
        for long in ["sankt ", "saint ", "sint "] {
            if let Some(rest) = k.strip_prefix(long) {
                let a = map.entry(format!("st {rest}")).or_default();
                a.weights.push((country, weight, kind));
                a.common |= common;
                a.native |= native;
                a.main |= !alt;
            }
        }
        let a = map.entry(k).or_default();
        a.weights.push((country, weight, kind));
        a.common |= common;
        a.native |= native;
        a.main |= !alt;
    }
    let words = finish(words);
    let cjk = finish(cjk);
    let cjk_max = cjk.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    let mut stems = HashMap::new();
    for (k, p) in &words {
        // Common words' stems only from cities big enough to be what the
        // capitalised word means ("Szczecina"); see `match_inflected`.
        if p.kind == Kind::City && p.flags & flag::COMMON != 0 && p.size < 100_000.0 {
            continue;
        }
        for s in stems_of(k) {
            // The largest place wins a shared stem (whatever the map order).
            match stems.get(&s).and_then(|full: &String| words.get(full)) {
                Some(old) if old.size >= p.size => {}
                _ => {
                    stems.insert(s, k.clone());
                }
            }
        }
    }
    Gazetteer {
        words,
        cjk,
        cjk_max,
        codes,
        stems,
    }
}

static GAZETTEER: LazyLock<Gazetteer> = LazyLock::new(build);

/// Folds and space-joins a display name into a table key.
pub(super) fn key(name: &str) -> String {
    let toks = text::tokenize(name);
    let mut k = toks
        .iter()
        .map(|t| t.norm.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(rest) = k.strip_prefix("the ") {
        k = rest.to_string();
    }
    k
}

/// Longest place name starting at `tokens[i]`; returns the place and the
/// number of tokens it spans.
pub(super) fn match_at(tokens: &[Token], i: usize) -> Option<(Place, usize)> {
    const MAX_WORDS: usize = 5;
    let g = &*GAZETTEER;
    let first = tokens.get(i)?;
    // Arabic names carry the article that speech often drops (إسكندرية for
    // الإسكندرية).
    if first
        .norm
        .starts_with(|c: char| ('\u{0621}'..='\u{064A}').contains(&c))
        && !first.norm.starts_with("ال")
        && first.norm.chars().count() >= 3
        && !g.words.contains_key(&first.norm)
        && let Some(p) = g.words.get(&format!("ال{}", first.norm))
    {
        return Some((p.clone(), 1));
    }
    let mut k = String::new();
    let mut best = None;
    for n in 0..MAX_WORDS {
        let Some(t) = tokens.get(i + n) else { break };
        if n > 0 {
            if !text::joinable(t.sep) {
                break;
            }
            k.push(' ');
        }
        k.push_str(&t.norm);
        if let Some(p) = g.words.get(&k) {
            best = Some((p.clone(), n + 1));
        }
    }
    best
}

/// Case endings of the inflecting languages we read (Polish, Czech,
/// Slovak, Russian, Ukrainian, Hungarian, Finnish, Turkish without its
/// apostrophe), longest first.
const ENDINGS: &[&str] = &[
    "dayim", "deyim", "tayim", "teyim", "ssaan", "ella", "essa", "aan", "ssa", "ssä", "lla", "llä",
    "ban", "ben", "ach", "iu", "ie", "ia", "ii", "ej", "om", "em", "on", "en", "ön", "da", "de",
    "ta", "te", "ой", "ом", "ме", "ії", "у", "е", "і", "и", "ы", "u", "e", "y", "i", "ě", "n", "а",
    "a",
];

/// An inflected form of a place ("Warszawie", "Москве", "Krakowie",
/// "Budapesten", "istanbulda"): a known name or stem followed by a case
/// ending. Only used right at a cue.
pub(super) fn match_inflected(tok: &Token) -> Option<Place> {
    let g = &*GAZETTEER;
    if tok.norm.chars().count() < 5 {
        return None;
    }
    for ending in ENDINGS {
        let Some(base) = tok.norm.strip_suffix(ending) else {
            continue;
        };
        if base.chars().count() < 4 {
            continue;
        }
        // A common word's inflected form counts only capitalised
        // ("Szczecina", not "roma" in "romana").
        let usable = |p: &Place| p.flags & flag::COMMON == 0 || tok.upper_initial;
        if let Some(p) = g.words.get(base)
            && usable(p)
        {
            return Some(p.clone());
        }
        if let Some(p) = g.stems.get(base).and_then(|full| g.words.get(full))
            && usable(p)
        {
            return Some(p.clone());
        }
    }
    None
}

/// CJK place names in `s`, longest first at each position, with their byte
/// offsets and lengths.
pub(super) fn cjk_places(s: &str) -> Vec<(Place, (usize, usize))> {
    let g = &*GAZETTEER;
    let idx: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        if !is_cjk(idx[i].1) {
            i += 1;
            continue;
        }
        let mut found = None;
        for len in (2..=g.cjk_max.min(idx.len() - i)).rev() {
            let start = idx[i].0;
            let end = idx.get(i + len).map_or(s.len(), |c| c.0);
            if let Some(p) = g.cjk.get(&s[start..end]) {
                found = Some((p.clone(), (start, end - start), len));
                break;
            }
        }
        match found {
            Some((p, span, len)) => {
                out.push((p, span));
                i += len;
            }
            None => i += 1,
        }
    }
    out
}

/// Countries named by an upper-case region or country code that qualifies
/// a city ("Nashville, TN", "London, ON", "Berlin, DE"); `Some(vec![])` for
/// an unknown code, which is consumed without effect.
pub(super) fn qualifier_code(tok: &Token) -> Option<Vec<CountryCode>> {
    if !tok.all_upper || !(2..=3).contains(&tok.norm.len()) || !tok.norm.is_ascii() {
        return None;
    }
    let up = tok.norm.to_ascii_uppercase();
    let mut out = GAZETTEER.codes.get(&up).cloned().unwrap_or_default();
    if let Ok(c) = up.parse::<CountryCode>()
        && !out.contains(&c)
    {
        out.push(c);
    }
    Some(out)
}

/// The countries whose first-level region a written code names ("SP" is
/// São Paulo, BR; "LA" is Louisiana, US, and Ladakh, IN), if it is one.
pub(super) fn region_code(tok: &Token) -> Option<Vec<CountryCode>> {
    if !tok.all_upper || !(2..=3).contains(&tok.norm.len()) || !tok.norm.is_ascii() {
        return None;
    }
    GAZETTEER
        .codes
        .get(&tok.norm.to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .cloned()
}

/// Whether a known place starts at `tokens[i]`.
pub(super) fn is_place_start(tokens: &[Token], i: usize) -> bool {
    // A small town named like a surname ("Hilton", US) does not count:
    // "Paris Hilton" is a person.
    match_at(tokens, i).is_some_and(|(p, _)| p.kind != Kind::City || p.size >= 100_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str) -> Place {
        let toks = text::tokenize(name);
        let (p, n) = match_at(&toks, 0).unwrap_or_else(|| panic!("{name} not in gazetteer"));
        assert_eq!(n, toks.len(), "{name}");
        p
    }

    #[test]
    fn gazetteer_has_cities_regions_countries_in_many_scripts() {
        assert_eq!(
            place("Lagos").top().map(|c| c.to_string()),
            Some("NG".into())
        );
        assert_eq!(
            place("Nashville").top().map(|c| c.to_string()),
            Some("US".into())
        );
        assert_eq!(place("Tennessee").kind, Kind::Region);
        assert_eq!(place("Brasil").kind, Kind::Country);
        assert_eq!(
            place("Москва").top().map(|c| c.to_string()),
            Some("RU".into())
        );
        let tokyo = cjk_places("東京在住です");
        assert_eq!(
            tokyo.first().and_then(|p| p.0.top()).map(|c| c.to_string()),
            Some("JP".into())
        );
        let seoul = cjk_places("서울에서 살고 있어요");
        assert_eq!(
            seoul.first().and_then(|p| p.0.top()).map(|c| c.to_string()),
            Some("KR".into())
        );
    }

    #[test]
    fn ambiguous_names_share_by_population() {
        let m = place("Manchester");
        assert_eq!(m.top().map(|c| c.to_string()), Some("GB".into()));
        assert!(m.shares.len() > 1 && m.shares[0].1 > 0.5);
        let sum: f32 = m.shares.iter().map(|s| s.1).sum();
        assert!((sum - 1.0).abs() < 0.01, "{sum}");
    }

    #[test]
    fn inflected_forms_find_their_city() {
        let t = text::tokenize("Warszawie");
        assert_eq!(
            match_inflected(&t[0])
                .and_then(|p| p.top())
                .map(|c| c.to_string()),
            Some("PL".into())
        );
        let t = text::tokenize("Москве");
        assert_eq!(
            match_inflected(&t[0])
                .and_then(|p| p.top())
                .map(|c| c.to_string()),
            Some("RU".into())
        );
    }

    #[test]
    fn region_codes_qualify() {
        let t = text::tokenize("TN");
        assert!(qualifier_code(&t[0]).is_some_and(|c| c.iter().any(|c| c.as_str() == "US")));
    }
}
