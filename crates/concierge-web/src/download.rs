//! Serving attachments from strangers: a file name that is safe in a
//! header and on a disk, and a response a browser will only ever save.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use concierge_mail::inbound::{bound_filename, is_bidi_or_invisible};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Offered when nothing usable is left of the sender's name.
const FALLBACK: &str = "attachment";

/// Characters that never survive into a downloaded name: path separators,
/// quotes, the characters Windows reserves, and `%` / `;` (header syntax).
fn reserved(c: char) -> bool {
    matches!(
        c,
        '/' | '\\' | '"' | '\'' | '`' | '<' | '>' | ':' | '|' | '?' | '*' | '%' | ';'
    )
}

/// A file name safe to offer for download, whatever the sender wrote:
/// only the last path component, no control, bidi-override or invisible
/// characters, no quotes or reserved characters (each becomes `_`), no
/// leading dots or trailing dots/spaces, at most
/// [`concierge_mail::inbound::MAX_FILENAME`] bytes with the extension kept;
/// `attachment` when nothing is left. The invisible-character table and the
/// bound are the stored names' (`concierge_mail::inbound`).
pub(crate) fn safe_download_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !is_bidi_or_invisible(*c))
        .map(|c| {
            if c.is_control() || reserved(c) {
                '_'
            } else if c.is_whitespace() {
                ' '
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned
        .trim()
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let bounded = bound_filename(trimmed);
    if bounded.chars().all(|c| c == '_' || c == ' ' || c == '.') {
        FALLBACK.to_owned()
    } else {
        bounded
    }
}

/// The ASCII-only `filename=` fallback for old clients: every other
/// character becomes `_`.
fn ascii_fallback(safe: &str) -> String {
    let s: String = safe
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.chars().all(|c| c == '_' || c == '.' || c == ' ') {
        FALLBACK.to_owned()
    } else {
        s
    }
}

/// What RFC 8187 `value-chars` percent-encode: every byte but an
/// `attr-char` (ALPHA / DIGIT / `!#$&+-.^_`|~`).
const NOT_ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// RFC 8187 / 5987 `value-chars` of a UTF-8 string.
fn ext_value(s: &str) -> String {
    utf8_percent_encode(s, NOT_ATTR_CHAR).to_string()
}

/// `Content-Disposition: attachment` for a sender's file name (RFC 6266):
/// an ASCII `filename="…"` fallback and `filename*=UTF-8''…`.
pub(crate) fn content_disposition(raw_name: &str) -> String {
    let safe = safe_download_name(raw_name);
    format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_fallback(&safe),
        ext_value(&safe)
    )
}

/// The Content-Security-Policy of a download: nothing may load or run,
/// even if a browser were to render it.
pub(crate) const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

/// An attachment as a download: `application/octet-stream` (never the
/// sender's type), `attachment` with a safe name, `nosniff`, a sandboxing
/// CSP, and no caching.
pub(crate) fn attachment_response(filename: &str, data: Vec<u8>) -> Response {
    let mut res = Response::new(Body::from(data));
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let disposition = HeaderValue::from_str(&content_disposition(filename))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=\"attachment\""));
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOWNLOAD_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cut_to_the_last_component() {
        assert_eq!(safe_download_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_download_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(safe_download_name("C:\\Users\\x\\report.pdf"), "report.pdf");
        assert_eq!(safe_download_name("dir/"), FALLBACK);
        assert_eq!(safe_download_name("../.."), FALLBACK);
    }

    #[test]
    fn hostile_characters_go() {
        assert_eq!(safe_download_name("<script>.html"), "_script_.html");
        assert_eq!(
            safe_download_name("a\r\nContent-Type: text/html\r\n\r\nb.txt"),
            // The `/` in the injected header makes everything before it a
            // "directory".
            "html____b.txt"
        );
        assert_eq!(safe_download_name("say \"hi\".txt"), "say _hi_.txt");
        assert_eq!(safe_download_name("a\r\nb.txt"), "a__b.txt");
        assert_eq!(safe_download_name("it's.txt"), "it_s.txt");
        assert_eq!(safe_download_name("x;filename=y.exe"), "x_filename=y.exe");
        assert_eq!(safe_download_name("100%25.txt"), "100_25.txt");
        assert_eq!(safe_download_name("nul\0byte.txt"), "nul_byte.txt");
        // A right-to-left override would show `invoiceexe.pdf`.
        assert_eq!(
            safe_download_name("invoice\u{202e}fdp.exe"),
            "invoicefdp.exe"
        );
        assert_eq!(
            safe_download_name("a\u{200b}\u{2066}b\u{feff}.txt"),
            "ab.txt"
        );
        assert_eq!(safe_download_name("tab\there.txt"), "tab_here.txt");
        assert_eq!(safe_download_name("  .hidden  "), "hidden");
        assert_eq!(safe_download_name("x.pdf. . "), "x.pdf");
        assert_eq!(safe_download_name(""), FALLBACK);
        assert_eq!(safe_download_name("\"\"\""), FALLBACK);
        // Non-Latin names are kept.
        assert_eq!(
            safe_download_name("Überweisung März.pdf"),
            "Überweisung März.pdf"
        );
        assert_eq!(safe_download_name("巡演日程表.docx"), "巡演日程表.docx");
    }

    #[test]
    fn long_names_are_bounded_keeping_the_extension() {
        let long = format!("{}.pdf", "é".repeat(500));
        let s = safe_download_name(&long);
        assert!(
            s.len() <= concierge_mail::inbound::MAX_FILENAME,
            "{}",
            s.len()
        );
        assert!(s.ends_with(".pdf"));
        let s = safe_download_name(&"x".repeat(1000));
        assert_eq!(s.len(), concierge_mail::inbound::MAX_FILENAME);
    }

    #[test]
    fn ext_values_keep_only_attr_chars() {
        for b in 0x20u8..0x7f {
            let c = char::from(b);
            let keep = b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b);
            let want = if keep {
                c.to_string()
            } else {
                format!("%{b:02X}")
            };
            assert_eq!(ext_value(&c.to_string()), want, "{c:?}");
        }
        assert_eq!(ext_value("ä€"), "%C3%A4%E2%82%AC");
    }

    #[test]
    fn disposition_has_an_ascii_fallback_and_utf8_name() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            content_disposition("März 2026.pdf"),
            "attachment; filename=\"M_rz 2026.pdf\"; filename*=UTF-8''M%C3%A4rz%202026.pdf"
        );
        assert_eq!(
            content_disposition("日程.docx"),
            "attachment; filename=\"__.docx\"; filename*=UTF-8''%E6%97%A5%E7%A8%8B.docx"
        );
        assert_eq!(
            content_disposition("日程"),
            "attachment; filename=\"attachment\"; filename*=UTF-8''%E6%97%A5%E7%A8%8B"
        );
        // Whatever comes in, the header value is one line of visible ASCII
        // with exactly two quotes.
        for hostile in [
            "../../etc/passwd",
            "<script>alert(1)</script>.html",
            "a\r\nSet-Cookie: x=1\r\n.txt",
            "\u{202e}gpj.exe",
            "\"; filename=evil.exe",
            "%0d%0a.txt",
        ] {
            let v = content_disposition(hostile);
            assert!(
                v.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{hostile:?} → {v:?}"
            );
            assert_eq!(v.matches('"').count(), 2, "{v}");
            let (_, ext) = v.split_once("; filename*=UTF-8''").unwrap();
            assert!(
                ext.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%".contains(&b)),
                "{v}"
            );
            assert!(
                !v.contains('/') && !v.contains('\\') && !v.contains('<'),
                "{v}"
            );
            assert!(HeaderValue::from_str(&v).is_ok());
        }
    }

    #[test]
    fn downloads_are_never_rendered() {
        let res = attachment_response("<b>x<b>.html", b"<script>alert(1)</script>".to_vec());
        let h = res.headers();
        assert_eq!(h[header::CONTENT_TYPE], "application/octet-stream");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], DOWNLOAD_CSP);
        assert!(
            h[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=\"_b_x_b_.html\"")
        );
    }
}
