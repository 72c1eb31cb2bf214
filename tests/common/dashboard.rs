//! Helpers for the dashboard tests: a browser (keeps cookies, does not
//! follow redirects), signing in, forms and their CSRF token, users of a
//! role with a known password, and cases opened through the real ingest.

use std::time::Duration;

use concierge_access::{Role, hash_password};
use reqwest::header::HeaderMap;
use reqwest::redirect::Policy;
use sqlx::PgPool;
use uuid::Uuid;

use super::TestApp;

/// The password of every user these helpers create.
pub const PASSWORD: &str = "correct horse battery staple";

/// The app without background workers, so routing and the sweep never
/// move the cases the tests arrange.
pub async fn spawn(pool: &PgPool) -> TestApp {
    TestApp::spawn_with(super::database_url(pool), |s| {
        s.worker.run_in_serve = false;
    })
    .await
}

/// A browser: keeps cookies, does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The app's URL of `path`.
pub fn url(app: &TestApp, path: &str) -> String {
    format!("http://{}{path}", app.http)
}

/// Posts the login form.
pub async fn login(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    pw: &str,
) -> reqwest::Response {
    client
        .post(url(app, "/login"))
        .form(&[("email", email), ("password", pw)])
        .send()
        .await
        .unwrap()
}

/// Signs in with [`PASSWORD`] and returns the browser.
pub async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let c = browser();
    let res = login(app, &c, email, PASSWORD).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    c
}

/// Signs in, opens the queue and returns the browser and its CSRF token.
pub async fn session(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    let c = signed_in(app, email).await;
    let (status, _, page) = get(app, &c, "/").await;
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);
    (c, csrf)
}

/// GET: (status, headers, body).
pub async fn get(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, HeaderMap, String) {
    let res = c.get(url(app, path)).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

/// POST of a form: (status, headers, body).
pub async fn post(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, HeaderMap, String) {
    let res = c.post(url(app, path)).form(form).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

/// GET: (status, body).
pub async fn get_body(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let (status, _, body) = get(app, c, path).await;
    (status, body)
}

/// POST of a form: (status, body).
pub async fn post_body(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let (status, _, body) = post(app, c, path, form).await;
    (status, body)
}

/// The CSRF token of a page's forms.
pub fn csrf_of(page: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = page.find(marker).expect("a form with a CSRF token") + marker.len();
    let len = page[start..].find('"').unwrap();
    page[start..start + len].to_owned()
}

/// A user of `role` (linked to `volunteer`) who signs in with `password`
/// (none: no password yet).
pub async fn account(
    app: &TestApp,
    email: &str,
    name: &str,
    role: Role,
    volunteer: Option<Uuid>,
    password: Option<&str>,
) -> Uuid {
    let hash = password.map(|p| hash_password(p).unwrap());
    app.store
        .create_user(email, name, role, volunteer, hash.as_deref())
        .await
        .unwrap()
}

/// A user of `role` (linked to `volunteer`) with [`PASSWORD`].
pub async fn user(app: &TestApp, email: &str, role: Role, volunteer: Option<Uuid>) -> Uuid {
    account(app, email, "Some One", role, volunteer, Some(PASSWORD)).await
}

/// A volunteer named `name` with a caseworker login ([`PASSWORD`]):
/// (user id, volunteer id).
pub async fn volunteer_user(
    app: &TestApp,
    email: &str,
    name: &str,
    countries: &[&str],
    languages: &[&str],
    capacity: i32,
) -> (Uuid, Uuid) {
    let countries: Vec<String> = countries.iter().map(|c| (*c).to_owned()).collect();
    let languages: Vec<String> = languages.iter().map(|l| (*l).to_owned()).collect();
    let vid = app
        .store
        .add_volunteer(email, name, &countries, &languages, capacity)
        .await
        .unwrap();
    let uid = account(
        app,
        email,
        name,
        Role::Caseworker,
        Some(vid),
        Some(PASSWORD),
    )
    .await;
    (uid, vid)
}

/// An English-speaking caseworker covering `countries` with this capacity:
/// (user id, volunteer id).
pub async fn caseworker(
    app: &TestApp,
    email: &str,
    countries: &[&str],
    capacity: i32,
) -> (Uuid, Uuid) {
    volunteer_user(app, email, "Case Worker", countries, &["en"], capacity).await
}

/// Opens a case from a raw mail through `/inbound/mime`; returns its
/// reference.
pub async fn open_case(app: &TestApp, raw: &[u8]) -> String {
    let (status, body) = app.post_mime(raw, Some(super::INBOUND_TOKEN)).await;
    assert!((200..=202).contains(&status), "{body}");
    body["reference"].as_str().unwrap().to_owned()
}

/// Opens a case from a simple mail; returns its reference.
pub async fn case(app: &TestApp, from: &str, subject: &str) -> String {
    let raw = super::mail(from, subject, "I need someone to talk to.", "");
    open_case(app, &raw).await
}

/// Puts a case in a country, assigned to `assignee` (or nobody, waiting
/// for routing).
pub async fn arrange(pool: &PgPool, reference: &str, country: &str, assignee: Option<Uuid>) {
    sqlx::query(
        "UPDATE tickets SET country = $2, assignee_id = $3,
                status = CASE WHEN $3::uuid IS NULL THEN 'new' ELSE 'assigned' END,
                routing_state = CASE WHEN $3::uuid IS NULL THEN 'pending' ELSE 'assigned' END
         WHERE reference = $1",
    )
    .bind(reference)
    .bind(country)
    .bind(assignee)
    .execute(pool)
    .await
    .unwrap();
}
