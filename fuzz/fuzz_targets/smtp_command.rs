//! `concierge_smtp::parse_command` and `concierge_smtp::data::DataDecoder` on
//! arbitrary bytes.
//!
//! - `parse_command` must never panic, and what it accepts must respect the
//!   documented bounds; every error must render a well-formed reply.
//! - The DATA decoder must give the same result however the input is split
//!   into `feed` calls (one shot, split at an input-chosen point, byte by
//!   byte), must never keep more than `max` bytes, and must consume exactly up
//!   to the end-of-data line.
#![no_main]

use concierge_smtp::data::DataDecoder;
use concierge_smtp::protocol::MAX_COMMAND_LINE;
use concierge_smtp::{Command, Reply, parse_command};
use libfuzzer_sys::fuzz_target;

/// Checks a reply cannot inject lines and respects RFC 5321 §4.5.3.1.5 (512
/// octets per reply line, CRLF included).
fn check_reply(reply: &Reply) {
    let wire = reply.to_bytes();
    assert!(wire.ends_with(b"\r\n"));
    for line in wire.split_inclusive(|&b| b == b'\n') {
        assert!(line.len() <= 512, "reply line of {} bytes", line.len());
        let body = &line[..line.len() - 2];
        assert!(line.ends_with(b"\r\n"), "bare LF in reply {wire:?}");
        assert!(!body.contains(&b'\r') && !body.contains(&b'\n'), "CR/LF in reply {wire:?}");
    }
}

fn check_text(s: &str, max: usize, what: &str) {
    assert!(s.len() <= max, "{what} of {} bytes", s.len());
    assert!(!s.chars().any(char::is_control), "control character in {what} {s:?}");
}

struct Decoded {
    result: Result<Vec<u8>, concierge_smtp::data::TooBig>,
    consumed: usize,
    done: bool,
    size: usize,
}

fn decode_chunks<'a>(max: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> Decoded {
    let mut d = DataDecoder::new(max);
    let mut consumed = 0;
    for chunk in chunks {
        if d.is_done() {
            break;
        }
        let n = d.feed(chunk);
        assert!(n <= chunk.len());
        if !d.is_done() {
            assert_eq!(n, chunk.len(), "decoder stopped early without finishing");
        }
        consumed += n;
    }
    let (done, size) = (d.is_done(), d.size());
    Decoded {
        result: d.finish(),
        consumed,
        done,
        size,
    }
}

fuzz_target!(|data: &[u8]| {
    // ---- command parser ---------------------------------------------------
    match parse_command(data) {
        Ok(cmd) => {
            assert!(data.len() <= MAX_COMMAND_LINE);
            match &cmd {
                Command::Ehlo(d) | Command::Helo(d) => {
                    assert!(!d.is_empty());
                    check_text(d, 255, "HELO domain");
                    assert!(!d.contains(char::is_whitespace));
                }
                Command::Mail { from, .. } => check_text(from, 256, "MAIL FROM path"),
                Command::Rcpt { to } => {
                    assert!(!to.is_empty());
                    check_text(to, 256, "RCPT TO path");
                }
                Command::Vrfy(a) | Command::Expn(a) => {
                    assert!(!a.is_empty());
                    check_text(a, MAX_COMMAND_LINE, "argument");
                }
                _ => {}
            }
        }
        Err(e) => check_reply(&e.reply()),
    }
    // A reply built from attacker text (e.g. a delivery error message).
    check_reply(&Reply::new(554, "5.6.0", String::from_utf8_lossy(data)));
    check_reply(&Reply::multiline(
        250,
        String::from_utf8_lossy(data).split('\n'),
    ));

    // ---- DATA decoder -----------------------------------------------------
    // First byte picks the size limit (small limits exercise the oversize
    // path), second byte the split point.
    let (max, split, input) = match data {
        [a, b, rest @ ..] => (usize::from(*a) * 4, usize::from(*b), rest),
        _ => return,
    };
    let one = decode_chunks(max, [input]);
    let cut = split.min(input.len());
    let two = decode_chunks(max, [&input[..cut], &input[cut..]]);
    let bytes = decode_chunks(max, input.chunks(1));
    for other in [&two, &bytes] {
        assert_eq!(one.done, other.done);
        assert_eq!(one.consumed, other.consumed);
        assert_eq!(one.size, other.size);
        assert_eq!(one.result, other.result);
    }
    if one.done {
        // Consumption stops right after the end-of-data line.
        let eaten = &input[..one.consumed];
        assert!(
            eaten == b".\n"
                || eaten == b".\r\n"
                || eaten.ends_with(b"\n.\n")
                || eaten.ends_with(b"\n.\r\n"),
            "ended after {eaten:?}"
        );
    } else {
        assert_eq!(one.consumed, input.len());
    }
    match &one.result {
        Ok(msg) => {
            assert!(msg.len() <= max);
            assert_eq!(msg.len(), one.size);
            assert!(msg.len() <= one.consumed);
        }
        Err(too_big) => {
            assert!(too_big.size > max);
            assert_eq!(too_big.max, max);
        }
    }
});
