//! `concierge-load`: a load generator for Concierge's SMTP intake.
//!
//! `run` starts the real `concierge serve` against a fresh database, sends
//! realistic mail to it over SMTP from concurrent connections, verifies that
//! every message answered `250` is stored exactly once, and reports
//! throughput, latencies (SMTP transaction, commit→assignment,
//! receipt→acknowledgement), the server's peak RSS, and the raw commit
//! ceiling of the same Postgres for the same rows.
//!
//! ```text
//! SQLX_OFFLINE=true cargo build --release --workspace --bins
//! target/release/concierge-load run --messages 5000 --connections 16
//! ```

use concierge_bench::{
    concierge_binary, create_database, drop_database, free_port, percentile, with_database,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Args, Parser, Subcommand};
use concierge_store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgPool};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Load generator for Concierge's SMTP intake against a real PostgreSQL.
///
/// Build every binary first: `SQLX_OFFLINE=true cargo build --release --workspace --bins`
/// (the load generator starts the `concierge` binary found next to its own).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Send N messages over SMTP to a real `concierge serve` and measure it.
    ///
    /// Creates a fresh database on the server (migrated, one volunteer per
    /// country, resource hub imported), starts an SMTP sink standing in for
    /// the outbound relay and `concierge serve` as a child process, sends
    /// the messages from C concurrent SMTP connections (EHLO once, then
    /// MAIL/RCPT/DATA per message), verifies every message answered 250 is
    /// stored exactly once, and prints committed messages/s, SMTP
    /// transaction latency, commit→assignment latency, receipt→acknowledgement
    /// latency and the server's peak RSS. Then measures the ceiling: the
    /// rate at which the same Postgres commits the same rows (one
    /// transaction per message, plain SQL, same connection count) in a
    /// second fresh database. Kills the server and drops both databases at
    /// the end. Exit status 1 when a stored-exactly-once check fails.
    Run(RunArgs),
    /// Time the retention job purging N closed cases (issue 14's figure).
    ///
    /// Creates a fresh database, seeds N closed cases (requester, one
    /// inbound message of about 1 KB with its raw MIME and dedupe row each,
    /// as `run --seed-tickets` does), then applies the retention job's
    /// passes (`Store::retention_pass`, the same code the workers run) with
    /// every case past its cutoff, and prints the wall time, rows/s and the
    /// time per batch transaction (how long each one holds its locks).
    /// Drops the database at the end.
    Purge(PurgeArgs),
}

#[derive(Args)]
struct PurgeArgs {
    /// Closed cases (one message each) to seed and purge.
    #[arg(long, default_value_t = 100_000)]
    cases: usize,
    /// Cases per batch transaction (`[privacy] retention_batch`).
    #[arg(long, default_value_t = 500)]
    batch: i64,
    /// A database URL on the server (needs CREATEDB).
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
}

#[derive(Args)]
struct RunArgs {
    /// Messages to send.
    #[arg(long, default_value_t = 5_000)]
    messages: usize,
    /// Concurrent SMTP connections (and ceiling connections).
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// A database URL on the server to use; the load generator creates (and
    /// drops) its own databases there, so the role needs CREATEDB.
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Seed of the message generator (same seed, same messages).
    #[arg(long, default_value_t = 6)]
    seed: u64,
    /// Seconds to wait for acknowledgements and assignments after sending.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    wait_secs: u64,
    /// Skip the ceiling measurement.
    #[arg(long)]
    no_ceiling: bool,
    /// Before the run, fill both databases (the server's and the
    /// ceiling's) with this many stored, closed cases, each with its
    /// requester, one inbound message of about 1 KB, its raw bytes and its
    /// dedupe row (`generate_series`, in batches), then VACUUM ANALYZE: how
    /// the cost grows with the mailbox (e.g. 10000 vs 1000000).
    #[arg(long, default_value_t = 0, value_name = "N")]
    seed_tickets: usize,
    /// Extra environment for `concierge serve`, e.g.
    /// `--server-env CONCIERGE__WORKER__CONCURRENCY=16` (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    server_env: Vec<String>,
    /// Also send this many imminent-risk messages (Portuguese, from
    /// Brazil), spread evenly through the background load, with one
    /// coordinator on call everywhere: reports receipt→urgent
    /// acknowledgement at the relay, receipt→on-call notice at the relay,
    /// and receipt→both (the crisis lane's target: p99 < 2 s at 16
    /// connections).
    #[arg(long, default_value_t = 0, value_name = "N")]
    imminent: usize,
}

/// A country the senders come from: one volunteer covers it.
struct Country {
    code: &'static str,
    languages: &'static [&'static str],
    volunteer: &'static str,
    domain: &'static str,
    names: &'static [&'static str],
    subject: &'static str,
    body: &'static str,
    more: &'static str,
    phone: &'static str,
    /// Text fits ISO-8859-1.
    latin1: bool,
}

const COUNTRIES: &[Country] = &[
    Country {
        code: "BR",
        languages: &["pt", "en"],
        volunteer: "Lúcia Ferreira",
        domain: "uol.com.br",
        names: &["Ana Souza", "João Lima", "Mariana Costa", "Pedro Alves"],
        subject: "Preciso de ajuda",
        body: "Olá, moro no Brasil, em São Paulo, e estou passando por um momento muito difícil depois da turnê. Não consigo dormir e preciso conversar com alguém.",
        more: "Toco baixo numa banda há oito anos. Nos últimos meses tenho sentido muita ansiedade antes dos shows, e depois que voltamos para casa tudo ficou mais pesado. Minha família não entende muito bem o que está acontecendo.",
        phone: "+55 11 98765-4321",
        latin1: true,
    },
    Country {
        code: "DE",
        languages: &["de", "en"],
        volunteer: "Hans Becker",
        domain: "web.de",
        names: &["Lukas Müller", "Anna Schmidt", "Jonas Weber", "Lea Fischer"],
        subject: "Ich brauche Hilfe",
        body: "Hallo, ich wohne in Berlin und seit dem Ende der Tour geht es mir gar nicht gut. Ich schlafe kaum noch und brauche jemanden zum Reden.",
        more: "Ich bin Tontechnikerin und war fast ein halbes Jahr unterwegs. Jetzt, wo ich wieder zu Hause bin, fühle ich mich leer und müde, und ich weiß nicht, an wen ich mich wenden soll. Gibt es hier Beratungsstellen für Musiker?",
        phone: "+49 30 12345678",
        latin1: true,
    },
    Country {
        code: "FR",
        languages: &["fr", "en"],
        volunteer: "Claire Martin",
        domain: "orange.fr",
        names: &[
            "Camille Dubois",
            "Louis Bernard",
            "Chloé Moreau",
            "Hugo Laurent",
        ],
        subject: "Besoin d'aide",
        body: "Bonjour, j'habite à Paris et je traverse une période très difficile depuis la fin de la tournée. J'aimerais parler à quelqu'un.",
        more: "Je suis chanteuse et je joue dans des petites salles depuis des années. Depuis quelques semaines, je n'arrive plus à me lever le matin et j'ai perdu l'envie d'écrire. Mes amis me conseillent de demander de l'aide.",
        phone: "+33 6 12 34 56 78",
        latin1: true,
    },
    Country {
        code: "US",
        languages: &["en", "es"],
        volunteer: "Jordan Miller",
        domain: "musicmail.us",
        names: &[
            "Emily Johnson",
            "Michael Brown",
            "Ashley Davis",
            "Chris Wilson",
        ],
        subject: "Need someone to talk to",
        body: "Hi, I live in Nashville, Tennessee, and I have been struggling a lot since the tour ended. I can't sleep and could really use someone to talk to.",
        more: "I play guitar for a touring act and we were on the road for most of the year. Coming home has been harder than I expected; I feel anxious all the time and I do not really know where to start looking for help.",
        phone: "+1 615 555 0142",
        latin1: true,
    },
    Country {
        code: "GB",
        languages: &["en"],
        volunteer: "Oliver Taylor",
        domain: "btinternet.co.uk",
        names: &[
            "Amelia Jones",
            "Harry Evans",
            "Isla Thomas",
            "George Roberts",
        ],
        subject: "Struggling after the festival season",
        body: "Hello, I live in Manchester and things have been really hard since the festival season finished. I would like to talk to someone, please.",
        more: "I work as a tour manager and the last few months were relentless. I keep replaying everything that went wrong and I have stopped seeing my friends. A colleague gave me this address and said you could point me to someone.",
        phone: "+44 7700 900123",
        latin1: true,
    },
    Country {
        code: "JP",
        languages: &["ja", "en"],
        volunteer: "Sato Yuki",
        domain: "docomo.ne.jp",
        names: &[
            "Tanaka Hiroshi",
            "Suzuki Aiko",
            "Takahashi Ren",
            "Watanabe Mei",
        ],
        subject: "相談したいです",
        body: "こんにちは。東京在住のミュージシャンです。ツアーが終わってから、とても辛くて眠れません。誰かに話を聞いてほしいです。",
        more: "バンドでドラムを担当しています。ライブの前になると不安で手が震えるようになり、最近は家族とも話せていません。日本で相談できる窓口があれば教えてください。",
        phone: "+81 90-1234-5678",
        latin1: false,
    },
    Country {
        code: "ES",
        languages: &["es", "en"],
        volunteer: "Lucía García",
        domain: "telefonica.es",
        names: &[
            "Pablo Martínez",
            "María López",
            "Javier Sánchez",
            "Carmen Ruiz",
        ],
        subject: "Necesito ayuda",
        body: "Hola, vivo en Madrid y lo estoy pasando muy mal desde que terminó la gira. No duermo bien y necesito hablar con alguien.",
        more: "Soy teclista y llevo muchos años tocando en directo. Últimamente me cuesta mucho concentrarme, tengo ataques de pánico antes de subir al escenario y no sé a quién acudir. Me han dicho que aquí me pueden orientar.",
        phone: "+34 612 34 56 78",
        latin1: true,
    },
    Country {
        code: "IT",
        languages: &["it", "en"],
        volunteer: "Giulia Rossi",
        domain: "libero.it",
        names: &[
            "Marco Bianchi",
            "Sofia Romano",
            "Luca Colombo",
            "Chiara Ricci",
        ],
        subject: "Ho bisogno di aiuto",
        body: "Ciao, vivo a Milano e sto attraversando un periodo molto difficile dopo il tour. Vorrei parlare con qualcuno.",
        more: "Sono un cantautore e negli ultimi mesi ho suonato quasi ogni sera. Adesso che sono tornato a casa non riesco più a dormire e mi sento sempre stanco. Non so se è normale o se dovrei chiedere aiuto a uno specialista.",
        phone: "+39 347 123 4567",
        latin1: true,
    },
    Country {
        code: "NL",
        languages: &["nl", "en"],
        volunteer: "Sanne de Vries",
        domain: "ziggo.nl",
        names: &["Daan Jansen", "Emma de Jong", "Bram Bakker", "Lotte Visser"],
        subject: "Hulp gevraagd",
        body: "Hallo, ik woon in Amsterdam en het gaat al weken niet goed met me sinds de tour voorbij is. Ik wil graag met iemand praten.",
        more: "Ik ben violist in een orkest en we hebben een lange tournee achter de rug. Sindsdien slaap ik slecht, ben ik snel geïrriteerd en heb ik nergens meer zin in. Een vriendin gaf me dit adres.",
        phone: "+31 6 12345678",
        latin1: true,
    },
    Country {
        code: "MX",
        languages: &["es", "en"],
        volunteer: "Alejandro Hernández",
        domain: "prodigy.net.mx",
        names: &[
            "Valeria Torres",
            "Diego Ramírez",
            "Fernanda Flores",
            "Santiago Cruz",
        ],
        subject: "Necesito hablar con alguien",
        body: "Hola, vivo en la Ciudad de México y me siento muy mal después de la gira. Necesito hablar con alguien, por favor.",
        more: "Toco la trompeta en un grupo de mariachi y este año viajamos muchísimo. Desde que regresé me siento triste casi todos los días y ya no disfruto tocar. Quisiera saber si hay alguien con quien pueda hablar aquí.",
        phone: "+52 55 1234 5678",
        latin1: true,
    },
];

const CONCIERGE_ADDRESS: &str = "global@concierge.example.org";

/// The repository root (for `config/`), as built.
const REPO_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Run(args) => run(args).await,
        Cmd::Purge(args) => purge(args).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("concierge-load: checks FAILED");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("concierge-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: where `config/` is.
fn repo_root() -> Result<PathBuf> {
    for candidate in [PathBuf::from(REPO_ROOT), std::env::current_dir()?] {
        if candidate.join("config/default.toml").is_file() {
            return Ok(candidate.canonicalize()?);
        }
    }
    bail!("cannot find the repository's config/ folder; run from the repository root")
}

async fn run(args: RunArgs) -> Result<bool> {
    ensure!(args.messages > 0, "--messages must be at least 1");
    ensure!(args.connections > 0, "--connections must be at least 1");
    let concierge = concierge_binary("concierge-load")?;
    let root = repo_root()?;

    let tag = uuid::Uuid::new_v4().simple().to_string();
    let main_db = format!("concierge_load_{tag}");
    let ceiling_db = format!("concierge_load_ceiling_{tag}");
    let mut created = Vec::new();
    let mut server: Option<Child> = None;

    let result = async {
        for db in [&main_db, &ceiling_db] {
            create_database(&args.database_url, db).await?;
            created.push(db.clone());
        }
        tokio::select! {
            r = load(&args, &concierge, &root, &tag, &main_db, &ceiling_db, &mut server) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    }
    .await;

    if let Some(mut child) = server.take() {
        let _ = child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    }
    for db in &created {
        match drop_database(&args.database_url, db).await {
            Ok(()) => eprintln!("dropped database {db}"),
            Err(e) => eprintln!("concierge-load: could not drop database {db}: {e:#}"),
        }
    }
    result
}

// ---------------------------------------------------------------------------
// Messages

/// One generated message.
struct Msg {
    from: String,
    from_name: String,
    /// Without angle brackets.
    message_id: String,
    subject: String,
    /// The decoded text (for the ceiling's `messages.text_body`).
    text: String,
    country: usize,
    reply: bool,
    /// An imminent-risk message (`--imminent`).
    imminent: bool,
    raw: Vec<u8>,
}

/// Generates `n` messages deterministically from `seed`. About 10% reply
/// to a message sent at least `2 × connections` earlier.
fn generate(run: &str, n: usize, connections: usize, seed: u64) -> Vec<Msg> {
    let mut out: Vec<Msg> = Vec::with_capacity(n);
    let gap = 2 * connections;
    for i in 0..n {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64);
        let parent = if i > gap + 10 && rng.random_bool(0.1) {
            let mut p = rng.random_range(0..i - gap);
            // Reply to the case's first message.
            while out[p].reply {
                p = rng.random_range(0..i - gap);
            }
            Some(p)
        } else {
            None
        };
        let msg = match parent {
            Some(p) => reply_message(run, i, &out[p], &mut rng),
            None => new_message(run, i, &mut rng),
        };
        out.push(msg);
    }
    out
}

fn new_message(run: &str, i: usize, rng: &mut StdRng) -> Msg {
    let ci = rng.random_range(0..COUNTRIES.len());
    let c = &COUNTRIES[ci];
    let name = c.names[rng.random_range(0..c.names.len())];
    let first = name.split(' ').next().unwrap_or("someone");
    let local: String = first
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let from = format!("{local}.{i}@{}", c.domain);
    // Sizes log-uniform between 0.5 and 50 KB.
    let target = (500f64.ln() + rng.random::<f64>() * (50_000f64.ln() - 500f64.ln())).exp();
    let mut text = format!("{}\r\n\r\n", c.body);
    while text.len() + 700 < target as usize {
        text.push_str(c.more);
        text.push_str("\r\n\r\n");
    }
    text.push_str(&format!("{name}\r\n{}\r\n", c.phone));
    let message_id = format!("load-{run}-{i}@{}", c.domain);
    let attachment = rng.random_bool(0.15);
    let raw = compose(
        rng,
        c,
        name,
        &from,
        c.subject,
        &message_id,
        None,
        &text,
        attachment,
    );
    Msg {
        from,
        from_name: name.to_owned(),
        message_id,
        subject: c.subject.to_owned(),
        text,
        country: ci,
        reply: false,
        imminent: false,
        raw,
    }
}

fn reply_message(run: &str, i: usize, parent: &Msg, rng: &mut StdRng) -> Msg {
    let c = &COUNTRIES[parent.country];
    let subject = format!("Re: {}", parent.subject);
    let mut text = format!("{}\r\n\r\n", c.more);
    let quote: String = parent
        .text
        .lines()
        .take(6)
        .map(|l| format!("> {l}\r\n"))
        .collect();
    text.push_str(&quote);
    text.push_str(&format!("\r\n{}\r\n", parent.from_name));
    let message_id = format!("load-{run}-{i}@{}", c.domain);
    let raw = compose(
        rng,
        c,
        &parent.from_name,
        &parent.from,
        &subject,
        &message_id,
        Some(&parent.message_id),
        &text,
        false,
    );
    Msg {
        from: parent.from.clone(),
        from_name: parent.from_name.clone(),
        message_id,
        subject,
        text,
        country: parent.country,
        reply: true,
        imminent: false,
        raw,
    }
}

/// RFC 2047 encoded word for non-ASCII header text.
/// Imminent-risk texts in Portuguese (the crisis lane's Brazil case): each
/// is assessed `imminent` by the shipped rules (`config/risk/pt.toml`).
const IMMINENT_PT: &[&str] = &[
    "Oi. Sou baterista, moro em São Paulo. Não aguento mais. Hoje depois do show eu vou me matar. Só queria que alguém soubesse.",
    "Tomei um monte de remédio faz uma hora. Moro no Rio, toco numa banda. Desculpa escrever isso aqui.",
    "Eu vou me matar hoje à noite. Já decidi. Moro em Belo Horizonte e ninguém da banda sabe.",
];

/// Inserts `n` imminent-risk messages from Brazil evenly among `msgs`.
fn add_imminent(run: &str, msgs: &mut Vec<Msg>, n: usize, seed: u64) {
    let ci = COUNTRIES
        .iter()
        .position(|c| c.code == "BR")
        .unwrap_or_default();
    let c = &COUNTRIES[ci];
    let step = (msgs.len() / n.max(1)).max(1);
    for k in 0..n {
        let mut rng = StdRng::seed_from_u64(seed ^ 0xC815_u64.wrapping_mul(k as u64 + 1));
        let name = c.names[k % c.names.len()];
        let from = format!("urgent.{k}@{}", c.domain);
        let text = format!(
            "{}\r\n\r\n{name}\r\n{}\r\n",
            IMMINENT_PT[k % IMMINENT_PT.len()],
            c.phone
        );
        let message_id = format!("load-{run}-urgent-{k}@{}", c.domain);
        let subject = "Preciso falar";
        let raw = compose(
            &mut rng,
            c,
            name,
            &from,
            subject,
            &message_id,
            None,
            &text,
            false,
        );
        let at = ((k * step) + step / 2 + k).min(msgs.len());
        msgs.insert(
            at,
            Msg {
                from,
                from_name: name.to_owned(),
                message_id,
                subject: subject.to_owned(),
                text,
                country: ci,
                reply: false,
                imminent: true,
                raw,
            },
        );
    }
}

fn encode_word(s: &str) -> String {
    if s.is_ascii() {
        s.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", B64.encode(s.as_bytes()))
    }
}

/// Base64 in 76-character lines.
fn base64_lines(data: &[u8]) -> String {
    let b = B64.encode(data);
    let mut out = String::with_capacity(b.len() + b.len() / 38 + 2);
    for chunk in b.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

/// Quoted-printable (RFC 2045) of text with CRLF line breaks.
fn quoted_printable(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 3 / 2);
    let mut col = 0;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
            out.push_str("\r\n");
            col = 0;
            i += 2;
            continue;
        }
        let at_eol = matches!(data.get(i + 1), None | Some(b'\r'));
        let piece = if ((33..=126).contains(&b) && b != b'=') || (b == b' ' && !at_eol) {
            (b as char).to_string()
        } else {
            format!("={b:02X}")
        };
        if col + piece.len() > 75 {
            out.push_str("=\r\n");
            col = 0;
        }
        col += piece.len();
        out.push_str(&piece);
        i += 1;
    }
    out
}

/// The text part's headers and body in one of several charsets/encodings.
fn text_part(rng: &mut StdRng, c: &Country, text: &str) -> (String, String) {
    let pick = rng.random_range(0..10);
    if c.code == "JP" {
        if pick < 5 {
            let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
            return (
                "Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n"
                    .into(),
                base64_lines(&sjis),
            );
        }
        if pick < 8 {
            return (
                "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n"
                    .into(),
                base64_lines(text.as_bytes()),
            );
        }
    } else if c.latin1 && !text.is_ascii() && pick < 4 {
        let latin1: Vec<u8> = text
            .chars()
            .map(|ch| u8::try_from(u32::from(ch)).unwrap_or(b'?'))
            .collect();
        return (
            "Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                .into(),
            quoted_printable(&latin1),
        );
    } else if pick < 7 {
        return (
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                .into(),
            quoted_printable(text.as_bytes()),
        );
    }
    (
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n".into(),
        text.to_owned(),
    )
}

#[allow(clippy::too_many_arguments)]
fn compose(
    rng: &mut StdRng,
    c: &Country,
    name: &str,
    from: &str,
    subject: &str,
    message_id: &str,
    in_reply_to: Option<&str>,
    text: &str,
    attachment: bool,
) -> Vec<u8> {
    let mut h = format!(
        "From: {} <{from}>\r\nTo: Concierge <{CONCIERGE_ADDRESS}>\r\nSubject: {}\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{message_id}>\r\n",
        encode_word(name),
        encode_word(subject),
    );
    if let Some(parent) = in_reply_to {
        h.push_str(&format!(
            "In-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n"
        ));
    }
    h.push_str("MIME-Version: 1.0\r\n");
    let (part_headers, part_body) = text_part(rng, c, text);
    if attachment {
        let boundary = format!("=_load_{:016x}", rng.random::<u64>());
        let size = rng.random_range(1_000..8_000);
        let mut data = vec![0u8; size];
        rng.fill(&mut data[..]);
        let (ctype, fname) = if rng.random_bool(0.5) {
            ("application/pdf", "setlist.pdf")
        } else {
            ("image/png", "photo.png")
        };
        h.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
             This is a multi-part message in MIME format.\r\n\r\n\
             --{boundary}\r\n{part_headers}\r\n{part_body}\r\n\
             --{boundary}\r\nContent-Type: {ctype}; name=\"{fname}\"\r\n\
             Content-Disposition: attachment; filename=\"{fname}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--{boundary}--\r\n",
            base64_lines(&data)
        ));
    } else {
        h.push_str(&part_headers);
        h.push_str("\r\n");
        h.push_str(&part_body);
    }
    h.into_bytes()
}

// ---------------------------------------------------------------------------
// SMTP client

struct Smtp {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Smtp {
    async fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut s = Self {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = s.reply().await?;
        ensure!(greeting.starts_with("220"), "greeting: {greeting}");
        let r = s.cmd("EHLO load.example").await?;
        ensure!(r.starts_with("250"), "EHLO: {r}");
        Ok(s)
    }

    /// One (possibly multi-line) reply.
    async fn reply(&mut self) -> Result<String> {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n =
                tokio::time::timeout(Duration::from_secs(120), self.reader.read_line(&mut line))
                    .await
                    .context("SMTP reply timed out")??;
            ensure!(n > 0, "connection closed (after {all:?})");
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return Ok(all);
            }
        }
    }

    async fn cmd(&mut self, line: &str) -> Result<String> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await?;
        self.reply().await
    }

    /// MAIL, RCPT, DATA, message: the final reply.
    async fn send(&mut self, from: &str, raw: &[u8]) -> Result<String> {
        let r = self.cmd(&format!("MAIL FROM:<{from}>")).await?;
        if !r.starts_with("250") {
            return Ok(r);
        }
        let r = self.cmd(&format!("RCPT TO:<{CONCIERGE_ADDRESS}>")).await?;
        if !r.starts_with("250") {
            let _ = self.cmd("RSET").await?;
            return Ok(r);
        }
        let r = self.cmd("DATA").await?;
        if !r.starts_with("354") {
            return Ok(r);
        }
        let mut body = Vec::with_capacity(raw.len() + 64);
        for line in raw.split_inclusive(|b| *b == b'\n') {
            if line.starts_with(b".") {
                body.push(b'.');
            }
            body.extend_from_slice(line);
        }
        if !body.ends_with(b"\r\n") {
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b".\r\n");
        self.writer.write_all(&body).await?;
        self.reply().await
    }
}

// ---------------------------------------------------------------------------
// Relay sink

/// Mail received by the relay sink.
struct Arrival {
    at: Instant,
    /// In-Reply-To without brackets.
    in_reply_to: Option<String>,
    /// Whether it went to a volunteer.
    volunteer: bool,
    /// Whether it went to the person on call (`--imminent`).
    on_call: bool,
    subject: Option<String>,
}

type Arrivals = Arc<Mutex<Vec<Arrival>>>;

/// The address of the coordinator on call during `--imminent` runs.
const ON_CALL: &str = "on-call@coordinators.example.org";

struct Recorder(Arrivals);

impl concierge_smtp::MessageSink for Recorder {
    fn accepts_recipient(&self, _rcpt: &str) -> bool {
        true
    }

    async fn deliver(&self, envelope: concierge_smtp::Envelope) -> concierge_smtp::Delivery {
        let at = Instant::now();
        let headers = mail_parser::MessageParser::default().parse_headers(&envelope.data);
        let in_reply_to = headers
            .as_ref()
            .and_then(|m| m.in_reply_to().as_text().map(|s| strip(s).to_owned()));
        let subject = headers
            .as_ref()
            .and_then(|m| m.subject().map(str::to_owned));
        if let Ok(mut v) = self.0.lock() {
            let volunteer = envelope
                .rcpt_to
                .iter()
                .any(|r| r.ends_with("@volunteers.example.org"));
            let on_call = envelope.rcpt_to.iter().any(|r| r == ON_CALL);
            v.push(Arrival {
                at,
                in_reply_to,
                volunteer,
                on_call,
                subject,
            });
        }
        concierge_smtp::Delivery::Accepted { id: "sink".into() }
    }
}

fn strip(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

async fn start_sink() -> Result<(SocketAddr, Arrivals)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let arrivals: Arrivals = Arc::new(Mutex::new(Vec::new()));
    let config = concierge_smtp::SmtpConfig {
        max_connections: 1000,
        max_connections_per_ip: 0,
        ..concierge_smtp::SmtpConfig::default()
    };
    tokio::spawn(concierge_smtp::serve(
        listener,
        config,
        Arc::new(Recorder(arrivals.clone())),
        std::future::pending::<()>(),
    ));
    Ok((addr, arrivals))
}

// ---------------------------------------------------------------------------
// The server

async fn ready(http: SocketAddr) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(http).await?;
        s.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(
            buf.starts_with(b"HTTP/1.1 200") || buf.starts_with(b"HTTP/1.0 200"),
        )
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Ok(true))
    )
}

/// Peak resident set size of a process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// ---------------------------------------------------------------------------
// The run

/// Percentile of `sorted` among `expected` values, the missing ones
/// counting as later than `wait_secs`.
fn late(sorted: &[f64], expected: usize, p: f64, wait_secs: u64) -> String {
    let mut all = sorted.to_vec();
    all.resize(expected.max(sorted.len()), f64::INFINITY);
    let v = percentile(&all, p);
    if v.is_infinite() {
        format!("> {wait_secs} s")
    } else {
        format!("{v:.1} ms")
    }
}

/// CPU counters of the machine, the server and this process.
#[derive(Clone, Copy)]
struct Cpu {
    at: Instant,
    total: u64,
    idle: u64,
    iowait: u64,
    server: u64,
    me: u64,
    postgres: u64,
    cores: usize,
}

/// CPU use between two samples.
struct CpuUse {
    secs: f64,
    cores: usize,
    busy_pct: f64,
    iowait_pct: f64,
    server_cores: f64,
    self_cores: f64,
    postgres_cores: f64,
}

impl CpuUse {
    fn rest_cores(&self) -> f64 {
        (self.busy_pct / 100.0 * self.cores as f64
            - self.server_cores
            - self.self_cores
            - self.postgres_cores)
            .max(0.0)
    }
}

/// utime + stime of a process, in clock ticks.
fn proc_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat; `after` starts at field 3.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// utime + stime of every `postgres` process on the machine (backends
/// that exit between two samples are missed: ours live for the whole run).
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(proc_ticks)
        .sum()
}

impl Cpu {
    fn sample(server: u32) -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let v: Vec<u64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let cores = stat
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
            .count();
        Some(Self {
            at: Instant::now(),
            total: v.iter().take(8).sum(),
            idle: *v.get(3)?,
            iowait: *v.get(4)?,
            server: proc_ticks(server).unwrap_or(0),
            me: proc_ticks(std::process::id())?,
            postgres: postgres_ticks(),
            cores: cores.max(1),
        })
    }

    fn since(&self, start: &Self) -> CpuUse {
        let total = self.total.saturating_sub(start.total).max(1) as f64;
        let idle = self.idle.saturating_sub(start.idle) as f64;
        let iowait = self.iowait.saturating_sub(start.iowait) as f64;
        let secs = (self.at - start.at).as_secs_f64().max(1e-3);
        // Linux reports process times in USER_HZ = 100 ticks per second.
        let cores = |ticks: u64| ticks as f64 / 100.0 / secs;
        CpuUse {
            secs,
            cores: self.cores,
            busy_pct: 100.0 * (total - idle - iowait) / total,
            iowait_pct: 100.0 * iowait / total,
            server_cores: cores(self.server.saturating_sub(start.server)),
            self_cores: cores(self.me.saturating_sub(start.me)),
            postgres_cores: cores(self.postgres.saturating_sub(start.postgres)),
        }
    }
}

/// One SMTP transaction's outcome.
struct Sent {
    index: usize,
    code: u16,
    /// The case reference at the end of the `250` reply.
    reference: Option<String>,
    latency_ms: f64,
    at: Instant,
}

#[allow(clippy::too_many_arguments)]
async fn load(
    args: &RunArgs,
    concierge: &Path,
    root: &Path,
    tag: &str,
    main_db: &str,
    ceiling_db: &str,
    server: &mut Option<Child>,
) -> Result<bool> {
    let db_url = with_database(&args.database_url, main_db)?;
    let store = Store::connect_lazy(&db_url, 4)?;
    store.migrate().await.context("migrating the database")?;
    let pool = store.pool().clone();
    let capacity = i32::try_from(args.messages + 10).context("capacity")?;
    for c in COUNTRIES {
        let email = format!("{}@volunteers.example.org", c.code.to_ascii_lowercase());
        let langs: Vec<String> = c.languages.iter().map(|l| (*l).to_owned()).collect();
        store
            .add_volunteer(&email, c.volunteer, &[c.code.to_owned()], &langs, capacity)
            .await
            .with_context(|| format!("adding volunteer {email}"))?;
    }
    let hub_file = root.join("config/resource-hub/hub.toml");
    let hub = concierge::hub::import(&store, &hub_file).await?;
    eprintln!(
        "migrated; {} volunteers (capacity {capacity}); hub: {} entries",
        COUNTRIES.len(),
        hub.entries
    );
    if args.seed_tickets > 0 {
        seed_tickets(&pool, args.seed_tickets).await?;
    }
    if args.imminent > 0 {
        store
            .create_user(
                ON_CALL,
                "On-call coordinator",
                concierge_access::Role::Coordinator,
                None,
                None,
            )
            .await
            .context("adding the on-call coordinator")?;
        let now = chrono::Utc::now();
        store
            .add_on_call(
                ON_CALL,
                "*",
                now - chrono::Duration::hours(1),
                now + chrono::Duration::days(1),
                None,
            )
            .await
            .context("adding the on-call shift")?
            .context("the on-call coordinator was not found")?;
        eprintln!("{ON_CALL} on call everywhere");
    }

    let started = Instant::now();
    let mut msgs = generate(tag, args.messages, args.connections, args.seed);
    add_imminent(tag, &mut msgs, args.imminent, args.seed);
    let msgs = Arc::new(msgs);
    let bytes: usize = msgs.iter().map(|m| m.raw.len()).sum();
    let replies = msgs.iter().filter(|m| m.reply).count();
    eprintln!(
        "generated {} messages ({:.1} MB, {replies} replies) in {:.1} s",
        msgs.len(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let (sink_addr, arrivals) = start_sink().await?;
    let http: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let smtp: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let child = Command::new(concierge)
        .arg("serve")
        .current_dir(root)
        .env("DATABASE_URL", &db_url)
        .env("CONCIERGE__HTTP__ADDR", http.to_string())
        .env("CONCIERGE__SMTP__ADDR", smtp.to_string())
        .env(
            "CONCIERGE__MAIL__OUTBOUND_URL",
            format!("smtp://{sink_addr}"),
        )
        .env(
            "CONCIERGE__SMTP__MAX_CONNECTIONS_PER_IP",
            (args.connections + 10).to_string(),
        )
        .env("CONCIERGE__ACK__MAX_PER_REQUESTER", "1000000")
        .env("RUST_LOG", "warn")
        .envs(server_env(&args.server_env)?)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} serve", concierge.display()))?;
    let pid = child.id().context("server pid")?;
    let child = server.insert(child);
    let up = Instant::now();
    while !ready(http).await {
        if let Some(status) = child.try_wait()? {
            bail!("concierge serve exited early ({status})");
        }
        ensure!(
            up.elapsed() < Duration::from_secs(60),
            "concierge serve not ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "concierge serve (pid {pid}) ready in {:.1} s: smtp {smtp}, http {http}, relay sink {sink_addr}",
        up.elapsed().as_secs_f64()
    );

    // Send.
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let cpu_start = Cpu::sample(pid);
    let send_start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        let (msgs, next, done) = (msgs.clone(), next.clone(), done.clone());
        tasks.spawn(async move {
            let mut out = Vec::new();
            let mut conn: Option<Smtp> = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= msgs.len() {
                    if let Some(mut c) = conn {
                        let _ = c.cmd("QUIT").await;
                    }
                    return out;
                }
                let m = &msgs[i];
                let t0 = Instant::now();
                let result = async {
                    if conn.is_none() {
                        conn = Some(Smtp::connect(smtp).await?);
                    }
                    let c = conn.as_mut().context("connection")?;
                    let t0 = Instant::now();
                    let r = c.send(&m.from, &m.raw).await?;
                    Ok::<_, anyhow::Error>((t0, r))
                }
                .await;
                let (code, reference, t_start) = match result {
                    Ok((t, r)) => (
                        r.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0),
                        r.trim().rsplit(' ').next().map(str::to_owned),
                        t,
                    ),
                    Err(e) => {
                        eprintln!("\nmessage {i}: {e:#}");
                        conn = None;
                        (0, None, t0)
                    }
                };
                let at = Instant::now();
                out.push(Sent {
                    index: i,
                    code,
                    reference,
                    latency_ms: (at - t_start).as_secs_f64() * 1000.0,
                    at,
                });
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut sent: Vec<Sent> = Vec::with_capacity(args.messages);
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                None => break,
                Some(r) => sent.extend(r.context("sender task panicked")?),
            },
            _ = ticker.tick() => {
                if let Some(status) = child.try_wait()? {
                    bail!("concierge serve exited during the run ({status})");
                }
                eprint!("\rsent {}/{}   ", done.load(Ordering::Relaxed), args.messages);
            }
        }
    }
    let cpu_sent = Cpu::sample(pid);
    let ok: Vec<&Sent> = sent.iter().filter(|s| s.code == 250).collect();
    let wall = sent
        .iter()
        .map(|s| s.at)
        .max()
        .map_or(0.0, |t| (t - send_start).as_secs_f64());
    eprintln!(
        "\rsent {} messages in {wall:.2} s: {} answered 250",
        sent.len(),
        ok.len()
    );
    let mut codes: HashMap<u16, usize> = HashMap::new();
    for s in &sent {
        *codes.entry(s.code).or_default() += 1;
    }

    // Verify: every 250 stored exactly once.
    // (Seeded cases, `--seed-tickets`, are left out.)
    let stored: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT message_id, count(*) FROM messages
         WHERE direction = 'inbound' AND message_id NOT LIKE 'seed-%@seed.example.net'
         GROUP BY message_id",
    )
    .fetch_all(&pool)
    .await?;
    let stored: HashMap<String, i64> = stored
        .into_iter()
        .filter_map(|(id, n)| id.map(|id| (strip(&id).to_owned(), n)))
        .collect();
    let mut missing = Vec::new();
    let mut duplicated = Vec::new();
    for s in &ok {
        match stored.get(&msgs[s.index].message_id) {
            None => missing.push(msgs[s.index].message_id.clone()),
            Some(n) if *n > 1 => duplicated.push((msgs[s.index].message_id.clone(), *n)),
            Some(_) => {}
        }
    }
    let stored_total: i64 = stored.values().sum();

    // Wait for assignments and acknowledgements.
    let tickets: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tickets WHERE subject NOT LIKE 'Seeded case %'")
            .fetch_one(&pool)
            .await?;
    let receipt: HashMap<&str, Instant> = ok
        .iter()
        .map(|s| (msgs[s.index].message_id.as_str(), s.at))
        .collect();
    let urgent_accepted = ok.iter().filter(|s| msgs[s.index].imminent).count();
    let deadline = Instant::now() + Duration::from_secs(args.wait_secs);
    let (mut assigned, mut acked);
    loop {
        assigned = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL",
        )
        .fetch_one(&pool)
        .await?;
        acked = {
            let a = arrivals.lock().map_err(|_| anyhow!("sink lock"))?;
            a.iter()
                .filter(|a| {
                    a.in_reply_to
                        .as_deref()
                        .is_some_and(|id| receipt.contains_key(id))
                })
                .count() as i64
        };
        let notices = {
            let a = arrivals.lock().map_err(|_| anyhow!("sink lock"))?;
            a.iter().filter(|a| a.on_call).count()
        };
        eprint!("\rassigned {assigned}/{tickets}, acknowledged {acked}/{tickets}   ");
        if (assigned >= tickets && acked >= tickets && notices >= urgent_accepted)
            || Instant::now() > deadline
        {
            eprintln!();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rss_kib = vm_hwm_kib(pid);

    let mut assign_ms: Vec<f64> = sqlx::query_scalar(
        "SELECT (EXTRACT(EPOCH FROM a.assigned_at - t.created_at) * 1000)::float8
         FROM assignments a JOIN tickets t ON t.id = a.ticket_id
         WHERE a.ended_at IS NULL",
    )
    .fetch_all(&pool)
    .await?;
    assign_ms.sort_by(f64::total_cmp);
    let mut ack_ms: Vec<f64> = {
        let a = arrivals.lock().map_err(|_| anyhow!("sink lock"))?;
        a.iter()
            .filter_map(|a| {
                let t = receipt.get(a.in_reply_to.as_deref()?)?;
                Some(a.at.saturating_duration_since(*t).as_secs_f64() * 1000.0)
            })
            .collect()
    };
    ack_ms.sort_by(f64::total_cmp);
    let mut smtp_ms: Vec<f64> = ok.iter().map(|s| s.latency_ms).collect();
    smtp_ms.sort_by(f64::total_cmp);
    let (sink_total, sink_volunteer) = {
        let a = arrivals.lock().map_err(|_| anyhow!("sink lock"))?;
        (a.len(), a.iter().filter(|a| a.volunteer).count())
    };
    let lane = urgent_lane(&arrivals, &msgs, &ok)?;
    let cpu_drain = Cpu::sample(pid);

    // The server's done: stop it before measuring the ceiling.
    if let Some(mut c) = server.take() {
        let _ = c.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), c.wait()).await;
    }
    pool.close().await;

    let mut ceiling_cpu = String::new();
    let ceiling = if args.no_ceiling {
        None
    } else {
        let url = with_database(&args.database_url, ceiling_db)?;
        let (rate, wall, cpu) = ceiling(&url, &msgs, args.connections, args.seed_tickets).await?;
        ceiling_cpu = cpu;
        Some((rate, wall))
    };

    // Report.
    let rate = ok.len() as f64 / wall;
    println!("concierge-load run");
    println!(
        "  messages                    {} sent over {} connections, {:.1} MB, {replies} replies",
        args.messages,
        args.connections,
        bytes as f64 / 1e6
    );
    let mut codes: Vec<_> = codes.into_iter().collect();
    codes.sort_unstable();
    println!(
        "  replies                     {}",
        codes
            .iter()
            .map(|(c, n)| format!(
                "{n}×{}",
                if *c == 0 {
                    "error".into()
                } else {
                    c.to_string()
                }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  committed throughput        {rate:.0} msg/s ({} × 250 in {wall:.2} s)",
        ok.len()
    );
    println!(
        "  SMTP transaction (MAIL→250) p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        percentile(&smtp_ms, 50.0),
        percentile(&smtp_ms, 99.0),
        smtp_ms.last().copied().unwrap_or(f64::NAN)
    );
    let expected = usize::try_from(tickets).unwrap_or(0);
    println!(
        "  commit→assignment           p50 {}  p99 {}  max {}  ({}/{tickets} tickets assigned)",
        late(&assign_ms, expected, 50.0, args.wait_secs),
        late(&assign_ms, expected, 99.0, args.wait_secs),
        late(&assign_ms, expected, 100.0, args.wait_secs),
        assigned
    );
    println!(
        "  receipt→ack at relay        p50 {}  p99 {}  max {}  ({} acks for {tickets} tickets within the wait; \
         {sink_total} mails at the sink, {sink_volunteer} of them to volunteers)",
        late(&ack_ms, expected, 50.0, args.wait_secs),
        late(&ack_ms, expected, 99.0, args.wait_secs),
        late(&ack_ms, expected, 100.0, args.wait_secs),
        ack_ms.len()
    );
    if let (Some(a), Some(b), Some(c)) = (cpu_start, cpu_sent, cpu_drain) {
        let (send, drain) = (b.since(&a), c.since(&b));
        println!(
            "  CPU while sending           machine {:.0}% busy ({:.0}% iowait) of {} cores; server {:.2} cores, Postgres {:.2} cores, load generator {:.2} cores, other {:.2} cores",
            send.busy_pct,
            send.iowait_pct,
            send.cores,
            send.server_cores,
            send.postgres_cores,
            send.self_cores,
            send.rest_cores()
        );
        println!(
            "  CPU after sending           machine {:.0}% busy ({:.0}% iowait); server {:.2} cores, Postgres {:.2} cores, other {:.2} cores ({:.1} s)",
            drain.busy_pct,
            drain.iowait_pct,
            drain.server_cores,
            drain.postgres_cores,
            drain.rest_cores(),
            drain.secs
        );
    }
    match rss_kib {
        Some(k) => println!("  server peak RSS (VmHWM)     {:.1} MB", k as f64 / 1024.0),
        None => println!("  server peak RSS (VmHWM)     unavailable"),
    }
    if let Some((ceiling_rate, cwall)) = ceiling {
        println!(
            "  Postgres ceiling            {ceiling_rate:.0} msg/s ({} transactions in {cwall:.2} s, {} connections)",
            msgs.len(),
            args.connections
        );
        println!(
            "  ratio to ceiling            {:.1}%",
            100.0 * rate / ceiling_rate
        );
        println!("  CPU during the ceiling      {ceiling_cpu}");
    }
    if args.imminent > 0 {
        lane.print(args.imminent, args.wait_secs);
    }
    let ok_once = missing.is_empty() && duplicated.is_empty();
    println!(
        "  stored exactly once         {} ({} answered 250, {} distinct stored, {stored_total} inbound rows, {} missing, {} duplicated)",
        if ok_once { "OK" } else { "FAIL" },
        ok.len(),
        stored.len(),
        missing.len(),
        duplicated.len()
    );
    for id in missing.iter().take(20) {
        println!("    missing    <{id}>");
    }
    for (id, n) in duplicated.iter().take(20) {
        println!("    duplicated <{id}> ×{n}");
    }
    Ok(ok_once)
}

/// The crisis lane's figures of an `--imminent` run, in milliseconds from
/// the `250` (sorted).
struct Lane {
    /// Receipt → the urgent acknowledgement at the relay.
    ack: Vec<f64>,
    /// Receipt → the on-call notice ("Urgent case C-…") at the relay.
    notice: Vec<f64>,
    /// Receipt → both.
    both: Vec<f64>,
    /// Imminent messages answered 250.
    accepted: usize,
}

impl Lane {
    fn print(&self, sent: usize, wait_secs: u64) {
        let n = self.accepted;
        let row = |label: &str, v: &[f64]| {
            println!(
                "  {label:<28}p50 {}  p99 {}  max {}  ({} of {n})",
                late(v, n, 50.0, wait_secs),
                late(v, n, 99.0, wait_secs),
                late(v, n, 100.0, wait_secs),
                v.len()
            );
        };
        println!("  imminent messages           {sent} sent, {n} answered 250");
        row("receipt→urgent ack", &self.ack);
        row("receipt→on-call notice", &self.notice);
        row("receipt→both", &self.both);
    }
}

/// Matches each accepted imminent message to its acknowledgement (by
/// In-Reply-To) and its on-call notice (by the reference in the subject).
fn urgent_lane(arrivals: &Arrivals, msgs: &[Msg], ok: &[&Sent]) -> Result<Lane> {
    let a = arrivals.lock().map_err(|_| anyhow!("sink lock"))?;
    let mut lane = Lane {
        ack: Vec::new(),
        notice: Vec::new(),
        both: Vec::new(),
        accepted: 0,
    };
    let ms = |at: Instant, from: Instant| at.saturating_duration_since(from).as_secs_f64() * 1000.0;
    for s in ok.iter().filter(|s| msgs[s.index].imminent) {
        lane.accepted += 1;
        let id = msgs[s.index].message_id.as_str();
        let ack = a
            .iter()
            .filter(|r| !r.on_call && r.in_reply_to.as_deref() == Some(id))
            .map(|r| r.at)
            .min();
        let subject = s.reference.as_deref().map(|r| format!("Urgent case {r}"));
        let notice = a
            .iter()
            .filter(|r| r.on_call && r.subject.is_some() && r.subject == subject)
            .map(|r| r.at)
            .min();
        if let Some(t) = ack {
            lane.ack.push(ms(t, s.at));
        }
        if let Some(t) = notice {
            lane.notice.push(ms(t, s.at));
        }
        if let (Some(x), Some(y)) = (ack, notice) {
            lane.both.push(ms(x.max(y), s.at));
        }
    }
    for v in [&mut lane.ack, &mut lane.notice, &mut lane.both] {
        v.sort_by(f64::total_cmp);
    }
    Ok(lane)
}

async fn purge(args: PurgeArgs) -> Result<bool> {
    ensure!(
        args.cases > 0 && args.batch > 0,
        "--cases and --batch must be at least 1"
    );
    let db = format!("concierge_purge_{}", uuid::Uuid::new_v4().simple());
    create_database(&args.database_url, &db).await?;
    let result = async {
        let url = with_database(&args.database_url, &db)?;
        let store = Store::connect_lazy(&url, 4)?;
        store.migrate().await.context("migrating the database")?;
        seed_tickets(store.pool(), args.cases).await?;
        let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
            .fetch_one(store.pool())
            .await?;
        // Every seeded case is past the cutoff (the seed closes cases up to
        // three days ahead of now).
        let now = chrono::Utc::now();
        let cutoffs = concierge_core::privacy::Cutoffs {
            closed_cases: Some(now + chrono::Duration::days(30)),
            raw_mime: None,
            sessions: now,
            login_attempts: now,
        };
        let started = Instant::now();
        let mut batch_ms = Vec::new();
        let mut total = concierge_store::Retained::default();
        loop {
            let t = Instant::now();
            let pass = store.retention_pass(&cutoffs, args.batch).await?;
            if pass.total() == 0 {
                break;
            }
            batch_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            total.add(&pass);
            eprint!(
                "\rpurged {}/{} cases ({:.0} s)   ",
                total.closed_cases.cases,
                args.cases,
                started.elapsed().as_secs_f64()
            );
        }
        let wall = started.elapsed().as_secs_f64();
        eprintln!();
        batch_ms.sort_by(f64::total_cmp);
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
            .fetch_one(store.pool())
            .await?;
        println!("concierge-load purge");
        println!(
            "  seeded                      {} closed cases, {messages} messages (with raw MIME and dedupe rows)",
            args.cases
        );
        println!(
            "  purged                      {} cases, {} messages, {} raw, {} requesters, {} dedupe keys in {wall:.1} s",
            total.closed_cases.cases,
            total.closed_cases.messages,
            total.closed_cases.raw_messages,
            total.closed_cases.requesters,
            total.closed_cases.dedupe_keys
        );
        println!(
            "  rate                        {:.0} messages/s ({:.0} rows/s in all)",
            total.closed_cases.messages as f64 / wall,
            total.total() as f64 / wall
        );
        println!(
            "  batch transaction           p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  ({} batches of {})",
            percentile(&batch_ms, 50.0),
            percentile(&batch_ms, 99.0),
            batch_ms.last().copied().unwrap_or(f64::NAN),
            batch_ms.len(),
            args.batch
        );
        println!("  messages left               {left}");
        store.pool().close().await;
        Ok::<_, anyhow::Error>(left == 0)
    }
    .await;
    match drop_database(&args.database_url, &db).await {
        Ok(()) => eprintln!("dropped database {db}"),
        Err(e) => eprintln!("concierge-load: could not drop database {db}: {e:#}"),
    }
    result
}

/// The raw commit rate of the same rows: one transaction per message with
/// the inserts of `Store::ingest`, plain SQL, `connections` at once.
/// Returns (messages/s, wall seconds).
async fn ceiling(
    url: &str,
    msgs: &Arc<Vec<Msg>>,
    connections: usize,
    seed: usize,
) -> Result<(f64, f64, String)> {
    let store = Store::connect_lazy(url, 2)?;
    store
        .migrate()
        .await
        .context("migrating the ceiling database")?;
    if seed > 0 {
        seed_tickets(store.pool(), seed).await?;
    }
    store.pool().close().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(u32::try_from(connections)?)
        .min_connections(u32::try_from(connections)?)
        .connect(url)
        .await?;
    // Open every connection before timing.
    let mut warm = Vec::new();
    for _ in 0..connections {
        warm.push(pool.acquire().await?);
    }
    drop(warm);
    eprintln!(
        "ceiling: {} transactions over {connections} connections",
        msgs.len()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = Cpu::sample(std::process::id());
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (pool, msgs, next) = (pool.clone(), msgs.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= msgs.len() {
                    return Ok::<(), anyhow::Error>(());
                }
                raw_ingest(&pool, &msgs[i])
                    .await
                    .with_context(|| format!("ceiling message {i}"))?;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("ceiling task panicked")??;
    }
    let wall = start.elapsed().as_secs_f64();
    let mut cpu = String::new();
    if let (Some(a), Some(b)) = (cpu_before, Cpu::sample(std::process::id())) {
        let u = b.since(&a);
        cpu = format!(
            "machine {:.0}% busy ({:.0}% iowait), Postgres {:.2} cores, load generator {:.2} cores, other {:.2} cores",
            u.busy_pct,
            u.iowait_pct,
            u.postgres_cores,
            u.self_cores,
            u.rest_cores()
        );
    }
    pool.close().await;
    Ok((msgs.len() as f64 / wall, wall, cpu))
}

/// `KEY=VALUE` pairs for the server's environment.
fn server_env(pairs: &[String]) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .with_context(|| format!("--server-env {p:?}: expected KEY=VALUE"))?;
            ensure!(!k.is_empty(), "--server-env {p:?}: empty KEY");
            Ok((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Rows per seeding transaction.
const SEED_BATCH: usize = 50_000;

/// Fills the database with `n` stored cases as a mailbox in use for a
/// while: closed, answered, each with its requester, one ~1 KB inbound
/// message, its raw bytes and dedupe row. References are the case number
/// in base 30 over the reference alphabet (valid and unique; new cases
/// draw random ones, so they can collide with these like in a real
/// mailbox). Then VACUUM ANALYZE, so the run starts from settled tables.
async fn seed_tickets(pool: &PgPool, n: usize) -> Result<()> {
    let started = Instant::now();
    let countries = COUNTRIES
        .iter()
        .map(|c| format!("'{}'", c.code))
        .collect::<Vec<_>>()
        .join(",");
    let mut lo = 1;
    while lo <= n {
        let hi = (lo + SEED_BATCH - 1).min(n);
        let (lo64, hi64, n64) = (i64::try_from(lo)?, i64::try_from(hi)?, i64::try_from(n)?);
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO requesters (id, email, name, created_at)
             SELECT md5('r' || g)::uuid, 'seed' || g || '@seed.example.net', 'Seed ' || g,
                    now() - make_interval(secs => ($3 - g + 1) * 60.0)
             FROM generate_series($1::bigint, $2::bigint) g",
        )
        .bind(lo64)
        .bind(hi64)
        .bind(n64)
        .execute(&mut *tx)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO tickets (id, reference, subject, status, requester_id, country,
                country_source, country_confidence, language, message_count, created_at,
                updated_at, last_inbound_at, resolved_at, routing_state,
                first_response_due_at, first_responded_at)
             SELECT md5('t' || g)::uuid,
                    'C-' || (SELECT string_agg(substr('23456789ABCDEFGHJKMNPQRSTVWXYZ',
                                 ((g / (30 ^ k)::bigint) % 30)::int + 1, 1), '' ORDER BY k DESC)
                             FROM generate_series(0, 5) k),
                    'Seeded case ' || g,
                    CASE WHEN g % 7 = 0 THEN 'closed' ELSE 'resolved' END,
                    md5('r' || g)::uuid, (ARRAY[{countries}])[(g % 10) + 1], 'domain', 0.9, 'en',
                    1, ts, ts, ts, ts + interval '3 days', 'pending', ts + interval '1 day',
                    ts + interval '2 hours'
             FROM (SELECT g, now() - make_interval(secs => ($3 - g + 1) * 60.0) AS ts
                   FROM generate_series($1::bigint, $2::bigint) g) s"
        )))
        .bind(lo64)
        .bind(hi64)
        .bind(n64)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO raw_messages (id, sha256, size, data, source, envelope_from, envelope_to,
                received_at)
             SELECT md5('w' || g)::uuid, encode(sha256(body), 'hex'), length(body), body, 'smtp',
                    'seed' || g || '@seed.example.net', ARRAY['global@concierge.example.org'], ts
             FROM (SELECT g, now() - make_interval(secs => ($3 - g + 1) * 60.0) AS ts,
                          convert_to('From: seed' || g || '@seed.example.net' || E'\r\n\r\n'
                                     || repeat(md5(g::text) || ' ', 30), 'UTF8') AS body
                   FROM generate_series($1::bigint, $2::bigint) g) s",
        )
        .bind(lo64)
        .bind(hi64)
        .bind(n64)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO messages (id, ticket_id, direction, class, message_id, from_address,
                from_name, to_addresses, subject, text_body, sent_at, raw_id, created_at)
             SELECT md5('m' || g)::uuid, md5('t' || g)::uuid, 'inbound', 'human',
                    'seed-' || g || '@seed.example.net', 'seed' || g || '@seed.example.net',
                    'Seed ' || g, ARRAY['global@concierge.example.org'], 'Seeded case ' || g,
                    'Hello, I have not slept properly since the tour ended (case ' || g || '). '
                    || repeat('Could you help me find someone to talk to? ', 22),
                    ts, md5('w' || g)::uuid, ts
             FROM (SELECT g, now() - make_interval(secs => ($3 - g + 1) * 60.0) AS ts
                   FROM generate_series($1::bigint, $2::bigint) g) s",
        )
        .bind(lo64)
        .bind(hi64)
        .bind(n64)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO inbound_dedup (key, message_id, ticket_id)
             SELECT 'mid:seed-' || g || '@seed.example.net', md5('m' || g)::uuid,
                    md5('t' || g)::uuid
             FROM generate_series($1::bigint, $2::bigint) g",
        )
        .bind(lo64)
        .bind(hi64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        eprint!(
            "\rseeded {hi}/{n} cases ({:.0} s)   ",
            started.elapsed().as_secs_f64()
        );
        lo = hi + 1;
    }
    sqlx::raw_sql("VACUUM ANALYZE").execute(pool).await?;
    eprintln!(
        "\rseeded {n} cases and vacuumed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn raw_ingest(pool: &PgPool, m: &Msg) -> Result<()> {
    let c = &COUNTRIES[m.country];
    let key = format!("mid:{}", m.message_id);
    let mut tx = pool.begin().await?;
    // As `Store::ingest`: the dedupe lock and look-up in one statement…
    let seen: Option<String> = sqlx::query_scalar(
        "SELECT (SELECT t.reference FROM inbound_dedup d JOIN tickets t ON t.id = d.ticket_id
                 WHERE d.key = $1)
         FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0)) OFFSET 0) l",
    )
    .bind(&key)
    .fetch_one(&mut *tx)
    .await?;
    ensure!(seen.is_none(), "duplicate in the ceiling run");
    let headers = serde_json::json!([
        ["From", format!("{} <{}>", m.from_name, m.from)],
        ["To", CONCIERGE_ADDRESS],
        ["Subject", m.subject],
        ["Message-ID", format!("<{}>", m.message_id)],
    ]);
    // …and every row of the new case in one more.
    let inserted: Option<uuid::Uuid> = sqlx::query_scalar(
        r#"WITH req AS (
               INSERT INTO requesters (id, email, name) VALUES ($1, $2, $3)
               ON CONFLICT (email) DO UPDATE SET name = COALESCE(requesters.name, EXCLUDED.name)
               RETURNING id),
           t AS (
               INSERT INTO tickets (id, reference, subject, requester_id, country, country_source,
                   country_confidence, language, last_inbound_at, first_response_due_at,
                   message_count)
               SELECT $4, $5, $6, (SELECT id FROM req), $7, 'domain', 0.9, $8, now(),
                   now() + make_interval(mins => 1440), 1
               ON CONFLICT (reference) DO NOTHING RETURNING id),
           raw AS (
               INSERT INTO raw_messages (id, sha256, size, data, source, envelope_from,
                   envelope_to)
               SELECT $9, $10, $11, $12, 'smtp', $2, $13 FROM t RETURNING id),
           msg AS (
               INSERT INTO messages (id, ticket_id, direction, class, message_id, in_reply_to,
                   "references", from_address, from_name, to_addresses, subject, text_body,
                   headers, sent_at, raw_id)
               SELECT $14, t.id, 'inbound', 'human', $15, '{}', '{}', $2, $3, $13, $6, $16,
                   $17, now(), raw.id
               FROM t, raw RETURNING id, ticket_id),
           dedup AS (
               INSERT INTO inbound_dedup (key, message_id, ticket_id)
               SELECT $18, msg.id, msg.ticket_id FROM msg)
           SELECT id FROM t"#,
    )
    .bind(uuid::Uuid::new_v4())
    .bind(&m.from)
    .bind(&m.from_name)
    .bind(uuid::Uuid::new_v4())
    .bind(format!(
        "L-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    ))
    .bind(&m.subject)
    .bind(c.code)
    .bind(c.languages[0])
    .bind(uuid::Uuid::new_v4())
    .bind(hex::encode(Sha256::digest(&m.raw)))
    .bind(i32::try_from(m.raw.len())?)
    .bind(&m.raw)
    .bind(vec![CONCIERGE_ADDRESS.to_owned()])
    .bind(uuid::Uuid::new_v4())
    .bind(&m.message_id)
    .bind(&m.text)
    .bind(headers)
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await?;
    ensure!(inserted.is_some(), "reference collision in the ceiling run");
    tx.commit().await?;
    Ok(())
}
