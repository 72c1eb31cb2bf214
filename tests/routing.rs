//! Routing through apalis with real workers against a real Postgres:
//! assignment, the fallback chain, capacity under concurrency, queued cases
//! served when capacity frees, and takeover of a dead worker's job.

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, mail, smtp_send};
use concierge_store::{RouteOutcome, Store};
use sqlx::PgPool;
use uuid::Uuid;

const TO: &str = "global@concierge.example.org";

async fn add(store: &Store, email: &str, countries: &[&str], langs: &[&str], cap: i32) -> Uuid {
    let c: Vec<String> = countries.iter().map(|s| s.to_string()).collect();
    let l: Vec<String> = langs.iter().map(|s| s.to_string()).collect();
    store
        .add_volunteer(email, email, &c, &l, cap)
        .await
        .unwrap()
}

/// Waits until no route job is pending or running.
async fn settle(pool: &PgPool, limit: Duration) {
    let start = Instant::now();
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.route' AND status IN ('Pending','Queued','Running')",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if open == 0 {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{open} route jobs still open after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_assignee(
    app: &TestApp,
    reference: &str,
    limit: Duration,
) -> (serde_json::Value, Duration) {
    let start = Instant::now();
    loop {
        let t = app.ticket(reference).await;
        if !t["assignee"].is_null() {
            return (t, start.elapsed());
        }
        assert!(
            start.elapsed() < limit,
            "not assigned within {limit:?}: {t}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn mail_over_smtp_is_assigned_to_the_volunteer_for_its_country(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    add(
        &app.store,
        "lucia@concierge.example.org",
        &["BR", "PT"],
        &["pt", "en"],
        5,
    )
    .await;
    add(
        &app.store,
        "hans@concierge.example.org",
        &["DE", "AT"],
        &["de"],
        5,
    )
    .await;
    add(
        &app.store,
        "global@volunteers.example.org",
        &["*"],
        &["en"],
        50,
    )
    .await;

    let raw = mail(
        "Ana Souza <ana.souza@uol.com.br>",
        "Preciso de ajuda",
        "Olá, eu moro em São Paulo e estou passando por um momento muito difícil depois da turnê. Preciso conversar com alguém.\n\nAna\n+55 11 98765-4321",
        "Message-ID: <route-br@uol.com.br>\r\n",
    );
    let reply = smtp_send(app.smtp, "ana.souza@uol.com.br", &[TO], &raw).await;
    assert!(reply.starts_with("250"), "{reply}");
    let reference = reply.trim().rsplit(' ').next().unwrap().to_owned();
    let (t, took) = wait_assignee(&app, &reference, Duration::from_secs(5)).await;
    assert_eq!(t["country"], "BR", "{t}");
    assert_eq!(t["country_source"], "stated");
    assert!(t["country_confidence"].as_f64().unwrap() >= 0.5);
    assert_eq!(t["language"], "pt");
    assert_eq!(t["assignee"], "lucia@concierge.example.org");
    assert_eq!(t["status"], "assigned");
    assert_eq!(t["assignment_reason"], "covers BR, speaks pt, 0/5 active");
    assert_eq!(
        t["assignments"][0]["volunteer"],
        "lucia@concierge.example.org"
    );
    assert!(took < Duration::from_secs(2), "assignment took {took:?}");

    let raw = mail(
        "Lukas <lukas@web.de>",
        "Hilfe",
        "Hallo, ich wohne in Berlin und brauche Hilfe.\n\nLukas",
        "Message-ID: <route-de@web.de>\r\n",
    );
    let reply = smtp_send(app.smtp, "lukas@web.de", &[TO], &raw).await;
    let reference = reply.trim().rsplit(' ').next().unwrap().to_owned();
    let (t, _) = wait_assignee(&app, &reference, Duration::from_secs(5)).await;
    assert_eq!(t["country"], "DE");
    assert_eq!(t["assignee"], "hans@concierge.example.org");
    assert_eq!(
        app.tickets("assignee=hans@concierge.example.org")
            .await
            .len(),
        1
    );
    app.stop().await;
}

async fn ticket_for(app: &TestApp, from: &str, body: &str) -> (Uuid, String) {
    let raw = mail(
        from,
        "help",
        body,
        &format!("Message-ID: <{}@x.example>\r\n", Uuid::new_v4()),
    );
    let out = app
        .inbound
        .ingest(concierge_inbound::Delivery {
            source: concierge_store::InboundSource::Http,
            envelope_from: None,
            envelope_to: vec![],
            raw,
        })
        .await
        .unwrap();
    match out {
        concierge_store::IngestOutcome::Created {
            ticket_id,
            reference,
            ..
        } => (ticket_id, reference.to_string()),
        other => panic!("{other:?}"),
    }
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn fallback_chain_country_subregion_global_triage(pool: PgPool) {
    // Workers off: this test drives routing directly.
    let app = TestApp::spawn_with(common::database_url(&pool), |s| {
        s.worker.run_in_serve = false
    })
    .await;
    let ar = add(&app.store, "ar@v.example", &["AR"], &["es"], 5).await;
    let (chile, _) = ticket_for(
        &app,
        "a@b.example",
        "Hola, vivo en Santiago de Chile y necesito ayuda.",
    )
    .await;
    let (japan, _) = ticket_for(&app, "c@d.example", "Hi, I live in Tokyo and need help.").await;
    let (unknown, r_unknown) = ticket_for(&app, "e@f.example", "I need help please.").await;

    match app.store.route_ticket(chile).await.unwrap() {
        RouteOutcome::Assigned {
            volunteer_id,
            reason,
        } => {
            assert_eq!(volunteer_id, ar);
            assert!(reason.contains("South America"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        app.store.route_ticket(japan).await.unwrap(),
        RouteOutcome::Triage(_)
    ));
    let g = add(&app.store, "g@v.example", &["*"], &["en"], 5).await;
    assert_eq!(
        app.store.route_ticket(japan).await.unwrap(),
        RouteOutcome::Assigned {
            volunteer_id: g,
            reason: "global pool (nobody covers JP or its sub-region), speaks en, 0/5 active"
                .into()
        }
    );
    // Idempotent: routing again changes nothing.
    assert_eq!(
        app.store.route_ticket(japan).await.unwrap(),
        RouteOutcome::Skipped
    );
    assert!(
        matches!(app.store.route_ticket(unknown).await.unwrap(), RouteOutcome::Triage(r) if r == "country unknown")
    );
    let t = app.ticket(&r_unknown).await;
    assert_eq!(t["routing_state"], "triage");
    // A person sets the country: it overrides inference and reroutes.
    let res = TestApp::client()
        .patch(format!("http://{}/api/v1/tickets/{r_unknown}", app.http))
        .bearer_auth(&app.api_token)
        .json(&serde_json::json!({ "country": "AR" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let t: serde_json::Value = res.json().await.unwrap();
    assert_eq!(t["country"], "AR");
    assert_eq!(t["country_source"], "manual");
    assert!(
        matches!(app.store.route_ticket(unknown).await.unwrap(), RouteOutcome::Assigned { volunteer_id, .. } if volunteer_id == ar)
    );
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn capacity_holds_with_several_workers_and_queued_cases_are_served_later(pool: PgPool) {
    let url = common::database_url(&pool);
    let app = TestApp::spawn_with(url.clone(), |s| s.worker.run_in_serve = false).await;
    let caps = [7, 5, 3, 10];
    for (i, cap) in caps.iter().enumerate() {
        add(
            &app.store,
            &format!("v{i}@v.example"),
            &["BR"],
            &["pt"],
            *cap,
        )
        .await;
    }
    let total_cap: i32 = caps.iter().sum();
    let n = 300;
    let mut refs = Vec::new();
    for i in 0..n {
        let (_, r) = ticket_for(
            &app,
            &format!("p{i}@uol.com.br"),
            "Olá, moro no Brasil e preciso de ajuda.",
        )
        .await;
        refs.push(r);
    }
    // Three worker "processes", each with its own pool, racing on one queue.
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut workers = Vec::new();
    for w in 0..3 {
        let store = Store::connect_lazy(&url, 6).unwrap();
        let mut rx = stop_tx.subscribe();
        let cfg = concierge_jobs::WorkerConfig {
            name: format!("test-worker-{w}"),
            concurrency: 4,
            poll_every: Duration::from_millis(200),
            ..Default::default()
        };
        workers.push(tokio::spawn(concierge_jobs::run(
            store,
            cfg,
            None,
            async move {
                let _ = rx.recv().await;
            },
        )));
    }
    settle(&pool, Duration::from_secs(120)).await;

    let loads: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT v.email, v.capacity, count(t.id) FROM volunteers v
         LEFT JOIN tickets t ON t.assignee_id = v.id AND t.status NOT IN ('resolved','closed')
         GROUP BY v.email, v.capacity ORDER BY v.email",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (email, cap, load) in &loads {
        assert_eq!(*load, i64::from(*cap), "{email} has {load} of {cap}");
    }
    let (assigned, waiting): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE assignee_id IS NOT NULL), count(*) FILTER (WHERE routing_state = 'waiting') FROM tickets",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(assigned, i64::from(total_cap));
    assert_eq!(waiting, n - i64::from(total_cap));
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM assignments WHERE ended_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(live, assigned, "one live assignment per assigned case");

    // A caseworker resolves a case: the oldest waiting case takes its place.
    let busy: String = sqlx::query_scalar(
        "SELECT reference FROM tickets WHERE assignee_id IS NOT NULL ORDER BY created_at LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    for status in ["in_progress", "resolved"] {
        let res = TestApp::client()
            .patch(format!("http://{}/api/v1/tickets/{busy}", app.http))
            .bearer_auth(&app.api_token)
            .json(&serde_json::json!({ "status": status }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{status}");
    }
    // The freed slot goes to a waiting case: still full, one fewer waiting.
    settle(&pool, Duration::from_secs(30)).await;
    let (open_assigned, waiting_now): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE assignee_id IS NOT NULL AND status NOT IN ('resolved','closed')),
                count(*) FILTER (WHERE routing_state = 'waiting' AND assignee_id IS NULL) FROM tickets",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(open_assigned, i64::from(total_cap));
    assert_eq!(waiting_now, waiting - 1);
    // Raising a capacity serves more waiting cases.
    app.store
        .update_volunteer(
            "v2@v.example",
            &concierge_store::VolunteerChange {
                capacity: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    settle(&pool, Duration::from_secs(30)).await;
    let assigned_now: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL AND status NOT IN ('resolved','closed')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(assigned_now, i64::from(total_cap) + 2);

    let _ = stop_tx.send(());
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(20), w).await;
    }
    // Refused transitions are refused.
    let res = TestApp::client()
        .patch(format!("http://{}/api/v1/tickets/{busy}", app.http))
        .bearer_auth(&app.api_token)
        .json(&serde_json::json!({ "status": "waiting_on_requester" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        409,
        "resolved → waiting_on_requester is refused"
    );
    drop(refs);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn a_dead_workers_job_is_taken_over(pool: PgPool) {
    let url = common::database_url(&pool);
    let app = TestApp::spawn_with(url.clone(), |s| s.worker.run_in_serve = false).await;
    add(&app.store, "lucia@v.example", &["BR"], &["pt"], 5).await;
    let (_, reference) = ticket_for(
        &app,
        "ana@uol.com.br",
        "Olá, moro no Brasil e preciso de ajuda.",
    )
    .await;
    // A worker claimed the job and died: its lock stays, its heartbeat stops.
    sqlx::query(
        "INSERT INTO apalis.workers (id, worker_type, storage_name, layers, last_seen)
         VALUES ('dead-worker', 'concierge.route', 'PostgresStorage', '', now() - interval '1 hour')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let claimed = sqlx::query(
        "UPDATE apalis.jobs SET status = 'Running', lock_by = 'dead-worker', lock_at = now() - interval '1 hour', attempts = 1
         WHERE job_type = 'concierge.route'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(claimed.rows_affected(), 1);
    // The case is not routed while nobody takes over.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.ticket(&reference).await["assignee"].is_null());

    let store = Store::connect_lazy(&url, 4).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let cfg = concierge_jobs::WorkerConfig {
        name: "rescuer".into(),
        heartbeat: Duration::from_millis(500),
        missed_heartbeats: 2,
        poll_every: Duration::from_millis(200),
        ..Default::default()
    };
    let worker = tokio::spawn(concierge_jobs::run(store, cfg, None, async move {
        let _ = rx.await;
    }));
    let (t, _) = wait_assignee(&app, &reference, Duration::from_secs(30)).await;
    assert_eq!(t["assignee"], "lucia@v.example");
    assert_eq!(t["assignments"].as_array().unwrap().len(), 1);
    let _ = tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), worker).await;
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn missed_first_response_is_breached_and_offered_back(pool: PgPool) {
    let app = TestApp::spawn_with(common::database_url(&pool), |s| {
        s.worker.run_in_serve = false
    })
    .await;
    let slow = add(&app.store, "slow@v.example", &["BR"], &["pt"], 5).await;
    let other = add(&app.store, "other@v.example", &["BR"], &["pt"], 5).await;
    let (ticket, reference) = ticket_for(
        &app,
        "ana@uol.com.br",
        "Olá, moro no Brasil e preciso de ajuda.",
    )
    .await;
    let first = match app.store.route_ticket(ticket).await.unwrap() {
        RouteOutcome::Assigned { volunteer_id, .. } => volunteer_id,
        other => panic!("{other:?}"),
    };
    let second = if first == slow { other } else { slow };
    // A case answered in time is never breached.
    let (answered, _) = ticket_for(&app, "bia@uol.com.br", "Olá, moro no Brasil.").await;
    sqlx::query("UPDATE tickets SET first_responded_at = now(), first_response_due_at = now() - interval '1 hour' WHERE id = $1")
        .bind(answered)
        .execute(&pool)
        .await
        .unwrap();
    // The first response is now overdue and the caseworker has not acted.
    sqlx::query(
        "UPDATE tickets SET first_response_due_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(ticket)
    .execute(&pool)
    .await
    .unwrap();
    let (breached, _) = concierge_jobs::sweep_once(&app.store).await.unwrap();
    assert_eq!(breached, 1);
    // Idempotent: a second sweep (another process) finds nothing new.
    assert_eq!(concierge_jobs::sweep_once(&app.store).await.unwrap().0, 0);
    let t = app.ticket(&reference).await;
    assert!(!t["sla_breached_at"].is_null(), "{t}");
    assert!(t["assignee"].is_null(), "offered back to the pool: {t}");
    let notes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notifications WHERE kind = 'sla_breach' AND ticket_id = $1",
    )
    .bind(ticket)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(notes, 1, "coordinators are notified");
    // Rerouting gives it to someone else, not the caseworker who missed it.
    match app.store.route_ticket(ticket).await.unwrap() {
        RouteOutcome::Assigned { volunteer_id, .. } => assert_eq!(volunteer_id, second),
        other => panic!("{other:?}"),
    }
    let t = app.ticket(&reference).await;
    let history = t["assignments"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert!(
        history[0]["ended_reason"]
            .as_str()
            .unwrap()
            .contains("first-response target missed")
    );
    app.stop().await;
}
