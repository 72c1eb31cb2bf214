//! `POST /inbound/mime` status codes and the read API's authentication.

mod common;

use common::{INBOUND_TOKEN, TestApp, mail};
use sqlx::PgPool;

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn inbound_http_status_codes(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let raw = mail(
        "fay@example.com",
        "Via HTTP",
        "hello",
        "Message-ID: <http-1@example.com>\r\n",
    );

    let (status, body) = app.post_mime(&raw, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().unwrap().contains("Bearer"));
    let (status, _) = app.post_mime(&raw, Some("wrong-token")).await;
    assert_eq!(status, 401);
    assert_eq!(app.store.counts().await.unwrap(), (0, 0));

    let (status, body) = app.post_mime(&raw, Some(INBOUND_TOKEN)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["result"], "created");
    let reference = body["reference"].as_str().unwrap().to_owned();
    assert_eq!(app.ticket(&reference).await["subject"], "Via HTTP");

    let big = vec![b'a'; 1024 * 1024 + 10];
    let (status, _) = app.post_mime(&big, Some(INBOUND_TOKEN)).await;
    assert_eq!(status, 413);

    let (status, body) = app.post_mime(b"   \r\n", Some(INBOUND_TOKEN)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(app.store.counts().await.unwrap(), (1, 1));
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn api_needs_a_live_token_and_validates_filters(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let c = TestApp::client();
    let base = format!("http://{}", app.http);
    let r = c
        .get(format!("{base}/api/v1/tickets"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = c
        .get(format!("{base}/api/v1/tickets"))
        .bearer_auth("cct_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (status, _) = app.api("/api/v1/tickets?status=bogus").await;
    assert_eq!(status, 400);
    let (status, _) = app.api("/api/v1/tickets?country=Brazil").await;
    assert_eq!(status, 400);
    let (status, _) = app.api("/api/v1/tickets/C-AAAAAA").await;
    assert_eq!(status, 404);
    let (status, _) = app.api("/api/v1/tickets/'; drop table tickets").await;
    assert_eq!(status, 404);
    let r = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = c.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // Revoked tokens stop working.
    app.store.revoke_api_tokens("test").await.unwrap();
    let (status, _) = app.api("/api/v1/tickets").await;
    assert_eq!(status, 401);
    app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn list_filters_search_and_pagination(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    for i in 0..5 {
        let raw = mail(
            &format!("p{i}@example.com"),
            &format!("Request {i}"),
            if i == 3 {
                "I need a therapist in Osaka"
            } else {
                "hello"
            },
            &format!("Message-ID: <list-{i}@example.com>\r\n"),
        );
        assert_eq!(app.post_mime(&raw, Some(INBOUND_TOKEN)).await.0, 201);
    }
    // Cursor pages: 2 + 2 + 1, each case once, `next` null at the end.
    let mut seen = std::collections::HashSet::new();
    let mut sizes = Vec::new();
    let mut path = "/api/v1/tickets?per_page=2".to_owned();
    loop {
        let (status, page) = app.api(&path).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        sizes.push(items.len());
        for t in items {
            assert!(seen.insert(t["reference"].as_str().unwrap().to_owned()));
        }
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/tickets?per_page=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(sizes, [2, 2, 1]);
    let (status, body) = app.api("/api/v1/tickets?after=garbage").await;
    assert_eq!(status, 400, "{body}");
    let found = app.tickets("q=osaka").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["subject"], "Request 3");
    assert_eq!(app.tickets("q=p2@example.com").await.len(), 1);
    assert_eq!(
        app.tickets("q=100%25").await.len(),
        0,
        "search syntax is not a wildcard"
    );
    assert_eq!(app.tickets("status=new").await.len(), 5);
    assert_eq!(app.tickets("status=resolved").await.len(), 0);
    assert_eq!(app.tickets("assignee=none").await.len(), 5);
    app.stop().await;
}
