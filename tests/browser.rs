//! The caseworkers' dashboard in a real headless browser (Debian's
//! `chromium`, driven through `chromedriver` over WebDriver): a case comes
//! in over real SMTP, is routed to a Brazilian caseworker, who signs in,
//! finds it in the queue, replies and changes its status; a coordinator
//! reads the overview and reassigns a second case; an admin opens the
//! people and audit pages. Screenshots of each page land in
//! `target/browser-artifacts/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`
//! (`scripts/test.sh` installs them).

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestApp;
use concierge_access::{Role, hash_password};
use concierge_store::RouteOutcome;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use sqlx::PgPool;
use uuid::Uuid;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const EMAIL: &str = "bea@example.org";
const PASSWORD: &str = "correct horse battery staple";
const CAIO: &str = "caio@example.org";
const COORDINATOR: &str = "coord@example.org";
const ADMIN: &str = "admin@example.org";
/// How long any one wait in the browser may take.
const WAIT: Duration = Duration::from_secs(20);
/// How long the whole browser session may take.
const BUDGET: Duration = Duration::from_secs(300);

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/browser-artifacts");
    dir
}

fn require(binary: &str, package: &str) {
    assert!(
        Path::new(binary).is_file(),
        "{binary} is missing: the browser test needs Debian's `{package}` package. \
         Run scripts/test.sh (it installs chromium and chromium-driver), or \
         `apt-get install chromium chromium-driver`."
    );
}

/// A chromedriver of our own on a loopback port, and the browser profile
/// folder it uses. Dropping it shuts both down, on failure too.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start() -> Self {
        require(CHROMIUM, "chromium");
        require(CHROMEDRIVER, "chromium-driver");
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
            l.local_addr().unwrap().port()
        };
        let log = std::fs::File::create(artifacts().join("chromedriver.log")).unwrap();
        let profile = std::env::temp_dir().join(format!("concierge-chromium-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&profile).unwrap();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                // Its own process group, so the browsers it starts go with it.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}; run scripts/test.sh"))
        };
        Self {
            child,
            port,
            profile,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until chromedriver reports itself ready.
    async fn ready(&mut self) {
        let status = format!("{}/status", self.url());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                panic!(
                    "chromedriver exited early ({exit}); see target/browser-artifacts/chromedriver.log"
                );
            }
            if let Ok(res) = client.get(&status).send().await
                && let Ok(body) = res.json::<serde_json::Value>().await
                && body["value"]["ready"] == true
            {
                return;
            }
            assert!(
                start.elapsed() < WAIT,
                "chromedriver did not answer on {status} within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn connect(&self) -> Client {
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", self.profile.display()),
                ],
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let c = tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::native()
                .capabilities(caps)
                .connect(&self.url()),
        )
        .await
        .expect("a browser session within 60 s")
        .expect("chromedriver starts chromium");
        c.update_timeouts(TimeoutConfiguration::new(
            Some(WAIT),
            Some(Duration::from_secs(30)),
            Some(Duration::ZERO),
        ))
        .await
        .unwrap();
        c
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Ask politely (this quits any browser still open), then make sure.
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
            let _ = s.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = s.read(&mut [0u8; 512]);
        }
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The whole group we started: chromedriver and any chromium left.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let png = c.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let path = artifacts().join(name);
    std::fs::write(&path, png).unwrap();
    path
}

/// Waits for an element; on failure shows the page the browser has.
async fn element(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => {
            let url = c.current_url().await.map(|u| u.to_string());
            let page = c.source().await.unwrap_or_default();
            panic!("no `{css}` within {WAIT:?} ({e}); at {url:?}:\n{page}")
        }
    }
}

/// Waits until the element's visible text satisfies `ok`; returns it.
async fn text_until(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let text = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if ok(&text) {
            return text;
        }
        if start.elapsed() > WAIT {
            let url = c.current_url().await.map(|u| u.to_string());
            let page = c.source().await.unwrap_or_default();
            panic!("`{css}` reads {text:?} after {WAIT:?}; at {url:?}:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs out through the header form and signs in as `email`.
async fn sign_out_and_in(c: &Client, base: &str, email: &str) {
    element(c, "form[action='/logout'] button[type='submit']")
        .await
        .click()
        .await
        .unwrap();
    element(c, "form[action='/login'] #email").await;
    c.goto(&format!("{base}/login")).await.unwrap();
    element(c, "#email").await.send_keys(email).await.unwrap();
    element(c, "#password")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    element(c, "form[action='/login'] button[type='submit']")
        .await
        .click()
        .await
        .unwrap();
    text_until(c, "h1", |t| t == "Cases").await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn caseworker_replies_and_changes_status_in_a_real_browser(pool: PgPool) {
    // Check the browser first: a machine without it fails here, clearly.
    let mut driver = Driver::start();

    // The app without background workers; the test routes the case itself.
    let app = TestApp::spawn_with(common::database_url(&pool), |s| {
        s.worker.run_in_serve = false;
    })
    .await;
    let vid = app
        .store
        .add_volunteer(
            EMAIL,
            "Bea Souza",
            &["BR".into()],
            &["pt".into(), "en".into()],
            5,
        )
        .await
        .unwrap();
    let hash = hash_password(PASSWORD).unwrap();
    app.store
        .create_user(EMAIL, "Bea Souza", Role::Caseworker, Some(vid), Some(&hash))
        .await
        .unwrap();

    // A second Brazilian caseworker, a coordinator and an admin.
    let caio = app
        .store
        .add_volunteer(CAIO, "Caio Lima", &["BR".into()], &["pt".into()], 5)
        .await
        .unwrap();
    app.store
        .create_user(CAIO, "Caio Lima", Role::Caseworker, Some(caio), Some(&hash))
        .await
        .unwrap();
    for (email, role) in [(COORDINATOR, Role::Coordinator), (ADMIN, Role::Admin)] {
        app.store
            .create_user(email, "Staff", role, None, Some(&hash))
            .await
            .unwrap();
    }

    // A Brazilian request over real SMTP.
    let subject = "Preciso de ajuda";
    let raw = common::mail(
        "ana@uol.com.br",
        subject,
        "Olá, moro em São Paulo e preciso de ajuda.",
        &format!("Message-ID: <{}@uol.com.br>\r\n", Uuid::new_v4()),
    );
    let reply = common::smtp_send(
        app.smtp,
        "ana@uol.com.br",
        &["global@concierge.example.org"],
        &raw,
    )
    .await;
    assert!(reply.starts_with("250"), "{reply}");
    let tickets = app.tickets("").await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let reference = tickets[0]["reference"].as_str().unwrap().to_owned();
    let ticket = app.ticket(&reference).await;
    assert_eq!(ticket["country"], "BR", "{ticket}");
    let id: Uuid = sqlx::query_scalar("SELECT id FROM tickets WHERE reference = $1")
        .bind(&reference)
        .fetch_one(&pool)
        .await
        .unwrap();
    match app.store.route_ticket(id).await.unwrap() {
        RouteOutcome::Assigned { volunteer_id, .. } => assert_eq!(volunteer_id, vid),
        other => panic!("{other:?}"),
    }

    driver.ready().await;
    let c = driver.connect().await;
    let base = format!("http://{}", app.http);
    let answer = "Olá, Ana. Estamos aqui para ajudar: qual cidade?";
    let (shots, to_id) = tokio::time::timeout(BUDGET, async {
        let mut shots = Vec::new();

        // Signed out: the dashboard sends the browser to the login form.
        c.goto(&format!("{base}/")).await.unwrap();
        element(&c, "form[action='/login'] #email").await;
        assert_eq!(c.current_url().await.unwrap().path(), "/login");
        shots.push(screenshot(&c, "login.png").await);
        element(&c, "#email").await.send_keys(EMAIL).await.unwrap();
        element(&c, "#password")
            .await
            .send_keys(PASSWORD)
            .await
            .unwrap();
        element(&c, "form[action='/login'] button[type='submit']")
            .await
            .click()
            .await
            .unwrap();

        // The queue, with the case assigned to her.
        let link = format!("a[href='/cases/{reference}']");
        element(&c, &link).await;
        assert_eq!(c.current_url().await.unwrap().path(), "/");
        assert_eq!(element(&c, "h1").await.text().await.unwrap(), "Cases");
        let row = element(&c, "tbody tr").await.text().await.unwrap();
        for want in [reference.as_str(), subject, "assigned", "BR"] {
            assert!(row.contains(want), "queue row {row:?} lacks {want:?}");
        }
        shots.push(screenshot(&c, "queue.png").await);

        // The case page.
        element(&c, &link).await.click().await.unwrap();
        let h1 = text_until(&c, "h1", |t| t.starts_with(&reference)).await;
        assert!(h1.contains(subject), "{h1}");
        let thread = element(&c, "article.message").await.text().await.unwrap();
        assert!(thread.contains("preciso de ajuda"), "{thread}");
        shots.push(screenshot(&c, "case.png").await);

        // A reply through the composer shows on the thread.
        element(&c, "#reply-text")
            .await
            .send_keys(answer)
            .await
            .unwrap();
        element(&c, "form[action$='/reply'] button[type='submit']")
            .await
            .click()
            .await
            .unwrap();
        text_until(&c, "article.message:nth-of-type(2)", |t| t.contains(answer)).await;
        let n = c
            .find_all(Locator::Css("article.message"))
            .await
            .unwrap()
            .len();
        assert_eq!(n, 2, "the request and the reply");
        shots.push(screenshot(&c, "case-replied.png").await);

        // The status form moves the case on.
        let status_dd = "dl.facts dd:nth-of-type(1)";
        let before = text_until(&c, status_dd, |t| !t.is_empty()).await;
        assert_ne!(before, "resolved");
        element(&c, "#new-status")
            .await
            .select_by_value("resolved")
            .await
            .unwrap();
        element(&c, "form[action$='/status'] button[type='submit']")
            .await
            .click()
            .await
            .unwrap();
        text_until(&c, status_dd, |t| t == "resolved").await;
        shots.push(screenshot(&c, "case-resolved.png").await);

        // A second request, routed to Bea; a coordinator reassigns it.
        let raw = common::mail(
            "joao@uol.com.br",
            "Socorro",
            "Oi, moro em Curitiba e não estou bem.",
            &format!("Message-ID: <{}@uol.com.br>\r\n", Uuid::new_v4()),
        );
        let reply = common::smtp_send(
            app.smtp,
            "joao@uol.com.br",
            &["global@concierge.example.org"],
            &raw,
        )
        .await;
        assert!(reply.starts_with("250"), "{reply}");
        let second: (String, Uuid) =
            sqlx::query_as("SELECT reference, id FROM tickets WHERE reference <> $1")
                .bind(&reference)
                .fetch_one(&pool)
                .await
                .unwrap();
        // Routed to one of the two Brazilian caseworkers; reassigned to the
        // other.
        let (from, to, to_id) = match app.store.route_ticket(second.1).await.unwrap() {
            RouteOutcome::Assigned { volunteer_id, .. } if volunteer_id == vid => {
                (EMAIL, CAIO, caio)
            }
            RouteOutcome::Assigned { volunteer_id, .. } if volunteer_id == caio => {
                (CAIO, EMAIL, vid)
            }
            other => panic!("{other:?}"),
        };
        sign_out_and_in(&c, &base, COORDINATOR).await;

        // The overview draws its charts.
        c.goto(&format!("{base}/overview")).await.unwrap();
        text_until(&c, "h1", |t| t == "Overview").await;
        let charts = c.find_all(Locator::Css("svg[role='img']")).await.unwrap();
        assert!(charts.len() >= 3, "{} charts", charts.len());
        shots.push(screenshot(&c, "overview.png").await);

        // Reassign from the case page.
        c.goto(&format!("{base}/cases/{}", second.0)).await.unwrap();
        let assignee_dd = "dl.facts dd:nth-of-type(7)";
        text_until(&c, assignee_dd, |t| t.contains(from)).await;
        element(&c, "#assign-volunteer")
            .await
            .select_by_value(to)
            .await
            .unwrap();
        element(&c, "#assign-reason")
            .await
            .send_keys("On leave this week")
            .await
            .unwrap();
        element(&c, "form[action$='/assign'] button[type='submit']")
            .await
            .click()
            .await
            .unwrap();
        text_until(&c, assignee_dd, |t| t.contains(to)).await;
        shots.push(screenshot(&c, "case-reassigned.png").await);

        // An admin's pages: people and the audit log.
        sign_out_and_in(&c, &base, ADMIN).await;
        c.goto(&format!("{base}/admin/people")).await.unwrap();
        text_until(&c, "h1", |t| t == "People").await;
        let people = element(&c, "main").await.text().await.unwrap();
        assert!(
            people.contains(CAIO) && people.contains(COORDINATOR),
            "{people}"
        );
        shots.push(screenshot(&c, "admin-people.png").await);
        c.goto(&format!("{base}/admin/audit")).await.unwrap();
        text_until(&c, "h1", |t| t == "Audit log").await;
        let log = element(&c, "main").await.text().await.unwrap();
        assert!(
            log.contains("case.reassign") || log.contains("case.assign"),
            "{log}"
        );
        shots.push(screenshot(&c, "audit.png").await);

        // On a phone-sized window the queue and a case still work: no
        // horizontal scrolling of the page itself.
        c.set_window_size(390, 844).await.unwrap();
        c.goto(&format!("{base}/")).await.unwrap();
        text_until(&c, "h1", |t| t == "Cases").await;
        shots.push(screenshot(&c, "queue-phone.png").await);
        c.goto(&format!("{base}/cases/{}", second.0)).await.unwrap();
        text_until(&c, "h1", |t| t.starts_with(&second.0)).await;
        let overflow = c
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            overflow,
            serde_json::Value::Bool(false),
            "the case page scrolls sideways on a phone"
        );
        shots.push(screenshot(&c, "case-phone.png").await);
        (shots, to_id)
    })
    .await
    .unwrap_or_else(|_| panic!("the browser steps took longer than {BUDGET:?}"));
    let _ = tokio::time::timeout(Duration::from_secs(15), c.close()).await;
    drop(driver);

    // What the browser showed is what was stored.
    let t = app.ticket(&reference).await;
    assert_eq!(t["status"], "resolved", "{t}");
    assert_eq!(t["message_count"], 2, "{t}");
    let reassigned: (Option<Uuid>, i64) = sqlx::query_as(
        "SELECT t.assignee_id, (SELECT count(*) FROM assignments a WHERE a.ticket_id = t.id)
         FROM tickets t WHERE t.reference <> $1",
    )
    .bind(&reference)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(reassigned, (Some(to_id), 2), "reassigned, with its history");
    for s in &shots {
        let len = std::fs::metadata(s).unwrap().len();
        assert!(len > 1000, "{} is only {len} bytes", s.display());
        eprintln!("screenshot: {}", s.display());
    }
    app.stop().await;
}
