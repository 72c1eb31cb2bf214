//! Faults, bounded in time, loopback only: the server is killed with
//! SIGKILL in the middle of a load and restarted. Every message answered
//! 250 must be stored exactly once, routed once and acknowledged (one
//! outbox row, one Message-ID, however often a crash made the relay see it).

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Sink, mail};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const TO: &str = "global@concierge.example.org";

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_server(url: &str, http: SocketAddr, smtp: SocketAddr, relay: &str) -> Server {
    let root = env!("CARGO_MANIFEST_DIR");
    let child = Command::new(env!("CARGO_BIN_EXE_concierge"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("CONCIERGE__HTTP__ADDR", http.to_string())
        .env("CONCIERGE__SMTP__ADDR", smtp.to_string())
        .env("CONCIERGE__MAIL__OUTBOUND_URL", relay)
        .env(
            "CONCIERGE__MAIL__TEMPLATES_DIR",
            format!("{root}/config/templates"),
        )
        .env(
            "CONCIERGE__HUB__FILE",
            format!("{root}/config/resource-hub/hub.toml"),
        )
        .env("CONCIERGE__MAIL__RETRY_BASE_SECS", "1")
        // A sender killed mid-send holds its mail for this + 10 s.
        .env("CONCIERGE__MAIL__SEND_TIMEOUT_SECS", "3")
        .env("CONCIERGE__WORKER__POLL_SECS", "1")
        .env("CONCIERGE__WORKER__HEARTBEAT_SECS", "1")
        .env("CONCIERGE__WORKER__MISSED_HEARTBEATS", "2")
        .env("CONCIERGE__WORKER__SWEEP_SECS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start concierge serve");
    let server = Server(child);
    let began = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("http://{http}/readyz")).await
            && r.status().is_success()
        {
            return server;
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads one (possibly multi-line) SMTP reply; `None` when the peer is gone.
async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut all = String::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).await.ok()? == 0 {
            return None;
        }
        all.push_str(&l);
        if l.len() < 4 || l.as_bytes()[3] != b'-' {
            return Some(all);
        }
    }
}

/// One SMTP transaction that tolerates the server dying: `Some(true)` for
/// 250, `Some(false)` for another reply, `None` when the connection broke.
async fn try_send(addr: SocketAddr, from: &str, raw: &[u8]) -> Option<bool> {
    let run = async {
        let stream = TcpStream::connect(addr).await.ok()?;
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        reply(&mut r).await?;
        w.write_all(b"EHLO faults.test\r\n").await.ok()?;
        reply(&mut r).await?;
        w.write_all(format!("MAIL FROM:<{from}>\r\nRCPT TO:<{TO}>\r\nDATA\r\n").as_bytes())
            .await
            .ok()?;
        for _ in 0..3 {
            reply(&mut r).await?;
        }
        let mut body = raw.to_vec();
        body.extend_from_slice(b".\r\n");
        w.write_all(&body).await.ok()?;
        let last = reply(&mut r).await?;
        let _ = w.write_all(b"QUIT\r\n").await;
        Some(last.starts_with("250"))
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .ok()
        .flatten()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn kill_9_mid_load_loses_nothing_and_doubles_nothing(pool: PgPool) {
    let url = common::database_url(&pool);
    let relay = Sink::start().await;
    let (http, smtp) = (free_addr(), free_addr());
    let mut server = Some(start_server(&url, http, smtp, &relay.url()).await);
    let store = concierge_store::Store::connect_lazy(&url, 4).unwrap();
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

    let n = 120;
    let messages: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| {
            let id = format!("fault-{i}@uol.com.br");
            let raw = mail(
                &format!("p{i}@uol.com.br"),
                &format!("Ajuda {i}"),
                "Olá, moro no Brasil e preciso de ajuda.",
                &format!("Message-ID: <{id}>\r\n"),
            );
            (id, raw)
        })
        .collect();
    let mut acknowledged: HashSet<String> = HashSet::new();
    let mut pending: Vec<usize> = (0..n).collect();
    let mut killed = false;
    let start = Instant::now();
    // Like an MTA: retry what was not acknowledged until everything is.
    while !pending.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{} still unacknowledged",
            pending.len()
        );
        let mut next = Vec::new();
        let mut chunks = pending.chunks(4);
        while let Some(chunk) = chunks.next() {
            let sends: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let (id, raw) = messages[i].clone();
                    let from = format!("p{i}@uol.com.br");
                    tokio::spawn(async move { (i, id, try_send(smtp, &from, &raw).await) })
                })
                .collect();
            let mut results = Vec::new();
            for s in sends {
                results.push(s.await.unwrap());
            }
            for (i, id, result) in results {
                match result {
                    Some(true) => {
                        acknowledged.insert(id);
                    }
                    _ => next.push(i),
                }
            }
            if !killed && acknowledged.len() >= n / 3 {
                // SIGKILL in the middle of the load.
                if let Some(mut s) = server.take() {
                    let _ = s.0.kill();
                    let _ = s.0.wait();
                }
                killed = true;
                next.extend(chunks.by_ref().flatten().copied());
                break;
            }
        }
        if killed && server.is_none() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            server = Some(start_server(&url, http, smtp, &relay.url()).await);
        }
        pending = next;
    }
    assert!(killed);
    assert_eq!(acknowledged.len(), n);

    // Every acknowledged message is stored exactly once.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT message_id, count(*) FROM messages WHERE direction = 'inbound' GROUP BY message_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let stored: HashMap<String, i64> = rows.into_iter().collect();
    for id in &acknowledged {
        assert_eq!(
            stored.get(id),
            Some(&1),
            "{id} stored {:?} times",
            stored.get(id)
        );
    }
    // Routed once each, and acknowledged once each (one outbox row, one
    // Message-ID at the relay even if a crash made it arrive twice).
    let wait = Instant::now();
    loop {
        let (assigned, acks_sent): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL),
                    (SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if assigned == n as i64 && acks_sent == n as i64 {
            break;
        }
        assert!(
            wait.elapsed() < Duration::from_secs(90),
            "assigned {assigned}, acks sent {acks_sent} of {n}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM assignments WHERE ended_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(live, n as i64, "one live assignment per case");
    let acks: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE kind = 'ack'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(acks, n as i64, "one acknowledgement per case");
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
    assert_eq!(per_requester.len(), n);
    assert!(
        per_requester.values().all(|ids| ids.len() == 1),
        "one acknowledgement Message-ID per requester"
    );
    drop(server);
}
