//! Outbound mail over a real SMTP conversation on loopback: acknowledgements
//! in the sender's language with their country's crisis lines, threading,
//! no answers to machines, rate limits, a relay that is down, caseworker
//! replies, assignment notices without content, bounces of our own mail.

mod common;

use std::time::{Duration, Instant};

use common::{Sink, TestApp, mail, smtp_send};
use concierge_core::threading::ReplyTokenKey;
use mail_parser::MessageParser;
use sqlx::PgPool;

const TO: &str = "global@concierge.example.org";

fn key() -> ReplyTokenKey {
    ReplyTokenKey::new(
        common::settings("")
            .security
            .reply_token_secret
            .into_bytes(),
    )
    .unwrap()
}

fn header<'a>(m: &'a mail_parser::Message<'a>, name: &'a str) -> Option<&'a str> {
    m.header_raw(name).map(str::trim)
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn brazilian_sender_gets_a_portuguese_ack_with_cvv_and_replies_thread(pool: PgPool) {
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    concierge::hub::import(&app.store, &common::settings("").hub.file)
        .await
        .unwrap();

    let raw = mail(
        "Ana Souza <ana.souza@uol.com.br>",
        "Preciso de ajuda",
        "Olá, eu moro em São Paulo e não estou bem desde a turnê. Preciso conversar com alguém.\n\nAna",
        "Message-ID: <ack-br@uol.com.br>\r\n",
    );
    let sent_at = Instant::now();
    let reply = smtp_send(app.smtp, "ana.souza@uol.com.br", &[TO], &raw).await;
    assert!(reply.starts_with("250"), "{reply}");
    let reference = reply.trim().rsplit(' ').next().unwrap().to_owned();
    let got = sink
        .wait_for("ana.souza@uol.com.br", 1, Duration::from_secs(10))
        .await;
    let took = sent_at.elapsed();
    assert!(took < Duration::from_secs(3), "acknowledged after {took:?}");
    let env = &got[0];
    assert_eq!(env.mail_from, "", "automatic replies use the null sender");
    let m = MessageParser::default().parse(&env.data).unwrap();
    assert_eq!(header(&m, "Auto-Submitted"), Some("auto-replied"));
    assert!(header(&m, "X-Concierge-Loop").is_some());
    assert_eq!(m.in_reply_to().as_text(), Some("ack-br@uol.com.br"));
    let subject = m.subject().unwrap();
    assert_eq!(subject, format!("Re: Preciso de ajuda [{reference}]"));
    let ack_id = m.message_id().unwrap().to_owned();
    assert_eq!(
        key().verify_message_id(&ack_id).map(|r| r.to_string()),
        Some(reference.clone())
    );
    let text = m.body_text(0).unwrap();
    assert!(text.contains(&reference), "{text}");
    assert!(
        text.contains("188"),
        "CVV 188 in the Portuguese ack:\n{text}"
    );
    assert!(m.body_html(0).unwrap().contains("188"));
    // Portuguese, not English.
    assert!(
        text.contains("Obrigad") || text.contains("obrigad"),
        "{text}"
    );

    // The requester replies to the acknowledgement: same case.
    let raw = mail(
        "Ana Souza <ana.souza@uol.com.br>",
        &format!("Re: {subject}"),
        "Obrigada. Ainda estou aqui.",
        &format!(
            "Message-ID: <ack-br-2@uol.com.br>\r\nIn-Reply-To: <{ack_id}>\r\nReferences: <ack-br@uol.com.br> <{ack_id}>\r\n"
        ),
    );
    let r2 = smtp_send(app.smtp, "ana.souza@uol.com.br", &[TO], &raw).await;
    assert!(r2.trim().ends_with(&reference), "{r2}");

    // Her out-of-office answering the acknowledgement gets nothing and changes nothing.
    let before = app.ticket(&reference).await;
    let raw = mail(
        "Ana Souza <ana.souza@uol.com.br>",
        &format!("Ausente: {subject}"),
        "Estou fora até segunda.",
        &format!(
            "Message-ID: <ack-br-ooo@uol.com.br>\r\nIn-Reply-To: <{ack_id}>\r\nAuto-Submitted: auto-replied\r\n"
        ),
    );
    let r3 = smtp_send(app.smtp, "ana.souza@uol.com.br", &[TO], &raw).await;
    assert!(r3.trim().ends_with(&reference), "{r3}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sink.to("ana.souza@uol.com.br").len(),
        1,
        "exactly one acknowledgement"
    );
    let after = app.ticket(&reference).await;
    assert_eq!(after["status"], before["status"]);
    let deliveries = after["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.iter().filter(|d| d["kind"] == "ack").count(), 1);
    assert_eq!(deliveries[0]["status"], "sent");
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn machines_get_nothing_and_floods_are_limited(pool: PgPool) {
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "ooo@example.com",
            "ooo@example.com",
            "Auto-Submitted: auto-replied\r\n".into(),
        ),
        (
            "list@lists.example.org",
            "list-bounces@lists.example.org",
            "List-Id: <musicians.lists.example.org>\r\nPrecedence: list\r\n".into(),
        ),
        (
            "noreply@spotify.example",
            "noreply@spotify.example",
            String::new(),
        ),
        (
            "MAILER-DAEMON@mx.example.net",
            "",
            "Content-Type: text/plain\r\n".into(),
        ),
        (
            "bulk@news.example",
            "bulk@news.example",
            "Precedence: bulk\r\n".into(),
        ),
    ];
    for (i, (from, envelope, headers)) in cases.iter().enumerate() {
        let raw = mail(
            from,
            "hello",
            "automatic",
            &format!("Message-ID: <machine-{i}@x.example>\r\n{headers}"),
        );
        let r = smtp_send(app.smtp, envelope, &[TO], &raw).await;
        assert!(r.starts_with("250"), "{r}");
    }
    // A person writing ten times in a row gets at most three acknowledgements.
    for i in 0..10 {
        let raw = mail(
            "flood@example.com",
            &format!("help {i}"),
            "please",
            &format!("Message-ID: <flood-{i}@example.com>\r\n"),
        );
        assert!(
            smtp_send(app.smtp, "flood@example.com", &[TO], &raw)
                .await
                .starts_with("250")
        );
    }
    sink.wait_for("flood@example.com", 3, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sink.to("flood@example.com").len(),
        3,
        "rate limit per requester"
    );
    let all = sink.received.lock().unwrap().clone();
    for (from, envelope, _) in &cases {
        assert!(
            all.iter()
                .all(|e| !e.rcpt_to.iter().any(
                    |r| r.eq_ignore_ascii_case(from) || (!envelope.is_empty() && r == envelope)
                )),
            "{from} got mail"
        );
    }
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn mail_waits_while_the_relay_is_down_and_goes_out_once(pool: PgPool) {
    let sink = Sink::start().await;
    sink.up.store(false, std::sync::atomic::Ordering::SeqCst);
    let app = TestApp::with_relay(&pool, &sink).await;
    let raw = mail(
        "bea@example.com",
        "hi",
        "I need help",
        "Message-ID: <down-1@example.com>\r\n",
    );
    let r = smtp_send(app.smtp, "bea@example.com", &[TO], &raw).await;
    let reference = r.trim().rsplit(' ').next().unwrap().to_owned();
    // Wait for at least two failed attempts.
    let start = Instant::now();
    loop {
        let t = app.ticket(&reference).await;
        let d = &t["deliveries"][0];
        if d["attempts"].as_i64().unwrap_or(0) >= 2 {
            // Waiting for the next attempt, or in the middle of it.
            assert!(d["status"] == "pending" || d["status"] == "sending", "{d}");
            assert!(d["last_error"].as_str().unwrap().contains("451"), "{d}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sink.to("bea@example.com").is_empty());
    sink.up.store(true, std::sync::atomic::Ordering::SeqCst);
    sink.wait_for("bea@example.com", 1, Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.to("bea@example.com").len(), 1, "sent exactly once");
    assert_eq!(
        app.ticket(&reference).await["deliveries"][0]["status"],
        "sent"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn caseworker_reply_threads_and_assignment_notice_has_no_content(pool: PgPool) {
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    app.store
        .add_volunteer(
            "lucia@volunteers.example.org",
            "Lúcia",
            &["BR".into()],
            &["pt".into()],
            5,
        )
        .await
        .unwrap();
    let secret_words = "minha ansiedade é muito forte";
    let raw = mail(
        "Ana <ana@uol.com.br>",
        "Ajuda urgente",
        &format!("Olá, moro no Brasil e {secret_words}."),
        "Message-ID: <cw-1@uol.com.br>\r\n",
    );
    let r = smtp_send(app.smtp, "ana@uol.com.br", &[TO], &raw).await;
    let reference = r.trim().rsplit(' ').next().unwrap().to_owned();
    let notice = sink
        .wait_for("lucia@volunteers.example.org", 1, Duration::from_secs(10))
        .await;
    let n = String::from_utf8_lossy(&notice[0].data).to_string();
    assert!(n.contains(&reference), "{n}");
    assert!(
        !n.contains("ansiedade") && !n.contains("Ajuda urgente"),
        "no case content in notices:\n{n}"
    );

    let res = TestApp::client()
        .post(format!("http://{}/api/v1/tickets/{reference}/replies", app.http))
        .bearer_auth(&app.api_token)
        .json(&serde_json::json!({ "text": "Olá Ana, sou a Lúcia. Estou aqui para ajudar.", "author": "Lúcia" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let got = sink
        .wait_for("ana@uol.com.br", 2, Duration::from_secs(10))
        .await;
    let replies: Vec<_> = got
        .iter()
        .map(|e| {
            MessageParser::default()
                .parse(&e.data)
                .unwrap()
                .into_owned()
        })
        .filter(|m| m.header_raw("Auto-Submitted").is_none())
        .collect();
    assert_eq!(replies.len(), 1);
    let m = &replies[0];
    assert_eq!(m.in_reply_to().as_text(), Some("cw-1@uol.com.br"));
    assert!(m.subject().unwrap().contains(&format!("[{reference}]")));
    assert!(m.body_text(0).unwrap().contains("Lúcia"));
    assert!(key().verify_message_id(m.message_id().unwrap()).is_some());
    let reply_to = m
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap()
        .to_owned();
    assert_eq!(
        key().verify_address(&reply_to).map(|r| r.to_string()),
        Some(reference.clone())
    );

    let t = app.ticket(&reference).await;
    assert_eq!(t["status"], "waiting_on_requester");
    assert!(!t["first_responded_at"].is_null());
    let outbound: Vec<_> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .collect();
    assert_eq!(outbound.len(), 2, "acknowledgement and reply on the thread");

    // A bounce of our reply marks that delivery bounced.
    let reply_id = m.message_id().unwrap().to_owned();
    let dsn = format!(
        "From: MAILER-DAEMON@mx.uol.com.br\r\nTo: global@concierge.example.org\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn-1@mx.uol.com.br>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nmailbox full\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.uol.com.br\r\n\r\nFinal-Recipient: rfc822; ana@uol.com.br\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{reply_id}>\r\nSubject: x\r\n\r\n--B--\r\n"
    );
    assert!(
        smtp_send(app.smtp, "", &[TO], dsn.as_bytes())
            .await
            .starts_with("250")
    );
    let t = app.ticket(&reference).await;
    let bounced: Vec<_> = t["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "bounced")
        .collect();
    assert_eq!(bounced.len(), 1, "{t}");
    assert_eq!(bounced[0]["kind"], "reply");
    app.stop().await;
}
