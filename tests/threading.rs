//! Replies join their ticket by reply token, In-Reply-To/References or a
//! subject tag from the requester; resolved tickets reopen; machines never
//! change a status.

mod common;

use common::{TestApp, mail};
use concierge_core::threading::ReplyTokenKey;
use concierge_core::ticket::TicketReference;
use concierge_inbound::Delivery;
use concierge_store::{InboundSource, IngestOutcome};
use sqlx::PgPool;

async fn put(app: &TestApp, raw: Vec<u8>) -> IngestOutcome {
    app.inbound
        .ingest(Delivery {
            source: InboundSource::Http,
            envelope_from: None,
            envelope_to: vec![],
            raw,
        })
        .await
        .unwrap()
}

async fn put_to(app: &TestApp, raw: Vec<u8>, rcpt: &str) -> IngestOutcome {
    app.inbound
        .ingest(Delivery {
            source: InboundSource::Smtp,
            envelope_from: Some("x@example.com".into()),
            envelope_to: vec![rcpt.into()],
            raw,
        })
        .await
        .unwrap()
}

fn key() -> ReplyTokenKey {
    ReplyTokenKey::new(
        common::settings("")
            .security
            .reply_token_secret
            .into_bytes(),
    )
    .unwrap()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn replies_thread_by_each_method(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let first = put(
        &app,
        mail(
            "ana@uol.com.br",
            "Ajuda",
            "oi",
            "Message-ID: <orig@uol.com.br>\r\n",
        ),
    )
    .await;
    let IngestOutcome::Created { reference, .. } = first else {
        panic!("{first:?}")
    };

    // In-Reply-To + References.
    let r = put(&app, mail("ana@uol.com.br", "Re: Ajuda", "mais", "Message-ID: <r1@uol.com.br>\r\nIn-Reply-To: <orig@uol.com.br>\r\nReferences: <orig@uol.com.br>\r\n")).await;
    assert_eq!(r.reference(), &reference, "{r:?}");
    // Outlook style: In-Reply-To only, pointing at the previous reply.
    let r = put(
        &app,
        mail(
            "ana@uol.com.br",
            "RES: Ajuda",
            "outlook",
            "Message-ID: <r2@uol.com.br>\r\nIn-Reply-To: <r1@uol.com.br>\r\nThread-Index: AQHZ\r\n",
        ),
    )
    .await;
    assert_eq!(r.reference(), &reference);
    // References only, newest unknown, older known.
    let r = put(
        &app,
        mail(
            "ana@uol.com.br",
            "Re",
            "refs",
            "Message-ID: <r3@uol.com.br>\r\nReferences: <orig@uol.com.br> <unknown@x.y>\r\n",
        ),
    )
    .await;
    assert_eq!(r.reference(), &reference);
    // Subject tag from the requester (any case, plus-address of the same mailbox).
    let r = put(
        &app,
        mail(
            "Ana+x@UOL.com.br",
            &format!("Re: [{reference}] more"),
            "tag",
            "Message-ID: <r4@uol.com.br>\r\n",
        ),
    )
    .await;
    assert_eq!(r.reference(), &reference);
    // Reply token in a Message-ID we issued (as our outgoing mail will carry).
    let token = key().issue(&reference);
    let r = put(&app, mail("manager@band.example", "Re: x", "token", &format!("Message-ID: <r5@band.example>\r\nIn-Reply-To: <{token}.abc@concierge.example.org>\r\n"))).await;
    assert_eq!(r.reference(), &reference);
    // Reply token in a +address.
    let r = put_to(
        &app,
        mail(
            "manager@band.example",
            "Re: y",
            "plus",
            "Message-ID: <r6@band.example>\r\n",
        ),
        &format!("global+{token}@concierge.example.org"),
    )
    .await;
    assert_eq!(r.reference(), &reference);

    let detail = app.ticket(reference.as_str()).await;
    assert_eq!(detail["message_count"], 7);
    let ids: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "orig@uol.com.br",
            "r1@uol.com.br",
            "r2@uol.com.br",
            "r3@uol.com.br",
            "r4@uol.com.br",
            "r5@band.example",
            "r6@band.example"
        ]
    );
    assert_eq!(app.store.counts().await.unwrap().0, 1);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn strangers_and_forgeries_open_new_tickets(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let first = put(
        &app,
        mail(
            "ana@uol.com.br",
            "Ajuda",
            "oi",
            "Message-ID: <o@uol.com.br>\r\n",
        ),
    )
    .await;
    let reference = first.reference().clone();
    // A stranger using the subject tag does not get into Ana's case.
    let r = put(
        &app,
        mail(
            "mallory@evil.example",
            &format!("[{reference}] let me in"),
            "x",
            "Message-ID: <m1@evil.example>\r\n",
        ),
    )
    .await;
    assert!(matches!(r, IngestOutcome::Created { .. }));
    assert_ne!(r.reference(), &reference);
    // Forged, truncated and empty tokens do not thread.
    let token = key().issue(&reference);
    let forged = format!(
        "{}{}",
        &token[..token.len() - 1],
        if token.ends_with('a') { 'b' } else { 'a' }
    );
    for bad in [forged.as_str(), &token[..token.len() - 4], "", "c-"] {
        let r = put_to(
            &app,
            mail(
                "mallory@evil.example",
                "hi",
                "x",
                &format!("Message-ID: <m-{}@evil.example>\r\n", bad.len()),
            ),
            &format!("global+{bad}@concierge.example.org"),
        )
        .await;
        assert_ne!(r.reference(), &reference, "token {bad:?}");
    }
    // A token for a reference that does not exist.
    let ghost: TicketReference = "C-ZZZZZZ".parse().unwrap();
    let r = put(&app, mail("mallory@evil.example", "hi", "x", &format!("Message-ID: <m-ghost@evil.example>\r\nIn-Reply-To: <{}.1@concierge.example.org>\r\n", key().issue(&ghost)))).await;
    assert!(matches!(r, IngestOutcome::Created { .. }));
    let ana = app.ticket(reference.as_str()).await;
    assert_eq!(ana["message_count"], 1);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn requester_reply_reopens_and_machines_change_nothing(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let first = put(
        &app,
        mail(
            "ana@uol.com.br",
            "Ajuda",
            "oi",
            "Message-ID: <o2@uol.com.br>\r\n",
        ),
    )
    .await;
    let reference = first.reference().clone();
    sqlx::query("UPDATE tickets SET status = 'resolved', resolved_at = now()")
        .execute(&pool)
        .await
        .unwrap();

    // An out-of-office reply joins the thread but changes nothing.
    let r = put(&app, mail("ana@uol.com.br", "Automatic reply: Ajuda", "Estou fora", "Message-ID: <ooo@uol.com.br>\r\nIn-Reply-To: <o2@uol.com.br>\r\nAuto-Submitted: auto-replied\r\n")).await;
    assert!(
        matches!(
            r,
            IngestOutcome::Appended {
                reopened: false,
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(app.ticket(reference.as_str()).await["status"], "resolved");

    // The requester writes again: reopened.
    let r = put(
        &app,
        mail(
            "ana@uol.com.br",
            "Re: Ajuda",
            "ainda preciso",
            "Message-ID: <again@uol.com.br>\r\nIn-Reply-To: <o2@uol.com.br>\r\n",
        ),
    )
    .await;
    assert!(
        matches!(r, IngestOutcome::Appended { reopened: true, .. }),
        "{r:?}"
    );
    let t = app.ticket(reference.as_str()).await;
    assert_eq!(t["status"], "new");
    let classes: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["human", "auto_reply", "human"]);

    // A closed ticket is final: a reply opens a new case.
    sqlx::query("UPDATE tickets SET status = 'closed'")
        .execute(&pool)
        .await
        .unwrap();
    let r = put(
        &app,
        mail(
            "ana@uol.com.br",
            "Re: Ajuda",
            "de novo",
            "Message-ID: <late@uol.com.br>\r\nIn-Reply-To: <o2@uol.com.br>\r\n",
        ),
    )
    .await;
    assert!(matches!(r, IngestOutcome::Created { .. }), "{r:?}");
    app.stop().await;
}
