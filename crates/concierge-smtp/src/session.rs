//! Socket-free SMTP session state machine.
//!
//! The server feeds it command lines and acts on the returned [`Step`]; the
//! DATA phase itself is decoded by [`crate::data::DataDecoder`].

use std::net::SocketAddr;
use std::sync::Arc;

use crate::protocol::{Command, ParseError, Reply, parse_command};
use crate::{Delivery, Envelope, SmtpConfig};

/// What the server must do after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send the reply and read the next command.
    Reply(Reply),
    /// Send the reply (354) and read message data.
    StartData(Reply),
    /// Send the reply and close the connection.
    Close(Reply),
}

impl Step {
    /// The reply to send.
    pub fn reply(&self) -> &Reply {
        match self {
            Step::Reply(r) | Step::StartData(r) | Step::Close(r) => r,
        }
    }
}

/// Coarse session state, mostly for tests and logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Greeting sent, no EHLO/HELO yet.
    Connected,
    /// Greeted, no transaction.
    Ready,
    /// `MAIL FROM` accepted, no recipients yet.
    Mail,
    /// At least one recipient accepted.
    Rcpt,
    /// Reading message data.
    Data,
    /// The connection is to be closed.
    Closed,
}

/// One SMTP session: greeting, transactions, error accounting.
#[derive(Debug)]
pub struct Session {
    config: Arc<SmtpConfig>,
    peer: SocketAddr,
    helo: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    in_data: bool,
    closed: bool,
    errors: usize,
}

impl Session {
    /// A new session for a client connected from `peer`.
    pub fn new(config: Arc<SmtpConfig>, peer: SocketAddr) -> Self {
        Session {
            config,
            peer,
            helo: None,
            mail_from: None,
            rcpt_to: Vec::new(),
            in_data: false,
            closed: false,
            errors: 0,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        if self.closed {
            Phase::Closed
        } else if self.in_data {
            Phase::Data
        } else if !self.rcpt_to.is_empty() {
            Phase::Rcpt
        } else if self.mail_from.is_some() {
            Phase::Mail
        } else if self.helo.is_some() {
            Phase::Ready
        } else {
            Phase::Connected
        }
    }

    /// Number of errors counted so far.
    pub fn errors(&self) -> usize {
        self.errors
    }

    /// The 220 greeting.
    pub fn greeting(&self) -> Reply {
        Reply::plain(220, format!("{} ESMTP Concierge", self.config.hostname))
    }

    /// 421 sent when the client is too slow.
    pub fn timeout_reply(&mut self) -> Reply {
        self.closed = true;
        Reply::new(
            421,
            "4.4.2",
            format!("{} Error: timeout exceeded", self.config.hostname),
        )
    }

    /// 421 sent when the server shuts down.
    pub fn shutdown_reply(&mut self) -> Reply {
        self.closed = true;
        Reply::new(
            421,
            "4.3.2",
            format!("{} Service shutting down", self.config.hostname),
        )
    }

    /// Handles a command line longer than [`crate::protocol::MAX_COMMAND_LINE`].
    pub fn line_too_long(&mut self) -> Step {
        self.error(ParseError::LineTooLong.reply())
    }

    /// Handles one command line. `accepts_recipient` is consulted for `RCPT TO`.
    pub fn handle_line(
        &mut self,
        line: &[u8],
        accepts_recipient: impl FnOnce(&str) -> bool,
    ) -> Step {
        if self.closed {
            return Step::Close(Reply::new(421, "4.3.0", "Connection closing"));
        }
        if self.in_data {
            return Step::Reply(Reply::new(503, "5.5.1", "Bad sequence of commands"));
        }
        match parse_command(line) {
            Ok(cmd) => self.handle_command(cmd, accepts_recipient),
            Err(e) => self.error(e.reply()),
        }
    }

    /// Handles one parsed command.
    pub fn handle_command(
        &mut self,
        cmd: Command,
        accepts_recipient: impl FnOnce(&str) -> bool,
    ) -> Step {
        let cfg = Arc::clone(&self.config);
        match cmd {
            Command::Ehlo(domain) => {
                self.reset_transaction();
                self.helo = Some(domain);
                Step::Reply(Reply::multiline(
                    250,
                    [
                        cfg.hostname.clone(),
                        format!("SIZE {}", cfg.max_message_bytes),
                        "8BITMIME".into(),
                        "PIPELINING".into(),
                        "ENHANCEDSTATUSCODES".into(),
                    ],
                ))
            }
            Command::Helo(domain) => {
                self.reset_transaction();
                self.helo = Some(domain);
                Step::Reply(Reply::plain(250, &cfg.hostname))
            }
            Command::Mail { from, size, .. } => {
                if self.helo.is_none() {
                    return self.error(Reply::new(503, "5.5.1", "Error: send HELO/EHLO first"));
                }
                if self.mail_from.is_some() {
                    return self.error(Reply::new(503, "5.5.1", "Error: nested MAIL command"));
                }
                let too_big = size
                    .is_some_and(|s| u64::try_from(cfg.max_message_bytes).is_ok_and(|max| s > max));
                if too_big {
                    return Step::Reply(Reply::new(
                        552,
                        "5.3.4",
                        "Message size exceeds fixed maximum message size",
                    ));
                }
                self.mail_from = Some(from);
                Step::Reply(Reply::new(250, "2.1.0", "Ok"))
            }
            Command::Rcpt { to } => {
                if self.mail_from.is_none() {
                    return self.error(Reply::new(503, "5.5.1", "Error: need MAIL command"));
                }
                if self.rcpt_to.len() >= cfg.max_recipients {
                    return self.error(Reply::new(452, "4.5.3", "Error: too many recipients"));
                }
                if !accepts_recipient(&to) {
                    return self.error(Reply::new(
                        550,
                        "5.1.1",
                        "Recipient address rejected: user unknown",
                    ));
                }
                if !self.rcpt_to.contains(&to) {
                    self.rcpt_to.push(to);
                }
                Step::Reply(Reply::new(250, "2.1.5", "Ok"))
            }
            Command::Data => {
                if self.mail_from.is_none() {
                    return self.error(Reply::new(503, "5.5.1", "Error: need MAIL command"));
                }
                if self.rcpt_to.is_empty() {
                    return self.error(Reply::new(554, "5.5.1", "Error: no valid recipients"));
                }
                self.in_data = true;
                Step::StartData(Reply::plain(354, "End data with <CR><LF>.<CR><LF>"))
            }
            Command::Rset => {
                self.reset_transaction();
                Step::Reply(Reply::new(250, "2.0.0", "Ok"))
            }
            Command::Noop => Step::Reply(Reply::new(250, "2.0.0", "Ok")),
            Command::Quit => {
                self.closed = true;
                Step::Close(Reply::new(221, "2.0.0", "Bye"))
            }
            Command::Vrfy(_) => Step::Reply(Reply::new(
                252,
                "2.5.0",
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn(_) => {
                self.error(Reply::new(502, "5.5.1", "Error: command not implemented"))
            }
            Command::Help => Step::Reply(Reply::new(
                214,
                "2.0.0",
                "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP",
            )),
            Command::StartTls => {
                self.error(Reply::new(502, "5.5.1", "Error: STARTTLS not available"))
            }
        }
    }

    /// Ends the DATA phase with the decoded message; returns the envelope to deliver.
    pub fn finish_data(&mut self, data: Vec<u8>) -> Envelope {
        let envelope = Envelope {
            peer: self.peer,
            helo: self.helo.clone().unwrap_or_default(),
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            data,
        };
        self.reset_transaction();
        envelope
    }

    /// Ends the DATA phase of a message that was too big (552).
    pub fn reject_too_big(&mut self) -> Reply {
        self.reset_transaction();
        Reply::new(552, "5.3.4", "Message too big")
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
        self.in_data = false;
    }

    /// Counts an error; past `max_errors` the reply becomes 421 and the session closes.
    fn error(&mut self, reply: Reply) -> Step {
        self.errors = self.errors.saturating_add(1);
        if self.errors > self.config.max_errors {
            self.closed = true;
            Step::Close(Reply::new(
                421,
                "4.7.0",
                format!("{} Error: too many errors", self.config.hostname),
            ))
        } else {
            Step::Reply(reply)
        }
    }
}

impl Delivery {
    /// The reply for this delivery outcome.
    pub fn reply(&self) -> Reply {
        match self {
            Delivery::Accepted { id } => Reply::new(250, "2.0.0", format!("Ok: queued as {id}")),
            Delivery::TempFail(msg) => Reply::new(451, "4.3.0", msg),
            Delivery::PermFail(msg) => Reply::new(554, "5.6.0", msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Arc<SmtpConfig> {
        Arc::new(SmtpConfig {
            hostname: "mx.test".into(),
            max_message_bytes: 1000,
            max_recipients: 2,
            max_errors: 3,
            ..SmtpConfig::default()
        })
    }

    fn session() -> Session {
        Session::new(config(), "192.0.2.7:2525".parse().unwrap())
    }

    fn yes(_: &str) -> bool {
        true
    }

    /// Sends a line and returns (code, enhanced code, step kind).
    fn send(s: &mut Session, line: &str) -> (u16, Option<&'static str>, &'static str) {
        let step = s.handle_line(line.as_bytes(), |r| r.ends_with("@support.test"));
        let kind = match step {
            Step::Reply(_) => "reply",
            Step::StartData(_) => "data",
            Step::Close(_) => "close",
        };
        (step.reply().code(), step.reply().enhanced(), kind)
    }

    fn greeted() -> Session {
        let mut s = session();
        assert_eq!(send(&mut s, "EHLO client.test\r\n").0, 250);
        s
    }

    #[test]
    fn greeting_and_ehlo() {
        let mut s = session();
        assert_eq!(s.greeting().to_bytes(), b"220 mx.test ESMTP Concierge\r\n");
        assert_eq!(s.phase(), Phase::Connected);
        let step = s.handle_line(b"EHLO client.test\r\n", yes);
        assert_eq!(
            String::from_utf8(step.reply().to_bytes()).unwrap(),
            "250-mx.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n"
        );
        assert_eq!(s.phase(), Phase::Ready);
        let step = s.handle_line(b"HELO other.test\r\n", yes);
        assert_eq!(step, Step::Reply(Reply::plain(250, "mx.test")));
    }

    #[test]
    fn full_transaction() {
        let mut s = greeted();
        assert_eq!(
            send(&mut s, "MAIL FROM:<a@b.test> SIZE=10"),
            (250, Some("2.1.0"), "reply")
        );
        assert_eq!(s.phase(), Phase::Mail);
        assert_eq!(
            send(&mut s, "RCPT TO:<x@support.test>"),
            (250, Some("2.1.5"), "reply")
        );
        assert_eq!(
            send(&mut s, "RCPT TO:<x@support.test>"),
            (250, Some("2.1.5"), "reply")
        );
        assert_eq!(s.phase(), Phase::Rcpt);
        assert_eq!(send(&mut s, "DATA"), (354, None, "data"));
        assert_eq!(s.phase(), Phase::Data);
        assert_eq!(send(&mut s, "NOOP"), (503, Some("5.5.1"), "reply"));
        let env = s.finish_data(b"hello\r\n".to_vec());
        assert_eq!(env.helo, "client.test");
        assert_eq!(env.mail_from, "a@b.test");
        assert_eq!(
            env.rcpt_to,
            vec!["x@support.test".to_string()],
            "duplicates collapsed"
        );
        assert_eq!(env.data, b"hello\r\n");
        assert_eq!(env.peer, "192.0.2.7:2525".parse().unwrap());
        assert_eq!(s.phase(), Phase::Ready);
        // A second transaction on the same session.
        assert_eq!(send(&mut s, "MAIL FROM:<>").0, 250);
        assert_eq!(send(&mut s, "RCPT TO:<y@support.test>").0, 250);
        assert_eq!(send(&mut s, "DATA").0, 354);
        assert_eq!(
            s.reject_too_big().to_bytes(),
            b"552 5.3.4 Message too big\r\n"
        );
        assert_eq!(s.phase(), Phase::Ready);
        assert_eq!(s.errors(), 0);
    }

    #[test]
    fn bad_sequences() {
        let mut s = session();
        assert_eq!(
            send(&mut s, "MAIL FROM:<a@b.test>"),
            (503, Some("5.5.1"), "reply")
        );
        assert_eq!(send(&mut s, "HELO c.test").0, 250);
        assert_eq!(
            send(&mut s, "RCPT TO:<x@support.test>"),
            (503, Some("5.5.1"), "reply")
        );
        assert_eq!(send(&mut s, "DATA"), (503, Some("5.5.1"), "reply"));
        assert_eq!(s.errors(), 3);
        let mut s = greeted();
        assert_eq!(send(&mut s, "MAIL FROM:<a@b.test>").0, 250);
        assert_eq!(
            send(&mut s, "MAIL FROM:<a@b.test>"),
            (503, Some("5.5.1"), "reply")
        );
        assert_eq!(send(&mut s, "DATA"), (554, Some("5.5.1"), "reply"));
    }

    #[test]
    fn rset_and_ehlo_reset_transaction() {
        let mut s = greeted();
        send(&mut s, "MAIL FROM:<a@b.test>");
        send(&mut s, "RCPT TO:<x@support.test>");
        assert_eq!(send(&mut s, "RSET"), (250, Some("2.0.0"), "reply"));
        assert_eq!(s.phase(), Phase::Ready);
        send(&mut s, "MAIL FROM:<a@b.test>");
        assert_eq!(send(&mut s, "EHLO again.test").0, 250);
        assert_eq!(s.phase(), Phase::Ready);
    }

    #[test]
    fn recipient_checks() {
        let mut s = greeted();
        send(&mut s, "MAIL FROM:<a@b.test>");
        assert_eq!(
            send(&mut s, "RCPT TO:<nobody@elsewhere.test>"),
            (550, Some("5.1.1"), "reply")
        );
        assert_eq!(send(&mut s, "RCPT TO:<1@support.test>").0, 250);
        assert_eq!(send(&mut s, "RCPT TO:<2@support.test>").0, 250);
        assert_eq!(
            send(&mut s, "RCPT TO:<3@support.test>"),
            (452, Some("4.5.3"), "reply")
        );
        assert_eq!(s.errors(), 2);
    }

    #[test]
    fn size_declared_too_big() {
        let mut s = greeted();
        assert_eq!(send(&mut s, "MAIL FROM:<a@b.test> SIZE=1000").0, 250);
        send(&mut s, "RSET");
        assert_eq!(
            send(&mut s, "MAIL FROM:<a@b.test> SIZE=1001"),
            (552, Some("5.3.4"), "reply")
        );
        assert_eq!(s.phase(), Phase::Ready);
        assert_eq!(
            send(&mut s, "MAIL FROM:<a@b.test> SIZE=999999999999999999999999"),
            (552, Some("5.3.4"), "reply")
        );
    }

    #[test]
    fn misc_commands() {
        let mut s = greeted();
        assert_eq!(send(&mut s, "NOOP"), (250, Some("2.0.0"), "reply"));
        assert_eq!(send(&mut s, "VRFY bob"), (252, Some("2.5.0"), "reply"));
        assert_eq!(send(&mut s, "HELP"), (214, Some("2.0.0"), "reply"));
        assert_eq!(send(&mut s, "STARTTLS"), (502, Some("5.5.1"), "reply"));
        assert_eq!(send(&mut s, "EXPN list"), (502, Some("5.5.1"), "reply"));
        assert_eq!(send(&mut s, "QUIT"), (221, Some("2.0.0"), "close"));
        assert_eq!(s.phase(), Phase::Closed);
        assert_eq!(send(&mut s, "NOOP"), (421, Some("4.3.0"), "close"));
    }

    #[test]
    fn syntax_errors_map_to_replies() {
        let mut s = greeted();
        assert_eq!(send(&mut s, "BOGUS"), (500, Some("5.5.1"), "reply"));
        assert_eq!(
            send(&mut s, "MAIL FROM:<a b>"),
            (501, Some("5.1.7"), "reply")
        );
        assert_eq!(
            send(&mut s, "MAIL FROM:<a@b.test> FOO=1"),
            (555, Some("5.5.4"), "reply")
        );
    }

    #[test]
    fn too_many_errors_closes() {
        let mut s = greeted();
        for _ in 0..3 {
            assert_eq!(send(&mut s, "BOGUS").0, 500);
        }
        assert_eq!(send(&mut s, "BOGUS"), (421, Some("4.7.0"), "close"));
        assert_eq!(s.phase(), Phase::Closed);

        let mut s = greeted();
        for _ in 0..3 {
            assert_eq!(s.line_too_long().reply().enhanced(), Some("5.5.2"));
        }
        assert_eq!(s.line_too_long().reply().code(), 421);
    }

    #[test]
    fn timeout_and_shutdown_replies() {
        let mut s = greeted();
        assert_eq!(
            s.timeout_reply().to_bytes(),
            b"421 4.4.2 mx.test Error: timeout exceeded\r\n"
        );
        assert_eq!(s.phase(), Phase::Closed);
        let mut s = greeted();
        assert_eq!(
            s.shutdown_reply().to_bytes(),
            b"421 4.3.2 mx.test Service shutting down\r\n"
        );
    }

    #[test]
    fn delivery_replies() {
        assert_eq!(
            Delivery::Accepted { id: "T-1".into() }.reply().to_bytes(),
            b"250 2.0.0 Ok: queued as T-1\r\n"
        );
        assert_eq!(
            Delivery::TempFail("database down".into())
                .reply()
                .to_bytes(),
            b"451 4.3.0 database down\r\n"
        );
        assert_eq!(
            Delivery::PermFail("spam".into()).reply().to_bytes(),
            b"554 5.6.0 spam\r\n"
        );
    }
}
