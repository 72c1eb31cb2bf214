//! Privacy operations (issue 14) against real Postgres, with mail in over
//! real SMTP and the `concierge privacy` commands run as an operator would:
//! a subject access export holds everything about the person and nothing
//! about anyone else; an erasure leaves nothing of the person in a
//! `pg_dump` of the whole database (and is refused under legal hold);
//! retention purges old closed cases, raw MIME, sessions and login
//! attempts in batches, from the CLI and from the worker.

mod common;

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Sink, TestApp, mail, smtp_send};
use sqlx::PgPool;
use uuid::Uuid;

const TO: &str = "global@concierge.example.org";
const ANA: &str = "ana.ferreira@uol.com.br";
const ANA_NAME: &str = "Ana Ferreira";
/// A phrase only Ana wrote.
const ANA_PHRASE: &str = "zebrafinch harmonium";
const BOB: &str = "bob.marley.fan@example.co.uk";
const BOB_PHRASE: &str = "kettle cathedral";

/// Runs `concierge privacy ARGS` against `db`, as an operator would.
async fn privacy(db: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_concierge"));
    cmd.arg("privacy")
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Ana's first message: Portuguese text and a PDF attachment.
fn ana_first() -> Vec<u8> {
    format!(
        "From: {ANA_NAME} <{ANA}>\r\nTo: {TO}\r\nSubject: Preciso de ajuda\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <ana-1@uol.com.br>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Oi, moro em São Paulo e toco numa banda. Queria terapia. {ANA_PHRASE}.\r\n\
         --b1\r\nContent-Type: application/pdf; name=\"laudo.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"../laudo.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcK1wrYKYW5hLXBkZgo=\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// Sends Ana's case (first message, a reply) and Bob's, waits for their
/// acknowledgements; returns (Ana's reference, Bob's reference).
async fn two_people(app: &TestApp, sink: &Sink) -> (String, String) {
    let r = smtp_send(app.smtp, ANA, &[TO], &ana_first()).await;
    assert!(r.starts_with("250"), "{r}");
    let ana_ref = r.trim().rsplit(' ').next().unwrap().to_owned();
    sink.wait_for(ANA, 1, Duration::from_secs(20)).await;
    let reply = mail(
        &format!("{ANA_NAME} <{ANA}>"),
        &format!("Re: [{ana_ref}] Preciso de ajuda"),
        "Obrigada. Posso falar amanhã.",
        "Message-ID: <ana-2@uol.com.br>\r\nIn-Reply-To: <ana-1@uol.com.br>\r\n",
    );
    let r = smtp_send(app.smtp, ANA, &[TO], &reply).await;
    assert!(r.starts_with("250"), "{r}");
    let bob = mail(
        &format!("Bob <{BOB}>"),
        "Therapy in Leeds",
        &format!("I'm a drummer in Leeds looking for a therapist. {BOB_PHRASE}."),
        "Message-ID: <bob-1@example.co.uk>\r\n",
    );
    let r = smtp_send(app.smtp, BOB, &[TO], &bob).await;
    assert!(r.starts_with("250"), "{r}");
    let bob_ref = r.trim().rsplit(' ').next().unwrap().to_owned();
    sink.wait_for(BOB, 1, Duration::from_secs(20)).await;
    (ana_ref, bob_ref)
}

async fn ticket_id(pool: &PgPool, reference: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM tickets WHERE reference = $1")
        .bind(reference)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn subject_access_export_holds_everything_about_the_person_and_nobody_else(pool: PgPool) {
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    let (ana_ref, _) = two_people(&app, &sink).await;
    let ana_case = ticket_id(&pool, &ana_ref).await;
    app.store
        .add_note(
            ana_case,
            "lucia@charity.example",
            "Lúcia",
            "Internal: call her tomorrow.",
        )
        .await
        .unwrap();
    // A caseworker opened the case (audited): the export says who.
    let (status, _) = app.api(&format!("/api/v1/tickets/{ana_ref}")).await;
    assert_eq!(status, 200);

    let out_dir = std::env::temp_dir().join(format!("concierge-export-{}", Uuid::new_v4()));
    // The address as the person typed it in their request.
    let out = privacy(
        &app.url,
        &[
            "export",
            "--requester",
            "Ana.Ferreira@UOL.com.br",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let files: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(text(&out).contains("1 case(s)"), "{}", text(&out));

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&files[0]).unwrap()).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    let mut read = |name: &str| {
        let mut s = Vec::new();
        zip.by_name(name).unwrap().read_to_end(&mut s).unwrap();
        s
    };
    let doc: serde_json::Value = serde_json::from_slice(&read("export.json")).unwrap();
    assert_eq!(doc["email"], ANA);
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "only Ana's case: {doc:#}");
    let case = &cases[0];
    assert_eq!(case["reference"], ana_ref.as_str());
    assert!(case["assignments"].is_array());
    let messages = case["messages"].as_array().unwrap();
    let directions: Vec<&str> = messages
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert_eq!(
        directions.iter().filter(|d| **d == "inbound").count(),
        2,
        "{directions:?}"
    );
    assert!(directions.contains(&"outbound"), "the acknowledgement");
    let note = messages
        .iter()
        .find(|m| m["direction"] == "note")
        .expect("the internal note");
    assert_eq!(note["internal"], true);
    assert!(note["text"].as_str().unwrap().contains("call her tomorrow"));
    let actions: Vec<&str> = case["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"case.view"), "{actions:?}");

    // The original as received, the acknowledgement as sent, and the
    // attachment under a safe name.
    let eml: Vec<&String> = names.iter().filter(|n| n.ends_with(".eml")).collect();
    assert!(eml.len() >= 3, "{names:?}");
    let first = String::from_utf8(read(&format!("{ana_ref}/001-inbound.eml"))).unwrap();
    assert!(first.contains(ANA_PHRASE), "{first}");
    let pdf = names
        .iter()
        .find(|n| n.ends_with("laudo.pdf"))
        .unwrap_or_else(|| panic!("{names:?}"))
        .clone();
    assert!(!pdf.contains(".."), "{pdf}");
    assert!(read(&pdf).starts_with(b"%PDF-1.4"));
    // Nothing of Bob anywhere in the archive.
    for name in &names {
        let bytes = read(name);
        let s = String::from_utf8_lossy(&bytes);
        assert!(
            !s.contains(BOB) && !s.contains(BOB_PHRASE),
            "Bob leaked into {name}"
        );
    }

    // The export is audited (without the address).
    let detail: serde_json::Value = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'privacy.export' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!detail.to_string().contains("ana"), "{detail}");

    // Nobody by that address: a clear message and EX_NOUSER.
    let out = privacy(
        &app.url,
        &[
            "export",
            "--requester",
            "nobody@example.org",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(67), "{}", text(&out));
    assert!(text(&out).contains("nothing is held about"));
    let _ = std::fs::remove_dir_all(&out_dir);
    app.stop().await;
}

/// The whole database as SQL text.
fn pg_dump(url: &str) -> String {
    let out = Command::new("pg_dump")
        .args(["--no-owner", "--data-only", url])
        .output()
        .expect("pg_dump (postgresql-client) is installed by scripts/test.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn erasure_leaves_nothing_of_the_person_in_a_dump_of_the_database(pool: PgPool) {
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    let (ana_ref, bob_ref) = two_people(&app, &sink).await;
    let ana_case = ticket_id(&pool, &ana_ref).await;
    app.store
        .add_note(
            ana_case,
            "lucia@charity.example",
            "Lúcia",
            "Spoke to Ana Ferreira.",
        )
        .await
        .unwrap();
    let (status, _) = app.api(&format!("/api/v1/tickets/{ana_ref}")).await;
    assert_eq!(status, 200);
    // The routing and mail jobs have run: nothing is in flight for Ana.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = pg_dump(&app.url);
    for needle in [ANA, ANA_NAME, ANA_PHRASE, BOB_PHRASE] {
        assert!(
            before.contains(needle),
            "{needle:?} should be in the dump before"
        );
    }

    // A dry run counts and changes nothing.
    let out = privacy(&app.url, &["erase", "--requester", ANA, "--dry-run"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("would erase"), "{}", text(&out));
    assert!(text(&out).contains("1 case(s)"), "{}", text(&out));
    assert!(pg_dump(&app.url).contains(ANA_PHRASE));

    // A legal hold blocks it, saying which case and why.
    let out = privacy(
        &app.url,
        &["hold", "--case", &ana_ref, "--reason", "court order 12/26"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = privacy(&app.url, &["erase", "--requester", ANA], &[]).await;
    assert_eq!(out.status.code(), Some(77), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&ana_ref) && said.contains("court order 12/26"),
        "{said}"
    );
    assert!(pg_dump(&app.url).contains(ANA_PHRASE));
    let out = privacy(&app.url, &["hold", "--case", &ana_ref, "--release"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));

    // Erased.
    let out = privacy(&app.url, &["erase", "--requester", ANA], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).starts_with("erased: 1 case(s)"),
        "{}",
        text(&out)
    );
    let after = pg_dump(&app.url);
    for needle in [
        ANA,
        "ana.ferreira",
        ANA_NAME,
        "Ferreira",
        ANA_PHRASE,
        "laudo",
    ] {
        assert!(
            !after.contains(needle),
            "{needle:?} is still in the database after erasure"
        );
    }
    assert!(!after.contains(&ana_ref), "the case reference is gone too");
    // Bob is untouched.
    assert!(after.contains(BOB) && after.contains(BOB_PHRASE));
    assert_eq!(app.ticket(&bob_ref).await["reference"], bob_ref.as_str());
    let (status, _) = app.api(&format!("/api/v1/tickets/{ana_ref}")).await;
    assert_eq!(status, 404);

    // Who opened and changed the case, when, stays in the append-only
    // audit log; what the entries said is redacted. The log still refuses
    // changes outside a privacy operation.
    let kept: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE ticket_id = $1")
            .bind(ana_case)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(!kept.is_empty());
    assert!(
        kept.iter()
            .all(|d| *d == serde_json::json!({"redacted": true})),
        "{kept:?}"
    );
    for sql in [
        "UPDATE audit_log SET detail = '{\"redacted\": true}'",
        "DELETE FROM audit_log",
    ] {
        assert!(sqlx::query(sql).execute(&pool).await.is_err(), "{sql}");
    }

    // The erasure itself is audited with counts only.
    let detail: serde_json::Value =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'privacy.erase'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(detail["cases"], 1, "{detail}");
    assert!(detail["messages"].as_i64().unwrap() >= 4, "{detail}");

    // Again: nothing is held any more.
    let out = privacy(&app.url, &["erase", "--requester", ANA], &[]).await;
    assert_eq!(out.status.code(), Some(67), "{}", text(&out));
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn retention_purges_old_closed_cases_raw_mime_sessions_and_login_attempts(pool: PgPool) {
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    let (ana_ref, bob_ref) = two_people(&app, &sink).await;
    // A third case, closed long ago but under legal hold.
    let r = smtp_send(
        app.smtp,
        "held@example.org",
        &[TO],
        &mail(
            "Held <held@example.org>",
            "Old",
            "An old case.",
            "Message-ID: <held@example.org>\r\n",
        ),
    )
    .await;
    let held_ref = r.trim().rsplit(' ').next().unwrap().to_owned();
    sink.wait_for("held@example.org", 1, Duration::from_secs(20))
        .await;
    let db = app.url.clone();
    app.stop().await;

    // Ana's case was closed three years ago; Bob's is open, but his mail
    // arrived two years ago; an expired session and old login attempts.
    for reference in [&ana_ref, &held_ref] {
        sqlx::query(
            "UPDATE tickets SET status = 'closed', resolved_at = now() - interval '3 years'
             WHERE reference = $1",
        )
        .bind(reference)
        .execute(&pool)
        .await
        .unwrap();
    }
    let out = privacy(
        &db,
        &["hold", "--case", &held_ref, "--reason", "insurer dispute"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    sqlx::query(
        "UPDATE raw_messages SET received_at = now() - interval '2 years'
         WHERE id IN (SELECT raw_id FROM messages m JOIN tickets t ON t.id = m.ticket_id
                      WHERE t.reference = $1)",
    )
    .bind(&bob_ref)
    .execute(&pool)
    .await
    .unwrap();
    let user: Uuid = sqlx::query_scalar("SELECT id FROM users LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, csrf_token, expires_at)
         VALUES (repeat('a', 64), $1, 'x', now() - interval '30 days'),
                (repeat('b', 64), $1, 'y', now() + interval '1 day')",
    )
    .bind(user)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO login_attempts (key, at)
         SELECT 'k' || g, now() - interval '3 days' FROM generate_series(1, 5) g
         UNION ALL SELECT 'fresh', now()",
    )
    .execute(&pool)
    .await
    .unwrap();

    let policy = [
        ("CONCIERGE__PRIVACY__CLOSED_CASES_MONTHS", "24"),
        ("CONCIERGE__PRIVACY__RAW_MIME_MONTHS", "12"),
        ("CONCIERGE__PRIVACY__RETENTION_BATCH", "2"),
    ];
    // The dry run reports and changes nothing.
    let out = privacy(&db, &["retention", "--dry-run"], &policy).await;
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("closed cases past retention: 1 case(s)"),
        "{said}"
    );
    assert!(said.contains("expired sessions: 1"), "{said}");
    assert!(said.contains("old login attempts: 5"), "{said}");
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM tickets").await, 3);

    // The worker applies it when it starts (and then every
    // retention_every_minutes), in batches of two.
    let url = sink.url();
    let app = TestApp::spawn_with(common::database_url(&pool), move |s| {
        s.mail.outbound_url = url;
        s.privacy.closed_cases_months = 24;
        s.privacy.raw_mime_months = 12;
        s.privacy.retention_batch = 2;
    })
    .await;
    let start = std::time::Instant::now();
    while count("SELECT count(*) FROM audit_log WHERE action = 'privacy.retention'").await == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "retention did not run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refs: Vec<String> = sqlx::query_scalar("SELECT reference FROM tickets ORDER BY reference")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(!refs.contains(&ana_ref), "Ana's closed case is purged");
    assert!(
        refs.contains(&bob_ref) && refs.contains(&held_ref),
        "{refs:?}"
    );
    assert_eq!(
        count("SELECT count(*) FROM requesters WHERE email = 'ana.ferreira@uol.com.br'").await,
        0
    );
    // Bob's raw MIME is gone, his text stays.
    let (raw, text_body): (Option<Uuid>, String) = sqlx::query_as(
        "SELECT m.raw_id, m.text_body FROM messages m JOIN tickets t ON t.id = m.ticket_id
         WHERE t.reference = $1 AND m.direction = 'inbound'",
    )
    .bind(&bob_ref)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(raw, None);
    assert!(text_body.contains(BOB_PHRASE));
    let sessions: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(sessions, vec!["b".repeat(64)]);
    let detail: serde_json::Value = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'privacy.retention' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(detail["closed_cases"]["cases"], 1, "{detail}");
    assert_eq!(detail["login_attempts"], 5, "{detail}");
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn admins_answer_export_and_erasure_requests_in_the_dashboard(pool: PgPool) {
    use common::dashboard::{get_body, post_body, session, url, user};
    use concierge_access::Role;
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    let (ana_ref, bob_ref) = two_people(&app, &sink).await;
    let admin = user(&app, "root@charity.example", Role::Admin, None).await;
    user(&app, "chris@charity.example", Role::Coordinator, None).await;
    let (c, csrf) = session(&app, "root@charity.example").await;
    let (status, page) = get_body(&app, &c, "/admin/privacy").await;
    assert_eq!(status, 200, "{page}");

    // Only admins: a coordinator gets the dashboard's 404, pages and forms.
    let (cc, ccsrf) = session(&app, "chris@charity.example").await;
    assert_eq!(get_body(&app, &cc, "/admin/privacy").await.0, 404);
    let (status, _) = post_body(
        &app,
        &cc,
        "/admin/privacy/erase",
        &[("csrf", &ccsrf), ("email", ANA), ("confirm", ANA)],
    )
    .await;
    assert_eq!(status, 404);
    // No CSRF token: 403, nothing happens.
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/privacy/erase",
        &[("email", ANA), ("confirm", ANA)],
    )
    .await;
    assert_eq!(status, 403);

    // Find: what an erasure would remove.
    let (status, page) = post_body(
        &app,
        &c,
        "/admin/privacy/find",
        &[("csrf", &csrf), ("email", " ANA.FERREIRA@uol.com.br ")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("<li>cases: 1</li>"), "{page}");
    assert!(page.contains("Erase for good"), "{page}");
    let (_, page) = post_body(
        &app,
        &c,
        "/admin/privacy/find",
        &[("csrf", &csrf), ("email", "nobody@example.org")],
    )
    .await;
    assert!(page.contains("Nothing is held about that address."));

    // Export: a zip download with her case and not Bob's.
    let res = c
        .post(url(&app, "/admin/privacy/export"))
        .form(&[("csrf", csrf.as_str()), ("email", ANA)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".zip")
    );
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut doc = String::new();
    zip.by_name("export.json")
        .unwrap()
        .read_to_string(&mut doc)
        .unwrap();
    assert!(doc.contains(&ana_ref) && doc.contains(ANA_PHRASE));
    assert!(!doc.contains(&bob_ref) && !doc.contains(BOB_PHRASE));

    // A legal hold from the page blocks the erasure (409, nothing erased).
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/privacy/hold",
        &[
            ("csrf", &csrf),
            ("reference", &ana_ref),
            ("reason", "police request"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = post_body(
        &app,
        &c,
        "/admin/privacy/find",
        &[("csrf", &csrf), ("email", ANA)],
    )
    .await;
    assert!(
        page.contains("police request") && !page.contains("Erase for good"),
        "{page}"
    );
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/privacy/erase",
        &[("csrf", &csrf), ("email", ANA), ("confirm", ANA)],
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/privacy/hold",
        &[("csrf", &csrf), ("reference", &ana_ref), ("reason", "")],
    )
    .await;
    assert_eq!(status, 303);

    // The address must be typed again; a near miss erases nothing.
    let (status, page) = post_body(
        &app,
        &c,
        "/admin/privacy/erase",
        &[
            ("csrf", &csrf),
            ("email", ANA),
            ("confirm", "ana.ferreira@uol.com"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("Nothing was erased."), "{page}");
    assert_eq!(app.ticket(&ana_ref).await["reference"], ana_ref.as_str());
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/privacy/erase",
        &[
            ("csrf", &csrf),
            ("email", ANA),
            ("confirm", "Ana.Ferreira@uol.com.br"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(app.api(&format!("/api/v1/tickets/{ana_ref}")).await.0, 404);
    assert_eq!(app.ticket(&bob_ref).await["reference"], bob_ref.as_str());
    let by: Option<Uuid> =
        sqlx::query_scalar("SELECT actor_user_id FROM audit_log WHERE action = 'privacy.erase'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(by, Some(admin));
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'case.legal_hold%' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(actions, ["case.legal_hold", "case.legal_hold.release"]);
    app.stop().await;
}

/// `pg_dump -Fc` of the test's database restored with `pg_restore` into a
/// fresh one: the service starts on the copy and shows the same cases.
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn a_backup_restored_into_a_fresh_database_serves_the_same_cases(pool: PgPool) {
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    let (ana_ref, bob_ref) = two_people(&app, &sink).await;
    let before = app.tickets("").await;
    let ana_before = app.ticket(&ana_ref).await;
    let url = app.url.clone();
    app.stop().await;

    let dump = std::env::temp_dir().join(format!("concierge-backup-{}.dump", Uuid::new_v4()));
    let out = Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(&dump)
        .arg(&url)
        .output()
        .expect("pg_dump (postgresql-client) is installed by scripts/test.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let copy = format!("concierge_restore_{}", Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {copy}")))
        .execute(&pool)
        .await
        .unwrap();
    let (server, _) = url.rsplit_once('/').unwrap();
    let copy_url = format!("{server}/{copy}");
    let out = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname"])
        .arg(&copy_url)
        .arg(&dump)
        .output()
        .expect("pg_restore");
    let _ = std::fs::remove_file(&dump);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let restored = TestApp::spawn_with(copy_url, |s| {
        s.mail.outbound_url = sink.url();
    })
    .await;
    let after = restored.tickets("").await;
    let refs = |v: &[serde_json::Value]| {
        let mut r: Vec<String> = v
            .iter()
            .map(|t| t["reference"].as_str().unwrap().to_owned())
            .collect();
        r.sort();
        r
    };
    assert_eq!(refs(&after), refs(&before));
    assert!(refs(&after).contains(&bob_ref));
    let ana_after = restored.ticket(&ana_ref).await;
    assert_eq!(ana_after["subject"], ana_before["subject"]);
    assert_eq!(ana_after["status"], ana_before["status"]);
    assert_eq!(ana_after["country"], ana_before["country"]);
    // And it takes new mail on the copy.
    let r = smtp_send(
        restored.smtp,
        BOB,
        &[TO],
        &mail(
            &format!("Bob <{BOB}>"),
            "After the restore",
            "Still there?",
            "Message-ID: <bob-2@example.co.uk>\r\n",
        ),
    )
    .await;
    assert!(r.starts_with("250"), "{r}");
    restored.stop().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {copy} WITH (FORCE)"
    )))
    .execute(&pool)
    .await
    .unwrap();
}
