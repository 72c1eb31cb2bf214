//! The admin pages over real HTTP: only admins see them or post their
//! forms; every form needs the session's CSRF token; role changes,
//! disabling and the other changes are audited; volunteer edits route
//! waiting cases again; hub edits are public at once and survive the file
//! import until returned to the file; API tokens created for a user work
//! on /api/v1 until revoked.

mod common;

use std::time::Duration;

use common::TestApp;
use common::dashboard::{
    PASSWORD, browser, get_body, post_body, session, spawn, url, user, volunteer_user,
};
use concierge_access::Role;
use concierge_store::PeopleError;
use sqlx::PgPool;
use uuid::Uuid;

/// A caseworker speaking Portuguese and English: (user id, volunteer id).
async fn caseworker(app: &TestApp, email: &str, countries: &[&str], capacity: i32) -> (Uuid, Uuid) {
    volunteer_user(
        app,
        email,
        "Case Worker",
        countries,
        &["pt", "en"],
        capacity,
    )
    .await
}

async fn import_hub(app: &TestApp) -> concierge_store::ResourceImport {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/resource-hub/hub.toml");
    let hub = concierge_hub::load(&file).unwrap();
    app.store.upsert_resources(&hub.entries).await.unwrap()
}

/// Audit records of `action`: (actor, detail).
async fn audited(pool: &PgPool, action: &str) -> Vec<(Option<Uuid>, serde_json::Value)> {
    sqlx::query_as("SELECT actor_user_id, detail FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// What the non-admin tests check stays untouched.
async fn snapshot(pool: &PgPool) -> serde_json::Value {
    sqlx::query_scalar(
        r#"SELECT json_build_object(
             'users', (SELECT json_agg(json_build_array(email, role, disabled_at, volunteer_id) ORDER BY email) FROM users),
             'volunteers', (SELECT json_agg(json_build_array(email, countries, languages, capacity, paused_until, active) ORDER BY email) FROM volunteers),
             'hub', (SELECT json_agg(json_build_array(id, name, active, edited_at) ORDER BY id) FROM resources),
             'tokens', (SELECT json_agg(json_build_array(name, revoked_at) ORDER BY id) FROM api_tokens),
             'links', (SELECT count(*) FROM account_links),
             'outbox', (SELECT count(*) FROM outbox))"#,
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Every admin form, with plausible values for `target` (a user),
/// `volunteer`, a hub entry and a token.
fn admin_forms(
    target: Uuid,
    volunteer: Uuid,
    token: Uuid,
) -> Vec<(String, Vec<(&'static str, String)>)> {
    let entry = vec![
        ("name", "Hijacked line".to_owned()),
        ("kind", "crisis_line".into()),
        ("countries", "DE".into()),
        ("languages", "de".into()),
        ("phone", "0800 000".into()),
        ("verification", "sourced".into()),
        ("source", "somewhere".into()),
        ("last_verified", "2026-11-25".into()),
        ("descriptions", "en: hijacked".into()),
    ];
    let mut new_entry = entry.clone();
    new_entry.push(("id", "de-hijack".into()));
    vec![
        (
            "/admin/people/invite".into(),
            vec![
                ("email", "intruder@example.org".into()),
                ("role", "admin".into()),
            ],
        ),
        (
            format!("/admin/people/{target}/role"),
            vec![("role", "admin".into())],
        ),
        (format!("/admin/people/{target}/disable"), vec![]),
        (format!("/admin/people/{target}/enable"), vec![]),
        (format!("/admin/people/{target}/link"), vec![]),
        (
            format!("/admin/volunteers/{volunteer}"),
            vec![
                ("countries", "*".into()),
                ("languages", "en".into()),
                ("capacity", "999".into()),
            ],
        ),
        (
            format!("/admin/volunteers/{volunteer}/pause"),
            vec![("until", "2099-01-01".into())],
        ),
        (format!("/admin/volunteers/{volunteer}/resume"), vec![]),
        ("/admin/hub/new".into(), new_entry),
        ("/admin/hub/entry/de-telefonseelsorge".into(), entry),
        (
            "/admin/hub/entry/de-telefonseelsorge/disable".into(),
            vec![],
        ),
        ("/admin/hub/entry/de-telefonseelsorge/enable".into(), vec![]),
        (
            "/admin/hub/entry/de-telefonseelsorge/release".into(),
            vec![],
        ),
        (
            "/admin/tokens".into(),
            vec![("name", "stolen".into()), ("user", target.to_string())],
        ),
        (format!("/admin/tokens/{token}/revoke"), vec![]),
    ]
}

const ADMIN_PAGES: &[&str] = &[
    "/admin",
    "/admin/people",
    "/admin/volunteers",
    "/admin/hub",
    "/admin/hub?country=DE",
    "/admin/hub/new",
    "/admin/hub/entry/de-telefonseelsorge",
    "/admin/tokens",
    "/admin/mailboxes",
];

async fn token_id(pool: &PgPool, name: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The hub, an admin (root@), a coordinator (the target), a caseworker and
/// a token of the coordinator's: (target, volunteer, token).
async fn everything_to_edit(app: &TestApp, pool: &PgPool) -> (Uuid, Uuid, Uuid) {
    import_hub(app).await;
    user(app, "root@example.org", Role::Admin, None).await;
    let target = user(app, "coord@example.org", Role::Coordinator, None).await;
    let (_, vid) = caseworker(app, "cw@example.org", &["BR"], 3).await;
    app.store
        .create_api_token("existing", target)
        .await
        .unwrap();
    (target, vid, token_id(pool, "existing").await)
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn only_admins_see_admin_pages_or_post_admin_forms(pool: PgPool) {
    let app = spawn(&pool).await;
    let (target, vid, token) = everything_to_edit(&app, &pool).await;

    // Signed out: every page and form sends you to the login page.
    let anon = browser();
    for path in ADMIN_PAGES {
        let res = anon.get(url(&app, path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/login");
    }

    let before = snapshot(&pool).await;
    for who in ["coord@example.org", "cw@example.org"] {
        let (c, csrf) = session(&app, who).await;
        for path in ADMIN_PAGES {
            let (status, body) = get_body(&app, &c, path).await;
            assert_eq!(status, 404, "{who} GET {path}: {body}");
            assert!(!body.contains("/admin/people/invite"), "{who} {path}");
        }
        // Each form, with the user's own valid CSRF token: refused.
        for (path, mut form) in admin_forms(target, vid, token) {
            form.push(("csrf", csrf.clone()));
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, body) = post_body(&app, &c, &path, &form).await;
            assert_eq!(status, 404, "{who} POST {path}: {body}");
        }
        // No admin link in their header.
        let (_, page) = get_body(&app, &c, "/").await;
        assert!(
            !page.contains(r#"href="/admin"#),
            "{who} sees no admin link"
        );
    }
    assert_eq!(snapshot(&pool).await, before, "nothing changed");
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn admin_forms_need_the_csrf_token(pool: PgPool) {
    let app = spawn(&pool).await;
    let (target, vid, token) = everything_to_edit(&app, &pool).await;
    let (c, csrf) = session(&app, "root@example.org").await;
    // The admin sees the admin link and pages.
    let (_, page) = get_body(&app, &c, "/").await;
    assert!(page.contains(r#"href="/admin"#), "admins see an admin link");
    for path in ADMIN_PAGES {
        let (status, body) = get_body(&app, &c, path).await;
        assert!(status == 200 || status == 303, "{path}: {status} {body}");
    }

    let before = snapshot(&pool).await;
    let other = session(&app, "coord@example.org").await.1;
    for (path, form) in admin_forms(target, vid, token) {
        let plain: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = post_body(&app, &c, &path, &plain).await;
        assert_eq!(status, 403, "no token, POST {path}: {body}");
        // Someone else's token (another session's) is no better.
        let mut wrong = plain.clone();
        wrong.push(("csrf", other.as_str()));
        let (status, _) = post_body(&app, &c, &path, &wrong).await;
        assert_eq!(status, 403, "wrong token, POST {path}");
    }
    assert_eq!(snapshot(&pool).await, before, "nothing changed");
    // No state change over GET: the form paths do not answer GET with a change.
    let (status, _) = get_body(&app, &c, &format!("/admin/people/{target}/disable")).await;
    assert_eq!(status, 405);
    let _ = csrf;
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn roles_and_disabling_are_audited_and_disabling_ends_sessions(pool: PgPool) {
    let app = spawn(&pool).await;
    let admin = user(&app, "root@example.org", Role::Admin, None).await;
    let coord = user(&app, "coord@example.org", Role::Coordinator, None).await;
    let (cw, vid) = caseworker(&app, "cw@example.org", &["BR"], 3).await;
    let (c, csrf) = session(&app, "root@example.org").await;
    let (victim, _) = session(&app, "coord@example.org").await;

    // The people page lists everyone with role and state.
    let (status, page) = get_body(&app, &c, "/admin/people").await;
    assert_eq!(status, 200);
    for email in ["root@example.org", "coord@example.org", "cw@example.org"] {
        assert!(page.contains(email), "{email}");
    }

    // Caseworker → coordinator: audited with from and to.
    let (status, body) = post_body(
        &app,
        &c,
        &format!("/admin/people/{cw}/role"),
        &[("csrf", &csrf), ("role", "coordinator")],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(cw)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(role, "coordinator");
    let changes = audited(&pool, "user.role_change").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].0, Some(admin));
    assert_eq!(changes[0].1["user_id"], cw.to_string());
    assert_eq!(changes[0].1["from"], "caseworker");
    assert_eq!(changes[0].1["to"], "coordinator");
    // They keep their volunteer record, so they can go back.
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/people/{cw}/role"),
        &[("csrf", &csrf), ("role", "caseworker")],
    )
    .await;
    assert_eq!(status, 303);
    let back: Option<Uuid> = sqlx::query_scalar("SELECT volunteer_id FROM users WHERE id = $1")
        .bind(cw)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(back, Some(vid));
    // A coordinator without a volunteer record cannot become a caseworker.
    let (status, body) = post_body(
        &app,
        &c,
        &format!("/admin/people/{coord}/role"),
        &[("csrf", &csrf), ("role", "caseworker")],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    // Unknown roles and ids.
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/people/{coord}/role"),
        &[("csrf", &csrf), ("role", "root")],
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/people/{}/role", Uuid::new_v4()),
        &[("csrf", &csrf), ("role", "admin")],
    )
    .await;
    assert_eq!(status, 404);
    // Nobody demotes or disables themselves; the last admin stays.
    for path in [
        format!("/admin/people/{admin}/role"),
        format!("/admin/people/{admin}/disable"),
    ] {
        let (status, _) =
            post_body(&app, &c, &path, &[("csrf", &csrf), ("role", "coordinator")]).await;
        assert_eq!(status, 400, "{path}");
    }
    // (The harness's API admin aside, root is the last enabled admin.)
    app.store.disable_user(common::API_ADMIN).await.unwrap();
    assert!(matches!(
        app.store.set_user_role(admin, Role::Coordinator).await,
        Err(PeopleError::LastAdmin)
    ));
    assert!(matches!(
        app.store.disable_user_by_id(admin).await,
        Err(PeopleError::LastAdmin)
    ));

    // Disabling ends the session at once, and is audited.
    assert_eq!(get_body(&app, &victim, "/").await.0, 200);
    let (status, body) = post_body(
        &app,
        &c,
        &format!("/admin/people/{coord}/disable"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let res = victim.get(url(&app, "/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login");
    let res = victim
        .post(url(&app, "/login"))
        .form(&[("email", "coord@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a disabled account cannot sign in");
    let disables = audited(&pool, "user.disable").await;
    assert_eq!(disables.len(), 1);
    assert_eq!(disables[0].0, Some(admin));
    assert_eq!(disables[0].1["user_id"], coord.to_string());
    let (_, page) = get_body(&app, &c, "/admin/people").await;
    assert!(page.contains("disabled"));

    // A disabled caseworker's volunteer record takes no cases; enabling
    // brings both back.
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/people/{cw}/disable"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let active: bool = sqlx::query_scalar("SELECT active FROM volunteers WHERE id = $1")
        .bind(vid)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!active);
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/people/{cw}/enable"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let active: bool = sqlx::query_scalar("SELECT active FROM volunteers WHERE id = $1")
        .bind(vid)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(active);
    assert_eq!(audited(&pool, "user.enable").await.len(), 1);
    session(&app, "cw@example.org").await;

    // Inviting a caseworker creates their volunteer record; a second
    // invitation to the same address is refused.
    let invite = [
        ("csrf", csrf.as_str()),
        ("email", "fresh@example.org"),
        ("name", "Fresh Face"),
        ("role", "caseworker"),
        ("countries", "pt, BR"),
        ("languages", "pt"),
        ("capacity", "4"),
    ];
    let (status, body) = post_body(&app, &c, "/admin/people/invite", &invite).await;
    assert_eq!(status, 303, "{body}");
    let v = app
        .store
        .list_volunteers()
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.email == "fresh@example.org")
        .expect("a volunteer record");
    assert_eq!(v.countries, vec!["PT", "BR"]);
    assert_eq!(v.capacity, 4);
    let (status, body) = post_body(&app, &c, "/admin/people/invite", &invite).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = post_body(
        &app,
        &c,
        "/admin/people/invite",
        &[
            ("csrf", csrf.as_str()),
            ("email", "x@example.org"),
            ("role", "caseworker"),
        ],
    )
    .await;
    assert_eq!(status, 422, "a caseworker needs countries: {body}");
    assert_eq!(audited(&pool, "user.invite").await.len(), 1);
    app.stop().await;
}

async fn assignee(pool: &PgPool, reference: &str) -> Option<Uuid> {
    sqlx::query_scalar("SELECT assignee_id FROM tickets WHERE reference = $1")
        .bind(reference)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn volunteer_edits_route_waiting_cases(pool: PgPool) {
    let app = TestApp::spawn_with(common::database_url(&pool), |s| {
        s.worker.run_in_serve = true;
    })
    .await;
    user(&app, "root@example.org", Role::Admin, None).await;
    let (_, vid) = caseworker(&app, "cw@example.org", &["BR"], 0).await;
    let (c, csrf) = session(&app, "root@example.org").await;

    // A Brazilian case waits: its only volunteer has no room.
    let raw = common::mail("ana@example.net", "Preciso de ajuda", "Estou mal.", "");
    let (status, body) = app.post_mime(&raw, Some(common::INBOUND_TOKEN)).await;
    assert!((200..300).contains(&status), "{body}");
    let reference = body["reference"].as_str().unwrap().to_owned();
    let start = std::time::Instant::now();
    loop {
        let state: String =
            sqlx::query_scalar("SELECT routing_state FROM tickets WHERE reference = $1")
                .bind(&reference)
                .fetch_one(&pool)
                .await
                .unwrap();
        if state != "pending" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never routed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sqlx::query(
        "UPDATE tickets SET country = 'BR', language = 'pt', routing_state = 'waiting',
                assignee_id = NULL WHERE reference = $1",
    )
    .bind(&reference)
    .execute(&pool)
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(assignee(&pool, &reference).await, None);

    // The volunteers page shows them; raising the capacity routes the case.
    let (status, page) = get_body(&app, &c, "/admin/volunteers").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("cw@example.org") && page.contains("0 of 0"),
        "{page}"
    );
    let (status, body) = post_body(
        &app,
        &c,
        &format!("/admin/volunteers/{vid}"),
        &[
            ("csrf", &csrf),
            ("countries", "br, PT"),
            ("languages", "pt en"),
            ("capacity", "2"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let start = std::time::Instant::now();
    while assignee(&pool, &reference).await != Some(vid) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the waiting case was not routed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = app.store.list_volunteers().await.unwrap().remove(0);
    assert_eq!(
        (v.countries.clone(), v.languages.clone(), v.capacity),
        (
            vec!["BR".to_owned(), "PT".to_owned()],
            vec!["pt".to_owned(), "en".to_owned()],
            2
        )
    );
    let updates = audited(&pool, "volunteer.update").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].1["capacity"], 2);

    // Bad values are refused and change nothing.
    for form in [
        [("countries", "XX"), ("languages", "pt"), ("capacity", "2")],
        [
            ("countries", "BR"),
            ("languages", "klingon"),
            ("capacity", "2"),
        ],
        [("countries", "BR"), ("languages", "pt"), ("capacity", "-1")],
        [("countries", ""), ("languages", "pt"), ("capacity", "2")],
    ] {
        let mut f: Vec<(&str, &str)> = form.to_vec();
        f.push(("csrf", &csrf));
        let (status, _) = post_body(&app, &c, &format!("/admin/volunteers/{vid}"), &f).await;
        assert_eq!(status, 400, "{form:?}");
    }
    assert_eq!(app.store.list_volunteers().await.unwrap()[0].capacity, 2);

    // Pause and resume.
    let (status, body) = post_body(
        &app,
        &c,
        &format!("/admin/volunteers/{vid}/pause"),
        &[("csrf", &csrf), ("until", "2099-01-31")],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let paused = app.store.list_volunteers().await.unwrap()[0].paused_until;
    assert_eq!(paused.unwrap().to_rfc3339(), "2099-01-31T00:00:00+00:00");
    let (_, page) = get_body(&app, &c, "/admin/volunteers").await;
    assert!(page.contains("paused until 2099-01-31"), "{page}");
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/volunteers/{vid}/pause"),
        &[("csrf", &csrf), ("until", "2001-01-01")],
    )
    .await;
    assert_eq!(status, 400, "a pause ends in the future");
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/volunteers/{vid}/resume"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.store.list_volunteers().await.unwrap()[0].paused_until,
        None
    );
    assert_eq!(audited(&pool, "volunteer.pause").await.len(), 1);
    assert_eq!(audited(&pool, "volunteer.resume").await.len(), 1);
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/volunteers/{}/resume", Uuid::new_v4()),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn hub_edits_are_public_and_survive_the_file_import(pool: PgPool) {
    let app = spawn(&pool).await;
    import_hub(&app).await;
    let admin = user(&app, "root@example.org", Role::Admin, None).await;
    let (c, csrf) = session(&app, "root@example.org").await;
    let public = browser();

    let (status, page) = get_body(&app, &c, "/admin/hub?country=DE").await;
    assert_eq!(status, 200);
    assert!(page.contains("de-telefonseelsorge"), "{page}");
    assert!(!page.contains("br-cvv"), "filtered by country");
    assert!(
        page.contains("Dashboard changes win over the file"),
        "the rule is on the page"
    );

    // Edit through the form as the page fills it in, with a new name.
    let (status, form_page) = get_body(&app, &c, "/admin/hub/entry/de-telefonseelsorge").await;
    assert_eq!(status, 200);
    let original: String =
        sqlx::query_scalar("SELECT name FROM resources WHERE id = 'de-telefonseelsorge'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        form_page.contains(&original.replace('&', "&amp;")),
        "{form_page}"
    );
    let row = app
        .store
        .hub_entry("de-telefonseelsorge")
        .await
        .unwrap()
        .unwrap();
    let descriptions = row
        .descriptions
        .iter()
        .map(|(l, t)| format!("{l}: {t}"))
        .collect::<Vec<_>>()
        .join("\n");
    let edit = |name: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_owned()),
            ("kind", row.kind.clone()),
            ("countries", row.countries.join(", ")),
            ("languages", row.languages.join(", ")),
            ("phone", row.phone.join(", ")),
            ("sms", row.sms.join(", ")),
            ("chat", row.chat.clone().unwrap_or_default()),
            ("web", row.web.clone().unwrap_or_default()),
            ("email", row.email.clone().unwrap_or_default()),
            ("hours", row.hours.clone().unwrap_or_default()),
            ("cost", row.cost.clone()),
            ("verification", row.verification.clone()),
            ("source", row.source.clone()),
            ("last_verified", row.last_verified.to_string()),
            ("notes", row.notes.clone().unwrap_or_default()),
            ("descriptions", descriptions.clone()),
        ]
    };
    let form = edit("Telefonseelsorge (edited)");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = post_body(&app, &c, "/admin/hub/entry/de-telefonseelsorge", &form).await;
    assert_eq!(status, 303, "{body}");
    let (status, page) = get_body(&app, &public, "/hub/DE").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Telefonseelsorge (edited)"),
        "public at once: {page}"
    );
    let edits = audited(&pool, "hub.entry.edit").await;
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].0, Some(admin));
    assert_eq!(edits[0].1["before"]["name"], original);
    assert_eq!(edits[0].1["after"]["name"], "Telefonseelsorge (edited)");

    // The file import leaves the edited entry alone, and says so.
    let done = import_hub(&app).await;
    assert_eq!(done.kept, 1);
    let (_, page) = get_body(&app, &public, "/hub/DE").await;
    assert!(
        page.contains("Telefonseelsorge (edited)"),
        "the import did not clobber it"
    );
    let (_, page) = get_body(&app, &c, "/admin/hub?country=DE").await;
    assert!(
        page.contains("changed in the dashboard by root@example.org"),
        "{page}"
    );

    // Invalid values are refused with the file's own rules.
    let mut bad = edit("Telefonseelsorge (edited)");
    for (k, v) in bad.iter_mut() {
        if *k == "phone" {
            *v = "call us maybe".into();
        }
        if *k == "web" {
            *v = "javascript:alert(1)".into();
        }
    }
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, page) = post_body(&app, &c, "/admin/hub/entry/de-telefonseelsorge", &bad).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("must be a number") && page.contains("http(s) URL"),
        "{page}"
    );

    // Hiding takes it off the public page.
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/hub/entry/de-telefonseelsorge/disable",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = get_body(&app, &public, "/hub/DE").await;
    assert!(!page.contains("Telefonseelsorge (edited)"), "{page}");
    import_hub(&app).await;
    let (_, page) = get_body(&app, &public, "/hub/DE").await;
    assert!(
        !page.contains("Telefonseelsorge (edited)") && !page.contains(&original),
        "the import does not show it again"
    );

    // Returned to the file: the next import restores the file's version.
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/hub/entry/de-telefonseelsorge/release",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let done = import_hub(&app).await;
    assert_eq!(done.kept, 0);
    let (_, page) = get_body(&app, &public, "/hub/DE").await;
    assert!(
        page.contains(&original.replace('&', "&amp;")) && !page.contains("(edited)"),
        "{page}"
    );

    // Adding an entry: public at once, kept by the import, id unique.
    let mut add = edit("Neue Linie");
    add.push(("id", "de-neue-linie".into()));
    let add: Vec<(&str, &str)> = add.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = post_body(&app, &c, "/admin/hub/new", &add).await;
    assert_eq!(status, 303, "{body}");
    let (status, body) = post_body(&app, &c, "/admin/hub/new", &add).await;
    assert_eq!(status, 409, "{body}");
    import_hub(&app).await;
    let (_, page) = get_body(&app, &public, "/hub/DE").await;
    assert!(page.contains("Neue Linie"), "{page}");
    assert_eq!(audited(&pool, "hub.entry.add").await.len(), 1);
    for action in ["hub.entry.disable", "hub.entry.release"] {
        assert_eq!(audited(&pool, action).await.len(), 1, "{action}");
    }
    let (status, _) = get_body(&app, &c, "/admin/hub/entry/no-such-entry").await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn tokens_made_for_a_user_work_on_the_api_until_revoked(pool: PgPool) {
    let app = spawn(&pool).await;
    let admin = user(&app, "root@example.org", Role::Admin, None).await;
    let (cw, _) = caseworker(&app, "cw@example.org", &["BR"], 3).await;
    let (c, csrf) = session(&app, "root@example.org").await;

    let (status, page) = post_body(
        &app,
        &c,
        "/admin/tokens",
        &[
            ("csrf", &csrf),
            ("name", "nightly export"),
            ("user", &cw.to_string()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let marker = r#"id="new-token" value=""#;
    let start = page.find(marker).expect("the token, shown once") + marker.len();
    let token = page[start..start + page[start..].find('"').unwrap()].to_owned();
    assert!(token.starts_with("cct_"), "{token}");

    let api = TestApp::client();
    let res = api
        .get(url(&app, "/api/v1/tickets"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // Listed with its owner; the secret is never shown again.
    let (status, list) = get_body(&app, &c, "/admin/tokens").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("nightly export") && list.contains("cw@example.org"),
        "{list}"
    );
    assert!(!list.contains(&token));
    let created = audited(&pool, "token.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0, Some(admin));
    assert_eq!(created[0].1["user_id"], cw.to_string());

    // A token needs a name and a live user.
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/tokens",
        &[("csrf", &csrf), ("name", " "), ("user", &cw.to_string())],
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = post_body(
        &app,
        &c,
        "/admin/tokens",
        &[
            ("csrf", &csrf),
            ("name", "ghost"),
            ("user", &Uuid::new_v4().to_string()),
        ],
    )
    .await;
    assert_eq!(status, 422);

    // Revoked: refused at once.
    let id = token_id(&pool, "nightly export").await;
    let (status, _) = post_body(
        &app,
        &c,
        &format!("/admin/tokens/{id}/revoke"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let res = api
        .get(url(&app, "/api/v1/tickets"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(audited(&pool, "token.revoke").await.len(), 1);
    let (_, list) = get_body(&app, &c, "/admin/tokens").await;
    assert!(list.contains("revoked"), "{list}");
    app.stop().await;
}

/// The mailbox page shows each configured IMAP mailbox's state as the
/// pollers record it: "auth failed" with its reason and the process
/// polling, and rows of mailboxes no longer configured; nothing secret.
/// (The lease is held by a "process" of the test, so this server's own
/// poller waits and leaves the state alone.)
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn admins_see_each_mailbox_state(pool: PgPool) {
    let store = concierge_store::Store::connect_lazy(&common::database_url(&pool), 2).unwrap();
    let lease = Duration::from_secs(120);
    store
        .imap_acquire("global", "host-a:42", lease)
        .await
        .unwrap();
    store
        .imap_set_status(
            "global",
            "host-a:42",
            "auth_failed",
            Some("login refused for global@example.org: AUTHENTICATIONFAILED"),
        )
        .await
        .unwrap();
    store
        .imap_acquire("retired", "host-b:7", lease)
        .await
        .unwrap();
    store
        .imap_set_status("retired", "host-b:7", "idle", None)
        .await
        .unwrap();
    let global = serde_json::from_value::<concierge_imap::MailboxConfig>(serde_json::json!({
        "name": "global",
        "host": "127.0.0.1",
        "port": 9,
        "tls": "tls",
        "username": "global@example.org",
        "password": "hunter2-the-secret",
    }))
    .unwrap();
    let app = common::TestApp::spawn_with(common::database_url(&pool), |s| {
        s.worker.run_in_serve = false;
        s.imap.mailboxes = vec![global];
    })
    .await;
    user(&app, "root@example.org", Role::Admin, None).await;
    let (c, _) = session(&app, "root@example.org").await;
    let (status, page) = get_body(&app, &c, "/admin/mailboxes").await;
    assert_eq!(status, 200, "{page}");
    let row = |name: &str| {
        let at = page
            .find(&format!(r#"data-mailbox="{name}""#))
            .unwrap_or_else(|| panic!("{name} missing: {page}"));
        let end = page[at..].find("</tr>").unwrap() + at;
        page[at..end].to_owned()
    };
    let global = row("global");
    assert!(global.contains("auth failed"), "{global}");
    assert!(global.contains("mailbox-bad"), "{global}");
    assert!(
        global.contains("login refused for global@example.org"),
        "{global}"
    );
    assert!(global.contains("host-a:42"), "{global}");
    assert!(!global.contains("no longer configured"), "{global}");
    let retired = row("retired");
    assert!(
        retired.contains("no longer configured") && retired.contains("idle"),
        "{retired}"
    );
    assert!(!page.contains("hunter2"), "a password reached the page");
    assert!(page.contains(r#"href="/admin/mailboxes" aria-current="page""#));
    app.stop().await;
}
