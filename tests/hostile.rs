//! Hostile messages through the whole pipeline into Postgres: each is stored
//! (bounded) or clearly rejected, never a panic.

mod common;

use common::TestApp;
use concierge_inbound::{Delivery, IngestError};
use concierge_store::{InboundSource, IngestOutcome};
use sqlx::PgPool;

fn hostile() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    out.push((
        "1 MB header line",
        format!(
            "From: a@b.example\r\nSubject: {}\r\nX-Long: {}\r\n\r\nbody\r\n",
            "s".repeat(1 << 20),
            "h".repeat(1 << 20)
        )
        .into_bytes(),
    ));
    let to: Vec<String> = (0..100_000).map(|i| format!("u{i}@example.com")).collect();
    out.push((
        "100,000 addresses in To",
        format!("From: a@b.example\r\nTo: {}\r\n\r\nbody\r\n", to.join(", ")).into_bytes(),
    ));
    let mut deep = String::from("From: a@b.example\r\nSubject: deep\r\n");
    for i in 0..1000 {
        deep.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    deep.push_str("Content-Type: text/plain\r\n\r\ndeep\r\n");
    out.push(("MIME nested 1,000 deep", deep.into_bytes()));
    let mut parts = String::from(
        "From: a@b.example\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n",
    );
    for i in 0..10_000 {
        parts.push_str(&format!(
            "--Z\r\nContent-Type: application/octet-stream; name=\"f{i}.bin\"\r\n\r\nx\r\n"
        ));
    }
    parts.push_str("--Z--\r\n");
    out.push(("10,000 parts", parts.into_bytes()));
    let mut bad = b"From: \xff\xfe <a@b.example>\r\nSubject: \xc3\x28 \xe2\x82\r\nMessage-ID: <\xff@x>\r\n\r\n\xe2\x28\xa1".to_vec();
    bad.extend(std::iter::repeat_n(0xffu8, 5000));
    out.push(("invalid UTF-8 everywhere", bad));
    out.push((
        "NUL bytes",
        b"From: a@b.example\r\nSubject: nul\x00here\r\n\r\nbody\x00with\x00nul\r\n".to_vec(),
    ));
    out.push(("headers only", b"From: a@b.example\r\nSubject: x".to_vec()));
    out
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn hostile_messages_are_stored_bounded(pool: PgPool) {
    let app = TestApp::spawn_with(common::database_url(&pool), |s| {
        s.mail.max_message_bytes = 8 << 20;
        s.worker.run_in_serve = false;
    })
    .await;
    for (what, raw) in hostile() {
        let size = raw.len();
        let out = app
            .inbound
            .ingest(Delivery {
                source: InboundSource::Http,
                envelope_from: None,
                envelope_to: vec![],
                raw,
            })
            .await;
        let message_id = match out {
            Ok(IngestOutcome::Created { message_id, .. }) => message_id,
            other => panic!("{what}: {other:?}"),
        };
        let (subject_len, text_len, to_n, raw_size): (i32, i32, i32, i32) = sqlx::query_as(
            "SELECT length(m.subject), length(m.text_body), cardinality(m.to_addresses), r.size
             FROM messages m JOIN raw_messages r ON r.id = m.raw_id WHERE m.id = $1",
        )
        .bind(message_id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(subject_len <= 998, "{what}: subject {subject_len}");
        assert!(text_len <= 1 << 20, "{what}: text {text_len}");
        assert!(to_n <= 100, "{what}: {to_n} addresses");
        assert_eq!(raw_size as usize, size, "{what}: raw bytes kept whole");
        let attachments: i64 =
            sqlx::query_scalar("SELECT count(*) FROM attachments WHERE message_id = $1")
                .bind(message_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(attachments <= 200, "{what}: {attachments} attachments");
    }
    // Empty input is a clear rejection.
    let out = app
        .inbound
        .ingest(Delivery {
            source: InboundSource::Http,
            envelope_from: None,
            envelope_to: vec![],
            raw: b"\r\n\r\n".to_vec(),
        })
        .await;
    assert!(matches!(out, Err(IngestError::Empty)), "{out:?}");
    app.stop().await;
}
