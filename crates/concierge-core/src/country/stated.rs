//! "Stated" signal: the sender says where they are ("I live in Toronto",
//! "moro em Lisboa", "東京在住", a `Country: Brazil` line, a "City, Country"
//! signature line). A place only counts after a locative cue.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::CountryCode;
use super::places::{self, Kind, flag};
use super::text::{self, Sep, Token};

/// "I live in", "moro em", "ich wohne in": present residence.
pub(super) const RESIDENCE: f32 = 0.92;
/// `Country: Brazil` form/signature field.
pub(super) const LABEL: f32 = 0.9;
/// "I'm in", "estoy en", "je suis à", "here in": present location.
pub(super) const PRESENT: f32 = 0.85;
/// "I moved to", "me mudei para".
pub(super) const MOVED: f32 = 0.85;
/// "based in", "located in".
pub(super) const BASED: f32 = 0.82;
/// "greetings from", "writing from", "saludos desde".
pub(super) const GREETING: f32 = 0.8;
/// A signature line made only of places ("Lisboa, Portugal").
pub(super) const SIGNATURE: f32 = 0.72;
/// "I'm from", "sou de", "ich komme aus": origin, usually but not always residence.
pub(super) const ORIGIN: f32 = 0.7;
/// A bare preposition ("in Berlin", "em Lisboa"): weak on its own.
pub(super) const WEAK: f32 = 0.35;

/// Extra checks attached to a cue.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Guard {
    None,
    /// Cue without a first-person subject ("live in", "based in", "vivo em"):
    /// rejected after third-person subjects, modals, "play live in", "ao vivo em".
    Person,
    /// Bare preposition: rejected near travel/past words.
    Weak,
}

use Guard::{None as G0, Person as GP, Weak as GW};

/// Cue phrases, folded and space-separated.
const CUES: &[(&str, f32, Guard)] = &[
    // English
    ("live in", RESIDENCE, GP),
    ("living in", RESIDENCE, GP),
    ("reside in", RESIDENCE, GP),
    ("residing in", RESIDENCE, GP),
    ("i m based in", RESIDENCE, G0),
    ("im based in", RESIDENCE, G0),
    ("i am based in", RESIDENCE, G0),
    ("we re based in", RESIDENCE, G0),
    ("we are based in", RESIDENCE, G0),
    ("based in", BASED, GP),
    ("based out of", BASED, GP),
    ("located in", BASED, GP),
    ("i m in", PRESENT, G0),
    ("im in", PRESENT, G0),
    ("i am in", PRESENT, G0),
    ("we re in", PRESENT, G0),
    ("we are in", PRESENT, G0),
    ("here in", PRESENT, GP),
    ("i moved to", MOVED, G0),
    ("we moved to", MOVED, G0),
    ("i ve moved to", MOVED, G0),
    ("i have moved to", MOVED, G0),
    ("we ve moved to", MOVED, G0),
    ("i relocated to", MOVED, G0),
    ("we relocated to", MOVED, G0),
    ("i m from", ORIGIN, G0),
    ("im from", ORIGIN, G0),
    ("i am from", ORIGIN, G0),
    ("we re from", ORIGIN, G0),
    ("we are from", ORIGIN, G0),
    ("i come from", ORIGIN, G0),
    ("greetings from", GREETING, G0),
    ("hello from", GREETING, G0),
    ("hi from", GREETING, G0),
    ("writing from", GREETING, G0),
    ("writing to you from", GREETING, G0),
    ("in", WEAK, GW),
    ("from", WEAK, GW),
    // Portuguese
    ("moro em", RESIDENCE, G0),
    ("moro no", RESIDENCE, G0),
    ("moro na", RESIDENCE, G0),
    ("moro nos", RESIDENCE, G0),
    ("moro nas", RESIDENCE, G0),
    ("moramos em", RESIDENCE, G0),
    ("moramos no", RESIDENCE, G0),
    ("moramos na", RESIDENCE, G0),
    ("moramos nos", RESIDENCE, G0),
    ("vivo em", RESIDENCE, GP),
    ("vivo no", RESIDENCE, GP),
    ("vivo na", RESIDENCE, GP),
    ("vivemos em", RESIDENCE, G0),
    ("vivemos no", RESIDENCE, G0),
    ("vivemos na", RESIDENCE, G0),
    ("resido em", RESIDENCE, G0),
    ("resido no", RESIDENCE, G0),
    ("resido na", RESIDENCE, G0),
    ("estou em", PRESENT, G0),
    ("estou no", PRESENT, G0),
    ("estou na", PRESENT, G0),
    ("estou nos", PRESENT, G0),
    ("estamos em", PRESENT, G0),
    ("estamos no", PRESENT, G0),
    ("estamos na", PRESENT, G0),
    ("aqui em", PRESENT, G0),
    ("aqui no", PRESENT, G0),
    ("aqui na", PRESENT, G0),
    ("me mudei para", MOVED, G0),
    ("me mudei pra", MOVED, G0),
    ("mudei me para", MOVED, G0),
    ("mudei para", MOVED, G0),
    ("sou de", ORIGIN, G0),
    ("sou do", ORIGIN, G0),
    ("sou da", ORIGIN, G0),
    ("somos de", ORIGIN, G0),
    ("baseado em", BASED, GP),
    ("baseada em", BASED, GP),
    ("escrevo de", GREETING, G0),
    ("em", WEAK, GW),
    ("no", WEAK, GW),
    ("na", WEAK, GW),
    // Spanish
    ("vivo en", RESIDENCE, GP),
    ("vivimos en", RESIDENCE, G0),
    ("resido en", RESIDENCE, G0),
    ("radico en", RESIDENCE, G0),
    ("estoy en", PRESENT, G0),
    ("estamos en", PRESENT, G0),
    ("aqui en", PRESENT, G0),
    ("me mude a", MOVED, G0),
    ("nos mudamos a", MOVED, G0),
    ("soy de", ORIGIN, G0),
    ("somos de", ORIGIN, G0),
    ("radicado en", BASED, GP),
    ("radicada en", BASED, GP),
    ("con base en", BASED, GP),
    ("escribo desde", GREETING, G0),
    ("saludos desde", GREETING, G0),
    ("en", WEAK, GW),
    // French
    ("j habite", RESIDENCE, G0),
    ("j habite a", RESIDENCE, G0),
    ("j habite au", RESIDENCE, G0),
    ("j habite en", RESIDENCE, G0),
    ("j habite aux", RESIDENCE, G0),
    ("nous habitons a", RESIDENCE, G0),
    ("nous habitons au", RESIDENCE, G0),
    ("nous habitons en", RESIDENCE, G0),
    ("je vis a", RESIDENCE, G0),
    ("je vis au", RESIDENCE, G0),
    ("je vis en", RESIDENCE, G0),
    ("je vis aux", RESIDENCE, G0),
    ("nous vivons a", RESIDENCE, G0),
    ("nous vivons en", RESIDENCE, G0),
    ("je reside a", RESIDENCE, G0),
    ("je reside en", RESIDENCE, G0),
    ("je suis a", PRESENT, G0),
    ("je suis au", PRESENT, G0),
    ("je suis en", PRESENT, G0),
    ("je suis aux", PRESENT, G0),
    ("nous sommes a", PRESENT, G0),
    ("nous sommes en", PRESENT, G0),
    ("je me suis installe a", MOVED, G0),
    ("je me suis installee a", MOVED, G0),
    ("je me suis installe en", MOVED, G0),
    ("j ai demenage a", MOVED, G0),
    ("j ai demenage en", MOVED, G0),
    ("j ai demenage au", MOVED, G0),
    ("je viens de", ORIGIN, G0),
    ("je viens du", ORIGIN, G0),
    ("je viens d", ORIGIN, G0),
    ("base a", BASED, GP),
    ("basee a", BASED, GP),
    ("je vous ecris de", GREETING, G0),
    ("je vous ecris depuis", GREETING, G0),
    // German
    ("ich wohne in", RESIDENCE, G0),
    ("ich wohne im", RESIDENCE, G0),
    ("wir wohnen in", RESIDENCE, G0),
    ("ich lebe in", RESIDENCE, G0),
    ("ich lebe im", RESIDENCE, G0),
    ("wir leben in", RESIDENCE, G0),
    ("wohnhaft in", RESIDENCE, GP),
    ("ich bin in", PRESENT, G0),
    ("wir sind in", PRESENT, G0),
    ("hier in", PRESENT, GP),
    ("ich bin nach", MOVED, G0),
    ("ich komme aus", ORIGIN, G0),
    ("wir kommen aus", ORIGIN, G0),
    ("ich bin aus", ORIGIN, G0),
    ("grusse aus", GREETING, G0),
    ("gruesse aus", GREETING, G0),
    ("ansassig in", BASED, GP),
    // Italian
    ("vivo a", RESIDENCE, GP),
    ("vivo in", RESIDENCE, GP),
    ("viviamo a", RESIDENCE, G0),
    ("viviamo in", RESIDENCE, G0),
    ("abito a", RESIDENCE, G0),
    ("abito in", RESIDENCE, G0),
    ("abitiamo a", RESIDENCE, G0),
    ("abitiamo in", RESIDENCE, G0),
    ("risiedo a", RESIDENCE, G0),
    ("risiedo in", RESIDENCE, G0),
    ("sono a", PRESENT, G0),
    ("sono in", PRESENT, G0),
    ("siamo a", PRESENT, G0),
    ("siamo in", PRESENT, G0),
    ("mi sono trasferito a", MOVED, G0),
    ("mi sono trasferita a", MOVED, G0),
    ("mi sono trasferito in", MOVED, G0),
    ("mi sono trasferita in", MOVED, G0),
    ("sono di", ORIGIN, G0),
    ("vengo da", ORIGIN, G0),
    ("vengo dal", ORIGIN, G0),
    ("vengo dalla", ORIGIN, G0),
    ("saluti da", GREETING, G0),
    // Dutch
    ("ik woon in", RESIDENCE, G0),
    ("wij wonen in", RESIDENCE, G0),
    ("we wonen in", RESIDENCE, G0),
    ("woonachtig in", RESIDENCE, GP),
    ("ik ben in", PRESENT, G0),
    ("ik ben verhuisd naar", MOVED, G0),
    ("ik verhuisde naar", MOVED, G0),
    ("ik kom uit", ORIGIN, G0),
    ("groeten uit", GREETING, G0),
    ("gevestigd in", BASED, GP),
    // Swedish, Danish, Norwegian
    ("jag bor i", RESIDENCE, G0),
    ("jag bor pa", RESIDENCE, G0),
    ("vi bor i", RESIDENCE, G0),
    ("jeg bor i", RESIDENCE, G0),
    ("jeg bor pa", RESIDENCE, G0),
    ("bosatt i", RESIDENCE, GP),
    ("jag ar i", PRESENT, G0),
    ("jeg er i", PRESENT, G0),
    ("jag flyttade till", MOVED, G0),
    ("jeg flyttet til", MOVED, G0),
    ("jeg flyttede til", MOVED, G0),
    ("jag kommer fran", ORIGIN, G0),
    ("jeg kommer fra", ORIGIN, G0),
    ("halsningar fran", GREETING, G0),
    ("hilsen fra", GREETING, G0),
    ("baserad i", BASED, GP),
    ("baseret i", BASED, GP),
    ("basert i", BASED, GP),
    ("i", WEAK, GW),
    // Finnish (locative case is part of the place name)
    ("asun", RESIDENCE, G0),
    ("asumme", RESIDENCE, G0),
    // Polish
    ("mieszkam w", RESIDENCE, G0),
    ("mieszkamy w", RESIDENCE, G0),
    ("jestem w", PRESENT, G0),
    // Russian, Ukrainian
    ("я живу в", RESIDENCE, G0),
    ("живу в", RESIDENCE, G0),
    ("мы живем в", RESIDENCE, G0),
    ("я живу у", RESIDENCE, G0),
    ("живемо в", RESIDENCE, G0),
    ("живемо у", RESIDENCE, G0),
    ("я из", ORIGIN, G0),
    ("я з", ORIGIN, G0),
];

/// Words that may sit between the words of a cue ("I'm currently based in").
const ADVERBS: &[&str] = &[
    "currently",
    "now",
    "still",
    "also",
    "actually",
    "really",
    "just",
    "recently",
    "both",
    "all",
    "originally",
    "permanently",
    "ainda",
    "agora",
    "atualmente",
    "actualmente",
    "ahora",
    "tambien",
    "tambem",
    "hoje",
    "hoy",
    "actuellement",
    "maintenant",
    "aussi",
    "desormais",
    "jetzt",
    "derzeit",
    "zurzeit",
    "aktuell",
    "momentan",
    "auch",
    "noch",
    "seit",
    "ora",
    "attualmente",
    "anche",
    "momenteel",
    "ook",
    "nog",
    "numera",
    "fortfarande",
    "nu",
    "teraz",
    "сейчас",
    "теперь",
    "зараз",
];

/// Articles that may sit between the cue and the place ("in the UK").
const FILLERS: &[&str] = &[
    "the",
    "o",
    "os",
    "a",
    "as",
    "la",
    "las",
    "le",
    "les",
    "l",
    "el",
    "los",
    "der",
    "die",
    "dem",
    "den",
    "het",
    "lo",
    "il",
    "sunny",
    "rainy",
    "beautiful",
    "lovely",
    "city",
    "of",
];

/// Words that, right before a [`Guard::Person`] cue, mean it is about
/// someone or something else, a wish, or a performance.
const PERSON_REJECT: &[&str] = &[
    "to",
    "used",
    "t",
    "not",
    "never",
    "he",
    "she",
    "they",
    "it",
    "who",
    "which",
    "that",
    "people",
    "parents",
    "mother",
    "father",
    "mum",
    "mom",
    "dad",
    "brother",
    "sister",
    "manager",
    "friend",
    "friends",
    "family",
    "s",
    "is",
    "are",
    "was",
    "were",
    "label",
    "company",
    "agency",
    "studio",
    "firm",
    "organisation",
    "organization",
    "charity",
    "venue",
    "promoter",
    "publisher",
    "distributor",
    "play",
    "played",
    "playing",
    "plays",
    "perform",
    "performed",
    "performing",
    "recorded",
    "record",
    "recording",
    "streaming",
    "stream",
    "streamed",
    "broadcast",
    "going",
    "go",
    "went",
    "concert",
    "show",
    "shows",
    "album",
    "gig",
    "set",
    "sing",
    "sang",
    "singing",
    "d",
    "would",
    "could",
    "should",
    "might",
    "ll",
    "gonna",
    "wanna",
    "ao",
    "al",
    "dal",
    "del",
    "gravado",
    "grabado",
    "show",
    "could",
    "lives",
];

/// Words near a bare preposition that make it about travel, the past or the
/// future rather than where the sender lives.
const TRAVEL: &[&str] = &[
    "tour",
    "toured",
    "touring",
    "tours",
    "tournee",
    "turne",
    "turnen",
    "gira",
    "played",
    "play",
    "playing",
    "gig",
    "gigs",
    "show",
    "shows",
    "concert",
    "concerts",
    "festival",
    "festivals",
    "visited",
    "visit",
    "visiting",
    "trip",
    "trips",
    "vacation",
    "holiday",
    "holidays",
    "flew",
    "flight",
    "flying",
    "fly",
    "travel",
    "traveled",
    "travelled",
    "traveling",
    "travelling",
    "recorded",
    "recording",
    "born",
    "studied",
    "stayed",
    "was",
    "were",
    "been",
    "had",
    "went",
    "will",
    "ll",
    "going",
    "gonna",
    "next",
    "last",
    "viagem",
    "viajei",
    "ferias",
    "vacaciones",
    "viaje",
    "voyage",
    "vacances",
    "reise",
    "urlaub",
    "konzert",
    "gespielt",
    "tocamos",
    "toquei",
    "tocando",
    "nasci",
    "naci",
    "nacido",
    "geboren",
    "nato",
    "nata",
    "back",
    "return",
    "returned",
    "came",
    "away",
    "far",
    "email",
    "message",
    "mail",
    "call",
    "letter",
    "friend",
    "someone",
    "somebody",
    "released",
    "release",
    "label",
    "company",
    "agency",
    "manager",
    "team",
    "booked",
    "booking",
    "venue",
    "venues",
    "tickets",
    "ticket",
    "fans",
    "audience",
    "people",
    "clients",
    "artists",
    "artist",
    "colleague",
    "colleagues",
    "sister",
    "brother",
    "mother",
    "father",
    "mum",
    "mom",
    "dad",
    "parents",
    "family",
    "shooting",
    "filming",
];

/// Words after the place that move a bare statement into the past/future.
const TIME_AFTER: &[&str] = &[
    "last",
    "next",
    "ago",
    "yesterday",
    "tomorrow",
    "anymore",
    "before",
    "previously",
    "once",
    "someday",
    "soon",
    "eventually",
    "passado",
    "pasado",
    "dernier",
    "letzten",
    "letztes",
    "scorso",
    "vorig",
    "forra",
];

/// Negations right before a cue.
const NEGATORS: &[&str] = &[
    "not", "t", "never", "no", "nao", "nunca", "jamais", "nie", "niet", "inte", "ikke", "ei",
    "nicht", "non", "longer", "used", "не",
];

struct Cue {
    words: Vec<&'static str>,
    strength: f32,
    guard: Guard,
}

static CUE_INDEX: LazyLock<HashMap<&'static str, Vec<Cue>>> = LazyLock::new(|| {
    let mut map: HashMap<&'static str, Vec<Cue>> = HashMap::new();
    for (phrase, strength, guard) in CUES {
        let words: Vec<&'static str> = phrase.split(' ').collect();
        if let Some(first) = words.first() {
            map.entry(first).or_default().push(Cue {
                words,
                strength: *strength,
                guard: *guard,
            });
        }
    }
    map
});

/// A place statement found in the text.
#[derive(Clone, Copy, Debug)]
pub(super) struct Statement {
    pub country: CountryCode,
    pub confidence: f32,
    /// Line, then column: earlier statements win ties.
    order: (usize, usize),
}

/// A place with its optional qualifier ("Paris, TX", "Toronto, Canada").
struct Resolved {
    country: Option<CountryCode>,
    flags: u8,
    /// Index of the first token after the place (and qualifier).
    end: usize,
    /// Index of the first token after the place itself.
    name_end: usize,
    qualified: bool,
}

fn resolve(tokens: &[Token], i: usize) -> Option<Resolved> {
    let (p, n) = places::match_at(tokens, i)?;
    let mut r = Resolved {
        country: p.country,
        flags: p.flags,
        end: i + n,
        name_end: i + n,
        qualified: false,
    };
    let Some(next) = tokens.get(r.end) else {
        return Some(r);
    };
    if !matches!(next.sep, Sep::Space | Sep::Comma) {
        return Some(r);
    }
    let specific = p.kind == Kind::City || p.country.is_none();
    if let Some((q, qn)) = places::match_at(tokens, r.end) {
        if q.kind != Kind::City {
            if q.country.is_some()
                && (specific
                    || p.kind == Kind::Region && q.kind == Kind::Country && p.country == q.country)
            {
                r.country = q.country;
            }
            r.end += qn;
            r.qualified = true;
        }
    } else if (specific || p.kind == Kind::Region)
        && let Some(qc) = places::qualifier_abbrev(next, p.country)
    {
        if qc.is_some() && specific {
            r.country = qc;
        }
        r.end += 1;
        r.qualified = true;
    }
    Some(r)
}

fn in_list(list: &[&str], w: &str) -> bool {
    list.contains(&w)
}

/// Matches `cue` at `tokens[i..]`, allowing adverbs between its words;
/// returns the index after the cue.
fn match_cue(tokens: &[Token], i: usize, cue: &Cue) -> Option<usize> {
    let mut j = i;
    for (k, w) in cue.words.iter().enumerate() {
        if k > 0 {
            while tokens
                .get(j)
                .is_some_and(|t| t.norm != *w && in_list(ADVERBS, &t.norm) && t.sep != Sep::Stop)
            {
                j += 1;
            }
        }
        let t = tokens.get(j)?;
        if t.norm != *w || (k > 0 && matches!(t.sep, Sep::Stop)) {
            return None;
        }
        j += 1;
    }
    Some(j)
}

/// Previous tokens of the same clause, nearest first (stops at punctuation).
fn clause_before(tokens: &[Token], i: usize, max: usize) -> impl Iterator<Item = &Token> {
    let mut k = i;
    let mut open = true;
    std::iter::from_fn(move || {
        if !open || k == 0 {
            return None;
        }
        // The token at k is preceded by its separator; stop if it ends a clause.
        if matches!(tokens[k].sep, Sep::Stop | Sep::Comma) {
            open = false;
            return None;
        }
        k -= 1;
        Some(&tokens[k])
    })
    .take(max)
}

fn guard_ok(tokens: &[Token], start: usize, end: usize, cue: &Cue) -> bool {
    // Negations directly before the cue ("I don't live in", "não moro em").
    if clause_before(tokens, start, 2).any(|t| in_list(NEGATORS, &t.norm)) {
        return false;
    }
    match cue.guard {
        Guard::None => true,
        Guard::Person => clause_before(tokens, start, 2).all(|t| !in_list(PERSON_REJECT, &t.norm)),
        Guard::Weak => {
            let travel_before = clause_before(tokens, start, 7).any(|t| in_list(TRAVEL, &t.norm));
            let time_after = tokens
                .iter()
                .skip(end)
                .take(4)
                .take_while(|t| t.sep != Sep::Stop)
                .any(|t| {
                    in_list(TIME_AFTER, &t.norm)
                        || (t.norm.len() == 4 && t.norm.chars().all(|c| c.is_ascii_digit()))
                });
            !travel_before && !time_after
        }
    }
}

/// Statements introduced by cue phrases in the token stream.
fn cue_statements(tokens: &[Token], out: &mut Vec<Statement>) {
    // Ends of cues rejected by their guard ("used to live in"): the bare
    // preposition ending at the same place must not count either.
    let mut rejected_ends: Vec<usize> = Vec::new();
    for i in 0..tokens.len() {
        let Some(cues) = CUE_INDEX.get(tokens[i].norm.as_str()) else {
            continue;
        };
        for cue in cues {
            let Some(end) = match_cue(tokens, i, cue) else {
                continue;
            };
            if cue.guard == Guard::Weak && rejected_ends.contains(&end) {
                continue;
            }
            if !guard_ok(tokens, i, end, cue) {
                rejected_ends.push(end);
                continue;
            }
            // The place, possibly after an article or two.
            let mut found = None;
            for p in end..end + 3 {
                let Some(t) = tokens.get(p) else { break };
                if matches!(t.sep, Sep::Stop) {
                    break;
                }
                if let Some(r) = resolve(tokens, p) {
                    found = Some(r);
                    break;
                }
                if !in_list(FILLERS, &t.norm) {
                    break;
                }
            }
            let Some(r) = found else { continue };
            let Some(country) = r.country else { continue };
            if r.flags & flag::NAME_LIKE != 0 && !name_like_ok(tokens, &r, cue.strength) {
                continue;
            }
            let after = tokens.get(r.end).map(|t| t.norm.as_str());
            if matches!(after, Some("anymore" | "anywhere")) {
                continue;
            }
            out.push(Statement {
                country,
                confidence: cue.strength,
                order: (tokens[i].line, i),
            });
        }
    }
}

/// "Jordan", "Paris", "India" count only after a clear cue and when not
/// followed directly by a capitalised word ("Paris Hilton", "Jordan Smith").
fn name_like_ok(tokens: &[Token], r: &Resolved, strength: f32) -> bool {
    if strength < ORIGIN {
        return false;
    }
    if r.qualified {
        return true;
    }
    match tokens.get(r.name_end) {
        // "Chad's old band": a possessive makes it a person.
        Some(t) if t.sep == Sep::Space && t.norm == "s" => false,
        Some(t) if t.sep == Sep::Space && t.upper_initial => {
            places::is_place_start(tokens, r.name_end)
        }
        _ => true,
    }
}

/// Labels of a "Country: Brazil" line, folded.
const LABELS: &[&str] = &[
    "country",
    "country of residence",
    "location",
    "residence",
    "based in",
    "city",
    "home",
    "where are you based",
    "where are you located",
    "pais",
    "pais de residencia",
    "localizacao",
    "localidade",
    "cidade",
    "ciudad",
    "ubicacion",
    "residencia",
    "pays",
    "pays de residence",
    "ville",
    "lieu",
    "localisation",
    "land",
    "wohnort",
    "standort",
    "ort",
    "wohnland",
    "paese",
    "nazione",
    "citta",
    "luogo",
    "residenza",
    "woonplaats",
    "plaats",
    "stad",
    "bostadsort",
    "hemort",
    "bopael",
    "maa",
    "kotimaa",
    "asuinpaikka",
    "kaupunki",
    "kraj",
    "miasto",
    "страна",
    "город",
    "країна",
    "місто",
    "国",
    "国名",
    "居住国",
    "居住地",
    "所在地",
    "お住まい",
    "국가",
    "거주지",
    "거주 국가",
    "国家",
    "所在国家",
    "城市",
];

fn label_value(line: &str) -> Option<&str> {
    let (label, value) = line.split_once([':', '：'])?;
    let label = places::key(label.trim().trim_start_matches(['*', '-', '•']));
    if label.is_empty() || !LABELS.contains(&label.as_str()) {
        return None;
    }
    Some(value)
}

fn label_statement(line: &str, order: (usize, usize)) -> Option<Statement> {
    let value = label_value(line)?;
    if let Some((country, _)) = cjk_places(value).next() {
        return Some(Statement {
            country,
            confidence: LABEL,
            order,
        });
    }
    let tokens = text::tokenize(value);
    let mut first = None;
    let mut i = 0;
    while i < tokens.len() {
        if let Some(r) = resolve(&tokens, i) {
            if let Some(c) = r.country {
                // A country name, or a qualified city, is decisive.
                let is_country =
                    places::match_at(&tokens, i).is_some_and(|(p, _)| p.kind != Kind::City);
                if is_country || r.qualified {
                    return Some(Statement {
                        country: c,
                        confidence: LABEL,
                        order,
                    });
                }
                first.get_or_insert(c);
            }
            i = r.end;
        } else {
            i += 1;
        }
    }
    first.map(|country| Statement {
        country,
        confidence: LABEL,
        order,
    })
}

/// A short line made only of places: "Lisboa, Portugal", "Nashville, TN 37203".
fn signature_statement(line: &str, order: (usize, usize)) -> Option<Statement> {
    let tokens = text::tokenize(line);
    if !(2..=8).contains(&tokens.len()) {
        return None;
    }
    let mut i = 0;
    let mut units = 0;
    let mut country = None;
    let mut qualified = false;
    while i < tokens.len() {
        if tokens[i].norm.chars().all(|c| c.is_ascii_digit()) {
            i += 1;
            continue;
        }
        let r = resolve(&tokens, i)?;
        if r.flags & flag::NAME_LIKE != 0 && units == 0 && !r.qualified {
            return None;
        }
        match (country, r.country) {
            (None, c) => country = c,
            (Some(a), Some(b)) if a != b => return None,
            _ => {}
        }
        qualified |= r.qualified;
        units += 1;
        i = r.end;
    }
    if units >= 2 || qualified {
        country.map(|country| Statement {
            country,
            confidence: SIGNATURE,
            order,
        })
    } else {
        None
    }
}

const CJK_SUFFIX: &[(&str, f32)] = &[
    ("に住んで", RESIDENCE),
    ("に住む", RESIDENCE),
    ("に在住", RESIDENCE),
    ("在住", RESIDENCE),
    ("に暮らして", RESIDENCE),
    ("で暮らして", RESIDENCE),
    ("を拠点に", BASED),
    ("に拠点", BASED),
    ("にいます", PRESENT),
    ("に居ます", PRESENT),
    ("にいる", PRESENT),
    ("に引っ越し", MOVED),
    ("へ引っ越し", MOVED),
    ("から来", ORIGIN),
    ("出身", ORIGIN),
    ("에 살고", RESIDENCE),
    ("에 살아", RESIDENCE),
    ("에 삽니다", RESIDENCE),
    ("에 살며", RESIDENCE),
    ("에서 살고", RESIDENCE),
    ("에서 살아", RESIDENCE),
    ("에 거주", RESIDENCE),
    ("에서 거주", RESIDENCE),
    ("에 있어", PRESENT),
    ("에 있습니다", PRESENT),
    ("에서 지내", PRESENT),
    ("에서 활동", BASED),
    ("으로 이사", MOVED),
    ("로 이사", MOVED),
    ("출신", ORIGIN),
];

const CJK_PREFIX: &[(&str, f32)] = &[
    ("居住在", RESIDENCE),
    ("生活在", RESIDENCE),
    ("定居在", RESIDENCE),
    ("住在", RESIDENCE),
    ("現住", RESIDENCE),
    ("现居", RESIDENCE),
    ("現居", RESIDENCE),
    ("我在", PRESENT),
    ("来自", ORIGIN),
    ("來自", ORIGIN),
];

/// CJK place names in `s`, with their byte offsets and lengths.
fn cjk_places(s: &str) -> impl Iterator<Item = (CountryCode, (usize, usize))> + '_ {
    places::CJK_PLACES.iter().flat_map(move |(name, alpha2)| {
        let cc: Option<CountryCode> = alpha2.parse().ok();
        s.match_indices(name)
            .filter_map(move |(idx, m)| cc.map(|c| (c, (idx, m.len()))))
    })
}

fn cjk_statements(line: &str, line_no: usize, out: &mut Vec<Statement>) {
    if line.is_ascii() {
        return;
    }
    for (country, (idx, len)) in cjk_places(line) {
        let before = &line[..idx];
        let after = &line[idx + len..];
        let strength = CJK_SUFFIX
            .iter()
            .filter(|(s, _)| after.starts_with(s))
            .chain(CJK_PREFIX.iter().filter(|(p, _)| before.ends_with(p)))
            .map(|(_, c)| *c)
            .fold(0.0_f32, f32::max);
        if strength > 0.0 {
            out.push(Statement {
                country,
                confidence: strength,
                order: (line_no, idx),
            });
        }
    }
}

/// All statements in the subject and the (already unquoted) body.
pub(super) fn statements(subject: &str, body: &str) -> Vec<Statement> {
    // The subject is line 0; a "." line keeps cues from running into the body.
    let combined = format!("{subject}\n.\n{body}");
    let mut out = Vec::new();
    let tokens = text::tokenize(&combined);
    cue_statements(&tokens, &mut out);
    for (n, line) in combined.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(s) = label_statement(trimmed, (n, 0)) {
            out.push(s);
        } else if let Some(s) = signature_statement(trimmed, (n, 0)) {
            out.push(s);
        }
        cjk_statements(trimmed, n, &mut out);
    }
    out
}

/// The best statement: the strongest cue, earliest on ties. Another equally
/// strong statement naming a different country lowers the confidence.
pub(super) fn best(statements: &[Statement]) -> Option<(CountryCode, f32)> {
    let best = statements.iter().copied().reduce(|a, b| {
        if b.confidence > a.confidence || (b.confidence == a.confidence && b.order < a.order) {
            b
        } else {
            a
        }
    })?;
    let contested = statements
        .iter()
        .any(|s| s.country != best.country && s.confidence >= best.confidence - 0.05);
    let confidence = if contested {
        best.confidence * 0.8
    } else {
        best.confidence
    };
    Some((best.country, confidence))
}
