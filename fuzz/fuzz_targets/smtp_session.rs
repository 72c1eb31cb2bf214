//! A whole SMTP conversation, socket-free: the input is the byte stream a
//! client sends. It is cut into command lines exactly as the server does
//! (`read_line_bounded` with `MAX_COMMAND_LINE`, skipping the rest of an
//! overlong line), fed to `Session::handle_line`, and after a 354 the DATA
//! phase goes through `DataDecoder` in small pieces, as from a socket.
//!
//! Checks: no panic, every reply well-formed, and the session's invariants
//! (phases, error limit, envelope contents).
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use concierge_core::message::EmailAddress;
use concierge_smtp::data::DataDecoder;
use concierge_smtp::protocol::MAX_COMMAND_LINE;
use concierge_smtp::session::{Phase, Session, Step};
use concierge_smtp::{Delivery, Reply, SmtpConfig};
use libfuzzer_sys::fuzz_target;

static CONFIG: LazyLock<Arc<SmtpConfig>> = LazyLock::new(|| {
    Arc::new(SmtpConfig {
        hostname: "mx.concierge.test".into(),
        max_message_bytes: 2048,
        max_recipients: 4,
        max_errors: 10,
        ..SmtpConfig::default()
    })
});
static OURS: LazyLock<Vec<EmailAddress>> = LazyLock::new(|| {
    ["help@concierge.test", "support@concierge.test"]
        .into_iter()
        .map(|a| EmailAddress::parse(a).unwrap())
        .collect()
});

/// The application's recipient check (`concierge_inbound::Inbound::accepts_recipient`).
fn accepts(rcpt: &str) -> bool {
    EmailAddress::parse(rcpt).is_ok_and(|a| OURS.iter().any(|o| o.same_mailbox(&a)))
}

fn check_reply(reply: &Reply) {
    let wire = reply.to_bytes();
    assert!(wire.ends_with(b"\r\n"));
    for line in wire.split_inclusive(|&b| b == b'\n') {
        assert!(line.len() <= 512, "reply line of {} bytes", line.len());
        assert!(line.ends_with(b"\r\n"), "bare LF in reply {wire:?}");
        let body = &line[..line.len() - 2];
        assert!(!body.contains(&b'\r'), "CR in reply {wire:?}");
    }
}

enum Read<'a> {
    Line(&'a [u8]),
    TooLong,
    Eof,
}

/// `lines::read_line_bounded` + `server::read_command` over a byte slice.
fn read_command<'a>(input: &mut &'a [u8], skip_rest: &mut bool) -> Read<'a> {
    if *skip_rest {
        match input.iter().position(|&b| b == b'\n') {
            Some(p) => *input = &input[p + 1..],
            None => return Read::Eof,
        }
        *skip_rest = false;
    }
    let window = &input[..input.len().min(MAX_COMMAND_LINE)];
    if let Some(p) = window.iter().position(|&b| b == b'\n') {
        let line = &input[..=p];
        *input = &input[p + 1..];
        Read::Line(line)
    } else if window.len() >= MAX_COMMAND_LINE {
        *input = &input[MAX_COMMAND_LINE..];
        Read::TooLong
    } else {
        Read::Eof
    }
}

fuzz_target!(|data: &[u8]| {
    let config: &Arc<SmtpConfig> = &CONFIG;
    let peer: SocketAddr = "192.0.2.7:2525".parse().unwrap();
    let mut session = Session::new(Arc::clone(config), peer);
    check_reply(&session.greeting());
    assert_eq!(session.phase(), Phase::Connected);

    let mut input = data;
    let mut skip_rest = false;
    let mut turns = 0usize;
    loop {
        turns += 1;
        assert!(turns <= data.len() + 1, "no progress");
        let before = session.phase();
        let step = match read_command(&mut input, &mut skip_rest) {
            Read::Eof => break,
            Read::TooLong => {
                skip_rest = true;
                session.line_too_long()
            }
            Read::Line(line) => session.handle_line(line, accepts),
        };
        check_reply(step.reply());
        assert!(session.errors() <= config.max_errors + 1);
        match step {
            Step::Reply(reply) => {
                assert_ne!(session.phase(), Phase::Closed);
                assert_ne!(session.phase(), Phase::Data);
                assert!(reply.code() != 221 && reply.code() != 354);
            }
            Step::Close(reply) => {
                assert_eq!(session.phase(), Phase::Closed);
                assert!(reply.code() == 221 || reply.code() == 421, "{reply}");
                // Whatever comes next is refused.
                let again = session.handle_line(b"NOOP\r\n", accepts);
                assert!(matches!(again, Step::Close(_)));
                break;
            }
            Step::StartData(reply) => {
                assert_eq!(reply.code(), 354);
                assert_eq!(before, Phase::Rcpt);
                assert_eq!(session.phase(), Phase::Data);
                let mut decoder = DataDecoder::new(config.max_message_bytes);
                // Socket-sized pieces, so the end marker can straddle reads.
                while !decoder.is_done() && !input.is_empty() {
                    let piece = &input[..input.len().min(61)];
                    let n = decoder.feed(piece);
                    input = &input[n..];
                }
                if !decoder.is_done() {
                    break; // client went away mid-message
                }
                let reply = match decoder.finish() {
                    Ok(message) => {
                        assert!(message.len() <= config.max_message_bytes);
                        let env = session.finish_data(message);
                        assert!(!env.rcpt_to.is_empty());
                        assert!(env.rcpt_to.len() <= config.max_recipients);
                        for (i, r) in env.rcpt_to.iter().enumerate() {
                            assert!(accepts(r), "accepted recipient {r:?}");
                            assert!(!env.rcpt_to[..i].contains(r), "duplicate recipient");
                        }
                        assert!(!env.helo.is_empty());
                        let _ = format!("{env:?}");
                        Delivery::Accepted { id: "C-FUZZ1".into() }.reply()
                    }
                    Err(_too_big) => session.reject_too_big(),
                };
                check_reply(&reply);
                assert_eq!(session.phase(), Phase::Ready);
            }
        }
    }
    check_reply(&session.timeout_reply());
    assert_eq!(session.phase(), Phase::Closed);
});
