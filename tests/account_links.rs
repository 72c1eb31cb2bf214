//! Invitations and password resets by single-use, expiring links, over
//! real HTTP with the mail going through the outbox to a real SMTP relay:
//! invite → mail → choose a password → sign in; links work once and
//! expire; a reset ends every old session; "forgot password" answers the
//! same for every address and mails only real accounts; `concierge user
//! add` prints an invitation link when no password is piped in.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::dashboard::{
    PASSWORD, account, browser, csrf_of, get_body, login, post_body, url, user,
};
use common::{Sink, TestApp};
use concierge_access::Role;
use concierge_store::{LinkPurpose, NewLink};
use sqlx::PgPool;
use uuid::Uuid;

const NEW_PASSWORD: &str = "a brand new long passphrase";

/// The app with a relay (the sink); routing workers are irrelevant here but
/// the mail worker must run.
async fn spawn(pool: &PgPool, sink: &Sink) -> TestApp {
    let relay = sink.url();
    TestApp::spawn_with(common::database_url(pool), move |s| {
        s.mail.outbound_url = relay;
    })
    .await
}

/// The token of the first account link in a text.
fn token_in(text: &str) -> String {
    let marker = "/account/setup?token=";
    let start = text.find(marker).expect("a setup link") + marker.len();
    let token: String = text[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{text}");
    token
}

/// (Subject, decoded text body) of a raw mail.
fn parsed(raw: &[u8]) -> (String, String) {
    let m = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parsable mail");
    (
        m.subject().unwrap_or_default().to_owned(),
        m.body_text(0).unwrap_or_default().into_owned(),
    )
}

/// Outbox mails of `kind` to `to`, oldest first: (cause, case, subject,
/// text).
async fn outbox(pool: &PgPool, kind: &str, to: &str) -> Vec<Mail> {
    let rows: Vec<(String, Option<Uuid>, Vec<u8>)> = sqlx::query_as(
        "SELECT cause, ticket_id, raw FROM outbox WHERE kind = $1 AND $2 = ANY(recipients)
         ORDER BY created_at, id",
    )
    .bind(kind)
    .bind(to)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(cause, ticket, raw)| {
            let (subject, text) = parsed(&raw);
            Mail {
                cause,
                ticket,
                subject,
                text,
            }
        })
        .collect()
}

struct Mail {
    cause: String,
    ticket: Option<Uuid>,
    subject: String,
    text: String,
}

/// Waits until `n` outbox mails of `kind` went to `to`.
async fn wait_outbox(pool: &PgPool, kind: &str, to: &str, n: usize) -> Vec<Mail> {
    let start = std::time::Instant::now();
    loop {
        let got = outbox(pool, kind, to).await;
        if got.len() >= n {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "only {} of {n} {kind} mails to {to}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn password_hash(pool: &PgPool, email: &str) -> Option<String> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn audit_actions(pool: &PgPool, actor: Option<Uuid>) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE actor_user_id IS NOT DISTINCT FROM $1 ORDER BY id",
    )
    .bind(actor)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn invitation_mail_sets_the_password_once(pool: PgPool) {
    let sink = Sink::start().await;
    let app = spawn(&pool, &sink).await;
    let admin_id = user(&app, "root@example.org", Role::Admin, None).await;
    let admin = browser();
    assert_eq!(
        login(&app, &admin, "root@example.org", PASSWORD)
            .await
            .status(),
        303
    );
    let (status, page) = get_body(&app, &admin, "/admin/people").await;
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);

    let (status, body) = post_body(
        &app,
        &admin,
        "/admin/people/invite",
        &[
            ("csrf", &csrf),
            ("email", "New.Person@Example.org"),
            ("name", "New Person"),
            ("role", "coordinator"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    // The account exists, without a password, and cannot sign in yet.
    assert_eq!(password_hash(&pool, "new.person@example.org").await, None);
    let newcomer = browser();
    assert_eq!(
        login(&app, &newcomer, "new.person@example.org", NEW_PASSWORD)
            .await
            .status(),
        401
    );

    // The invitation is an outbox row of no case, caused by the link.
    let rows = wait_outbox(&pool, "invite", "new.person@example.org", 1).await;
    assert_eq!(rows.len(), 1);
    let m = &rows[0];
    assert!(m.cause.starts_with("invite:"), "{}", m.cause);
    assert_eq!(m.ticket, None, "an account mail belongs to no case");
    assert_eq!(m.subject, "Your Concierge account");
    assert!(m.text.starts_with("Hello New Person,"), "{}", m.text);
    assert!(m.text.contains("for 7 days"), "{}", m.text);
    // The link is built from mail.public_url.
    assert!(
        m.text
            .contains("http://127.0.0.1:8080/account/setup?token="),
        "{}",
        m.text
    );
    // ...and the relay got it.
    let sent = sink
        .wait_for("new.person@example.org", 1, Duration::from_secs(20))
        .await;
    let token = token_in(&parsed(&sent[0].data).1);
    assert_eq!(token, token_in(&m.text));
    // Only the digest is stored.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_links
         WHERE token_sha256 = encode(sha256(convert_to($1, 'UTF8')), 'hex')",
    )
    .bind(&token)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 1);
    let plain: i64 =
        sqlx::query_scalar("SELECT count(*) FROM account_links WHERE token_sha256 = $1")
            .bind(&token)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(plain, 0, "the raw token is never stored");

    // Reading the form changes nothing (twice is fine).
    let setup = format!("/account/setup?token={token}");
    for _ in 0..2 {
        let (status, page) = get_body(&app, &newcomer, &setup).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Choose your password"), "{page}");
        assert!(page.contains("new.person@example.org"), "{page}");
    }
    // A short password, then two different ones: refused, link still works.
    let (status, page) = post_body(
        &app,
        &newcomer,
        "/account/setup",
        &[
            ("token", &token),
            ("password", "short"),
            ("confirm", "short"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("at least 12 characters"), "{page}");
    let (status, page) = post_body(
        &app,
        &newcomer,
        "/account/setup",
        &[
            ("token", &token),
            ("password", NEW_PASSWORD),
            ("confirm", "something else entirely"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert_eq!(password_hash(&pool, "new.person@example.org").await, None);

    // The real thing.
    let (status, page) = post_body(
        &app,
        &newcomer,
        "/account/setup",
        &[
            ("token", &token),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Password set"), "{page}");
    assert_eq!(
        login(&app, &newcomer, "new.person@example.org", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    let (status, _) = get_body(&app, &newcomer, "/").await;
    assert_eq!(status, 200);

    // Single use: the link is dead now, for reading and for posting.
    let (status, page) = get_body(&app, &browser(), &setup).await;
    assert_eq!(status, 410, "{page}");
    let (status, _) = post_body(
        &app,
        &browser(),
        "/account/setup",
        &[
            ("token", &token),
            ("password", "an attackers passphrase"),
            ("confirm", "an attackers passphrase"),
        ],
    )
    .await;
    assert_eq!(status, 410);
    assert_eq!(
        login(
            &app,
            &browser(),
            "new.person@example.org",
            "an attackers passphrase"
        )
        .await
        .status(),
        401
    );

    // Audited: the invitation by the admin, the password set by the newcomer.
    assert!(
        audit_actions(&pool, Some(admin_id))
            .await
            .contains(&"user.invite".to_owned())
    );
    let newcomer_id: Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'new.person@example.org'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let actions = audit_actions(&pool, Some(newcomer_id)).await;
    assert!(
        actions.contains(&"user.password_set".to_owned()),
        "{actions:?}"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn links_expire_and_malformed_tokens_are_refused(pool: PgPool) {
    let sink = Sink::start().await;
    let app = spawn(&pool, &sink).await;
    let id = account(
        &app,
        "late@example.org",
        "Some One",
        Role::Coordinator,
        None,
        None,
    )
    .await;
    let link = NewLink::generate(LinkPurpose::Invite, Duration::from_secs(7 * 86400));
    app.store.issue_account_link(id, &link, None).await.unwrap();
    let c = browser();
    let setup = format!("/account/setup?token={}", link.token);
    let (status, _) = get_body(&app, &c, &setup).await;
    assert_eq!(status, 200);

    sqlx::query("UPDATE account_links SET expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(link.id)
        .execute(&pool)
        .await
        .unwrap();
    let (status, page) = get_body(&app, &c, &setup).await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("expired"), "{page}");
    let (status, _) = post_body(
        &app,
        &c,
        "/account/setup",
        &[
            ("token", &link.token),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 410);
    assert_eq!(password_hash(&pool, "late@example.org").await, None);

    // Garbage and upper-case variants of a real token: the same answer.
    let live = NewLink::generate(LinkPurpose::Invite, Duration::from_secs(3600));
    app.store.issue_account_link(id, &live, None).await.unwrap();
    for bad in [
        String::new(),
        "x".repeat(64),
        live.token.to_uppercase(),
        format!("{}0", live.token),
        "'; DROP TABLE users; --".to_owned(),
    ] {
        let (status, _) = get_body(
            &app,
            &c,
            &format!("/account/setup?token={}", urlencode(&bad)),
        )
        .await;
        assert_eq!(status, 410, "{bad}");
    }
    // A disabled user's link does not work either.
    app.store.disable_user("late@example.org").await.unwrap();
    let (status, _) = get_body(&app, &c, &format!("/account/setup?token={}", live.token)).await;
    assert_eq!(status, 410);
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn reset_ends_old_sessions_and_the_other_links(pool: PgPool) {
    let sink = Sink::start().await;
    let app = spawn(&pool, &sink).await;
    user(&app, "kim@example.org", Role::Coordinator, None).await;
    let old = browser();
    assert_eq!(
        login(&app, &old, "kim@example.org", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(get_body(&app, &old, "/").await.0, 200);

    // Forgot the password (twice: two links).
    let anon = browser();
    let (status, page) = get_body(&app, &anon, "/login").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"href="/password/forgot""#),
        "the login page links to it"
    );
    for _ in 0..2 {
        let (status, page) = post_body(
            &app,
            &anon,
            "/password/forgot",
            &[("email", "KIM@example.org")],
        )
        .await;
        assert_eq!(status, 200, "{page}");
    }
    let rows = wait_outbox(&pool, "reset", "kim@example.org", 2).await;
    assert!(rows.iter().all(|m| m.cause.starts_with("reset:")
        && m.ticket.is_none()
        && m.subject == "Reset your Concierge password"
        && m.text.contains("for 1 hour")));
    let first = token_in(&rows[0].text);
    let second = token_in(&rows[1].text);
    assert_ne!(first, second);

    let (status, page) = get_body(&app, &anon, &format!("/account/setup?token={second}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Choose a new password"), "{page}");
    let (status, page) = post_body(
        &app,
        &anon,
        "/account/setup",
        &[
            ("token", &second),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");

    // The old session is over; the old password too; the other link is dead.
    let (status, _) = get_body(&app, &old, "/").await;
    assert_eq!(status, 303, "the session from before the reset has ended");
    assert_eq!(
        login(&app, &browser(), "kim@example.org", PASSWORD)
            .await
            .status(),
        401
    );
    let (status, _) = get_body(&app, &anon, &format!("/account/setup?token={first}")).await;
    assert_eq!(status, 410, "using one reset link invalidates the others");
    assert_eq!(
        login(&app, &browser(), "kim@example.org", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn forgot_password_answers_alike_and_mails_only_accounts(pool: PgPool) {
    let sink = Sink::start().await;
    let app = spawn(&pool, &sink).await;
    user(&app, "real@example.org", Role::Coordinator, None).await;
    user(&app, "gone@example.org", Role::Coordinator, None).await;
    app.store.disable_user("gone@example.org").await.unwrap();

    let c = browser();
    let mut answers = Vec::new();
    for email in ["nobody@example.org", "gone@example.org", "real@example.org"] {
        let (status, page) = post_body(&app, &c, "/password/forgot", &[("email", email)]).await;
        answers.push((status, page.replace(email, "ADDRESS")));
    }
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    assert!(
        answers[0].1.contains("If ADDRESS belongs to an account"),
        "{}",
        answers[0].1
    );

    // The real account gets its mail (after the answer)...
    wait_outbox(&pool, "reset", "real@example.org", 1).await;
    sink.wait_for("real@example.org", 1, Duration::from_secs(20))
        .await;
    // ...and the others none, ever.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE recipients && ARRAY['nobody@example.org','gone@example.org']",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(others, 0);
    let links: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_links l JOIN users u ON u.id = l.user_id
         WHERE u.email = 'gone@example.org'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(links, 0);

    // Per (address, client) like logins: the 6th request within the window
    // is refused, for a real address as for an unknown one.
    for email in ["real@example.org", "nobody@example.org"] {
        // One request each so far.
        for _ in 1..5 {
            let (status, _) = post_body(&app, &c, "/password/forgot", &[("email", email)]).await;
            assert_eq!(status, 200);
        }
        let (status, page) = post_body(&app, &c, "/password/forgot", &[("email", email)]).await;
        assert_eq!(status, 429, "{page}");
    }
    // Whatever the requests, an account gets at most 3 reset mails an hour.
    wait_outbox(&pool, "reset", "real@example.org", 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = outbox(&pool, "reset", "real@example.org").await;
    assert_eq!(mails.len(), 3);

    // Not an address at all: a form error, independent of any account.
    let (status, _) = post_body(&app, &c, "/password/forgot", &[("email", "not an address")]).await;
    assert_eq!(status, 422);
    // A cross-site form is refused.
    let res = c
        .post(url(&app, "/password/forgot"))
        .header("origin", "https://evil.example")
        .form(&[("email", "real@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn cli_user_add_prints_an_invitation_or_takes_a_piped_password(pool: PgPool) {
    let sink = Sink::start().await;
    let app = spawn(&pool, &sink).await;
    let db = app.url.clone();
    let public = format!("http://{}", app.http);
    let run = move |email: &'static str, stdin: Option<&'static str>| {
        let db = db.clone();
        let public = public.clone();
        move || {
            use std::io::Write;
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_concierge"));
            cmd.args(["user", "add", "--email", email, "--role", "coordinator"])
                .env("DATABASE_URL", &db)
                .env("CONCIERGE__MAIL__PUBLIC_URL", &public)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
            let mut child = cmd.spawn().unwrap();
            if let Some(input) = stdin {
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(input.as_bytes())
                    .unwrap();
            }
            child.wait_with_output().unwrap()
        }
    };
    // No password on standard input: an invitation link is printed.
    let out = tokio::task::spawn_blocking(run("cli-invite@example.org", None))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("invitation link (works once, for 7 days"),
        "{stdout}"
    );
    let start = stdout.find("http://").unwrap();
    let link = stdout[start..].lines().next().unwrap().trim().to_owned();
    assert!(
        link.starts_with(&format!("http://{}/account/setup?token=", app.http)),
        "{link}"
    );
    let c = browser();
    let res = c.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let token = token_in(&link);
    let (status, _) = post_body(
        &app,
        &c,
        "/account/setup",
        &[
            ("token", &token),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        login(&app, &c, "cli-invite@example.org", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    // The CLI prints the link; it mails nothing.
    assert!(
        outbox(&pool, "invite", "cli-invite@example.org")
            .await
            .is_empty()
    );

    // A password piped in is used as before: no link.
    let out =
        tokio::task::spawn_blocking(run("cli-piped@example.org", Some("piped in passphrase\n")))
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("token="), "{stdout}");
    assert_eq!(
        login(
            &app,
            &browser(),
            "cli-piped@example.org",
            "piped in passphrase"
        )
        .await
        .status(),
        303
    );
    // A piped password that breaks the rules is refused, no account made.
    let out = tokio::task::spawn_blocking(run("cli-short@example.org", Some("short\n")))
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        app.store
            .find_user_by_email("cli-short@example.org")
            .await
            .unwrap()
            .is_none()
    );
    app.stop().await;
}
