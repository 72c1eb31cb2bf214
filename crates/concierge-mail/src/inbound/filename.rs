//! Attachment names from strangers, made safe to store and offer.

/// Makes an attachment name safe: drops any directory part, control and
/// reserved characters, leading dots and trailing spaces/dots, and bounds the
/// length (keeping the extension). HTML in names is kept as text: it is
/// escaped wherever it is shown.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !is_bidi_or_invisible(*c))
        .map(|c| {
            if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '|' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' ']);
    bound_filename(trimmed)
}

/// Longest attachment name kept or offered, in bytes (the extension is
/// kept).
pub const MAX_FILENAME: usize = 150;

/// Cuts a name to [`MAX_FILENAME`] bytes on a character boundary, keeping a
/// short extension (up to 10 bytes).
pub fn bound_filename(name: &str) -> String {
    if name.len() <= MAX_FILENAME {
        return name.to_owned();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if e.len() <= 10 && !e.is_empty() => (s, Some(e)),
        _ => (name, None),
    };
    let budget = MAX_FILENAME - ext.map_or(0, |e| e.len() + 1);
    let mut end = budget.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    match ext {
        Some(e) => format!("{}.{e}", &stem[..end]),
        None => stem[..end].to_owned(),
    }
}

/// Bidirectional overrides and invisible formatting characters, used to
/// disguise names (`setlist\u{202e}fdp.exe` shows as `setlistexe.pdf`):
/// the one table for names stored ([`safe_filename`]) and names offered for
/// download (the web crate).
pub fn is_bidi_or_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

#[cfg(test)]
mod tests {
    use super::safe_filename;

    #[test]
    fn strips_paths_and_controls() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\Users\\x\\report.pdf"), "report.pdf");
        assert_eq!(safe_filename(".htaccess"), "htaccess");
        assert_eq!(safe_filename("a\r\nb.txt"), "a__b.txt");
        assert_eq!(safe_filename("what?.txt"), "what_.txt");
        assert_eq!(safe_filename("   "), "");
        assert_eq!(safe_filename(".."), "");
        assert_eq!(safe_filename("x.pdf. . "), "x.pdf");
        assert_eq!(
            safe_filename("<img src=x onerror=alert(1)>.pdf"),
            "<img src=x onerror=alert(1)>.pdf"
        );
        assert_eq!(
            safe_filename("Überweisung März.pdf"),
            "Überweisung März.pdf"
        );
        assert_eq!(safe_filename("setlist\u{202e}fdp.exe"), "setlistfdp.exe");
        // The whole shared table: soft hyphen, Arabic letter mark, line
        // separator, interlinear annotation.
        assert_eq!(
            safe_filename("a\u{00ad}b\u{061c}c\u{2028}d\u{fff9}.pdf"),
            "abcd.pdf"
        );
    }

    #[test]
    fn bounds_length_keeping_extension() {
        let long = format!("{}.pdf", "é".repeat(500));
        let s = safe_filename(&long);
        assert!(s.len() <= 150, "{}", s.len());
        assert!(s.ends_with(".pdf"));
    }
}

/// Reassembles an RFC 2231 parameter split into numbered, percent-encoded
/// segments (`filename*0*=gb2312''%D1%B2;` `filename*1*=%B3%CC.docx`),
/// decoding the joined bytes in the declared charset. mail-parser 0.11
/// decodes each segment on its own, which breaks multi-byte characters
/// that straddle two segments; this is the fallback for that case.
pub fn rfc2231_param(header_value: &str, param: &str) -> Option<String> {
    let mut segments: Vec<(u32, bool, String)> = Vec::new();
    for piece in header_value.split(';').skip(1).take(100) {
        let Some((name, value)) = piece.trim().split_once('=') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let Some(rest) = name.strip_prefix(&param.to_ascii_lowercase()) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix('*') else {
            continue;
        };
        let (index, encoded) = match rest.strip_suffix('*') {
            Some(n) => (n, true),
            // `filename*=` (no index) is a single encoded segment.
            None if rest.is_empty() => (rest, true),
            None => (rest, false),
        };
        let index = if index.is_empty() {
            0
        } else {
            index.parse().ok()?
        };
        segments.push((index, encoded, value.trim().trim_matches('"').to_owned()));
    }
    if segments.is_empty() {
        return None;
    }
    segments.sort_by_key(|s| s.0);
    let mut charset = String::new();
    let mut bytes = Vec::new();
    for (i, (_, encoded, value)) in segments.iter().enumerate() {
        let mut value = value.as_str();
        if i == 0 && *encoded {
            let mut parts = value.splitn(3, '\'');
            let (cs, _lang, rest) = (parts.next()?, parts.next()?, parts.next()?);
            charset = cs.to_owned();
            value = rest;
        }
        if *encoded {
            let raw = value.as_bytes();
            let mut j = 0;
            while j < raw.len() {
                if raw[j] == b'%' && j + 2 < raw.len() {
                    let hex = std::str::from_utf8(&raw[j + 1..j + 3]).ok();
                    if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        bytes.push(b);
                        j += 3;
                        continue;
                    }
                }
                bytes.push(raw[j]);
                j += 1;
            }
        } else {
            bytes.extend_from_slice(value.as_bytes());
        }
    }
    if bytes.len() > 4096 {
        return None;
    }
    let decoded = if charset.is_empty() {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        match mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes()) {
            Some(decode) => decode(&bytes),
            None => String::from_utf8_lossy(&bytes).into_owned(),
        }
    };
    Some(decoded)
}

#[cfg(test)]
mod rfc2231_tests {
    use super::rfc2231_param;

    #[test]
    fn joins_segments_before_decoding() {
        let h = "attachment;\r\n filename*0*=gb2312''%D1%B2%D1%DD%C8%D5;\r\n filename*1*=%B3%CC%B1%ED.docx";
        assert_eq!(
            rfc2231_param(h, "filename").as_deref(),
            Some("巡演日程表.docx")
        );
        let h = "attachment; filename*=UTF-8''%C3%9Cbung.pdf";
        assert_eq!(rfc2231_param(h, "filename").as_deref(), Some("Übung.pdf"));
        let h = "attachment; filename*0=\"long \"; filename*1=\"name.txt\"";
        assert_eq!(
            rfc2231_param(h, "filename").as_deref(),
            Some("long name.txt")
        );
        assert_eq!(
            rfc2231_param("attachment; filename=x.pdf", "filename"),
            None
        );
        assert_eq!(rfc2231_param("attachment; filename*0*=%", "filename"), None);
        assert!(rfc2231_param("attachment; filename*x=1", "filename").is_none());
    }
}
