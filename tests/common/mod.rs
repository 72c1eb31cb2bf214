//! Spawns the real application on loopback ports against a per-test
//! database, and talks to it over real SMTP and HTTP.
#![allow(dead_code)]

pub mod dashboard;
pub mod dovecot;
pub mod process;

use std::net::SocketAddr;
use std::time::Duration;

use concierge::app::{self, App};
use concierge::config::Settings;
use concierge_inbound::Inbound;
use concierge_store::Store;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

pub const INBOUND_TOKEN: &str = "test-inbound-token-0123456789";

/// The database URL of a test pool (the server of DATABASE_URL, the
/// pool's own database).
pub fn database_url(pool: &PgPool) -> String {
    let opts = pool.connect_options();
    let opts: &PgConnectOptions = opts.as_ref();
    let db = opts.get_database().unwrap_or("postgres");
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set by scripts/test.sh");
    let (server, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL has a database path");
    format!("{server}/{db}")
}

pub fn settings(url: &str) -> Settings {
    let mut s = Settings::load(None).expect("default settings");
    s.database.url = url.to_owned();
    s.database.max_connections = 8;
    s.http.addr = "127.0.0.1:0".into();
    s.smtp.addr = "127.0.0.1:0".into();
    s.inbound.token = INBOUND_TOKEN.into();
    s.mail.max_message_bytes = 1024 * 1024;
    s.security.reply_token_secret = "test-secret-test-secret-test-secret".into();
    // Templates live in the repository's config/.
    s.mail.templates_dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates");
    s.hub.file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/resource-hub/hub.toml");
    s
}

/// The address of the admin that `TestApp::api_token` acts as.
pub const API_ADMIN: &str = "api-admin@test.concierge.example.org";

/// A token named `test` for an admin ([`API_ADMIN`]), created on first
/// use; empty if the database refuses (fault tests start without one).
async fn admin_api_token(store: &Store) -> String {
    let id = match store.find_user_by_email(API_ADMIN).await {
        Ok(Some(u)) => Some(u.user.id),
        Ok(None) => store
            .create_user(
                API_ADMIN,
                "API Admin",
                concierge_access::Role::Admin,
                None,
                None,
            )
            .await
            .ok(),
        Err(_) => None,
    };
    match id {
        Some(id) => store.create_api_token("test", id).await.unwrap_or_default(),
        None => String::new(),
    }
}

pub struct TestApp {
    pub http: SocketAddr,
    pub smtp: SocketAddr,
    pub store: Store,
    pub inbound: Inbound,
    pub api_token: String,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// The app on a fresh pool of its own against the test's database.
    pub async fn spawn(pool: &PgPool) -> Self {
        Self::spawn_with(database_url(pool), |_| {}).await
    }

    pub async fn spawn_with(url: String, tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut s = settings(&url);
        tweak(&mut s);
        let store = Store::connect_lazy(&s.database.url, s.database.max_connections).unwrap();
        // As `serve` does: our migrations (already applied by sqlx::test)
        // and the job queue's schema.
        store.migrate().await.unwrap();
        let inbound = app::inbound(&s, &store).await.unwrap();
        let api_token = admin_api_token(&store).await;
        let mailer = app::mailer(&s, &store).await.unwrap();
        let app = App::bind(s, inbound.clone(), mailer).await.unwrap();
        let (http, smtp) = (app.http_addr(), app.smtp_addr());
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(app.run(async move {
            let _ = rx.await;
        }));
        Self {
            http,
            smtp,
            store,
            inbound,
            api_token,
            url,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// The app sending through `sink` (retries after 1 s, jobs polled
    /// every second).
    pub async fn with_relay(pool: &PgPool, sink: &Sink) -> Self {
        let url = sink.url();
        Self::spawn_with(database_url(pool), move |s| {
            s.mail.outbound_url = url;
            s.mail.retry_base_secs = 1;
            s.worker.poll_secs = 1;
        })
        .await
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }

    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    pub async fn api(&self, path: &str) -> (u16, serde_json::Value) {
        let res = Self::client()
            .get(format!("http://{}{path}", self.http))
            .bearer_auth(&self.api_token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post_mime(&self, raw: &[u8], token: Option<&str>) -> (u16, serde_json::Value) {
        let mut req = Self::client()
            .post(format!("http://{}/inbound/mime", self.http))
            .body(raw.to_vec());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// All tickets (first page of 200).
    pub async fn tickets(&self, query: &str) -> Vec<serde_json::Value> {
        let (status, body) = self
            .api(&format!("/api/v1/tickets?per_page=200&{query}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn ticket(&self, reference: &str) -> serde_json::Value {
        let (status, body) = self.api(&format!("/api/v1/tickets/{reference}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// A minimal SMTP client that records every reply.
pub struct Smtp {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Smtp {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (r, w) = stream.into_split();
        let mut s = Self {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = s.reply().await;
        assert!(greeting.starts_with("220"), "{greeting}");
        s
    }

    /// Reads one (possibly multi-line) reply; returns it joined by newlines.
    pub async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(30), self.reader.read_line(&mut line))
                .await
                .expect("SMTP reply in time")
                .unwrap();
            if n == 0 {
                return all;
            }
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    pub async fn cmd(&mut self, line: &str) -> String {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }

    /// MAIL, RCPT(s), DATA, message, `.`: returns the final reply.
    pub async fn send(&mut self, from: &str, to: &[&str], raw: &[u8]) -> String {
        let r = self.cmd(&format!("MAIL FROM:<{from}>")).await;
        assert!(r.starts_with("250"), "MAIL: {r}");
        let mut any = false;
        for t in to {
            let r = self.cmd(&format!("RCPT TO:<{t}>")).await;
            any |= r.starts_with("250");
            if !r.starts_with("250") {
                return r;
            }
        }
        assert!(any);
        let r = self.cmd("DATA").await;
        assert!(r.starts_with("354"), "DATA: {r}");
        let mut body = Vec::with_capacity(raw.len() + 8);
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
        self.writer.write_all(&body).await.unwrap();
        self.reply().await
    }
}

/// Sends one message in its own SMTP session.
pub async fn smtp_send(addr: SocketAddr, from: &str, to: &[&str], raw: &[u8]) -> String {
    let mut c = Smtp::connect(addr).await;
    let r = c.cmd("EHLO test.example").await;
    assert!(r.starts_with("250"), "{r}");
    let reply = c.send(from, to, raw).await;
    let _ = c.cmd("QUIT").await;
    reply
}

/// A simple message.
pub fn mail(from: &str, subject: &str, body: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: global@concierge.example.org\r\nSubject: {subject}\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n{extra_headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A real SMTP server on loopback standing in for the outbound relay: it
/// records every message; `up` switches between accepting and answering
/// 451 (a relay that is down for a while).
pub struct Sink {
    pub addr: SocketAddr,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<concierge_smtp::Envelope>>>,
    pub up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
}

struct Recorder {
    received: std::sync::Arc<std::sync::Mutex<Vec<concierge_smtp::Envelope>>>,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl concierge_smtp::MessageSink for Recorder {
    fn accepts_recipient(&self, _rcpt: &str) -> bool {
        true
    }

    async fn deliver(&self, envelope: concierge_smtp::Envelope) -> concierge_smtp::Delivery {
        if !self.up.load(std::sync::atomic::Ordering::SeqCst) {
            return concierge_smtp::Delivery::TempFail("relay down for the test".into());
        }
        self.received.lock().unwrap().push(envelope);
        concierge_smtp::Delivery::Accepted { id: "sink".into() }
    }
}

impl Sink {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sink = Recorder {
            received: received.clone(),
            up: up.clone(),
        };
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(concierge_smtp::serve(
            listener,
            concierge_smtp::SmtpConfig::default(),
            std::sync::Arc::new(sink),
            async move {
                let _ = rx.await;
            },
        ));
        Self {
            addr,
            received,
            up,
            stop: Some(tx),
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Messages received so far whose recipients include `to`.
    pub fn to(&self, to: &str) -> Vec<concierge_smtp::Envelope> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.rcpt_to.iter().any(|r| r == to))
            .cloned()
            .collect()
    }

    /// Waits until `n` messages went to `to`.
    pub async fn wait_for(
        &self,
        to: &str,
        n: usize,
        limit: Duration,
    ) -> Vec<concierge_smtp::Envelope> {
        let start = std::time::Instant::now();
        loop {
            let got = self.to(to);
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "only {} of {n} messages to {to} within {limit:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs `cmd` (its stdin, stdout and stderr piped) with `stdin` written to
/// it from another thread, and waits for its output.
pub fn run_with_stdin(mut cmd: std::process::Command, stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd.spawn().expect("run concierge");
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("concierge output");
    writer.join().expect("stdin writer");
    out
}
