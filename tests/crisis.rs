//! The crisis lane end to end (issue 13), over real SMTP on loopback: an
//! imminent-risk message from Brazil gets an acknowledgement that starts
//! with CVV 188 in Portuguese, the person on call gets a content-free
//! urgent notice, the case is urgent and pinned until someone acknowledges
//! it, escalation mail goes to every coordinator while nobody does, and a
//! person acknowledging or changing the risk is audited.

mod common;

use std::time::{Duration, Instant};

use common::{Sink, TestApp, mail, smtp_send};
use concierge_access::Role;
use concierge_core::risk::RiskLevel;
use mail_parser::MessageParser;
use sqlx::PgPool;

const TO: &str = "global@concierge.example.org";
const WRITER: &str = "joao.silva@uol.com.br";
const BODY: &str = "Oi. Sou baterista, moro em São Paulo. Não aguento mais. \
                    Hoje depois do show eu vou me matar. Só queria que alguém soubesse.";

fn text_of(env: &concierge_smtp::Envelope) -> String {
    let m = MessageParser::default().parse(&env.data).unwrap();
    m.body_text(0).unwrap().into_owned()
}

fn subject_of(env: &concierge_smtp::Envelope) -> String {
    let m = MessageParser::default().parse(&env.data).unwrap();
    m.subject().unwrap_or_default().to_owned()
}

/// Nothing the writer wrote, and nothing that names them.
fn assert_content_free(env: &concierge_smtp::Envelope) {
    let raw = String::from_utf8_lossy(&env.data);
    for leak in ["matar", "baterista", "joao", "Silva", "show", "Preciso"] {
        assert!(!raw.contains(leak), "{leak:?} leaked into:\n{raw}");
    }
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn imminent_risk_from_brazil_goes_through_the_urgent_lane(pool: PgPool) {
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    concierge::hub::import(&app.store, &common::settings("").hub.file)
        .await
        .unwrap();
    // Ana is on call for South America; Lena for Germany only; Chris is a
    // coordinator, not on call.
    let ana = common::dashboard::user(&app, "ana@charity.example", Role::Coordinator, None).await;
    common::dashboard::user(&app, "lena@charity.example", Role::Coordinator, None).await;
    common::dashboard::user(&app, "chris@charity.example", Role::Coordinator, None).await;
    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    app.store
        .add_on_call(
            "ana@charity.example",
            "South America",
            now - hour,
            now + hour,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    app.store
        .add_on_call("lena@charity.example", "DE", now - hour, now + hour, None)
        .await
        .unwrap()
        .unwrap();

    // A calm case from the same country first: it must stay normal.
    let calm = mail(
        "Maria <maria@uol.com.br>",
        "Terapia",
        "Oi, moro no Rio e queria indicação de terapia para músicos.",
        "Message-ID: <calm@uol.com.br>\r\n",
    );
    let r = smtp_send(app.smtp, "maria@uol.com.br", &[TO], &calm).await;
    assert!(r.starts_with("250"), "{r}");
    let calm_ref = r.trim().rsplit(' ').next().unwrap().to_owned();

    let raw = mail(
        "João Silva <joao.silva@uol.com.br>",
        "Preciso falar",
        BODY,
        "Message-ID: <crisis-br@uol.com.br>\r\n",
    );
    let sent = Instant::now();
    let reply = smtp_send(app.smtp, WRITER, &[TO], &raw).await;
    assert!(reply.starts_with("250"), "{reply}");
    let reference = reply.trim().rsplit(' ').next().unwrap().to_owned();

    // The acknowledgement leads with CVV 188, then the emergency number,
    // in Portuguese, before anything else.
    let got = sink.wait_for(WRITER, 1, Duration::from_secs(20)).await;
    let took = sent.elapsed();
    let ack = text_of(&got[0]);
    let mut lines = ack.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("CVV") && first.contains("188"),
        "the acknowledgement must start with CVV 188:\n{ack}"
    );
    assert_eq!(lines.next().unwrap(), "Emergência: 192", "{ack}");
    assert!(ack.contains("ligue já"), "Portuguese:\n{ack}");
    assert!(ack.contains(&reference), "{ack}");
    println!("urgent acknowledgement handed to the relay after {took:?}");
    // Its jobs (the acknowledgement and the on-call notice) go ahead of any
    // backlog in the queue; the calm case's acknowledgement does not.
    let jobs: Vec<(String, i32)> = sqlx::query_as(
        "SELECT convert_from(job, 'UTF8'), coalesce(priority, 0) FROM apalis.jobs
         WHERE job_type = 'concierge.mail'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let id_of = |r: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM tickets WHERE reference = $1")
                .bind(r)
                .fetch_one(&pool)
                .await
                .unwrap()
                .to_string()
        }
    };
    let crisis_id = id_of(reference.clone()).await;
    let calm_id = id_of(calm_ref.clone()).await;
    let priority = |id: &str, kind: &str| {
        jobs.iter()
            .find(|(j, _)| j.contains(id) && j.contains(&format!("\"kind\":\"{kind}\"")))
            .map(|(_, p)| *p)
    };
    assert_eq!(
        priority(&crisis_id, "ack"),
        Some(concierge_store::URGENT_PRIORITY),
        "{jobs:?}"
    );
    assert_eq!(
        priority(&crisis_id, "urgent"),
        Some(concierge_store::URGENT_PRIORITY)
    );
    assert_eq!(priority(&calm_id, "ack"), Some(0));

    // Ana (on call for South America) gets the urgent notice; Lena (on call
    // for Germany) does not; nothing from the message is in it.
    let notice = sink
        .wait_for("ana@charity.example", 1, Duration::from_secs(20))
        .await;
    assert_eq!(subject_of(&notice[0]), format!("Urgent case {reference}"));
    let body = text_of(&notice[0]);
    assert!(body.contains(&format!("/cases/{reference}")), "{body}");
    assert_content_free(&notice[0]);
    assert!(sink.to("lena@charity.example").is_empty());
    assert!(sink.to("chris@charity.example").is_empty());

    // Urgent, imminent, with the evidence in the API; the calm case is not.
    let t = app.ticket(&reference).await;
    assert_eq!(t["priority"], "urgent", "{t}");
    assert_eq!(t["risk"], "imminent", "{t}");
    assert_eq!(t["risk_acknowledged"], false);
    let m = &t["messages"][0];
    assert_eq!(m["risk"], "imminent");
    let evidence = m["risk_evidence"].as_array().unwrap();
    assert!(!evidence.is_empty());
    assert!(
        evidence
            .iter()
            .any(|e| e["rule_id"].as_str().unwrap().starts_with("pt.")
                && e["phrase"].as_str().unwrap().contains("matar"))
    );
    let calm_t = app.ticket(&calm_ref).await;
    assert_eq!(calm_t["priority"], "normal");
    assert_eq!(calm_t["risk"], "none");
    assert_eq!(
        calm_t["first_response_due_at"]
            .as_str()
            .map(|s| !s.is_empty()),
        Some(true)
    );

    // Pinned: the pin query returns it and not the calm case.
    let (id, _) = app.store.case_scope(&reference).await.unwrap().unwrap();
    assert_eq!(app.store.pinned_cases().await.unwrap(), vec![id]);

    // Nobody acknowledges: when the target passes (the clock is moved, not
    // waited for), every coordinator is mailed, content-free, threaded on
    // the case's root id; again on the next round.
    sqlx::query("UPDATE tickets SET risk_escalate_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let n = concierge_jobs::escalate_once(&app.store, Duration::from_secs(900))
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Not due again until the repeat period has passed.
    assert_eq!(
        concierge_jobs::escalate_once(&app.store, Duration::from_secs(900))
            .await
            .unwrap(),
        0
    );
    for who in [
        "ana@charity.example",
        "lena@charity.example",
        "chris@charity.example",
    ] {
        let want = if who.starts_with("ana") { 2 } else { 1 };
        let got = sink.wait_for(who, want, Duration::from_secs(20)).await;
        let esc = got.last().unwrap();
        assert_eq!(
            subject_of(esc),
            format!("Urgent case {reference} not acknowledged (reminder 1)")
        );
        assert_content_free(esc);
        let m = MessageParser::default().parse(&esc.data).unwrap();
        assert_eq!(
            m.in_reply_to().as_text(),
            Some(format!("lane.{reference}@concierge.example.org").as_str())
        );
    }

    // Ana acknowledges: audited, unpinned, no more escalation.
    assert!(app.store.acknowledge_risk(id, ana).await.unwrap());
    assert!(!app.store.acknowledge_risk(id, ana).await.unwrap());
    assert!(app.store.pinned_cases().await.unwrap().is_empty());
    sqlx::query("UPDATE tickets SET risk_escalate_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        concierge_jobs::escalate_once(&app.store, Duration::from_secs(900))
            .await
            .unwrap(),
        0,
        "an acknowledged case is not escalated"
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'risk.acknowledge' AND ticket_id = $1 AND actor_user_id = $2",
    )
    .bind(id)
    .bind(ana)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // A person lowers the risk with a reason (audited); a later imminent
    // message raises it again and pins the case again; the system never
    // lowers it (a calm reply leaves it imminent).
    assert!(
        app.store
            .set_risk(id, ana, RiskLevel::Concern, "", 15)
            .await
            .is_err(),
        "a reason is required"
    );
    app.store
        .set_risk(
            id,
            ana,
            RiskLevel::Concern,
            "spoke with him by phone; safe with family",
            15,
        )
        .await
        .unwrap();
    assert_eq!(app.ticket(&reference).await["risk"], "concern");
    let again = mail(
        "João Silva <joao.silva@uol.com.br>",
        &format!("Re: Preciso falar [{reference}]"),
        "Tomei um monte de remédio faz uma hora.",
        "Message-ID: <crisis-br-2@uol.com.br>\r\n",
    );
    let r = smtp_send(app.smtp, WRITER, &[TO], &again).await;
    assert!(r.trim().ends_with(&reference), "{r}");
    assert_eq!(app.ticket(&reference).await["risk"], "imminent");
    assert_eq!(app.store.pinned_cases().await.unwrap(), vec![id]);
    // The reply gets its own urgent acknowledgement, threaded on it.
    let got = sink.wait_for(WRITER, 2, Duration::from_secs(20)).await;
    let m = MessageParser::default().parse(&got[1].data).unwrap();
    assert_eq!(m.in_reply_to().as_text(), Some("crisis-br-2@uol.com.br"));
    assert!(text_of(&got[1]).starts_with("CVV"));
    let calm_reply = mail(
        "João Silva <joao.silva@uol.com.br>",
        &format!("Re: Preciso falar [{reference}]"),
        "Obrigado pela resposta.",
        "Message-ID: <crisis-br-3@uol.com.br>\r\n",
    );
    smtp_send(app.smtp, WRITER, &[TO], &calm_reply).await;
    let t = app.ticket(&reference).await;
    assert_eq!(t["risk"], "imminent");
    assert_eq!(t["priority"], "urgent");
    let changes: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'risk.set' AND ticket_id = $1",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["from"], "imminent");
    assert_eq!(changes[0]["to"], "concern");
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn nobody_on_call_means_every_coordinator_and_breaches_are_mailed(pool: PgPool) {
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    common::dashboard::user(&app, "chris@charity.example", Role::Coordinator, None).await;
    common::dashboard::user(&app, "admin2@charity.example", Role::Admin, None).await;

    let raw = mail(
        "Someone <someone@example.net>",
        "goodbye",
        "I took a bunch of pills an hour ago. I just wanted someone to know.",
        "Message-ID: <crisis-en@example.net>\r\n",
    );
    let r = smtp_send(app.smtp, "someone@example.net", &[TO], &raw).await;
    let reference = r.trim().rsplit(' ').next().unwrap().to_owned();
    let notice = sink
        .wait_for("chris@charity.example", 1, Duration::from_secs(20))
        .await;
    assert_eq!(subject_of(&notice[0]), format!("Urgent case {reference}"));
    // Admins are told only when there is no coordinator.
    assert!(sink.to("admin2@charity.example").is_empty());

    // A normal case that misses its first-response target: one breach mail
    // per coordinator, content-free, once.
    let calm = mail(
        "Pat <pat@example.net>",
        "therapist",
        "Looking for a therapist who knows touring life.",
        "Message-ID: <calm-en@example.net>\r\n",
    );
    let r = smtp_send(app.smtp, "pat@example.net", &[TO], &calm).await;
    let calm_ref = r.trim().rsplit(' ').next().unwrap().to_owned();
    // Routing sets the case's target; move it into the past only after.
    let routed = std::time::Instant::now();
    loop {
        let state: String =
            sqlx::query_scalar("SELECT routing_state FROM tickets WHERE reference = $1")
                .bind(&calm_ref)
                .fetch_one(&pool)
                .await
                .unwrap();
        if state != "pending" {
            break;
        }
        assert!(routed.elapsed() < Duration::from_secs(20), "not routed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sqlx::query(
        "UPDATE tickets SET first_response_due_at = now() - interval '1 minute' WHERE reference = $1",
    )
    .bind(&calm_ref)
    .execute(&pool)
    .await
    .unwrap();
    // This sweep or the app's own (on its timer) marks it; either way once.
    concierge_jobs::sweep_once(&app.store).await.unwrap();
    let breached: bool =
        sqlx::query_scalar("SELECT sla_breached_at IS NOT NULL FROM tickets WHERE reference = $1")
            .bind(&calm_ref)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(breached);
    let got = sink
        .wait_for("chris@charity.example", 2, Duration::from_secs(20))
        .await;
    let breach = got
        .iter()
        .find(|e| subject_of(e).contains("missed its first-response target"))
        .expect("breach mail");
    assert_eq!(
        subject_of(breach),
        format!("Case {calm_ref} missed its first-response target")
    );
    let raw = String::from_utf8_lossy(&breach.data);
    assert!(!raw.contains("touring") && !raw.contains("pat@"), "{raw}");
    assert_eq!(concierge_jobs::sweep_once(&app.store).await.unwrap().0, 0);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn the_dashboard_pins_an_urgent_case_until_someone_acknowledges_it(pool: PgPool) {
    use common::dashboard::{get_body, post_body, session};
    let sink = Sink::start().await;
    let app = TestApp::with_relay(&pool, &sink).await;
    common::dashboard::user(&app, "chris@charity.example", Role::Coordinator, None).await;
    // A caseworker of another country sees neither the case nor its pin.
    common::dashboard::caseworker(&app, "kim@charity.example", &["KR"], 5).await;
    let raw = mail(
        "João Silva <joao.silva@uol.com.br>",
        "Preciso falar",
        BODY,
        "Message-ID: <crisis-dash@uol.com.br>\r\n",
    );
    let r = smtp_send(app.smtp, WRITER, &[TO], &raw).await;
    let reference = r.trim().rsplit(' ').next().unwrap().to_owned();
    let calm = common::dashboard::case(&app, "pat@example.net", "therapist").await;

    let (c, csrf) = session(&app, "chris@charity.example").await;
    // Pinned above the queue on every filter, also one that excludes it.
    for path in ["/", "/?status=resolved", "/?sort=oldest"] {
        let (status, page) = get_body(&app, &c, path).await;
        assert_eq!(status, 200);
        let banner = page
            .split(r#"class="urgent-banner""#)
            .nth(1)
            .unwrap_or_else(|| panic!("no banner on {path}"));
        let banner = banner.split("</section>").next().unwrap();
        assert!(banner.contains(&reference), "{banner}");
        assert!(!banner.contains(&calm), "{banner}");
    }
    let (kc, _) = session(&app, "kim@charity.example").await;
    let (_, page) = get_body(&app, &kc, "/").await;
    assert!(
        !page.contains(&reference),
        "another country's caseworker sees no pin"
    );

    // The case page shows the banner, the rule that fired and the phrase.
    let (status, page) = get_body(&app, &c, &format!("/cases/{reference}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Imminent risk: nobody has acknowledged it yet"));
    assert!(page.contains("<code>pt."), "the rule id is shown");
    assert!(page.contains("matar"), "the matched phrase is shown");

    // Changing the risk needs a reason.
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/cases/{reference}/risk"),
        &[("csrf", &csrf), ("level", "concern"), ("reason", " ")],
    )
    .await;
    assert_eq!(status, 400);
    // Acknowledging without the CSRF token is refused.
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/cases/{reference}/risk/acknowledge"),
        &[],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/cases/{reference}/risk/acknowledge"),
        &[("csrf", &csrf)],
    )
    .await;
    assert!(status == 303 || status == 200, "{status}");
    let (_, page) = get_body(&app, &c, "/").await;
    assert!(
        !page.contains(r#"class="urgent-banner""#),
        "unpinned once acknowledged"
    );
    let (_, page) = get_body(&app, &c, &format!("/cases/{reference}")).await;
    assert!(!page.contains("nobody has acknowledged it yet"));
    assert!(page.contains("imminent"), "the assessment stays visible");
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn admins_manage_the_rota_in_the_dashboard(pool: PgPool) {
    use common::dashboard::{get_body, post_body, session};
    let app = TestApp::spawn(&pool).await;
    common::dashboard::user(&app, "root@charity.example", Role::Admin, None).await;
    common::dashboard::user(&app, "ana@charity.example", Role::Coordinator, None).await;
    let (c, csrf) = session(&app, "root@charity.example").await;
    let (status, page) = get_body(&app, &c, "/admin/oncall").await;
    assert_eq!(status, 200);
    assert!(page.contains("Nobody is on call."));
    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let until = (now + chrono::Duration::hours(8))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    // A region that is not one is refused with a message; nothing is added.
    let (status, page) = post_body(
        &app,
        &c,
        "/admin/oncall",
        &[
            ("csrf", &csrf),
            ("user", "ana@charity.example"),
            ("region", "Atlantis"),
            ("from", &from),
            ("until", &until),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("unknown on-call region"), "{page}");
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/oncall",
        &[
            ("csrf", &csrf),
            ("user", "ana@charity.example"),
            ("region", "south america"),
            ("from", &from),
            ("until", &until),
        ],
    )
    .await;
    assert!(status == 303 || status == 200, "{status}");
    let shifts = app.store.on_call_now().await.unwrap();
    assert_eq!(shifts.len(), 1);
    assert_eq!(shifts[0].email, "ana@charity.example");
    assert_eq!(shifts[0].region, "South America");
    let (_, page) = get_body(&app, &c, "/admin/oncall").await;
    assert!(
        page.contains("ana@charity.example (coordinator) <strong>(on call now)</strong>"),
        "{page}"
    );
    // A coordinator cannot reach the page.
    let (cc, ccsrf) = session(&app, "ana@charity.example").await;
    assert_eq!(get_body(&app, &cc, "/admin/oncall").await.0, 404);
    let id = shifts[0].id.to_string();
    assert_eq!(
        post_body(
            &app,
            &cc,
            &format!("/admin/oncall/{id}/remove"),
            &[("csrf", &ccsrf)]
        )
        .await
        .0,
        404
    );
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/oncall/{id}/remove"),
        &[("csrf", &csrf)],
    )
    .await;
    assert!(status == 303 || status == 200, "{status}");
    assert!(app.store.on_call_now().await.unwrap().is_empty());
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action IN ('on_call.add', 'on_call.remove')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    app.stop().await;
}
