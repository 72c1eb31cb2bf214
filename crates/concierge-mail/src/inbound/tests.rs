use super::*;

fn p(raw: &str) -> ParsedMail {
    parse(raw.as_bytes(), &Limits::default()).unwrap()
}

#[test]
fn simple_message() {
    let m = p(
        "From: Ana Souza <Ana@UOL.com.br>\r\nTo: global@concierge.example.org\r\n\
               Subject: =?UTF-8?Q?Preciso_de_ajuda?=\r\nMessage-ID: <a1@uol.com.br>\r\n\
               Date: Tue, 24 Nov 2026 10:00:00 -0300\r\n\r\nOlá, estou em São Paulo.\r\n",
    );
    assert_eq!(m.from.unwrap().as_str(), "ana@uol.com.br");
    assert_eq!(m.from_name.as_deref(), Some("Ana Souza"));
    assert_eq!(m.subject, "Preciso de ajuda");
    assert_eq!(m.message_id.as_deref(), Some("a1@uol.com.br"));
    assert_eq!(m.date_offset_minutes, Some(-180));
    assert_eq!(m.date.unwrap().to_rfc3339(), "2026-11-24T13:00:00+00:00");
    assert!(m.text.contains("São Paulo"));
    assert_eq!(m.to.len(), 1);
}

#[test]
fn threading_headers() {
    let m =
        p("From: a@b.org\r\nIn-Reply-To: <x@y.z>\r\nReferences: <r1@y.z> <r2@y.z>\r\n\r\nhi\r\n");
    assert_eq!(m.in_reply_to, vec!["x@y.z"]);
    assert_eq!(m.references, vec!["r1@y.z", "r2@y.z"]);
    assert_eq!(m.message_id, None);
}

#[test]
fn machine_headers() {
    let m = p(
        "From: a@b.org\r\nAuto-Submitted: auto-replied\r\nPrecedence: bulk\r\nList-Id: <x.y>\r\n\
               X-Concierge-Loop: 1\r\nX-Auto-Response-Suppress: All\r\nReturn-Path: <>\r\n\r\nhi\r\n",
    );
    assert_eq!(m.machine.auto_submitted.as_deref(), Some("auto-replied"));
    assert_eq!(m.machine.precedence.as_deref(), Some("bulk"));
    assert!(m.machine.list_id);
    assert!(m.machine.has_loop_header);
    assert!(m.machine.x_auto_response_suppress);
    assert_eq!(m.machine.return_path.as_deref(), Some(""));
    assert!(
        m.headers
            .iter()
            .all(|(n, _)| !n.to_ascii_lowercase().starts_with("x-concierge"))
    );
    assert!(m.headers.iter().any(|(n, _)| n == "Precedence"));
}

#[test]
fn html_only_becomes_text() {
    let m = p(
        "From: a@b.org\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello <b>there</b></p><script>x()</script>\r\n",
    );
    assert!(m.text.contains("Hello"), "{:?}", m.text);
    assert!(m.html.unwrap().contains("<b>there</b>"));
}

#[test]
fn attachments_are_decoded_and_named_safely() {
    let raw = "From: a@b.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n\
               --XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
               --XX\r\nContent-Type: application/pdf; name=\"../../evil.pdf\"\r\n\
               Content-Disposition: attachment; filename*=UTF-8''%C3%9Cbung%20M%C3%A4rz.pdf\r\n\
               Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--XX--\r\n";
    let m = p(raw);
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].filename, "Übung März.pdf");
    assert_eq!(m.attachments[0].content_type, "application/pdf");
    assert_eq!(m.attachments[0].data, b"hello");
    assert_eq!(m.text.trim(), "see attached");
}

#[test]
fn delivery_reports_expose_the_original_id() {
    let raw = "From: MAILER-DAEMON@mx.example.com\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n\
               --B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n\
               --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; x@y.z\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
               --B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <ours-1@concierge.example.org>\r\nSubject: hi\r\n\r\n--B--\r\n";
    let m = p(raw);
    assert_eq!(m.machine.content_type.as_deref(), Some("multipart/report"));
    assert_eq!(m.machine.report_type.as_deref(), Some("delivery-status"));
    assert_eq!(m.report_original_ids, vec!["ours-1@concierge.example.org"]);
}

#[test]
fn empty_is_refused_and_garbage_is_kept() {
    assert_eq!(
        parse(b"", &Limits::default()).unwrap_err(),
        ParseError::Empty
    );
    assert_eq!(
        parse(b"  \r\n ", &Limits::default()).unwrap_err(),
        ParseError::Empty
    );
    let m = parse(b"\xff\xfe\x00garbage without headers", &Limits::default()).unwrap();
    assert!(m.from.is_none());
    assert!(m.unparseable);
    // Found by importing a Maildir: junk read as a header name kept its
    // NULs, which Postgres refuses in JSON.
    let m = parse(
        b"\x00\x01\xff\xfe not a message at all\x00",
        &Limits::default(),
    )
    .unwrap();
    assert!(m.unparseable);
    for (name, value) in &m.headers {
        assert!(!name.trim().is_empty());
        assert!(
            !name.chars().chain(value.chars()).any(char::is_control),
            "{name:?}: {value:?}"
        );
    }
    assert!(
        !parse(b"Subject: hi\r\n\r\nbody\r\n", &Limits::default())
            .unwrap()
            .unparseable
    );
}

#[test]
fn hostile_inputs_are_bounded() {
    let limits = Limits::default();
    // A 1 MB header line.
    let raw = format!(
        "From: a@b.org\r\nSubject: {}\r\n\r\nbody\r\n",
        "x".repeat(1 << 20)
    );
    let m = parse(raw.as_bytes(), &limits).unwrap();
    assert!(m.subject.len() <= 998);
    assert!(
        m.headers
            .iter()
            .all(|(_, v)| v.len() <= limits.max_header_value_bytes)
    );
    // 100,000 addresses in To.
    let to: Vec<String> = (0..100_000).map(|i| format!("u{i}@example.com")).collect();
    let raw = format!("From: a@b.org\r\nTo: {}\r\n\r\nbody\r\n", to.join(", "));
    let m = parse(raw.as_bytes(), &limits).unwrap();
    assert_eq!(m.to.len(), limits.max_addresses);
    // MIME nested 1,000 deep.
    let mut raw = String::from("From: a@b.org\r\n");
    for i in 0..1000 {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\ndeep\r\n");
    let m = parse(raw.as_bytes(), &limits).unwrap();
    assert!(m.attachments.len() <= limits.max_attachments);
    // 10,000 parts.
    let mut raw =
        String::from("From: a@b.org\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n");
    for i in 0..10_000 {
        raw.push_str(&format!(
            "--Z\r\nContent-Type: application/octet-stream; name=f{i}.bin\r\n\r\nx\r\n"
        ));
    }
    raw.push_str("--Z--\r\n");
    let m = parse(raw.as_bytes(), &limits).unwrap();
    assert_eq!(m.attachments.len(), limits.max_attachments);
    assert_eq!(m.attachments_dropped, 10_000 - limits.max_attachments);
    // Invalid UTF-8 everywhere.
    let mut raw =
        b"From: \xff\xfe <a@b.org>\r\nSubject: \xc3\x28 bad\r\n\r\n\xe2\x28\xa1 body\r\n".to_vec();
    raw.extend(std::iter::repeat_n(0xffu8, 1000));
    let m = parse(&raw, &limits).unwrap();
    assert!(m.subject.contains("bad"));
}

#[test]
fn fuzz_regressions_never_panic() {
    // Found by cargo-fuzz (fuzz/): see tests/regressions/.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let _ = parse(&raw, &Limits::default());
        n += 1;
    }
    assert!(n >= 3);
    // A multi-byte header name across our internal prefix's length.
    let m = p("X-Concierge\u{e9}: x\r\nFrom: a@b.org\r\n\r\nbody\r\n");
    assert!(m.from.is_some());
}
