//! Whom an automatic reply may go to (RFC 3834 §3.1.5): never to the null
//! path, never to machine mailboxes, never to our own addresses.

use super::{EmailAddress, MessageClass};

/// The address an acknowledgement goes to, or `None` when none may be sent.
///
/// `envelope_from` is the SMTP `MAIL FROM` (`Some("")` for `<>`), which
/// RFC 3834 prefers; without an envelope (pipe without `-f`, HTTP) the
/// `Reply-To`, then the `From` is used.
pub fn ack_recipient(
    class: MessageClass,
    envelope_from: Option<&str>,
    reply_to: Option<&EmailAddress>,
    from: Option<&EmailAddress>,
    ours: &[EmailAddress],
) -> Option<EmailAddress> {
    if !class.is_human() {
        return None;
    }
    let candidate = match envelope_from.map(str::trim) {
        Some("") | Some("<>") => return None,
        Some(path) => EmailAddress::parse(path).ok()?,
        None => reply_to.or(from)?.clone(),
    };
    let usable =
        |a: &EmailAddress| !a.is_machine_mailbox() && !ours.iter().any(|o| o.same_mailbox(a));
    if !usable(&candidate) {
        return None;
    }
    // The From itself must not be a machine either (bulk senders often use
    // a human-looking return path).
    if from.is_some_and(|f| !usable(f)) {
        return None;
    }
    Some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[test]
    fn prefers_the_return_path() {
        let ours = [a("global@concierge.example.org")];
        let got = ack_recipient(
            MessageClass::Human,
            Some("ana+bounce@uol.com.br"),
            Some(&a("x@y.org")),
            Some(&a("ana@uol.com.br")),
            &ours,
        );
        assert_eq!(got.unwrap().as_str(), "ana+bounce@uol.com.br");
        let got = ack_recipient(
            MessageClass::Human,
            None,
            Some(&a("manager@band.example")),
            Some(&a("ana@uol.com.br")),
            &ours,
        );
        assert_eq!(got.unwrap().as_str(), "manager@band.example");
        let got = ack_recipient(
            MessageClass::Human,
            None,
            None,
            Some(&a("ana@uol.com.br")),
            &ours,
        );
        assert_eq!(got.unwrap().as_str(), "ana@uol.com.br");
    }

    #[test]
    fn never_to_machines_nulls_or_ourselves() {
        let ours = [a("global@concierge.example.org")];
        let ana = a("ana@uol.com.br");
        for class in [
            MessageClass::AutoReply,
            MessageClass::Bounce,
            MessageClass::Loop,
        ] {
            assert!(
                ack_recipient(class, None, None, Some(&ana), &ours).is_none(),
                "{class}"
            );
        }
        assert!(ack_recipient(MessageClass::Human, Some(""), None, Some(&ana), &ours).is_none());
        assert!(ack_recipient(MessageClass::Human, Some("<>"), None, Some(&ana), &ours).is_none());
        assert!(
            ack_recipient(
                MessageClass::Human,
                None,
                None,
                Some(&a("no-reply@spotify.com")),
                &ours
            )
            .is_none()
        );
        assert!(
            ack_recipient(
                MessageClass::Human,
                Some("MAILER-DAEMON@mx.example"),
                None,
                Some(&ana),
                &ours
            )
            .is_none()
        );
        assert!(
            ack_recipient(
                MessageClass::Human,
                Some("bounces@list.example"),
                None,
                Some(&a("news@list.example")),
                &ours
            )
            .is_none()
        );
        assert!(
            ack_recipient(
                MessageClass::Human,
                None,
                None,
                Some(&a("global+x@concierge.example.org")),
                &ours
            )
            .is_none()
        );
        assert!(ack_recipient(MessageClass::Human, None, None, None, &ours).is_none());
        assert!(
            ack_recipient(
                MessageClass::Human,
                Some("not an address"),
                None,
                Some(&ana),
                &ours
            )
            .is_none()
        );
    }
}
