//! Socket-free SMTP command parsing and reply formatting (RFC 5321, RFC 3463).
//!
//! [`parse_command`] accepts arbitrary bytes and never panics, so it can be
//! driven directly by a fuzzer.

use std::fmt;

/// Longest accepted command line in bytes, including the line terminator.
///
/// RFC 5321 requires 512; we accept more to tolerate sloppy clients.
pub const MAX_COMMAND_LINE: usize = 4096;

/// Longest accepted forward or reverse path (RFC 5321 §4.5.3.1.3).
const MAX_PATH: usize = 256;

/// Longest accepted domain (RFC 5321 §4.5.3.1.2).
const MAX_DOMAIN: usize = 255;

/// Longest text we put on a single reply line (RFC 5321 allows 512 in total).
const MAX_REPLY_TEXT: usize = 400;

/// The `BODY=` parameter of `MAIL FROM` (RFC 6152).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME`.
    EightBitMime,
}

/// A parsed SMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO <domain>`.
    Ehlo(String),
    /// `HELO <domain>`.
    Helo(String),
    /// `MAIL FROM:<path> [SIZE=n] [BODY=...]`; `from` is empty for the null path `<>`.
    Mail {
        /// Reverse path without angle brackets or source route.
        from: String,
        /// Declared message size (`SIZE=`), saturating at `u64::MAX`.
        size: Option<u64>,
        /// Declared body type (`BODY=`).
        body: Option<BodyType>,
    },
    /// `RCPT TO:<path>`.
    Rcpt {
        /// Forward path without angle brackets or source route.
        to: String,
    },
    /// `DATA`.
    Data,
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY <string>`.
    Vrfy(String),
    /// `EXPN <string>` (not implemented: 502).
    Expn(String),
    /// `HELP [string]`.
    Help,
    /// `STARTTLS` (not offered: 502).
    StartTls,
}

/// Why a command line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The verb is not a known SMTP command (500 5.5.1).
    #[error("command unrecognized")]
    UnknownCommand,
    /// The line exceeds [`MAX_COMMAND_LINE`] (500 5.5.2).
    #[error("line too long")]
    LineTooLong,
    /// Arguments are not UTF-8 or contain control characters (501 5.5.2).
    #[error("invalid characters in command")]
    InvalidCharacters,
    /// Arguments do not match the command syntax (501 5.5.4).
    #[error("syntax error, expected: {0}")]
    Syntax(&'static str),
    /// Malformed reverse path (501 5.1.7).
    #[error("bad sender address syntax")]
    BadSender,
    /// Malformed forward path (501 5.1.3).
    #[error("bad recipient address syntax")]
    BadRecipient,
    /// Unknown or unsupported `MAIL`/`RCPT` parameter (555 5.5.4).
    #[error("unsupported parameter")]
    UnsupportedParameter,
}

impl ParseError {
    /// The SMTP reply sent to the client for this error.
    pub fn reply(&self) -> Reply {
        match self {
            ParseError::UnknownCommand => Reply::new(500, "5.5.1", "Command unrecognized"),
            ParseError::LineTooLong => Reply::new(500, "5.5.2", "Line too long"),
            ParseError::InvalidCharacters => {
                Reply::new(501, "5.5.2", "Invalid characters in command")
            }
            ParseError::Syntax(usage) => Reply::new(501, "5.5.4", format!("Syntax: {usage}")),
            ParseError::BadSender => Reply::new(501, "5.1.7", "Bad sender address syntax"),
            ParseError::BadRecipient => Reply::new(501, "5.1.3", "Bad recipient address syntax"),
            ParseError::UnsupportedParameter => Reply::new(555, "5.5.4", "Unsupported parameter"),
        }
    }
}

/// An SMTP reply: a code, an optional RFC 3463 enhanced status code and one or more text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    enhanced: Option<&'static str>,
    lines: Vec<String>,
}

impl Reply {
    /// A single-line reply with an enhanced status code. Control characters in
    /// `text` are replaced and overlong text is truncated, so any string is safe.
    pub fn new(code: u16, enhanced: &'static str, text: impl AsRef<str>) -> Self {
        Reply {
            code,
            enhanced: Some(enhanced),
            lines: vec![sanitize(text.as_ref())],
        }
    }

    /// A single-line reply without enhanced status code (greeting, 354, HELO).
    pub fn plain(code: u16, text: impl AsRef<str>) -> Self {
        Reply {
            code,
            enhanced: None,
            lines: vec![sanitize(text.as_ref())],
        }
    }

    /// A multi-line reply without enhanced status code (EHLO).
    pub fn multiline<I, T>(code: u16, lines: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let mut lines: Vec<String> = lines.into_iter().map(|l| sanitize(l.as_ref())).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Reply {
            code,
            enhanced: None,
            lines,
        }
    }

    /// The three-digit reply code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code, e.g. `"2.1.0"`.
    pub fn enhanced(&self) -> Option<&'static str> {
        self.enhanced
    }

    /// The text lines (without code prefixes).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Appends the wire form (each line CRLF-terminated) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            let text = match self.enhanced {
                Some(enh) => format!("{}{sep}{enh} {line}\r\n", self.code),
                None => format!("{}{sep}{line}\r\n", self.code),
            };
            out.extend_from_slice(text.as_bytes());
        }
    }

    /// The wire form of the reply.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// Replaces control characters and truncates, so reply text cannot inject lines.
fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_REPLY_TEXT));
    for c in text.chars() {
        if out.len() + c.len_utf8() > MAX_REPLY_TEXT {
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// Parses one command line (with or without its `\r\n` / `\n` terminator).
///
/// Never panics, whatever the input.
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    if line.len() > MAX_COMMAND_LINE {
        return Err(ParseError::LineTooLong);
    }
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let end = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    let line = &line[..end];

    let (verb, args) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &line[line.len()..]),
    };
    if verb.is_empty() || verb.len() > 8 || !verb.iter().all(u8::is_ascii_alphabetic) {
        return Err(ParseError::UnknownCommand);
    }
    let mut upper = [0u8; 8];
    upper[..verb.len()].copy_from_slice(verb);
    upper.make_ascii_uppercase();
    let verb = &upper[..verb.len()];

    let args = std::str::from_utf8(args).map_err(|_| ParseError::InvalidCharacters)?;
    if args.chars().any(char::is_control) {
        return Err(ParseError::InvalidCharacters);
    }

    match verb {
        b"EHLO" => Ok(Command::Ehlo(parse_domain_arg(args, "EHLO hostname")?)),
        b"HELO" => Ok(Command::Helo(parse_domain_arg(args, "HELO hostname")?)),
        b"MAIL" => parse_mail(args),
        b"RCPT" => parse_rcpt(args),
        b"DATA" => no_args(args, Command::Data, "DATA"),
        b"RSET" => no_args(args, Command::Rset, "RSET"),
        b"QUIT" => no_args(args, Command::Quit, "QUIT"),
        b"NOOP" => Ok(Command::Noop),
        b"HELP" => Ok(Command::Help),
        b"VRFY" => Ok(Command::Vrfy(required_arg(args, "VRFY address")?)),
        b"EXPN" => Ok(Command::Expn(required_arg(args, "EXPN mailing-list")?)),
        b"STARTTLS" => Ok(Command::StartTls),
        _ => Err(ParseError::UnknownCommand),
    }
}

fn no_args(args: &str, cmd: Command, usage: &'static str) -> Result<Command, ParseError> {
    if args.trim().is_empty() {
        Ok(cmd)
    } else {
        Err(ParseError::Syntax(usage))
    }
}

fn required_arg(args: &str, usage: &'static str) -> Result<String, ParseError> {
    let arg = args.trim();
    if arg.is_empty() {
        Err(ParseError::Syntax(usage))
    } else {
        Ok(arg.to_owned())
    }
}

/// EHLO/HELO argument: the first token, which must look like a domain or address literal.
fn parse_domain_arg(args: &str, usage: &'static str) -> Result<String, ParseError> {
    let domain = args
        .split_whitespace()
        .next()
        .ok_or(ParseError::Syntax(usage))?;
    if domain.len() > MAX_DOMAIN || domain.contains(['<', '>', '"', '\\']) {
        return Err(ParseError::Syntax(usage));
    }
    Ok(domain.to_owned())
}

/// Case-insensitive ASCII prefix strip that never slices inside a character.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn parse_mail(args: &str) -> Result<Command, ParseError> {
    const USAGE: &str = "MAIL FROM:<address>";
    let rest = strip_prefix_ci(args, "FROM:").ok_or(ParseError::Syntax(USAGE))?;
    let rest = rest.trim_start_matches(' ');
    let (path, params) = split_path(rest).ok_or(ParseError::BadSender)?;
    let from = strip_source_route(path).ok_or(ParseError::BadSender)?;
    if !from.is_empty() && !valid_mailbox(from) {
        return Err(ParseError::BadSender);
    }

    let mut size = None;
    let mut body = None;
    for param in params.split(' ').filter(|p| !p.is_empty()) {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        if key.eq_ignore_ascii_case("SIZE") {
            if size.is_some() || value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseError::Syntax("SIZE=<number>"));
            }
            // Too many digits to fit: saturate, it is over any limit anyway.
            size = Some(value.parse::<u64>().unwrap_or(u64::MAX));
        } else if key.eq_ignore_ascii_case("BODY") {
            if body.is_some() {
                return Err(ParseError::Syntax("BODY=7BIT|8BITMIME"));
            }
            body = Some(if value.eq_ignore_ascii_case("8BITMIME") {
                BodyType::EightBitMime
            } else if value.eq_ignore_ascii_case("7BIT") {
                BodyType::SevenBit
            } else {
                return Err(ParseError::Syntax("BODY=7BIT|8BITMIME"));
            });
        } else {
            return Err(ParseError::UnsupportedParameter);
        }
    }
    Ok(Command::Mail {
        from: from.to_owned(),
        size,
        body,
    })
}

fn parse_rcpt(args: &str) -> Result<Command, ParseError> {
    let rest = strip_prefix_ci(args, "TO:").ok_or(ParseError::Syntax("RCPT TO:<address>"))?;
    let rest = rest.trim_start_matches(' ');
    let (path, params) = split_path(rest).ok_or(ParseError::BadRecipient)?;
    let to = strip_source_route(path).ok_or(ParseError::BadRecipient)?;
    let is_postmaster = to.eq_ignore_ascii_case("postmaster");
    if to.is_empty() || !(is_postmaster || valid_mailbox(to)) {
        return Err(ParseError::BadRecipient);
    }
    if params.split(' ').any(|p| !p.is_empty()) {
        return Err(ParseError::UnsupportedParameter);
    }
    Ok(Command::Rcpt { to: to.to_owned() })
}

/// Splits `<path> params` into the path (without brackets) and the rest.
///
/// A bare address without brackets is tolerated. `>` inside a quoted local
/// part does not end the path.
fn split_path(s: &str) -> Option<(&str, &str)> {
    let (path, rest) = if let Some(inner) = s.strip_prefix('<') {
        let bytes = inner.as_bytes();
        let mut in_quotes = false;
        let mut i = 0;
        let mut close = None;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_quotes => i += 1,
                b'"' => in_quotes = !in_quotes,
                b'>' if !in_quotes => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let close = close?;
        (inner.get(..close)?, inner.get(close + 1..)?)
    } else {
        let end = s.find(' ').unwrap_or(s.len());
        if end == 0 {
            return None;
        }
        (s.get(..end)?, s.get(end..)?)
    };
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    if path.len() > MAX_PATH {
        return None;
    }
    Some((path, rest))
}

/// Drops an obsolete source route (`@a,@b:user@c` → `user@c`), RFC 5321 §4.1.2.
fn strip_source_route(path: &str) -> Option<&str> {
    if path.starts_with('@') {
        let (_, mailbox) = path.split_once(':')?;
        if mailbox.is_empty() {
            return None;
        }
        Some(mailbox)
    } else {
        Some(path)
    }
}

/// Lenient mailbox check: `local@domain`, no whitespace or controls, sane domain.
fn valid_mailbox(addr: &str) -> bool {
    if addr.len() > MAX_PATH || addr.chars().any(|c| c.is_control()) {
        return false;
    }
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    valid_local_part(local) && valid_domain(domain)
}

fn valid_local_part(local: &str) -> bool {
    if local.is_empty() || local.len() > 64 * 4 {
        return false;
    }
    if local.starts_with('"') {
        return local.len() >= 2 && local.ends_with('"');
    }
    !local
        .chars()
        .any(|c| c.is_whitespace() || "<>()[],;:\"\\@".contains(c))
}

fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > MAX_DOMAIN {
        return false;
    }
    if let Some(literal) = domain.strip_prefix('[') {
        return literal
            .strip_suffix(']')
            .is_some_and(|inner| !inner.is_empty() && !inner.contains(['[', ']', '\\', ' ']));
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63 * 4
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command, ParseError> {
        parse_command(s.as_bytes())
    }

    fn mail(from: &str, size: Option<u64>, body: Option<BodyType>) -> Command {
        Command::Mail {
            from: from.into(),
            size,
            body,
        }
    }

    #[test]
    fn simple_verbs_case_insensitive() {
        assert_eq!(p("DATA\r\n"), Ok(Command::Data));
        assert_eq!(p("data\r\n"), Ok(Command::Data));
        assert_eq!(p("DaTa\n"), Ok(Command::Data));
        assert_eq!(p("DATA"), Ok(Command::Data));
        assert_eq!(p("DATA  \r\n"), Ok(Command::Data));
        assert_eq!(p("rset\r\n"), Ok(Command::Rset));
        assert_eq!(p("quit\r\n"), Ok(Command::Quit));
        assert_eq!(p("NOOP\r\n"), Ok(Command::Noop));
        assert_eq!(p("NOOP whatever\r\n"), Ok(Command::Noop));
        assert_eq!(p("help\r\n"), Ok(Command::Help));
        assert_eq!(p("HELP mail\r\n"), Ok(Command::Help));
        assert_eq!(p("starttls\r\n"), Ok(Command::StartTls));
        assert_eq!(p("VRFY bob\r\n"), Ok(Command::Vrfy("bob".into())));
        assert_eq!(p("EXPN staff\r\n"), Ok(Command::Expn("staff".into())));
    }

    #[test]
    fn helo_ehlo() {
        assert_eq!(
            p("EHLO mx.example.org\r\n"),
            Ok(Command::Ehlo("mx.example.org".into()))
        );
        assert_eq!(
            p("helo [10.0.0.1]\r\n"),
            Ok(Command::Helo("[10.0.0.1]".into()))
        );
        assert_eq!(
            p("EHLO a.example extra\r\n"),
            Ok(Command::Ehlo("a.example".into()))
        );
        assert_eq!(p("EHLO\r\n"), Err(ParseError::Syntax("EHLO hostname")));
        assert_eq!(p("HELO   \r\n"), Err(ParseError::Syntax("HELO hostname")));
        assert_eq!(p("EHLO <x>\r\n"), Err(ParseError::Syntax("EHLO hostname")));
        let long = format!("EHLO {}\r\n", "a".repeat(300));
        assert_eq!(p(&long), Err(ParseError::Syntax("EHLO hostname")));
    }

    #[test]
    fn mail_from_forms() {
        assert_eq!(
            p("MAIL FROM:<a@b.example>\r\n"),
            Ok(mail("a@b.example", None, None))
        );
        assert_eq!(
            p("mail from:<a@b.example>\r\n"),
            Ok(mail("a@b.example", None, None))
        );
        assert_eq!(
            p("MAIL FROM: <a@b.example>\r\n"),
            Ok(mail("a@b.example", None, None))
        );
        assert_eq!(p("MAIL FROM:<>\r\n"), Ok(mail("", None, None)));
        assert_eq!(
            p("MAIL FROM:a@b.example\r\n"),
            Ok(mail("a@b.example", None, None))
        );
        assert_eq!(
            p("MAIL FROM:<@relay.example,@r2.example:a@b.example>\r\n"),
            Ok(mail("a@b.example", None, None))
        );
        assert_eq!(
            p("MAIL FROM:<\"odd > local\"@b.example>\r\n"),
            Ok(mail("\"odd > local\"@b.example", None, None))
        );
        assert_eq!(
            p("MAIL FROM:<a@[192.0.2.1]>\r\n"),
            Ok(mail("a@[192.0.2.1]", None, None))
        );
        assert_eq!(
            p("MAIL FROM:<a@bücher.example>\r\n"),
            Ok(mail("a@bücher.example", None, None))
        );
    }

    #[test]
    fn mail_from_params() {
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME\r\n"),
            Ok(mail(
                "a@b.example",
                Some(1000),
                Some(BodyType::EightBitMime)
            ))
        );
        assert_eq!(
            p("MAIL FROM:<> body=7bit size=0\r\n"),
            Ok(mail("", Some(0), Some(BodyType::SevenBit)))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=99999999999999999999999999\r\n"),
            Ok(mail("a@b.example", Some(u64::MAX), None))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=abc\r\n"),
            Err(ParseError::Syntax("SIZE=<number>"))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=\r\n"),
            Err(ParseError::Syntax("SIZE=<number>"))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=1 SIZE=2\r\n"),
            Err(ParseError::Syntax("SIZE=<number>"))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n"),
            Err(ParseError::Syntax("BODY=7BIT|8BITMIME"))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> SMTPUTF8\r\n"),
            Err(ParseError::UnsupportedParameter)
        );
    }

    #[test]
    fn mail_from_malformed() {
        assert_eq!(
            p("MAIL\r\n"),
            Err(ParseError::Syntax("MAIL FROM:<address>"))
        );
        assert_eq!(
            p("MAIL TO:<a@b>\r\n"),
            Err(ParseError::Syntax("MAIL FROM:<address>"))
        );
        assert_eq!(p("MAIL FROM:\r\n"), Err(ParseError::BadSender));
        assert_eq!(p("MAIL FROM:<a@b.example\r\n"), Err(ParseError::BadSender));
        assert_eq!(
            p("MAIL FROM:<a@b.example>junk\r\n"),
            Err(ParseError::BadSender)
        );
        assert_eq!(p("MAIL FROM:<nodomain>\r\n"), Err(ParseError::BadSender));
        assert_eq!(
            p("MAIL FROM:<a b@c.example>\r\n"),
            Err(ParseError::BadSender)
        );
        assert_eq!(p("MAIL FROM:<a@>\r\n"), Err(ParseError::BadSender));
        assert_eq!(
            p("MAIL FROM:<a@b..example>\r\n"),
            Err(ParseError::BadSender)
        );
        assert_eq!(p("MAIL FROM:<@relay:>\r\n"), Err(ParseError::BadSender));
        let long = format!("MAIL FROM:<{}@b.example>\r\n", "a".repeat(300));
        assert_eq!(p(&long), Err(ParseError::BadSender));
    }

    #[test]
    fn rcpt_to() {
        assert_eq!(
            p("RCPT TO:<help@support.example>\r\n"),
            Ok(Command::Rcpt {
                to: "help@support.example".into()
            })
        );
        assert_eq!(
            p("rcpt to: <help@support.example>\r\n"),
            Ok(Command::Rcpt {
                to: "help@support.example".into()
            })
        );
        assert_eq!(
            p("RCPT TO:<Postmaster>\r\n"),
            Ok(Command::Rcpt {
                to: "Postmaster".into()
            })
        );
        assert_eq!(p("RCPT TO:<>\r\n"), Err(ParseError::BadRecipient));
        assert_eq!(p("RCPT TO:<bob>\r\n"), Err(ParseError::BadRecipient));
        assert_eq!(
            p("RCPT FROM:<a@b.example>\r\n"),
            Err(ParseError::Syntax("RCPT TO:<address>"))
        );
        assert_eq!(
            p("RCPT TO:<a@b.example> NOTIFY=NEVER\r\n"),
            Err(ParseError::UnsupportedParameter)
        );
    }

    #[test]
    fn unknown_and_invalid() {
        assert_eq!(p("FOO\r\n"), Err(ParseError::UnknownCommand));
        assert_eq!(p("GET / HTTP/1.1\r\n"), Err(ParseError::UnknownCommand));
        assert_eq!(p("\r\n"), Err(ParseError::UnknownCommand));
        assert_eq!(p(""), Err(ParseError::UnknownCommand));
        assert_eq!(p(" DATA\r\n"), Err(ParseError::UnknownCommand));
        assert_eq!(p("DA7A\r\n"), Err(ParseError::UnknownCommand));
        assert_eq!(p("STARTTLSX\r\n"), Err(ParseError::UnknownCommand));
        assert_eq!(p("DATA now\r\n"), Err(ParseError::Syntax("DATA")));
        assert_eq!(p("QUIT now\r\n"), Err(ParseError::Syntax("QUIT")));
        assert_eq!(p("RSET x\r\n"), Err(ParseError::Syntax("RSET")));
        assert_eq!(p("VRFY\r\n"), Err(ParseError::Syntax("VRFY address")));
        assert_eq!(p("EXPN\r\n"), Err(ParseError::Syntax("EXPN mailing-list")));
        assert_eq!(
            parse_command(b"MAIL FROM:<\xff@b.example>\r\n"),
            Err(ParseError::InvalidCharacters)
        );
        assert_eq!(
            parse_command(b"MAIL FROM:<a\x00@b.example>\r\n"),
            Err(ParseError::InvalidCharacters)
        );
        assert_eq!(p("NOOP a\rb\r\n"), Err(ParseError::InvalidCharacters));
        let long = format!("NOOP {}\r\n", "x".repeat(MAX_COMMAND_LINE));
        assert_eq!(p(&long), Err(ParseError::LineTooLong));
    }

    #[test]
    fn error_replies() {
        let cases = [
            (ParseError::UnknownCommand, 500, "5.5.1"),
            (ParseError::LineTooLong, 500, "5.5.2"),
            (ParseError::InvalidCharacters, 501, "5.5.2"),
            (ParseError::Syntax("X"), 501, "5.5.4"),
            (ParseError::BadSender, 501, "5.1.7"),
            (ParseError::BadRecipient, 501, "5.1.3"),
            (ParseError::UnsupportedParameter, 555, "5.5.4"),
        ];
        for (err, code, enh) in cases {
            let r = err.reply();
            assert_eq!((r.code(), r.enhanced()), (code, Some(enh)), "{err:?}");
        }
    }

    #[test]
    fn reply_wire_format() {
        assert_eq!(
            Reply::new(250, "2.1.0", "Ok").to_bytes(),
            b"250 2.1.0 Ok\r\n"
        );
        assert_eq!(Reply::plain(354, "Go").to_bytes(), b"354 Go\r\n");
        assert_eq!(
            Reply::multiline(250, ["a", "b", "c"]).to_bytes(),
            b"250-a\r\n250-b\r\n250 c\r\n"
        );
        // Injection attempt through reply text is neutralised.
        assert_eq!(
            Reply::new(451, "4.3.0", "x\r\n250 fake").to_bytes(),
            b"451 4.3.0 x  250 fake\r\n"
        );
        let long = Reply::new(451, "4.3.0", "é".repeat(1000));
        assert!(long.lines()[0].len() <= MAX_REPLY_TEXT);
        assert_eq!(
            Reply::multiline(250, Vec::<String>::new()).to_bytes(),
            b"250 \r\n"
        );
        assert_eq!(
            Reply::new(250, "2.0.0", "Ok").to_string(),
            "250 2.0.0 Ok\r\n"
        );
    }

    /// Poor man's fuzzing: random and mutated inputs must never panic.
    #[test]
    fn never_panics() {
        let seeds: &[&[u8]] = &[
            b"MAIL FROM:<\"a\\\"b>\"@c.example> SIZE=12 BODY=8BITMIME\r\n",
            b"RCPT TO:<@x,@y:\xc3\xa9@[1.2.3.4]>\r\n",
            b"EHLO \xe2\x82\xac.example\r\n",
            b"MAIL FROM:<\"\\",
            b"RCPT TO:<\"\xc3",
        ];
        for seed in seeds {
            for i in 0..=seed.len() {
                let _ = parse_command(&seed[..i]);
                let _ = parse_command(&seed[i..]);
            }
        }
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"MAILFROMRCPTTO:<>@\"\\ .,=[]SIZEBODY\r\n\x00\xff\xc3\xa9\xe2\x82";
        for _ in 0..20_000 {
            let len = (next() % 80) as usize;
            let mut buf: Vec<u8> = Vec::with_capacity(len + 10);
            buf.extend_from_slice(
                [&b"MAIL FROM:"[..], b"RCPT TO:", b"EHLO ", b""][(next() % 4) as usize],
            );
            for _ in 0..len {
                let r = next();
                buf.push(if r % 3 == 0 {
                    r as u8
                } else {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                });
            }
            let _ = parse_command(&buf);
        }
    }
}
