//! The dashboard queue over real HTTP: every filter, full-text search,
//! every order, keyset pagination that neither skips nor repeats a case,
//! the caseworker's scope, unread markers and hostile query strings.

mod common;

use std::collections::HashSet;

use common::dashboard::{caseworker, get_body, open_case, signed_in, spawn, user};
use concierge_access::Role;
use sqlx::PgPool;
use uuid::Uuid;

/// Opens a case from a mail; returns its reference.
async fn case(app: &common::TestApp, from: &str, subject: &str, body: &str) -> String {
    open_case(app, &common::mail(from, subject, body, "")).await
}

/// Sets what routing and triage would have set.
#[allow(clippy::too_many_arguments)]
async fn arrange(
    pool: &PgPool,
    reference: &str,
    country: &str,
    assignee: Option<Uuid>,
    status: &str,
    priority: &str,
    language: &str,
    minutes_ago: i64,
) {
    sqlx::query(
        "UPDATE tickets SET country = $2, assignee_id = $3, status = $4, priority = $5,
                language = $6, updated_at = now() - make_interval(mins => $7::int),
                created_at = now() - make_interval(mins => $7::int + 5),
                first_response_due_at = now() + make_interval(mins => 600 - $7::int)
         WHERE reference = $1",
    )
    .bind(reference)
    .bind(country)
    .bind(assignee)
    .bind(status)
    .bind(priority)
    .bind(language)
    .bind(minutes_ago as i32)
    .execute(pool)
    .await
    .unwrap();
}

/// References listed on a queue page, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("<a href=\"/cases/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

fn v(refs: &[&String]) -> Vec<String> {
    refs.iter().map(|r| (*r).clone()).collect()
}

fn next_href(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\"")?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = html[start..].find('"')?;
    Some(
        html[start..start + end]
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn filters_search_and_orders(pool: PgPool) {
    let app = spawn(&pool).await;
    user(&app, "coord@example.org", Role::Coordinator, None).await;
    let (_, bea) = caseworker(&app, "bea@example.org", &["BR"], 100).await;

    let insomnia = case(
        &app,
        "ana@example.net",
        "Preciso de ajuda",
        "Não consigo dormir: insônia desde a turnê.",
    )
    .await;
    let panic = case(
        &app,
        "lukas@example.net",
        "Panikattacken",
        "Seit der Tour habe ich Panikattacken.",
    )
    .await;
    let grief = case(
        &app,
        "sam@example.net",
        "Lost my brother",
        "My brother died last month and I cannot play.",
    )
    .await;
    let urgent = case(&app, "mia@example.net", "Tonight", "I am not safe tonight.").await;
    arrange(
        &pool,
        &insomnia,
        "BR",
        Some(bea),
        "assigned",
        "normal",
        "pt",
        10,
    )
    .await;
    arrange(&pool, &panic, "DE", None, "new", "high", "de", 20).await;
    arrange(&pool, &grief, "GB", None, "resolved", "low", "en", 30).await;
    arrange(&pool, &urgent, "AU", None, "new", "urgent", "en", 40).await;
    sqlx::query("UPDATE tickets SET sla_breached_at = now() WHERE reference = $1")
        .bind(&urgent)
        .execute(&pool)
        .await
        .unwrap();

    let c = signed_in(&app, "coord@example.org").await;
    let cases = |path: &'static str| {
        let (app, c) = (&app, &c);
        async move {
            let (status, html) = get_body(app, c, path).await;
            assert_eq!(status, 200, "{path}: {html}");
            listed(&html)
        }
    };
    // Default: most recently updated first.
    assert_eq!(cases("/").await, v(&[&insomnia, &panic, &grief, &urgent]));
    assert_eq!(
        cases("/?sort=oldest").await,
        v(&[&urgent, &grief, &panic, &insomnia])
    );
    assert_eq!(
        cases("/?sort=created").await,
        v(&[&insomnia, &panic, &grief, &urgent])
    );
    // Due soonest: the oldest case has the earliest due time.
    assert_eq!(
        cases("/?sort=due").await,
        v(&[&urgent, &grief, &panic, &insomnia])
    );
    assert_eq!(
        cases("/?status=open").await,
        v(&[&insomnia, &panic, &urgent])
    );
    assert_eq!(cases("/?status=resolved").await, v(&[&grief]));
    assert_eq!(cases("/?country=de").await, v(&[&panic]));
    assert_eq!(cases("/?priority=urgent").await, v(&[&urgent]));
    assert_eq!(cases("/?language=pt").await, v(&[&insomnia]));
    assert_eq!(cases("/?breached=1").await, v(&[&urgent]));
    assert_eq!(
        cases("/?assignee=none&status=open").await,
        v(&[&panic, &urgent])
    );
    assert_eq!(cases("/?assignee=bea%40example.org").await, v(&[&insomnia]));
    // Full text over bodies and subjects, any language, several words.
    assert_eq!(cases("/?q=brother").await, v(&[&grief]));
    assert_eq!(cases("/?q=Panikattacken").await, v(&[&panic]));
    assert_eq!(cases("/?q=ins%C3%B4nia").await, v(&[&insomnia]));
    assert_eq!(cases("/?q=not+safe+tonight").await, v(&[&urgent]));
    assert!(cases("/?q=nothing+like+this").await.is_empty());
    // A reference or a requester's address finds the case too.
    let by_ref = format!("/?q={}", panic.to_lowercase());
    let (_, html) = get_body(&app, &c, &by_ref).await;
    assert_eq!(listed(&html), v(&[&panic]));
    let (_, html) = get_body(&app, &c, "/?q=sam%40example.net").await;
    assert_eq!(listed(&html), v(&[&grief]));
    // Filters combine.
    assert_eq!(
        cases("/?status=open&language=en&priority=urgent&country=AU").await,
        v(&[&urgent])
    );

    // The caseworker: their own case and BR's unassigned ones only, whatever
    // the filter says.
    let other = case(&app, "joao@example.net", "Oi", "Moro em São Paulo").await;
    arrange(&pool, &other, "BR", None, "new", "normal", "pt", 5).await;
    let cw = signed_in(&app, "bea@example.org").await;
    for (path, want) in [
        ("/", vec![&other, &insomnia]),
        ("/?assignee=me", vec![&insomnia]),
        ("/?country=DE", Vec::<&String>::new()),
        ("/?q=Panikattacken", vec![]),
        ("/?assignee=none", vec![&other]),
        ("/?breached=1", vec![]),
    ] {
        let (status, html) = get_body(&app, &cw, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(listed(&html), v(&want), "{path}");
    }
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn pages_neither_skip_nor_repeat(pool: PgPool) {
    let app = spawn(&pool).await;
    user(&app, "coord@example.org", Role::Coordinator, None).await;
    let mut all = HashSet::new();
    for i in 0..23 {
        let r = case(
            &app,
            &format!("p{i}@example.net"),
            &format!("Case {i}"),
            "Hello",
        )
        .await;
        all.insert(r);
    }
    // Ties on the sort key: pagination must still be total (id breaks them).
    sqlx::query("UPDATE tickets SET updated_at = '2026-11-01T00:00:00Z', first_response_due_at = NULL WHERE subject LIKE 'Case 1%'")
        .execute(&pool)
        .await
        .unwrap();
    let c = signed_in(&app, "coord@example.org").await;
    for sort in ["updated", "oldest", "created", "due"] {
        let mut seen = Vec::new();
        let mut path = format!("/?sort={sort}&per_page=5");
        let mut pages = 0;
        loop {
            let (status, html) = get_body(&app, &c, &path).await;
            assert_eq!(status, 200, "{path}: {html}");
            let refs = listed(&html);
            assert!(
                refs.len() <= 5,
                "{refs:?} {path} {}",
                &html[html.len().saturating_sub(600)..]
            );
            seen.extend(refs);
            pages += 1;
            match next_href(&html) {
                Some(n) => {
                    assert!(n.contains(&format!("sort={sort}")), "{n}");
                    path = n;
                }
                None => break,
            }
            assert!(pages < 20, "pagination does not end");
        }
        assert_eq!(seen.len(), all.len(), "{sort}: {seen:?}");
        assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), all, "{sort}");
    }
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn unread_markers_follow_the_viewer(pool: PgPool) {
    let app = spawn(&pool).await;
    user(&app, "coord@example.org", Role::Coordinator, None).await;
    user(&app, "admin@example.org", Role::Admin, None).await;
    let r = case(&app, "ana@example.net", "Preciso de ajuda", "Olá").await;
    let c = signed_in(&app, "coord@example.org").await;
    let a = signed_in(&app, "admin@example.org").await;
    let marked = |html: &str| html.contains("class=\"unread\"");

    let (_, html) = get_body(&app, &c, "/").await;
    assert!(marked(&html), "never opened: unread");
    let (status, _) = get_body(&app, &c, &format!("/cases/{r}")).await;
    assert_eq!(status, 200);
    let (_, html) = get_body(&app, &c, "/").await;
    assert!(!marked(&html), "opened: read");
    let (_, html) = get_body(&app, &a, "/").await;
    assert!(marked(&html), "another user has not read it");

    // A new message on the case: unread again for the coordinator.
    let raw = common::mail(
        "ana@example.net",
        &format!("Re: Preciso de ajuda [{r}]"),
        "Ainda preciso de ajuda.",
        "",
    );
    let (status, _) = app.post_mime(&raw, Some(common::INBOUND_TOKEN)).await;
    assert!((200..300).contains(&status));
    let (_, html) = get_body(&app, &c, "/").await;
    assert!(marked(&html), "updated since read");
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn hostile_query_strings_get_a_400_with_a_message(pool: PgPool) {
    let app = spawn(&pool).await;
    user(&app, "coord@example.org", Role::Coordinator, None).await;
    let r = case(&app, "ana@example.net", "Hello <b>there</b>", "x").await;
    let c = signed_in(&app, "coord@example.org").await;
    for path in [
        "/?status=deleted",
        "/?country=BRA",
        "/?sort=random()",
        "/?after=1~not-a-uuid",
        "/?priority=%27%3B+DROP+TABLE+tickets%3B--",
        "/?breached=yes%20please",
        "/?per_page=100000",
    ] {
        let (status, html) = get_body(&app, &c, path).await;
        assert_eq!(status, 400, "{path}");
        assert!(html.contains("class=\"error\""), "{path}: {html}");
    }
    let long = format!("/?q={}", "a".repeat(600));
    assert_eq!(get_body(&app, &c, &long).await.0, 400);
    // Search text that is SQL, tsquery syntax or markup: a plain search.
    for q in [
        "%27+OR+1%3D1--",
        "%21%26%7C%3A*%28",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ] {
        let (status, html) = get_body(&app, &c, &format!("/?q={q}")).await;
        assert_eq!(status, 200, "{q}");
        assert!(!html.contains("<script>alert(1)"), "the search box escapes");
    }
    // Subjects are escaped in the list.
    let (_, html) = get_body(&app, &c, "/").await;
    assert!(
        html.contains("Hello &lt;b&gt;there&lt;/b&gt;") || html.contains("Hello &#60;b&#62;"),
        "{html}"
    );
    assert!(listed(&html).contains(&r));
    // Tickets are all still there.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
