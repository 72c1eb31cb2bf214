//! The binary carries its defaults (issue 16): copied alone into an empty
//! directory and started there against a fresh database, with no config
//! file and no paths in the environment, `concierge serve` migrates, imports
//! the resource hub, answers a message with the shipped templates (the
//! writer's language, their country's crisis line) and assesses risk with
//! the shipped rules.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::process::{Server, TO, free_addr, wait_ready};
use common::{Sink, mail, smtp_send};
use mail_parser::MessageParser;
use sqlx::PgPool;

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn the_binary_alone_in_an_empty_directory_serves_mail(pool: PgPool) {
    let url = common::database_url(&pool);
    let sink = Sink::start().await;
    let dir = std::env::temp_dir().join(format!("concierge-alone-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("concierge");
    std::fs::copy(env!("CARGO_BIN_EXE_concierge"), &bin).unwrap();
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "only the binary"
    );

    let (http, smtp) = (free_addr(), free_addr());
    let child = Command::new(&bin)
        .arg("serve")
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &url)
        .env("CONCIERGE__HTTP__ADDR", http.to_string())
        .env("CONCIERGE__SMTP__ADDR", smtp.to_string())
        .env("CONCIERGE__MAIL__OUTBOUND_URL", sink.url())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server(child);
    wait_ready(http, Duration::from_secs(60)).await;

    // The shipped hub is imported.
    let page = reqwest::get(format!("http://{http}/hub/BR"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("188"), "the Brazilian hub page lists CVV 188");

    // A message from Brazil: acknowledged in Portuguese with the shipped
    // templates, and the shipped risk rules make it urgent.
    let raw = mail(
        "João <joao@uol.com.br>",
        "Preciso falar",
        "Moro em São Paulo. Hoje depois do show eu vou me matar.",
        "Message-ID: <alone-1@uol.com.br>\r\n",
    );
    let r = smtp_send(smtp, "joao@uol.com.br", &[TO], &raw).await;
    assert!(r.starts_with("250"), "{r}");
    let got = sink
        .wait_for("joao@uol.com.br", 1, Duration::from_secs(30))
        .await;
    let ack = MessageParser::default()
        .parse(&got[0].data)
        .unwrap()
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(ack.trim_start().starts_with("CVV"), "{ack}");
    assert!(ack.contains("Emergência: 192"), "{ack}");
    drop(server);
    // Nothing was written next to the binary.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
