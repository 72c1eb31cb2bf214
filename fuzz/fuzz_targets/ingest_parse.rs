//! The pure part of the inbound pipeline (`concierge_inbound::Inbound::prepare`
//! without the database and the clock): parse → classify → thread plan →
//! dedupe key → header JSON.
//!
//! Besides "never panics, bounded time", it checks the documented bounds of
//! [`concierge_mail::inbound::ParsedMail`] (see the `Limits` docs) and of the
//! thread plan, so a silently ignored limit is a finding too.
#![no_main]

use std::sync::LazyLock;

use concierge_core::message::{EmailAddress, MessageClass, classify};
use concierge_core::threading::{
    MAX_MESSAGE_ID_LEN, MAX_THREAD_IDS, ReplyTokenKey, ThreadFacts, dedupe_key,
    plan,
};
use concierge_mail::inbound::{Limits, ParseError, parse};
use libfuzzer_sys::fuzz_target;

#[path = "common/known_bugs.rs"]
mod known_bugs;

static KEY: LazyLock<ReplyTokenKey> =
    LazyLock::new(|| ReplyTokenKey::new(*b"fuzzing-reply-token-secret-0123456789").unwrap());
static LIMITS: LazyLock<Limits> = LazyLock::new(Limits::default);
static OWN_DOMAINS: LazyLock<Vec<String>> =
    LazyLock::new(|| vec!["concierge.test".to_owned(), "mx.concierge.test".to_owned()]);
/// Envelope recipients as the SMTP door would pass them.
static ENVELOPE_TO: LazyLock<Vec<EmailAddress>> =
    LazyLock::new(|| vec![EmailAddress::parse("help@concierge.test").unwrap()]);

fn check_message_id(id: &str) {
    assert!(!id.is_empty(), "empty normalised Message-ID");
    assert!(id.len() <= MAX_MESSAGE_ID_LEN, "Message-ID of {} bytes", id.len());
    assert!(
        !id.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>'),
        "un-normalised Message-ID {id:?}"
    );
}

fuzz_target!(|raw: &[u8]| {
    let limits = &*LIMITS;
    let parsed = match known_bugs::skip(|| parse(raw, limits)) {
        None => return, // hit an already reported bug
        Some(Ok(p)) => p,
        Some(Err(ParseError::Empty)) => {
            assert!(raw.iter().all(u8::is_ascii_whitespace));
            return;
        }
    };

    // --- documented bounds of ParsedMail -----------------------------------
    assert!(parsed.text.len() <= limits.max_text_bytes, "text {}", parsed.text.len());
    if let Some(h) = &parsed.html {
        assert!(h.len() <= limits.max_html_bytes, "html {}", h.len());
    }
    assert!(parsed.attachments.len() <= limits.max_attachments);
    assert!(parsed.to.len() <= limits.max_addresses);
    assert!(parsed.cc.len() <= limits.max_addresses);
    assert!(parsed.headers.len() <= limits.max_headers);
    for (name, value) in &parsed.headers {
        assert!(name.len() <= 100, "header name of {} bytes", name.len());
        assert!(value.len() <= limits.max_header_value_bytes);
    }
    assert!(parsed.subject.len() <= 998, "subject {}", parsed.subject.len());
    assert!(
        !parsed.subject.chars().any(|c| c.is_control() && c != '\t'),
        "control character in subject {:?}",
        parsed.subject
    );
    for a in &parsed.attachments {
        // "Safe display name (no paths, no control characters)".
        let f = &a.filename;
        assert!(!f.is_empty(), "empty attachment name");
        assert!(f.len() <= 150, "attachment name of {} bytes", f.len());
        assert!(
            !f.contains(['/', '\\']) && !f.starts_with('.') && !f.chars().any(char::is_control),
            "unsafe attachment name {f:?}"
        );
        assert!(a.content_type.len() <= 100);
        if let Some(cid) = &a.content_id {
            check_message_id(cid);
        }
    }
    for id in parsed
        .message_id
        .iter()
        .chain(&parsed.in_reply_to)
        .chain(&parsed.references)
        .chain(&parsed.report_original_ids)
    {
        check_message_id(id);
    }

    // --- Inbound::prepare, minus storage -----------------------------------
    let class = classify(&parsed.class_facts(None, &OWN_DOMAINS));
    let _ = class.as_str();

    let mut recipients: Vec<EmailAddress> = ENVELOPE_TO.clone();
    recipients.extend(parsed.to.iter().cloned());
    recipients.extend(parsed.cc.iter().cloned());
    let mut references = parsed.references.clone();
    if class == MessageClass::Bounce {
        references.extend(parsed.report_original_ids.iter().cloned());
    }
    let thread = plan(
        &KEY,
        &ThreadFacts {
            in_reply_to: &parsed.in_reply_to,
            references: &references,
            recipients: &recipients,
            subject: &parsed.subject,
        },
    );
    assert!(thread.message_ids.len() <= MAX_THREAD_IDS);
    // Nobody but us can mint a reply token.
    assert!(thread.token_ticket.is_none(), "forged reply token: {thread:?}");

    let dedupe = dedupe_key(parsed.message_id.as_deref(), parsed.from.as_ref(), raw);
    assert_eq!(dedupe.len(), 64);

    let headers = serde_json::Value::Array(
        parsed
            .headers
            .iter()
            .map(|(n, v)| serde_json::json!([n, v]))
            .collect(),
    );
    let _ = serde_json::to_vec(&headers).unwrap();
    let _ = parsed.reply_to.map(String::from);
});
