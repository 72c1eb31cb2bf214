//! Threading: which ticket a message belongs to, and when two deliveries are
//! the same message.

mod token;

pub use token::{ReplyTokenKey, WeakKey};

use sha2::{Digest, Sha256};

use crate::message::EmailAddress;
use crate::ticket::TicketReference;

/// At most this many Message-IDs from `In-Reply-To`/`References` are looked up.
pub const MAX_THREAD_IDS: usize = 50;
/// Longest Message-ID we keep (RFC 5322 line limit).
pub const MAX_MESSAGE_ID_LEN: usize = 998;

/// Normalises a Message-ID: strips angle brackets and white space. Returns
/// `None` for empty or absurd values.
pub fn normalize_message_id(raw: &str) -> Option<String> {
    let id = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if id.is_empty()
        || id.len() > MAX_MESSAGE_ID_LEN
        || id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return None;
    }
    Some(id.to_owned())
}

/// The domain part of a Message-ID, if it has one.
pub fn message_id_domain(id: &str) -> Option<&str> {
    id.rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

/// What a message says about the thread it belongs to.
#[derive(Debug, Default)]
pub struct ThreadFacts<'a> {
    /// `In-Reply-To` Message-IDs.
    pub in_reply_to: &'a [String],
    /// `References` Message-IDs, oldest first.
    pub references: &'a [String],
    /// Every recipient address we know of (envelope, To, Cc).
    pub recipients: &'a [EmailAddress],
    /// The decoded subject.
    pub subject: &'a str,
}

/// The lookups that decide a message's ticket, strongest first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ThreadPlan {
    /// A ticket named by a genuine reply token (Message-ID or `+token` address).
    pub token_ticket: Option<TicketReference>,
    /// Message-IDs to match against stored messages: `In-Reply-To` first, then
    /// `References` newest first; deduplicated, at most [`MAX_THREAD_IDS`].
    pub message_ids: Vec<String>,
    /// A `[C-XXXXXX]` subject tag; honoured only when the sender is the
    /// ticket's requester.
    pub subject_tag: Option<TicketReference>,
}

/// Builds the lookup plan for one message.
pub fn plan(key: &ReplyTokenKey, facts: &ThreadFacts<'_>) -> ThreadPlan {
    let mut message_ids: Vec<String> = Vec::new();
    for id in facts
        .in_reply_to
        .iter()
        .chain(facts.references.iter().rev())
    {
        if message_ids.len() >= MAX_THREAD_IDS {
            break;
        }
        if let Some(id) = normalize_message_id(id)
            && !message_ids.contains(&id)
        {
            message_ids.push(id);
        }
    }
    let token_ticket = message_ids
        .iter()
        .find_map(|id| key.verify_message_id(id))
        .or_else(|| {
            facts
                .recipients
                .iter()
                .find_map(|a| key.verify_address(a.as_str()))
        });
    ThreadPlan {
        token_ticket,
        message_ids,
        subject_tag: TicketReference::find_in_subject(facts.subject),
    }
}

/// Whether a subject-tag match may join the ticket: only the ticket's own
/// requester may thread by subject, or a stranger could write into someone
/// else's case by guessing its reference.
pub fn subject_tag_allowed(sender: Option<&EmailAddress>, requester: &EmailAddress) -> bool {
    sender.is_some_and(|s| s.same_mailbox(requester))
}

/// The key that makes a delivery idempotent: the Message-ID together with the
/// sender (so a stranger who reuses someone's Message-ID cannot suppress
/// their mail), or, without a Message-ID, a hash of the raw bytes.
pub fn dedupe_key(message_id: Option<&str>, from: Option<&EmailAddress>, raw: &[u8]) -> String {
    let mut h = Sha256::new();
    match message_id {
        Some(id) => {
            h.update(b"mid\0");
            h.update(id.as_bytes());
            h.update(b"\0");
            h.update(from.map_or("", |a| a.as_str()).as_bytes());
        }
        None => {
            h.update(b"raw\0");
            h.update(raw);
        }
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ReplyTokenKey {
        ReplyTokenKey::new(*b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn normalizes_ids() {
        assert_eq!(normalize_message_id(" <a@b.c> ").as_deref(), Some("a@b.c"));
        assert_eq!(normalize_message_id("a@b.c").as_deref(), Some("a@b.c"));
        assert_eq!(normalize_message_id("<>"), None);
        assert_eq!(normalize_message_id("a b@c"), None);
        assert_eq!(normalize_message_id(&"x".repeat(2000)), None);
        assert_eq!(message_id_domain("abc@Mail.Example"), Some("Mail.Example"));
        assert_eq!(message_id_domain("abc"), None);
    }

    #[test]
    fn plan_orders_ids_and_finds_tokens() {
        let r: TicketReference = "C-7K2M9X".parse().unwrap();
        let ours = format!("{}.a1@concierge.example.org", key().issue(&r));
        let irt = vec!["<x3@gmail.com>".to_owned()];
        let refs = vec![
            "<x1@gmail.com>".to_owned(),
            format!("<{ours}>"),
            "<x3@gmail.com>".to_owned(),
        ];
        let p = plan(
            &key(),
            &ThreadFacts {
                in_reply_to: &irt,
                references: &refs,
                recipients: &[],
                subject: "Re: hi",
            },
        );
        assert_eq!(
            p.message_ids,
            vec!["x3@gmail.com".to_owned(), ours, "x1@gmail.com".to_owned()]
        );
        assert_eq!(p.token_ticket, Some(r));
        assert_eq!(p.subject_tag, None);
    }

    #[test]
    fn plan_reads_plus_address_and_subject_tag() {
        let r: TicketReference = "C-7K2M9X".parse().unwrap();
        let to = vec![
            EmailAddress::parse("global@concierge.example.org").unwrap(),
            EmailAddress::parse(&format!("global+{}@concierge.example.org", key().issue(&r)))
                .unwrap(),
        ];
        let p = plan(
            &key(),
            &ThreadFacts {
                recipients: &to,
                subject: "Re: [C-ABCDEF] hi",
                ..Default::default()
            },
        );
        assert_eq!(p.token_ticket, Some(r));
        assert_eq!(p.subject_tag, Some("C-ABCDEF".parse().unwrap()));
    }

    #[test]
    fn forged_tokens_do_not_thread() {
        let to = vec![
            EmailAddress::parse(
                "global+c7k2m9x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@concierge.example.org",
            )
            .unwrap(),
        ];
        let p = plan(
            &key(),
            &ThreadFacts {
                recipients: &to,
                ..Default::default()
            },
        );
        assert_eq!(p.token_ticket, None);
    }

    #[test]
    fn plan_is_bounded() {
        let refs: Vec<String> = (0..10_000).map(|i| format!("<m{i}@x.org>")).collect();
        let p = plan(
            &key(),
            &ThreadFacts {
                references: &refs,
                ..Default::default()
            },
        );
        assert_eq!(p.message_ids.len(), MAX_THREAD_IDS);
        assert_eq!(p.message_ids[0], "m9999@x.org");
    }

    #[test]
    fn subject_tags_only_from_the_requester() {
        let requester = EmailAddress::parse("ana@uol.com.br").unwrap();
        let same = EmailAddress::parse("Ana+music@UOL.com.br").unwrap();
        let stranger = EmailAddress::parse("mallory@evil.example").unwrap();
        assert!(subject_tag_allowed(Some(&same), &requester));
        assert!(!subject_tag_allowed(Some(&stranger), &requester));
        assert!(!subject_tag_allowed(None, &requester));
    }

    #[test]
    fn dedupe_keys() {
        let a = EmailAddress::parse("ana@uol.com.br").unwrap();
        let b = EmailAddress::parse("bob@example.com").unwrap();
        let k1 = dedupe_key(Some("m@x"), Some(&a), b"one");
        assert_eq!(
            k1,
            dedupe_key(Some("m@x"), Some(&a), b"two"),
            "same id, same sender"
        );
        assert_ne!(
            k1,
            dedupe_key(Some("m@x"), Some(&b), b"one"),
            "stranger reusing an id"
        );
        assert_eq!(
            dedupe_key(None, Some(&a), b"raw"),
            dedupe_key(None, None, b"raw")
        );
        assert_ne!(
            dedupe_key(None, None, b"raw"),
            dedupe_key(None, None, b"raw2")
        );
        assert_eq!(k1.len(), 64);
    }
}
