//! `concierge-bench`: load benchmarks for Concierge against a real Postgres.
//!
//! `route` measures commit→assignment latency of routing: it ingests cases
//! through the real inbound pipeline while real `concierge worker`
//! processes route them, then reads the latency of every assignment from
//! the database (`assignments.assigned_at - tickets.created_at`).
//!
//! Build every binary first (`concierge-bench` starts the `concierge`
//! binary that sits next to it):
//!
//! ```text
//! SQLX_OFFLINE=true cargo build --release --workspace --bins
//! target/release/concierge-bench route --cases 10000 --workers 2
//! ```

mod pages;

use concierge_bench::{
    concierge_binary, create_database, drop_database, percentile, with_database,
};
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::{Args, Parser, Subcommand};
use concierge::config::Settings;
use concierge_inbound::{Delivery, Inbound};
use concierge_store::{InboundSource, ROUTE_QUEUE, Store};
use sqlx::PgPool;
use tokio::process::{Child, Command};

/// Load benchmarks for Concierge against a real PostgreSQL server.
///
/// Build every binary first: `SQLX_OFFLINE=true cargo build --release --workspace --bins`
/// (the benchmark starts the `concierge` binary found next to its own).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure commit→assignment latency of routing.
    ///
    /// Creates a fresh database `concierge_bench_<random>` on the server,
    /// adds one volunteer per country (10 countries) with room for every
    /// case, starts N `concierge worker` processes, ingests the cases
    /// through the real inbound pipeline from concurrent tasks, waits until
    /// every case is assigned, and prints ingest rate, routing throughput and
    /// latency percentiles. Checks that no volunteer is over capacity and no
    /// case has more than one live assignment (exit status 1 on failure).
    /// Kills the workers and drops the database at the end.
    Route(RouteArgs),
    /// Measure dashboard page latency (queue and case pages) with many
    /// signed-in sessions against a large seeded mailbox.
    Pages(pages::PagesArgs),
}

#[derive(Args)]
struct RouteArgs {
    /// Cases (new tickets from distinct senders) to ingest.
    #[arg(long, default_value_t = 10_000)]
    cases: usize,
    /// `concierge worker` processes to start.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Route jobs each worker process runs at once
    /// (its CONCIERGE__WORKER__CONCURRENCY).
    #[arg(long, default_value_t = 8)]
    worker_concurrency: usize,
    /// Concurrent ingest tasks in this process.
    #[arg(long, default_value_t = 8)]
    ingest_tasks: usize,
    /// A database URL on the server to use; the benchmark creates (and
    /// drops) its own database there, so the role needs CREATEDB.
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Give up waiting for assignments after this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    timeout_secs: u64,
    /// Keep the benchmark database afterwards (for inspection).
    #[arg(long)]
    keep_database: bool,
}

/// A country the cases come from: one volunteer covers it.
struct Country {
    code: &'static str,
    languages: &'static [&'static str],
    volunteer: &'static str,
    domain: &'static str,
    names: &'static [&'static str],
    subject: &'static str,
    body: &'static str,
    phone: &'static str,
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
        phone: "+55 11 98765-4321",
    },
    Country {
        code: "DE",
        languages: &["de", "en"],
        volunteer: "Hans Becker",
        domain: "web.de",
        names: &["Lukas Müller", "Anna Schmidt", "Jonas Weber", "Lea Fischer"],
        subject: "Ich brauche Hilfe",
        body: "Hallo, ich wohne in Berlin und seit dem Ende der Tour geht es mir gar nicht gut. Ich schlafe kaum noch und brauche jemanden zum Reden.",
        phone: "+49 30 12345678",
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
        phone: "+33 6 12 34 56 78",
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
        phone: "+1 615 555 0142",
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
        phone: "+44 7700 900123",
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
        phone: "+81 90-1234-5678",
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
        phone: "+34 612 34 56 78",
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
        phone: "+39 347 123 4567",
    },
    Country {
        code: "NL",
        languages: &["nl", "en"],
        volunteer: "Sanne de Vries",
        domain: "ziggo.nl",
        names: &["Daan Jansen", "Emma de Jong", "Bram Bakker", "Lotte Visser"],
        subject: "Hulp gevraagd",
        body: "Hallo, ik woon in Amsterdam en het gaat al weken niet goed met me sinds de tour voorbij is. Ik wil graag met iemand praten.",
        phone: "+31 6 12345678",
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
        phone: "+52 55 1234 5678",
    },
];

const CONCIERGE_ADDRESS: &str = "global@concierge.example.org";

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Route(args) => route(args).await,
        Cmd::Pages(args) => pages::run(args).await.map(|c| c == ExitCode::SUCCESS),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("concierge-bench: checks FAILED");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("concierge-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn route(args: RouteArgs) -> Result<bool> {
    ensure!(args.cases > 0, "--cases must be at least 1");
    ensure!(args.workers > 0, "--workers must be at least 1");
    ensure!(args.ingest_tasks > 0, "--ingest-tasks must be at least 1");
    let concierge = concierge_binary("concierge-bench")?;

    let db_name = format!("concierge_bench_{}", uuid::Uuid::new_v4().simple());
    let db_url = with_database(&args.database_url, &db_name)?;
    create_database(&args.database_url, &db_name).await?;

    let mut workers = Vec::new();
    let result = tokio::select! {
        r = bench(&args, &concierge, &db_url, &mut workers) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };

    for w in &mut workers {
        let _ = w.start_kill();
    }
    for w in &mut workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), w.wait()).await;
    }
    if args.keep_database {
        eprintln!("kept database {db_url}");
    } else if let Err(e) = drop_database(&args.database_url, &db_name).await {
        eprintln!("concierge-bench: could not drop database {db_name}: {e:#}");
    } else {
        eprintln!("dropped database {db_name}");
    }
    result
}

/// One raw message from a distinct sender in `COUNTRIES[i % len]`.
fn delivery(run: &str, i: usize) -> Delivery {
    let c = &COUNTRIES[i % COUNTRIES.len()];
    let name = c.names[(i / COUNTRIES.len()) % c.names.len()];
    let first = name.split(' ').next().unwrap_or("someone");
    let local: String = first
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    // The `-cc` suffix lets the report compare the inferred country.
    let from = format!("{local}.{i}-{}@{}", c.code.to_ascii_lowercase(), c.domain);
    let raw = format!(
        "From: {name} <{from}>\r\n\
         To: {CONCIERGE_ADDRESS}\r\n\
         Subject: {subject}\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <bench-{run}-{i}@{domain}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         {body}\r\n\r\n{name}\r\n{phone}\r\n",
        subject = c.subject,
        domain = c.domain,
        body = c.body,
        phone = c.phone,
    );
    Delivery {
        source: InboundSource::Smtp,
        envelope_from: Some(from),
        envelope_to: vec![CONCIERGE_ADDRESS.to_owned()],
        raw: raw.into_bytes(),
    }
}

fn spawn_worker(concierge: &Path, db_url: &str, concurrency: usize) -> Result<Child> {
    Command::new(concierge)
        .arg("worker")
        .env("DATABASE_URL", db_url)
        .env("CONCIERGE__WORKER__CONCURRENCY", concurrency.to_string())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} worker", concierge.display()))
}

fn check_workers(workers: &mut [Child]) -> Result<()> {
    for w in workers.iter_mut() {
        if let Some(status) = w.try_wait()? {
            bail!("a worker process exited early ({status})");
        }
    }
    Ok(())
}

async fn count(pool: &PgPool, sql: &'static str) -> Result<i64> {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .with_context(|| format!("running {sql}"))
}

/// Route jobs not finished yet.
async fn open_route_jobs(pool: &PgPool) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = $1
         AND status IN ('Pending','Queued','Running')",
    )
    .bind(ROUTE_QUEUE)
    .fetch_one(pool)
    .await?)
}

async fn bench(
    args: &RouteArgs,
    concierge: &Path,
    db_url: &str,
    workers: &mut Vec<Child>,
) -> Result<bool> {
    let store = Store::connect_lazy(db_url, (args.ingest_tasks + 4) as u32)?;
    store
        .migrate()
        .await
        .context("migrating the benchmark database")?;
    let pool = store.pool().clone();

    // One volunteer per country, with room for every case from it.
    let per_country = args.cases.div_ceil(COUNTRIES.len());
    let capacity = i32::try_from(per_country + per_country / 10 + 10).context("capacity")?;
    for c in COUNTRIES {
        let email = format!("{}@volunteers.example.org", c.code.to_ascii_lowercase());
        let langs: Vec<String> = c.languages.iter().map(|l| (*l).to_owned()).collect();
        store
            .add_volunteer(&email, c.volunteer, &[c.code.to_owned()], &langs, capacity)
            .await
            .with_context(|| format!("adding volunteer {email}"))?;
    }

    // Worker processes; wait until each has registered with the queue.
    for _ in 0..args.workers {
        workers.push(spawn_worker(concierge, db_url, args.worker_concurrency)?);
    }
    let started = Instant::now();
    loop {
        check_workers(workers)?;
        let registered = count(&pool, "SELECT count(*) FROM apalis.workers").await?;
        if registered >= args.workers as i64 {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "only {registered} of {} workers registered within 60 s",
                args.workers
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let their queue listeners settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!(
        "{} worker process(es) up (concurrency {} each); {} volunteers × capacity {capacity}",
        args.workers,
        args.worker_concurrency,
        COUNTRIES.len()
    );

    // The real inbound pipeline, as `serve` builds it.
    let mut settings = Settings::load(None).context("loading default settings")?;
    settings.database.url = db_url.to_owned();
    let inbound: Inbound = concierge::app::inbound(&settings, &store).await?;

    let run = uuid::Uuid::new_v4().simple().to_string();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let ingest_start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.ingest_tasks {
        let (inbound, next, done, run) = (inbound.clone(), next.clone(), done.clone(), run.clone());
        let cases = args.cases;
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cases {
                    return Ok::<(), anyhow::Error>(());
                }
                inbound
                    .ingest(delivery(&run, i))
                    .await
                    .with_context(|| format!("ingesting case {i}"))?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                None => break,
                Some(r) => r.context("ingest task panicked")??,
            },
            _ = ticker.tick() => {
                check_workers(workers)?;
                eprint!("\ringested {}/{}   ", done.load(Ordering::Relaxed), args.cases);
            }
        }
    }
    let ingest_secs = ingest_start.elapsed().as_secs_f64();
    eprintln!(
        "\ringested {}/{} in {ingest_secs:.2} s",
        args.cases, args.cases
    );

    let tickets = count(&pool, "SELECT count(*) FROM tickets").await?;
    ensure!(
        tickets == args.cases as i64,
        "{} cases ingested but {tickets} tickets exist (threaded or deduplicated?)",
        args.cases
    );

    // Wait for every ticket to be assigned.
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        let unassigned = count(
            &pool,
            "SELECT count(*) FROM tickets WHERE assignee_id IS NULL",
        )
        .await?;
        eprint!("\rassigned {}/{}   ", tickets - unassigned, tickets);
        if unassigned == 0 {
            eprintln!();
            break;
        }
        check_workers(workers)?;
        let parked = count(
            &pool,
            "SELECT count(*) FROM tickets WHERE assignee_id IS NULL \
             AND routing_state IN ('triage','waiting')",
        )
        .await?;
        if parked == unassigned && open_route_jobs(&pool).await? == 0 {
            eprintln!();
            bail!(
                "{unassigned} case(s) went to triage or are waiting and will not be routed \
                 (country not inferred or not covered?)"
            );
        }
        if Instant::now() > deadline {
            eprintln!();
            bail!(
                "{unassigned} case(s) still unassigned after {} s",
                args.timeout_secs
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Latency per ticket, from the database.
    let mut ms: Vec<f64> = sqlx::query_scalar(
        "SELECT (EXTRACT(EPOCH FROM a.assigned_at - t.created_at) * 1000)::float8
         FROM assignments a JOIN tickets t ON t.id = a.ticket_id
         WHERE a.ended_at IS NULL",
    )
    .fetch_all(&pool)
    .await?;
    ms.sort_by(f64::total_cmp);
    let (span_secs, commit_span_secs): (f64, f64) = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM max(a.assigned_at) - min(t.created_at))::float8,
                EXTRACT(EPOCH FROM max(t.created_at) - min(t.created_at))::float8
         FROM assignments a JOIN tickets t ON t.id = a.ticket_id
         WHERE a.ended_at IS NULL",
    )
    .fetch_one(&pool)
    .await?;
    let matched = count(
        &pool,
        "SELECT count(*) FROM tickets t JOIN requesters r ON r.id = t.requester_id
         WHERE t.country = upper(substring(r.email from '-([a-z]{2})@'))",
    )
    .await?;

    println!("concierge-bench route");
    println!("  cases                       {}", args.cases);
    println!(
        "  workers                     {} process(es) × concurrency {}",
        args.workers, args.worker_concurrency
    );
    println!(
        "  ingest                      {:.0} cases/s ({} tasks, {ingest_secs:.2} s wall; commits spread over {commit_span_secs:.2} s)",
        args.cases as f64 / ingest_secs,
        args.ingest_tasks
    );
    println!(
        "  routing throughput          {:.0} assignments/s ({} over {span_secs:.2} s, first commit → last assignment)",
        ms.len() as f64 / span_secs,
        ms.len()
    );
    println!("  commit→assignment latency   (ms)");
    for (label, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)] {
        println!("    {label:<4} {:>10.1}", percentile(&ms, p));
    }
    println!("    max  {:>10.1}", ms.last().copied().unwrap_or(f64::NAN));
    println!("  country inferred as sent    {matched}/{tickets}");

    // Checks.
    let over: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT v.email, v.capacity, count(t.id) FROM volunteers v
         LEFT JOIN tickets t ON t.assignee_id = v.id AND t.status NOT IN ('resolved','closed')
         GROUP BY v.id, v.email, v.capacity HAVING count(t.id) > v.capacity",
    )
    .fetch_all(&pool)
    .await?;
    let doubled = count(
        &pool,
        "SELECT count(*) FROM (SELECT ticket_id FROM assignments WHERE ended_at IS NULL
                               GROUP BY ticket_id HAVING count(*) > 1) d",
    )
    .await?;
    let inconsistent = count(
        &pool,
        "SELECT count(*) FROM tickets t WHERE t.assignee_id IS NOT NULL AND NOT EXISTS
           (SELECT 1 FROM assignments a WHERE a.ticket_id = t.id AND a.ended_at IS NULL
              AND a.volunteer_id = t.assignee_id)",
    )
    .await?;
    let ok_capacity = over.is_empty();
    let ok_single = doubled == 0 && inconsistent == 0 && ms.len() as i64 == tickets;
    let verdict = |ok: bool| if ok { "OK" } else { "FAIL" };
    println!("  no volunteer over capacity  {}", verdict(ok_capacity));
    for (email, cap, n) in &over {
        println!("    {email}: {n} open cases, capacity {cap}");
    }
    println!(
        "  one live assignment/ticket  {}{}",
        verdict(ok_single),
        if ok_single {
            String::new()
        } else {
            format!(
                " ({doubled} with several, {inconsistent} not matching assignee, {} live for {tickets} tickets)",
                ms.len()
            )
        }
    );
    Ok(ok_capacity && ok_single)
}
