//! Socket-free decoder for the DATA phase: finds the end-of-data marker,
//! undoes dot-stuffing and enforces the message size limit.
//!
//! The message bytes are kept exactly as sent. Only `CRLF . CRLF` ends the
//! data: a bare LF never starts a line for the end-of-data marker or for
//! dot-unstuffing, so `LF . LF` or `LF . CRLF` inside a message cannot end
//! it early and smuggle a second message past an upstream relay (the SMTP
//! smuggling attacks of 2023, CVE-2023-51764 and kin). Input may be fed in
//! arbitrary pieces.

/// Where the decoder is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the first byte of a line.
    LineStart,
    /// Inside a line.
    Mid,
    /// Saw a `.` at the start of a line.
    Dot,
    /// Saw `.\r` at the start of a line.
    DotCr,
}

/// The message was larger than the configured maximum; its bytes were discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("message of {size} bytes exceeds the maximum of {max} bytes")]
pub struct TooBig {
    /// Bytes received (after dot-unstuffing), saturating.
    pub size: usize,
    /// The configured maximum.
    pub max: usize,
}

/// Incremental DATA decoder with bounded memory.
#[derive(Debug)]
pub struct DataDecoder {
    max: usize,
    data: Vec<u8>,
    size: usize,
    oversized: bool,
    state: State,
    done: bool,
    /// The last byte seen inside a line was CR (across `feed` calls).
    prev_cr: bool,
}

impl DataDecoder {
    /// A decoder that keeps at most `max_bytes` of message data.
    pub fn new(max_bytes: usize) -> Self {
        DataDecoder {
            max: max_bytes,
            data: Vec::new(),
            size: 0,
            oversized: false,
            state: State::LineStart,
            done: false,
            prev_cr: false,
        }
    }

    /// Feeds bytes; returns how many were consumed. Consumption stops right
    /// after the end-of-data line, so unconsumed bytes belong to the next
    /// (pipelined) command.
    pub fn feed(&mut self, input: &[u8]) -> usize {
        let mut i = 0;
        while i < input.len() && !self.done {
            match self.state {
                State::Mid => match input[i..].iter().position(|&b| b == b'\n') {
                    Some(p) => {
                        let crlf = if p > 0 {
                            input[i + p - 1] == b'\r'
                        } else {
                            self.prev_cr
                        };
                        self.emit(&input[i..=i + p]);
                        i += p + 1;
                        self.prev_cr = false;
                        // Only CRLF ends a line; after a bare LF we stay mid-line.
                        self.state = if crlf { State::LineStart } else { State::Mid };
                    }
                    None => {
                        self.prev_cr = input.last() == Some(&b'\r');
                        self.emit(&input[i..]);
                        i = input.len();
                    }
                },
                State::LineStart => {
                    if input[i] == b'.' {
                        self.state = State::Dot;
                        i += 1;
                    } else {
                        self.state = State::Mid;
                    }
                }
                State::Dot => match input[i] {
                    // `.` LF is not the end marker: keep the line as data.
                    b'\n' => {
                        self.emit(b".");
                        self.state = State::Mid;
                    }
                    b'\r' => {
                        self.state = State::DotCr;
                        i += 1;
                    }
                    // Dot-stuffed line: the leading dot is dropped.
                    _ => self.state = State::Mid,
                },
                State::DotCr => {
                    if input[i] == b'\n' {
                        self.done = true;
                        i += 1;
                    } else {
                        // `.\r` followed by something else: an unstuffed line starting with CR.
                        self.emit(b"\r");
                        self.state = State::Mid;
                    }
                }
            }
        }
        i
    }

    fn emit(&mut self, bytes: &[u8]) {
        self.size = self.size.saturating_add(bytes.len());
        if self.oversized {
            return;
        }
        if self.size > self.max {
            self.oversized = true;
            self.data = Vec::new();
        } else {
            self.data.extend_from_slice(bytes);
        }
    }

    /// True once the end-of-data line (`.` CRLF after CRLF) has been consumed.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// True if the message has exceeded the maximum (data is being discarded).
    pub fn is_oversized(&self) -> bool {
        self.oversized
    }

    /// Message bytes seen so far, after dot-unstuffing.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The decoded message, or [`TooBig`] if it exceeded the maximum.
    pub fn finish(self) -> Result<Vec<u8>, TooBig> {
        if self.oversized {
            Err(TooBig {
                size: self.size,
                max: self.max,
            })
        } else {
            Ok(self.data)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8], max: usize) -> (Result<Vec<u8>, TooBig>, usize, bool) {
        let mut d = DataDecoder::new(max);
        let n = d.feed(input);
        let done = d.is_done();
        (d.finish(), n, done)
    }

    #[test]
    fn crlf_message() {
        let input = b"Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";
        let (data, n, done) = decode(input, 1000);
        assert!(done);
        assert_eq!(data.unwrap(), b"Subject: hi\r\n\r\nbody\r\n");
        assert_eq!(&input[n..], b"QUIT\r\n");
    }

    #[test]
    fn bare_lf_never_ends_the_data() {
        // SMTP smuggling: neither LF.LF nor LF.CRLF may end the message.
        let (_, _, done) = decode(b"a\nb\n.\n", 1000);
        assert!(!done);
        let (_, _, done) = decode(b"a\r\nb\n.\r\nMAIL FROM:<x@y>\r\n", 1000);
        assert!(!done);
        let input = b"a\nb\n.\nMAIL FROM:<evil@x>\n\r\n.\r\nNEXT";
        let (data, n, done) = decode(input, 1000);
        assert!(done);
        assert_eq!(&input[n..], b"NEXT");
        assert_eq!(data.unwrap(), b"a\nb\n.\nMAIL FROM:<evil@x>\n\r\n");
        // Split across feeds at the CR.
        let mut d = DataDecoder::new(1000);
        d.feed(b"x\r");
        d.feed(b"\n.\r\n");
        assert!(d.is_done());
    }

    #[test]
    fn empty_message() {
        let (data, _, done) = decode(b".\r\n", 1000);
        assert!(done);
        assert_eq!(data.unwrap(), b"");
    }

    #[test]
    fn dot_unstuffing() {
        let (data, _, done) = decode(b"..leading\r\n...\r\n.\r.x\r\nmid.dot\r\n.\r\n", 1000);
        assert!(done);
        assert_eq!(data.unwrap(), b".leading\r\n..\r\n\r.x\r\nmid.dot\r\n");
    }

    #[test]
    fn dot_not_at_line_start_does_not_end() {
        let (data, _, done) = decode(b"a.\r\n x\r\n.\r\n", 1000);
        assert!(done);
        assert_eq!(data.unwrap(), b"a.\r\n x\r\n");
        let (_, _, done) = decode(b"a\r\n .\r\n", 1000);
        assert!(!done);
    }

    #[test]
    fn bare_cr_is_not_a_line_end() {
        let (_, _, done) = decode(b"a\r.\r\n", 1000);
        assert!(!done);
    }

    #[test]
    fn split_at_every_position() {
        let input: &[u8] = b"H: v\r\n..s\r\n.\rz\n\nend\r\n.\r\nNEXT";
        let (expected, _, _) = decode(input, 1000);
        let expected = expected.unwrap();
        for cut in 0..input.len() {
            let mut d = DataDecoder::new(1000);
            let mut n = d.feed(&input[..cut]);
            if !d.is_done() {
                n += d.feed(&input[cut..]);
            }
            assert!(d.is_done(), "cut {cut}");
            assert_eq!(&input[n..], b"NEXT", "cut {cut}");
            assert_eq!(d.finish().unwrap(), expected, "cut {cut}");
        }
    }

    #[test]
    fn byte_by_byte() {
        let input = b"x\r\n..y\r\n.\r\n";
        let mut d = DataDecoder::new(1000);
        for &b in input {
            assert!(!d.is_done());
            assert_eq!(d.feed(&[b]), 1);
        }
        assert!(d.is_done());
        assert_eq!(d.feed(b"more"), 0);
        assert_eq!(d.finish().unwrap(), b"x\r\n.y\r\n");
    }

    #[test]
    fn size_limit_exact_and_over() {
        let (data, _, _) = decode(b"12345678\r\n.\r\n", 10);
        assert_eq!(data.unwrap(), b"12345678\r\n");
        let (data, _, done) = decode(b"123456789\r\n.\r\n", 10);
        assert!(done);
        assert_eq!(data, Err(TooBig { size: 11, max: 10 }));
    }

    #[test]
    fn oversized_discards_but_keeps_reading() {
        let mut d = DataDecoder::new(100);
        let chunk = vec![b'a'; 10_000];
        for _ in 0..100 {
            assert_eq!(d.feed(&chunk), chunk.len());
            assert!(d.is_oversized());
            assert_eq!(d.data.capacity(), 0, "discarded data must not be buffered");
        }
        d.feed(b"\r\n.\r\n");
        assert!(d.is_done());
        assert_eq!(d.size(), 1_000_002);
        assert!(d.finish().is_err());
    }
}
