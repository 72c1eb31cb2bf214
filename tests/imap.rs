//! IMAP ingestion against a real server: Debian's Dovecot, started by each
//! test on free loopback ports with a throwaway config, users, Maildirs and
//! a self-signed certificate (tests/common/dovecot.rs). The pollers run in
//! real `concierge worker` processes with a `--config` file naming the
//! mailboxes; the tests look at the database and the Maildirs. Bounded in
//! time, loopback only.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::dovecot::{Dovecot, PASSWORD};
use common::process::concierge;
use sqlx::PgPool;

const SECRET: &str = "test-secret-test-secret-test-secret";

/// A `concierge worker` process with a config file; killed on drop.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn start(url: &str, config: &Path, log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).unwrap();
        let child = concierge(url)
            .arg("--config")
            .arg(config)
            .arg("worker")
            .env("CONCIERGE__SECURITY__REPLY_TOKEN_SECRET", SECRET)
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start concierge worker");
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `[[imap.mailboxes]]` entry for `user` on `d`.
fn mailbox(name: &str, d: &Dovecot, user: &str, tls: &str, extra: &str) -> String {
    let port = if tls == "tls" { d.tls_port } else { d.port };
    let pw = d.dir.join(format!("{name}.password"));
    if !pw.exists() {
        std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    }
    format!(
        "[[imap.mailboxes]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         tls = \"{tls}\"\nusername = \"{user}\"\npassword_file = \"{}\"\n\
         ca_file = \"{}\"\npoll_secs = 1\n{extra}\n",
        pw.display(),
        d.cert().display()
    )
}

/// The config file: short leases and backoffs, these mailboxes.
fn config(d: &Dovecot, file: &str, mailboxes: &[String]) -> PathBuf {
    let path = d.dir.join(file);
    std::fs::write(
        &path,
        format!(
            "[imap]\nlease_secs = 4\nbackoff_base_secs = 1\nbackoff_max_secs = 2\n\n{}",
            mailboxes.join("\n")
        ),
    )
    .unwrap();
    path
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap()
}

const STORED: &str = "SELECT count(*) FROM raw_messages WHERE source = 'imap'";

/// Waits until `sql` counts `want` (not more: more fails at once).
async fn wait_count(
    pool: &PgPool,
    sql: &'static str,
    want: i64,
    limit: Duration,
    logs: &[&Worker],
) {
    let began = Instant::now();
    loop {
        let n = count(pool, sql).await;
        assert!(n <= want, "{sql}: {n}, more than {want}");
        if n == want {
            return;
        }
        if began.elapsed() > limit {
            for w in logs {
                eprintln!("--- worker log ---\n{}", w.log());
            }
            panic!("{sql}: {n} after {limit:?}, want {want}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn status(pool: &PgPool, name: &str) -> (String, Option<String>) {
    sqlx::query_as::<_, (String, Option<String>)>(
        "SELECT status, detail FROM imap_mailboxes WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await
    .unwrap()
    .unwrap_or(("none".into(), None))
}

async fn wait_status(pool: &PgPool, name: &str, want: &str, limit: Duration, w: &Worker) {
    let began = Instant::now();
    loop {
        let (s, _) = status(pool, name).await;
        if s == want {
            return;
        }
        if began.elapsed() > limit {
            panic!(
                "{name} is {s:?}, not {want:?}, after {limit:?}\n{}",
                w.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn mail(from: &str, id: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: global@concierge.example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello, I live in Lisbon and need help finding a therapist.\r\n"
    )
    .into_bytes()
}

/// Bytes that are not a message at all (distinct per `tag`).
fn garbage(tag: &str) -> Vec<u8> {
    let mut g = b"\x00\x01\x02\xff\xfe binary junk without any header ".to_vec();
    g.extend_from_slice(tag.as_bytes());
    g.extend_from_slice(b"\r\n\x00\x00");
    g
}

fn imap_status(url: &str, config: &Path) -> String {
    let out = concierge(url)
        .arg("--config")
        .arg(config)
        .args(["imap", "status"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// TLS, STARTTLS and plain (loopback) mailboxes: read and unread mail is
/// taken, nothing is marked read, a message in two mailboxes (or twice in
/// one) is stored once, bytes that are no message are kept raw as an
/// unparseable case, then new mail arrives while the poller is in IDLE.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn tls_starttls_and_plain_take_read_and_unread_mail_once_then_idle(pool: PgPool) {
    let url = common::database_url(&pool);
    let users = [
        "tls@example.org",
        "starttls@example.org",
        "plain@example.org",
    ];
    let d = Dovecot::start(&users);
    for u in users {
        d.deliver(
            u,
            &mail("ana@uol.com.br", &format!("unread-{u}"), "unread"),
            false,
        );
        let seen = mail("rui@sapo.pt", &format!("seen-{u}"), "already read");
        d.deliver(u, &seen, true);
        d.deliver(u, &seen, false);
        d.deliver(u, &garbage(u), false);
    }
    let shared = mail(
        "eva@example.com",
        "shared@example.com",
        "sent to two addresses",
    );
    d.deliver("tls@example.org", &shared, false);
    d.deliver("plain@example.org", &shared, false);
    let cfg = config(
        &d,
        "concierge.toml",
        &[
            mailbox("tls", &d, "tls@example.org", "tls", ""),
            mailbox("starttls", &d, "starttls@example.org", "starttls", ""),
            mailbox("plain", &d, "plain@example.org", "none", ""),
        ],
    );
    let w = Worker::start(&url, &cfg, d.dir.join("worker.log"));

    // 3 per mailbox (unread, read, unparseable) + the shared one, once.
    wait_count(&pool, STORED, 10, Duration::from_secs(30), &[&w]).await;
    for name in ["tls", "starttls", "plain"] {
        wait_status(&pool, name, "idle", Duration::from_secs(10), &w).await;
    }
    let uids: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, last_uid FROM imap_mailboxes ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        uids,
        vec![
            ("plain".into(), 5),
            ("starttls".into(), 4),
            ("tls".into(), 5)
        ]
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM tickets").await,
        10,
        "one case per distinct message"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM messages WHERE class = 'unparseable'"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM tickets t JOIN messages m ON m.ticket_id = t.id
             WHERE m.class = 'unparseable' AND t.first_response_due_at IS NOT NULL
               AND t.status = 'new'"
        )
        .await,
        3,
        "unparseable mail is a case a person sees"
    );
    // Nothing was marked read: only the messages delivered read carry S.
    for u in users {
        let files = d.files(u, "");
        assert_eq!(files.len(), if u == "starttls@example.org" { 4 } else { 5 });
        let seen = files.iter().filter(|(_, f)| f.contains('S')).count();
        assert_eq!(seen, 1, "{u}: {files:?}");
    }

    // New mail while the poller waits in IDLE.
    let began = Instant::now();
    d.deliver(
        "tls@example.org",
        &mail("ana@uol.com.br", "late@x", "one more"),
        false,
    );
    wait_count(&pool, STORED, 11, Duration::from_secs(10), &[&w]).await;
    assert!(began.elapsed() < Duration::from_secs(10));

    let shown = imap_status(&url, &cfg);
    for name in ["tls", "starttls", "plain"] {
        let line = shown
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{shown}"));
        assert!(line.contains("idle"), "{line}");
    }
    assert!(!w.log().contains(PASSWORD), "a password reached the log");
}

/// Without IDLE the folder is polled; `move:` moves each message only once
/// its case is committed, and `flag` flags it.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn polling_moves_and_flags_only_committed_mail(pool: PgPool) {
    let url = common::database_url(&pool);
    let d = Dovecot::start(&["move@example.org", "flag@example.org"]);
    for i in 0..3 {
        d.deliver(
            "move@example.org",
            &mail("ana@uol.com.br", &format!("m{i}@x"), "move me"),
            false,
        );
        d.deliver(
            "flag@example.org",
            &mail("rui@sapo.pt", &format!("f{i}@x"), "flag me"),
            false,
        );
    }
    let cfg = config(
        &d,
        "concierge.toml",
        &[
            mailbox(
                "move",
                &d,
                "move@example.org",
                "starttls",
                "idle = false\nafter_import = \"move:Concierge/Imported\"",
            ),
            mailbox(
                "flag",
                &d,
                "flag@example.org",
                "tls",
                "idle = false\nafter_import = \"flag\"",
            ),
        ],
    );
    let w = Worker::start(&url, &cfg, d.dir.join("worker.log"));
    wait_count(&pool, STORED, 6, Duration::from_secs(30), &[&w]).await;
    wait_status(&pool, "move", "polling", Duration::from_secs(10), &w).await;

    // New mail while polling.
    d.deliver(
        "move@example.org",
        &mail("eva@example.com", "m3@x", "late"),
        false,
    );
    wait_count(&pool, STORED, 7, Duration::from_secs(15), &[&w]).await;

    let began = Instant::now();
    loop {
        let moved = d.files("move@example.org", "Concierge/Imported").len();
        let left = d.files("move@example.org", "").len();
        let flagged = d
            .files("flag@example.org", "")
            .iter()
            .filter(|(_, f)| f.contains('F'))
            .count();
        if moved == 4 && left == 0 && flagged == 3 {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "moved {moved}, left {left}, flagged {flagged}\n{}",
            w.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every moved message has its case (moved only after the commit).
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM messages WHERE message_id IN ('m0@x','m1@x','m2@x','m3@x')"
        )
        .await,
        4
    );
    // Moved, flagged or kept: never marked read.
    assert!(
        d.files("move@example.org", "Concierge/Imported")
            .iter()
            .all(|(_, f)| !f.contains('S'))
    );
}

/// A worker killed with SIGKILL in the middle of a batch: another process
/// takes the mailbox over once the lease expires and finishes it, with
/// nothing stored twice; while two processes run, one polls.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn killed_mid_batch_then_two_processes_share_one_mailbox(pool: PgPool) {
    let url = common::database_url(&pool);
    let d = Dovecot::start(&["busy@example.org"]);
    let body = "x".repeat(20_000);
    let n = 300;
    for i in 0..n {
        let mut m = mail(
            "ana@uol.com.br",
            &format!("b{i}@x"),
            &format!("request {i}"),
        );
        m.extend_from_slice(body.as_bytes());
        d.deliver("busy@example.org", &m, false);
    }
    let cfg = config(
        &d,
        "concierge.toml",
        &[mailbox("busy", &d, "busy@example.org", "tls", "")],
    );
    let mut a = Worker::start(&url, &cfg, d.dir.join("a.log"));
    let began = Instant::now();
    while count(&pool, STORED).await < 20 {
        assert!(began.elapsed() < Duration::from_secs(30), "{}", a.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill();
    let at_kill = count(&pool, STORED).await;
    let b = Worker::start(&url, &cfg, d.dir.join("b.log"));
    let c = Worker::start(&url, &cfg, d.dir.join("c.log"));
    wait_count(&pool, STORED, n, Duration::from_secs(60), &[&a, &b, &c]).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, n);
    assert_eq!(count(&pool, "SELECT last_uid FROM imap_mailboxes").await, n);
    eprintln!("killed after {at_kill} of {n}");

    // More mail: still one poller between the two processes.
    for i in n..n + 10 {
        d.deliver(
            "busy@example.org",
            &mail("rui@sapo.pt", &format!("b{i}@x"), "more"),
            false,
        );
    }
    wait_count(&pool, STORED, n + 10, Duration::from_secs(20), &[&b, &c]).await;
    let took = |w: &Worker| w.log().matches("polling this mailbox").count();
    assert_eq!(
        took(&b) + took(&c),
        1,
        "exactly one process polls\n{}\n{}",
        b.log(),
        c.log()
    );
}

/// A wrong password: a clear log line (without the password), the status
/// "auth failed" in the database and `concierge imap status`, retried
/// with backoff; once the password is right, mail flows.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn bad_credentials_show_auth_failed_until_fixed(pool: PgPool) {
    let url = common::database_url(&pool);
    let d = Dovecot::start(&["auth@example.org"]);
    d.deliver(
        "auth@example.org",
        &mail("ana@uol.com.br", "a1@x", "hello"),
        false,
    );
    let wrong = "not-the-password-42";
    std::fs::write(d.dir.join("auth.password"), wrong).unwrap();
    let cfg = config(
        &d,
        "concierge.toml",
        &[mailbox("auth", &d, "auth@example.org", "tls", "")],
    );
    let w = Worker::start(&url, &cfg, d.dir.join("worker.log"));
    wait_status(&pool, "auth", "auth_failed", Duration::from_secs(20), &w).await;
    let (_, detail) = status(&pool, "auth").await;
    assert!(
        detail
            .as_deref()
            .is_some_and(|d| d.contains("login refused for auth@example.org")),
        "{detail:?}"
    );
    let shown = imap_status(&url, &cfg);
    assert!(shown.contains("auth failed"), "{shown}");
    assert!(w.log().contains("IMAP login refused"), "{}", w.log());
    assert!(!w.log().contains(wrong), "the password reached the log");
    assert_eq!(count(&pool, STORED).await, 0);

    std::fs::write(d.dir.join("auth.password"), PASSWORD).unwrap();
    wait_count(&pool, STORED, 1, Duration::from_secs(20), &[&w]).await;
    wait_status(&pool, "auth", "idle", Duration::from_secs(10), &w).await;
}

/// The server stops in the middle of IDLE (its connections break): the
/// mailbox shows "unreachable" while it is down, mail delivered meanwhile
/// is taken once it is back; then the server renumbers the folder (a new
/// UIDVALIDITY, as a restored mailbox does): the folder is read again and
/// nothing already stored is stored twice.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn server_restart_and_uidvalidity_change_store_nothing_twice(pool: PgPool) {
    let url = common::database_url(&pool);
    let user = "restart@example.org";
    let mut d = Dovecot::start(&[user]);
    for i in 0..3 {
        d.deliver(
            user,
            &mail("ana@uol.com.br", &format!("r{i}@x"), "before"),
            false,
        );
    }
    let cfg = config(
        &d,
        "concierge.toml",
        &[mailbox("restart", &d, user, "tls", "")],
    );
    let w = Worker::start(&url, &cfg, d.dir.join("worker.log"));
    wait_count(&pool, STORED, 3, Duration::from_secs(30), &[&w]).await;
    wait_status(&pool, "restart", "idle", Duration::from_secs(10), &w).await;
    let validity_before = count(&pool, "SELECT uid_validity FROM imap_mailboxes").await;

    d.stop();
    wait_status(&pool, "restart", "unreachable", Duration::from_secs(20), &w).await;
    for i in 3..5 {
        d.deliver(
            user,
            &mail("rui@sapo.pt", &format!("r{i}@x"), "while down"),
            false,
        );
    }
    d.restart();
    wait_count(&pool, STORED, 5, Duration::from_secs(30), &[&w]).await;
    wait_status(&pool, "restart", "idle", Duration::from_secs(10), &w).await;

    d.renumber(user);
    d.deliver(
        user,
        &mail("eva@example.com", "r5@x", "after renumbering"),
        false,
    );
    wait_count(&pool, STORED, 6, Duration::from_secs(30), &[&w]).await;
    wait_status(&pool, "restart", "idle", Duration::from_secs(10), &w).await;
    // Let a second sweep pass: still nothing twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count(&pool, STORED).await, 6);
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, 6);
    assert_eq!(count(&pool, "SELECT count(*) FROM tickets").await, 6);
    let validity_after = count(&pool, "SELECT uid_validity FROM imap_mailboxes").await;
    assert_ne!(validity_before, validity_after, "the folder was renumbered");
    assert_eq!(count(&pool, "SELECT last_uid FROM imap_mailboxes").await, 6);
    assert!(w.log().contains("UIDVALIDITY changed"), "{}", w.log());
}

/// `application/x-www-form-urlencoded` fields (`%XX` and `+` decoded).
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let b = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 2 < b.len()
                && let Ok(v) = u8::from_str_radix(&String::from_utf8_lossy(&b[i + 1..i + 3]), 16)
            {
                out.push(v);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// A stand-in OAuth 2.0 provider on loopback: `POST /token` exchanges the
/// refresh token `rt-good` for a new access token (`at-1`, `at-2`, …; any
/// other refresh token gets 400 `invalid_grant`), `POST /introspect` is
/// what Dovecot asks whether a token is active. `revoke()` makes every
/// token issued so far inactive, as an expiry does.
struct OAuthStandIn {
    port: u16,
    state: std::sync::Arc<std::sync::Mutex<OAuthState>>,
}

#[derive(Default)]
struct OAuthState {
    issued: Vec<String>,
    revoked: usize,
    refreshes: usize,
    refused: usize,
}

impl OAuthStandIn {
    fn start(user: &'static str) -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = std::sync::Arc::new(std::sync::Mutex::new(OAuthState::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut r = BufReader::new(conn);
                let mut request_line = String::new();
                if r.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = r.read_exact(&mut body);
                let form = form_fields(&body);
                let field = |name: &str| {
                    form.iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let mut s = shared.lock().unwrap();
                let (status, json) = if request_line.starts_with("POST /token ") {
                    if field("grant_type") == "refresh_token"
                        && field("refresh_token") == "rt-good"
                        && field("client_id") == "concierge-client"
                    {
                        s.refreshes += 1;
                        let token = format!("at-{}", s.refreshes);
                        s.issued.push(token.clone());
                        (
                            "200 OK",
                            format!(
                                r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":3600}}"#
                            ),
                        )
                    } else {
                        s.refused += 1;
                        (
                            "400 Bad Request",
                            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#.to_owned(),
                        )
                    }
                } else if request_line.starts_with("POST /introspect") {
                    let token = field("token");
                    let active = s
                        .issued
                        .iter()
                        .position(|t| *t == token)
                        .is_some_and(|i| i >= s.revoked);
                    (
                        "200 OK",
                        format!(r#"{{"active":{active},"username":"{user}"}}"#),
                    )
                } else {
                    ("404 Not Found", "{}".to_owned())
                };
                drop(s);
                let mut conn = r.into_inner();
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                    json.len()
                );
            }
        });
        Self { port, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn revoke(&self) {
        let mut s = self.state.lock().unwrap();
        s.revoked = s.issued.len();
    }

    fn counts(&self) -> (usize, usize) {
        let s = self.state.lock().unwrap();
        (s.refreshes, s.refused)
    }
}

/// XOAUTH2 end to end: a refused refresh token shows "auth failed" until
/// it is replaced; the access token from the (stand-in) token endpoint
/// logs in to Dovecot; when the server stops accepting it (expired or
/// revoked), the poller refreshes it and goes on. No token or secret
/// reaches the log.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn xoauth2_refreshes_the_access_token_and_reads_mail(pool: PgPool) {
    let url = common::database_url(&pool);
    let user = "oauth@example.org";
    let provider = OAuthStandIn::start(user);
    let mut d = Dovecot::start_oauth(&[user], &provider.url("/introspect"));
    d.deliver(user, &mail("ana@uol.com.br", "o1@x", "first"), false);
    let refresh_file = d.dir.join("global.refresh-token");
    std::fs::write(&refresh_file, "rt-revoked-long-ago\n").unwrap();
    let extra = format!(
        "oauth2 = {{ provider = \"google\", client_id = \"concierge-client\", \
         client_secret = \"cs-very-secret\", refresh_token_file = \"{}\", token_url = \"{}\" }}",
        refresh_file.display(),
        provider.url("/token")
    );
    // No password: the mailbox logs in with XOAUTH2 only.
    let entry = format!(
        "[[imap.mailboxes]]\nname = \"oauth\"\nhost = \"127.0.0.1\"\nport = {}\n\
         tls = \"tls\"\nusername = \"{user}\"\nca_file = \"{}\"\npoll_secs = 1\n{extra}\n",
        d.tls_port,
        d.cert().display()
    );
    let cfg = config(&d, "concierge.toml", &[entry]);
    let w = Worker::start(&url, &cfg, d.dir.join("worker.log"));

    wait_status(&pool, "oauth", "auth_failed", Duration::from_secs(20), &w).await;
    let (_, detail) = status(&pool, "oauth").await;
    assert!(
        detail
            .as_deref()
            .is_some_and(|d| d.contains("token refresh refused") && d.contains("invalid_grant")),
        "{detail:?}"
    );
    assert_eq!(count(&pool, STORED).await, 0);

    std::fs::write(&refresh_file, "rt-good\n").unwrap();
    wait_count(&pool, STORED, 1, Duration::from_secs(20), &[&w]).await;
    wait_status(&pool, "oauth", "idle", Duration::from_secs(10), &w).await;
    assert_eq!(provider.counts().0, 1, "one access token so far");

    // The token stops working; the next login is refused, then refreshed.
    provider.revoke();
    d.restart();
    d.deliver(user, &mail("rui@sapo.pt", "o2@x", "second"), false);
    wait_count(&pool, STORED, 2, Duration::from_secs(30), &[&w]).await;
    wait_status(&pool, "oauth", "idle", Duration::from_secs(10), &w).await;
    let (refreshes, refused) = provider.counts();
    assert_eq!(refreshes, 2, "refreshed once after the refusal");
    assert!(refused >= 1);
    let log = w.log();
    for secret in ["at-1", "at-2", "rt-good", "cs-very-secret"] {
        assert!(!log.contains(secret), "{secret} reached the log:\n{log}");
    }
}

/// Benchmark, not a test (ignored; prints its figures): how fast a worker
/// takes a full Dovecot INBOX over TLS. Run with the release binary:
/// `CONCIERGE_BIN=target/release/concierge cargo test --test imap
/// bench_imap_fetch -- --ignored --nocapture` (`BENCH_N` messages, default
/// 5000, of about 4 KB).
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
#[ignore = "benchmark: run by hand, see BENCHMARKS.md"]
async fn bench_imap_fetch(pool: PgPool) {
    let url = common::database_url(&pool);
    let n: i64 = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let d = Dovecot::start(&["bench@example.org"]);
    let filler = "I play keys in a touring band and I need someone to talk to. ".repeat(60);
    for i in 0..n {
        let mut m = mail(
            &format!("writer{}@example.com", i % 500),
            &format!("bench{i}@x"),
            &format!("request {i}"),
        );
        m.extend_from_slice(filler.as_bytes());
        d.deliver("bench@example.org", &m, false);
    }
    let cfg = config(
        &d,
        "concierge.toml",
        &[mailbox("bench", &d, "bench@example.org", "tls", "")],
    );
    let began = Instant::now();
    let w = Worker::start(&url, &cfg, d.dir.join("worker.log"));
    wait_count(&pool, STORED, n, Duration::from_secs(1800), &[&w]).await;
    let secs = began.elapsed().as_secs_f64();
    println!(
        "imap fetch: {n} messages in {secs:.1} s = {:.0} msg/s (worker start included)",
        n as f64 / secs
    );
}
