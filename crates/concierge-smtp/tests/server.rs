//! End-to-end tests: a real server on 127.0.0.1:0, driven over TCP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use concierge_smtp::{Delivery, Envelope, MessageSink, SmtpConfig, serve};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a test waits for any single reply before failing.
const REPLY_WAIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct MemSink {
    delivered: Mutex<Vec<Envelope>>,
    outcome: Mutex<Option<Delivery>>,
}

impl MemSink {
    fn delivered(&self) -> Vec<Envelope> {
        self.delivered.lock().unwrap().clone()
    }

    fn set_outcome(&self, outcome: Delivery) {
        *self.outcome.lock().unwrap() = Some(outcome);
    }
}

impl MessageSink for MemSink {
    fn accepts_recipient(&self, rcpt: &str) -> bool {
        rcpt.to_ascii_lowercase().ends_with("@support.test")
    }

    async fn deliver(&self, envelope: Envelope) -> Delivery {
        tokio::task::yield_now().await;
        if let Some(outcome) = self.outcome.lock().unwrap().clone() {
            return outcome;
        }
        let mut delivered = self.delivered.lock().unwrap();
        delivered.push(envelope);
        Delivery::Accepted {
            id: format!("T{}", delivered.len()),
        }
    }
}

struct Server {
    addr: SocketAddr,
    sink: Arc<MemSink>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(config: SmtpConfig) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = Arc::new(MemSink::default());
        let (stop, stopped) = oneshot::channel::<()>();
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

    async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(REPLY_WAIT, &mut self.handle)
            .await
            .expect("serve did not return")
            .expect("serve panicked")
    }
}

fn config() -> SmtpConfig {
    SmtpConfig {
        hostname: "mx.test".into(),
        max_message_bytes: 10_000,
        max_recipients: 5,
        max_connections: 20,
        max_connections_per_ip: 0,
        command_timeout: Duration::from_secs(10),
        data_timeout: Duration::from_secs(10),
        max_errors: 5,
        shutdown_grace: Duration::from_secs(5),
    }
}

struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let (reader, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        Client {
            reader: BufReader::new(reader),
            writer,
        }
    }

    /// Connects, checks the greeting and sends EHLO.
    async fn greeted(addr: SocketAddr) -> Client {
        let mut c = Client::connect(addr).await;
        c.expect(220).await;
        c.send("EHLO client.test\r\n").await;
        c.expect(250).await;
        c
    }

    async fn send(&mut self, data: impl AsRef<[u8]>) {
        self.writer.write_all(data.as_ref()).await.unwrap();
    }

    /// The next complete reply as (code, full text), or None at EOF / reset.
    async fn reply(&mut self) -> Option<(u16, String)> {
        read_reply(&mut self.reader).await
    }

    /// Asserts the next reply has `code` and returns its text.
    async fn expect(&mut self, code: u16) -> String {
        match self.reply().await {
            Some((got, text)) => {
                assert_eq!(got, code, "unexpected reply: {text:?}");
                text
            }
            None => panic!("connection closed, expected {code}"),
        }
    }

    async fn expect_closed(&mut self) {
        if let Some((_, text)) = self.reply().await {
            panic!("expected the connection to close, got {text:?}");
        }
    }
}

/// Reads one complete reply as (code, full text), or None at EOF / reset.
async fn read_reply(reader: &mut BufReader<OwnedReadHalf>) -> Option<(u16, String)> {
    let mut text = String::new();
    loop {
        let mut line = Vec::new();
        let read = tokio::time::timeout(REPLY_WAIT, reader.read_until(b'\n', &mut line))
            .await
            .expect("timed out waiting for a reply");
        match read {
            Ok(0) | Err(_) => {
                assert!(text.is_empty(), "connection ended inside a reply: {text:?}");
                return None;
            }
            Ok(_) => {}
        }
        let line = String::from_utf8(line).expect("reply is not UTF-8");
        assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
        assert!(line.len() >= 4, "short reply line: {line:?}");
        text.push_str(&line);
        if line.as_bytes()[3] == b' ' {
            let code = line[..3].parse().expect("reply code");
            return Some((code, text));
        }
        assert_eq!(line.as_bytes()[3], b'-', "bad continuation: {line:?}");
    }
}

#[tokio::test]
async fn happy_path_with_pipelining() {
    let server = Server::start(config()).await;
    let mut c = Client::connect(server.addr).await;
    assert_eq!(c.expect(220).await, "220 mx.test ESMTP Concierge\r\n");
    c.send("ehlo client.test\r\n").await;
    let ehlo = c.expect(250).await;
    assert_eq!(
        ehlo,
        "250-mx.test\r\n250-SIZE 10000\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n"
    );

    c.send("MAIL FROM:<alice@example.org> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<help@support.test>\r\nRCPT TO:<billing@SUPPORT.test>\r\nDATA\r\n")
        .await;
    assert_eq!(c.expect(250).await, "250 2.1.0 Ok\r\n");
    assert_eq!(c.expect(250).await, "250 2.1.5 Ok\r\n");
    assert_eq!(c.expect(250).await, "250 2.1.5 Ok\r\n");
    c.expect(354).await;
    let body = "Subject: help\r\nFrom: Alice <alice@example.org>\r\n\r\nHello \u{1F3B5}\r\n";
    c.send(format!("{body}.\r\n")).await;
    assert_eq!(c.expect(250).await, "250 2.0.0 Ok: queued as T1\r\n");
    c.send("QUIT\r\n").await;
    assert_eq!(c.expect(221).await, "221 2.0.0 Bye\r\n");
    c.expect_closed().await;

    let delivered = server.sink.delivered();
    assert_eq!(delivered.len(), 1);
    let env = &delivered[0];
    assert_eq!(env.helo, "client.test");
    assert_eq!(env.mail_from, "alice@example.org");
    assert_eq!(
        env.rcpt_to,
        vec!["help@support.test", "billing@SUPPORT.test"]
    );
    assert_eq!(env.data, body.as_bytes());
    assert!(env.peer.ip().is_loopback());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn whole_conversation_in_one_write() {
    let server = Server::start(config()).await;
    let mut c = Client::connect(server.addr).await;
    c.send(
        "EHLO a.test\r\nMAIL FROM:<>\r\nRCPT TO:<x@support.test>\r\nDATA\r\nhi\r\n.\r\n\
         MAIL FROM:<b@b.test>\r\nRCPT TO:<y@support.test>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n",
    )
    .await;
    let mut codes = Vec::new();
    while let Some((code, _)) = c.reply().await {
        codes.push(code);
    }
    assert_eq!(
        codes,
        [220, 250, 250, 250, 354, 250, 250, 250, 354, 250, 221]
    );
    let delivered = server.sink.delivered();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0].mail_from, "", "null reverse path");
    assert_eq!(delivered[0].data, b"hi\r\n");
    assert_eq!(delivered[1].mail_from, "b@b.test");
    assert_eq!(delivered[1].data, b"second\r\n");
}

#[tokio::test]
async fn unknown_recipient_is_rejected() {
    let server = Server::start(config()).await;
    let mut c = Client::greeted(server.addr).await;
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@elsewhere.test>\r\nDATA\r\n")
        .await;
    c.expect(250).await;
    assert_eq!(
        c.expect(550).await,
        "550 5.1.1 Recipient address rejected: user unknown\r\n"
    );
    assert_eq!(
        c.expect(554).await,
        "554 5.5.1 Error: no valid recipients\r\n"
    );
    c.send("RCPT TO:<help@support.test>\r\nDATA\r\n").await;
    c.expect(250).await;
    c.expect(354).await;
    c.send("ok\r\n.\r\n").await;
    c.expect(250).await;
    assert_eq!(
        server.sink.delivered()[0].rcpt_to,
        vec!["help@support.test"]
    );
}

#[tokio::test]
async fn oversize_declared_with_size_parameter() {
    let server = Server::start(config()).await;
    let mut c = Client::greeted(server.addr).await;
    c.send("MAIL FROM:<a@example.org> SIZE=10001\r\n").await;
    assert_eq!(
        c.expect(552).await,
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    c.send("MAIL FROM:<a@example.org> SIZE=10000\r\n").await;
    c.expect(250).await;
}

#[tokio::test]
async fn oversize_actual_data_is_discarded() {
    let server = Server::start(config()).await;
    let mut c = Client::greeted(server.addr).await;
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n")
        .await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(354).await;
    let line = format!("{}\r\n", "x".repeat(998));
    for _ in 0..200 {
        c.send(&line).await; // 200 KB, 20x the limit
    }
    c.send(".\r\n").await;
    assert_eq!(c.expect(552).await, "552 5.3.4 Message too big\r\n");
    assert!(server.sink.delivered().is_empty());

    // The session is still usable, and a message of exactly the limit passes.
    c.send("NOOP\r\n").await;
    c.expect(250).await;
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n")
        .await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(354).await;
    for _ in 0..10 {
        c.send(&line).await;
    }
    c.send(".\r\n").await;
    c.expect(250).await;
    assert_eq!(server.sink.delivered()[0].data.len(), 10_000);
}

#[tokio::test]
async fn sink_temp_and_perm_failures() {
    let server = Server::start(config()).await;
    let mut c = Client::greeted(server.addr).await;
    server
        .sink
        .set_outcome(Delivery::TempFail("Ticket store unavailable".into()));
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n")
        .await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(354).await;
    c.send("x\r\n.\r\n").await;
    assert_eq!(
        c.expect(451).await,
        "451 4.3.0 Ticket store unavailable\r\n"
    );

    server
        .sink
        .set_outcome(Delivery::PermFail("Rejected\r\n250 injected".into()));
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n")
        .await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(354).await;
    c.send("x\r\n.\r\n").await;
    assert_eq!(c.expect(554).await, "554 5.6.0 Rejected  250 injected\r\n");
    c.send("NOOP\r\n").await;
    c.expect(250).await;
}

#[tokio::test]
async fn dot_unstuffing_and_raw_bytes_preserved() {
    let server = Server::start(config()).await;
    let mut c = Client::greeted(server.addr).await;
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n")
        .await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(354).await;
    // Everything after the end-of-data line is the next command ("x").
    c.send(b"Subject: dots\r\n\r\n..hidden\r\n...\r\n.\r\nx\r\n".as_slice())
        .await;
    assert_eq!(c.expect(250).await, "250 2.0.0 Ok: queued as T1\r\n");
    c.send("NOOP\r\n").await;
    // "x\r\n" after the marker was read as a command.
    assert_eq!(c.expect(500).await, "500 5.5.1 Command unrecognized\r\n");
    c.expect(250).await;

    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n")
        .await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(354).await;
    c.send(b"raw \xff\xfe bytes\r\nend with spaces  \r\n \r\n. not the end\r\n.\r\n".as_slice())
        .await;
    c.expect(250).await;

    let delivered = server.sink.delivered();
    assert_eq!(delivered[0].data, b"Subject: dots\r\n\r\n.hidden\r\n..\r\n");
    assert_eq!(
        delivered[1].data,
        b"raw \xff\xfe bytes\r\nend with spaces  \r\n \r\n not the end\r\n"
    );
}

#[tokio::test]
async fn bare_lf_line_endings() {
    let server = Server::start(config()).await;
    let mut c = Client::connect(server.addr).await;
    c.expect(220).await;
    c.send("HELO lf.test\nMAIL FROM:<a@example.org>\nRCPT TO:<help@support.test>\nDATA\n")
        .await;
    assert_eq!(c.expect(250).await, "250 mx.test\r\n");
    c.expect(250).await;
    c.expect(250).await;
    c.expect(354).await;
    // Bare LF lines are kept, but only CRLF.CRLF ends the data (no SMTP
    // smuggling through LF.LF).
    c.send("Subject: lf\n\nline\n..dot\n.\nQUIT\n\r\n.\r\nQUIT\r\n")
        .await;
    c.expect(250).await;
    c.expect(221).await;
    let delivered = server.sink.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].helo, "lf.test");
    assert_eq!(
        delivered[0].data,
        b"Subject: lf\n\nline\n..dot\n.\nQUIT\n\r\n"
    );
}

#[tokio::test]
async fn megabyte_line_without_newline() {
    let server = Server::start(config()).await;
    let mut c = Client::greeted(server.addr).await;
    let junk = vec![b'A'; 1 << 20];
    // The reply must come while the line is still unterminated.
    let (written, reply) = tokio::join!(c.writer.write_all(&junk), read_reply(&mut c.reader));
    written.unwrap();
    assert_eq!(reply.unwrap().1, "500 5.5.2 Line too long\r\n");
    // The rest of the long line is skipped; the session keeps working and the
    // whole megabyte counted as a single error (max_errors = 5).
    c.send("\r\nNOOP\r\n").await;
    assert_eq!(c.expect(250).await, "250 2.0.0 Ok\r\n");
    for _ in 0..4 {
        c.send("BOGUS\r\n").await;
        c.expect(500).await;
    }
    c.send("BOGUS\r\n").await;
    c.expect(421).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_flood_is_bounded() {
    let server = Server::start(SmtpConfig {
        max_recipients: 50,
        max_errors: 10,
        ..config()
    })
    .await;
    let Client {
        mut reader,
        mut writer,
    } = Client::greeted(server.addr).await;
    let writing = tokio::spawn(async move {
        writer.write_all(b"MAIL FROM:<a@example.org>\r\n").await?;
        let mut batch = String::new();
        for i in 0..100_000 {
            batch.push_str(&format!("RCPT TO:<user{i}@support.test>\r\n"));
            if batch.len() > 64 * 1024 {
                writer.write_all(batch.as_bytes()).await?;
                batch.clear();
            }
        }
        writer.write_all(batch.as_bytes()).await
    });
    let mut replies = Vec::new();
    while let Some((code, text)) = read_reply(&mut reader).await {
        replies.push((code, text));
        assert!(replies.len() <= 100, "server kept answering");
    }
    let codes: Vec<u16> = replies.iter().map(|(code, _)| *code).collect();
    assert_eq!(codes.len(), 1 + 50 + 10 + 1, "{codes:?}");
    assert!(codes[..51].iter().all(|&c| c == 250));
    assert!(
        replies[51..61]
            .iter()
            .all(|(_, t)| t == "452 4.5.3 Error: too many recipients\r\n")
    );
    assert_eq!(
        replies[61].1,
        "421 4.7.0 mx.test Error: too many errors\r\n"
    );
    // The writer is cut off long before sending everything.
    let _ = writing.await.unwrap();
    // The server is still healthy.
    let mut fresh = Client::greeted(server.addr).await;
    fresh.send("QUIT\r\n").await;
    fresh.expect(221).await;
}

#[tokio::test]
async fn too_many_errors_closes_connection() {
    let server = Server::start(config()).await;
    let mut c = Client::greeted(server.addr).await;
    c.send("BOGUS\r\nMAIL\r\nRCPT TO:<a@support.test>\r\nSTARTTLS\r\nDATA\r\nNOOP\r\n")
        .await;
    assert_eq!(c.expect(500).await, "500 5.5.1 Command unrecognized\r\n");
    assert_eq!(
        c.expect(501).await,
        "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
    );
    assert_eq!(
        c.expect(503).await,
        "503 5.5.1 Error: need MAIL command\r\n"
    );
    assert_eq!(
        c.expect(502).await,
        "502 5.5.1 Error: STARTTLS not available\r\n"
    );
    assert_eq!(
        c.expect(503).await,
        "503 5.5.1 Error: need MAIL command\r\n"
    );
    // Five errors are tolerated (max_errors = 5); the sixth closes the session.
    c.expect(250).await;
    c.send("BOGUS\r\n").await;
    assert_eq!(
        c.expect(421).await,
        "421 4.7.0 mx.test Error: too many errors\r\n"
    );
    c.expect_closed().await;
}

#[tokio::test]
async fn misc_commands_over_tcp() {
    let server = Server::start(config()).await;
    let mut c = Client::greeted(server.addr).await;
    c.send("VRFY bob\r\nHELP\r\nNOOP\r\nRSET\r\nMAIL FROM: <a@example.org>\r\nRSET\r\nRCPT TO:<a@support.test>\r\n")
        .await;
    c.expect(252).await;
    c.expect(214).await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(503).await;
}

#[tokio::test]
async fn connection_limit() {
    let server = Server::start(SmtpConfig {
        max_connections: 2,
        ..config()
    })
    .await;
    let mut a = Client::connect(server.addr).await;
    a.expect(220).await;
    let mut b = Client::connect(server.addr).await;
    b.expect(220).await;
    let mut over = Client::connect(server.addr).await;
    assert_eq!(
        over.expect(421).await,
        "421 4.7.0 mx.test Too many connections, try again later\r\n"
    );
    over.expect_closed().await;

    a.send("QUIT\r\n").await;
    a.expect(221).await;
    a.expect_closed().await;
    drop(a);
    // The slot is released once the session task ends (after its close).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = Client::connect(server.addr).await;
        match c.reply().await {
            Some((220, _)) => break,
            Some((421, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    b.send("NOOP\r\n").await;
    b.expect(250).await;
}

#[tokio::test]
async fn per_ip_connection_limit() {
    let server = Server::start(SmtpConfig {
        max_connections_per_ip: 1,
        ..config()
    })
    .await;
    let mut a = Client::connect(server.addr).await;
    a.expect(220).await;
    let mut b = Client::connect(server.addr).await;
    assert_eq!(
        b.expect(421).await,
        "421 4.7.0 mx.test Error: too many connections from your address\r\n"
    );
    b.expect_closed().await;
}

#[tokio::test]
async fn command_timeout() {
    let server = Server::start(SmtpConfig {
        command_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut c = Client::greeted(server.addr).await;
    let start = Instant::now();
    assert_eq!(
        c.expect(421).await,
        "421 4.4.2 mx.test Error: timeout exceeded\r\n"
    );
    c.expect_closed().await;
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[tokio::test]
async fn slow_drip_command_still_times_out() {
    let server = Server::start(SmtpConfig {
        command_timeout: Duration::from_millis(500),
        ..config()
    })
    .await;
    let mut c = Client::greeted(server.addr).await;
    let start = Instant::now();
    // One byte every 100 ms: the timeout covers the whole line, not each read.
    let mut timed_out = false;
    for &b in b"NOOP NOOP NOOP NOOP NOOP\r\n" {
        if c.writer.write_all(&[b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if start.elapsed() > Duration::from_millis(800) {
            timed_out = true;
            break;
        }
    }
    assert!(timed_out);
    assert_eq!(
        c.expect(421).await,
        "421 4.4.2 mx.test Error: timeout exceeded\r\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_never_reads_replies_is_disconnected() {
    let server = Server::start(SmtpConfig {
        command_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut c = Client::greeted(server.addr).await;
    let batch = "NOOP\r\n".repeat(10_000);
    let start = Instant::now();
    let mut sent = 0usize;
    let cut_off = loop {
        match tokio::time::timeout(Duration::from_secs(1), c.writer.write_all(batch.as_bytes()))
            .await
        {
            Ok(Ok(())) => sent += batch.len(),
            Ok(Err(_)) => break true,
            Err(_) => {} // our own send buffer is full; keep trying
        }
        if start.elapsed() > Duration::from_secs(15) {
            break false;
        }
    };
    assert!(
        cut_off,
        "server kept reading for {:?} ({sent} bytes)",
        start.elapsed()
    );
    // Still serving others.
    Client::greeted(server.addr).await;
}

#[tokio::test]
async fn data_timeout() {
    let server = Server::start(SmtpConfig {
        data_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut c = Client::greeted(server.addr).await;
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n")
        .await;
    c.expect(250).await;
    c.expect(250).await;
    c.expect(354).await;
    c.send("Subject: stalled\r\n").await;
    assert_eq!(
        c.expect(421).await,
        "421 4.4.2 mx.test Error: timeout exceeded\r\n"
    );
    c.expect_closed().await;
    assert!(server.sink.delivered().is_empty());
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_data() {
    let server = Server::start(config()).await;
    let addr = server.addr;
    let mut busy = Client::greeted(addr).await;
    busy.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n")
        .await;
    busy.expect(250).await;
    busy.expect(250).await;
    busy.expect(354).await;
    busy.send("Subject: in flight\r\n").await;
    let mut idle = Client::greeted(addr).await;

    let sink = Arc::clone(&server.sink);
    let stopping = tokio::spawn(server.stop());
    assert_eq!(
        idle.expect(421).await,
        "421 4.3.2 mx.test Service shutting down\r\n"
    );
    idle.expect_closed().await;
    // New connections are no longer accepted.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(TcpStream::connect(addr).await.is_err());

    busy.send("\r\nbody\r\n.\r\n").await;
    busy.expect(250).await;
    busy.expect(421).await;
    busy.expect_closed().await;
    stopping.await.unwrap().unwrap();
    assert_eq!(
        sink.delivered()[0].data,
        b"Subject: in flight\r\n\r\nbody\r\n"
    );
}

#[tokio::test]
async fn shutdown_grace_is_bounded() {
    let server = Server::start(SmtpConfig {
        shutdown_grace: Duration::from_millis(200),
        ..config()
    })
    .await;
    let mut stuck = Client::greeted(server.addr).await;
    stuck
        .send("MAIL FROM:<a@example.org>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n")
        .await;
    stuck.expect(250).await;
    stuck.expect(250).await;
    stuck.expect(354).await;
    let start = Instant::now();
    server.stop().await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    stuck.expect_closed().await;
}
