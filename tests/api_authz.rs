//! The authorisation matrix of the JSON API, over real HTTP: every role ×
//! every endpoint × whose case → the expected status, and nothing a
//! refused request touches changes. Also: the list never shows a case the
//! policy hides, tokens of disabled users / revoked tokens / tokens without
//! a user are refused, and views and changes are audited as the token's
//! user.
//!
//! The specification is the tables [`CASE_MATRIX`] and [`MATRIX`], written
//! out by hand (not computed from the policy). To add an endpoint, add an
//! [`Endpoint`] and a row; a door other than the JSON API (the dashboard's
//! HTML pages) is a new [`Door`] variant with its own `send`.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::TestApp;
use common::dashboard::{open_case, spawn};
use concierge_access::Role;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// The people of the matrix, in the column order of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Coordinator,
    /// Caseworker covering BR.
    CwBr,
    /// Caseworker covering DE.
    CwDe,
}
const WHO: [Who; 4] = [Who::Admin, Who::Coordinator, Who::CwBr, Who::CwDe];

/// The cases of the matrix, in the column order of [`CASE_MATRIX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// BR, assigned to the BR caseworker.
    BrOwn,
    /// BR, unassigned.
    BrPool,
    /// DE, unassigned.
    DePool,
    /// DE, assigned to the DE caseworker.
    DeOwn,
    /// BR, assigned to the DE caseworker (a colleague's case in the BR
    /// caseworker's own country).
    BrOfDe,
}
const CASES: [Case; 5] = [
    Case::BrOwn,
    Case::BrPool,
    Case::DePool,
    Case::DeOwn,
    Case::BrOfDe,
];

/// How a request reaches the application.
#[derive(Debug, Clone, Copy)]
enum Door {
    /// `Authorization: Bearer <the person's API token>`, JSON body.
    Api,
}

/// One endpoint: `{ref}` in the path becomes the case's reference, `{n}`
/// a fresh number; `body(n)` is the JSON body.
struct Endpoint {
    name: &'static str,
    door: Door,
    method: Method,
    path: &'static str,
    body: Option<fn(usize) -> Value>,
    /// The audit action a success writes (for case endpoints: on that
    /// case, by the caller); `None`: nothing is audited.
    audit: Option<&'static str>,
}

const SHOW: Endpoint = Endpoint {
    name: "show",
    door: Door::Api,
    method: Method::GET,
    path: "/api/v1/tickets/{ref}",
    body: None,
    audit: Some("case.view"),
};
const PATCH_PRIORITY: Endpoint = Endpoint {
    name: "patch priority",
    door: Door::Api,
    method: Method::PATCH,
    path: "/api/v1/tickets/{ref}",
    body: Some(|_| json!({ "priority": "high" })),
    audit: Some("case.priority"),
};
const PATCH_CLOSE: Endpoint = Endpoint {
    name: "patch status closed",
    door: Door::Api,
    method: Method::PATCH,
    path: "/api/v1/tickets/{ref}",
    body: Some(|_| json!({ "status": "closed" })),
    audit: Some("case.status"),
};
const PATCH_BACK_TO_POOL: Endpoint = Endpoint {
    name: "patch status new (unassigns)",
    door: Door::Api,
    method: Method::PATCH,
    path: "/api/v1/tickets/{ref}",
    body: Some(|_| json!({ "status": "new" })),
    audit: Some("case.status"),
};
const PATCH_COUNTRY: Endpoint = Endpoint {
    name: "patch country (reroutes)",
    door: Door::Api,
    method: Method::PATCH,
    path: "/api/v1/tickets/{ref}",
    body: Some(|_| json!({ "country": "FR" })),
    audit: Some("case.country"),
};
const PATCH_INVALID: Endpoint = Endpoint {
    name: "patch with an invalid status",
    door: Door::Api,
    method: Method::PATCH,
    path: "/api/v1/tickets/{ref}",
    body: Some(|_| json!({ "status": "bogus" })),
    audit: None,
};
const REPLY: Endpoint = Endpoint {
    name: "reply",
    door: Door::Api,
    method: Method::POST,
    path: "/api/v1/tickets/{ref}/replies",
    body: Some(|_| json!({ "text": "Olá, estou aqui para ajudar." })),
    audit: Some("case.reply"),
};

/// Case endpoints: expected status per person (rows: admin, coordinator,
/// BR caseworker, DE caseworker) and case (columns: BR own, BR pool,
/// DE pool, DE own, BR of the DE caseworker). 404: not visible (never
/// 403, which would reveal the case); 403: visible, not theirs to do.
const CASE_MATRIX: &[(&Endpoint, [[u16; 5]; 4])] = &[
    (
        &SHOW,
        [
            [200, 200, 200, 200, 200],
            [200, 200, 200, 200, 200],
            [200, 200, 404, 404, 404],
            [404, 404, 200, 200, 200],
        ],
    ),
    (
        &PATCH_PRIORITY,
        [
            [200, 200, 200, 200, 200],
            [200, 200, 200, 200, 200],
            [200, 403, 404, 404, 404],
            [404, 404, 403, 200, 200],
        ],
    ),
    (
        &PATCH_CLOSE,
        [
            [200, 200, 200, 200, 200],
            [200, 200, 200, 200, 200],
            [200, 403, 404, 404, 404],
            [404, 404, 403, 200, 200],
        ],
    ),
    (
        &PATCH_BACK_TO_POOL,
        [
            [200, 200, 200, 200, 200],
            [200, 200, 200, 200, 200],
            [403, 403, 404, 404, 404],
            [404, 404, 403, 403, 403],
        ],
    ),
    (
        &PATCH_COUNTRY,
        [
            [200, 200, 200, 200, 200],
            [200, 200, 200, 200, 200],
            [403, 403, 404, 404, 404],
            [404, 404, 403, 403, 403],
        ],
    ),
    (
        &PATCH_INVALID,
        [
            [400, 400, 400, 400, 400],
            [400, 400, 400, 400, 400],
            [400, 403, 404, 404, 404],
            [404, 404, 403, 400, 400],
        ],
    ),
    (
        &REPLY,
        [
            [201, 201, 201, 201, 201],
            [201, 201, 201, 201, 201],
            [201, 403, 404, 404, 404],
            [404, 404, 403, 201, 201],
        ],
    ),
];

const LIST: Endpoint = Endpoint {
    name: "list",
    door: Door::Api,
    method: Method::GET,
    path: "/api/v1/tickets?per_page=200",
    body: None,
    audit: None,
};
const RESOURCES: Endpoint = Endpoint {
    name: "resources",
    door: Door::Api,
    method: Method::GET,
    path: "/api/v1/resources?country=BR",
    body: None,
    audit: None,
};
const VOLUNTEERS: Endpoint = Endpoint {
    name: "volunteers list",
    door: Door::Api,
    method: Method::GET,
    path: "/api/v1/volunteers",
    body: None,
    audit: None,
};
const VOLUNTEER_CREATE: Endpoint = Endpoint {
    name: "volunteer create",
    door: Door::Api,
    method: Method::POST,
    path: "/api/v1/volunteers",
    body: Some(|n| {
        json!({ "email": format!("new{n}@authz.example.org"), "name": "New", "countries": ["PT"],
                "languages": ["pt"], "capacity": 0 })
    }),
    audit: Some("volunteer.create"),
};
const VOLUNTEER_UPDATE: Endpoint = Endpoint {
    name: "volunteer update",
    door: Door::Api,
    method: Method::PATCH,
    path: "/api/v1/volunteers/cw-de@authz.example.org",
    body: Some(|n| json!({ "name": format!("Renamed {n}") })),
    audit: Some("volunteer.update"),
};
const VOLUNTEER_UPDATE_UNKNOWN: Endpoint = Endpoint {
    name: "volunteer update (unknown address)",
    door: Door::Api,
    method: Method::PATCH,
    path: "/api/v1/volunteers/nobody@authz.example.org",
    body: Some(|_| json!({ "name": "Nobody" })),
    audit: None,
};

/// Endpoints about no case: expected status per person (admin,
/// coordinator, BR caseworker, DE caseworker).
const MATRIX: &[(&Endpoint, [u16; 4])] = &[
    (&LIST, [200, 200, 200, 200]),
    (&RESOURCES, [200, 200, 200, 200]),
    (&VOLUNTEERS, [200, 200, 403, 403]),
    (&VOLUNTEER_CREATE, [201, 403, 403, 403]),
    (&VOLUNTEER_UPDATE, [200, 403, 403, 403]),
    (&VOLUNTEER_UPDATE_UNKNOWN, [404, 403, 403, 403]),
];

/// Which cases each person sees: the 200 cells of `SHOW`'s row.
fn visible_to(row: usize) -> Vec<Case> {
    let show = CASE_MATRIX
        .iter()
        .find(|(e, _)| e.name == SHOW.name)
        .map(|(_, m)| m[row])
        .unwrap_or_default();
    CASES
        .iter()
        .zip(show)
        .filter(|(_, s)| *s == 200)
        .map(|(c, _)| *c)
        .collect()
}

struct Person {
    who: Who,
    user_id: Uuid,
    token: String,
}

struct Fixture {
    app: TestApp,
    people: Vec<Person>,
    cw_br_volunteer: Uuid,
    cw_de_volunteer: Uuid,
    /// (case, reference, id)
    cases: Vec<(Case, String, Uuid)>,
}

impl Fixture {
    fn person(&self, who: Who) -> &Person {
        self.people
            .iter()
            .find(|p| p.who == who)
            .expect("every Who has a person")
    }

    fn case(&self, c: Case) -> (&str, Uuid) {
        let (_, r, id) = self
            .cases
            .iter()
            .find(|(x, _, _)| *x == c)
            .expect("every Case is opened");
        (r, *id)
    }

    fn pool(&self) -> &PgPool {
        self.app.store.pool()
    }

    /// Puts every case back as the matrix expects it.
    async fn arrange(&self) {
        for (c, reference, _) in &self.cases {
            let (country, assignee) = match c {
                Case::BrOwn => ("BR", Some(self.cw_br_volunteer)),
                Case::BrPool => ("BR", None),
                Case::DePool => ("DE", None),
                Case::DeOwn => ("DE", Some(self.cw_de_volunteer)),
                Case::BrOfDe => ("BR", Some(self.cw_de_volunteer)),
            };
            sqlx::query(
                "UPDATE tickets SET country = $2, assignee_id = $3, priority = 'normal',
                        routing_state = CASE WHEN $3::uuid IS NULL THEN 'waiting' ELSE 'assigned' END,
                        status = CASE WHEN $3::uuid IS NULL THEN 'new' ELSE 'assigned' END
                 WHERE reference = $1",
            )
            .bind(reference)
            .bind(country)
            .bind(assignee)
            .execute(self.pool())
            .await
            .unwrap();
        }
    }
}

/// The app without background workers (routing must not move the cases
/// the matrix arranges), four people with API tokens and five cases.
async fn fixture(pool: &PgPool) -> Fixture {
    let app = spawn(pool).await;
    let store = &app.store;
    let cw_br_volunteer = store
        .add_volunteer(
            "cw-br@authz.example.org",
            "Bea",
            &["BR".into()],
            &["pt".into()],
            10,
        )
        .await
        .unwrap();
    let cw_de_volunteer = store
        .add_volunteer(
            "cw-de@authz.example.org",
            "Dirk",
            &["DE".into()],
            &["de".into()],
            10,
        )
        .await
        .unwrap();
    let mut people = Vec::new();
    for (who, email, role, volunteer) in [
        (Who::Admin, "admin@authz.example.org", Role::Admin, None),
        (
            Who::Coordinator,
            "coordinator@authz.example.org",
            Role::Coordinator,
            None,
        ),
        (
            Who::CwBr,
            "cw-br@authz.example.org",
            Role::Caseworker,
            Some(cw_br_volunteer),
        ),
        (
            Who::CwDe,
            "cw-de@authz.example.org",
            Role::Caseworker,
            Some(cw_de_volunteer),
        ),
    ] {
        let user_id = store
            .create_user(email, email, role, volunteer, None)
            .await
            .unwrap();
        let token = store
            .create_api_token(&format!("{email} token"), user_id)
            .await
            .unwrap();
        people.push(Person {
            who,
            user_id,
            token,
        });
    }
    let mut cases = Vec::new();
    for (i, c) in CASES.iter().enumerate() {
        let raw = common::mail(
            &format!("requester{i}@example.net"),
            &format!("Case {c:?}"),
            "I need someone to talk to.",
            "",
        );
        let reference = open_case(&app, &raw).await;
        let id: Uuid = sqlx::query_scalar("SELECT id FROM tickets WHERE reference = $1")
            .bind(&reference)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        cases.push((*c, reference, id));
    }
    let f = Fixture {
        app,
        people,
        cw_br_volunteer,
        cw_de_volunteer,
        cases,
    };
    f.arrange().await;
    f
}

/// Sends `e` as `token` (none: no credentials) through its door.
async fn send(
    app: &TestApp,
    e: &Endpoint,
    token: Option<&str>,
    reference: Option<&str>,
    n: usize,
) -> (u16, Value) {
    let path = e
        .path
        .replace("{ref}", reference.unwrap_or_default())
        .replace("{n}", &n.to_string());
    match e.door {
        Door::Api => {
            let mut req =
                TestApp::client().request(e.method.clone(), format!("http://{}{path}", app.http));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(body) = e.body {
                req = req.json(&body(n));
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json().await.unwrap_or(Value::Null))
        }
    }
}

/// Everything a request could alter about a case, and the audit log's size.
async fn snapshot(pool: &PgPool, ticket: Option<Uuid>) -> (Value, i64) {
    let case = match ticket {
        Some(id) => sqlx::query_scalar::<_, Value>(
            "SELECT jsonb_build_object(
                 'status', status, 'priority', priority, 'country', country,
                 'assignee', assignee_id, 'updated_at', updated_at,
                 'messages', (SELECT count(*) FROM messages WHERE ticket_id = t.id),
                 'outbox', (SELECT count(*) FROM outbox WHERE ticket_id = t.id),
                 'assignments', (SELECT count(*) FROM assignments WHERE ticket_id = t.id))
             FROM tickets t WHERE id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap(),
        None => sqlx::query_scalar::<_, Value>(
            "SELECT jsonb_build_object(
                 'volunteers', (SELECT jsonb_agg(v ORDER BY email) FROM volunteers v))",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
    };
    let audit: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM audit_log")
        .fetch_one(pool)
        .await
        .unwrap();
    (case, audit)
}

/// Audit records after `after`: (actor, action, ticket).
async fn audit_since(pool: &PgPool, after: i64) -> Vec<(Option<Uuid>, String, Option<Uuid>)> {
    sqlx::query_as(
        "SELECT actor_user_id, action, ticket_id FROM audit_log WHERE id > $1 ORDER BY id",
    )
    .bind(after)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Checks one request: its status; a refusal changed nothing and audited
/// nothing; a success wrote exactly the expected audit record.
async fn check(
    f: &Fixture,
    e: &Endpoint,
    who: Who,
    case: Option<Case>,
    expected: u16,
    n: usize,
    failures: &mut Vec<String>,
) {
    let person = f.person(who);
    let (reference, ticket) = match case {
        Some(c) => {
            let (r, id) = f.case(c);
            (Some(r.to_owned()), Some(id))
        }
        None => (None, None),
    };
    let before = snapshot(f.pool(), ticket).await;
    let (status, body) = send(&f.app, e, Some(&person.token), reference.as_deref(), n).await;
    let label = format!("{} as {who:?} on {case:?}", e.name);
    if status != expected {
        failures.push(format!(
            "{label}: got {status}, expected {expected} ({body})"
        ));
    }
    let after = snapshot(f.pool(), ticket).await;
    let audited = audit_since(f.pool(), before.1).await;
    if !(200..300).contains(&status) {
        if before.0 != after.0 {
            failures.push(format!(
                "{label}: refused ({status}) but changed {} → {}",
                before.0, after.0
            ));
        }
        if !audited.is_empty() {
            failures.push(format!("{label}: refused but audited {audited:?}"));
        }
        if !body["error"].is_string() {
            failures.push(format!("{label}: error body without a message: {body}"));
        }
        return;
    }
    let want: Vec<(Option<Uuid>, String, Option<Uuid>)> = e
        .audit
        .map(|a| (Some(person.user_id), a.to_owned(), ticket))
        .into_iter()
        .collect();
    if audited != want {
        failures.push(format!("{label}: audited {audited:?}, expected {want:?}"));
    }
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn api_authorisation_matrix(pool: PgPool) {
    let f = fixture(&pool).await;
    let mut failures = Vec::new();
    let mut n = 0;
    for (e, expected) in CASE_MATRIX {
        for (row, who) in WHO.iter().enumerate() {
            for (col, case) in CASES.iter().enumerate() {
                n += 1;
                check(
                    &f,
                    e,
                    *who,
                    Some(*case),
                    expected[row][col],
                    n,
                    &mut failures,
                )
                .await;
                f.arrange().await;
            }
        }
    }
    for (e, expected) in MATRIX {
        for (row, who) in WHO.iter().enumerate() {
            n += 1;
            check(&f, e, *who, None, expected[row], n, &mut failures).await;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(n, CASE_MATRIX.len() * 4 * 5 + MATRIX.len() * 4);
    f.app.stop().await;
}

/// The references of `items` that are matrix cases.
fn listed(f: &Fixture, body: &Value) -> BTreeSet<String> {
    let ours: BTreeSet<&str> = f.cases.iter().map(|(_, r, _)| r.as_str()).collect();
    body["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["reference"].as_str())
                .filter(|r| ours.contains(r))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn the_list_shows_exactly_the_visible_cases_whatever_the_filters(pool: PgPool) {
    let f = fixture(&pool).await;
    let total: usize = f.cases.len();
    for (row, who) in WHO.iter().enumerate() {
        let token = &f.person(*who).token;
        let expected: BTreeSet<String> = visible_to(row)
            .iter()
            .map(|c| f.case(*c).0.to_owned())
            .collect();
        let get = |q: String| {
            let url = format!("http://{}/api/v1/tickets?{q}", f.app.http);
            async move {
                let res = TestApp::client()
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                res.json::<Value>().await.unwrap()
            }
        };
        let all = get("per_page=200".to_owned()).await;
        assert_eq!(listed(&f, &all), expected, "{who:?}: the unfiltered list");
        // Filters only narrow: none of them widens the scope.
        let mut filters = vec![
            "country=DE".to_owned(),
            "country=BR".to_owned(),
            "assignee=none".to_owned(),
            "assignee=cw-de@authz.example.org".to_owned(),
            "assignee=cw-br@authz.example.org".to_owned(),
            "status=new".to_owned(),
            "status=assigned".to_owned(),
            "q=talk".to_owned(),
        ];
        for (_, r, _) in &f.cases {
            filters.push(format!("q={r}"));
            filters.push(format!("q={}", r.to_lowercase()));
        }
        for q in filters {
            let got = listed(&f, &get(q.clone()).await);
            assert!(
                got.is_subset(&expected),
                "{who:?} {q}: listed {:?}, which they may not see",
                got.difference(&expected).collect::<Vec<_>>()
            );
        }
        // Pages partition the same set.
        let mut paged = BTreeSet::new();
        let mut query = "per_page=1".to_owned();
        for _ in 0..=total {
            let body = get(query.clone()).await;
            paged.extend(listed(&f, &body));
            match body["next"].as_str() {
                Some(next) => query = format!("per_page=1&after={next}"),
                None => break,
            }
        }
        assert_eq!(paged, expected, "{who:?}: paging");
    }
    f.app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn another_countrys_reference_reveals_and_alters_nothing(pool: PgPool) {
    let f = fixture(&pool).await;
    let br = &f.person(Who::CwBr).token;
    let (de_ref, de_id) = f.case(Case::DePool);
    // The answer for a case that exists but is hidden is the answer for a
    // case that does not exist: no oracle.
    let missing = "C-222222";
    assert!(f.cases.iter().all(|(_, r, _)| r != missing));
    for e in [&SHOW, &PATCH_PRIORITY, &PATCH_COUNTRY, &REPLY] {
        let before = snapshot(f.pool(), Some(de_id)).await;
        let hidden = send(&f.app, e, Some(br), Some(de_ref), 0).await;
        let lower = send(&f.app, e, Some(br), Some(&de_ref.to_lowercase()), 0).await;
        let absent = send(&f.app, e, Some(br), Some(missing), 0).await;
        assert_eq!(hidden.0, 404, "{}: {}", e.name, hidden.1);
        assert_eq!(hidden, absent, "{}: hidden vs absent", e.name);
        assert_eq!(lower, absent, "{}: lower-case reference", e.name);
        assert_eq!(before, snapshot(f.pool(), Some(de_id)).await, "{}", e.name);
    }
    // The requester's reply address never reaches them either.
    let (status, body) = send(&f.app, &SHOW, Some(br), Some(de_ref), 0).await;
    assert_eq!(status, 404);
    assert!(!body.to_string().contains("requester"), "{body}");
    f.app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn refused_tokens(pool: PgPool) {
    let f = fixture(&pool).await;
    let (reference, _) = f.case(Case::BrOwn);
    let every: Vec<&Endpoint> = CASE_MATRIX
        .iter()
        .map(|(e, _)| *e)
        .chain(MATRIX.iter().map(|(e, _)| *e))
        .collect();
    let expect_401 = |who: &'static str, token: Option<String>, needle: &'static str| {
        let every = every.clone();
        let f = &f;
        async move {
            for e in every {
                let (status, body) = send(&f.app, e, token.as_deref(), Some(reference), 0).await;
                assert_eq!(status, 401, "{} with {who}: {body}", e.name);
                let msg = body["error"].as_str().unwrap_or_default();
                assert!(msg.contains(needle), "{} with {who}: {msg}", e.name);
            }
        }
    };
    expect_401("no token", None, "API token is required").await;
    expect_401(
        "a made-up token",
        Some(format!("cct_{}", "0".repeat(64))),
        "invalid",
    )
    .await;
    expect_401("not a token", Some("hello".into()), "invalid").await;

    // The BR caseworker's token works until their account is disabled.
    let cw = f.person(Who::CwBr);
    let (status, _) = send(&f.app, &SHOW, Some(&cw.token), Some(reference), 0).await;
    assert_eq!(status, 200);
    f.app
        .store
        .disable_user("cw-br@authz.example.org")
        .await
        .unwrap();
    expect_401("a disabled user's token", Some(cw.token.clone()), "--user").await;

    // A revoked token.
    let coord = f.person(Who::Coordinator);
    let (status, _) = send(&f.app, &SHOW, Some(&coord.token), Some(reference), 0).await;
    assert_eq!(status, 200);
    let revoked = f
        .app
        .store
        .revoke_api_tokens("coordinator@authz.example.org token")
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    expect_401("a revoked token", Some(coord.token.clone()), "revoked").await;

    // A token from before tokens had owners (no user): refused, with the way out.
    let old = format!("cct_{}", "ab".repeat(32));
    let digest: String = sqlx::query_scalar("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')")
        .bind(&old)
        .fetch_one(f.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO api_tokens (id, name, token_sha256) VALUES ($1, 'legacy', $2)")
        .bind(Uuid::new_v4())
        .bind(digest)
        .execute(f.pool())
        .await
        .unwrap();
    expect_401(
        "a token without a user",
        Some(old),
        "concierge token create --user",
    )
    .await;

    // A token cannot be made for a disabled user.
    let err = f
        .app
        .store
        .create_api_token("again", cw.user_id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, concierge_store::StoreError::NotFound),
        "{err}"
    );

    // The OpenAPI document needs no token.
    let res = TestApp::client()
        .get(format!("http://{}/api/v1/openapi.json", f.app.http))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    f.app.stop().await;
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn the_openapi_document_describes_the_served_api(pool: PgPool) {
    let f = fixture(&pool).await;
    let res = TestApp::client()
        .get(format!("http://{}/api/v1/openapi.json", f.app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    // Every documented operation is routed: an authenticated one refuses a
    // request without a token (401, where an unrouted path gets the
    // fallback's 404); with the admin's token none answers 405, a status it
    // does not document, or 404 when every path parameter names something
    // that exists (other parameters get a nil id).
    let admin = &f.person(Who::Admin).token;
    let (reference, _) = f.case(Case::BrPool);
    for (path, ops) in paths {
        let concrete = path
            .replace("{reference}", reference)
            .replace("{email}", "cw-de@authz.example.org");
        let all_known = !concrete.contains('{');
        let concrete = concrete
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "00000000-0000-0000-0000-000000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for (method, op) in ops.as_object().unwrap() {
            let m: Method = method.to_uppercase().parse().unwrap();
            let url = format!("http://{}{concrete}", f.app.http);
            let mut req = TestApp::client()
                .request(m.clone(), &url)
                .bearer_auth(admin);
            if op.get("requestBody").is_some() {
                // An empty object: either valid (all optional) or a 400.
                req = req.json(&json!({}));
            }
            let status = req.send().await.unwrap().status().as_u16();
            assert_ne!(status, 405, "{method} {path}");
            assert!(
                status != 404 || !all_known,
                "{method} {path} answered 404 for an existing case"
            );
            let documented: BTreeSet<&str> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert!(
                documented.contains(status.to_string().as_str()),
                "{method} {path}: {status} is not documented ({documented:?})"
            );
            let anonymous = TestApp::client()
                .request(m, &url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            let public = op["security"] == json!([]);
            assert_eq!(anonymous == 401, !public, "{method} {path} without a token");
        }
    }
    f.app.stop().await;
}
