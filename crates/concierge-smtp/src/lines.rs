//! Bounded line reading on top of `AsyncBufRead`.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Result of [`read_line_bounded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineRead {
    /// A full line (ending in `\n`) is in the buffer.
    Line,
    /// `limit` bytes arrived without `\n`; they are in the buffer, the rest of
    /// the line is still unread.
    TooLong,
    /// End of stream (a partial last line may be in the buffer).
    Eof,
}

/// Like `read_until(b'\n')`, but never appends more than `limit` bytes.
pub(crate) async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<LineRead> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(LineRead::Eof);
        }
        let room = limit.saturating_sub(buf.len());
        let window = &available[..available.len().min(room)];
        if let Some(pos) = window.iter().position(|&b| b == b'\n') {
            buf.extend_from_slice(&window[..=pos]);
            reader.consume(pos + 1);
            return Ok(LineRead::Line);
        }
        let n = window.len();
        buf.extend_from_slice(window);
        reader.consume(n);
        if buf.len() >= limit {
            return Ok(LineRead::TooLong);
        }
    }
}

/// Discards input up to and including the next `\n`. Returns false on end of stream.
pub(crate) async fn skip_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<bool> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(pos) => {
                reader.consume(pos + 1);
                return Ok(true);
            }
            None => {
                let n = available.len();
                reader.consume(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_lines() {
        let mut input: &[u8] = b"EHLO a\r\nNOOP\nrest";
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 100).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"EHLO a\r\n");
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 100).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"NOOP\n");
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 100).await.unwrap(),
            LineRead::Eof
        );
        assert_eq!(buf, b"rest");
    }

    #[tokio::test]
    async fn line_exactly_at_limit() {
        let mut input: &[u8] = b"1234\n";
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 5).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"1234\n");
    }

    #[tokio::test]
    async fn huge_line_is_bounded() {
        let data = vec![b'A'; 1 << 20];
        let mut input: &[u8] = &data;
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 4096).await.unwrap(),
            LineRead::TooLong
        );
        assert_eq!(buf.len(), 4096);
        assert!(buf.capacity() < 16 * 1024, "capacity {}", buf.capacity());
        assert_eq!(input.len(), (1 << 20) - 4096, "rest left unread");
        assert!(!skip_line(&mut input).await.unwrap());
        assert!(input.is_empty());
    }

    #[tokio::test]
    async fn skip_line_stops_after_newline() {
        let mut input: &[u8] = b"junkjunk\r\nNOOP\r\n";
        assert!(skip_line(&mut input).await.unwrap());
        assert_eq!(input, b"NOOP\r\n");
    }
}
