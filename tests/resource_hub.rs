//! The resource hub: import from `config/resource-hub/hub.toml`, the JSON
//! API and the public pages.

mod common;

use std::path::PathBuf;

use common::TestApp;
use sqlx::PgPool;

fn hub_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/resource-hub/hub.toml")
}

/// A page fetched without any credentials: status, headers, body.
async fn page(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let res = TestApp::client()
        .get(format!("http://{}{path}", app.http))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

fn assert_page_headers(h: &reqwest::header::HeaderMap) {
    assert!(
        h["content-type"].to_str().unwrap().starts_with("text/html"),
        "{h:?}"
    );
    assert_eq!(
        h["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn api_lists_a_countrys_lines_first_with_their_source(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let done = concierge::hub::import(&app.store, &hub_file())
        .await
        .unwrap();
    assert!(done.entries >= 40);
    assert_eq!(done.changed, done.entries as u64);

    let (status, body) = app.api("/api/v1/resources?country=BR&lang=pt").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["country"], "BR");
    let items = body["items"].as_array().unwrap();
    let cvv = &items[0];
    assert_eq!(cvv["id"], "br-cvv");
    assert_eq!(cvv["kind"], "crisis_line");
    assert_eq!(cvv["phone"], serde_json::json!(["188"]));
    assert_eq!(cvv["source"], "Globo; Claudia");
    assert_eq!(cvv["last_verified"], "2026-11-25");
    assert_eq!(cvv["description_lang"], "pt");
    assert!(
        cvv["description"]
            .as_str()
            .unwrap()
            .starts_with("Ligue 188")
    );
    // The country's own entries, then the global ones.
    let global: Vec<bool> = items
        .iter()
        .map(|i| i["global"].as_bool().unwrap())
        .collect();
    assert!(global.iter().any(|g| *g), "{body}");
    assert!(global.windows(2).all(|w| w[0] <= w[1]), "{global:?}");
    assert!(items.iter().any(|i| i["id"] == "intl-fallback"));

    // Crisis lines come before the other kinds; lowercase codes are fine.
    let (status, body) = app.api("/api/v1/resources?country=gb").await;
    assert_eq!(status, 200, "{body}");
    let kinds: Vec<(&str, bool)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["global"] == false)
        .map(|i| (i["kind"].as_str().unwrap(), i["kind"] == "crisis_line"))
        .collect();
    assert!(kinds.len() >= 2, "{kinds:?}");
    assert!(kinds.windows(2).all(|w| w[0].1 >= w[1].1), "{kinds:?}");
    // Description falls back to English.
    assert_eq!(body["items"][0]["description_lang"], "en");

    let (status, _) = app.api("/api/v1/resources?country=Brazil").await;
    assert_eq!(status, 400);
    let (status, _) = app.api("/api/v1/resources?lang=%3Cscript%3E").await;
    assert_eq!(status, 400);
    let (status, body) = app.api("/api/v1/resources").await;
    assert_eq!(status, 200);
    assert!(body["items"].as_array().unwrap().len() >= 40);

    let res = TestApp::client()
        .get(format!("http://{}/api/v1/resources?country=BR", app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn public_pages_need_no_login_and_show_source_and_date(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    concierge::hub::import(&app.store, &hub_file())
        .await
        .unwrap();

    let (status, h, body) = page(&app, "/hub/BR?lang=pt").await;
    assert_eq!(status, 200, "{body}");
    assert_page_headers(&h);
    assert!(body.contains("<html lang=\"pt\">"), "{body}");
    assert!(
        body.contains("CVV – Centro de Valorização da Vida"),
        "{body}"
    );
    assert!(body.contains("href=\"tel:188\""), "{body}");
    assert!(body.contains(">188</a>"), "{body}");
    assert!(body.contains("Globo; Claudia"), "{body}");
    assert!(body.contains("2026-11-25"), "{body}");
    assert!(body.contains("Última verificação"), "{body}");
    assert!(body.contains("Ligue 188, de graça"), "{body}");
    assert!(!body.contains("<script"), "{body}");

    // Without ?lang the country's own language; any case of the code.
    let (status, _, body) = page(&app, "/hub/br").await;
    assert_eq!(status, 200);
    assert!(body.contains("<html lang=\"pt\">"), "{body}");

    // Unverified entries carry their status and notes.
    let (status, _, body) = page(&app, "/hub/KE?lang=en").await;
    assert_eq!(status, 200);
    assert!(body.contains("Not verified yet"), "{body}");
    assert!(body.contains("CONFLICT (number)"), "{body}");
    assert!(body.contains("newsnetkenya (2023)"), "{body}");

    // A description missing in the page's language is marked as English.
    let (status, _, body) = page(&app, "/hub/BR?lang=ja").await;
    assert_eq!(status, 200);
    assert!(body.contains("<p lang=\"en\">Call 188 free"), "{body}");

    let (status, h, body) = page(&app, "/hub").await;
    assert_eq!(status, 200);
    assert_page_headers(&h);
    assert!(body.contains("href=\"/hub/BR\""), "{body}");
    assert!(body.contains("Brazil"), "{body}");
    assert!(!body.contains("href=\"/hub/*\""), "{body}");

    for (path, expected) in [
        ("/hub/ZZ", 404),
        ("/hub/PL", 404),
        ("/hub/BRA", 400),
        ("/hub/B1", 400),
        ("/hub/BR?lang=%3Cx%3E", 400),
    ] {
        let (status, h, body) = page(&app, path).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert_page_headers(&h);
    }
    let (_, _, body) = page(&app, "/hub/ZZ").await;
    assert!(body.contains("not a country code we know"), "{body}");
    let (_, _, body) = page(&app, "/hub/PL").await;
    assert!(body.contains("no lines listed for this country"), "{body}");
    assert!(body.contains("emergency number"), "{body}");
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn names_and_text_from_the_hub_are_escaped(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let hub = concierge_hub::parse(
        r#"schema_version = 1
[[entry]]
id = "xx-evil"
name = "<script>alert(1)</script> Line"
kind = "crisis_line"
countries = ["BR"]
phone = ["188"]
web = "https://example.org/?a=1&b=\"><script>"
source = "<b>source</b>"
last_verified = "2026-11-25"
verification = "unverified"
notes = "<img src=x onerror=alert(1)>"
[entry.description]
en = "<i>desc</i>"
"#,
    )
    .unwrap();
    app.store.upsert_resources(&hub.entries).await.unwrap();
    let (status, _, body) = page(&app, "/hub/BR?lang=en").await;
    assert_eq!(status, 200, "{body}");
    // askama writes numeric character references.
    assert!(
        body.contains("&#60;script&#62;alert(1)&#60;/script&#62; Line")
            || body.contains("&lt;script&gt;alert(1)&lt;/script&gt; Line"),
        "{body}"
    );
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("<img"), "{body}");
    assert!(!body.contains("<b>"), "{body}");
    assert!(!body.contains("<i>"), "{body}");
    assert!(!body.contains("b=\"><"), "{body}");
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn reimport_deactivates_and_restores_entries(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    // What `serve` does on start: import into an empty table, only once.
    assert!(!app.store.has_resources().await.unwrap());
    concierge::hub::import_on_start(&app.store, &hub_file()).await;
    assert!(app.store.has_resources().await.unwrap());

    let mut hub = concierge_hub::load(&hub_file()).unwrap();
    let all = hub.entries.len();
    hub.entries.retain(|e| e.id != "br-cvv");
    let done = app.store.upsert_resources(&hub.entries).await.unwrap();
    assert_eq!(done.deactivated, 1);
    let (_, body) = app.api("/api/v1/resources?country=BR").await;
    assert!(
        !body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == "br-cvv")
    );
    let (status, _, _) = page(&app, "/hub/BR").await;
    assert_eq!(status, 404);
    // The row is kept, inactive; the start-up import does not run again.
    concierge::hub::import_on_start(&app.store, &hub_file()).await;
    let (status, _, _) = page(&app, "/hub/BR").await;
    assert_eq!(status, 404);

    let done = concierge::hub::import(&app.store, &hub_file())
        .await
        .unwrap();
    assert_eq!(done.entries, all);
    assert!(done.changed >= 1, "{done:?}");
    assert_eq!(done.deactivated, 0);
    let (status, _, _) = page(&app, "/hub/BR").await;
    assert_eq!(status, 200);
    let countries = app.store.resource_countries().await.unwrap();
    assert!(countries.len() >= 25, "{countries:?}");
    assert!(countries.iter().all(|c| c.country != "*"));
    app.stop().await;
}
