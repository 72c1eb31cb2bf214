//! Every message of the fixture corpus (tests/fixtures/mail, see its README)
//! goes through the real pipeline into Postgres; the stored class, subject,
//! text and attachment names match the manifest.

mod common;

use std::path::Path;

use common::TestApp;
use concierge_inbound::{Delivery, IngestError};
use concierge_mail::inbound::safe_filename;
use concierge_store::{InboundSource, IngestOutcome};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(serde::Deserialize)]
struct Entry {
    file: String,
    class: String,
    has_message_id: bool,
    subject_contains: Option<String>,
    text_contains: Option<String>,
    attachments: Vec<String>,
    notes: String,
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn the_whole_corpus_is_stored_as_the_manifest_says(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let manifest: Vec<Entry> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(
        manifest.len() >= 60,
        "the corpus has {} messages",
        manifest.len()
    );
    let mut failures = Vec::new();
    let mut stored = 0;
    for e in &manifest {
        let raw = std::fs::read(dir.join(&e.file)).unwrap();
        let result = app
            .inbound
            .ingest(Delivery {
                source: InboundSource::Pipe,
                envelope_from: None,
                envelope_to: vec![],
                raw,
            })
            .await;
        let message_id: Uuid = match result {
            Ok(
                IngestOutcome::Created { message_id, .. }
                | IngestOutcome::Appended { message_id, .. },
            ) => {
                stored += 1;
                message_id
            }
            Ok(IngestOutcome::Duplicate { .. }) => {
                if !e.notes.to_lowercase().contains("duplicate") {
                    failures.push(format!("{}: unexpectedly a duplicate", e.file));
                }
                continue;
            }
            Err(IngestError::TooLarge { .. }) if e.file.contains("oversize") => continue,
            Err(err) => {
                failures.push(format!("{}: {err}", e.file));
                continue;
            }
        };
        let row: (String, String, String, Option<String>) = sqlx::query_as(
            "SELECT class, subject, text_body, message_id FROM messages WHERE id = $1",
        )
        .bind(message_id)
        .fetch_one(&pool)
        .await
        .unwrap();
        let (class, subject, text, mid) = row;
        if class != e.class {
            failures.push(format!("{}: class {class}, expected {}", e.file, e.class));
        }
        if mid.is_some() != e.has_message_id {
            failures.push(format!("{}: message id {mid:?}", e.file));
        }
        if let Some(s) = &e.subject_contains
            && !subject.contains(s.as_str())
        {
            failures.push(format!("{}: subject {subject:?} lacks {s:?}", e.file));
        }
        if let Some(t) = &e.text_contains {
            let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            if !squash(&text).contains(&squash(t)) {
                failures.push(format!("{}: text lacks {t:?}", e.file));
            }
        }
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT filename FROM attachments WHERE message_id = $1 ORDER BY position",
        )
        .bind(message_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        // The manifest holds names as a MIME decoder yields them; we store
        // them made safe (no directories, no bidi overrides).
        for expected in e.attachments.iter().map(|n| safe_filename(n)) {
            if !names.contains(&expected) {
                failures.push(format!(
                    "{}: attachment {expected:?} missing from {names:?}",
                    e.file
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(stored >= 60);
    // Every accepted message kept its raw bytes.
    let raw: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(raw, stored);
    app.stop().await;
}
