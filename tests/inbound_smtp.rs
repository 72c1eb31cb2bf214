//! End to end over SMTP on loopback: 250 only after commit, 550, 552, 451
//! while the database is down and success once it returns, deduplication.

mod common;

use common::{Smtp, TestApp, mail, smtp_send};
use sqlx::PgPool;

const TO: &str = "global@concierge.example.org";

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn a_message_over_smtp_becomes_one_ticket(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let raw = mail(
        "Ana Souza <ana@uol.com.br>",
        "Preciso de ajuda",
        "Olá, moro em São Paulo.",
        "Message-ID: <smtp-1@uol.com.br>\r\n",
    );
    let reply = smtp_send(app.smtp, "ana@uol.com.br", &[TO], &raw).await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    let reference = reply.trim().rsplit(' ').next().unwrap().to_owned();

    let tickets = app.tickets("").await;
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(t["reference"], reference.as_str());
    assert_eq!(t["subject"], "Preciso de ajuda");
    assert_eq!(t["status"], "new");
    assert_eq!(t["requester"]["email"], "ana@uol.com.br");
    assert_eq!(t["requester"]["name"], "Ana Souza");
    assert_eq!(t["message_count"], 1);

    let detail = app.ticket(&reference).await;
    let m = &detail["messages"][0];
    assert_eq!(m["message_id"], "smtp-1@uol.com.br");
    assert_eq!(m["direction"], "inbound");
    assert_eq!(m["class"], "human");
    assert_eq!(m["from"], "ana@uol.com.br");
    assert!(m["text"].as_str().unwrap().contains("São Paulo"));

    // The raw bytes are kept exactly.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT data FROM raw_messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, raw);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn redelivery_and_two_recipients_are_absorbed(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let raw = mail(
        "bob@example.com",
        "Hello",
        "Hi there",
        "Message-ID: <dup-1@example.com>\r\n",
    );
    // The same message to both concierge addresses in one transaction…
    let r1 = smtp_send(
        app.smtp,
        "bob@example.com",
        &[TO, "help@concierge.example.org"],
        &raw,
    )
    .await;
    // …then redelivered by a retrying MTA, and over HTTP.
    let r2 = smtp_send(app.smtp, "bob@example.com", &[TO], &raw).await;
    let (status, body) = app.post_mime(&raw, Some(common::INBOUND_TOKEN)).await;
    assert!(r1.starts_with("250") && r2.starts_with("250"), "{r1} {r2}");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "duplicate");
    let ref1 = r1.trim().rsplit(' ').next().unwrap();
    let ref2 = r2.trim().rsplit(' ').next().unwrap();
    assert_eq!(ref1, ref2);
    assert_eq!(body["reference"], ref1);
    assert_eq!(app.store.counts().await.unwrap(), (1, 1));
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn concurrent_duplicate_deliveries_store_once(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let raw = mail(
        "carol@example.com",
        "Race",
        "same message",
        "Message-ID: <race@example.com>\r\n",
    );
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (addr, raw) = (app.smtp, raw.clone());
        tasks.push(tokio::spawn(async move {
            smtp_send(addr, "carol@example.com", &[TO], &raw).await
        }));
    }
    let mut refs = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.starts_with("250"), "{r}");
        refs.insert(r.trim().rsplit(' ').next().unwrap().to_owned());
    }
    assert_eq!(refs.len(), 1);
    assert_eq!(app.store.counts().await.unwrap(), (1, 1));
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn no_message_id_deduplicates_by_raw_bytes(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let raw = mail("dan@example.com", "No id", "body one", "");
    let other = mail("dan@example.com", "No id", "body two", "");
    for _ in 0..2 {
        assert!(
            smtp_send(app.smtp, "dan@example.com", &[TO], &raw)
                .await
                .starts_with("250")
        );
    }
    assert!(
        smtp_send(app.smtp, "dan@example.com", &[TO], &other)
            .await
            .starts_with("250")
    );
    assert_eq!(app.store.counts().await.unwrap(), (2, 2));
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn unknown_recipient_550_and_oversize_552(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let mut c = Smtp::connect(app.smtp).await;
    let ehlo = c.cmd("EHLO test.example").await;
    assert!(ehlo.contains("SIZE 1048576"), "{ehlo}");
    assert!(
        ehlo.contains("8BITMIME") && ehlo.contains("PIPELINING"),
        "{ehlo}"
    );
    assert!(c.cmd("MAIL FROM:<a@example.com>").await.starts_with("250"));
    let r = c.cmd("RCPT TO:<someone-else@concierge.example.org>").await;
    assert!(r.starts_with("550 5.1.1"), "{r}");
    // Plus-addressed concierge addresses are ours.
    let r = c
        .cmd("RCPT TO:<global+anything@concierge.example.org>")
        .await;
    assert!(r.starts_with("250"), "{r}");
    assert!(c.cmd("RSET").await.starts_with("250"));
    // Declared size over the limit.
    let r = c.cmd("MAIL FROM:<a@example.com> SIZE=2000000").await;
    assert!(r.starts_with("552"), "{r}");
    // Actual data over the limit.
    let big = mail("a@example.com", "big", &"x".repeat(1_100_000), "");
    let r = c.send("a@example.com", &[TO], &big).await;
    assert!(r.starts_with("552 5.3.4"), "{r}");
    drop(c);
    assert_eq!(app.store.counts().await.unwrap(), (0, 0));
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn database_down_answers_451_then_recovers(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let admin = sqlx::PgPool::connect(&std::env::var("DATABASE_URL").unwrap())
        .await
        .unwrap();
    let set_allowed = |allowed: bool| {
        let (admin, db) = (admin.clone(), db.clone());
        async move {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE \"{db}\" WITH ALLOW_CONNECTIONS {allowed}"
            )))
            .execute(&admin)
            .await
            .unwrap();
            if !allowed {
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
                    .bind(&db)
                    .execute(&admin)
                    .await
                    .unwrap();
            }
        }
    };
    set_allowed(false).await;
    let raw = mail(
        "eve@example.com",
        "During outage",
        "hello",
        "Message-ID: <outage@example.com>\r\n",
    );
    let r = smtp_send(app.smtp, "eve@example.com", &[TO], &raw).await;
    assert!(r.starts_with("451 4.3.0"), "{r}");
    let (status, _) = app.post_mime(&raw, Some(common::INBOUND_TOKEN)).await;
    assert_eq!(status, 503);
    let ready = TestApp::client()
        .get(format!("http://{}/readyz", app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);

    set_allowed(true).await;
    // The sender retries: now it is stored, once.
    let r = smtp_send(app.smtp, "eve@example.com", &[TO], &raw).await;
    assert!(r.starts_with("250"), "{r}");
    let ready = TestApp::client()
        .get(format!("http://{}/readyz", app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(app.store.counts().await.unwrap(), (1, 1));
    app.stop().await;
    // Give our own connections back before sqlx::test drops the database.
    drop(pool);
}
