//! Issue #11 end to end: the country evidence of a case in the API and on
//! the case page (escaped), `concierge country explain` with the real
//! binary, acknowledgements that always carry crisis lines (placed country,
//! or suggestion plus the international directory, never none), and the
//! migration of old suggestion rows.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::dashboard::{self, get, open_case};
use common::{Sink, TestApp, mail, smtp_send};
use concierge_access::Role;
use concierge_outbound::AckOutcome;
use mail_parser::MessageParser;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const TO: &str = "global@concierge.example.org";

/// Every evidence kind as the API serialises it.
const KINDS: [&str; 17] = [
    "residence",
    "present",
    "moved_to",
    "based",
    "greeting",
    "label",
    "signature",
    "origin",
    "mention",
    "left",
    "tour",
    "phone_international",
    "phone_national",
    "domain",
    "history",
    "language",
    "timezone",
];

/// A writer in Manchester, England with a UK mobile number.
fn manchester() -> Vec<u8> {
    mail(
        "Tom Fletcher <tom.fletcher@example.net>",
        "Struggling after the tour",
        "Hi,\n\nI live in Manchester, England and I have not been OK since we got back \
         from the tour. I don't know who to talk to.\n\nYou can call me on +44 161 496 0123.\n\nTom",
        "Message-ID: <manchester-1@example.net>\r\n",
    )
}

/// A Lisbon signature with hostile markup in it.
fn hostile_lisbon() -> Vec<u8> {
    mail(
        "Rita <rita@example.org>",
        "Preciso de ajuda",
        "Olá, preciso de falar com alguém.\n\n--\nRita\n<script>alert(1)</script> Lisboa, Portugal\n",
        "Message-ID: <lisboa-1@example.org>\r\n",
    )
}

/// Text as askama escapes it (numeric entities).
fn html_escaped(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&#38;".to_owned(),
            '<' => "&#60;".to_owned(),
            '>' => "&#62;".to_owned(),
            '"' => "&#34;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

async fn ticket_id(pool: &PgPool, reference: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM tickets WHERE reference = $1")
        .bind(reference)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn assert_evidence_shape(evidence: &Value) {
    let items = evidence.as_array().expect("country_evidence is an array");
    for e in items {
        let kind = e["kind"].as_str().unwrap_or_default();
        assert!(KINDS.contains(&kind), "unknown kind in {e}");
        let country = e["country"].as_str().unwrap_or_default();
        assert!(
            country.len() == 2 && country.chars().all(|c| c.is_ascii_uppercase()),
            "{e}"
        );
        assert!(e["text"].is_string(), "{e}");
        assert!(e["weight"].is_number(), "{e}");
        assert!(e.get("note").is_none_or(Value::is_string), "{e}");
    }
}

/// `concierge country explain ARGS < stdin`, run from `dir` with no
/// database and no configuration in the environment.
fn explain(stdin: &[u8], args: &[&str], dir: &std::path::Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_concierge"));
    cmd.args(["country", "explain"])
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("CONCIERGE__") {
            cmd.env_remove(k);
        }
    }
    common::run_with_stdin(cmd, stdin)
}

/// A directory with nothing of the repository in it.
fn elsewhere() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("concierge-explain-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn patch(app: &TestApp, reference: &str, body: Value) -> (u16, Value) {
    let res = TestApp::client()
        .patch(format!("http://{}/api/v1/tickets/{reference}", app.http))
        .bearer_auth(&app.api_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The text part of the acknowledgement `mailer` queues for a case.
async fn ack_text(app: &TestApp, ticket: Uuid) -> String {
    let settings = common::settings(&app.url);
    let mailer = concierge::app::mailer(&settings, &app.store).await.unwrap();
    let outcome = mailer.acknowledge(ticket).await.unwrap();
    let AckOutcome::Queued(outbox) = outcome else {
        panic!("no acknowledgement queued: {outcome:?}");
    };
    let raw: Vec<u8> = sqlx::query_scalar("SELECT raw FROM outbox WHERE id = $1")
        .bind(outbox)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let m = MessageParser::default().parse(&raw).unwrap();
    m.body_text(0).unwrap().into_owned()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn manchester_writer_with_a_uk_number_gets_samaritans(pool: PgPool) {
    let sink = Sink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(common::database_url(&pool), move |s| {
        s.mail.outbound_url = url;
        s.mail.retry_base_secs = 1;
        s.worker.poll_secs = 1;
    })
    .await;
    concierge::hub::import(&app.store, &common::settings("").hub.file)
        .await
        .unwrap();
    let reply = smtp_send(app.smtp, "tom.fletcher@example.net", &[TO], &manchester()).await;
    assert!(reply.starts_with("250"), "{reply}");
    let reference = reply.trim().rsplit(' ').next().unwrap().to_owned();
    let got = sink
        .wait_for("tom.fletcher@example.net", 1, Duration::from_secs(15))
        .await;
    let m = MessageParser::default().parse(&got[0].data).unwrap();
    let text = m.body_text(0).unwrap();
    let detail = app.ticket(&reference).await;
    assert!(
        text.contains("Samaritans") && text.contains("116 123"),
        "no Samaritans 116 123 in the acknowledgement; the case: country {} suggestion {} \
         evidence {}\n{text}",
        detail["country"],
        detail["country_suggestion"],
        detail["country_evidence"]
    );
    assert!(m.body_html(0).unwrap().contains("116 123"));
    assert_eq!(detail["country"], "GB", "{}", detail["country_evidence"]);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn acknowledgements_always_carry_crisis_lines(pool: PgPool) {
    let app = dashboard::spawn(&pool).await;
    concierge::hub::import(&app.store, &common::settings("").hub.file)
        .await
        .unwrap();
    let open = |n: usize| {
        mail(
            &format!("writer{n}@example.com"),
            "Hello",
            "I need someone to talk to.",
            &format!("Message-ID: <ack-lines-{n}@example.com>\r\n"),
        )
    };
    let set = |reference: String,
               country: Option<&'static str>,
               suggestion: Option<&'static str>| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "UPDATE tickets SET country = $2, country_source = CASE WHEN $2::text IS NULL THEN NULL ELSE 'stated' END,
                        country_confidence = CASE WHEN $2::text IS NULL THEN NULL ELSE 0.9 END,
                        country_suggestion = $3,
                        country_suggestion_confidence = CASE WHEN $3::text IS NULL THEN NULL ELSE 0.4 END
                 WHERE reference = $1",
            )
            .bind(&reference)
            .bind(country)
            .bind(suggestion)
            .execute(&pool)
            .await
            .unwrap();
            ticket_id(&pool, &reference).await
        }
    };

    // Unknown, suggested GB: Samaritans and the international directory.
    let r = open_case(&app, &open(1)).await;
    let t = set(r, None, Some("GB")).await;
    let text = ack_text(&app, t).await;
    assert!(text.contains("116 123"), "{text}");
    assert!(text.contains("findahelpline.com"), "{text}");
    assert!(
        text.find("116 123") < text.find("findahelpline.com"),
        "the suggested country's lines come first:\n{text}"
    );
    assert!(text.contains("not sure yet which country"), "{text}");
    assert!(
        text.contains("Great Britain"),
        "names the suggestion:\n{text}"
    );

    // Unknown, no suggestion: the international directory.
    let r = open_case(&app, &open(2)).await;
    let t = set(r, None, None).await;
    let text = ack_text(&app, t).await;
    assert!(text.contains("findahelpline.com"), "{text}");
    assert!(!text.contains("116 123"), "{text}");
    assert!(text.contains("We don't know yet which country"), "{text}");

    // Unknown, suggested a country without a sourced line (Mongolia has no
    // hub entry): the international directory alone, never nothing.
    let r = open_case(&app, &open(3)).await;
    let t = set(r, None, Some("MN")).await;
    let text = ack_text(&app, t).await;
    assert!(text.contains("findahelpline.com"), "{text}");
    assert!(text.contains("We don't know yet which country"), "{text}");

    // Placed in GB: Samaritans, without the international list.
    let r = open_case(&app, &open(4)).await;
    let t = set(r, Some("GB"), Some("PT")).await;
    let text = ack_text(&app, t).await;
    assert!(text.contains("116 123"), "{text}");
    assert!(!text.contains("findahelpline.com"), "{text}");
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn api_shows_the_evidence_and_explain_shows_the_same(pool: PgPool) {
    let app = dashboard::spawn(&pool).await;
    let reference = open_case(&app, &manchester()).await;
    let detail = app.ticket(&reference).await;
    let evidence = &detail["country_evidence"];
    assert_evidence_shape(evidence);
    let items = evidence.as_array().unwrap();
    assert!(!items.is_empty(), "{detail}");
    let kinds: Vec<&str> = items.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"phone_international"),
        "the +44 number is evidence: {kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| [
            "residence",
            "present",
            "mention",
            "signature",
            "label",
            "based"
        ]
        .contains(k)),
        "what they say about Manchester is evidence: {kinds:?}"
    );
    // The suggestion is a plain code or nothing.
    match &detail["country_suggestion"] {
        Value::Null => assert!(detail["country_suggestion_confidence"].is_null()),
        Value::String(c) => {
            assert_eq!(c.len(), 2, "{c}");
            assert!(detail["country_suggestion_confidence"].is_number());
        }
        other => panic!("country_suggestion {other}"),
    }

    // The CLI, from a directory without the repository and with no
    // database, explains the same message with the same evidence.
    let dir = elsewhere();
    let out = explain(&manchester(), &["--json"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "country",
        "country_source",
        "country_confidence",
        "country_suggestion",
        "evidence",
        "threshold",
    ] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
    }
    assert_eq!(&v["evidence"], evidence, "explain and ingest disagree");
    assert_eq!(v["country"], detail["country"]);
    assert_eq!(v["country_suggestion"], detail["country_suggestion"]);
    let threshold = v["threshold"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&threshold));
    if let Some(p) = v["country_confidence"].as_f64() {
        assert!(p >= threshold - 1e-6, "{v}");
        assert!(v["country_suggestion"].is_null());
    }
    if let Some(p) = v["country_suggestion_confidence"].as_f64() {
        assert!(p < threshold, "{v}");
        assert!(v["country"].is_null());
    }

    // A person sets the country: the evidence stays, the suggestion goes.
    let (status, body) = patch(&app, &reference, json!({ "country": "IE" })).await;
    assert_eq!(status, 200, "{body}");
    let after = app.ticket(&reference).await;
    assert_eq!(after["country"], "IE");
    assert_eq!(after["country_source"], "manual");
    assert_eq!(&after["country_evidence"], evidence);
    assert!(after["country_suggestion"].is_null());
    assert!(after["country_suggestion_confidence"].is_null());

    // A reply does not change the case's evidence.
    let reply = mail(
        "Tom Fletcher <tom.fletcher@example.net>",
        &format!("Re: Struggling after the tour [{reference}]"),
        "I'm in Berlin for a gig this week, by the way. Call me on +49 30 1234567.",
        "Message-ID: <manchester-2@example.net>\r\nIn-Reply-To: <manchester-1@example.net>\r\n",
    );
    assert_eq!(open_case(&app, &reply).await, reference);
    let later = app.ticket(&reference).await;
    assert_eq!(&later["country_evidence"], evidence);
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn case_page_explains_the_country_and_escapes_the_evidence(pool: PgPool) {
    let app = dashboard::spawn(&pool).await;
    dashboard::user(&app, "admin@test.example.org", Role::Admin, None).await;
    let (c, _) = dashboard::session(&app, "admin@test.example.org").await;
    let reference = open_case(&app, &hostile_lisbon()).await;

    let (status, _, page) = get(&app, &c, &format!("/cases/{reference}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Why this country"), "{page}");
    assert!(!page.contains("<script>alert(1)"), "{page}");
    let api = app.ticket(&reference).await;
    if let Some(first) = api["country_evidence"].as_array().and_then(|a| a.first()) {
        // The strongest evidence is listed, escaped.
        let text = first["text"].as_str().unwrap();
        let escaped = html_escaped(text);
        assert!(page.contains(&escaped), "{escaped} not on the page");
    }

    // Evidence as a hostile engine or database could hold it, and a
    // suggestion for a case whose country is unknown.
    sqlx::query(
        "UPDATE tickets SET country = NULL, country_source = NULL, country_confidence = NULL,
                country_suggestion = 'PT', country_suggestion_confidence = 0.62,
                country_evidence = $2 WHERE reference = $1",
    )
    .bind(&reference)
    .bind(json!([
        { "kind": "signature", "country": "PT", "text": "<script>alert(1)</script> Lisboa, Portugal",
          "weight": 1.2 },
        { "kind": "tour", "country": "DE", "text": "gig in Berlin", "weight": -0.8,
          "note": "tour stop: not where they need care" },
        { "kind": "label", "country": "PT", "text": "\"><img src=x onerror=alert(2)>", "weight": 0.5,
          "note": "<b>bold</b>" }
    ]))
    .execute(&pool)
    .await
    .unwrap();
    let (status, headers, page) = get(&app, &c, &format!("/cases/{reference}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(headers.get("content-security-policy").is_some());
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(!page.contains("<b>bold</b>"), "{page}");
    assert!(
        page.contains(&html_escaped("<script>alert(1)</script> Lisboa, Portugal")),
        "{page}"
    );
    assert!(page.contains(&html_escaped("<b>bold</b>")), "{page}");
    assert!(
        page.contains(&html_escaped("\"><img src=x onerror=alert(2)>")),
        "{page}"
    );
    assert!(
        page.contains("unknown — suggestion: Portugal (PT) (0.62)"),
        "{page}"
    );
    assert!(page.contains("<td>signature</td>"), "{page}");
    assert!(page.contains("<td>tour stop</td>"), "{page}");
    assert!(
        page.contains("tour stop: not where they need care"),
        "{page}"
    );
    assert!(page.contains("+1.20"), "{page}");
    assert!(page.contains("\u{2212}0.80"), "{page}");
    assert!(page.contains("Germany (DE)"), "{page}");
    app.stop().await;
}

#[test]
fn explain_prints_a_table_and_refuses_garbage() {
    let dir = elsewhere();
    let out = explain(&manchester(), &[], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for line in ["country:", "source:", "confidence:", "suggestion:"] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    assert!(text.contains("phone_international"), "{text}");
    assert!(text.contains("+44"), "{text}");

    let out = explain(&manchester(), &["--json", "--previous-country", "IE"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let evidence = v["evidence"].as_array().unwrap();
    assert!(
        evidence
            .iter()
            .any(|e| e["kind"] == "history" && e["country"] == "IE"),
        "{v}"
    );

    for garbage in [&b""[..], b"   \r\n", b"\xff\xfe\x00garbage without headers"] {
        let out = explain(garbage, &["--json"], &dir);
        assert_eq!(out.status.code(), Some(65), "{garbage:?}: {out:?}");
        assert!(out.stdout.is_empty());
    }
    let out = explain(&manchester(), &["--previous-country", "UK"], &dir);
    assert!(!out.status.success(), "UK is not an ISO code");

    let help = Command::new(env!("CARGO_BIN_EXE_concierge"))
        .args(["country", "explain", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("--json") && help.contains("--previous-country"),
        "{help}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The migrations before the country-evidence one, then an old row, then
/// the migration: the suggestion is a code with its confidence.
#[sqlx::test(migrations = false)]
async fn migration_keeps_old_suggestions_readable(pool: PgPool) {
    const VERSION: i64 = 20261206000001;
    let migrations: Vec<_> = concierge_store::MIGRATOR.iter().collect();
    assert!(migrations.iter().any(|m| m.version == VERSION));
    for m in migrations.iter().filter(|m| m.version < VERSION) {
        sqlx::raw_sql(m.sql.as_ref()).execute(&pool).await.unwrap();
    }
    for (reference, suggestion) in [
        ("C-OLD001", Some("BR (stated, 0.42)")),
        ("C-OLD002", Some("PT (language, 0.3)")),
        ("C-OLD003", None),
        ("C-OLD004", Some("something odd")),
    ] {
        sqlx::query(
            "INSERT INTO tickets (id, reference, subject, country_suggestion, routing_state)
             VALUES ($1, $2, 'old case', $3, 'triage')",
        )
        .bind(Uuid::new_v4())
        .bind(reference)
        .bind(suggestion)
        .execute(&pool)
        .await
        .unwrap();
    }
    for m in migrations.iter().filter(|m| m.version >= VERSION) {
        sqlx::raw_sql(m.sql.as_ref()).execute(&pool).await.unwrap();
    }
    let store = concierge_store::Store::from_pool(pool.clone());
    let read = |r: &'static str| {
        let store = store.clone();
        async move { store.ticket_detail(r).await.unwrap().unwrap() }
    };
    let t = read("C-OLD001").await;
    assert_eq!(t.ticket.country_suggestion.as_deref(), Some("BR"));
    let p = t.ticket.country_suggestion_confidence.unwrap();
    assert!((p - 0.42).abs() < 1e-6, "{p}");
    assert!(t.country_evidence.is_empty());
    let t = read("C-OLD002").await;
    assert_eq!(t.ticket.country_suggestion.as_deref(), Some("PT"));
    assert!((t.ticket.country_suggestion_confidence.unwrap() - 0.3).abs() < 1e-6);
    let t = read("C-OLD003").await;
    assert_eq!(t.ticket.country_suggestion, None);
    assert_eq!(t.ticket.country_suggestion_confidence, None);
    let t = read("C-OLD004").await;
    assert_eq!(t.ticket.country_suggestion, None, "not a code: dropped");
    // New rows hold codes only.
    let bad = sqlx::query("UPDATE tickets SET country_suggestion = 'BR (stated, 0.4)'")
        .execute(&pool)
        .await;
    assert!(bad.is_err());
}
