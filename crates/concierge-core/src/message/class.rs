//! Machine-mail classification: who (or what) wrote a message.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::EmailAddress;

/// Our own loop-detection header; every mail we send carries it.
pub const LOOP_HEADER: &str = "X-Concierge-Loop";
/// Prefix of every header name we use internally; stripped from inbound mail.
pub const INTERNAL_HEADER_PREFIX: &str = "x-concierge-";

/// What kind of sender produced a message. Later stages (acknowledgements,
/// status changes) never answer or react to anything but `Human`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageClass {
    /// Written by a person.
    Human,
    /// An automatic reply (out-of-office, list mail, bulk).
    AutoReply,
    /// A delivery status notification.
    Bounce,
    /// Our own mail coming back to us.
    Loop,
    /// Bytes the parser could not read as a message (kept raw, never
    /// answered); only the mailbox doors (IMAP, import) produce it.
    Unparseable,
}

impl MessageClass {
    /// The stored / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::AutoReply => "auto_reply",
            Self::Bounce => "bounce",
            Self::Loop => "loop",
            Self::Unparseable => "unparseable",
        }
    }

    /// Only people get answers and move a case's status.
    pub fn is_human(self) -> bool {
        self == Self::Human
    }
}

impl fmt::Display for MessageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Unknown class name.
#[derive(Debug, thiserror::Error)]
#[error("unknown message class {0:?}")]
pub struct UnknownClass(pub String);

impl FromStr for MessageClass {
    type Err = UnknownClass;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Human,
            Self::AutoReply,
            Self::Bounce,
            Self::Loop,
            Self::Unparseable,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| UnknownClass(s.to_owned()))
    }
}

/// The facts of a message that classification looks at, already decoded.
#[derive(Debug, Default, Clone)]
pub struct ClassFacts<'a> {
    /// `Auto-Submitted` header value.
    pub auto_submitted: Option<&'a str>,
    /// `X-Autoreply` / `X-Autorespond` present.
    pub x_autoreply: bool,
    /// `X-Auto-Response-Suppress` present.
    pub x_auto_response_suppress: bool,
    /// `Precedence` header value.
    pub precedence: Option<&'a str>,
    /// `List-Id` (or `List-Unsubscribe`) present.
    pub list_id: bool,
    /// Top-level content type, e.g. `multipart/report`.
    pub content_type: Option<&'a str>,
    /// The `report-type` parameter of the top-level content type.
    pub report_type: Option<&'a str>,
    /// Envelope sender / `Return-Path`: `Some("")` for the null path `<>`.
    pub return_path: Option<&'a str>,
    /// The `From` address, if it parsed.
    pub from: Option<&'a EmailAddress>,
    /// Our loop header is present.
    pub has_loop_header: bool,
    /// The Message-ID's domain.
    pub message_id_domain: Option<&'a str>,
    /// Domains our own Message-IDs use.
    pub own_domains: &'a [String],
}

/// Classifies a message. Loop beats bounce beats auto-reply beats human; a
/// null return path alone means bounce, but with an auto-reply marker it is
/// the RFC 3834 auto-reply it claims to be.
pub fn classify(f: &ClassFacts<'_>) -> MessageClass {
    let own_id = f
        .message_id_domain
        .is_some_and(|d| f.own_domains.iter().any(|o| o.eq_ignore_ascii_case(d)));
    if f.has_loop_header || own_id {
        return MessageClass::Loop;
    }
    let is_report = f
        .content_type
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("multipart/report"))
        && f.report_type
            .is_some_and(|rt| rt.trim().eq_ignore_ascii_case("delivery-status"));
    let null_path = f.return_path.is_some_and(|r| {
        let r = r.trim();
        r.is_empty() || r == "<>"
    });
    let daemon_from = f.from.is_some_and(|a| {
        let local = a.base_local_part();
        local == "mailer-daemon" || local == "postmaster" || local == "mailer_daemon"
    });
    if is_report || daemon_from {
        return MessageClass::Bounce;
    }
    let auto_submitted = f.auto_submitted.is_some_and(|v| {
        let v = v.split(';').next().unwrap_or("").trim();
        !v.is_empty() && !v.eq_ignore_ascii_case("no")
    });
    let bulk = f.precedence.is_some_and(|p| {
        let p = p.trim();
        ["bulk", "junk", "list", "auto_reply"]
            .iter()
            .any(|k| p.eq_ignore_ascii_case(k))
    });
    if auto_submitted || f.x_autoreply || f.x_auto_response_suppress || bulk || f.list_id {
        // RFC 3834 asks auto-responders to send from the null path, so a
        // null path with an auto-reply marker is an auto-reply, not a bounce.
        return MessageClass::AutoReply;
    }
    if null_path {
        return MessageClass::Bounce;
    }
    MessageClass::Human
}

/// Whether an inbound header name is one of ours and must be stripped.
pub fn is_internal_header(name: &str) -> bool {
    // Compare bytes: a stranger's header name may hold multi-byte characters.
    name.as_bytes()
        .get(..INTERNAL_HEADER_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(INTERNAL_HEADER_PREFIX.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human() -> ClassFacts<'static> {
        ClassFacts::default()
    }

    #[test]
    fn plain_mail_is_human() {
        assert_eq!(classify(&human()), MessageClass::Human);
        let f = ClassFacts {
            auto_submitted: Some("no"),
            precedence: Some("normal"),
            ..human()
        };
        assert_eq!(classify(&f), MessageClass::Human);
    }

    #[test]
    fn rfc3834_and_friends_are_auto_replies() {
        for f in [
            ClassFacts {
                auto_submitted: Some("auto-replied"),
                ..human()
            },
            ClassFacts {
                auto_submitted: Some("auto-generated; owner-email=x@y.z"),
                ..human()
            },
            ClassFacts {
                x_autoreply: true,
                ..human()
            },
            ClassFacts {
                x_auto_response_suppress: true,
                ..human()
            },
            ClassFacts {
                precedence: Some("bulk"),
                ..human()
            },
            ClassFacts {
                precedence: Some(" JUNK"),
                ..human()
            },
            ClassFacts {
                precedence: Some("list"),
                ..human()
            },
            ClassFacts {
                list_id: true,
                ..human()
            },
        ] {
            assert_eq!(classify(&f), MessageClass::AutoReply, "{f:?}");
        }
    }

    #[test]
    fn bounces() {
        let daemon = EmailAddress::parse("MAILER-DAEMON@mx.example.com").unwrap();
        let postmaster = EmailAddress::parse("postmaster@example.com").unwrap();
        for f in [
            ClassFacts {
                content_type: Some("multipart/report"),
                report_type: Some("delivery-status"),
                ..human()
            },
            ClassFacts {
                return_path: Some(""),
                ..human()
            },
            ClassFacts {
                return_path: Some("<>"),
                ..human()
            },
            ClassFacts {
                from: Some(&daemon),
                ..human()
            },
            ClassFacts {
                from: Some(&postmaster),
                auto_submitted: Some("auto-replied"),
                ..human()
            },
        ] {
            assert_eq!(classify(&f), MessageClass::Bounce, "{f:?}");
        }
        // RFC 3834 auto-replies come from the null path too.
        let vacation = ClassFacts {
            return_path: Some(""),
            auto_submitted: Some("auto-replied"),
            ..human()
        };
        assert_eq!(classify(&vacation), MessageClass::AutoReply);
        // A disposition notification (read receipt) is a report but not a DSN.
        let mdn = ClassFacts {
            content_type: Some("multipart/report"),
            report_type: Some("disposition-notification"),
            ..human()
        };
        assert_eq!(classify(&mdn), MessageClass::Human);
    }

    #[test]
    fn loops_beat_everything() {
        let own = vec!["concierge.example.org".to_owned()];
        let f = ClassFacts {
            has_loop_header: true,
            return_path: Some(""),
            ..human()
        };
        assert_eq!(classify(&f), MessageClass::Loop);
        let f = ClassFacts {
            message_id_domain: Some("Concierge.Example.org"),
            own_domains: &own,
            auto_submitted: Some("auto-replied"),
            ..human()
        };
        assert_eq!(classify(&f), MessageClass::Loop);
        let f = ClassFacts {
            message_id_domain: Some("gmail.com"),
            own_domains: &own,
            ..human()
        };
        assert_eq!(classify(&f), MessageClass::Human);
    }

    #[test]
    fn internal_headers() {
        assert!(is_internal_header("X-Concierge-Loop"));
        assert!(is_internal_header("x-concierge-ticket"));
        assert!(!is_internal_header("X-Conc"));
        assert!(!is_internal_header("Received"));
        // Found by fuzzing: a multi-byte character across the prefix length.
        assert!(!is_internal_header("X-Conciergeé"));
        assert!(!is_internal_header("ééééééééééé"));
    }
}
