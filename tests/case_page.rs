//! The case page's working parts over real HTTP against the real app:
//! internal notes (shown in the thread, never in any mail), read markers,
//! take / reassign / unassign under the access policy and capacity,
//! priority and country edits, attachment downloads with hostile names,
//! hub entries under the reply composer, the SLA clock, and the JSON API
//! mirrors of notes, assignment and attachments.

mod common;

use std::time::{Duration, Instant};

use common::dashboard::{self, arrange, case, get, open_case, post_body, session, spawn, url};
use common::{Sink, TestApp};
use concierge_access::Role;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

struct Person {
    user: Uuid,
    volunteer: Option<Uuid>,
    email: &'static str,
}

/// A caseworker covering `countries` with this capacity.
async fn caseworker(app: &TestApp, email: &'static str, countries: &[&str], cap: i32) -> Person {
    let (user, vid) = dashboard::caseworker(app, email, countries, cap).await;
    Person {
        user,
        volunteer: Some(vid),
        email,
    }
}

async fn staff(app: &TestApp, email: &'static str, role: Role) -> Person {
    Person {
        user: dashboard::user(app, email, role, None).await,
        volunteer: None,
        email,
    }
}

async fn ticket_id(pool: &PgPool, reference: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM tickets WHERE reference = $1")
        .bind(reference)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// (assignee email, status, routing_state, assignment_reason) of a case.
async fn holder(
    pool: &PgPool,
    reference: &str,
) -> (Option<String>, String, String, Option<String>) {
    sqlx::query_as(
        "SELECT v.email, t.status, t.routing_state, t.assignment_reason
         FROM tickets t LEFT JOIN volunteers v ON v.id = t.assignee_id WHERE t.reference = $1",
    )
    .bind(reference)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The assignment history: (volunteer, reason, assigned_by, ended_reason).
async fn history(pool: &PgPool, reference: &str) -> Vec<(String, String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT v.email, a.reason, a.assigned_by, a.ended_reason
         FROM assignments a JOIN volunteers v ON v.id = a.volunteer_id
         JOIN tickets t ON t.id = a.ticket_id
         WHERE t.reference = $1 ORDER BY a.assigned_at, a.id",
    )
    .bind(reference)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The audit actions of a case, oldest first, with their details.
async fn audit_of(pool: &PgPool, reference: &str) -> Vec<(String, Value)> {
    sqlx::query_as(
        "SELECT action, detail FROM audit_log
         WHERE ticket_id = (SELECT id FROM tickets WHERE reference = $1) ORDER BY id",
    )
    .bind(reference)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn pending_route_jobs(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.route'
           AND status IN ('Pending','Queued','Running')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A JSON API call with a user's token.
async fn api(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = TestApp::client()
        .request(method, url(app, path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

const SECRET_NOTE: &str = "NOTE-7f3c: requester mentioned self-harm; supervisor informed";

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn notes_are_in_the_thread_and_never_in_any_mail(pool: PgPool) {
    let app = spawn(&pool).await;
    let admin = staff(&app, "root@example.org", Role::Admin).await;
    let bea = caseworker(&app, "bea@example.org", &["BR"], 5).await;
    let carl = caseworker(&app, "carl@example.org", &["BR"], 5).await;
    let reference = case(&app, "ana@example.net", "Preciso de ajuda").await;
    arrange(&pool, &reference, "BR", bea.volunteer).await;
    let other = case(&app, "rui@example.net", "Sem dono").await;
    arrange(&pool, &other, "BR", None).await;
    let path = format!("/cases/{reference}");
    let notes_path = format!("{path}/notes");

    // The caseworker of the case writes a note; it needs the CSRF token.
    let (c, csrf) = session(&app, bea.email).await;
    let (status, _) = post_body(&app, &c, &notes_path, &[("text", SECRET_NOTE)]).await;
    assert_eq!(status, 403);
    let (status, _) = post_body(&app, &c, &notes_path, &[("csrf", &csrf), ("text", "   ")]).await;
    assert_eq!(status, 400, "an empty note is refused");
    let (status, _) = post_body(
        &app,
        &c,
        &notes_path,
        &[("csrf", &csrf), ("text", SECRET_NOTE)],
    )
    .await;
    assert_eq!(status, 303);
    // An unassigned case of her country: visible, but not hers to annotate.
    let (status, body) = post_body(
        &app,
        &c,
        &format!("/cases/{other}/notes"),
        &[("csrf", &csrf), ("text", "mine now?")],
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // The coordinator-side reply and reassignment that cause mail.
    let (a, acsrf) = session(&app, admin.email).await;
    let (status, _) = post_body(
        &app,
        &a,
        &format!("{path}/reply"),
        &[
            ("csrf", &acsrf),
            ("text", "REPLY-TEXT: we are here for you."),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = post_body(
        &app,
        &a,
        &format!("{path}/assign"),
        &[
            ("csrf", &acsrf),
            ("volunteer", carl.email),
            ("reason", "bea is away"),
        ],
    )
    .await;
    assert_eq!(status, 303);

    // The thread: the inbound message, then the note (marked as internal),
    // then the reply.
    let (status, _, page) = get(&app, &a, &path).await;
    assert_eq!(status, 200);
    let inbound = page.find("I need someone to talk to.").unwrap();
    let note = page.find(SECRET_NOTE.split(';').next().unwrap()).unwrap();
    let reply = page.find("REPLY-TEXT").unwrap();
    assert!(
        inbound < note && note < reply,
        "thread out of order:\n{page}"
    );
    let article = page[..note].rfind("<article").unwrap();
    assert!(
        page[article..note].contains(r#"class="message note""#)
            && page[article..note].contains("Internal note"),
        "{}",
        &page[article..note]
    );
    assert!(page[article..note].contains("bea@example.org"));
    // Notes are not messages to the requester.
    assert_eq!(app.ticket(&reference).await["message_count"], 2);
    let audit: Vec<String> = audit_of(&pool, &reference)
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert!(audit.contains(&"case.note".to_owned()), "{audit:?}");
    app.stop().await;

    // Now the mail goes out: acknowledgement, reply and assignment notice.
    let sink = Sink::start().await;
    let relay = sink.url();
    let app = TestApp::spawn_with(common::database_url(&pool), move |s| {
        s.mail.outbound_url = relay;
        s.mail.retry_base_secs = 1;
        s.worker.poll_secs = 1;
    })
    .await;
    sink.wait_for("ana@example.net", 1, Duration::from_secs(20))
        .await;
    sink.wait_for(carl.email, 1, Duration::from_secs(20)).await;
    let start = Instant::now();
    loop {
        let (unsent, jobs): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM outbox WHERE status IN ('pending','sending')),
                    (SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.mail'
                       AND status IN ('Pending','Queued','Running'))",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if unsent == 0 && jobs == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "mail still pending"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM outbox ORDER BY kind")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(kinds.contains(&"reply".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"notify_assigned".to_owned()), "{kinds:?}");
    let raws: Vec<Vec<u8>> = sqlx::query_scalar("SELECT raw FROM outbox")
        .fetch_all(&pool)
        .await
        .unwrap();
    let sent: Vec<Vec<u8>> = sink
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.data.clone())
        .collect();
    assert!(!sent.is_empty());
    for raw in raws.iter().chain(sent.iter()) {
        let text = String::from_utf8_lossy(raw);
        assert!(
            !text.contains("NOTE-7f3c") && !text.contains("self-harm"),
            "a note leaked into mail:\n{text}"
        );
    }
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn taking_a_case_respects_coverage_and_capacity(pool: PgPool) {
    let app = spawn(&pool).await;
    let bea = caseworker(&app, "bea@example.org", &["BR"], 1).await;
    let bruno = caseworker(&app, "bruno@example.org", &["BR"], 5).await;
    let dirk = caseworker(&app, "dirk@example.org", &["DE"], 5).await;
    let first = case(&app, "ana@example.net", "Um").await;
    arrange(&pool, &first, "BR", None).await;
    let second = case(&app, "rui@example.net", "Dois").await;
    arrange(&pool, &second, "BR", None).await;
    let german = case(&app, "hans@example.net", "Hilfe").await;
    arrange(&pool, &german, "DE", None).await;

    let (c, csrf) = session(&app, bea.email).await;
    let (_, _, page) = get(&app, &c, &format!("/cases/{first}")).await;
    assert!(
        page.contains(&format!(r#"action="/cases/{first}/take""#)),
        "{page}"
    );
    // No coordinator forms for a caseworker.
    assert!(!page.contains("/assign\"") && !page.contains("/unassign\""));

    // Another country's case: 404, as if it did not exist.
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/cases/{german}/take"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(holder(&pool, &german).await.0, None);
    let (status, _) = post_body(&app, &c, "/cases/C-ZZZZZZ/take", &[("csrf", &csrf)]).await;
    assert_eq!(status, 404);
    // No CSRF token, no take.
    let (status, _) = post_body(&app, &c, &format!("/cases/{first}/take"), &[]).await;
    assert_eq!(status, 403);
    assert_eq!(holder(&pool, &first).await.0, None);

    let (status, _) = post_body(
        &app,
        &c,
        &format!("/cases/{first}/take"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let (who, status, routing, reason) = holder(&pool, &first).await;
    assert_eq!(who.as_deref(), Some(bea.email));
    assert_eq!(status, "assigned");
    assert_eq!(routing, "assigned");
    assert_eq!(reason.as_deref(), Some("taken by bea@example.org"));
    assert_eq!(
        history(&pool, &first).await,
        [(
            bea.email.to_owned(),
            "taken by bea@example.org".to_owned(),
            "user:bea@example.org".to_owned(),
            None
        )]
    );
    // Twice: already hers.
    let (status, body) = post_body(
        &app,
        &c,
        &format!("/cases/{first}/take"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 409);
    assert!(body.contains("already yours"), "{body}");
    // Her capacity is 1: the second case stays in the pool.
    let (status, body) = post_body(
        &app,
        &c,
        &format!("/cases/{second}/take"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("capacity"), "{body}");
    assert_eq!(holder(&pool, &second).await.0, None);
    // Nor may she reassign or unassign, even her own case.
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/cases/{first}/assign"),
        &[
            ("csrf", &csrf),
            ("volunteer", bruno.email),
            ("reason", "swap"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/cases/{first}/unassign"),
        &[("csrf", &csrf), ("reason", "too much")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(holder(&pool, &first).await.0.as_deref(), Some(bea.email));

    // A colleague in the same country no longer sees the taken case; one
    // elsewhere never did.
    for other in [&bruno, &dirk] {
        let (oc, ocsrf) = session(&app, other.email).await;
        let (status, _) = post_body(
            &app,
            &oc,
            &format!("/cases/{first}/take"),
            &[("csrf", &ocsrf)],
        )
        .await;
        assert_eq!(status, 404, "{}", other.email);
        let (status, _) = post_body(
            &app,
            &oc,
            &format!("/cases/{first}/assign"),
            &[
                ("csrf", &ocsrf),
                ("volunteer", other.email),
                ("reason", "mine"),
            ],
        )
        .await;
        assert_eq!(status, 404, "{}", other.email);
    }
    assert_eq!(holder(&pool, &first).await.0.as_deref(), Some(bea.email));

    // Through the API: bruno takes the second case for himself; he may not
    // take it for someone else, nor take another country's case.
    let token = app
        .store
        .create_api_token("bruno", bruno.user)
        .await
        .unwrap();
    let path = format!("/api/v1/tickets/{second}/assignment");
    let (status, body) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "volunteer": bea.email })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{german}/assignment"),
        Some(json!({ "volunteer": bruno.email })),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "volunteer": bruno.email })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["assignee"], bruno.email);
    assert_eq!(holder(&pool, &second).await.0.as_deref(), Some(bruno.email));
    let (status, _) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "volunteer": null, "reason": "x" })),
    )
    .await;
    assert_eq!(status, 403, "caseworkers do not unassign");

    let actions: Vec<String> = audit_of(&pool, &first)
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert!(actions.contains(&"case.take".to_owned()), "{actions:?}");
    let actions: Vec<(String, Value)> = audit_of(&pool, &second).await;
    assert!(
        actions
            .iter()
            .any(|(a, d)| a == "case.take" && d["via"] == "api"),
        "{actions:?}"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn coordinators_reassign_with_a_reason_and_unassign(pool: PgPool) {
    let app = spawn(&pool).await;
    let coord = staff(&app, "coord@example.org", Role::Coordinator).await;
    let bea = caseworker(&app, "bea@example.org", &["BR"], 1).await;
    let carl = caseworker(&app, "carl@example.org", &["PT"], 5).await;
    let busy = case(&app, "ana@example.net", "Um").await;
    arrange(&pool, &busy, "BR", bea.volunteer).await;
    let reference = case(&app, "rui@example.net", "Dois").await;
    arrange(&pool, &reference, "BR", None).await;
    let path = format!("/cases/{reference}");

    let (c, csrf) = session(&app, coord.email).await;
    let (_, _, page) = get(&app, &c, &path).await;
    assert!(page.contains(r#"<label for="assign-volunteer">"#), "{page}");
    assert!(
        page.contains(r#"<option value="bea@example.org">"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="carl@example.org">"#),
        "{page}"
    );
    assert!(
        page.contains("1 of 1 open") && page.contains("(full)"),
        "{page}"
    );

    let assign = format!("{path}/assign");
    // A reason is required; the volunteer must exist and be active.
    let (status, _) = post_body(
        &app,
        &c,
        &assign,
        &[("csrf", &csrf), ("volunteer", bea.email)],
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = post_body(
        &app,
        &c,
        &assign,
        &[
            ("csrf", &csrf),
            ("volunteer", "ghost@example.org"),
            ("reason", "x"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // Bea is full: only with the confirmation.
    let (status, body) = post_body(
        &app,
        &c,
        &assign,
        &[
            ("csrf", &csrf),
            ("volunteer", bea.email),
            ("reason", "speaks to the band"),
        ],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("capacity"), "{body}");
    assert_eq!(holder(&pool, &reference).await.0, None);
    let (status, _) = post_body(
        &app,
        &c,
        &assign,
        &[
            ("csrf", &csrf),
            ("volunteer", bea.email),
            ("reason", "speaks to the band"),
            ("over_capacity", "yes"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (who, status, _, reason) = holder(&pool, &reference).await;
    assert_eq!(who.as_deref(), Some(bea.email));
    assert_eq!(status, "assigned");
    assert_eq!(
        reason.as_deref(),
        Some("speaks to the band (over capacity, confirmed)")
    );

    // Reassigned to Carl: the history keeps both, with who and why.
    let (status, _) = post_body(
        &app,
        &c,
        &assign,
        &[
            ("csrf", &csrf),
            ("volunteer", carl.email),
            ("reason", "bea is on leave"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        holder(&pool, &reference).await.0.as_deref(),
        Some(carl.email)
    );
    let h = history(&pool, &reference).await;
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(h[0].0, bea.email);
    assert_eq!(h[0].2, "user:coord@example.org");
    assert_eq!(
        h[0].3.as_deref(),
        Some("reassigned to carl@example.org: bea is on leave (by user:coord@example.org)")
    );
    assert_eq!(
        (
            h[1].0.as_str(),
            h[1].1.as_str(),
            h[1].2.as_str(),
            h[1].3.as_deref()
        ),
        (
            carl.email,
            "bea is on leave",
            "user:coord@example.org",
            None
        )
    );
    // Assigning to the current caseworker is a conflict, not a new row.
    let (status, _) = post_body(
        &app,
        &c,
        &assign,
        &[
            ("csrf", &csrf),
            ("volunteer", carl.email),
            ("reason", "again"),
        ],
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(history(&pool, &reference).await.len(), 2);
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignments WHERE ticket_id = $1 AND ended_at IS NULL",
    )
    .bind(ticket_id(&pool, &reference).await)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(live, 1);

    // Unassign: back to routing, with the reason in the history.
    let unassign = format!("{path}/unassign");
    let (status, _) = post_body(&app, &c, &unassign, &[("csrf", &csrf), ("reason", "")]).await;
    assert_eq!(status, 400);
    let jobs = pending_route_jobs(&pool).await;
    let (status, _) = post_body(
        &app,
        &c,
        &unassign,
        &[
            ("csrf", &csrf),
            ("reason", "needs a Portuguese speaker in Brazil"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (who, status, routing, _) = holder(&pool, &reference).await;
    assert_eq!(
        (who, status.as_str(), routing.as_str()),
        (None, "new", "pending")
    );
    assert_eq!(pending_route_jobs(&pool).await, jobs + 1, "a route job");
    let h = history(&pool, &reference).await;
    assert_eq!(
        h[1].3.as_deref(),
        Some("unassigned: needs a Portuguese speaker in Brazil (by user:coord@example.org)")
    );
    let (status, _) = post_body(&app, &c, &unassign, &[("csrf", &csrf), ("reason", "again")]).await;
    assert_eq!(status, 409, "nothing to unassign");

    // The API does the same: assign (with confirmation) and unassign.
    let token = app
        .store
        .create_api_token("coord", coord.user)
        .await
        .unwrap();
    let api_path = format!("/api/v1/tickets/{reference}/assignment");
    let (status, body) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &api_path,
        Some(json!({ "volunteer": bea.email, "reason": "api" })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &api_path,
        Some(json!({ "volunteer": bea.email, "reason": "api", "allow_over_capacity": true })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["assignee"], bea.email);
    assert_eq!(body["over_capacity"], true);
    let (status, body) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &api_path,
        Some(json!({ "volunteer": null })),
    )
    .await;
    assert_eq!(status, 400, "a reason is required: {body}");
    let (status, body) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &api_path,
        Some(json!({ "volunteer": null, "reason": "api unassign" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(holder(&pool, &reference).await.0, None);

    let audit = audit_of(&pool, &reference).await;
    let assigns: Vec<&Value> = audit
        .iter()
        .filter(|(a, _)| a == "case.assign")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(assigns.len(), 3, "{audit:?}");
    assert_eq!(assigns[0]["reason"], "speaks to the band");
    assert_eq!(assigns[0]["over_capacity"], true);
    assert_eq!(assigns[1]["volunteer"], carl.email);
    assert!(audit.iter().any(
        |(a, d)| a == "case.unassign" && d["reason"] == "needs a Portuguese speaker in Brazil"
    ));
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn priority_and_country_edits_reroute(pool: PgPool) {
    let app = spawn(&pool).await;
    let coord = staff(&app, "coord@example.org", Role::Coordinator).await;
    let bea = caseworker(&app, "bea@example.org", &["BR"], 5).await;
    let dirk = caseworker(&app, "dirk@example.org", &["DE"], 5).await;
    let reference = case(&app, "ana@example.net", "Ajuda").await;
    arrange(&pool, &reference, "BR", bea.volunteer).await;
    let path = format!("/cases/{reference}");

    // Bea, its caseworker, sets the priority: the due time moves.
    let (c, csrf) = session(&app, bea.email).await;
    let (_, _, page) = get(&app, &c, &path).await;
    assert!(page.contains(r#"<label for="new-priority">"#), "{page}");
    assert!(
        !page.contains("/country\""),
        "no country form for a caseworker"
    );
    let (status, _) = post_body(
        &app,
        &c,
        &format!("{path}/priority"),
        &[("csrf", &csrf), ("priority", "bogus")],
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post_body(
        &app,
        &c,
        &format!("{path}/priority"),
        &[("csrf", &csrf), ("priority", "urgent")],
    )
    .await;
    assert_eq!(status, 303);
    let (priority, minutes): (String, f64) = sqlx::query_as(
        "SELECT priority, EXTRACT(EPOCH FROM first_response_due_at - created_at)::float8 / 60
         FROM tickets WHERE reference = $1",
    )
    .bind(&reference)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(priority, "urgent");
    assert!((minutes - 60.0).abs() < 0.01, "{minutes}");
    // Changing the country would take the case off her: a coordinator's call.
    let (status, _) = post_body(
        &app,
        &c,
        &format!("{path}/country"),
        &[("csrf", &csrf), ("country", "DE")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        holder(&pool, &reference).await.0.as_deref(),
        Some(bea.email)
    );
    // Dirk (DE) cannot touch it at all.
    let (d, dcsrf) = session(&app, dirk.email).await;
    let (status, _) = post_body(
        &app,
        &d,
        &format!("{path}/priority"),
        &[("csrf", &dcsrf), ("priority", "low")],
    )
    .await;
    assert_eq!(status, 404);

    // The coordinator moves it to Germany: off Bea, back to routing, which
    // gives it to Dirk.
    let (k, kcsrf) = session(&app, coord.email).await;
    let (status, _) = post_body(
        &app,
        &k,
        &format!("{path}/country"),
        &[("csrf", &kcsrf), ("country", "ZZ")],
    )
    .await;
    assert_eq!(status, 400);
    let jobs = pending_route_jobs(&pool).await;
    let (status, _) = post_body(
        &app,
        &k,
        &format!("{path}/country"),
        &[("csrf", &kcsrf), ("country", "de")],
    )
    .await;
    assert_eq!(status, 303);
    let t = app.ticket(&reference).await;
    assert_eq!(t["country"], "DE");
    assert_eq!(t["country_source"], "manual");
    assert_eq!(t["assignee"], Value::Null);
    assert_eq!(t["routing_state"], "pending");
    assert_eq!(pending_route_jobs(&pool).await, jobs + 1, "a route job");
    let h = history(&pool, &reference).await;
    assert!(h.is_empty() || h.iter().all(|r| r.3.is_some()), "{h:?}");
    let id = ticket_id(&pool, &reference).await;
    let outcome = app.store.route_ticket(id).await.unwrap();
    assert!(
        matches!(outcome, concierge_store::RouteOutcome::Assigned { volunteer_id, .. } if Some(volunteer_id) == dirk.volunteer),
        "{outcome:?}"
    );
    let actions: Vec<String> = audit_of(&pool, &reference)
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert!(
        actions.contains(&"case.priority".to_owned())
            && actions.contains(&"case.country".to_owned()),
        "{actions:?}"
    );
    app.stop().await;
}

/// A mail with hostile attachment names.
fn mail_with_attachments() -> Vec<u8> {
    let parts = [
        (
            "text/plain",
            "attachment; filename=\"../../etc/passwd\"",
            "root:x:0:0:root:/root:/bin/bash",
        ),
        (
            "text/html",
            "attachment; filename=\"<script>.html\"",
            "<script>alert(document.cookie)</script>",
        ),
        (
            "application/x-msdownload",
            "attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe",
            "MZ not really a program",
        ),
        (
            "text/plain",
            "attachment; filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1%0D%0A.txt",
            "crlf",
        ),
    ];
    let mut raw = String::from(
        "From: Ana <ana@example.net>\r\nTo: global@concierge.example.org\r\n\
         Subject: My files\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <files@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n\
         --XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere are my files.\r\n",
    );
    for (ct, cd, body) in parts {
        raw.push_str(&format!(
            "--XYZ\r\nContent-Type: {ct}\r\nContent-Disposition: {cd}\r\n\r\n{body}\r\n"
        ));
    }
    raw.push_str("--XYZ--\r\n");
    raw.into_bytes()
}

/// The Content-Disposition of an attachment's download.
async fn disposition(app: &TestApp, c: &reqwest::Client, reference: &str, id: Uuid) -> String {
    let path = format!("/cases/{reference}/attachments/{id}");
    let res = c.get(url(app, &path)).send().await.unwrap();
    res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn assert_safe_download(h: &reqwest::header::HeaderMap, what: &str) {
    assert_eq!(h["content-type"], "application/octet-stream", "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(h["cache-control"], "no-store");
    let cd = h["content-disposition"]
        .to_str()
        .expect("a visible-ASCII Content-Disposition");
    assert!(cd.starts_with("attachment; filename=\""), "{what}: {cd}");
    assert!(cd.contains("; filename*=UTF-8''"), "{what}: {cd}");
    assert_eq!(cd.matches('"').count(), 2, "{what}: {cd}");
    for bad in ['/', '\\', '<', '>', '\r', '\n', '\'', ';'] {
        let quoted = cd.split('"').nth(1).unwrap();
        assert!(!quoted.contains(bad), "{what}: {bad:?} in {cd}");
    }
    let ext = cd.split("filename*=UTF-8''").nth(1).unwrap();
    assert!(
        ext.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%".contains(&b)),
        "{what}: {cd}"
    );
    // No bidi override, even percent-encoded.
    assert!(!ext.contains("%E2%80%AE"), "{what}: {cd}");
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn attachments_download_safely_and_only_from_their_case(pool: PgPool) {
    let app = spawn(&pool).await;
    let admin = staff(&app, "root@example.org", Role::Admin).await;
    let dirk = caseworker(&app, "dirk@example.org", &["DE"], 5).await;
    let reference = open_case(&app, &mail_with_attachments()).await;
    arrange(&pool, &reference, "BR", None).await;
    let other = open_case(&app, &mail_with_attachments().replace_message_id()).await;
    arrange(&pool, &other, "BR", None).await;
    let id = ticket_id(&pool, &reference).await;
    let other_id = ticket_id(&pool, &other).await;
    assert_ne!(id, other_id);
    let attachments: Vec<(Uuid, String, Vec<u8>)> = sqlx::query_as(
        "SELECT a.id, a.filename, a.data FROM attachments a JOIN messages m ON m.id = a.message_id
         WHERE m.ticket_id = $1 ORDER BY a.position",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        attachments.len(),
        4,
        "{:?}",
        attachments.iter().map(|a| &a.1).collect::<Vec<_>>()
    );
    // An older row whose name was never cleaned: the download cleans it.
    let raw_name = "..\\..\\x\r\nSet-Cookie: a=b\u{202e}lmth.exe\"; filename=evil.html";
    sqlx::query("UPDATE attachments SET filename = $2 WHERE id = $1")
        .bind(attachments[3].0)
        .bind(raw_name)
        .execute(&pool)
        .await
        .unwrap();

    let (c, _) = session(&app, admin.email).await;
    let (status, _, page) = get(&app, &c, &format!("/cases/{reference}")).await;
    assert_eq!(status, 200);
    // The page links each attachment; hostile names are text, not markup.
    assert!(!page.contains("<script>.html"), "{page}");
    for (aid, name, data) in &attachments {
        let href = format!("/cases/{reference}/attachments/{aid}");
        assert!(page.contains(&href), "{href} missing");
        let res = c.get(url(&app, &href)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{name}");
        assert_safe_download(res.headers(), name);
        let body = res.bytes().await.unwrap();
        assert_eq!(&body[..], &data[..], "{name}");
    }
    let cd = disposition(&app, &c, &reference, attachments[0].0).await;
    assert_eq!(
        cd,
        "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"
    );
    let cd = disposition(&app, &c, &reference, attachments[1].0).await;
    assert_eq!(
        cd,
        "attachment; filename=\"_script_.html\"; filename*=UTF-8''_script_.html"
    );
    let cd = disposition(&app, &c, &reference, attachments[3].0).await;
    assert!(
        cd.starts_with("attachment; filename=\"x__Set-Cookie_ a=blmth.exe__ filename=evil.html\""),
        "{cd}"
    );

    // Another case's attachment through this case's URL: 404. So are
    // unknown and malformed ids.
    let foreign: Uuid = sqlx::query_scalar(
        "SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id
         WHERE m.ticket_id = $1 LIMIT 1",
    )
    .bind(other_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    for bad in [
        foreign.to_string(),
        Uuid::new_v4().to_string(),
        "../../etc/passwd".into(),
        "x".into(),
    ] {
        let (status, _, _) = get(&app, &c, &format!("/cases/{reference}/attachments/{bad}")).await;
        assert_eq!(status, 404, "{bad}");
    }
    // A caseworker of another country: 404 for the case's attachments.
    let (d, _) = session(&app, dirk.email).await;
    let (status, _, body) = get(
        &app,
        &d,
        &format!("/cases/{reference}/attachments/{}", attachments[0].0),
    )
    .await;
    assert_eq!(status, 404);
    assert!(!body.contains("root:x"));

    // The API serves the same bytes the same way, under the same policy.
    let token = app
        .store
        .create_api_token("root", admin.user)
        .await
        .unwrap();
    let res = TestApp::client()
        .get(url(
            &app,
            &format!(
                "/api/v1/tickets/{reference}/attachments/{}",
                attachments[1].0
            ),
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_safe_download(res.headers(), "api");
    assert_eq!(&res.bytes().await.unwrap()[..], &attachments[1].2[..]);
    let (status, _) = api(
        &app,
        &token,
        reqwest::Method::GET,
        &format!("/api/v1/tickets/{reference}/attachments/{foreign}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let dtoken = app.store.create_api_token("dirk", dirk.user).await.unwrap();
    let (status, _) = api(
        &app,
        &dtoken,
        reqwest::Method::GET,
        &format!(
            "/api/v1/tickets/{reference}/attachments/{}",
            attachments[0].0
        ),
        None,
    )
    .await;
    assert_eq!(status, 404);

    let downloads = audit_of(&pool, &reference)
        .await
        .into_iter()
        .filter(|(a, _)| a == "case.attachment")
        .count();
    assert_eq!(
        downloads,
        attachments.len() + 3 + 1,
        "one record per download"
    );
    app.stop().await;
}

/// Gives the fixture mail another Message-ID (a second, distinct case).
trait OtherMessage {
    fn replace_message_id(self) -> Vec<u8>;
}

impl OtherMessage for Vec<u8> {
    fn replace_message_id(self) -> Vec<u8> {
        String::from_utf8(self)
            .unwrap()
            .replace("<files@example.net>", "<files-2@example.net>")
            .replace("My files", "More files")
            .into_bytes()
    }
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn opening_a_case_sets_the_viewers_read_marker(pool: PgPool) {
    let app = spawn(&pool).await;
    let bea = caseworker(&app, "bea@example.org", &["BR"], 5).await;
    let coord = staff(&app, "coord@example.org", Role::Coordinator).await;
    let seen = case(&app, "ana@example.net", "Um").await;
    arrange(&pool, &seen, "BR", bea.volunteer).await;
    let unseen = case(&app, "rui@example.net", "Dois").await;
    arrange(&pool, &unseen, "BR", bea.volunteer).await;
    let (seen_id, unseen_id) = (
        ticket_id(&pool, &seen).await,
        ticket_id(&pool, &unseen).await,
    );

    assert!(
        app.store
            .case_reads(bea.user, &[seen_id, unseen_id])
            .await
            .unwrap()
            .is_empty()
    );
    let (c, csrf) = session(&app, bea.email).await;
    let (status, _, _) = get(&app, &c, &format!("/cases/{seen}")).await;
    assert_eq!(status, 200);
    let reads = app
        .store
        .case_reads(bea.user, &[seen_id, unseen_id])
        .await
        .unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].0, seen_id);
    let first = reads[0].1;
    // Only hers: the coordinator has not read it.
    assert!(
        app.store
            .case_reads(coord.user, &[seen_id])
            .await
            .unwrap()
            .is_empty()
    );

    // A change after her visit makes it "updated" for her, until she
    // opens it again.
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/cases/{seen}/notes"),
        &[("csrf", &csrf), ("text", "called back")],
    )
    .await;
    assert_eq!(status, 303);
    let updated: bool = sqlx::query_scalar(
        "SELECT t.updated_at > r.seen_at FROM tickets t
         JOIN case_reads r ON r.ticket_id = t.id AND r.user_id = $2 WHERE t.id = $1",
    )
    .bind(seen_id)
    .bind(bea.user)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(updated);
    let (status, _, _) = get(&app, &c, &format!("/cases/{seen}")).await;
    assert_eq!(status, 200);
    let reads = app.store.case_reads(bea.user, &[seen_id]).await.unwrap();
    assert!(reads[0].1 > first);
    let unread: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tickets t
         LEFT JOIN case_reads r ON r.ticket_id = t.id AND r.user_id = $1
         WHERE t.assignee_id = $2 AND (r.seen_at IS NULL OR t.updated_at > r.seen_at)",
    )
    .bind(bea.user)
    .bind(bea.volunteer)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unread, 1, "only the case she never opened");
    // An invisible case sets nothing.
    let dirk = caseworker(&app, "dirk@example.org", &["DE"], 5).await;
    let (d, _) = session(&app, dirk.email).await;
    let (status, _, _) = get(&app, &d, &format!("/cases/{seen}")).await;
    assert_eq!(status, 404);
    assert!(
        app.store
            .case_reads(dirk.user, &[seen_id])
            .await
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn composer_offers_hub_entries_and_the_page_shows_the_sla_clock(pool: PgPool) {
    let app = spawn(&pool).await;
    concierge::hub::import(&app.store, &common::settings("").hub.file)
        .await
        .unwrap();
    let bea = caseworker(&app, "bea@example.org", &["BR"], 5).await;
    let reference = case(&app, "ana@example.net", "Preciso de ajuda").await;
    arrange(&pool, &reference, "BR", bea.volunteer).await;
    sqlx::query("UPDATE tickets SET language = 'pt' WHERE reference = $1")
        .bind(&reference)
        .execute(&pool)
        .await
        .unwrap();
    let (c, _) = session(&app, bea.email).await;
    let (status, h, page) = get(&app, &c, &format!("/cases/{reference}")).await;
    assert_eq!(status, 200);
    // The hub entries for Brazil (CVV, 188) and the international ones,
    // as text ready to copy, and the script that adds "Insert" buttons.
    let hub = &page[page.find("hub-heading").unwrap()..];
    assert!(hub.contains("data-hub-entry"), "{hub}");
    assert!(hub.contains("CVV") && hub.contains("188"), "{hub}");
    assert!(hub.contains("international"), "global entries too: {hub}");
    assert!(page.contains(r#"<script src="/static/dashboard.js" defer></script>"#));
    assert!(!page.contains("onclick"), "no inline handlers");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    let (status, h, js) = get(&app, &c, "/static/dashboard.js").await;
    assert_eq!(status, 200);
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        js.contains("data-hub-entry") && js.contains("reply-text"),
        "{js}"
    );

    // The SLA clock: due in the future, then past due and marked.
    sqlx::query(
        "UPDATE tickets SET first_response_due_at = now() + interval '3 hours 30 minutes',
            first_responded_at = NULL, sla_breached_at = NULL WHERE reference = $1",
    )
    .bind(&reference)
    .execute(&pool)
    .await
    .unwrap();
    let (_, _, page) = get(&app, &c, &format!("/cases/{reference}")).await;
    let sla = &page[page.find(r#"<dd id="sla">"#).unwrap()..];
    let sla = &sla[..sla.find("</dd>").unwrap()];
    assert!(
        sla.contains("3 h 29 min left.") || sla.contains("3 h 30 min left."),
        "{sla}"
    );
    assert!(!sla.contains("Target missed"), "{sla}");
    sqlx::query(
        "UPDATE tickets SET first_response_due_at = now() - interval '2 hours 5 minutes',
            sla_breached_at = now() WHERE reference = $1",
    )
    .bind(&reference)
    .execute(&pool)
    .await
    .unwrap();
    let (_, _, page) = get(&app, &c, &format!("/cases/{reference}")).await;
    let sla = &page[page.find(r#"<dd id="sla">"#).unwrap()..];
    let sla = &sla[..sla.find("</dd>").unwrap()];
    assert!(
        sla.contains("Target missed.") && sla.contains("Overdue by 2 h 5 min."),
        "{sla}"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn notes_through_the_api(pool: PgPool) {
    let app = spawn(&pool).await;
    let bea = caseworker(&app, "bea@example.org", &["BR"], 5).await;
    let dirk = caseworker(&app, "dirk@example.org", &["DE"], 5).await;
    let own = case(&app, "ana@example.net", "Um").await;
    arrange(&pool, &own, "BR", bea.volunteer).await;
    let pool_case = case(&app, "rui@example.net", "Dois").await;
    arrange(&pool, &pool_case, "BR", None).await;
    let token = app.store.create_api_token("bea", bea.user).await.unwrap();
    let dtoken = app.store.create_api_token("dirk", dirk.user).await.unwrap();
    let path = format!("/api/v1/tickets/{own}/notes");

    let (status, body) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "text": "first call done" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["author_email"], bea.email);
    let (status, _) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "text": "" })),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "text": "x", "extra": 1 })),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused");
    let (status, body) = api(&app, &token, reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["text"], "first call done");
    // Visible but not hers: 403; another country's caseworker: 404.
    let (status, _) = api(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{pool_case}/notes"),
        Some(json!({ "text": "hello" })),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = api(&app, &dtoken, reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 404);
    let (status, _) = api(
        &app,
        &dtoken,
        reqwest::Method::POST,
        &path,
        Some(json!({ "text": "hello" })),
    )
    .await;
    assert_eq!(status, 404);
    let notes = app.store.notes(ticket_id(&pool, &own).await).await.unwrap();
    assert_eq!(notes.len(), 1);
    // The ticket's thread shows it as a note, not as mail.
    let t = app.ticket(&own).await;
    let directions: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, ["inbound", "note"]);
    assert_eq!(t["message_count"], 1);
    app.stop().await;
}
