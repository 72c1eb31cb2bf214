use mail_parser::{HeaderValue as ParsedValue, MessageParser, MimeHeaders};

use super::*;

fn key() -> ReplyTokenKey {
    ReplyTokenKey::new(*b"0123456789abcdef0123456789abcdef").unwrap()
}

fn reference() -> TicketReference {
    "C-7K2M9X".parse().unwrap()
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn outgoing() -> Outgoing {
    let base = addr("help@concierge.example.org");
    Outgoing {
        from: Mailbox {
            name: Some("Concierge".into()),
            address: base.clone(),
        },
        reply_to: Some(addr(&reply_address(&key(), &reference(), &base))),
        to: vec![addr("ana@uol.com.br")],
        subject: reply_subject("Preciso de ajuda", &reference()),
        text: "Olá Ana,\n\nRecebemos sua mensagem.\n.\nUma linha com ponto.\n".into(),
        html: Some("<p>Olá Ana,</p>\n<p>Recebemos sua mensagem.</p>".into()),
        message_id: new_message_id(&key(), &reference(), "concierge.example.org"),
        in_reply_to: Some("<CAF=abc123@mail.gmail.com>".into()),
        references: vec![
            "<first@mail.gmail.com>".into(),
            "CAF=abc123@mail.gmail.com".into(),
        ],
        auto_submitted: Some("auto-replied"),
        loop_domain: "concierge.example.org".into(),
    }
}

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    MessageParser::default().parse(raw).expect("parses")
}

fn text_list(v: &ParsedValue<'_>) -> Vec<String> {
    v.as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The raw header block, unfolded, as (name, value) lines.
fn raw_headers(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let head = text.split("\r\n\r\n").next().unwrap();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            out.last_mut().unwrap().1.push_str(line);
        } else {
            let (n, v) = line.split_once(':').expect("header line has a colon");
            out.push((n.to_owned(), v.trim().to_owned()));
        }
    }
    out
}

#[test]
fn builds_every_header_and_both_bodies() {
    let o = outgoing();
    let raw = build(&o).unwrap();
    assert!(raw.is_ascii(), "8-bit content must be transfer-encoded");
    assert!(
        raw.iter()
            .enumerate()
            .all(|(i, &b)| b != b'\n' || (i > 0 && raw[i - 1] == b'\r')),
        "bare LF"
    );
    let m = parse(&raw);

    let mid = m.message_id().unwrap();
    assert_eq!(mid, o.message_id);
    assert_eq!(key().verify_message_id(mid), Some(reference()));
    assert!(mid.ends_with("@concierge.example.org"));
    assert!(m.date().is_some());

    let from = m.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Concierge"));
    assert_eq!(from.address(), Some("help@concierge.example.org"));
    let reply_to = m.reply_to().unwrap().first().unwrap().address().unwrap();
    assert_eq!(key().verify_address(reply_to), Some(reference()));
    assert!(reply_to.starts_with("help+c7k2m9x-"));
    let to: Vec<_> = m.to().unwrap().iter().filter_map(|a| a.address()).collect();
    assert_eq!(to, ["ana@uol.com.br"]);
    assert_eq!(m.subject(), Some("Re: Preciso de ajuda [C-7K2M9X]"));

    assert_eq!(text_list(m.in_reply_to()), ["CAF=abc123@mail.gmail.com"]);
    assert_eq!(
        text_list(m.references()),
        ["first@mail.gmail.com", "CAF=abc123@mail.gmail.com"]
    );
    assert_eq!(
        m.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert_eq!(
        m.header_raw(LOOP_HEADER).map(str::trim),
        Some("concierge.example.org")
    );
    assert_eq!(m.header_raw("MIME-Version").map(str::trim), Some("1.0"));

    let ct = m.content_type().unwrap();
    assert_eq!(ct.ctype(), "multipart");
    assert_eq!(ct.subtype(), Some("alternative"));
    assert_eq!(m.text_body_count(), 1);
    assert_eq!(m.html_body_count(), 1);
    assert_eq!(m.body_text(0).unwrap(), o.text.replace('\n', "\r\n"));
    assert_eq!(
        m.body_html(0).unwrap(),
        o.html.as_ref().unwrap().replace('\n', "\r\n")
    );
    for i in [m.text_body[0], m.html_body[0]] {
        let part = &m.parts[i as usize];
        assert_eq!(
            part.content_type().unwrap().attribute("charset"),
            Some("utf-8")
        );
    }

    // Each header once, in the order a reader expects nothing of, but present.
    let names: Vec<String> = raw_headers(&raw)
        .into_iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    for h in [
        "message-id",
        "date",
        "from",
        "reply-to",
        "to",
        "subject",
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-concierge-loop",
        "mime-version",
        "content-type",
    ] {
        assert_eq!(
            names.iter().filter(|n| *n == h).count(),
            1,
            "{h}: {names:?}"
        );
    }
    assert!(!names.contains(&"bcc".to_owned()));
}

#[test]
fn text_only_and_optional_headers() {
    let o = Outgoing {
        html: None,
        reply_to: None,
        in_reply_to: None,
        references: Vec::new(),
        auto_submitted: None,
        from: Mailbox {
            name: None,
            address: addr("help@concierge.example.org"),
        },
        ..outgoing()
    };
    let raw = build(&o).unwrap();
    let m = parse(&raw);
    let ct = m.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert_eq!(ct.attribute("charset"), Some("utf-8"));
    assert_eq!(m.body_text(0).unwrap(), o.text.replace('\n', "\r\n"));
    // One part, no text/html anywhere (mail-parser would synthesise one
    // for body_html, so look at the parts).
    assert_eq!(m.parts.len(), 1);
    assert!(!String::from_utf8_lossy(&raw).contains("text/html"));
    let names: Vec<String> = raw_headers(&raw)
        .into_iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    for absent in ["reply-to", "in-reply-to", "references", "auto-submitted"] {
        assert!(!names.contains(&absent.to_owned()), "{absent}");
    }
    assert!(names.contains(&"x-concierge-loop".to_owned()));
    assert_eq!(m.from().unwrap().first().unwrap().name(), None);
}

#[test]
fn references_chain_for_replies() {
    // Requester's first mail → our ack → their reply → our reply.
    let theirs = "CAF=first@mail.gmail.com";
    let ack_id = new_message_id(&key(), &reference(), "concierge.example.org");
    let ack_refs = references_for_reply(&[], Some(theirs));
    assert_eq!(ack_refs, [theirs]);
    let their_reply = "<CAF=second@mail.gmail.com>";
    let their_refs = vec![format!("<{theirs}>"), format!("<{ack_id}>")];
    let ours = references_for_reply(&their_refs, Some(their_reply));
    assert_eq!(
        ours,
        [
            theirs.to_owned(),
            ack_id.clone(),
            "CAF=second@mail.gmail.com".to_owned()
        ]
    );
    let o = Outgoing {
        in_reply_to: Some(their_reply.into()),
        references: ours.clone(),
        ..outgoing()
    };
    let m = parse_owned(build(&o).unwrap());
    assert_eq!(m.1, ["CAF=second@mail.gmail.com"]);
    assert_eq!(m.0, ours);
    // Our ack's id in the chain still names the ticket.
    assert!(m.0.iter().any(|id| key().verify_message_id(id).is_some()));

    // Duplicates collapse (keeping the latest position), garbage is dropped,
    // and long chains keep the root and the newest.
    let messy = vec![
        "<a@x>".to_owned(),
        "<b@x>".to_owned(),
        "not an id with spaces".to_owned(),
        "<>".to_owned(),
        "<a@x>".to_owned(),
        format!("<{}@x>", "l".repeat(400)),
        "<é@x>".to_owned(),
    ];
    assert_eq!(
        references_for_reply(&messy, Some("c@x")),
        ["b@x", "a@x", "c@x"]
    );
    let long: Vec<String> = (0..100).map(|i| format!("<m{i}@x.org>")).collect();
    let bounded = references_for_reply(&long, Some("<new@x.org>"));
    assert_eq!(bounded.len(), MAX_OUTBOUND_REFERENCES);
    assert_eq!(bounded[0], "m0@x.org");
    assert_eq!(bounded[MAX_OUTBOUND_REFERENCES - 1], "new@x.org");
    assert_eq!(bounded[MAX_OUTBOUND_REFERENCES - 2], "m99@x.org");
    // build() applies the same bound.
    let o = Outgoing {
        references: long,
        ..outgoing()
    };
    let (refs, _) = parse_owned(build(&o).unwrap());
    assert_eq!(refs.len(), MAX_OUTBOUND_REFERENCES);
    assert_eq!(refs[0], "m0@x.org");
    assert_eq!(refs.last().unwrap(), "m99@x.org");
}

/// (References, In-Reply-To) of a built message.
fn parse_owned(raw: Vec<u8>) -> (Vec<String>, Vec<String>) {
    let m = parse(&raw);
    (text_list(m.references()), text_list(m.in_reply_to()))
}

#[test]
fn non_ascii_subjects_and_names_round_trip() {
    for subject in [
        "Ajuda urgente — não consigo dormir",
        "助けてください、眠れません",
        "Hilfe: Ärger mit dem Label 🎸",
        "Помогите",
    ] {
        let o = Outgoing {
            subject: subject.into(),
            from: Mailbox {
                name: Some("Équipe Concierge «aide»".into()),
                address: addr("help@concierge.example.org"),
            },
            text: "日本語の本文です。\n".into(),
            ..outgoing()
        };
        let raw = build(&o).unwrap();
        assert!(raw.is_ascii());
        let m = parse(&raw);
        assert_eq!(m.subject(), Some(subject));
        assert_eq!(
            m.from().unwrap().first().unwrap().name(),
            Some("Équipe Concierge «aide»")
        );
        assert_eq!(m.body_text(0).unwrap(), "日本語の本文です。\r\n");
    }
}

#[test]
fn header_injection_is_impossible() {
    let hostile = "hi\r\nBcc: victim@evil.example\r\nX-Injected: 1\n\rSubject: pwned\r\n\r\nbody";
    let o = Outgoing {
        subject: hostile.into(),
        from: Mailbox {
            name: Some(format!("Mallory\"{hostile}")),
            address: addr("help@concierge.example.org"),
        },
        in_reply_to: Some("<a@b>\r\nBcc: victim@evil.example".into()),
        references: vec!["<x@y>\r\nX-Injected: 1".into(), "<ok@y>".into()],
        ..outgoing()
    };
    let raw = build(&o).unwrap();
    let headers = raw_headers(&raw);
    let names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    assert!(!names.contains(&"bcc".to_owned()), "{names:?}");
    assert!(!names.contains(&"x-injected".to_owned()), "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "subject").count(), 1);
    let m = parse(&raw);
    let subject = m.subject().unwrap();
    assert!(!subject.contains(['\r', '\n']));
    assert!(subject.starts_with("hi Bcc: victim@evil.example X-Injected: 1"));
    let name = m
        .from()
        .unwrap()
        .first()
        .unwrap()
        .name()
        .unwrap()
        .to_owned();
    assert!(!name.contains(['\r', '\n']), "{name:?}");
    assert!(name.starts_with("Mallory\"hi Bcc"), "{name:?}");
    assert_eq!(
        m.from().unwrap().first().unwrap().address(),
        Some("help@concierge.example.org")
    );
    // Malformed thread ids are dropped rather than written.
    assert!(text_list(m.in_reply_to()).is_empty());
    assert_eq!(text_list(m.references()), ["ok@y"]);
    let to: Vec<_> = m.to().unwrap().iter().filter_map(|a| a.address()).collect();
    assert_eq!(to, ["ana@uol.com.br"]);

    // Values that must be one token are refused, not cleaned.
    let bad_loop = Outgoing {
        loop_domain: "x\r\nBcc: v@evil.example".into(),
        ..outgoing()
    };
    assert_eq!(build(&bad_loop), Err(BuildError::HeaderValue(LOOP_HEADER)));
    let bad_auto = Outgoing {
        auto_submitted: Some("auto-replied\r\nBcc: v@evil.example"),
        ..outgoing()
    };
    assert_eq!(
        build(&bad_auto),
        Err(BuildError::HeaderValue("Auto-Submitted"))
    );
    for id in ["a@b>\r\nBcc: v@e.x", "no-at-sign", "", "<a b@c>"] {
        let bad_id = Outgoing {
            message_id: id.into(),
            ..outgoing()
        };
        assert_eq!(build(&bad_id), Err(BuildError::MessageId), "{id:?}");
    }
    let nobody = Outgoing {
        to: Vec::new(),
        ..outgoing()
    };
    assert_eq!(build(&nobody), Err(BuildError::NoRecipients));
}

#[test]
fn message_ids_and_reply_addresses() {
    let id = new_message_id(&key(), &reference(), "concierge.example.org");
    let (local, domain) = id.split_once('@').unwrap();
    assert_eq!(domain, "concierge.example.org");
    let (token, random) = local.split_once('.').unwrap();
    assert_eq!(token, key().issue(&reference()));
    assert_eq!(random.len(), 16);
    assert!(random.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(key().verify_message_id(&id), Some(reference()));
    assert_eq!(
        key().verify_message_id(&format!("<{id}>")),
        Some(reference())
    );
    assert_ne!(
        id,
        new_message_id(&key(), &reference(), "concierge.example.org")
    );
    assert!(normalize_message_id(&id).is_some());

    let base = addr("global+old-tag@concierge.example.org");
    let a = reply_address(&key(), &reference(), &base);
    assert_eq!(
        a,
        format!("global+{}@concierge.example.org", key().issue(&reference()))
    );
    assert_eq!(key().verify_address(&a), Some(reference()));
    assert!(EmailAddress::parse(&a).is_ok());
    assert!(a.parse::<lettre::Address>().is_ok());
}

#[test]
fn reply_subjects() {
    let r = reference();
    let cases = [
        ("Help", "Re: Help [C-7K2M9X]"),
        ("Re: Help", "Re: Help [C-7K2M9X]"),
        ("RE: Re: re:Help", "Re: Help [C-7K2M9X]"),
        ("AW: Re[2]: SV: Help", "Re: Help [C-7K2M9X]"),
        ("Re : Help", "Re: Help [C-7K2M9X]"),
        ("Re： 助けて", "Re: 助けて [C-7K2M9X]"),
        ("Re: Help [C-7K2M9X]", "Re: Help [C-7K2M9X]"),
        ("Re: [c-7k2m9x] Help", "Re: Help [C-7K2M9X]"),
        ("Re: Help [C-7K2M9X] [C-7K2M9X]", "Re: Help [C-7K2M9X]"),
        ("Help [C-ABCDEF]", "Re: Help [C-7K2M9X]"),
        (
            "Help [not a tag] [C-7K2M9]",
            "Re: Help [not a tag] [C-7K2M9] [C-7K2M9X]",
        ),
        (
            "Line\r\nBcc: x@evil.example",
            "Re: Line Bcc: x@evil.example [C-7K2M9X]",
        ),
        ("", "Re: [C-7K2M9X]"),
        ("Re:", "Re: [C-7K2M9X]"),
        ("   \t ", "Re: [C-7K2M9X]"),
        ("Fwd: news", "Re: Fwd: news [C-7K2M9X]"),
        ("Reply to me", "Re: Reply to me [C-7K2M9X]"),
        ("Regarding: x", "Re: Regarding: x [C-7K2M9X]"),
        ("Re[x]: y", "Re: Re[x]: y [C-7K2M9X]"),
        ("[", "Re: [ [C-7K2M9X]"),
        ("a]b[c", "Re: a]b[c [C-7K2M9X]"),
        ("x [y", "Re: x [y [C-7K2M9X]"),
    ];
    for (original, expected) in cases {
        assert_eq!(reply_subject(original, &r), expected, "{original:?}");
        // Replying to our own reply changes nothing.
        assert_eq!(reply_subject(expected, &r), expected, "{expected:?} again");
        assert_eq!(TicketReference::find_in_subject(expected), Some(r.clone()));
    }
    let long = "ü".repeat(10_000);
    let s = reply_subject(&long, &r);
    assert!(
        s.chars().count() <= MAX_SUBJECT_CHARS,
        "{}",
        s.chars().count()
    );
    assert!(s.ends_with(" [C-7K2M9X]"));
    assert_eq!(reply_subject(&s, &r), s);
}

#[test]
fn header_text_cleaning() {
    assert_eq!(clean_header_text("  a\r\n\tb  c ", 100), "a b c");
    assert_eq!(clean_header_text("abcdef", 3), "abc");
    assert_eq!(clean_header_text("ab cdef", 3), "ab");
    assert_eq!(clean_header_text("\u{0}\u{7f}x\u{2028}y", 10), "x y");
    assert_eq!(clean_header_text("", 10), "");
    assert_eq!(clean_header_text("日本語", 2), "日本");
}
