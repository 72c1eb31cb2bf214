//! Place-name tables: country names (celes English names and aliases, plus
//! endonyms and other-language names), regions and major cities, and a small
//! CJK table. Keys are folded (see [`super::text::fold`]) and space-joined.

use std::collections::HashMap;
use std::sync::LazyLock;

use celes::LookupTable;

use super::CountryCode;
use super::text::{self, Token};

/// What kind of place a name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Country,
    Region,
    City,
}

/// Extra matching conditions.
pub(super) mod flag {
    /// Also a common first name ("Jordan", "Chad", "Paris"): needs a clear
    /// cue and must not be followed directly by a capitalised word.
    pub const NAME_LIKE: u8 = 1;
    /// Only when written in capitals ("US", "LA").
    pub const UPPER_ONLY: u8 = 2;
    /// Only when capitalised ("Turkey", "Reunion").
    pub const CAPITALISED: u8 = 4;
}

/// A known place name.
#[derive(Clone, Copy, Debug)]
pub(super) struct Place {
    /// `None` for names that are genuinely ambiguous between countries
    /// ("Georgia", "Victoria", "Cali"); they still consume tokens.
    pub country: Option<CountryCode>,
    pub kind: Kind,
    pub flags: u8,
}

/// Names in languages other than English (and common English variants),
/// for the countries most likely in our audience.
const COUNTRY_NAMES: &[(&str, &[&str])] = &[
    (
        "US",
        &[
            "usa",
            "us",
            "u s",
            "u s a",
            "united states",
            "estados unidos",
            "eua",
            "eeuu",
            "ee uu",
            "etats unis",
            "vereinigte staaten",
            "stati uniti",
            "verenigde staten",
            "forenta staterna",
            "yhdysvallat",
            "amerika",
            "stany zjednoczone",
            "сша",
        ],
    ),
    ("CA", &["kanada", "canada"]),
    (
        "GB",
        &[
            "uk",
            "u k",
            "britain",
            "great britain",
            "reino unido",
            "royaume uni",
            "vereinigtes konigreich",
            "regno unito",
            "verenigd koninkrijk",
            "storbritannien",
            "inglaterra",
            "angleterre",
            "inghilterra",
            "engeland",
            "grossbritannien",
            "gran bretana",
            "gran bretagna",
            "escocia",
            "ecosse",
            "schottland",
            "scozia",
            "schotland",
            "wales",
            "pais de gales",
            "pays de galles",
            "iso britannia",
            "wielka brytania",
        ],
    ),
    (
        "IE",
        &["irlanda", "irlande", "irland", "ierland", "eire", "irlanti"],
    ),
    ("AU", &["australien", "australie", "australia", "aussie"]),
    (
        "NZ",
        &[
            "nueva zelanda",
            "nova zelandia",
            "nouvelle zelande",
            "neuseeland",
            "nuova zelanda",
            "nieuw zeeland",
            "nya zeeland",
            "new zealand",
            "aotearoa",
            "uusi seelanti",
        ],
    ),
    (
        "DE",
        &[
            "deutschland",
            "alemanha",
            "alemania",
            "allemagne",
            "germania",
            "duitsland",
            "tyskland",
            "saksa",
            "niemcy",
            "германия",
            "германии",
            "німеччина",
        ],
    ),
    (
        "FR",
        &[
            "franca",
            "francia",
            "frankreich",
            "frankrijk",
            "frankrike",
            "ranska",
            "francja",
        ],
    ),
    (
        "ES",
        &[
            "espanha",
            "espana",
            "espagne",
            "spanien",
            "spagna",
            "spanje",
            "espanja",
            "hiszpania",
        ],
    ),
    (
        "IT",
        &["italia", "italie", "italien", "italie", "wlochy", "italija"],
    ),
    (
        "NL",
        &[
            "nederland",
            "holland",
            "holanda",
            "hollande",
            "paises baixos",
            "paises bajos",
            "pays bas",
            "niederlande",
            "paesi bassi",
            "nederlanderna",
            "alankomaat",
            "holandia",
        ],
    ),
    (
        "BE",
        &[
            "belgica", "belgique", "belgien", "belgio", "belgie", "belgia",
        ],
    ),
    (
        "SE",
        &[
            "sverige", "suecia", "suede", "schweden", "svezia", "zweden", "ruotsi", "szwecja",
        ],
    ),
    (
        "NO",
        &[
            "norge",
            "noreg",
            "noruega",
            "norvege",
            "norwegen",
            "norvegia",
            "noorwegen",
            "norja",
        ],
    ),
    (
        "DK",
        &[
            "danmark",
            "dinamarca",
            "danemark",
            "danimarca",
            "denemarken",
            "tanska",
            "dania",
        ],
    ),
    (
        "FI",
        &["suomi", "finlandia", "finlande", "finnland", "finland"],
    ),
    (
        "BR",
        &[
            "brasil",
            "bresil",
            "brasilien",
            "brasile",
            "brazilie",
            "brazylia",
        ],
    ),
    ("MX", &["mexique", "mexiko", "messico", "meksyk"]),
    ("AR", &["argentine", "argentinien", "argentinie"]),
    (
        "JP",
        &[
            "japao", "japon", "giappone", "nihon", "nippon", "japani", "japonia",
        ],
    ),
    (
        "KR",
        &[
            "korea",
            "south korea",
            "coreia do sul",
            "coreia",
            "corea del sur",
            "coree du sud",
            "sudkorea",
            "corea del sud",
            "zuid korea",
            "sydkorea",
            "etela korea",
            "hanguk",
        ],
    ),
    ("IN", &["indien", "inde", "bharat", "indie"]),
    (
        "ZA",
        &[
            "africa do sul",
            "sudafrica",
            "afrique du sud",
            "sudafrika",
            "zuid afrika",
            "sydafrika",
            "suid afrika",
            "etela afrikka",
        ],
    ),
    ("NG", &["nigeria"]),
    ("KE", &["quenia", "kenia"]),
    ("PT", &["portugal", "portogallo", "portugalia"]),
    (
        "CH",
        &[
            "suica",
            "suiza",
            "suisse",
            "schweiz",
            "svizzera",
            "zwitserland",
            "sveitsi",
            "szwajcaria",
        ],
    ),
    (
        "AT",
        &[
            "osterreich",
            "oesterreich",
            "autriche",
            "oostenrijk",
            "osterrike",
            "itavalta",
        ],
    ),
    (
        "PL",
        &["polska", "polonia", "pologne", "polen", "puola", "polsce"],
    ),
    ("CO", &["colombie", "kolumbien"]),
    ("CL", &["chili"]),
    ("PE", &["perou"]),
    ("CN", &["chine", "cina", "zhongguo", "chiny"]),
    ("TW", &["taiwan", "formosa"]),
    ("HK", &["hong kong", "hongkong"]),
    (
        "RU",
        &[
            "russia",
            "rusia",
            "russie",
            "russland",
            "rusland",
            "ryssland",
            "venaja",
            "rosja",
            "россия",
            "россии",
        ],
    ),
    (
        "UA",
        &[
            "ucrania",
            "ucraina",
            "oekraine",
            "ukraina",
            "україна",
            "україні",
            "украина",
            "украине",
        ],
    ),
    (
        "GR",
        &[
            "grecia",
            "grece",
            "griechenland",
            "griekenland",
            "grekland",
            "kreikka",
        ],
    ),
    (
        "TR",
        &[
            "turquia", "turquie", "turkei", "turchia", "turkije", "turkiet", "turkiye",
        ],
    ),
    (
        "CZ",
        &[
            "czech republic",
            "tchequia",
            "tschechien",
            "republica checa",
            "tchequie",
            "cechia",
        ],
    ),
    (
        "HU",
        &[
            "hungria",
            "ungarn",
            "hongrie",
            "ungheria",
            "hongarije",
            "ungern",
        ],
    ),
    ("IS", &["islandia", "islande", "ijsland"]),
    ("EG", &["egito", "egipto", "egypte", "agypten", "egitto"]),
    (
        "MA",
        &["marrocos", "marruecos", "maroc", "marokko", "marocco"],
    ),
    ("SG", &["singapura", "singapur"]),
    ("PH", &["filipinas", "philippinen", "filippine"]),
    ("TH", &["tailandia", "thailande", "thailand"]),
    ("ID", &["indonesie", "indonesien"]),
    ("LU", &["luxemburgo", "luxemburg"]),
    ("IL", &["israel"]),
    (
        "AE",
        &[
            "uae",
            "emirados arabes unidos",
            "emiratos arabes unidos",
            "emirats arabes unis",
        ],
    ),
    ("VE", &["venezuela"]),
    ("BO", &["bolivia"]),
    (
        "RO",
        &["romenia", "rumania", "roumanie", "rumanien", "romania"],
    ),
    ("HR", &["croacia", "croatie", "kroatien", "hrvatska"]),
    ("RS", &["serbia", "serbie", "serbien", "srbija"]),
];

/// Sub-national regions: states, provinces, constituent countries.
const REGIONS: &[(&str, &[&str])] = &[
    (
        "US",
        &[
            "alabama",
            "alaska",
            "arizona",
            "arkansas",
            "california",
            "colorado",
            "connecticut",
            "delaware",
            "florida",
            "hawaii",
            "idaho",
            "illinois",
            "indiana",
            "iowa",
            "kansas",
            "kentucky",
            "louisiana",
            "maine",
            "maryland",
            "massachusetts",
            "michigan",
            "minnesota",
            "mississippi",
            "missouri",
            "montana",
            "nebraska",
            "nevada",
            "new hampshire",
            "new jersey",
            "new mexico",
            "north carolina",
            "north dakota",
            "ohio",
            "oklahoma",
            "oregon",
            "pennsylvania",
            "rhode island",
            "south carolina",
            "south dakota",
            "tennessee",
            "texas",
            "utah",
            "vermont",
            "virginia",
            "west virginia",
            "wisconsin",
            "wyoming",
            "washington state",
            "washington dc",
            "washington d c",
            "dc",
        ],
    ),
    (
        "CA",
        &[
            "ontario",
            "quebec",
            "british columbia",
            "alberta",
            "manitoba",
            "saskatchewan",
            "nova scotia",
            "new brunswick",
            "newfoundland",
            "prince edward island",
            "yukon",
        ],
    ),
    (
        "AU",
        &[
            "new south wales",
            "queensland",
            "tasmania",
            "western australia",
            "south australia",
        ],
    ),
    (
        "GB",
        &[
            "england",
            "scotland",
            "northern ireland",
            "cornwall",
            "yorkshire",
        ],
    ),
    (
        "BR",
        &[
            "minas gerais",
            "bahia",
            "pernambuco",
            "rio grande do sul",
            "santa catarina",
            "ceara",
        ],
    ),
    (
        "DE",
        &["bayern", "bavaria", "nordrhein westfalen", "sachsen"],
    ),
    (
        "ES",
        &[
            "cataluna",
            "catalunya",
            "catalonia",
            "andalucia",
            "galicia",
            "pais vasco",
        ],
    ),
    (
        "IT",
        &[
            "sicilia",
            "sicily",
            "toscana",
            "tuscany",
            "sardegna",
            "lombardia",
        ],
    ),
];

/// Major cities, with common local spellings.
const CITIES: &[(&str, &[&str])] = &[
    (
        "US",
        &[
            "nashville",
            "los angeles",
            "la",
            "new york",
            "new york city",
            "nyc",
            "brooklyn",
            "manhattan",
            "austin",
            "atlanta",
            "chicago",
            "seattle",
            "portland",
            "san francisco",
            "oakland",
            "boston",
            "philadelphia",
            "detroit",
            "memphis",
            "new orleans",
            "miami",
            "denver",
            "minneapolis",
            "las vegas",
            "houston",
            "dallas",
            "san diego",
            "phoenix",
            "honolulu",
            "baltimore",
            "pittsburgh",
            "muscle shoals",
            "brooklyn ny",
            "nova york",
            "nueva york",
            "los angeles ca",
            "san jose",
            "sacramento",
            "salt lake city",
            "st louis",
            "saint louis",
            "kansas city",
            "cleveland",
            "orlando",
        ],
    ),
    (
        "CA",
        &[
            "toronto",
            "montreal",
            "vancouver",
            "calgary",
            "ottawa",
            "edmonton",
            "winnipeg",
            "halifax",
            "quebec city",
            "ville de quebec",
        ],
    ),
    (
        "GB",
        &[
            "london",
            "londres",
            "londra",
            "londen",
            "manchester",
            "liverpool",
            "glasgow",
            "edinburgh",
            "birmingham",
            "bristol",
            "leeds",
            "sheffield",
            "newcastle",
            "brighton",
            "cardiff",
            "belfast",
            "nottingham",
            "oxford",
            "cambridge",
            "londyn",
        ],
    ),
    ("IE", &["dublin", "dublino", "cork", "galway", "limerick"]),
    (
        "DE",
        &[
            "berlin",
            "berlim",
            "berlino",
            "hamburg",
            "hamburgo",
            "munich",
            "munchen",
            "muenchen",
            "cologne",
            "koln",
            "koeln",
            "colonia",
            "frankfurt",
            "stuttgart",
            "dusseldorf",
            "duesseldorf",
            "leipzig",
            "dresden",
            "hannover",
            "hanover",
            "bremen",
            "nuremberg",
            "nurnberg",
            "nuernberg",
            "mannheim",
            "berlinie",
        ],
    ),
    (
        "AT",
        &[
            "vienna",
            "wien",
            "viena",
            "vienne",
            "graz",
            "salzburg",
            "linz",
            "innsbruck",
        ],
    ),
    (
        "CH",
        &[
            "zurich", "zuerich", "geneva", "geneve", "genf", "ginevra", "basel", "bale", "bern",
            "berne", "lausanne",
        ],
    ),
    (
        "FR",
        &[
            "paris",
            "lyon",
            "lyons",
            "marseille",
            "marseilles",
            "toulouse",
            "bordeaux",
            "lille",
            "nantes",
            "strasbourg",
            "montpellier",
            "rennes",
            "parigi",
            "parijs",
        ],
    ),
    (
        "BE",
        &[
            "brussels",
            "bruxelles",
            "brussel",
            "bruselas",
            "antwerp",
            "antwerpen",
            "anvers",
            "ghent",
            "gent",
            "gand",
            "liege",
            "bruges",
            "brugge",
        ],
    ),
    (
        "NL",
        &[
            "amsterdam",
            "rotterdam",
            "the hague",
            "den haag",
            "utrecht",
            "eindhoven",
            "groningen",
        ],
    ),
    (
        "IT",
        &[
            "milan", "milano", "milao", "rome", "roma", "naples", "napoli", "turin", "torino",
            "florence", "firenze", "bologna", "venice", "venezia", "genoa", "genova", "palermo",
        ],
    ),
    (
        "ES",
        &[
            "madrid",
            "barcelona",
            "valencia",
            "seville",
            "sevilla",
            "bilbao",
            "malaga",
            "zaragoza",
            "palma",
            "ibiza",
        ],
    ),
    (
        "PT",
        &[
            "lisbon", "lisboa", "lisbonne", "lissabon", "lisbona", "porto", "oporto", "coimbra",
            "braga", "faro",
        ],
    ),
    (
        "SE",
        &[
            "stockholm",
            "estocolmo",
            "gothenburg",
            "goteborg",
            "malmo",
            "uppsala",
        ],
    ),
    (
        "NO",
        &["oslo", "bergen", "trondheim", "stavanger", "tromso"],
    ),
    (
        "DK",
        &[
            "copenhagen",
            "kobenhavn",
            "kopenhagen",
            "copenhague",
            "aarhus",
            "arhus",
            "odense",
        ],
    ),
    (
        "FI",
        &[
            "helsinki",
            "helsingfors",
            "tampere",
            "turku",
            "espoo",
            "helsingissa",
            "tampereella",
            "turussa",
            "espoossa",
            "suomessa",
        ],
    ),
    (
        "PL",
        &[
            "warsaw",
            "warszawa",
            "warszawie",
            "krakow",
            "krakowie",
            "cracow",
            "wroclaw",
            "gdansk",
            "poznan",
        ],
    ),
    ("CZ", &["prague", "praha", "praga"]),
    ("HU", &["budapest"]),
    ("GR", &["athens", "atenas", "athina"]),
    ("TR", &["istanbul", "ankara"]),
    (
        "RU",
        &[
            "moscow",
            "moscou",
            "moskau",
            "moskva",
            "москва",
            "москве",
            "saint petersburg",
            "st petersburg",
            "петербурге",
        ],
    ),
    (
        "UA",
        &[
            "kyiv",
            "kiev",
            "lviv",
            "kharkiv",
            "odesa",
            "odessa",
            "київ",
            "києві",
            "киеве",
            "львові",
            "харкові",
        ],
    ),
    (
        "BR",
        &[
            "sao paulo",
            "sampa",
            "rio de janeiro",
            "rio",
            "belo horizonte",
            "bh",
            "porto alegre",
            "curitiba",
            "recife",
            "salvador",
            "brasilia",
            "fortaleza",
            "florianopolis",
            "floripa",
            "goiania",
            "belem",
            "manaus",
            "campinas",
            "niteroi",
        ],
    ),
    (
        "MX",
        &[
            "mexico city",
            "ciudad de mexico",
            "cdmx",
            "guadalajara",
            "monterrey",
            "tijuana",
            "puebla",
            "oaxaca",
        ],
    ),
    ("AR", &["buenos aires", "cordoba", "rosario", "mendoza"]),
    ("CO", &["bogota", "medellin", "barranquilla", "cartagena"]),
    ("CL", &["santiago", "santiago de chile", "valparaiso"]),
    ("PE", &["lima", "cusco", "cuzco", "arequipa"]),
    ("UY", &["montevideo"]),
    ("EC", &["quito", "guayaquil"]),
    ("CU", &["havana", "la habana"]),
    ("PR", &["san juan"]),
    (
        "JP",
        &[
            "tokyo", "toquio", "tokio", "osaka", "kyoto", "yokohama", "nagoya", "fukuoka",
            "sapporo", "kobe",
        ],
    ),
    ("KR", &["seoul", "seul", "busan", "incheon"]),
    (
        "CN",
        &[
            "beijing",
            "pekin",
            "peking",
            "shanghai",
            "shenzhen",
            "guangzhou",
            "chengdu",
        ],
    ),
    ("TW", &["taipei", "kaohsiung"]),
    (
        "IN",
        &[
            "mumbai",
            "bombay",
            "delhi",
            "new delhi",
            "bangalore",
            "bengaluru",
            "chennai",
            "kolkata",
            "hyderabad",
            "pune",
            "goa",
        ],
    ),
    (
        "ZA",
        &[
            "johannesburg",
            "joburg",
            "jozi",
            "cape town",
            "kaapstad",
            "durban",
            "pretoria",
        ],
    ),
    ("NG", &["lagos", "abuja", "ibadan", "port harcourt"]),
    ("KE", &["nairobi", "mombasa"]),
    ("GH", &["accra", "kumasi"]),
    ("EG", &["cairo"]),
    ("MA", &["casablanca", "marrakech", "marrakesh"]),
    (
        "AU",
        &[
            "sydney",
            "melbourne",
            "brisbane",
            "perth",
            "adelaide",
            "canberra",
            "hobart",
            "gold coast",
            "byron bay",
        ],
    ),
    ("NZ", &["auckland", "wellington", "christchurch", "dunedin"]),
    ("IL", &["tel aviv", "jerusalem"]),
    ("AE", &["dubai", "abu dhabi"]),
    ("TH", &["bangkok"]),
    ("ID", &["jakarta", "bali"]),
    ("PH", &["manila"]),
    ("VN", &["hanoi", "ho chi minh city", "saigon"]),
    ("MY", &["kuala lumpur"]),
];

/// Names shared by several countries or with common other meanings: they
/// consume tokens but give no country on their own.
const AMBIGUOUS: &[&str] = &[
    "georgia", "victoria", "cali", "jersey", "guinea", "samoa", "congo",
];

/// Also common personal names.
const NAME_LIKE: &[&str] = &[
    "jordan",
    "chad",
    "india",
    "paris",
    "florence",
    "austin",
    "phoenix",
    "sydney",
    "adelaide",
    "israel",
    "kenya",
    "dallas",
    "salvador",
    "roma",
    "orlando",
    "lima",
    "washington",
    "regina",
    "santiago",
    "china",
    "brooklyn",
    "lincoln",
    "devon",
    "chelsea",
    "madison",
    "charlotte",
    "savannah",
    "dakota",
    "aurora",
    "virginia",
    "carolina",
    "georgia",
    "holland",
    "victoria",
];

/// Only written in capitals: otherwise a common word.
const UPPER_ONLY: &[&str] = &["us", "la", "u s", "u s a", "u k", "bh", "dc"];

/// Lower-case common words.
const CAPITALISED: &[&str] = &[
    "turkey", "reunion", "chile", "rio", "porto", "palma", "sampa", "faro", "bern", "lagos", "goa",
    "lima", "cuba", "peru", "malta", "man", "gent",
];

/// Two-letter state/province abbreviations used as qualifiers
/// ("Nashville, TN", "London, ON").
const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC",
];
const CA_PROVINCES: &[&str] = &[
    "ON", "QC", "BC", "AB", "MB", "SK", "NS", "NB", "NL", "PE", "YT",
];
const AU_STATES: &[&str] = &["NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT"];

/// Place names in CJK scripts (no word boundaries, matched as substrings).
pub(super) const CJK_PLACES: &[(&str, &str)] = &[
    ("日本", "JP"),
    ("東京都", "JP"),
    ("東京", "JP"),
    ("大阪", "JP"),
    ("京都", "JP"),
    ("横浜", "JP"),
    ("名古屋", "JP"),
    ("福岡", "JP"),
    ("札幌", "JP"),
    ("神戸", "JP"),
    ("沖縄", "JP"),
    ("일본", "JP"),
    ("도쿄", "JP"),
    ("韓国", "KR"),
    ("韓國", "KR"),
    ("韩国", "KR"),
    ("한국", "KR"),
    ("대한민국", "KR"),
    ("서울", "KR"),
    ("부산", "KR"),
    ("ソウル", "KR"),
    ("首尔", "KR"),
    ("中国", "CN"),
    ("中國", "CN"),
    ("중국", "CN"),
    ("北京", "CN"),
    ("上海", "CN"),
    ("深圳", "CN"),
    ("广州", "CN"),
    ("廣州", "CN"),
    ("成都", "CN"),
    ("台湾", "TW"),
    ("臺灣", "TW"),
    ("台灣", "TW"),
    ("대만", "TW"),
    ("台北", "TW"),
    ("臺北", "TW"),
    ("高雄", "TW"),
    ("香港", "HK"),
    ("홍콩", "HK"),
    ("新加坡", "SG"),
    ("シンガポール", "SG"),
    ("アメリカ", "US"),
    ("米国", "US"),
    ("美国", "US"),
    ("美國", "US"),
    ("미국", "US"),
    ("ニューヨーク", "US"),
    ("뉴욕", "US"),
    ("ロサンゼルス", "US"),
    ("로스앤젤레스", "US"),
    ("紐約", "US"),
    ("纽约", "US"),
    ("ナッシュビル", "US"),
    ("イギリス", "GB"),
    ("英国", "GB"),
    ("英國", "GB"),
    ("영국", "GB"),
    ("ロンドン", "GB"),
    ("런던", "GB"),
    ("伦敦", "GB"),
    ("倫敦", "GB"),
    ("カナダ", "CA"),
    ("캐나다", "CA"),
    ("加拿大", "CA"),
    ("トロント", "CA"),
    ("토론토", "CA"),
    ("ドイツ", "DE"),
    ("독일", "DE"),
    ("德国", "DE"),
    ("德國", "DE"),
    ("ベルリン", "DE"),
    ("베를린", "DE"),
    ("柏林", "DE"),
    ("フランス", "FR"),
    ("프랑스", "FR"),
    ("法国", "FR"),
    ("法國", "FR"),
    ("パリ", "FR"),
    ("파리", "FR"),
    ("巴黎", "FR"),
    ("ブラジル", "BR"),
    ("브라질", "BR"),
    ("巴西", "BR"),
    ("オーストラリア", "AU"),
    ("호주", "AU"),
    ("澳大利亚", "AU"),
    ("澳洲", "AU"),
    ("シドニー", "AU"),
    ("スペイン", "ES"),
    ("스페인", "ES"),
    ("西班牙", "ES"),
    ("イタリア", "IT"),
    ("이탈리아", "IT"),
    ("意大利", "IT"),
    ("オランダ", "NL"),
    ("네덜란드", "NL"),
    ("荷兰", "NL"),
    ("スウェーデン", "SE"),
    ("스웨덴", "SE"),
    ("メキシコ", "MX"),
    ("멕시코", "MX"),
    ("墨西哥", "MX"),
    ("インド", "IN"),
    ("인도", "IN"),
    ("印度", "IN"),
    ("ロシア", "RU"),
    ("러시아", "RU"),
    ("俄罗斯", "RU"),
    ("ポルトガル", "PT"),
    ("포르투갈", "PT"),
    ("葡萄牙", "PT"),
    ("アイルランド", "IE"),
    ("아일랜드", "IE"),
    ("ニュージーランド", "NZ"),
    ("뉴질랜드", "NZ"),
    ("スイス", "CH"),
    ("스위스", "CH"),
    ("瑞士", "CH"),
];

fn code(s: &str) -> Option<CountryCode> {
    s.parse().ok()
}

/// Splits a celes CamelCase alias ("UnitedKingdom") into words.
fn split_camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && c.is_uppercase() {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

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

static TABLE: LazyLock<HashMap<String, Place>> = LazyLock::new(build);

fn build() -> HashMap<String, Place> {
    let mut map: HashMap<String, Place> = HashMap::new();
    let mut put = |name: &str, country: Option<CountryCode>, kind: Kind| {
        let k = key(name);
        if !k.is_empty() {
            map.insert(
                k,
                Place {
                    country,
                    kind,
                    flags: 0,
                },
            );
        }
    };
    for (alpha2, names) in CITIES {
        for n in *names {
            put(n, code(alpha2), Kind::City);
        }
    }
    for (alpha2, names) in REGIONS {
        for n in *names {
            put(n, code(alpha2), Kind::Region);
        }
    }
    for c in celes::Country::get_countries() {
        let cc = code(c.alpha2);
        put(c.long_name, cc, Kind::Country);
        for alias in c.aliases.iter() {
            put(&split_camel(alias), cc, Kind::Country);
        }
    }
    for (alpha2, names) in COUNTRY_NAMES {
        for n in *names {
            put(n, code(alpha2), Kind::Country);
        }
    }
    // "New York" is both a state and a city; "Washington" both a state and DC.
    put("new york", code("US"), Kind::City);
    put("washington", code("US"), Kind::City);
    put("quebec", code("CA"), Kind::Region);
    put("mexico", code("MX"), Kind::Country);
    for n in AMBIGUOUS {
        put(n, None, Kind::Region);
    }
    let mut set_flag = |names: &[&str], f: u8| {
        for n in names {
            if let Some(p) = map.get_mut(&key(n)) {
                p.flags |= f;
            }
        }
    };
    set_flag(NAME_LIKE, flag::NAME_LIKE);
    set_flag(UPPER_ONLY, flag::UPPER_ONLY);
    set_flag(CAPITALISED, flag::CAPITALISED);
    map
}

/// Longest place name starting at `tokens[i]`; returns the place and the
/// number of tokens it spans.
pub(super) fn match_at(tokens: &[Token], i: usize) -> Option<(Place, usize)> {
    const MAX_WORDS: usize = 5;
    let first = tokens.get(i)?;
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
        if let Some(p) = TABLE.get(&k) {
            let span = &tokens[i..=i + n];
            let ok = (p.flags & flag::UPPER_ONLY == 0 || span.iter().all(|t| t.all_upper))
                && (p.flags & flag::CAPITALISED == 0 || first.upper_initial);
            if ok {
                best = Some((*p, n + 1));
            }
        }
    }
    best
}

/// Country named by an upper-case state/province/country abbreviation that
/// qualifies a city ("Nashville, TN", "London, ON", "Berlin, DE").
pub(super) fn qualifier_abbrev(
    tok: &Token,
    city_country: Option<CountryCode>,
) -> Option<Option<CountryCode>> {
    if !tok.all_upper || !(2..=3).contains(&tok.norm.len()) || !tok.norm.is_ascii() {
        return None;
    }
    let up = tok.norm.to_ascii_uppercase();
    let as_country = code(&up);
    if as_country.is_some() && as_country == city_country {
        return Some(as_country);
    }
    if US_STATES.contains(&up.as_str()) {
        return Some(code("US"));
    }
    if CA_PROVINCES.contains(&up.as_str()) {
        return Some(code("CA"));
    }
    if AU_STATES.contains(&up.as_str()) {
        return Some(code("AU"));
    }
    if as_country.is_some() {
        return Some(as_country);
    }
    // Unknown abbreviation ("SP", "RJ"): consumed, no override.
    Some(None)
}

/// Whether a table key is known (for tests and for the place-next check).
pub(super) fn is_place_start(tokens: &[Token], i: usize) -> bool {
    match_at(tokens, i).is_some()
}

#[cfg(test)]
pub(super) fn table_len() -> usize {
    TABLE.len()
}

#[cfg(test)]
pub(super) fn all_table_codes_valid() -> bool {
    COUNTRY_NAMES
        .iter()
        .chain(REGIONS)
        .chain(CITIES)
        .all(|(c, _)| code(c).is_some())
        && CJK_PLACES.iter().all(|(_, c)| code(c).is_some())
}
