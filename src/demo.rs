//! Demo data: realistic requests from several countries and languages,
//! sent through the real inbound pipeline into an empty database.

use anyhow::Result;
use concierge_access::Role;
use concierge_inbound::{Delivery, Inbound};
use concierge_store::{InboundSource, Store};

/// What people write, per language: roles (what they do in music),
/// subjects, opening messages (`{city}`, `{role}`, `{name}` filled in) and
/// follow-ups sent a little later on the same thread.
struct Texts {
    lang: &'static str,
    roles: &'static [&'static str],
    subjects: &'static [&'static str],
    bodies: &'static [&'static str],
    followups: &'static [&'static str],
}

const TEXTS: &[Texts] = &[
    Texts {
        lang: "en",
        roles: &[
            "singer",
            "drummer",
            "songwriter",
            "tour manager",
            "session guitarist",
            "sound engineer",
            "DJ",
            "producer",
            "bassist",
            "lighting tech",
        ],
        subjects: &[
            "Struggling after a long tour",
            "Need someone to talk to",
            "Looking for a therapist who gets musicians",
            "Can't sleep, can't stop worrying",
            "Help for a bandmate",
            "Burnt out and scared",
            "Where do I even start?",
            "Panic attacks before shows",
        ],
        bodies: &[
            "Hi, I'm a {role} based in {city}. Since we came off the road I've barely slept and I keep having panic attacks. I don't know where to start. Could you help me find someone to talk to?\n\n{name}",
            "Hello, I'm a {role} and I live in {city}. Money is tight and I can't afford therapy right now. Are there funds or programmes that could help someone like me?\n\n{name}",
            "Hey. {role} here, in {city}. I've been drinking more than I should to get through gigs and I'm scared of where this is going. Is there anyone who understands this industry?\n\n{name}",
            "Hi, I'm writing on behalf of our band's {role} in {city}. He isn't doing well and we don't know how to help him. What can we do?\n\n{name}",
            "Hello, I work as a {role} in {city}. After the festival season I feel completely empty and I've started to cancel everything. I'd like to talk to someone but I'm not sure how.\n\n{name}",
        ],
        followups: &[
            "Thank you for getting back to me. Tuesdays and Thursdays are best for me.",
            "Just checking in: I haven't heard back yet, and today is a hard day.",
            "Thanks so much, I called the line you sent and it helped. Could we still talk about longer-term support?",
        ],
    },
    Texts {
        lang: "pt",
        roles: &[
            "cantora",
            "baterista",
            "compositor",
            "produtora",
            "guitarrista",
            "técnico de som",
        ],
        subjects: &[
            "Preciso de ajuda para encontrar um psicólogo",
            "Não estou bem",
            "Ajuda depois da turnê",
            "Ansiedade antes dos shows",
        ],
        bodies: &[
            "Olá, sou {role} e moro em {city}. Estou passando por uma fase muito difícil depois da turnê e não consigo dormir. Vocês conseguem me indicar um psicólogo que entenda a vida de artista?\n\n{name}",
            "Oi, trabalho como {role} em {city}. Tenho tido crises de ansiedade antes de cada show e já cancelei duas datas. Não sei a quem pedir ajuda.\n\n{name}",
            "Bom dia, sou {role} e vivo em {city}. Não tenho dinheiro para terapia agora. Existe algum apoio para músicos?\n\n{name}",
        ],
        followups: &[
            "Obrigada pela resposta. Posso falar à tarde.",
            "Ainda não recebi retorno e hoje está sendo um dia difícil.",
        ],
    },
    Texts {
        lang: "es",
        roles: &[
            "guitarrista",
            "cantante",
            "mánager",
            "compositora",
            "baterista",
            "técnica de sonido",
        ],
        subjects: &[
            "Necesito hablar con alguien",
            "Ayuda para mi banda",
            "No puedo más",
            "Busco un terapeuta",
        ],
        bodies: &[
            "Hola, soy {role} y vivo en {city}. Las últimas semanas han sido muy duras. ¿Me pueden ayudar a encontrar un terapeuta?\n\n{name}",
            "Hola, trabajo como {role} en {city}. Uno de los chicos de la banda está pasando un momento muy difícil y no sé cómo ayudarlo. ¿Qué podemos hacer?\n\n{name}",
            "Buenas, soy {role}, de {city}. Desde la gira tengo ataques de pánico y no duermo. Necesito ayuda pero no sé por dónde empezar.\n\n{name}",
        ],
        followups: &[
            "Gracias por responder. Prefiero hablar por las mañanas.",
            "Sigo esperando noticias, hoy me siento peor.",
        ],
    },
    Texts {
        lang: "de",
        roles: &[
            "Schlagzeuger",
            "Sängerin",
            "Tontechniker",
            "Songwriterin",
            "Tourmanager",
        ],
        subjects: &[
            "Suche Unterstützung nach der Tour",
            "Mir geht es nicht gut",
            "Panikattacken vor Auftritten",
            "Hilfe für einen Bandkollegen",
        ],
        bodies: &[
            "Hallo, ich bin {role} und lebe in {city}. Seit der letzten Tour habe ich Panikattacken. Können Sie mir helfen, eine Therapeutin zu finden?\n\n{name}",
            "Guten Tag, ich arbeite als {role} in {city}. Ich bin völlig erschöpft und schlafe kaum noch. Gibt es jemanden, der sich mit der Musikbranche auskennt?\n\n{name}",
        ],
        followups: &[
            "Vielen Dank für die schnelle Antwort. Abends passt es mir am besten.",
            "Ich habe noch nichts gehört und es geht mir heute schlechter.",
        ],
    },
    Texts {
        lang: "fr",
        roles: &[
            "autrice-compositrice",
            "batteur",
            "chanteuse",
            "ingénieur du son",
            "régisseuse",
        ],
        subjects: &[
            "Besoin d'aide, je ne vais pas bien",
            "Je cherche un psy",
            "Épuisement après la tournée",
        ],
        bodies: &[
            "Bonjour, je suis {role} et j'habite à {city}. Je me sens épuisée et seule. Pouvez-vous m'orienter vers quelqu'un ?\n\n{name}",
            "Bonjour, je travaille comme {role} à {city}. Depuis la fin de la tournée je n'arrive plus à dormir et j'ai des crises d'angoisse. Je ne sais pas à qui m'adresser.\n\n{name}",
        ],
        followups: &[
            "Merci pour votre réponse. Je suis disponible le matin.",
            "Je n'ai pas encore de nouvelles, la journée est difficile.",
        ],
    },
    Texts {
        lang: "it",
        roles: &["cantante", "batterista", "cantautrice", "fonico"],
        subjects: &[
            "Cerco supporto psicologico",
            "Non sto bene",
            "Aiuto dopo il tour",
        ],
        bodies: &[
            "Ciao, sono {role} e vivo a {city}. Da mesi mi sento sopraffatta. Potete aiutarmi a trovare uno psicologo?\n\n{name}",
            "Buongiorno, lavoro come {role} a {city}. Dopo l'ultimo tour ho attacchi di panico e non riesco più a suonare. A chi posso rivolgermi?\n\n{name}",
        ],
        followups: &["Grazie della risposta, il pomeriggio per me va bene."],
    },
    Texts {
        lang: "nl",
        roles: &["zangeres", "drummer", "geluidstechnicus", "songwriter"],
        subjects: &["Hulp gezocht", "Het gaat niet goed met me"],
        bodies: &[
            "Hoi, ik ben {role} en ik woon in {city}. Ik zit niet lekker in mijn vel sinds de festivalzomer. Kunnen jullie me helpen iemand te vinden om mee te praten?\n\n{name}",
        ],
        followups: &["Dank je wel voor je antwoord. Ik ben 's avonds bereikbaar."],
    },
    Texts {
        lang: "sv",
        roles: &["trummis", "sångerska", "ljudtekniker"],
        subjects: &["Behöver hjälp", "Jag mår inte bra"],
        bodies: &[
            "Hej, jag är {role} och bor i {city}. Jag mår inte bra och behöver prata med någon. Kan ni hjälpa mig?\n\n{name}",
        ],
        followups: &["Tack för svaret. Jag kan prata på eftermiddagen."],
    },
    Texts {
        lang: "ja",
        roles: &["ベーシスト", "ボーカリスト", "ドラマー", "作曲家"],
        subjects: &[
            "カウンセリングについて相談したいです",
            "誰かに話を聞いてほしいです",
        ],
        bodies: &[
            "はじめまして。{city}在住の{role}です。ツアー後から気分が落ち込んでいて、誰かに相談したいです。よろしくお願いします。\n\n{name}",
            "こんにちは。{city}で{role}をしています。最近眠れず、ライブの前に強い不安を感じます。どこに相談すればいいでしょうか。\n\n{name}",
        ],
        followups: &["ご返信ありがとうございます。平日の夜なら話せます。"],
    },
];

/// Where demo requests come from: (country, language, cities as written
/// in that language, given names, family names, mail domains).
type Origin = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);
const ORIGINS: &[Origin] = &[
    (
        "BR",
        "pt",
        &[
            "São Paulo",
            "Rio de Janeiro",
            "Belo Horizonte",
            "Porto Alegre",
            "Curitiba",
        ],
        &["Ana", "Lucas", "Beatriz", "Rafael", "Juliana", "Thiago"],
        &["Souza", "Oliveira", "Santos", "Lima", "Costa"],
        &["uol.com.br", "gmail.com", "terra.com.br"],
    ),
    (
        "PT",
        "pt",
        &["Lisboa", "Porto", "Coimbra"],
        &["Inês", "Tiago", "Marta"],
        &["Ferreira", "Pereira", "Almeida"],
        &["sapo.pt", "gmail.com"],
    ),
    (
        "DE",
        "de",
        &["Berlin", "Hamburg", "Köln", "Leipzig"],
        &["Lukas", "Lena", "Jonas", "Mara"],
        &["Becker", "Schneider", "Wagner", "Hoffmann"],
        &["web.de", "gmx.de", "posteo.de"],
    ),
    (
        "AT",
        "de",
        &["Wien", "Graz", "Salzburg"],
        &["Florian", "Anna"],
        &["Gruber", "Huber"],
        &["gmx.at", "gmail.com"],
    ),
    (
        "FR",
        "fr",
        &["Lyon", "Paris", "Marseille", "Toulouse", "Bordeaux"],
        &["Camille", "Hugo", "Léa", "Julien"],
        &["Martin", "Bernard", "Dubois", "Moreau"],
        &["orange.fr", "free.fr", "gmail.com"],
    ),
    (
        "BE",
        "fr",
        &["Bruxelles", "Liège"],
        &["Manon", "Arthur"],
        &["Peeters", "Lambert"],
        &["skynet.be", "gmail.com"],
    ),
    (
        "ES",
        "es",
        &["Madrid", "Barcelona", "Valencia", "Sevilla"],
        &["Lucía", "Pablo", "Carmen", "Javier"],
        &["García", "Martínez", "López", "Sánchez"],
        &["telefonica.es", "gmail.com"],
    ),
    (
        "MX",
        "es",
        &["Ciudad de México", "Guadalajara", "Monterrey", "Oaxaca"],
        &["Diego", "Sofía", "Mateo", "Valeria"],
        &["Hernández", "Ramírez", "Flores", "Torres"],
        &["prodigy.net.mx", "gmail.com"],
    ),
    (
        "AR",
        "es",
        &["Buenos Aires", "Córdoba", "Rosario"],
        &["Carlos", "Martina", "Facundo"],
        &["Gómez", "Fernández", "Díaz"],
        &["fibertel.com.ar", "gmail.com"],
    ),
    (
        "CO",
        "es",
        &["Bogotá", "Medellín"],
        &["Camila", "Andrés"],
        &["Rodríguez", "Vargas"],
        &["gmail.com"],
    ),
    (
        "JP",
        "ja",
        &["東京", "大阪", "京都", "福岡"],
        &["由紀", "健太", "さくら", "翔"],
        &["田中", "佐藤", "鈴木", "高橋"],
        &["yahoo.co.jp", "docomo.ne.jp"],
    ),
    (
        "GB",
        "en",
        &["Manchester", "London", "Glasgow", "Bristol", "Liverpool"],
        &["Sam", "Chloe", "Oliver", "Amelia", "Harry"],
        &["Taylor", "Evans", "Walker", "Wright"],
        &["gmail.com", "btinternet.com", "outlook.com"],
    ),
    (
        "US",
        "en",
        &[
            "Nashville",
            "Los Angeles",
            "Atlanta",
            "Austin",
            "Chicago",
            "New York",
        ],
        &["Jordan", "Taylor", "Marcus", "Emily", "Tyler", "Jasmine"],
        &["Lee", "Johnson", "Brown", "Davis", "Miller"],
        &["gmail.com", "icloud.com", "yahoo.com"],
    ),
    (
        "IE",
        "en",
        &["Dublin", "Cork", "Galway"],
        &["Aoife", "Cian"],
        &["Murphy", "Kelly"],
        &["eircom.net", "gmail.com"],
    ),
    (
        "AU",
        "en",
        &["Melbourne", "Sydney", "Brisbane", "Perth"],
        &["Mia", "Jack", "Chloe"],
        &["Wilson", "Smith", "Nguyen"],
        &["bigpond.com.au", "gmail.com"],
    ),
    (
        "CA",
        "en",
        &["Toronto", "Vancouver", "Montreal"],
        &["Liam", "Olivia"],
        &["Tremblay", "Roy"],
        &["rogers.com", "gmail.com"],
    ),
    (
        "NZ",
        "en",
        &["Auckland", "Wellington"],
        &["Aroha", "Finn"],
        &["Walker", "Ngata"],
        &["xtra.co.nz", "gmail.com"],
    ),
    (
        "IT",
        "it",
        &["Milano", "Roma", "Napoli", "Torino"],
        &["Giulia", "Marco", "Chiara"],
        &["Rossi", "Russo", "Ferrari"],
        &["libero.it", "gmail.com"],
    ),
    (
        "NL",
        "nl",
        &["Amsterdam", "Rotterdam", "Utrecht"],
        &["Sanne", "Daan"],
        &["de Vries", "Jansen"],
        &["ziggo.nl", "gmail.com"],
    ),
    (
        "SE",
        "sv",
        &["Stockholm", "Göteborg", "Malmö"],
        &["Erik", "Elin"],
        &["Lindqvist", "Johansson"],
        &["telia.se", "gmail.com"],
    ),
    (
        "KE",
        "en",
        &["Nairobi", "Mombasa"],
        &["Wanjiru", "Otieno"],
        &["Kamau", "Odhiambo"],
        &["gmail.com"],
    ),
    (
        "NG",
        "en",
        &["Lagos", "Abuja"],
        &["Chiamaka", "Tunde"],
        &["Okafor", "Adeyemi"],
        &["gmail.com", "yahoo.com"],
    ),
    (
        "ZA",
        "en",
        &["Johannesburg", "Cape Town", "Durban"],
        &["Thandi", "Sipho"],
        &["Nkosi", "van der Merwe"],
        &["gmail.com", "mweb.co.za"],
    ),
    (
        "IN",
        "en",
        &["Mumbai", "Bengaluru", "Delhi"],
        &["Priya", "Arjun"],
        &["Sharma", "Iyer"],
        &["gmail.com", "rediffmail.com"],
    ),
];

/// Demo cases: enough to fill a queue and draw the overview charts.
const CASES: usize = 320;

/// A small deterministic generator, so every demo database looks alike.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One generated request.
struct Request {
    country: &'static str,
    from_name: String,
    address: String,
    subject: String,
    body: String,
    followup: Option<String>,
}

fn ascii_local(s: &str) -> String {
    let folded: String = s
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c => c.to_ascii_lowercase(),
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if folded.is_empty() {
        "artist".to_owned()
    } else {
        folded
    }
}

fn generate(n: usize) -> Vec<Request> {
    let mut rng = Rng(0x0C04_C1E4_6E00);
    (0..n)
        .map(|i| {
            let (country, lang, cities, given, family, domains) = *rng.pick(ORIGINS);
            let texts = TEXTS.iter().find(|t| t.lang == lang).unwrap_or(&TEXTS[0]);
            let first = *rng.pick(given);
            let last = *rng.pick(family);
            let name = if lang == "ja" {
                format!("{last} {first}")
            } else {
                format!("{first} {last}")
            };
            let local = if lang == "ja" {
                format!("artist{i}")
            } else {
                format!("{}.{}{}", ascii_local(first), ascii_local(last), i)
            };
            let template: &str = rng.pick::<&str>(texts.bodies);
            let city: &str = rng.pick::<&str>(cities);
            let role: &str = rng.pick::<&str>(texts.roles);
            let body = template
                .replace("{city}", city)
                .replace("{role}", role)
                .replace("{name}", first);
            let followup = (rng.below(10) == 0).then(|| (*rng.pick(texts.followups)).to_owned());
            Request {
                country,
                from_name: name,
                address: format!("{local}@{}", rng.pick(domains)),
                subject: (*rng.pick(texts.subjects)).to_owned(),
                body,
                followup,
            }
        })
        .collect()
}

/// Demo caseworkers: (email, name, countries, languages, capacity).
type DemoVolunteer = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    i32,
);
const VOLUNTEERS: &[DemoVolunteer] = &[
    (
        "lucia@volunteers.example.org",
        "Lúcia Ferreira",
        &["BR", "PT"],
        &["pt", "en", "es"],
        12,
    ),
    (
        "joao@volunteers.example.org",
        "João Ribeiro",
        &["BR"],
        &["pt", "en"],
        8,
    ),
    (
        "hans@volunteers.example.org",
        "Hans Weber",
        &["DE", "AT", "CH"],
        &["de", "en"],
        10,
    ),
    (
        "claire@volunteers.example.org",
        "Claire Dubois",
        &["FR", "BE"],
        &["fr", "en"],
        10,
    ),
    (
        "marta@volunteers.example.org",
        "Marta López",
        &["ES", "MX", "AR", "CO"],
        &["es", "en"],
        12,
    ),
    (
        "kate@volunteers.example.org",
        "Kate O'Brien",
        &["US", "CA", "GB", "IE", "AU", "NZ"],
        &["en"],
        14,
    ),
    (
        "malik@volunteers.example.org",
        "Malik Johnson",
        &["US", "CA"],
        &["en", "fr"],
        10,
    ),
    (
        "haruki@volunteers.example.org",
        "Haruki Sato",
        &["JP"],
        &["ja", "en"],
        6,
    ),
    (
        "amara@volunteers.example.org",
        "Amara Okoye",
        &["NG", "KE", "ZA"],
        &["en"],
        8,
    ),
    (
        "nora@volunteers.example.org",
        "Nora Lind",
        &["*"],
        &["en", "sv", "nl", "it"],
        14,
    ),
];

/// Demo dashboard accounts besides one per caseworker: (email, name, role).
const STAFF: &[(&str, &str, Role)] = &[
    (
        "admin@demo.concierge.example.org",
        "Demo admin",
        Role::Admin,
    ),
    (
        "coordinator@demo.concierge.example.org",
        "Demo coordinator",
        Role::Coordinator,
    ),
];

/// A demo login, printed once at start.
pub struct DemoLogin {
    /// Address to sign in with.
    pub email: String,
    /// Role.
    pub role: Role,
    /// A fresh random password (demo accounts only).
    pub password: String,
}

fn random_password() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut r = rand::rng();
    (0..16)
        .map(|_| char::from(ALPHABET[r.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Creates the demo accounts (an admin, a coordinator, and a caseworker
/// login for each demo volunteer) or gives them fresh passwords, so the
/// person starting the demo can sign in as any role.
pub async fn logins(store: &Store) -> Result<Vec<DemoLogin>> {
    let mut accounts: Vec<(String, String, Role, Option<uuid::Uuid>)> = STAFF
        .iter()
        .map(|(e, n, r)| ((*e).to_owned(), (*n).to_owned(), *r, None))
        .collect();
    for v in store.list_volunteers().await? {
        if VOLUNTEERS.iter().any(|(e, ..)| *e == v.email) {
            accounts.push((
                v.email.clone(),
                v.name.clone(),
                Role::Caseworker,
                Some(v.id),
            ));
        }
    }
    let mut out = Vec::new();
    for (email, name, role, volunteer) in accounts {
        let password = random_password();
        let hash = concierge_access::hash_password(&password)?;
        match store.find_user_by_email(&email).await? {
            Some(u) => store.set_password_hash(u.user.id, &hash).await?,
            None => {
                store
                    .create_user(&email, &name, role, volunteer, Some(&hash))
                    .await?;
            }
        }
        out.push(DemoLogin {
            email,
            role,
            password,
        });
    }
    Ok(out)
}

/// Loads demo caseworkers and a few hundred requests from 24 countries in
/// nine languages when the database has no tickets yet. Most of them are
/// backdated over twelve weeks and resolved, so the overview has history;
/// the newest are left open for the workers to route.
pub async fn load(inbound: &Inbound) -> Result<()> {
    let store = inbound.store();
    let (tickets, _) = store.counts().await?;
    if tickets > 0 {
        tracing::info!(
            tickets,
            "database already has tickets; demo data not loaded"
        );
        return Ok(());
    }
    let mut volunteer_ids = Vec::new();
    if store.list_volunteers().await?.is_empty() {
        for (email, name, countries, languages, capacity) in VOLUNTEERS {
            let c: Vec<String> = countries.iter().map(|s| (*s).to_owned()).collect();
            let l: Vec<String> = languages.iter().map(|s| (*s).to_owned()).collect();
            let id = store.add_volunteer(email, name, &c, &l, *capacity).await?;
            volunteer_ids.push((id, *countries));
        }
    }
    let requests = generate(CASES);
    let mut references = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        let reference = deliver(
            inbound,
            r,
            &format!("Subject: {}\r\nMessage-ID: <demo-{i}@demo.concierge.example.org>\r\nDate: Tue, 24 Nov 2026 12:00:00 +0000", r.subject),
            &r.body,
        )
        .await?;
        references.push(reference);
    }
    backdate(store, &references, &requests, &volunteer_ids).await?;
    // Follow-ups on open cases, after the backdating so they are the newest.
    let mut followups = 0;
    for (i, r) in requests.iter().enumerate() {
        let Some(text) = &r.followup else { continue };
        if i < history_len(requests.len()) {
            continue;
        }
        let headers = format!(
            "Subject: Re: {}\r\nMessage-ID: <demo-{i}-followup@demo.concierge.example.org>\r\n\
             In-Reply-To: <demo-{i}@demo.concierge.example.org>\r\n\
             References: <demo-{i}@demo.concierge.example.org>",
            r.subject
        );
        deliver(inbound, r, &headers, text).await?;
        followups += 1;
    }
    tracing::info!(cases = requests.len(), followups, "demo data loaded");
    Ok(())
}

/// Sends one plain-text mail from `r` with the given `headers` (CRLF
/// separated, no trailing CRLF) through the real pipeline; its reference.
async fn deliver(inbound: &Inbound, r: &Request, headers: &str, body: &str) -> Result<String> {
    let raw = format!(
        "From: {name} <{address}>\r\nTo: Concierge <global@concierge.example.org>\r\n\
         {headers}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        name = r.from_name,
        address = r.address,
        body = body.replace('\n', "\r\n"),
    );
    let outcome = inbound
        .ingest(Delivery {
            source: InboundSource::Pipe,
            envelope_from: Some(r.address.clone()),
            envelope_to: vec!["global@concierge.example.org".to_owned()],
            raw: raw.into_bytes(),
        })
        .await?;
    Ok(outcome.reference().as_str().to_owned())
}

/// How many of the oldest demo cases become resolved history.
fn history_len(n: usize) -> usize {
    n * 3 / 5
}

/// Spreads the demo cases over the last twelve weeks: the oldest 60 % are
/// resolved (or closed) history with a caseworker, a first response and
/// sometimes a missed target; the rest arrived over the last forty hours and
/// are left open for routing. Demo only: real cases are never rewritten.
async fn backdate(
    store: &Store,
    references: &[String],
    requests: &[Request],
    volunteers: &[(uuid::Uuid, &'static [&'static str])],
) -> Result<()> {
    let mut rng = Rng(0x5EED_DA7E);
    let now = chrono::Utc::now();
    let hist = history_len(references.len());
    let mut tx = store.pool().begin().await?;
    for (k, (reference, r)) in references.iter().zip(requests).enumerate() {
        let jitter = chrono::Duration::minutes(rng.below(600) as i64);
        let (created, history) = if k < hist {
            // Evenly over 84 days down to 6 days ago, oldest first.
            let days_ago = 84.0 - 78.0 * (k as f64 / hist as f64);
            (
                now - chrono::Duration::minutes((days_ago * 1440.0) as i64) + jitter,
                true,
            )
        } else {
            let left = (references.len() - hist).max(1);
            let hours_ago = 40.0 - 39.5 * ((k - hist) as f64 / left as f64);
            (
                now - chrono::Duration::minutes((hours_ago * 60.0) as i64),
                false,
            )
        };
        let priority = match rng.below(40) {
            0 => "urgent",
            1..=4 => "high",
            5..=7 => "low",
            _ => "normal",
        };
        let target = chrono::Duration::minutes(match priority {
            "urgent" => 60,
            "high" => 240,
            "low" => 4320,
            _ => 1440,
        });
        sqlx::query!(
            "UPDATE messages SET created_at = $2
             WHERE ticket_id = (SELECT id FROM tickets WHERE reference = $1)",
            reference,
            created
        )
        .execute(&mut *tx)
        .await?;
        if !history {
            sqlx::query!(
                "UPDATE tickets SET created_at = $2, updated_at = $2, last_inbound_at = $2,
                        priority = $3, first_response_due_at = $4
                 WHERE reference = $1",
                reference,
                created,
                priority,
                created + target
            )
            .execute(&mut *tx)
            .await?;
            continue;
        }
        // A first response between 20 minutes and 2.5 days, mostly soon.
        let spread = [20, 45, 90, 180, 360, 720, 1200, 2000, 3600];
        let responded = created + chrono::Duration::minutes(*rng.pick(&spread) as i64);
        let resolved = (responded + chrono::Duration::hours(6 + rng.below(230) as i64))
            .min(now - chrono::Duration::hours(1));
        let due = created + target;
        let breached = (responded > due).then_some(due);
        let status = if rng.below(6) == 0 {
            "closed"
        } else {
            "resolved"
        };
        let covering = volunteers
            .iter()
            .filter(|(_, c)| c.contains(&r.country))
            .map(|(id, _)| *id)
            .collect::<Vec<_>>();
        let assignee = if covering.is_empty() {
            volunteers
                .iter()
                .find(|(_, c)| c.contains(&"*"))
                .map(|(id, _)| *id)
        } else {
            Some(*rng.pick(&covering))
        };
        let ticket_id = sqlx::query_scalar!(
            "UPDATE tickets SET created_at = $2, updated_at = $3, last_inbound_at = $2,
                    status = $4, priority = $5, resolved_at = $3, first_response_due_at = $6,
                    first_responded_at = $7, sla_breached_at = $8, assignee_id = $9,
                    routing_state = CASE WHEN $9::uuid IS NULL THEN routing_state ELSE 'assigned' END,
                    assignment_reason = CASE WHEN $9::uuid IS NULL THEN assignment_reason
                                        ELSE 'demo history' END
             WHERE reference = $1 RETURNING id",
            reference,
            created,
            resolved,
            status,
            priority,
            due,
            responded,
            breached,
            assignee
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(v) = assignee {
            sqlx::query!(
                "INSERT INTO assignments (id, ticket_id, volunteer_id, reason, assigned_by,
                                          assigned_at, ended_at, ended_reason)
                 VALUES ($1, $2, $3, 'demo history', 'demo', $4, $5, $6)",
                uuid::Uuid::new_v4(),
                ticket_id,
                v,
                created,
                resolved,
                status
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A local SMTP sink standing in for the outbound relay in the demo: every
/// mail Concierge sends is written to `dir` as an `.eml` file, so people
/// trying the service can read the acknowledgements and notices.
pub async fn start_mail_sink(dir: std::path::PathBuf) -> Result<std::net::SocketAddr> {
    struct FileSink(std::path::PathBuf);
    impl concierge_smtp::MessageSink for FileSink {
        fn accepts_recipient(&self, _rcpt: &str) -> bool {
            true
        }
        async fn deliver(&self, envelope: concierge_smtp::Envelope) -> concierge_smtp::Delivery {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let to = envelope
                .rcpt_to
                .first()
                .cloned()
                .unwrap_or_default()
                .replace(['/', '\\'], "_");
            let path = self.0.join(format!("{stamp}-{to}.eml"));
            match tokio::fs::write(&path, &envelope.data).await {
                Ok(()) => concierge_smtp::Delivery::Accepted {
                    id: stamp.to_string(),
                },
                Err(e) => concierge_smtp::Delivery::TempFail(format!("cannot write: {e}")),
            }
        }
    }
    tokio::fs::create_dir_all(&dir).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(concierge_smtp::serve(
        listener,
        concierge_smtp::SmtpConfig::default(),
        std::sync::Arc::new(FileSink(dir)),
        std::future::pending::<()>(),
    ));
    Ok(addr)
}
