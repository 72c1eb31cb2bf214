//! Inbound parsing: raw bytes → [`ParsedMail`].
//!
//! Parsing is best-effort and bounded: hostile input yields truncated fields,
//! never a panic or unbounded memory; the raw bytes are always kept by the
//! caller, so nothing is lost when parsing is poor.

mod filename;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use concierge_core::message::{ClassFacts, EmailAddress, is_internal_header};
use concierge_core::threading::{message_id_domain, normalize_message_id};
use mail_parser::{Address, HeaderName, HeaderValue, MessageParser, MimeHeaders, PartType};

pub use filename::{
    MAX_FILENAME, bound_filename, is_bidi_or_invisible, rfc2231_param, safe_filename,
};

/// Bounds applied while parsing.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest stored plain-text body, in bytes.
    pub max_text_bytes: usize,
    /// Longest stored HTML body, in bytes.
    pub max_html_bytes: usize,
    /// Most attachments stored per message (the raw message keeps the rest).
    pub max_attachments: usize,
    /// Most addresses kept per address header.
    pub max_addresses: usize,
    /// Most headers kept for display.
    pub max_headers: usize,
    /// Longest header value kept for display, in bytes.
    pub max_header_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_bytes: 1 << 20,
            max_html_bytes: 2 << 20,
            max_attachments: 200,
            max_addresses: 100,
            max_headers: 200,
            max_header_value_bytes: 4096,
        }
    }
}

/// Why a message could not be parsed at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Zero bytes, or only white space.
    #[error("the message is empty")]
    Empty,
}

/// An attachment, decoded.
#[derive(Debug, Clone)]
pub struct ParsedAttachment {
    /// Safe display name (no paths, no control characters).
    pub filename: String,
    /// `type/subtype`, lower-cased.
    pub content_type: String,
    /// `Content-ID` without brackets.
    pub content_id: Option<String>,
    /// Shown inline in the original.
    pub inline: bool,
    /// Decoded bytes.
    pub data: Vec<u8>,
}

/// What the classifier needs from the headers.
#[derive(Debug, Clone, Default)]
pub struct MachineHeaders {
    /// `Auto-Submitted`.
    pub auto_submitted: Option<String>,
    /// `X-Autoreply` / `X-Autorespond`.
    pub x_autoreply: bool,
    /// `X-Auto-Response-Suppress`.
    pub x_auto_response_suppress: bool,
    /// `Precedence`.
    pub precedence: Option<String>,
    /// `List-Id` or `List-Unsubscribe`.
    pub list_id: bool,
    /// Top-level `type/subtype`.
    pub content_type: Option<String>,
    /// Top-level `report-type` parameter.
    pub report_type: Option<String>,
    /// `Return-Path` header (empty string for `<>`).
    pub return_path: Option<String>,
    /// Our loop header is present.
    pub has_loop_header: bool,
}

/// A parsed inbound message: owned, bounded, decoded.
#[derive(Debug, Clone, Default)]
pub struct ParsedMail {
    /// Normalised Message-ID.
    pub message_id: Option<String>,
    /// Normalised `In-Reply-To` ids.
    pub in_reply_to: Vec<String>,
    /// Normalised `References` ids, oldest first.
    pub references: Vec<String>,
    /// Message-IDs of the original message quoted by a delivery report.
    pub report_original_ids: Vec<String>,
    /// Sender address, when it parses.
    pub from: Option<EmailAddress>,
    /// Sender display name.
    pub from_name: Option<String>,
    /// `Reply-To` address.
    pub reply_to: Option<EmailAddress>,
    /// `To` addresses (bounded).
    pub to: Vec<EmailAddress>,
    /// `Cc` addresses (bounded).
    pub cc: Vec<EmailAddress>,
    /// Decoded subject.
    pub subject: String,
    /// `Date`, in UTC.
    pub date: Option<DateTime<Utc>>,
    /// The `Date` header's offset from UTC, in minutes.
    pub date_offset_minutes: Option<i32>,
    /// Plain text (converted from HTML when the message has none).
    pub text: String,
    /// The HTML body, if the message has one.
    pub html: Option<String>,
    /// Attachments (bounded).
    pub attachments: Vec<ParsedAttachment>,
    /// Attachments not stored because of the bound.
    pub attachments_dropped: usize,
    /// Headers for display, internal ones stripped.
    pub headers: Vec<(String, String)>,
    /// Facts for machine-mail classification.
    pub machine: MachineHeaders,
    /// No header block could be read: the bytes are not a message the
    /// parser understands (the text is the raw bytes).
    pub unparseable: bool,
}

impl ParsedMail {
    /// The classifier's view of this message. `return_path` is the SMTP
    /// envelope sender when known (it beats the `Return-Path` header).
    pub fn class_facts<'a>(
        &'a self,
        return_path: Option<&'a str>,
        own_domains: &'a [String],
    ) -> ClassFacts<'a> {
        ClassFacts {
            auto_submitted: self.machine.auto_submitted.as_deref(),
            x_autoreply: self.machine.x_autoreply,
            x_auto_response_suppress: self.machine.x_auto_response_suppress,
            precedence: self.machine.precedence.as_deref(),
            list_id: self.machine.list_id,
            content_type: self.machine.content_type.as_deref(),
            report_type: self.machine.report_type.as_deref(),
            return_path: return_path.or(self.machine.return_path.as_deref()),
            from: self.from.as_ref(),
            has_loop_header: self.machine.has_loop_header,
            message_id_domain: self.message_id.as_deref().and_then(message_id_domain),
            own_domains,
        }
    }
}

/// The first `max` bytes of `s`, cut at a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn raw_header<'a>(m: &'a mail_parser::Message<'_>, name: &'a str) -> Option<&'a str> {
    m.headers()
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))
        .and_then(|h| match &h.value {
            HeaderValue::Text(t) => Some(t.as_ref()),
            HeaderValue::TextList(l) => l.first().map(|t| t.as_ref()),
            _ => None,
        })
        .or_else(|| m.header_raw(name))
}

fn has_header(m: &mail_parser::Message<'_>, name: &str) -> bool {
    m.headers()
        .iter()
        .any(|h| h.name.as_str().eq_ignore_ascii_case(name))
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match v {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .take(200)
        .filter_map(normalize_message_id)
        .collect()
}

fn addresses(a: Option<&Address<'_>>, max: usize) -> Vec<EmailAddress> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| x.address())
            .filter_map(|s| EmailAddress::parse(s).ok())
            .take(max)
            .collect()
    })
    .unwrap_or_default()
}

fn clean_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// Parses a raw message.
///
/// mail-parser is defensive but has debug assertions that hostile MIME can
/// trip (found by fuzzing). A parser failure must never lose mail: a panic
/// degrades to an "unparseable" message whose text is the raw bytes, and the
/// caller keeps the raw message as always.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<ParsedMail, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    match std::panic::catch_unwind(|| parse_inner(raw, limits)) {
        Ok(mut parsed) => {
            // None of the headers every message has: not a message.
            parsed.unparseable |= parsed.from.is_none()
                && parsed.message_id.is_none()
                && parsed.date.is_none()
                && parsed.subject.is_empty()
                && parsed.to.is_empty();
            Ok(parsed)
        }
        Err(_) => {
            let text = String::from_utf8_lossy(raw);
            Ok(ParsedMail {
                subject: "(message could not be parsed)".into(),
                text: clean_text(truncate(&text, limits.max_text_bytes)),
                unparseable: true,
                ..Default::default()
            })
        }
    }
}

fn parse_inner(raw: &[u8], limits: &Limits) -> ParsedMail {
    let Some(m) = MessageParser::default().parse(raw) else {
        // No header block at all: keep the bytes as the text.
        let text = String::from_utf8_lossy(raw);
        return ParsedMail {
            text: clean_text(truncate(&text, limits.max_text_bytes)),
            unparseable: true,
            ..Default::default()
        };
    };

    let (from, from_name) = match m.from().and_then(|a| a.first()) {
        Some(a) => (
            a.address().and_then(|s| EmailAddress::parse(s).ok()),
            a.name()
                .map(|n| truncate(&clean_text(n), 200).trim().to_owned())
                .filter(|n| !n.is_empty()),
        ),
        None => (None, None),
    };

    let date = m.date().and_then(|d| {
        let valid = (1..=12).contains(&d.month) && (1..=31).contains(&d.day) && d.year >= 1970;
        valid
            .then(|| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0))
            .flatten()
    });
    let date_offset_minutes = m.date().filter(|_| date.is_some()).map(|d| {
        let minutes = i32::from(d.tz_hour) * 60 + i32::from(d.tz_minute);
        if d.tz_before_gmt { -minutes } else { minutes }
    });

    let mut text = String::new();
    for i in 0..m.text_body_count().min(20) {
        if let Some(t) = m.body_text(i) {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&t);
            if text.len() > limits.max_text_bytes {
                break;
            }
        }
    }
    let text = clean_text(truncate(&text, limits.max_text_bytes));
    let html = m
        .html_part(0)
        .filter(|p| p.is_text_html())
        .and_then(|_| m.body_html(0))
        .map(|h| truncate(&h, limits.max_html_bytes).to_owned());

    let mut attachments = Vec::new();
    let mut dropped = 0;
    for (n, part) in m.attachments().enumerate() {
        if attachments.len() >= limits.max_attachments {
            dropped += 1;
            continue;
        }
        let data: Cow<'_, [u8]> = match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => Cow::Borrowed(b.as_ref()),
            PartType::Text(t) | PartType::Html(t) => Cow::Borrowed(t.as_bytes()),
            PartType::Message(inner) => Cow::Borrowed(inner.raw_message()),
            PartType::Multipart(_) => continue,
        };
        let content_type = part.content_type().map_or_else(
            || "application/octet-stream".to_owned(),
            |ct| {
                let t = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream"));
                truncate(&t, 100).to_ascii_lowercase()
            },
        );
        let fallback = if matches!(part.body, PartType::Message(_)) {
            format!("message-{}.eml", n + 1)
        } else {
            format!("attachment-{}", n + 1)
        };
        let filename = part
            .attachment_name()
            .map(|name| match name.contains('\u{fffd}') {
                true => split_param_name(&m, part).unwrap_or_else(|| name.to_owned()),
                false => name.to_owned(),
            })
            .map(|name| safe_filename(&name))
            .filter(|f| !f.is_empty());
        attachments.push(ParsedAttachment {
            filename: filename.unwrap_or(fallback),
            content_type,
            content_id: part.content_id().and_then(normalize_message_id),
            inline: matches!(part.body, PartType::InlineBinary(_))
                || part
                    .content_disposition()
                    .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline")),
            data: data.into_owned(),
        });
    }

    let root_ct = m.root_part().content_type();
    let machine = MachineHeaders {
        auto_submitted: raw_header(&m, "Auto-Submitted")
            .map(|s| truncate(s.trim(), 200).to_owned()),
        x_autoreply: has_header(&m, "X-Autoreply") || has_header(&m, "X-Autorespond"),
        x_auto_response_suppress: has_header(&m, "X-Auto-Response-Suppress"),
        precedence: raw_header(&m, "Precedence").map(|s| truncate(s.trim(), 100).to_owned()),
        list_id: has_header(&m, "List-Id") || has_header(&m, "List-Unsubscribe"),
        content_type: root_ct.map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""))),
        report_type: root_ct
            .and_then(|ct| ct.attribute("report-type"))
            .map(str::to_owned),
        return_path: match m.return_path() {
            HeaderValue::Text(t) => Some(
                t.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned(),
            ),
            HeaderValue::TextList(l) => l.first().map(|t| t.trim().to_owned()),
            HeaderValue::Empty if has_header(&m, "Return-Path") => Some(String::new()),
            _ => None,
        },
        has_loop_header: has_header(&m, concierge_core::message::LOOP_HEADER),
    };

    let report_original_ids = if machine.report_type.is_some() {
        original_ids(&m)
    } else {
        Vec::new()
    };

    let headers = m
        .headers_raw()
        .filter(|(name, _)| !is_internal_header(name))
        .take(limits.max_headers)
        .filter_map(|(name, value)| {
            // Names of junk "headers" can hold NULs and control bytes,
            // which Postgres refuses in text and JSON.
            let name = clean_text(truncate(name, 100)).replace(['\n', '\t'], " ");
            (!name.trim().is_empty()).then(|| {
                (
                    name,
                    clean_text(truncate(value.trim(), limits.max_header_value_bytes)),
                )
            })
        })
        .collect();

    ParsedMail {
        message_id: m.message_id().and_then(normalize_message_id),
        in_reply_to: ids(m.in_reply_to()),
        references: ids(m.references()),
        report_original_ids,
        from,
        from_name,
        reply_to: m
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .and_then(|s| EmailAddress::parse(s).ok()),
        to: addresses(m.to(), limits.max_addresses),
        cc: addresses(m.cc(), limits.max_addresses),
        subject: m
            .subject()
            .map(|s| clean_text(truncate(s.trim(), 998)).replace('\n', " "))
            .unwrap_or_default(),
        date,
        date_offset_minutes,
        text,
        html,
        attachments,
        attachments_dropped: dropped,
        headers,
        machine,
        unparseable: false,
    }
}

/// Re-reads a part's file name from its raw headers when mail-parser's
/// decoding of split RFC 2231 segments produced replacement characters.
fn split_param_name(
    m: &mail_parser::Message<'_>,
    part: &mail_parser::MessagePart<'_>,
) -> Option<String> {
    let raw = m.raw_message();
    for (header, param) in [
        (HeaderName::ContentDisposition, "filename"),
        (HeaderName::ContentType, "name"),
    ] {
        let Some(h) = part.headers.iter().find(|h| h.name == header) else {
            continue;
        };
        let bytes = raw.get(h.offset_start as usize..h.offset_end as usize)?;
        let text = String::from_utf8_lossy(bytes);
        // The raw value starts after the colon; give the parser a leading
        // disposition so parameters are after the first `;`.
        if let Some(name) = rfc2231_param(
            &format!("x;{}", text.split_once(';').map_or("", |(_, p)| p)),
            param,
        ) && !name.contains('\u{fffd}')
        {
            return Some(name);
        }
    }
    None
}

/// Message-IDs of the original message inside a delivery report
/// (`message/rfc822`, `message/global` or `text/rfc822-headers` parts).
fn original_ids(m: &mail_parser::Message<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for part in m.parts.iter().take(50) {
        let id = match &part.body {
            PartType::Message(inner) => inner.message_id().and_then(normalize_message_id),
            PartType::Text(t)
                if part.content_type().is_some_and(|ct| {
                    ct.subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
                }) =>
            {
                MessageParser::default()
                    .parse_headers(t.as_bytes())
                    .and_then(|h| h.message_id().and_then(normalize_message_id))
            }
            _ => None,
        };
        if let Some(id) = id
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests;
