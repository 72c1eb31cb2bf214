//! `concierge import mbox|maildir` as an operator runs it: the real binary
//! on generated exports with hostile content (escaped and unescaped
//! `From ` lines in bodies, CRLF and LF mixed, a truncated last message, a
//! 10 MB attachment, bytes that are no message), run twice, grown, and
//! killed in the middle and run again. Nothing is acknowledged, nothing is
//! stored twice, and every message keeps its own date.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::process::concierge;
use sqlx::PgPool;

fn import(url: &str, args: &[&str]) -> Output {
    let out = concierge(url)
        .arg("import")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run concierge import");
    assert!(
        out.status.success(),
        "import {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "concierge-import-{tag}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One message with `eol` line endings.
fn message(eol: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut m = String::new();
    for (k, v) in headers {
        m.push_str(&format!("{k}: {v}{eol}"));
    }
    m.push_str(eol);
    for line in body.lines() {
        m.push_str(line);
        m.push_str(eol);
    }
    m
}

fn separator(eol: &str, date: &str) -> String {
    format!("From MAILER-DAEMON {date}{eol}")
}

/// A Takeout-like mbox: an old thread (first message LF, its reply CRLF),
/// a recent message with a 10 MB attachment, an auto-reply, and a last
/// message cut off in the middle of its body.
fn hostile_mbox() -> String {
    let mut mbox = String::new();
    mbox.push_str(&separator("\n", "Sat Mar  1 09:15:00 2025"));
    mbox.push_str(&message(
        "\n",
        &[
            ("From", "Ana Lima <ana@uol.com.br>"),
            ("To", "global@concierge.example.org"),
            ("Subject", "old thread"),
            ("Message-ID", "<old1@import.test>"),
            ("Date", "Sat, 01 Mar 2025 09:15:00 +0000"),
        ],
        ">From the road: I live in Porto Alegre and I am exhausted.\n\
         From here on I will write every week.\n\
         >>From a quoted line, escaped twice.\n",
    ));
    mbox.push('\n');
    mbox.push_str(&separator("\r\n", "Sun Mar  2 10:00:00 2025"));
    mbox.push_str(&message(
        "\r\n",
        &[
            ("From", "Ana Lima <ana@uol.com.br>"),
            ("To", "global@concierge.example.org"),
            ("Subject", "Re: old thread"),
            ("Message-ID", "<old2@import.test>"),
            ("In-Reply-To", "<old1@import.test>"),
            ("References", "<old1@import.test>"),
            ("Date", "Sun, 02 Mar 2025 10:00:00 +0000"),
        ],
        "Thank you, I found someone.",
    ));
    mbox.push_str("\r\n");
    // 10 MB of attachment, base64 in 76-character lines.
    let chunk = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0";
    let mut attachment = String::with_capacity(14_100_000);
    while attachment.len() < 14_000_000 {
        attachment.push_str(chunk);
        attachment.push_str("\r\n");
    }
    mbox.push_str(&separator("\r\n", "Fri Nov 20 08:00:00 2026"));
    mbox.push_str(&format!(
        "From: Sam Okoro <sam@yahoo.com>\r\nTo: global@concierge.example.org\r\n\
         Subject: recent with attachment\r\nMessage-ID: <recent@import.test>\r\n\
         Date: Fri, 20 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         I manage a band in Lagos and our singer needs help.\r\n\
         --b1\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"rider.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{attachment}--b1--\r\n\r\n"
    ));
    mbox.push_str(&separator("\n", "Sat Nov 21 08:00:00 2026"));
    mbox.push_str(&message(
        "\n",
        &[
            ("From", "Office <office@label.example.com>"),
            ("To", "global@concierge.example.org"),
            ("Subject", "Out of office"),
            ("Message-ID", "<ooo@import.test>"),
            ("Auto-Submitted", "auto-replied"),
            ("Date", "Sat, 21 Nov 2026 08:00:00 +0000"),
        ],
        "I am away until Monday.",
    ));
    mbox.push('\n');
    mbox.push_str(&separator("\n", "Sun Nov 22 08:00:00 2026"));
    mbox.push_str(
        "From: Kim <kim@example.net>\nTo: global@concierge.example.org\n\
         Subject: cut off\nMessage-ID: <cut@import.test>\n\
         Date: Sun, 22 Nov 2026 08:00:00 +0000\n\nI live in Leeds and I ha",
    );
    mbox
}

/// Hostile mbox content, imported twice and then grown: history without
/// acknowledgements or targets, original dates, old threads resolved,
/// nothing twice.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn mbox_with_hostile_content_imports_once_as_history(pool: PgPool) {
    let url = common::database_url(&pool);
    let dir = temp_dir("mbox");
    let file = dir.join("Takeout.mbox");
    std::fs::write(&file, hostile_mbox()).unwrap();
    let path = file.to_str().unwrap();

    let first = import(&url, &["mbox", path, "--open-since", "2026-01-01"]);
    let shown = stdout(&first);
    assert!(shown.contains("imported 5 messages"), "{shown}");
    assert!(shown.contains("1 replies threaded"), "{shown}");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM raw_messages WHERE source = 'import'"
        )
        .await,
        5
    );

    // The old thread: one case, resolved, dated as the mail was.
    let (status, created, imported, due): (String, String, bool, bool) = sqlx::query_as(
        "SELECT t.status, to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                t.imported, t.first_response_due_at IS NOT NULL
         FROM tickets t JOIN messages m ON m.ticket_id = t.id
         WHERE m.message_id = 'old1@import.test'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), created.as_str(), imported, due),
        ("resolved", "2025-03-01 09:15", true, false)
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(DISTINCT ticket_id) FROM messages
             WHERE message_id IN ('old1@import.test', 'old2@import.test')"
        )
        .await,
        1,
        "the reply is threaded onto its case"
    );
    // mboxrd quoting undone once; a `From ` line that is no separator kept.
    let body: String =
        sqlx::query_scalar("SELECT text_body FROM messages WHERE message_id = 'old1@import.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        body.contains("From the road: I live in Porto Alegre"),
        "{body}"
    );
    assert!(body.contains("\nFrom here on I will write"), "{body}");
    assert!(body.contains(">From a quoted line"), "{body}");
    assert!(!body.contains(">>From"), "{body}");

    // The recent case is open, with no target, and its 10 MB attachment.
    let (status, due): (String, bool) = sqlx::query_as(
        "SELECT t.status, t.first_response_due_at IS NOT NULL
         FROM tickets t JOIN messages m ON m.ticket_id = t.id
         WHERE m.message_id = 'recent@import.test'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_ne!(status, "resolved");
    assert!(!due, "imported history has no first-response target");
    assert!(
        count(&pool, "SELECT max(size)::bigint FROM attachments").await >= 10_000_000,
        "the 10 MB attachment is stored"
    );
    // The truncated last message is kept with what there was of it.
    let cut: String =
        sqlx::query_scalar("SELECT text_body FROM messages WHERE message_id = 'cut@import.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(cut.contains("I live in Leeds and I ha"), "{cut}");
    // History is never answered.
    assert_eq!(count(&pool, "SELECT count(*) FROM outbox").await, 0);

    // The same file again: nothing new.
    let second = stdout(&import(&url, &["mbox", path, "--open-since", "2026-01-01"]));
    assert!(second.contains("imported 0 messages"), "{second}");
    assert!(second.contains("1 skipped"), "{second}");
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, 5);

    // The export grew (a later export to the same file): only the new
    // message is read.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    f.write_all(b"\n").unwrap();
    f.write_all(separator("\n", "Mon Nov 23 08:00:00 2026").as_bytes())
        .unwrap();
    f.write_all(
        message(
            "\n",
            &[
                ("From", "Lea <lea@gmx.de>"),
                ("To", "global@concierge.example.org"),
                ("Subject", "later"),
                ("Message-ID", "<later@import.test>"),
                ("Date", "Mon, 23 Nov 2026 08:00:00 +0000"),
            ],
            "Ich wohne in Köln.",
        )
        .as_bytes(),
    )
    .unwrap();
    drop(f);
    let third = stdout(&import(&url, &["mbox", path]));
    assert!(third.contains("imported 1 messages"), "{third}");
    assert!(third.contains("0 duplicates"), "{third}");
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, 6);
    assert_eq!(count(&pool, "SELECT count(*) FROM outbox").await, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

fn big_mbox(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        write!(f, "{}", separator("\n", "Tue Nov 10 08:00:00 2026")).unwrap();
        writeln!(
            f,
            "{}",
            message(
                "\n",
                &[
                    ("From", &format!("writer{}@example.com", i % 50)),
                    ("To", "global@concierge.example.org"),
                    ("Subject", &format!("request {i}")),
                    ("Message-ID", &format!("<big{i}@import.test>")),
                    ("Date", "Tue, 10 Nov 2026 08:00:00 +0000"),
                ],
                &format!("Message {i}. I live in Oslo.\n{}", "words ".repeat(100)),
            )
        )
        .unwrap();
    }
}

/// An import killed (SIGKILL) in the middle and run again finishes the
/// file: every message stored exactly once.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn killed_import_resumes_without_duplicates(pool: PgPool) {
    let url = common::database_url(&pool);
    let dir = temp_dir("resume");
    let file = dir.join("big.mbox");
    let n = 4000;
    big_mbox(&file, n);
    let path = file.to_str().unwrap();

    let mut child = concierge(&url)
        .args(["import", "mbox", path])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let began = Instant::now();
    // Past the first saved offset (saved every second), well before the end.
    loop {
        let saved = count(
            &pool,
            "SELECT COALESCE(max(byte_offset), 0) FROM import_files",
        )
        .await;
        let stored = count(&pool, "SELECT count(*) FROM messages").await;
        if saved > 0 && stored > 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed ({stored} stored)"
        );
        assert!(began.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = count(&pool, "SELECT count(*) FROM messages").await;
    assert!(at_kill < n as i64, "killed after the end");

    let rest = stdout(&import(&url, &["mbox", path]));
    assert_eq!(
        count(&pool, "SELECT count(*) FROM messages").await,
        n as i64,
        "{rest}"
    );
    assert_eq!(
        count(&pool, "SELECT count(DISTINCT message_id) FROM messages").await,
        n as i64
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM outbox").await, 0);
    eprintln!("killed after {at_kill} of {n}; the second run: {rest}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Maildir (cur/ with flags, new/, and a file that is no message): every
/// message once, the junk kept raw as an unparseable case; a second run
/// reads nothing.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn maildir_imports_every_message_once(pool: PgPool) {
    let url = common::database_url(&pool);
    let dir = temp_dir("maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for i in 0..4 {
        let (sub, name) = if i % 2 == 0 {
            ("cur", format!("1700000{i}.M{i}P1.host:2,S"))
        } else {
            ("new", format!("1700000{i}.M{i}P1.host"))
        };
        std::fs::write(
            dir.join(sub).join(name),
            message(
                if i % 2 == 0 { "\r\n" } else { "\n" },
                &[
                    ("From", &format!("m{i}@example.com")),
                    ("To", "global@concierge.example.org"),
                    ("Subject", &format!("maildir {i}")),
                    ("Message-ID", &format!("<md{i}@import.test>")),
                    ("Date", "Tue, 10 Nov 2026 08:00:00 +0000"),
                ],
                "Hello, I live in Madrid.",
            ),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("new").join("1700000009.M9P1.host"),
        b"\x00\x01\xff\xfe not a message at all\x00",
    )
    .unwrap();
    let path = dir.to_str().unwrap();
    let first = stdout(&import(&url, &["maildir", path]));
    assert!(first.contains("imported 5 messages"), "{first}");
    assert!(first.contains("1 unparseable kept raw"), "{first}");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM messages WHERE class = 'unparseable'"
        )
        .await,
        1
    );
    let second = stdout(&import(&url, &["maildir", path]));
    assert!(second.contains("imported 0 messages"), "{second}");
    assert!(second.contains("5 skipped"), "{second}");
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, 5);
    assert_eq!(count(&pool, "SELECT count(*) FROM outbox").await, 0);

    // Not a Maildir: a clear error, nothing stored.
    let out = concierge(&url)
        .args(["import", "maildir", dir.join("cur").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a Maildir"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
