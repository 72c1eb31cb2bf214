//! Fault, bounded in time, loopback only: a `concierge worker` process is
//! killed with SIGKILL while it holds a job. The job must be taken over by
//! another worker process once the dead one stops heart-beating, and its
//! effect must happen once: one live assignment for a route job, one mail
//! (one Message-ID) per outbox row for a send job.
//!
//! The app runs in the test process with its in-process workers disabled
//! (`worker.run_in_serve = false`); the workers are real `concierge worker`
//! processes. The job is made to stall deterministically: a route job
//! waits on a ticket row lock the test holds; a send job waits on a relay
//! that stalls after the message's final `.`.

mod common;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Sink, TestApp, mail, smtp_send};
use sqlx::{Connection, PgConnection, PgPool};

const TO: &str = "global@concierge.example.org";
const SECRET: &str = "test-secret-test-secret-test-secret";

/// A `concierge worker` process, killed on drop.
struct Worker(Child);

impl Worker {
    fn start(url: &str, relay: &str, send_timeout_secs: u32) -> Self {
        let root = env!("CARGO_MANIFEST_DIR");
        let child = Command::new(env!("CARGO_BIN_EXE_concierge"))
            .arg("worker")
            .env("DATABASE_URL", url)
            .env("CONCIERGE__MAIL__OUTBOUND_URL", relay)
            .env(
                "CONCIERGE__MAIL__TEMPLATES_DIR",
                format!("{root}/config/templates"),
            )
            .env(
                "CONCIERGE__HUB__FILE",
                format!("{root}/config/resource-hub/hub.toml"),
            )
            .env("CONCIERGE__SECURITY__REPLY_TOKEN_SECRET", SECRET)
            .env("CONCIERGE__MAIL__RETRY_BASE_SECS", "1")
            .env(
                "CONCIERGE__MAIL__SEND_TIMEOUT_SECS",
                send_timeout_secs.to_string(),
            )
            .env("CONCIERGE__WORKER__POLL_SECS", "1")
            .env("CONCIERGE__WORKER__HEARTBEAT_SECS", "1")
            .env("CONCIERGE__WORKER__MISSED_HEARTBEATS", "2")
            .env("CONCIERGE__WORKER__SWEEP_SECS", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start concierge worker");
        Self(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL: no chance to release anything.
    fn kill_9(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The app in this process, without workers of its own.
async fn app_without_workers(pool: &PgPool) -> TestApp {
    TestApp::spawn_with(common::database_url(pool), |s| {
        s.worker.run_in_serve = false;
    })
    .await
}

async fn add_volunteer(app: &TestApp) {
    app.store
        .add_volunteer(
            "lucia@v.example",
            "Lúcia",
            &["BR".into()],
            &["pt".into()],
            100,
        )
        .await
        .unwrap();
}

/// One new case over SMTP; returns its ticket id.
async fn new_case(app: &TestApp, pool: &PgPool) -> uuid::Uuid {
    let raw = mail(
        "ana@uol.com.br",
        "Ajuda",
        "Olá, moro no Brasil e preciso de ajuda.",
        "Message-ID: <worker-fault@uol.com.br>\r\n",
    );
    let r = smtp_send(app.smtp, "ana@uol.com.br", &[TO], &raw).await;
    assert!(r.starts_with("250"), "{r}");
    sqlx::query_scalar("SELECT id FROM tickets")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let began = Instant::now();
    while !check().await {
        assert!(began.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(status, lock_by, attempts)` of the route job of `ticket`.
async fn route_job(pool: &PgPool, ticket: uuid::Uuid) -> Option<(String, Option<String>, i32)> {
    sqlx::query_as(
        "SELECT status, lock_by, attempts FROM apalis.jobs
         WHERE job_type = 'concierge.route'
           AND convert_from(job, 'UTF8')::jsonb ->> 'ticket_id' = $1",
    )
    .bind(ticket.to_string())
    .fetch_optional(pool)
    .await
    .unwrap()
}

/// Message-IDs of the mails the relay received for `to`.
fn message_ids(relay: &[concierge_smtp::Envelope], to: &str) -> Vec<String> {
    relay
        .iter()
        .filter(|e| e.rcpt_to.iter().any(|r| r == to))
        .map(|e| {
            mail_parser::MessageParser::default()
                .parse(&e.data)
                .and_then(|m| m.message_id().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn route_job_of_a_killed_worker_is_retried_by_another_once(pool: PgPool) {
    let url = common::database_url(&pool);
    let relay = Sink::start().await;
    let app = app_without_workers(&pool).await;
    add_volunteer(&app).await;
    let ticket = new_case(&app, &pool).await;

    // Hold the ticket's row lock: routing it blocks on it.
    let mut blocker = PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("SELECT id FROM tickets WHERE id = $1 FOR UPDATE")
        .bind(ticket)
        .execute(&mut blocker)
        .await
        .unwrap();

    let first = Worker::start(&url, &relay.url(), 5);
    // The first worker holds the route job and is stuck inside it.
    wait_until(
        "first worker holds the route job",
        Duration::from_secs(30),
        || async {
            let held = matches!(
                route_job(&pool, ticket).await,
                Some((status, Some(by), _)) if (status == "Running" || status == "Queued")
                    && by.contains(&format!("-{}-route", first.pid()))
            );
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            held && waiting >= 1
        },
    )
    .await;
    first.kill_9();

    let second = Worker::start(&url, &relay.url(), 5);
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    blocker.close().await.unwrap();

    // Taken over once the dead worker missed its heartbeats, and done once.
    wait_until("the case is assigned", Duration::from_secs(40), || async {
        let assigned: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT assignee_id FROM tickets WHERE id = $1")
                .bind(ticket)
                .fetch_one(&pool)
                .await
                .unwrap();
        assigned.is_some()
    })
    .await;
    wait_until("the route job is done", Duration::from_secs(20), || async {
        matches!(route_job(&pool, ticket).await, Some((s, _, _)) if s == "Done")
    })
    .await;
    let (_, by, attempts) = route_job(&pool, ticket).await.unwrap();
    let by = by.unwrap_or_default();
    assert!(
        by.contains(&format!("-{}-route", second.pid())),
        "the route job was finished by the second worker, not {by}"
    );
    assert!(
        attempts >= 2,
        "the job ran again after the takeover ({attempts})"
    );
    let (assignments, live): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE ended_at IS NULL) FROM assignments
         WHERE ticket_id = $1",
    )
    .bind(ticket)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((assignments, live), (1, 1), "one assignment, live");

    // One notice to the caseworker, one acknowledgement to the requester.
    wait_until("both mails sent", Duration::from_secs(30), || async {
        let sent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE ticket_id = $1 AND status = 'sent'",
        )
        .bind(ticket)
        .fetch_one(&pool)
        .await
        .unwrap();
        sent == 2
    })
    .await;
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM outbox WHERE ticket_id = $1 ORDER BY kind")
            .bind(ticket)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(kinds, ["ack", "notify_assigned"]);
    let received = relay.received.lock().unwrap().clone();
    let to_volunteer: HashSet<String> = message_ids(&received, "lucia@v.example")
        .into_iter()
        .collect();
    assert_eq!(to_volunteer.len(), 1, "one notice Message-ID");
    let to_requester: HashSet<String> = message_ids(&received, "ana@uol.com.br")
        .into_iter()
        .collect();
    assert_eq!(to_requester.len(), 1, "one acknowledgement Message-ID");
    drop(second);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// A relay that stalls after the final `.` while `stall` is set.

#[derive(Default)]
struct StallState {
    stall: AtomicBool,
    /// Sessions currently stalled.
    stalled: AtomicUsize,
    received: std::sync::Mutex<Vec<concierge_smtp::Envelope>>,
}

struct StallSink(Arc<StallState>);

impl concierge_smtp::MessageSink for StallSink {
    fn accepts_recipient(&self, _rcpt: &str) -> bool {
        true
    }

    async fn deliver(&self, envelope: concierge_smtp::Envelope) -> concierge_smtp::Delivery {
        let s = &self.0;
        if s.stall.load(Ordering::SeqCst) {
            s.stalled.fetch_add(1, Ordering::SeqCst);
            let began = Instant::now();
            while s.stall.load(Ordering::SeqCst) && began.elapsed() < Duration::from_secs(60) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            s.stalled.fetch_sub(1, Ordering::SeqCst);
            // Never answered in time: not delivered.
            return concierge_smtp::Delivery::TempFail("stalled".into());
        }
        s.received.lock().unwrap().push(envelope);
        concierge_smtp::Delivery::Accepted { id: "sink".into() }
    }
}

async fn stall_sink() -> (String, Arc<StallState>, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(StallState::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(concierge_smtp::serve(
        listener,
        concierge_smtp::SmtpConfig::default(),
        Arc::new(StallSink(state.clone())),
        async move {
            let _ = rx.await;
        },
    ));
    (format!("smtp://{addr}"), state, tx)
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn send_job_of_a_killed_worker_is_retried_by_another_once(pool: PgPool) {
    let url = common::database_url(&pool);
    let (relay, sink, _stop_sink) = stall_sink().await;
    sink.stall.store(true, Ordering::SeqCst);
    let app = app_without_workers(&pool).await;
    add_volunteer(&app).await;
    let ticket = new_case(&app, &pool).await;

    // The relay takes the message and never answers: the first worker holds
    // the send job (and the outbox row's lease) when it is killed.
    let send_timeout = 3;
    let first = Worker::start(&url, &relay, send_timeout);
    wait_until(
        "a send stalls at the relay",
        Duration::from_secs(30),
        || async { sink.stalled.load(Ordering::SeqCst) >= 1 },
    )
    .await;
    // Give the second mail (ack or notice) a moment to stall too.
    let began = Instant::now();
    while sink.stalled.load(Ordering::SeqCst) < 2 && began.elapsed() < Duration::from_millis(800) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // (id, attempts, end of the first worker's lease)
    let sending: Vec<(uuid::Uuid, i32, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT id, attempts, next_attempt_at FROM outbox WHERE status = 'sending'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(!sending.is_empty(), "a mail is being sent");
    assert!(sending.iter().all(|(_, a, _)| *a == 1));
    first.kill_9();
    sink.stall.store(false, Ordering::SeqCst);

    let second = Worker::start(&url, &relay, send_timeout);
    // The lease (send timeout + 10 s) keeps the row from a second sender
    // until the dead one's send could no longer be running; then the
    // sweep gives it to the live worker.
    wait_until("both mails sent", Duration::from_secs(50), || async {
        let sent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE ticket_id = $1 AND status = 'sent'",
        )
        .bind(ticket)
        .fetch_one(&pool)
        .await
        .unwrap();
        sent == 2
    })
    .await;
    for (id, _, lease_end) in &sending {
        let (status, attempts, sent_at): (String, i32, Option<chrono::DateTime<chrono::Utc>>) =
            sqlx::query_as("SELECT status, attempts, sent_at FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(status, "sent");
        assert_eq!(
            attempts, 2,
            "sent by the second worker on its second attempt"
        );
        assert!(
            sent_at.is_some_and(|t| t >= *lease_end),
            "not sent again while the dead worker's lease ran ({sent_at:?} < {lease_end})"
        );
    }
    // Exactly one delivery per mail: the stalled attempt never counted.
    let received = sink.received.lock().unwrap().clone();
    let to_volunteer = message_ids(&received, "lucia@v.example");
    let to_requester = message_ids(&received, "ana@uol.com.br");
    assert_eq!(to_volunteer.len(), 1, "one notice: {to_volunteer:?}");
    assert_eq!(
        to_requester.len(),
        1,
        "one acknowledgement: {to_requester:?}"
    );
    let outbox_ids: HashSet<String> =
        sqlx::query_scalar("SELECT message_id FROM outbox WHERE ticket_id = $1")
            .bind(ticket)
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let relay_ids: HashSet<String> = to_volunteer.into_iter().chain(to_requester).collect();
    assert_eq!(relay_ids, outbox_ids);
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignments WHERE ticket_id = $1 AND ended_at IS NULL",
    )
    .bind(ticket)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(live, 1);
    drop(second);
    app.stop().await;
}
