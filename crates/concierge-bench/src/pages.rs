//! `concierge-bench pages`: dashboard page latency at a large mailbox.
//!
//! Seeds a throwaway database with N tickets straight in SQL
//! (`generate_series`: minutes, not hours, for a million), starts the real
//! `concierge serve`, signs in S browser-like sessions (coordinators and
//! caseworkers, each with its own cookie jar) and has every session load
//! queue pages (default, filtered, searched, sorted, next page) and case
//! pages in a loop for a fixed time. Prints p50/p90/p99/max per page kind
//! and counts every non-200 answer as an error (exit status 1).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use concierge_bench::{
    concierge_binary, create_database, drop_database, free_port, percentile, with_database,
};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::process::Command;

/// Options of `pages`.
#[derive(Args)]
pub(crate) struct PagesArgs {
    /// Tickets to seed (one message each).
    #[arg(long, default_value_t = 1_000_000)]
    tickets: u64,
    /// Concurrent signed-in sessions.
    #[arg(long, default_value_t = 50)]
    sessions: usize,
    /// How long every session keeps loading pages.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    duration_secs: u64,
    /// A database URL on the server; the benchmark creates (and drops) its
    /// own database there.
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Keep the seeded database afterwards (its name is printed); pass it
    /// to --reuse-database to measure again without seeding.
    #[arg(long)]
    keep_database: bool,
    /// Measure against an existing seeded database instead of seeding.
    #[arg(long, value_name = "NAME")]
    reuse_database: Option<String>,
}

/// Countries of the seeded cases. The mailbox is a mature one: 0.5 % of
/// the cases open (5,000 of a million), two in three of those assigned to
/// 300 volunteers (30 per country, about 11 open cases each), the rest
/// resolved or closed.
const COUNTRIES: [&str; 10] = ["BR", "DE", "FR", "ES", "MX", "US", "GB", "JP", "IT", "NL"];
const PASSWORD: &str = "bench-password-not-secret";

/// The seeding SQL for `n` tickets. Each reference is the ticket number in
/// base 30 over the reference alphabet, so references are unique and valid.
fn seed_sql(n: u64) -> String {
    let countries = COUNTRIES
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        r#"
INSERT INTO volunteers (id, email, name, countries, languages, capacity)
SELECT gen_random_uuid(), 'v' || g || '@bench.example.org', 'Volunteer ' || g,
       ARRAY[(ARRAY[{countries}])[(g % 10) + 1]], ARRAY['en'], 1000000
FROM generate_series(0, 299) g;

CREATE TEMP TABLE bench_req AS
SELECT g, gen_random_uuid() AS id FROM generate_series(1, greatest({n} / 3, 1)) g;
INSERT INTO requesters (id, email, name)
SELECT id, 'person' || g || '@example.net', 'Person ' || g FROM bench_req;

CREATE TEMP TABLE bench_ids AS
SELECT g, gen_random_uuid() AS id FROM generate_series(1, {n}) g;

INSERT INTO tickets (id, reference, subject, status, priority, requester_id, country,
                     country_source, country_confidence, language, message_count,
                     created_at, updated_at, last_inbound_at, assignee_id, routing_state,
                     first_response_due_at, first_responded_at, sla_breached_at)
SELECT b.id,
       'C-' || (SELECT string_agg(substr('23456789ABCDEFGHJKMNPQRSTVWXYZ',
                                          ((b.g / (30 ^ k)::bigint) % 30)::int + 1, 1), ''
                                   ORDER BY k DESC)
                FROM generate_series(0, 5) k),
       (ARRAY['Struggling after the tour','Need someone to talk to','Preciso de ajuda',
              'Suche Unterstützung','Besoin d''aide','Necesito hablar con alguien',
              'Panic attacks before shows','Cerco supporto'])[(b.g % 8) + 1],
       CASE WHEN b.g > {n} * 0.995 THEN (ARRAY['new','assigned','in_progress','waiting_on_requester'])[(b.g % 4) + 1]
            WHEN b.g % 7 = 0 THEN 'closed' ELSE 'resolved' END,
       (ARRAY['normal','normal','normal','high','low','urgent'])[(b.g % 6) + 1],
       r.id,
       (ARRAY[{countries}])[(b.g % 10) + 1], 'stated', 0.9, 'en', 1,
       now() - make_interval(secs => ({n} - b.g) * 30),
       now() - make_interval(secs => ({n} - b.g) * 30) + interval '2 hours',
       now() - make_interval(secs => ({n} - b.g) * 30),
       NULL, 'pending',
       now() - make_interval(secs => ({n} - b.g) * 30) + interval '1 day',
       CASE WHEN b.g > {n} * 0.995 THEN NULL
            ELSE now() - make_interval(secs => ({n} - b.g) * 30) + interval '3 hours' END,
       NULL
FROM bench_ids b JOIN bench_req r ON r.g = (b.g % greatest({n} / 3, 1)) + 1;
"#
    )
}

/// Second half of the seed: messages, assignments of open cases, stats.
fn seed_sql_rest() -> &'static str {
    r#"
INSERT INTO messages (id, ticket_id, direction, class, message_id, from_address, subject,
                      text_body, created_at)
SELECT gen_random_uuid(), t.id, 'inbound', 'human', t.reference || '@bench.example.net',
       r.email, t.subject,
       'Hello, I am a ' || (ARRAY['singer','drummer','songwriter','tour manager','producer'])[(abs(hashtext(t.reference)) % 5) + 1]
       || ' and I have not slept properly since the tour ended. Case ' || t.reference
       || '. Could you help me find a therapist who understands musicians? '
       || (ARRAY['anxiety','burnout','insomnia','grief','panic','drinking','loneliness'])[(abs(hashtext(t.subject || t.reference)) % 7) + 1],
       t.created_at
FROM tickets t LEFT JOIN requesters r ON r.id = t.requester_id;

-- Open cases: two in three assigned to a volunteer of their country.
WITH open AS (
    SELECT t.id, t.country, row_number() OVER (ORDER BY t.id) AS n
    FROM tickets t WHERE t.status NOT IN ('resolved','closed')
), pick AS (
    SELECT o.id, (SELECT v.id FROM volunteers v WHERE v.countries[1] = o.country
                  ORDER BY v.email OFFSET (o.n % 30) LIMIT 1) AS volunteer, o.n
    FROM open o
)
UPDATE tickets t SET assignee_id = p.volunteer, routing_state = 'assigned',
       status = CASE WHEN t.status = 'new' THEN 'assigned' ELSE t.status END
FROM pick p WHERE p.id = t.id AND p.n % 3 <> 0;
UPDATE tickets SET routing_state = 'waiting' WHERE assignee_id IS NULL
   AND status NOT IN ('resolved','closed');
INSERT INTO assignments (id, ticket_id, volunteer_id, reason, assigned_by)
SELECT gen_random_uuid(), id, assignee_id, 'bench', 'bench' FROM tickets
WHERE assignee_id IS NOT NULL AND status NOT IN ('resolved','closed');
ANALYZE;
"#
}

async fn exec(url: &str, sql: &str, what: &str) -> Result<()> {
    let started = Instant::now();
    let mut c = PgConnection::connect(url).await?;
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut c)
        .await
        .with_context(|| what.to_owned())?;
    let _ = c.close().await;
    eprintln!("{what}: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A signed-in browser-like session.
struct Session {
    client: reqwest::Client,
    base: String,
    /// Case references it may open.
    cases: Arc<Vec<String>>,
}

fn hidden_csrf(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_owned())
}

async fn sign_in(base: &str, email: &str) -> Result<reqwest::Client> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let form = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    // The login form carries a CSRF field only if the dashboard adds one.
    let csrf = hidden_csrf(&form).unwrap_or_default();
    let res = client
        .post(format!("{base}/login"))
        .header("Origin", base)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    ensure!(
        res.status() == reqwest::StatusCode::SEE_OTHER,
        "login of {email} answered {}",
        res.status()
    );
    Ok(client)
}

/// Queue variants every session cycles through.
const QUEUES: &[&str] = &[
    "/",
    "/?status=open",
    "/?country=BR",
    "/?status=open&sort=due",
    "/?q=insomnia",
    "/?priority=urgent&status=open",
    "/?sort=oldest",
    "/?breached=1",
];

fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\"")?;
    let href_start = html[..at].rfind("href=\"")? + "href=\"".len();
    let end = html[href_start..].find('"')?;
    Some(
        html[href_start..href_start + end]
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}

/// Runs the benchmark.
pub(crate) async fn run(a: PagesArgs) -> Result<ExitCode> {
    let concierge = concierge_binary("concierge-bench")?;
    let root = concierge
        .ancestors()
        .nth(3)
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let (db_name, fresh) = match &a.reuse_database {
        Some(n) => (n.clone(), false),
        None => (
            format!("concierge_pages_{}", uuid::Uuid::new_v4().simple()),
            true,
        ),
    };
    let db_url = with_database(&a.database_url, &db_name)?;
    if fresh {
        create_database(&a.database_url, &db_name).await?;
        let st = Command::new(&concierge)
            .arg("migrate")
            .env("DATABASE_URL", &db_url)
            .env("RUST_LOG", "warn")
            .status()
            .await?;
        ensure!(st.success(), "concierge migrate failed");
        eprintln!("seeding {} tickets into {db_name} …", a.tickets);
        exec(&db_url, &seed_sql(a.tickets), "tickets").await?;
        exec(&db_url, seed_sql_rest(), "messages, assignments, analyze").await?;
        // Accounts: a coordinator and one caseworker per volunteer.
        let hash = concierge_access::hash_password(PASSWORD)?;
        let mut c = PgConnection::connect(&db_url).await?;
        sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash)
             VALUES (gen_random_uuid(), 'coordinator@bench.example.org', 'Coordinator', 'coordinator', $1)",
        )
        .bind(&hash)
        .execute(&mut c)
        .await?;
        sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, volunteer_id)
             SELECT gen_random_uuid(), email, name, 'caseworker', $1, id FROM volunteers",
        )
        .bind(&hash)
        .execute(&mut c)
        .await?;
        let _ = c.close().await;
    }
    let mut c = PgConnection::connect(&db_url).await?;
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&mut c)
        .await?;
    // Case pages to open: a coordinator any case; a caseworker their own.
    let any: Vec<String> =
        sqlx::query_scalar("SELECT reference FROM tickets TABLESAMPLE SYSTEM (1) LIMIT 5000")
            .fetch_all(&mut c)
            .await?;
    let caseworkers: Vec<(String, Vec<String>)> = {
        let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT v.email, array_agg(t.reference)
             FROM volunteers v JOIN users u ON u.volunteer_id = v.id
             JOIN tickets t ON t.assignee_id = v.id
                  OR (t.assignee_id IS NULL AND t.country = ANY(v.countries)
                      AND t.status NOT IN ('resolved','closed'))
             GROUP BY v.email ORDER BY v.email",
        )
        .fetch_all(&mut c)
        .await?;
        rows
    };
    let _ = c.close().await;
    ensure!(!any.is_empty(), "the database has no tickets");

    let http: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let smtp: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut server = Command::new(&concierge)
        .arg("serve")
        .current_dir(&root)
        .env("DATABASE_URL", &db_url)
        .env("CONCIERGE__HTTP__ADDR", http.to_string())
        .env("CONCIERGE__SMTP__ADDR", smtp.to_string())
        .env("CONCIERGE__WORKER__RUN_IN_SERVE", "false")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting concierge serve")?;
    let base = format!("http://{http}");
    let probe = reqwest::Client::new();
    let up = Instant::now();
    loop {
        if probe
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        if let Some(st) = server.try_wait()? {
            bail!("concierge serve exited early ({st})");
        }
        ensure!(
            up.elapsed() < Duration::from_secs(60),
            "server not ready in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Three in five sessions are caseworkers (one per volunteer, round
    // robin), the rest coordinators.
    let any = Arc::new(any);
    let mut sessions = Vec::new();
    for i in 0..a.sessions {
        let (email, cases) = if i % 5 < 3 && !caseworkers.is_empty() {
            let (e, refs) = &caseworkers[i % caseworkers.len()];
            (e.clone(), Arc::new(refs.clone()))
        } else {
            ("coordinator@bench.example.org".to_owned(), any.clone())
        };
        sessions.push(Session {
            client: sign_in(&base, &email).await?,
            base: base.clone(),
            cases,
        });
    }
    eprintln!(
        "{} sessions signed in against {tickets} tickets; measuring for {} s …",
        sessions.len(),
        a.duration_secs
    );

    let deadline = Instant::now() + Duration::from_secs(a.duration_secs);
    let mut tasks = tokio::task::JoinSet::new();
    for (n, s) in sessions.into_iter().enumerate() {
        tasks.spawn(async move {
            let mut out: Vec<(&'static str, f64, bool)> = Vec::new();
            let mut i = n;
            while Instant::now() < deadline {
                i += 1;
                let (kind, path) = match i % 4 {
                    0 | 2 => (
                        "case",
                        format!("/cases/{}", s.cases[(i * 7919) % s.cases.len()]),
                    ),
                    1 => ("queue", QUEUES[(i / 4) % QUEUES.len()].to_owned()),
                    _ => ("queue-next", QUEUES[(i / 4) % QUEUES.len()].to_owned()),
                };
                let started = Instant::now();
                let res = s.client.get(format!("{}{path}", s.base)).send().await;
                let (ok, body) = match res {
                    Ok(r) => {
                        let ok = r.status() == reqwest::StatusCode::OK;
                        (ok, r.text().await.unwrap_or_default())
                    }
                    Err(_) => (false, String::new()),
                };
                let took = started.elapsed().as_secs_f64() * 1000.0;
                if kind == "queue-next" {
                    // The first page, then the measured next page.
                    if let Some(next) = next_link(&body) {
                        let started = Instant::now();
                        let ok = s
                            .client
                            .get(format!("{}{next}", s.base))
                            .send()
                            .await
                            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK);
                        out.push((
                            "queue (next page)",
                            started.elapsed().as_secs_f64() * 1000.0,
                            ok,
                        ));
                    }
                    out.push(("queue", took, ok));
                } else {
                    out.push((kind, took, ok));
                }
            }
            out
        });
    }
    let mut by_kind: BTreeMap<&'static str, (Vec<f64>, usize)> = BTreeMap::new();
    while let Some(r) = tasks.join_next().await {
        for (kind, ms, ok) in r? {
            let e = by_kind.entry(kind).or_default();
            e.0.push(ms);
            if !ok {
                e.1 += 1;
            }
        }
    }
    let _ = server.start_kill();
    let _ = server.wait().await;

    println!();
    println!(
        "dashboard pages: {tickets} tickets, {} sessions, {} s",
        a.sessions, a.duration_secs
    );
    println!(
        "{:<20} {:>8} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "page", "requests", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"
    );
    let mut errors = 0;
    for (kind, (mut v, errs)) in by_kind {
        v.sort_by(f64::total_cmp);
        errors += errs;
        println!(
            "{:<20} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>7}",
            kind,
            v.len(),
            percentile(&v, 50.0),
            percentile(&v, 90.0),
            percentile(&v, 99.0),
            v.last().copied().unwrap_or(f64::NAN),
            errs
        );
    }
    if a.keep_database || a.reuse_database.is_some() {
        eprintln!("database kept: {db_name}");
    } else {
        drop_database(&a.database_url, &db_name).await?;
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("{errors} requests did not answer 200");
        ExitCode::FAILURE
    })
}
