//! The server's own log at info level never holds what people wrote or who
//! they are (issue 14): the real `concierge serve` process, its stderr
//! captured, takes mail through every door (SMTP, HTTP, the MTA pipe), a
//! reply, an imminent-risk message and an unparseable one; routes, sends
//! acknowledgements and caseworker notices through a real relay on
//! loopback; then the whole log is searched for the writers' addresses,
//! names, subjects and phrases.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::process::{Server, TO, concierge, free_addr, wait_ready};
use common::{INBOUND_TOKEN, Sink, mail, smtp_send};
use sqlx::PgPool;

/// What must never reach the log: addresses and local parts, names,
/// subjects and phrases of the writers.
const SECRETS: &[&str] = &[
    "ingrid.solberg",
    "nrk-musiker.no",
    "Ingrid Solberg",
    "Solberg",
    "Søvnløs etter turneen",
    "nordlys trommeslager",
    "kwame.mensah",
    "Kwame Mensah",
    "Mensah",
    "Burnout after the Accra shows",
    "highlife bassline",
    "pipe.writer",
    "Pipe Writer",
    "Question via the pipe",
    "marimba lighthouse",
    "joao.silva",
    "João Silva",
    "vou me matar",
    "Preciso falar",
];

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn the_info_log_holds_no_content_subjects_or_addresses(pool: PgPool) {
    let url = common::database_url(&pool);
    let sink = Sink::start().await;
    let store = concierge_store::Store::connect_lazy(&url, 2).unwrap();
    store
        .add_volunteer(
            "lars@volunteers.example.org",
            "Lars",
            &["NO".into()],
            &["no".into(), "nb".into(), "en".into()],
            5,
        )
        .await
        .unwrap();
    let log_path = std::env::temp_dir().join(format!("concierge-log-{}.txt", uuid::Uuid::new_v4()));
    let log = std::fs::File::create(&log_path).unwrap();
    let (http, smtp) = (free_addr(), free_addr());
    let child = concierge(&url)
        .arg("serve")
        .env("RUST_LOG", "info")
        .env("CONCIERGE__HTTP__ADDR", http.to_string())
        .env("CONCIERGE__SMTP__ADDR", smtp.to_string())
        .env("CONCIERGE__MAIL__OUTBOUND_URL", sink.url())
        .env("CONCIERGE__INBOUND__TOKEN", INBOUND_TOKEN)
        .env("CONCIERGE__WORKER__POLL_SECS", "1")
        .stdout(Stdio::null())
        .stderr(log.try_clone().unwrap())
        .spawn()
        .unwrap();
    let server = Server(child);
    wait_ready(http, Duration::from_secs(60)).await;

    // SMTP: a new case from Norway, then her reply.
    let first = mail(
        "Ingrid Solberg <ingrid.solberg@nrk-musiker.no>",
        "Søvnløs etter turneen",
        "Hei, jeg bor i Oslo og er nordlys trommeslager. Jeg sover ikke etter turneen.",
        "Message-ID: <ingrid-1@nrk-musiker.no>\r\n",
    );
    let r = smtp_send(smtp, "ingrid.solberg@nrk-musiker.no", &[TO], &first).await;
    assert!(r.starts_with("250"), "{r}");
    let reference = r.trim().rsplit(' ').next().unwrap().to_owned();
    sink.wait_for("ingrid.solberg@nrk-musiker.no", 1, Duration::from_secs(30))
        .await;
    let reply = mail(
        "Ingrid Solberg <ingrid.solberg@nrk-musiker.no>",
        &format!("Re: [{reference}] Søvnløs etter turneen"),
        "Takk. nordlys trommeslager igjen.",
        "Message-ID: <ingrid-2@nrk-musiker.no>\r\nIn-Reply-To: <ingrid-1@nrk-musiker.no>\r\n",
    );
    let r = smtp_send(smtp, "ingrid.solberg@nrk-musiker.no", &[TO], &reply).await;
    assert!(r.starts_with("250"), "{r}");
    // The caseworker for Norway is told.
    sink.wait_for("lars@volunteers.example.org", 1, Duration::from_secs(30))
        .await;

    // HTTP.
    let raw = mail(
        "Kwame Mensah <kwame.mensah@example.com.gh>",
        "Burnout after the Accra shows",
        "I play a highlife bassline in Accra and I am exhausted.",
        "Message-ID: <kwame-1@example.com.gh>\r\n",
    );
    let res = reqwest::Client::new()
        .post(format!("http://{http}/inbound/mime"))
        .bearer_auth(INBOUND_TOKEN)
        .body(raw)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    sink.wait_for("kwame.mensah@example.com.gh", 1, Duration::from_secs(30))
        .await;

    // The MTA pipe, its stderr into the same log.
    let mut pipe = concierge(&url);
    pipe.args(["ingest", "-f", "pipe.writer@example.org"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log.try_clone().unwrap());
    let out = common::run_with_stdin(
        pipe,
        &mail(
            "Pipe Writer <pipe.writer@example.org>",
            "Question via the pipe",
            "A marimba lighthouse question.",
            "Message-ID: <pipe-1@example.org>\r\n",
        ),
    );
    assert!(out.status.success());

    // Imminent risk, and a message that is not one.
    let crisis = mail(
        "João Silva <joao.silva@uol.com.br>",
        "Preciso falar",
        "Moro em São Paulo. Hoje depois do show eu vou me matar.",
        "Message-ID: <joao-1@uol.com.br>\r\n",
    );
    let r = smtp_send(smtp, "joao.silva@uol.com.br", &[TO], &crisis).await;
    assert!(r.starts_with("250"), "{r}");
    sink.wait_for("joao.silva@uol.com.br", 1, Duration::from_secs(30))
        .await;
    let r = smtp_send(
        smtp,
        "kwame.mensah@example.com.gh",
        &[TO],
        b"\x00\x01 not a message at all highlife bassline\r\n",
    )
    .await;
    assert!(!r.is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(server);

    let text = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    // The log is there and says things at info level (so the search below
    // means something).
    assert!(text.contains(" INFO "), "no info lines:\n{text}");
    assert!(text.lines().count() >= 5, "{text}");
    for secret in SECRETS {
        let hit = text.lines().find(|l| l.contains(secret));
        assert!(
            hit.is_none(),
            "{secret:?} reached the log: {}",
            hit.unwrap_or_default()
        );
    }
}
