//! The caseworkers' dashboard over real HTTP: login and logout, the queue
//! and case pages under the access policy, CSRF on every form, inbound
//! HTML sanitisation, security headers and the audit of case views.

mod common;

use std::time::Duration;

use common::dashboard::{
    PASSWORD, arrange, browser, case, caseworker, csrf_of, get, login, post, signed_in, spawn, user,
};
use concierge_access::Role;
use sqlx::PgPool;
use uuid::Uuid;

const GENERIC: &str = "The email address or password is not correct.";

fn assert_dashboard_headers(h: &reqwest::header::HeaderMap) {
    assert_eq!(
        h["content-security-policy"],
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn login_queue_and_logout(pool: PgPool) {
    let app = spawn(&pool).await;
    caseworker(&app, "bea@example.org", &["BR"], 10).await;
    let reference = case(&app, "ana@example.net", "Preciso de ajuda").await;
    arrange(&pool, &reference, "BR", None).await;

    // Not signed in: the pages send you to the login form.
    let c = browser();
    let (status, h, _) = get(&app, &c, "/").await;
    assert_eq!(status, 303);
    assert_eq!(h["location"], "/login");
    let (status, h, body) = get(&app, &c, "/login").await;
    assert_eq!(status, 200);
    assert_dashboard_headers(&h);
    assert!(body.contains(r#"<html lang="en">"#));
    assert!(body.contains(r#"<label for="email">"#) && body.contains(r#"id="email""#));
    assert!(body.contains(r#"<label for="password">"#) && body.contains(r#"id="password""#));

    // Wrong password and unknown address: the same generic answer, no cookie.
    for (email, pw) in [
        ("bea@example.org", "not the password at all"),
        ("nobody@example.org", PASSWORD),
    ] {
        let res = login(&app, &c, email, pw).await;
        assert_eq!(res.status(), 401);
        assert!(res.headers().get("set-cookie").is_none());
        assert_dashboard_headers(res.headers());
        let body = res.text().await.unwrap();
        assert!(body.contains(GENERIC), "{body}");
    }
    let (status, _, _) = get(&app, &c, "/").await;
    assert_eq!(status, 303, "still signed out");

    // The right password: a session cookie, and the queue shows the case.
    let res = login(&app, &c, "Bea@Example.org", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    // http.cookie_secure defaults to false (plain-http localhost): no
    // __Host- prefix, which browsers only accept on Secure cookies.
    assert!(cookie.starts_with("concierge_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let (status, h, body) = get(&app, &c, "/").await;
    assert_eq!(status, 200, "{body}");
    assert_dashboard_headers(&h);
    assert!(body.contains(&reference), "{body}");
    assert!(body.contains("Preciso de ajuda"));
    // Filters: by status and country, in SQL.
    let (_, _, body) = get(&app, &c, "/?status=new&country=br").await;
    assert!(body.contains(&reference), "{body}");
    let (_, _, body) = get(&app, &c, "/?status=resolved").await;
    assert!(!body.contains(&reference), "{body}");
    let (status, _, _) = get(&app, &c, "/?status=bogus").await;
    assert_eq!(status, 400);

    // Logging out needs the CSRF token, then ends the session.
    let csrf = csrf_of(&body);
    let (status, _, _) = post(&app, &c, "/logout", &[]).await;
    assert_eq!(status, 403);
    let (status, _, _) = post(&app, &c, "/logout", &[("csrf", "0".repeat(64).as_str())]).await;
    assert_eq!(status, 403);
    let (status, _, _) = get(&app, &c, "/").await;
    assert_eq!(status, 200, "a refused logout leaves the session alone");
    let (status, h, _) = post(&app, &c, "/logout", &[("csrf", csrf.as_str())]).await;
    assert_eq!(status, 303);
    assert_eq!(h["location"], "/login");
    let (status, h, _) = get(&app, &c, "/").await;
    assert_eq!(status, 303);
    assert_eq!(h["location"], "/login");
    // The old token is dead even if a copy of the cookie is replayed.
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    assert!(
        app.store
            .session_by_token(&token, Duration::from_secs(3600))
            .await
            .unwrap()
            .is_none()
    );
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn failed_logins_are_rate_limited(pool: PgPool) {
    let app = spawn(&pool).await;
    caseworker(&app, "bea@example.org", &["BR"], 10).await;
    let c = browser();
    for _ in 0..5 {
        let res = login(&app, &c, "bea@example.org", "wrong wrong wrong").await;
        assert_eq!(res.status(), 401);
    }
    // Now even the right password waits.
    let res = login(&app, &c, "bea@example.org", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("set-cookie").is_none());
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn caseworkers_see_and_change_only_what_the_policy_allows(pool: PgPool) {
    let app = spawn(&pool).await;
    let (_, bea) = caseworker(&app, "bea@example.org", &["BR"], 10).await;
    let (_, dirk) = caseworker(&app, "dirk@example.org", &["DE"], 10).await;
    let de_case = case(&app, "hans@example.net", "Hilfe").await;
    arrange(&pool, &de_case, "DE", Some(dirk)).await;
    let own = case(&app, "ana@example.net", "Meu caso").await;
    arrange(&pool, &own, "BR", Some(bea)).await;
    let pool_case = case(&app, "rui@example.net", "Sem dono").await;
    arrange(&pool, &pool_case, "BR", None).await;

    let c = signed_in(&app, "bea@example.org").await;
    let (status, _, queue) = get(&app, &c, "/").await;
    assert_eq!(status, 200);
    assert!(
        queue.contains(&own) && queue.contains(&pool_case),
        "{queue}"
    );
    assert!(!queue.contains(&de_case), "{queue}");
    let (_, _, filtered) = get(&app, &c, "/?country=DE").await;
    assert!(!filtered.contains(&de_case), "{filtered}");
    let csrf = csrf_of(&queue);

    // A colleague's case elsewhere: 404, exactly like a case that does not
    // exist, and no way to change it.
    let (status, h, body) = get(&app, &c, &format!("/cases/{de_case}")).await;
    assert_eq!(status, 404);
    assert_dashboard_headers(&h);
    assert!(!body.contains("Hilfe"));
    let (missing, _, _) = get(&app, &c, "/cases/C-ZZZZZZ").await;
    assert_eq!(missing, 404);
    let (status, _, _) = post(
        &app,
        &c,
        &format!("/cases/{de_case}/status"),
        &[("csrf", csrf.as_str()), ("status", "closed")],
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = post(
        &app,
        &c,
        &format!("/cases/{de_case}/reply"),
        &[("csrf", csrf.as_str()), ("text", "hello")],
    )
    .await;
    assert_eq!(status, 404);
    let t = app.ticket(&de_case).await;
    assert_eq!(t["status"], "assigned");
    assert_eq!(t["message_count"], 1);

    // An unassigned case of her country: visible, but taken before changed.
    let (status, _, body) = get(&app, &c, &format!("/cases/{pool_case}")).await;
    assert_eq!(status, 200);
    assert!(!body.contains("/status\""), "no change forms: {body}");
    let (status, _, _) = post(
        &app,
        &c,
        &format!("/cases/{pool_case}/status"),
        &[("csrf", csrf.as_str()), ("status", "closed")],
    )
    .await;
    assert_eq!(status, 403);

    // Her own case: every form needs the session's CSRF token.
    let path = format!("/cases/{own}/status");
    let (status, _, _) = post(&app, &c, &path, &[("status", "in_progress")]).await;
    assert_eq!(status, 403);
    let wrong = "f".repeat(64);
    let (status, _, _) = post(
        &app,
        &c,
        &path,
        &[("csrf", wrong.as_str()), ("status", "in_progress")],
    )
    .await;
    assert_eq!(status, 403);
    let reply = format!("/cases/{own}/reply");
    let (status, _, _) = post(&app, &c, &reply, &[("text", "Olá")]).await;
    assert_eq!(status, 403);
    assert_eq!(app.ticket(&own).await["status"], "assigned");
    // With it, the change goes through the state machine and back.
    let (status, h, _) = post(
        &app,
        &c,
        &path,
        &[("csrf", csrf.as_str()), ("status", "in_progress")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(h["location"], format!("/cases/{own}").as_str());
    assert_eq!(app.ticket(&own).await["status"], "in_progress");
    // An unknown status changes nothing.
    let (status, _, _) = post(
        &app,
        &c,
        &path,
        &[("csrf", csrf.as_str()), ("status", "new_status")],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(app.ticket(&own).await["status"], "in_progress");
    let (status, h, _) = post(
        &app,
        &c,
        &reply,
        &[("csrf", csrf.as_str()), ("text", "Olá, estamos aqui.")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(h["location"], format!("/cases/{own}").as_str());
    let t = app.ticket(&own).await;
    assert_eq!(t["message_count"], 2, "{t}");
    let (_, _, body) = get(&app, &c, &format!("/cases/{own}")).await;
    assert!(body.contains("Olá, estamos aqui."), "{body}");

    // Every change is audited.
    let actions: Vec<String> = app
        .store
        .list_audit(None, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(actions.contains(&"case.status".to_owned()), "{actions:?}");
    assert!(actions.contains(&"case.reply".to_owned()), "{actions:?}");
    app.stop().await;
}

const HOSTILE: &str = r#"<html><head><style>body { width: expression(alert(9)); }</style>
<link rel="stylesheet" href="http://evil.example/x.css"></head><body>
<p onclick="steal()">Please help me.</p>
<script>alert(1)</script>
<img src="x" onerror="alert(2)">
<a href="javascript:alert(3)">click me</a>
<svg><script>alert(4)</script></svg>
<img src="http://tracker.example/pixel.gif" alt="pixel">
<div style="background: expression(alert(5))">styled</div>
<iframe src="http://evil.example/frame"></iframe>
<p><b>Thank you</b></p>
</body></html>"#;

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn inbound_html_is_sanitised_and_views_are_audited(pool: PgPool) {
    let app = spawn(&pool).await;
    user(&app, "root@example.org", Role::Admin, None).await;
    let raw = format!(
        "From: mallory@example.net\r\nTo: global@concierge.example.org\r\n\
         Subject: Hostile\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{HOSTILE}\r\n"
    );
    let (status, body) = app
        .post_mime(raw.as_bytes(), Some(common::INBOUND_TOKEN))
        .await;
    assert!(status < 300, "{body}");
    let reference = body["reference"].as_str().unwrap().to_owned();

    let c = signed_in(&app, "root@example.org").await;
    let path = format!("/cases/{reference}");
    let (status, h, page) = get(&app, &c, &path).await;
    assert_eq!(status, 200, "{page}");
    assert_dashboard_headers(&h);
    assert!(page.contains("Please help me."), "{page}");
    assert!(page.contains("<b>Thank you</b>"), "{page}");
    // The dashboard's own script (served by us, allowed by `script-src
    // 'self'`) is the only script tag; nothing from the mail gets through.
    let own = r#"<script src="/static/dashboard.js" defer></script>"#;
    assert_eq!(page.matches(own).count(), 1, "{page}");
    let lower = page.replace(own, "").to_ascii_lowercase();
    for bad in [
        "<script",
        "alert(",
        "onerror",
        "onclick",
        "javascript:",
        "<svg",
        "tracker.example",
        "evil.example",
        "expression(",
        "<iframe",
        "<link",
    ] {
        assert!(!lower.contains(bad), "{bad} in the case page:\n{page}");
    }
    // The page's own <style> is the only one.
    assert_eq!(lower.matches("<style").count(), 1);

    // One audit record per view.
    let (status, _, _) = get(&app, &c, &path).await;
    assert_eq!(status, 200);
    let ticket_id: Uuid = sqlx::query_scalar("SELECT id FROM tickets WHERE reference = $1")
        .bind(&reference)
        .fetch_one(&pool)
        .await
        .unwrap();
    let views: Vec<_> = app
        .store
        .list_audit(Some(ticket_id), None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "case.view")
        .collect();
    assert_eq!(views.len(), 2, "{views:?}");
    assert!(
        views
            .iter()
            .all(|v| v.actor_email.as_deref() == Some("root@example.org"))
    );
    assert_eq!(views[0].detail["reference"], reference.as_str());
    app.stop().await;
}
