use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use concierge_smtp::{Delivery, Envelope, MessageSink, SmtpConfig, serve};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;
use crate::outbound::{Mailbox, Outgoing, build};

/// Records deliveries, or answers with a fixed outcome.
#[derive(Default)]
struct Recorder {
    delivered: Mutex<Vec<Envelope>>,
    outcome: Mutex<Option<Delivery>>,
}

impl MessageSink for Recorder {
    fn accepts_recipient(&self, rcpt: &str) -> bool {
        !rcpt.starts_with("unknown@")
    }

    async fn deliver(&self, envelope: Envelope) -> Delivery {
        if let Some(outcome) = self.outcome.lock().unwrap().clone() {
            return outcome;
        }
        let mut d = self.delivered.lock().unwrap();
        d.push(envelope);
        Delivery::Accepted {
            id: format!("Q{}", d.len()),
        }
    }
}

struct Server {
    addr: SocketAddr,
    sink: Arc<Recorder>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(outcome: Option<Delivery>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = Arc::new(Recorder::default());
        *sink.outcome.lock().unwrap() = outcome;
        let (stop, stopped) = oneshot::channel::<()>();
        let config = SmtpConfig {
            hostname: "mx.test".into(),
            max_connections_per_ip: 0,
            command_timeout: Duration::from_secs(10),
            data_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(2),
            ..SmtpConfig::default()
        };
        let handle = tokio::spawn(serve(listener, config, Arc::clone(&sink), async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            sink,
            stop: Some(stop),
            handle,
        }
    }

    fn relay(&self) -> Relay {
        Relay::from_url(&format!("smtp://127.0.0.1:{}", self.addr.port()))
            .unwrap()
            .with_send_timeout(Duration::from_secs(20))
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), &mut self.handle)
            .await
            .expect("serve returns")
            .expect("serve does not panic")
            .expect("serve succeeds");
    }
}

fn message() -> Vec<u8> {
    let addr = |s: &str| concierge_core::message::EmailAddress::parse(s).unwrap();
    build(&Outgoing {
        from: Mailbox {
            name: Some("Concierge".into()),
            address: addr("help@concierge.example.org"),
        },
        reply_to: None,
        to: vec![addr("ana@uol.com.br")],
        subject: "Olá — recebemos sua mensagem".into(),
        text: "Linha um\n.\n..dois pontos\n.\nfim\n".into(),
        html: Some("<p>Olá</p>\n.\n".into()),
        message_id: "c7k2m9x-abc.0123456789abcdef@concierge.example.org".into(),
        in_reply_to: None,
        references: Vec::new(),
        auto_submitted: Some("auto-replied"),
        loop_domain: "concierge.example.org".into(),
    })
    .unwrap()
}

#[tokio::test]
async fn delivers_raw_bytes_intact_with_the_envelope() {
    let server = Server::start(None).await;
    let relay = server.relay();
    let raw = message();
    relay
        .send_raw(
            "bounces@concierge.example.org",
            &["ana@uol.com.br".into(), "<second@example.com>".into()],
            &raw,
        )
        .await
        .unwrap();
    // The null reverse path (RFC 3834 auto-replies).
    relay
        .send_raw(
            "",
            &["ana@uol.com.br".into()],
            b"Subject: x\r\n\r\nbody\r\n",
        )
        .await
        .unwrap();

    let delivered = server.sink.delivered.lock().unwrap().clone();
    assert_eq!(delivered.len(), 2);
    let first = &delivered[0];
    assert_eq!(first.mail_from, "bounces@concierge.example.org");
    assert_eq!(first.rcpt_to, ["ana@uol.com.br", "second@example.com"]);
    assert_eq!(
        String::from_utf8_lossy(&first.data),
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(first.data, raw, "bytes differ");
    assert_eq!(delivered[1].mail_from, "");
    assert_eq!(delivered[1].data, b"Subject: x\r\n\r\nbody\r\n");
    server.stop().await;
}

#[tokio::test]
async fn temp_fail_is_temporary_and_perm_fail_is_permanent() {
    let server = Server::start(Some(Delivery::TempFail("try later".into()))).await;
    let e = server
        .relay()
        .send_raw(
            "a@concierge.example.org",
            &["b@example.com".into()],
            &message(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::Temporary(_)), "{e:?}");
    assert!(e.is_temporary());
    assert!(e.to_string().contains("451"), "{e}");
    server.stop().await;

    let server = Server::start(Some(Delivery::PermFail("no such thing".into()))).await;
    let e = server
        .relay()
        .send_raw(
            "a@concierge.example.org",
            &["b@example.com".into()],
            &message(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::Permanent(_)), "{e:?}");
    assert!(!e.is_temporary());
    assert!(e.to_string().contains("554"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn rejected_recipient_is_permanent_and_bad_envelope_is_refused() {
    let server = Server::start(None).await;
    let relay = server.relay();
    let e = relay
        .send_raw(
            "a@concierge.example.org",
            &["unknown@example.com".into()],
            &message(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::Permanent(_)), "{e:?}");
    for (from, to) in [
        ("a@concierge.example.org", vec![]),
        ("a@concierge.example.org", vec!["not an address".to_owned()]),
        ("bad\r\nRCPT TO:<x@y.z>", vec!["b@example.com".to_owned()]),
    ] {
        let e = relay.send_raw(from, &to, &message()).await.unwrap_err();
        assert!(
            matches!(e, SendError::Permanent(_)),
            "{from:?} {to:?}: {e:?}"
        );
    }
    assert!(server.sink.delivered.lock().unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn unreachable_relay_is_temporary() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let relay = Relay::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
    let e = relay
        .send_raw(
            "a@concierge.example.org",
            &["b@example.com".into()],
            &message(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::Temporary(_)), "{e:?}");
}

#[tokio::test]
async fn credentials_the_relay_cannot_take_are_temporary() {
    // Our test server offers no AUTH: a relay configuration problem, so the
    // message must be retried, not dropped.
    let server = Server::start(None).await;
    let relay = Relay::from_url(&format!(
        "smtp://user:s3cret@127.0.0.1:{}",
        server.addr.port()
    ))
    .unwrap();
    let e = relay
        .send_raw(
            "a@concierge.example.org",
            &["b@example.com".into()],
            &message(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::Temporary(_)), "{e:?}");
    assert!(!e.to_string().contains("s3cret"));
    server.stop().await;
}

#[test]
fn parses_urls() {
    let r = Relay::from_url("smtp://127.0.0.1:2525").unwrap();
    assert_eq!(
        (r.security(), r.host(), r.port()),
        (Security::Plain, "127.0.0.1", 2525)
    );
    let r = Relay::from_url("smtp://localhost").unwrap();
    assert_eq!(r.port(), 25);
    let r = Relay::from_url("smtp+starttls://Mail.Example.org").unwrap();
    assert_eq!(
        (r.security(), r.host(), r.port()),
        (Security::StartTls, "mail.example.org", 587)
    );
    let r = Relay::from_url("smtps://mail.example.org/").unwrap();
    assert_eq!((r.security(), r.port()), (Security::Tls, 465));
    let r: Relay = "SMTPS://u%40x.org:p%3Aw%2Fd%40@smtp.example.org:2465"
        .parse()
        .unwrap();
    assert_eq!(r.user.as_deref(), Some("u@x.org"));
    assert_eq!(r.port(), 2465);
    let r = Relay::from_url("smtp://[::1]:2525").unwrap();
    assert_eq!((r.host(), r.port()), ("::1", 2525));
    assert_eq!(r.to_string(), "smtp://[::1]:2525");
    // A password in clear text only to loopback.
    assert!(Relay::from_url("smtp://u:p@127.0.0.1:25").is_ok());
    assert!(Relay::from_url("smtp://u:p@[::1]:25").is_ok());

    for (bad, err) in [
        ("mail.example.org:25", RelayUrlError::Scheme),
        ("http://mail.example.org", RelayUrlError::Scheme),
        ("smtp://", RelayUrlError::Host),
        ("smtp://:25", RelayUrlError::Host),
        ("smtp://mail example.org", RelayUrlError::Host),
        ("smtp://[nope]:25", RelayUrlError::Host),
        ("smtp://mail.example.org:0", RelayUrlError::Port),
        ("smtp://mail.example.org:99999", RelayUrlError::Port),
        ("smtp://mail.example.org:x", RelayUrlError::Port),
        ("smtp://mail.example.org/path", RelayUrlError::Extra),
        ("smtp://mail.example.org?tls=none", RelayUrlError::Extra),
        ("smtps://user@mail.example.org", RelayUrlError::Credentials),
        ("smtps://:pw@mail.example.org", RelayUrlError::Credentials),
        ("smtps://u:%ff@mail.example.org", RelayUrlError::Credentials),
        (
            "smtp://u:pw@mail.example.org",
            RelayUrlError::CredentialsInClear,
        ),
    ] {
        assert_eq!(Relay::from_url(bad).unwrap_err(), err, "{bad}");
    }
}

#[test]
fn the_password_never_shows() {
    let secret = "Sup3r$ecret:pw";
    let url = format!(
        "smtps://mailer%40example.org:{}@smtp.example.org",
        "Sup3r%24ecret%3Apw"
    );
    let r = Relay::from_url(&url).unwrap();
    let shown = format!("{r} {r:?} {:#?}", r);
    assert!(!shown.contains(secret), "{shown}");
    assert!(!shown.contains("Sup3r"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert_eq!(
        r.to_string(),
        "smtps://mailer%40example.org:***@smtp.example.org:465"
    );
    // Errors about a URL never echo it.
    let e = Relay::from_url("smtp://u:Sup3r@mail.example.org").unwrap_err();
    assert!(!format!("{e} {e:?}").contains("Sup3r"));
    let e = Relay::from_url("smtps://u:Sup3r@bad host").unwrap_err();
    assert!(!format!("{e} {e:?}").contains("Sup3r"));
}
