//! Demo data: realistic requests from several countries and languages,
//! sent through the real inbound pipeline into an empty database.

use anyhow::Result;
use concierge_inbound::{Delivery, Inbound};
use concierge_store::InboundSource;

/// (name, address, subject, body) of demo senders.
const PEOPLE: &[(&str, &str, &str, &str)] = &[
    (
        "Ana Souza",
        "ana.souza@uol.com.br",
        "Preciso de ajuda para encontrar um psicólogo",
        "Olá, sou cantora e moro em São Paulo. Estou passando por uma fase muito difícil depois da turnê e não consigo dormir. Vocês conseguem me indicar um psicólogo que entenda a vida de artista?\n\nAna\n+55 11 98765-4321",
    ),
    (
        "Lukas Becker",
        "lukas.becker@web.de",
        "Suche Unterstützung nach der Tour",
        "Hallo, ich bin Schlagzeuger und lebe in Berlin. Seit der letzten Tour habe ich Panikattacken. Können Sie mir helfen, eine Therapeutin zu finden?\n\nLukas",
    ),
    (
        "Camille Martin",
        "camille.martin@orange.fr",
        "Besoin d'aide, je ne vais pas bien",
        "Bonjour, je suis autrice-compositrice et j'habite à Lyon. Je me sens épuisée et seule. Pouvez-vous m'orienter vers quelqu'un ?\n\nCamille",
    ),
    (
        "Diego Hernández",
        "diego.hernandez@prodigy.net.mx",
        "Necesito hablar con alguien",
        "Hola, soy guitarrista y vivo en Ciudad de México. Las últimas semanas han sido muy duras. ¿Me pueden ayudar a encontrar un terapeuta?\n\nDiego",
    ),
    (
        "Yuki Tanaka",
        "yuki.tanaka@yahoo.co.jp",
        "カウンセリングについて相談したいです",
        "はじめまして。東京在住のベーシストです。ツアー後から気分が落ち込んでいて、誰かに相談したいです。よろしくお願いします。\n\n田中 由紀",
    ),
    (
        "Sam Taylor",
        "sam.taylor@gmail.com",
        "Struggling after a long tour",
        "Hi, I'm a tour manager based in Manchester. I've been struggling with anxiety and drinking more than I should. I don't know where to start. Can you help me find support?\n\nSam\n+44 7700 900123",
    ),
    (
        "Jordan Lee",
        "jordan.lee@icloud.com",
        "Looking for a therapist who gets musicians",
        "Hey, I'm a songwriter living in Nashville. Money is tight and I can't afford therapy right now. Are there funds or programs that could help?\n\nJordan",
    ),
    (
        "Giulia Rossi",
        "giulia.rossi@libero.it",
        "Cerco supporto psicologico",
        "Ciao, sono una cantante e vivo a Milano. Da mesi mi sento sopraffatta. Potete aiutarmi a trovare uno psicologo?\n\nGiulia",
    ),
    (
        "Sanne de Vries",
        "sanne.devries@ziggo.nl",
        "Hulp gezocht",
        "Hoi, ik ben zangeres en ik woon in Amsterdam. Ik zit niet lekker in mijn vel sinds de festivalzomer. Kunnen jullie me helpen iemand te vinden om mee te praten?\n\nSanne",
    ),
    (
        "Erik Lindqvist",
        "erik.lindqvist@telia.se",
        "Behöver hjälp",
        "Hej, jag är trummis och bor i Stockholm. Jag mår inte bra och behöver prata med någon. Kan ni hjälpa mig?\n\nErik",
    ),
    (
        "Mia Wilson",
        "mia.wilson@bigpond.com.au",
        "Need someone to talk to",
        "Hi, I'm a session musician in Melbourne. Things have been really hard lately. Could you point me to someone I can talk to?\n\nMia\n+61 412 345 678",
    ),
    (
        "Carlos Gómez",
        "carlos.gomez@gmail.com",
        "Ayuda para mi banda",
        "Hola, soy mánager de una banda en Buenos Aires. Uno de los chicos está pasando un momento muy difícil y no sé cómo ayudarlo. ¿Qué podemos hacer?\n\nCarlos\n+54 9 11 2345-6789",
    ),
];

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
        6,
    ),
    (
        "hans@volunteers.example.org",
        "Hans Weber",
        &["DE", "AT", "CH"],
        &["de", "en"],
        5,
    ),
    (
        "claire@volunteers.example.org",
        "Claire Dubois",
        &["FR", "BE"],
        &["fr", "en"],
        5,
    ),
    (
        "marta@volunteers.example.org",
        "Marta López",
        &["ES", "MX", "AR"],
        &["es", "en"],
        6,
    ),
    (
        "kate@volunteers.example.org",
        "Kate O'Brien",
        &["US", "CA", "GB", "IE", "AU", "NZ"],
        &["en"],
        8,
    ),
    (
        "haruki@volunteers.example.org",
        "Haruki Sato",
        &["JP"],
        &["ja", "en"],
        4,
    ),
    (
        "nora@volunteers.example.org",
        "Nora Lind",
        &["*"],
        &["en", "sv", "nl", "it"],
        10,
    ),
];

/// Loads demo caseworkers and requests when the database has no tickets yet.
pub async fn load(inbound: &Inbound) -> Result<()> {
    let (tickets, _) = inbound.store().counts().await?;
    if tickets > 0 {
        tracing::info!(
            tickets,
            "database already has tickets; demo data not loaded"
        );
        return Ok(());
    }
    if inbound.store().list_volunteers().await?.is_empty() {
        for (email, name, countries, languages, capacity) in VOLUNTEERS {
            let c: Vec<String> = countries.iter().map(|s| (*s).to_owned()).collect();
            let l: Vec<String> = languages.iter().map(|s| (*s).to_owned()).collect();
            inbound
                .store()
                .add_volunteer(email, name, &c, &l, *capacity)
                .await?;
        }
    }
    let mut n = 0;
    for (i, (name, address, subject, body)) in PEOPLE.iter().enumerate() {
        let raw = format!(
            "From: {name} <{address}>\r\nTo: Concierge <global@concierge.example.org>\r\n\
             Subject: {subject}\r\nMessage-ID: <demo-{i}@demo.concierge.example.org>\r\n\
             Date: Tue, 24 Nov 2026 1{h}:0{m}:00 +0000\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
            h = i % 10,
            m = i % 10,
        );
        inbound
            .ingest(Delivery {
                source: InboundSource::Pipe,
                envelope_from: Some((*address).to_owned()),
                envelope_to: vec!["global@concierge.example.org".to_owned()],
                raw: raw.into_bytes(),
            })
            .await?;
        n += 1;
    }
    tracing::info!(messages = n, "demo data loaded");
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
