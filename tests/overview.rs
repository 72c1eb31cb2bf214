//! The overview (`/overview`) and the audit log (`/admin/audit`) over real
//! HTTP: cases that arrived through the real ingest, arranged across
//! countries, statuses and volunteers; the figures read back from the
//! pages' tables; a caseworker's page limited to their scope; the audit
//! log for admins only, filtered, paginated and escaped.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, Utc};
use common::TestApp;
use common::dashboard::{browser, get_body, open_case, signed_in, spawn, user, volunteer_user};
use concierge_access::Role;
use concierge_store::VolunteerChange;
use sqlx::PgPool;
use uuid::Uuid;

const HOSTILE: &str = "<script>alert('x')</script>";

/// Opens a case through the real HTTP ingest; returns its reference.
async fn case(app: &TestApp, n: usize) -> String {
    let raw = common::mail(
        &format!("person{n}@example.net"),
        &format!("Case number {n}"),
        "I need someone to talk to.",
        "",
    );
    open_case(app, &raw).await
}

/// Puts a case in a country and status, assigned to `assignee` or nobody.
async fn arrange(
    pool: &PgPool,
    reference: &str,
    country: Option<&str>,
    status: &str,
    assignee: Option<Uuid>,
) {
    let done = sqlx::query(
        "UPDATE tickets SET country = $2, status = $3, assignee_id = $4 WHERE reference = $1",
    )
    .bind(reference)
    .bind(country)
    .bind(status)
    .bind(assignee)
    .execute(pool)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
}

/// Decodes the character references an HTML escaper writes (named ones
/// and numeric ones, which askama uses).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';').filter(|e| *e <= 8) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let name = &tail[1..end];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            n => n
                .strip_prefix('#')
                .and_then(|d| d.parse::<u32>().ok())
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of an HTML fragment without its tags, entities decoded.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(out.trim())
}

/// The rows of the table with this id, each a list of cell texts (header
/// row first); `None` when the page has no such table.
fn table(page: &str, id: &str) -> Option<Vec<Vec<String>>> {
    let start = page.find(&format!(r#"<table id="{id}""#))?;
    let end = start + page[start..].find("</table>")?;
    let body = &page[start..end];
    let rows = body
        .split("<tr")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap_or(row.len())];
            let mut cells = Vec::new();
            let mut rest = row;
            while let Some(i) = rest.find(['<']) {
                let tail = &rest[i..];
                let close = if tail.starts_with("<td") {
                    "</td>"
                } else if tail.starts_with("<th") {
                    "</th>"
                } else {
                    rest = &tail[1..];
                    continue;
                };
                let open_end = tail.find('>').unwrap() + 1;
                let stop = tail.find(close).unwrap();
                cells.push(text(&tail[open_end..stop]));
                rest = &tail[stop + close.len()..];
            }
            cells
        })
        .collect();
    Some(rows)
}

/// A table as (first cell → header → cell) for lookups by name.
fn by_row(rows: &[Vec<String>]) -> BTreeMap<String, BTreeMap<String, String>> {
    let header = &rows[0];
    rows[1..]
        .iter()
        .map(|r| {
            let cells = header.iter().cloned().zip(r.iter().cloned()).collect();
            (r[0].clone(), cells)
        })
        .collect()
}

/// The open-cases table as country → [new, assigned, in_progress,
/// waiting_on_requester, Total], checking the header order.
fn open_counts(page: &str) -> BTreeMap<String, Vec<i64>> {
    let rows = table(page, "open-table").expect("the open-cases table");
    assert_eq!(
        rows[0],
        [
            "Country",
            "new",
            "assigned",
            "in_progress",
            "waiting_on_requester",
            "Total"
        ]
    );
    rows[1..]
        .iter()
        .filter(|r| r[0] != "All")
        .map(|r| {
            let counts = r[1..].iter().map(|c| c.parse().unwrap()).collect();
            (r[0].clone(), counts)
        })
        .collect()
}

/// Every `C-XXXXXX` on a page.
fn references(page: &str) -> BTreeSet<String> {
    page.match_indices("C-")
        .filter_map(|(i, _)| page.get(i..i + 8))
        .filter(|r| {
            r[2..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

/// The Monday (UTC) that started last week.
fn last_monday() -> chrono::NaiveDate {
    let today = Utc::now().date_naive();
    let this = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    this - Days::new(7)
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn overview_counts_breaches_load_and_scope(pool: PgPool) {
    let app = spawn(&pool).await;
    let admin = "admin@example.org";
    user(&app, admin, Role::Admin, None).await;
    let coordinator = "coord@example.org";
    user(&app, coordinator, Role::Coordinator, None).await;
    let (_, bea) = volunteer_user(&app, "bea@example.org", "Bea Brasil", &["BR"], &["en"], 3).await;
    let (_, cid) =
        volunteer_user(&app, "cid@example.org", "Cid Deutsch", &["DE"], &["en"], 1).await;
    let (_, dee) = volunteer_user(&app, "dee@example.org", "Dee France", &["FR"], &["en"], 2).await;
    app.store
        .add_volunteer(
            "eve@example.org",
            HOSTILE,
            &["GB".into()],
            &["en".into()],
            4,
        )
        .await
        .unwrap();
    app.store
        .update_volunteer(
            "dee@example.org",
            &VolunteerChange {
                paused_until: Some(Some(Utc::now() + chrono::Duration::days(3))),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let mut refs = Vec::new();
    for n in 0..15 {
        refs.push(case(&app, n).await);
    }
    // BR: two unassigned (one of them breached), two of Bea's.
    arrange(&pool, &refs[0], Some("BR"), "new", None).await;
    arrange(&pool, &refs[1], Some("BR"), "new", None).await;
    arrange(&pool, &refs[2], Some("BR"), "assigned", Some(bea)).await;
    arrange(&pool, &refs[3], Some("BR"), "in_progress", Some(bea)).await;
    // DE: one unassigned, two of Cid's (one breached; over his capacity of
    // 1), one resolved (not open).
    arrange(&pool, &refs[4], Some("DE"), "new", None).await;
    arrange(&pool, &refs[5], Some("DE"), "assigned", Some(cid)).await;
    arrange(&pool, &refs[6], Some("DE"), "in_progress", Some(cid)).await;
    arrange(&pool, &refs[7], Some("DE"), "resolved", Some(cid)).await;
    // FR: Dee's (paused); one without a country.
    arrange(
        &pool,
        &refs[8],
        Some("FR"),
        "waiting_on_requester",
        Some(dee),
    )
    .await;
    arrange(&pool, &refs[9], None, "new", None).await;
    // Last week: four of Cid's cases answered after 1, 2, 3 and 10 hours
    // (median 2.5, 90th percentile 3 + 0.7 × 7 = 7.9), now closed.
    let opened = last_monday().and_hms_opt(12, 0, 0).unwrap().and_utc() + Days::new(1);
    for (r, hours) in refs[10..14].iter().zip([1, 2, 3, 10]) {
        arrange(&pool, r, Some("DE"), "closed", Some(cid)).await;
        sqlx::query(
            "UPDATE tickets SET created_at = $2,
                    first_responded_at = $2 + make_interval(hours => $3)
             WHERE reference = $1",
        )
        .bind(r)
        .bind(opened)
        .bind(hours)
        .execute(&pool)
        .await
        .unwrap();
    }
    // A case of a volunteer with no login (the hostile name), in GB.
    arrange(&pool, &refs[14], Some("GB"), "resolved", None).await;
    // Two open cases miss their target; the sweep records the breaches.
    sqlx::query(
        "UPDATE tickets SET first_response_due_at = now() - interval '1 hour'
         WHERE reference = ANY($1)",
    )
    .bind(vec![refs[0].clone(), refs[6].clone()])
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(app.store.mark_sla_breaches().await.unwrap(), 2);

    // Admin and coordinator: everything.
    for who in [admin, coordinator] {
        let c = signed_in(&app, who).await;
        let (status, page) = get_body(&app, &c, "/overview").await;
        assert_eq!(status, 200, "{page}");
        let open = open_counts(&page);
        let expected: BTreeMap<String, Vec<i64>> = [
            ("BR", vec![2, 1, 1, 0, 4]),
            ("DE", vec![1, 1, 1, 0, 3]),
            ("FR", vec![0, 0, 0, 1, 1]),
            ("unknown", vec![1, 0, 0, 0, 1]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(open, expected, "{who}");
        let foot = table(&page, "open-table").unwrap();
        assert_eq!(foot.last().unwrap(), &["All", "4", "2", "2", "1", "9"]);
        assert!(page.contains("<caption>Open cases: 9</caption>"));
        // The chart is there, as an image with a title.
        assert!(page.contains(r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart""#));
        assert!(page.contains("<title>BR, new: 2</title>"), "{who}");

        // Breaches: both, linked.
        assert!(
            page.contains(r#"<strong id="breached-total">2</strong>"#),
            "{who}"
        );
        let breached = table(&page, "breached-table").unwrap();
        let listed: BTreeSet<&str> = breached[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(listed, BTreeSet::from([refs[0].as_str(), refs[6].as_str()]));
        for r in [&refs[0], &refs[6]] {
            assert!(page.contains(&format!(r#"<a href="/cases/{r}">{r}</a>"#)));
        }

        // First responses last week: 4 answered, 2.5 and 7.9 hours.
        let rt = by_row(&table(&page, "rt-table").unwrap());
        assert_eq!(rt.len(), 12);
        let week = rt
            .get(&last_monday().format("%Y-%m-%d").to_string())
            .expect("last week's row");
        assert_eq!(week["Answered"], "4");
        assert_eq!(week["Not yet answered"], "0");
        assert_eq!(week["Median (hours)"], "2.5");
        assert_eq!(week["90th percentile (hours)"], "7.9");
        // This week: every case still waiting, so no times (not zero).
        let this_week = (last_monday() + Days::new(7))
            .format("%Y-%m-%d")
            .to_string();
        let week = &rt[&this_week];
        assert_eq!(week["Answered"], "0");
        assert_eq!(week["Not yet answered"], "11", "{week:?}");
        assert_eq!(week["Median (hours)"], "");
        assert_eq!(week["90th percentile (hours)"], "");

        // Load against capacity.
        let load = by_row(&table(&page, "load-table").unwrap());
        assert_eq!(load["Bea Brasil"]["Open cases"], "2");
        assert_eq!(load["Bea Brasil"]["Capacity"], "3");
        assert_eq!(load["Bea Brasil"]["State"], "");
        assert_eq!(load["Cid Deutsch"]["Open cases"], "2");
        assert_eq!(load["Cid Deutsch"]["Capacity"], "1");
        assert_eq!(load["Cid Deutsch"]["State"], "over capacity");
        assert_eq!(load["Dee France"]["Open cases"], "1");
        assert!(
            load["Dee France"]["State"].starts_with("paused until "),
            "{:?}",
            load["Dee France"]
        );
        assert!(page.contains(">Dee France (paused)</text>"));
        // The hostile name is shown as text (escaped) in the table and the
        // chart, never as markup.
        assert!(load.contains_key(HOSTILE), "{load:?}");
        assert_eq!(load[HOSTILE]["Open cases"], "0");
        assert!(!page.contains("<script"));
        let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;";
        assert!(page.contains(&format!("<title>{escaped}: 0 open of 4</title>")));
        // Coordinators do not get the audit link; admins do.
        assert_eq!(
            page.contains(r#"<a href="/admin/audit">"#),
            who == admin,
            "{who}"
        );
    }

    // Bea: her two cases and Brazil's unassigned ones, nothing else.
    let c = signed_in(&app, "bea@example.org").await;
    let (status, page) = get_body(&app, &c, "/overview").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"id="overview-scope""#));
    let open = open_counts(&page);
    assert_eq!(
        open,
        BTreeMap::from([("BR".to_owned(), vec![2, 1, 1, 0, 4])])
    );
    assert!(page.contains(r#"<strong id="breached-total">1</strong>"#));
    assert_eq!(references(&page), BTreeSet::from([refs[0].clone()]));
    let load = by_row(&table(&page, "load-table").unwrap());
    assert_eq!(load.keys().collect::<Vec<_>>(), ["Bea Brasil"]);
    assert_eq!(load["Bea Brasil"]["Open cases"], "2");
    let rt = by_row(&table(&page, "rt-table").unwrap());
    let week = &rt[&last_monday().format("%Y-%m-%d").to_string()];
    assert_eq!(week["Answered"], "0");
    // Nothing answered: no median, whatever the unit.
    let median = week.iter().find(|(k, _)| k.starts_with("Median")).unwrap();
    assert_eq!(median.1, "");
    for other in [
        "Cid", "Dee", "cid@", "dee@", ">DE<", ">FR<", "unknown", "script",
    ] {
        assert!(!page.contains(other), "{other} on Bea's overview");
    }
    assert!(!page.contains(r#"<a href="/admin/audit">"#));

    // Cid: his own cases (including last week's answered ones), Germany's
    // unassigned case, his own breach; not Bea's or Brazil's.
    let c = signed_in(&app, "cid@example.org").await;
    let (_, page) = get_body(&app, &c, "/overview").await;
    assert_eq!(
        open_counts(&page),
        BTreeMap::from([("DE".to_owned(), vec![1, 1, 1, 0, 3])])
    );
    assert_eq!(references(&page), BTreeSet::from([refs[6].clone()]));
    let rt = by_row(&table(&page, "rt-table").unwrap());
    assert_eq!(
        rt[&last_monday().format("%Y-%m-%d").to_string()]["Answered"],
        "4"
    );
    assert!(!page.contains("Bea") && !page.contains("BR"));

    // Not signed in: the login page.
    let (status, _) = get_body(&app, &browser(), "/overview").await;
    assert_eq!(status, 303);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn overview_of_an_empty_service(pool: PgPool) {
    let app = spawn(&pool).await;
    user(&app, "admin@example.org", Role::Admin, None).await;
    let c = signed_in(&app, "admin@example.org").await;
    let (status, page) = get_body(&app, &c, "/overview").await;
    assert_eq!(status, 200, "{page}");
    assert!(open_counts(&page).is_empty());
    assert!(page.contains("<caption>Open cases: 0</caption>"));
    assert!(page.contains(r#"<strong id="breached-total">0</strong>"#));
    assert!(table(&page, "breached-table").is_none());
    assert_eq!(page.matches(">No data</text>").count(), 3, "{page}");
    let rt = table(&page, "rt-table").unwrap();
    assert_eq!(rt.len(), 13);
    assert!(rt[1..].iter().all(|r| r[1] == "0" && r[3].is_empty()));
    app.stop().await;
}

/// The rows of an audit page: (id, actor, action, case, details).
fn audit_rows(page: &str) -> Vec<(i64, String, String, String, String)> {
    let Some(rows) = table(page, "audit-table") else {
        return Vec::new();
    };
    assert_eq!(rows[0], ["#", "When", "Actor", "Action", "Case", "Details"]);
    rows[1..]
        .iter()
        .map(|r| {
            (
                r[0].parse().unwrap(),
                r[2].clone(),
                r[3].clone(),
                r[4].clone(),
                r[5].clone(),
            )
        })
        .collect()
}

/// The `href` of the link with this `rel`, unescaped.
fn link(page: &str, rel: &str) -> Option<String> {
    let end = page.find(&format!(r#"" rel="{rel}""#))?;
    let start = page[..end].rfind("href=\"")? + 6;
    Some(unescape(&page[start..end]))
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn audit_log_is_for_admins_filtered_paginated_and_escaped(pool: PgPool) {
    let app = spawn(&pool).await;
    let admin_id = user(&app, "admin@example.org", Role::Admin, None).await;
    let coord_id = user(&app, "coord@example.org", Role::Coordinator, None).await;
    volunteer_user(&app, "bea@example.org", "Bea", &["BR"], &["en"], 3).await;
    let r1 = case(&app, 1).await;
    let r2 = case(&app, 2).await;
    let t1: Uuid = sqlx::query_scalar("SELECT id FROM tickets WHERE reference = $1")
        .bind(&r1)
        .fetch_one(&pool)
        .await
        .unwrap();

    // Opening a case records a view (the real path).
    let admin = signed_in(&app, "admin@example.org").await;
    let (status, _) = get_body(&app, &admin, &format!("/cases/{r2}")).await;
    assert_eq!(status, 200);
    let s = &app.store;
    s.audit(
        Some(coord_id),
        "case.status",
        Some(t1),
        &serde_json::json!({ "reference": r1, "note": HOSTILE }),
    )
    .await
    .unwrap();
    s.audit(
        None,
        "user.disable",
        None,
        &serde_json::json!({ "email": "x@example.org" }),
    )
    .await
    .unwrap();
    for i in 0..120 {
        s.audit(
            Some(admin_id),
            "test.bulk",
            None,
            &serde_json::json!({ "i": i }),
        )
        .await
        .unwrap();
    }

    // Only admins: coordinators and caseworkers get the admin pages' 404.
    for who in ["coord@example.org", "bea@example.org"] {
        let c = signed_in(&app, who).await;
        let (status, page) = get_body(&app, &c, "/admin/audit").await;
        assert_eq!(status, 404, "{who}");
        assert!(!page.contains("audit-table") && !page.contains("test.bulk"));
        let (status, _) = get_body(&app, &c, "/admin/audit?action=case.status").await;
        assert_eq!(status, 404, "{who}");
    }
    let (status, _) = get_body(&app, &browser(), "/admin/audit").await;
    assert_eq!(status, 303, "not signed in");

    // Newest first, 50 a page, keyset by id: every record once.
    let (status, page) = get_body(&app, &admin, "/admin/audit").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"<a href="/admin/audit">Audit log</a>"#));
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(total >= 123, "{total}");
    let mut seen = Vec::new();
    let mut page = page;
    loop {
        let rows = audit_rows(&page);
        assert!(rows.len() <= 50);
        seen.extend(rows.iter().map(|r| r.0));
        match link(&page, "next") {
            Some(next) => {
                assert_eq!(rows.len(), 50);
                assert!(page.contains(r#"<a href="/admin/audit">Newest</a>"#) || seen.len() == 50);
                let (status, p) = get_body(&app, &admin, &next).await;
                assert_eq!(status, 200);
                page = p;
            }
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, total);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );

    // By action, with its filter kept in the next link.
    let (_, page) = get_body(&app, &admin, "/admin/audit?action=test.bulk").await;
    let rows = audit_rows(&page);
    assert_eq!(rows.len(), 50);
    assert!(
        rows.iter()
            .all(|r| r.2 == "test.bulk" && r.1 == "admin@example.org")
    );
    let next = link(&page, "next").unwrap();
    assert!(
        next.contains("action=test.bulk") && next.contains("before="),
        "{next}"
    );
    let (_, page2) = get_body(&app, &admin, &next).await;
    let rows2 = audit_rows(&page2);
    assert_eq!(rows2.len(), 50);
    assert!(
        rows2[0].0 < rows[49].0,
        "{next}: {:?} then {:?}",
        rows[49],
        rows2[0]
    );
    let (_, page3) = get_body(&app, &admin, &link(&page2, "next").unwrap()).await;
    assert_eq!(audit_rows(&page3).len(), 20);
    assert!(link(&page3, "next").is_none());

    // By actor (any case), and the system's records.
    let (_, page) = get_body(&app, &admin, "/admin/audit?actor=Coord%40Example.org").await;
    let rows = audit_rows(&page);
    assert!(rows.iter().all(|r| r.1 == "coord@example.org"), "{rows:?}");
    let status: Vec<_> = rows.iter().filter(|r| r.2 == "case.status").collect();
    assert_eq!(status.len(), 1, "{rows:?}");
    assert_eq!(status[0].3, r1);
    assert!(!rows.iter().any(|r| r.2 == "test.bulk"));
    assert!(page.contains(&format!(r#"<a href="/cases/{r1}">{r1}</a>"#)));
    let (_, page) = get_body(&app, &admin, "/admin/audit?actor=system").await;
    let rows = audit_rows(&page);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.1 == "system"));
    assert!(rows.iter().any(|r| r.2 == "user.disable"));
    let (_, page) = get_body(&app, &admin, "/admin/audit?actor=nobody%40example.org").await;
    assert!(audit_rows(&page).is_empty());
    assert!(page.contains("No records."));

    // By case: the view of r2 from the case page, nothing of r1.
    let (_, page) = get_body(&app, &admin, &format!("/admin/audit?case={r2}")).await;
    let rows = audit_rows(&page);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.3 == r2), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.2 == "case.view" && r.1 == "admin@example.org")
    );
    // Combined filters.
    let (_, page) = get_body(
        &app,
        &admin,
        &format!("/admin/audit?case={r1}&action=case.view"),
    )
    .await;
    assert!(
        audit_rows(&page)
            .iter()
            .all(|r| r.3 == r1 && r.2 == "case.view")
    );
    let (_, page) = get_body(
        &app,
        &admin,
        &format!("/admin/audit?case={r1}&action=case.status&actor=admin%40example.org"),
    )
    .await;
    assert!(audit_rows(&page).is_empty());

    // Hostile details are shown as text.
    let (_, page) = get_body(&app, &admin, "/admin/audit?action=case.status").await;
    assert!(!page.contains("<script"));
    let rows = audit_rows(&page);
    assert!(rows[0].4.contains(HOSTILE), "{:?}", rows[0]);

    // Bad filters: 400 with a message, the form kept (escaped).
    for q in [
        "action=%3Cscript%3E",
        "case=C-1",
        "actor=robert%27%29%3B",
        "before=-1",
    ] {
        let (status, page) = get_body(&app, &admin, &format!("/admin/audit?{q}")).await;
        assert_eq!(status, 400, "{q}");
        assert!(page.contains(r#"id="audit-error""#), "{q}");
        assert!(!page.contains("<script>"), "{q}");
    }
    app.stop().await;
}
