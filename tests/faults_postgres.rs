//! Fault, bounded in time, loopback only: PostgreSQL stops in the middle of
//! a load and comes back. The test runs its own private PostgreSQL cluster
//! (initdb + pg_ctl on a free loopback port in a temporary folder; the
//! shared server is never touched), the real `concierge serve` against it,
//! and an SMTP load that retries like an MTA.
//!
//! While the database is down every door must answer "temporary failure":
//! SMTP 451, the pipe (`concierge ingest`) exit status 75, `POST
//! /inbound/mime` 503, and never a permanent rejection. When the database
//! returns the same server process resumes by itself, and every message
//! answered 250 is stored exactly once, routed once and acknowledged once.

mod common;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{
    Server, TO, concierge, free_addr, readyz, smtp_code, start_server, wait_ready,
};
use common::{INBOUND_TOKEN, Sink, mail};
use sqlx::{Connection, PgConnection};
use tokio::io::AsyncWriteExt;

// ---------------------------------------------------------------------------
// A private PostgreSQL cluster

/// A throwaway cluster of this test's own: its folder is removed and the
/// server stopped (immediately) on drop.
struct PrivatePg {
    bin: PathBuf,
    root: PathBuf,
    data: PathBuf,
    port: u16,
    /// PostgreSQL refuses to run as root: run its programs as `postgres`
    /// (as `src/embedded.rs` does).
    as_postgres: bool,
}

fn pg_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql")
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .expect("initdb and pg_ctl under /usr/lib/postgresql/*/bin")
        .1
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PrivatePg {
    fn cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .cmd(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_tail()
        );
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.root.join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// initdb in a fresh temporary folder, then start.
    fn init() -> Self {
        let root = std::env::temp_dir().join(format!(
            "concierge-pgfault-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&root).unwrap();
        let pg = Self {
            bin: pg_bin_dir(),
            data: root.join("data"),
            root,
            port: free_addr().port(),
            as_postgres: is_root(),
        };
        if pg.as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.root)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown of {} to postgres", pg.root.display());
        }
        let data = pg.data.to_string_lossy().into_owned();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        pg.start();
        pg
    }

    fn start(&self) {
        let data = self.data.to_string_lossy().into_owned();
        let log = self
            .root
            .join("postgres.log")
            .to_string_lossy()
            .into_owned();
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=100",
            self.port,
            self.root.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60", "start",
            ],
        );
    }

    /// `mode`: `fast` (sessions told to go) or `immediate` (like a crash:
    /// recovery from the WAL at the next start).
    fn stop(&self, mode: &str) {
        let data = self.data.to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &["-D", &data, "-m", mode, "-w", "-t", "60", "stop"],
        );
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let _ = self
            .cmd("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

// ---------------------------------------------------------------------------
// The server and the doors

/// `concierge ingest` with the message on stdin: its exit status.
async fn pipe_status(url: &str, sender: &str, raw: &[u8]) -> i32 {
    let mut child = tokio::process::Command::from(concierge(url))
        .args(["ingest", "--sender", sender, "--recipient", TO])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start concierge ingest");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(raw).await.unwrap();
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("concierge ingest finished in time")
        .unwrap();
    status.code().unwrap_or(-1)
}

/// `POST /inbound/mime`: the HTTP status.
async fn http_status(http: SocketAddr, raw: &[u8]) -> u16 {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
        .post(format!("http://{http}/inbound/mime"))
        .bearer_auth(INBOUND_TOKEN)
        .body(raw.to_vec())
        .send()
        .await
        .expect("HTTP answers while the database is down")
        .status()
        .as_u16()
}

fn message(i: usize) -> (String, String, Vec<u8>) {
    let from = format!("p{i}@uol.com.br");
    let id = format!("pgfault-{i}@uol.com.br");
    let raw = mail(
        &from,
        &format!("Ajuda {i}"),
        "Olá, moro no Brasil e preciso de ajuda.",
        &format!("Message-ID: <{id}>\r\n"),
    );
    (from, id, raw)
}

// ---------------------------------------------------------------------------
// The load: senders that retry like an MTA

#[derive(Default)]
struct Load {
    pending: Mutex<VecDeque<usize>>,
    acknowledged: Mutex<HashSet<usize>>,
    /// Every final reply code seen, 0 for a broken connection.
    codes: Mutex<Vec<u16>>,
    stop: AtomicBool,
}

impl Load {
    fn acked(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    fn count(&self, pred: impl Fn(u16) -> bool) -> usize {
        self.codes
            .lock()
            .unwrap()
            .iter()
            .filter(|c| pred(**c))
            .count()
    }
}

async fn sender(load: Arc<Load>, smtp: SocketAddr, n: usize) {
    while !load.stop.load(Ordering::SeqCst) {
        let next = load.pending.lock().unwrap().pop_front();
        let Some(i) = next else {
            if load.acked() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (from, _, raw) = message(i);
        let code = smtp_code(smtp, &from, &raw).await;
        load.codes.lock().unwrap().push(code.unwrap_or(0));
        if code == Some(250) {
            load.acknowledged.lock().unwrap().insert(i);
            // Paced (about 40 messages a second over four senders), so the
            // load is still running when the second outage starts.
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            load.pending.lock().unwrap().push_back(i);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One outage: stop Postgres with `mode` once `load` has `after` messages
/// acknowledged, check every door answers "temporary failure", start
/// Postgres again and check every door works again by itself. Returns the
/// probe messages accepted after the restart (to count as tickets).
#[allow(clippy::too_many_arguments)]
async fn outage(
    pg: &PrivatePg,
    mode: &str,
    url: &str,
    http: SocketAddr,
    smtp: SocketAddr,
    server: &mut Server,
    load: &Load,
    after: usize,
    probe: usize,
) -> Vec<String> {
    let began = Instant::now();
    while load.acked() < after {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "only {} acknowledged before the outage",
            load.acked()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let temp_before = load.count(|c| (400..500).contains(&c));
    pg.stop(mode);
    let down = Instant::now();

    // Every door: temporary failure, never a rejection.
    let (from, _, raw) = message(probe);
    let code = smtp_code(smtp, &from, &raw).await;
    assert_eq!(code, Some(451), "SMTP while Postgres is down ({mode})");
    let (pipe_from, pipe_id, pipe_raw) = message(probe + 1);
    assert_eq!(
        pipe_status(url, &pipe_from, &pipe_raw).await,
        75,
        "concierge ingest while Postgres is down ({mode})"
    );
    let (_, http_id, http_raw) = message(probe + 2);
    assert_eq!(
        http_status(http, &http_raw).await,
        503,
        "POST /inbound/mime while Postgres is down ({mode})"
    );
    assert_eq!(readyz(http).await, Some(503), "/readyz while down");
    // The load saw temporary failures too, and the server is still there.
    while load.count(|c| (400..500).contains(&c)) == temp_before {
        assert!(
            down.elapsed() < Duration::from_secs(60),
            "the load saw no temporary failure ({mode}; {} acknowledged of the load)",
            load.acked()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "concierge serve exited while Postgres was down"
    );
    let acked_down = load.acked();

    pg.start();
    let up = Instant::now();
    // The same server process resumes by itself.
    wait_ready(http, Duration::from_secs(30)).await;
    loop {
        let code = smtp_code(smtp, &from, &raw).await;
        if code == Some(250) {
            break;
        }
        assert!(
            code.is_none_or(|c| c < 500),
            "SMTP rejected after the restart: {code:?}"
        );
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "SMTP did not resume: {code:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The MTA's retries of the pipe and HTTP probes now succeed.
    assert_eq!(
        pipe_status(url, &pipe_from, &pipe_raw).await,
        0,
        "pipe after restart"
    );
    assert_eq!(
        http_status(http, &http_raw).await,
        201,
        "HTTP after restart"
    );
    // And the load moves on.
    while load.acked() <= acked_down {
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "the load did not resume"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.0.try_wait().unwrap().is_none(), "server restarted");
    vec![message(probe).1, pipe_id, http_id]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_mid_load_then_back_loses_nothing_and_resumes() {
    let pg = PrivatePg::init();
    let admin = pg.url("postgres");
    let mut c = PgConnection::connect(&admin).await.unwrap();
    sqlx::query("CREATE DATABASE concierge")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let url = pg.url("concierge");
    {
        let store = concierge_store::Store::connect_lazy(&url, 2).unwrap();
        store.migrate().await.unwrap();
        store
            .add_volunteer(
                "lucia@v.example",
                "Lúcia",
                &["BR".into()],
                &["pt".into()],
                1000,
            )
            .await
            .unwrap();
        store.pool().close().await;
    }

    let relay = Sink::start().await;
    let (http, smtp) = (free_addr(), free_addr());
    let mut server = start_server(&url, http, smtp, &relay.url());
    wait_ready(http, Duration::from_secs(30)).await;

    // With the senders' pace, enough that the load outlasts the first
    // outage's recovery checks (each `concierge ingest` loads the gazetteer,
    // seconds in a debug build).
    let n = 400;
    let load = Arc::new(Load::default());
    load.pending.lock().unwrap().extend(0..n);
    let senders: Vec<_> = (0..4)
        .map(|_| tokio::spawn(sender(load.clone(), smtp, n)))
        .collect();

    // Two outages: a fast shutdown, then an immediate one (like a crash).
    let mut probes = outage(
        &pg,
        "fast",
        &url,
        http,
        smtp,
        &mut server,
        &load,
        n / 4,
        1000,
    )
    .await;
    probes.extend(
        outage(
            &pg,
            "immediate",
            &url,
            http,
            smtp,
            &mut server,
            &load,
            n / 2,
            2000,
        )
        .await,
    );

    let began = Instant::now();
    while load.acked() < n {
        assert!(
            began.elapsed() < Duration::from_secs(90),
            "{} of {n} acknowledged",
            load.acked()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    load.stop.store(true, Ordering::SeqCst);
    for s in senders {
        s.await.unwrap();
    }
    // Never a permanent rejection: an MTA would have bounced the message.
    let codes = load.codes.lock().unwrap().clone();
    assert!(
        codes.iter().all(|c| *c < 500),
        "permanent failures: {:?}",
        codes.iter().filter(|c| **c >= 500).collect::<Vec<_>>()
    );
    assert!(
        codes.contains(&451),
        "the load saw 451 while Postgres was down"
    );

    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .unwrap();
    // Every acknowledged message is stored exactly once; nothing else is.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT message_id, count(*) FROM messages WHERE direction = 'inbound' GROUP BY message_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let stored: HashMap<String, i64> = rows.into_iter().collect();
    let mut expected: HashSet<String> = (0..n).map(|i| message(i).1).collect();
    expected.extend(probes);
    for id in &expected {
        assert_eq!(
            stored.get(id),
            Some(&1),
            "{id} stored {:?} times",
            stored.get(id)
        );
    }
    assert_eq!(stored.len(), expected.len(), "stored: {:?}", stored.keys());
    let cases = expected.len() as i64;

    // Routed once each and acknowledged once each, by the same server.
    let wait = Instant::now();
    loop {
        let (assigned, acks_sent): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL),
                    (SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if assigned == cases && acks_sent == cases {
            break;
        }
        assert!(
            wait.elapsed() < Duration::from_secs(90),
            "assigned {assigned}, acks sent {acks_sent} of {cases}: the workers did not resume"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (tickets, assignments, live, acks): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM tickets),
                (SELECT count(*) FROM assignments),
                (SELECT count(*) FROM assignments WHERE ended_at IS NULL),
                (SELECT count(*) FROM outbox WHERE kind = 'ack')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tickets, cases, "one case per message");
    assert_eq!(assignments, cases, "routed once per case");
    assert_eq!(live, cases, "one live assignment per case");
    assert_eq!(acks, cases, "one acknowledgement per case");
    let received = relay.received.lock().unwrap().clone();
    let mut per_requester: HashMap<String, HashSet<String>> = HashMap::new();
    for e in received
        .iter()
        .filter(|e| e.rcpt_to.iter().any(|r| r.ends_with("@uol.com.br")))
    {
        let m = mail_parser::MessageParser::default()
            .parse(&e.data)
            .unwrap();
        per_requester
            .entry(e.rcpt_to[0].clone())
            .or_default()
            .insert(m.message_id().unwrap().to_owned());
    }
    assert_eq!(
        per_requester.len() as i64,
        cases,
        "every requester acknowledged"
    );
    assert!(
        per_requester.values().all(|ids| ids.len() == 1),
        "one acknowledgement Message-ID per requester"
    );
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "the server ran throughout"
    );
    pool.close().await;
    drop(server);
    drop(pg);
}
