//! E-mail addresses as the domain sees them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A syntactically plausible mail address, stored lower-cased.
///
/// Validation is deliberately loose (one `@`, non-empty parts, no spaces or
/// angle brackets, at most 254 bytes): the mail that reaches us is already
/// routed, and a rejected sender would be a lost message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// Not a usable mail address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid e-mail address")]
pub struct InvalidAddress;

impl EmailAddress {
    /// Parses and lower-cases an address.
    pub fn parse(s: &str) -> Result<Self, InvalidAddress> {
        let s = s
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        if s.is_empty() || s.len() > 254 {
            return Err(InvalidAddress);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(InvalidAddress)?;
        if local.is_empty()
            || domain.is_empty()
            || !domain.contains('.') && domain != "localhost"
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        {
            return Err(InvalidAddress);
        }
        Ok(Self(s.to_lowercase()))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(l, _)| l)
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The local part without a `+tag` sub-address.
    pub fn base_local_part(&self) -> &str {
        let local = self.local_part();
        local.split_once('+').map_or(local, |(base, _)| base)
    }

    /// Whether this is the same mailbox as `other`, ignoring `+tags`.
    pub fn same_mailbox(&self, other: &EmailAddress) -> bool {
        self.base_local_part() == other.base_local_part() && self.domain() == other.domain()
    }

    /// Mailboxes that belong to machines and must never get automatic mail
    /// (RFC 3834 §2 and common practice): mailer-daemon, postmaster,
    /// no-reply variants, list owners and bounce handlers.
    pub fn is_machine_mailbox(&self) -> bool {
        let local = self.base_local_part();
        let squashed: String = local
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        matches!(
            squashed.as_str(),
            "mailerdaemon"
                | "postmaster"
                | "noreply"
                | "donotreply"
                | "dontreply"
                | "bounce"
                | "bounces"
                | "daemon"
                | "root"
                | "nobody"
        ) || squashed.starts_with("noreply")
            || squashed.starts_with("donotreply")
            || local.ends_with("-request")
            || local.starts_with("owner-")
            || local.ends_with("-bounces")
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidAddress;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(a: EmailAddress) -> Self {
        a.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_lowercases() {
        let a = EmailAddress::parse(" <Ana.Souza@UOL.com.BR> ").unwrap();
        assert_eq!(a.as_str(), "ana.souza@uol.com.br");
        assert_eq!(a.domain(), "uol.com.br");
        assert_eq!(a.local_part(), "ana.souza");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "@",
            "a@",
            "@b.c",
            "no-at-sign",
            "a b@c.d",
            "a@b",
            "<>",
            "a@b.c>,<d@e.f",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert!(EmailAddress::parse(&format!("{}@x.org", "a".repeat(300))).is_err());
    }

    #[test]
    fn plus_addresses_are_the_same_mailbox() {
        let a = EmailAddress::parse("global+c7k2m9x-abc@concierge.example.org").unwrap();
        let b = EmailAddress::parse("global@concierge.example.org").unwrap();
        assert!(a.same_mailbox(&b));
        assert_eq!(a.base_local_part(), "global");
        assert!(
            !EmailAddress::parse("help@concierge.example.org")
                .unwrap()
                .same_mailbox(&b)
        );
    }

    #[test]
    fn machine_mailboxes() {
        for m in [
            "MAILER-DAEMON@mx.example.com",
            "postmaster@example.com",
            "no-reply@spotify.com",
            "noreply@github.com",
            "do-not-reply@bank.example",
            "donotreply@x.example",
            "no_reply@x.example",
            "musicians-request@lists.example.org",
            "owner-musicians@lists.example.org",
            "list-bounces@lists.example.org",
        ] {
            assert!(EmailAddress::parse(m).unwrap().is_machine_mailbox(), "{m}");
        }
        for h in [
            "ana@uol.com.br",
            "noreen@example.ie",
            "replyguy@example.com",
            "daemonette@x.org",
        ] {
            assert!(!EmailAddress::parse(h).unwrap().is_machine_mailbox(), "{h}");
        }
    }
}
