//! Faults, bounded in time, loopback only: the server is killed with
//! SIGKILL in the middle of a load and restarted. Every message answered
//! 250 must be stored exactly once, routed once and acknowledged (one
//! outbox row, one Message-ID, however often a crash made the relay see it).

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::process::{free_addr, smtp_code, start_server, wait_ready};
use common::{Sink, mail};
use sqlx::PgPool;

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn kill_9_mid_load_loses_nothing_and_doubles_nothing(pool: PgPool) {
    let url = common::database_url(&pool);
    let relay = Sink::start().await;
    let (http, smtp) = (free_addr(), free_addr());
    let mut server = Some(start_server(&url, http, smtp, &relay.url()));
    wait_ready(http, Duration::from_secs(30)).await;
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
                    tokio::spawn(async move {
                        (i, id, smtp_code(smtp, &from, &raw).await.map(|c| c == 250))
                    })
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
            server = Some(start_server(&url, http, smtp, &relay.url()));
            wait_ready(http, Duration::from_secs(30)).await;
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
