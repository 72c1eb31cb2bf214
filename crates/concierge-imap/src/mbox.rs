//! Streaming mbox reader (mboxrd and mboxo: Google Takeout, Thunderbird,
//! mutt), in bounded memory whatever the file size or line length.
//!
//! A message starts at a `From ` line that follows a blank line (or starts
//! the file) and looks like a real separator (`From <sender> <date with a
//! time>`), so an unescaped "From here…" in a body does not split it.
//! Quoted `>From ` lines are unescaped by one `>` (mboxrd; for mboxo this
//! is the usual reading). Line endings are kept as they are (LF, CRLF or a
//! mix); the blank line before the next separator is dropped. A truncated
//! last message is returned as it is.

use std::io::{self, BufRead};

/// One message of an mbox file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Byte offset of its separator line (or of its first line).
    pub start: u64,
    /// Byte offset just after it: where the next message starts. Resume
    /// here once it is committed.
    pub end: u64,
    /// The message, unescaped; at most `max_bytes + 1` bytes.
    pub raw: Vec<u8>,
    /// Longer than `max_bytes`: `raw` is cut.
    pub truncated: bool,
}

/// Longest line prefix looked at to recognise separators and quoting.
const HEAD: usize = 4096;

/// Reads messages one at a time from `r`, positioned at `offset` (the
/// start of the file or a [`Message::end`]).
#[derive(Debug)]
pub struct Reader<R> {
    r: R,
    pos: u64,
    pending: Option<(u64, Vec<u8>)>,
    max_bytes: usize,
    head: Vec<u8>,
}

/// Whether `line` is an mbox separator: `From `, a sender, and something
/// with a time of day (`12:34`).
pub fn is_separator(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
    let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
    let mut parts = rest.splitn(2, |b| *b == b' ');
    let (Some(sender), Some(date)) = (parts.next(), parts.next()) else {
        return false;
    };
    if sender.is_empty() {
        return false;
    }
    date.windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == b':'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit()
    })
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// Removes one `>` from a `>…>From ` line (mboxrd quoting).
pub fn unescape(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|b| **b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

impl<R: BufRead> Reader<R> {
    /// A reader at byte `offset` of the file, keeping at most `max_bytes + 1`
    /// bytes of any message.
    pub fn new(r: R, offset: u64, max_bytes: usize) -> Self {
        Self {
            r,
            pos: offset,
            pending: None,
            max_bytes,
            head: Vec::with_capacity(HEAD),
        }
    }

    /// Where the reader is in the file.
    pub fn position(&self) -> u64 {
        self.pending.as_ref().map_or(self.pos, |(at, _)| *at)
    }

    /// Reads the start of the next line into `self.head` (up to [`HEAD`]
    /// bytes); returns whether the whole line fit, or `None` at the end.
    fn read_head(&mut self) -> io::Result<Option<bool>> {
        self.head.clear();
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Ok(if self.head.is_empty() {
                    None
                } else {
                    Some(true)
                });
            }
            let room = HEAD - self.head.len();
            let take = buf.len().min(room);
            let (n, done) = match buf[..take].iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (take, false),
            };
            self.head.extend_from_slice(&buf[..n]);
            self.r.consume(n);
            self.pos += n as u64;
            if done {
                return Ok(Some(true));
            }
            if self.head.len() >= HEAD {
                return Ok(Some(false));
            }
        }
    }

    /// Appends the rest of an over-long line to `raw` (within the budget).
    fn read_tail(&mut self, raw: &mut Vec<u8>, truncated: &mut bool) -> io::Result<()> {
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let (n, done) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            push(raw, &buf[..n], self.max_bytes, truncated);
            self.r.consume(n);
            self.pos += n as u64;
            if done {
                return Ok(());
            }
        }
    }

    /// The next message, `None` at the end of the file. Blank lines
    /// between messages (or before the first, as where a run resumes at
    /// the end of a file that has grown since) are no message.
    pub fn next_message(&mut self) -> io::Result<Option<Message>> {
        loop {
            match self.next_chunk()? {
                Some(m) if m.raw.iter().all(u8::is_ascii_whitespace) => continue,
                other => return Ok(other),
            }
        }
    }

    /// What lies up to the next separator.
    fn next_chunk(&mut self) -> io::Result<Option<Message>> {
        let mut raw = Vec::new();
        let mut truncated = false;
        let start = match self.pending.take() {
            Some((at, _separator)) => at,
            None => {
                let at = self.pos;
                match self.read_head()? {
                    None => return Ok(None),
                    Some(complete) => {
                        if !(complete && is_separator(&self.head)) {
                            // Content before any separator is kept too.
                            let head = std::mem::take(&mut self.head);
                            push(&mut raw, unescape(&head), self.max_bytes, &mut truncated);
                            self.head = head;
                            if !complete {
                                self.read_tail(&mut raw, &mut truncated)?;
                            }
                        }
                    }
                }
                at
            }
        };
        let mut prev_blank = true;
        let mut last_blank_len = 0;
        loop {
            let at = self.pos;
            let Some(complete) = self.read_head()? else {
                break;
            };
            if complete && prev_blank && is_separator(&self.head) {
                self.pending = Some((at, self.head.clone()));
                break;
            }
            let blank = complete && is_blank(&self.head);
            let head = std::mem::take(&mut self.head);
            push(&mut raw, unescape(&head), self.max_bytes, &mut truncated);
            last_blank_len = if blank { head.len() } else { 0 };
            self.head = head;
            if !complete {
                self.read_tail(&mut raw, &mut truncated)?;
            }
            prev_blank = blank;
        }
        // The blank line before the next separator belongs to the format.
        if self.pending.is_some() && last_blank_len > 0 && !truncated {
            raw.truncate(raw.len().saturating_sub(last_blank_len));
        }
        let end = self.position();
        Ok(Some(Message {
            start,
            end,
            raw,
            truncated,
        }))
    }
}

fn push(raw: &mut Vec<u8>, bytes: &[u8], max: usize, truncated: &mut bool) {
    let room = (max + 1).saturating_sub(raw.len());
    if bytes.len() > room {
        *truncated = true;
    }
    raw.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8], max: usize) -> Vec<Message> {
        let mut r = Reader::new(io::BufReader::with_capacity(7, data), 0, max);
        let mut out = Vec::new();
        while let Some(m) = r.next_message().expect("reads") {
            out.push(m);
        }
        out
    }

    #[test]
    fn separators() {
        assert!(is_separator(
            b"From 1780459112318563072@xxx Thu Oct 16 11:45:04 +0000 2023\n"
        ));
        assert!(is_separator(b"From - Thu Oct 16 11:45:04 2023\r\n"));
        assert!(is_separator(
            b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n"
        ));
        assert!(!is_separator(b"From here on, things got better.\n"));
        assert!(!is_separator(b"From: ana@example.org\n"));
        assert!(!is_separator(b">From x Thu Oct 16 11:45:04 2023\n"));
    }

    #[test]
    fn splits_unescapes_and_keeps_offsets() {
        let data = b"From a@x Thu Oct 16 11:45:04 2023\nSubject: one\n\nHello\n>From the start\n>>From deeper\n\nFrom here on, no split.\n\nFrom b@x Thu Oct 16 11:46:04 2023\r\nSubject: two\r\n\r\nBye\r\n";
        let m = all(data, 1 << 20);
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0].raw,
            b"Subject: one\n\nHello\nFrom the start\n>From deeper\n\nFrom here on, no split.\n"
                .to_vec()
        );
        assert_eq!(m[1].raw, b"Subject: two\r\n\r\nBye\r\n".to_vec());
        assert_eq!(m[0].start, 0);
        assert_eq!(m[0].end, m[1].start);
        assert_eq!(m[1].end, data.len() as u64);
        // Resuming at a message's end reads the rest only.
        let mut r = Reader::new(&data[m[0].end as usize..], m[0].end, 1 << 20);
        let mut rest = Vec::new();
        while let Some(x) = r.next_message().expect("reads") {
            rest.push(x);
        }
        assert_eq!(rest, vec![m[1].clone()]);
    }

    #[test]
    fn truncated_last_message_and_no_leading_separator() {
        let data = b"Subject: stray\n\ntext\n\nFrom a@x Thu Oct 16 11:45:04 2023\nSubject: cut\n\nhalf a li";
        let m = all(data, 1 << 20);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].raw, b"Subject: stray\n\ntext\n".to_vec());
        assert_eq!(m[1].raw, b"Subject: cut\n\nhalf a li".to_vec());
    }

    #[test]
    fn huge_messages_and_lines_stay_bounded() {
        let mut data = b"From a@x Thu Oct 16 11:45:04 2023\nSubject: big\n\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 100_000));
        data.extend_from_slice(b"\n\nFrom b@x Thu Oct 16 11:45:04 2023\nSubject: small\n\nok\n");
        let m = all(&data, 1000);
        assert_eq!(m.len(), 2);
        assert!(m[0].truncated);
        assert_eq!(m[0].raw.len(), 1001);
        assert!(!m[1].truncated);
        assert_eq!(m[1].raw, b"Subject: small\n\nok\n".to_vec());
    }

    #[test]
    fn blank_lines_are_no_message() {
        let data = b"\n\r\nFrom a@b Sat Jan  3 01:05:34 1996\nSubject: x\n\nhi\n\n\n";
        let got = all(data, 1000);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].raw, b"Subject: x\n\nhi\n\n\n");
        assert_eq!(got[0].end, data.len() as u64);
        assert!(all(b"\n\n\r\n", 1000).is_empty());
    }

    #[test]
    fn empty_input_has_no_messages() {
        assert!(all(b"", 10).is_empty());
    }
}
