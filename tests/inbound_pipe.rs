//! `concierge ingest < message.eml`: sysexits codes, end to end with the
//! real binary.

mod common;

use std::process::{Command, Output, Stdio};

use common::{database_url, mail};
use sqlx::PgPool;

fn ingest(url: &str, stdin: &[u8], env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_concierge"));
    cmd.arg("ingest")
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::run_with_stdin(cmd, stdin)
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn pipe_exit_codes(pool: PgPool) {
    let url = database_url(&pool);
    // An operator runs `concierge migrate` (or `serve`) once before the MTA
    // starts piping: it also creates the job queue's schema.
    let migrate = Command::new(env!("CARGO_BIN_EXE_concierge"))
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let raw = mail(
        "gus@example.com",
        "Via pipe",
        "hello",
        "Message-ID: <pipe-1@example.com>\r\n",
    );

    let out = tokio::task::spawn_blocking({
        let (url, raw) = (url.clone(), raw.clone());
        move || {
            ingest(
                &url,
                &raw,
                &[],
                &[
                    "--sender",
                    "gus@example.com",
                    "--recipient",
                    "global@concierge.example.org",
                ],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(reference.starts_with("C-"), "{reference}");
    let stored: String = sqlx::query_scalar("SELECT reference FROM tickets")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, reference);
    let source: String = sqlx::query_scalar("SELECT source FROM raw_messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(source, "pipe");

    // A second delivery is a success that changes nothing.
    let out = tokio::task::spawn_blocking({
        let (url, raw) = (url.clone(), raw.clone());
        move || ingest(&url, &raw, &[], &[])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), reference);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);

    // Empty input: EX_DATAERR.
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || ingest(&url, b"", &[], &[])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));

    // Too large: EX_DATAERR with a message.
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            ingest(
                &url,
                &vec![b'x'; 5000],
                &[("CONCIERGE__MAIL__MAX_MESSAGE_BYTES", "2048")],
                &[],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("over the limit"));

    // Database unreachable: EX_TEMPFAIL so the MTA retries.
    let out = tokio::task::spawn_blocking({
        let raw = raw.clone();
        move || ingest("postgres://postgres@127.0.0.1:1/nowhere", &raw, &[], &[])
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("retry"));

    // Unusable configuration: EX_CONFIG.
    let out = tokio::task::spawn_blocking({
        let raw = raw.clone();
        move || {
            ingest(
                &url,
                &raw,
                &[("CONCIERGE__MAIL__MAX_MESSAGE_BYTES", "ten")],
                &[],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["ingest", "--help"],
        vec!["token", "--help"],
        vec!["token", "create", "--help"],
        vec!["token", "revoke", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_concierge"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage: concierge"), "{args:?}: {text}");
    }
}
