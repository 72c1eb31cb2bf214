//! The dashboard's authorisation matrix over real HTTP: every case page and
//! case form × every role × whose case it is. A case the viewer may not see
//! answers 404 (its existence is not revealed), a case they see but may not
//! change 403, and a refused request changes nothing and writes no audit
//! record. (`tests/api_authz.rs` is the same matrix for the JSON API.)

mod common;

use common::TestApp;
use common::dashboard::{caseworker, open_case, session, spawn, user};
use concierge_access::Role;
use sqlx::PgPool;
use uuid::Uuid;

const SPARE: &str = "spare@authz.example.org";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Coord,
    /// A caseworker covering BR.
    CwBr,
    /// A caseworker covering DE.
    CwDe,
}

const WHO: [Who; 4] = [Who::Admin, Who::Coord, Who::CwBr, Who::CwDe];

impl Who {
    fn email(self) -> &'static str {
        match self {
            Who::Admin => "admin@authz.example.org",
            Who::Coord => "coord@authz.example.org",
            Who::CwBr => "cw-br@authz.example.org",
            Who::CwDe => "cw-de@authz.example.org",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// BR, assigned to the BR caseworker.
    Own,
    /// BR, unassigned.
    BrPool,
    /// DE, unassigned.
    DePool,
    /// BR, assigned to the DE caseworker (a colleague's case in the BR
    /// caseworker's own country).
    Colleague,
}

const CASES: [Case; 4] = [Case::Own, Case::BrPool, Case::DePool, Case::Colleague];

/// One page or form: its method, path after `/cases/{ref}`, form fields,
/// and the expected status per role, in `CASES` order.
struct Endpoint {
    name: &'static str,
    post: bool,
    path: &'static str,
    form: &'static [(&'static str, &'static str)],
    expect: [(Who, [u16; 4]); 4],
}

// 200/303 success, 403 visible but not theirs, 404 not visible, 409 a
// state conflict.
const VIEW: [u16; 4] = [200, 200, 200, 200];
const STAFF_CHANGE: [u16; 4] = [303, 303, 303, 303];

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        name: "view",
        post: false,
        path: "",
        form: &[],
        expect: [
            (Who::Admin, VIEW),
            (Who::Coord, VIEW),
            (Who::CwBr, [200, 200, 404, 404]),
            (Who::CwDe, [404, 404, 200, 200]),
        ],
    },
    Endpoint {
        name: "reply",
        post: true,
        path: "/reply",
        form: &[("text", "We are here for you.")],
        expect: [
            (Who::Admin, STAFF_CHANGE),
            (Who::Coord, STAFF_CHANGE),
            (Who::CwBr, [303, 403, 404, 404]),
            (Who::CwDe, [404, 404, 403, 303]),
        ],
    },
    Endpoint {
        name: "note",
        post: true,
        path: "/notes",
        form: &[("text", "Called the line with her.")],
        expect: [
            (Who::Admin, STAFF_CHANGE),
            (Who::Coord, STAFF_CHANGE),
            (Who::CwBr, [303, 403, 404, 404]),
            (Who::CwDe, [404, 404, 403, 303]),
        ],
    },
    Endpoint {
        name: "status",
        post: true,
        path: "/status",
        form: &[("status", "closed")],
        expect: [
            (Who::Admin, STAFF_CHANGE),
            (Who::Coord, STAFF_CHANGE),
            (Who::CwBr, [303, 403, 404, 404]),
            (Who::CwDe, [404, 404, 403, 303]),
        ],
    },
    Endpoint {
        name: "priority",
        post: true,
        path: "/priority",
        form: &[("priority", "urgent")],
        expect: [
            (Who::Admin, STAFF_CHANGE),
            (Who::Coord, STAFF_CHANGE),
            (Who::CwBr, [303, 403, 404, 404]),
            (Who::CwDe, [404, 404, 403, 303]),
        ],
    },
    Endpoint {
        name: "country",
        post: true,
        path: "/country",
        form: &[("country", "FR")],
        expect: [
            (Who::Admin, STAFF_CHANGE),
            (Who::Coord, STAFF_CHANGE),
            (Who::CwBr, [403, 403, 404, 404]),
            (Who::CwDe, [404, 404, 403, 403]),
        ],
    },
    Endpoint {
        name: "take",
        post: true,
        path: "/take",
        form: &[],
        expect: [
            // An assigned case is a conflict (409) for anyone who sees it;
            // staff without a volunteer record have nobody to take a pool
            // case for (403).
            (Who::Admin, [409, 403, 403, 409]),
            (Who::Coord, [409, 403, 403, 409]),
            (Who::CwBr, [409, 303, 404, 404]),
            (Who::CwDe, [404, 404, 303, 409]),
        ],
    },
    Endpoint {
        name: "assign",
        post: true,
        path: "/assign",
        form: &[("volunteer", SPARE), ("reason", "Cover while away")],
        expect: [
            (Who::Admin, STAFF_CHANGE),
            (Who::Coord, STAFF_CHANGE),
            (Who::CwBr, [403, 403, 404, 404]),
            (Who::CwDe, [404, 404, 403, 403]),
        ],
    },
    Endpoint {
        name: "unassign",
        post: true,
        path: "/unassign",
        form: &[("reason", "Back to the pool")],
        expect: [
            (Who::Admin, [303, 409, 409, 303]),
            (Who::Coord, [303, 409, 409, 303]),
            (Who::CwBr, [403, 403, 404, 404]),
            (Who::CwDe, [404, 404, 403, 403]),
        ],
    },
];

struct Fixture {
    app: TestApp,
    pool: PgPool,
    volunteers: [(Who, Option<Uuid>); 4],
}

async fn fixture(pool: &PgPool) -> Fixture {
    let app = spawn(pool).await;
    let mut volunteers = [(Who::Admin, None); 4];
    for (i, who) in WHO.into_iter().enumerate() {
        let vid = match who {
            Who::Admin => {
                user(&app, who.email(), Role::Admin, None).await;
                None
            }
            Who::Coord => {
                user(&app, who.email(), Role::Coordinator, None).await;
                None
            }
            Who::CwBr | Who::CwDe => {
                let country = if who == Who::CwBr { "BR" } else { "DE" };
                Some(caseworker(&app, who.email(), &[country], 50).await.1)
            }
        };
        volunteers[i] = (who, vid);
    }
    app.store
        .add_volunteer(
            SPARE,
            "Spare",
            &["BR".into(), "DE".into()],
            &["en".into()],
            50,
        )
        .await
        .unwrap();
    Fixture {
        app,
        pool: pool.clone(),
        volunteers,
    }
}

impl Fixture {
    fn volunteer(&self, who: Who) -> Uuid {
        self.volunteers
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, v)| *v)
            .unwrap()
    }

    /// A fresh case of the kind: (reference, id).
    async fn case(&self, kind: Case, n: usize) -> (String, Uuid) {
        let raw = common::mail(
            &format!("person{n}@example.net"),
            "I need help",
            "I have not slept since the tour.",
            "",
        );
        let reference = open_case(&self.app, &raw).await;
        let (country, assignee) = match kind {
            Case::Own => ("BR", Some(self.volunteer(Who::CwBr))),
            Case::BrPool => ("BR", None),
            Case::DePool => ("DE", None),
            Case::Colleague => ("BR", Some(self.volunteer(Who::CwDe))),
        };
        let id: Uuid = sqlx::query_scalar(
            "UPDATE tickets SET country = $2, assignee_id = $3,
                    status = CASE WHEN $3::uuid IS NULL THEN 'new' ELSE 'assigned' END,
                    routing_state = CASE WHEN $3::uuid IS NULL THEN 'waiting' ELSE 'assigned' END
             WHERE reference = $1 RETURNING id",
        )
        .bind(&reference)
        .bind(country)
        .bind(assignee)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        if let Some(v) = assignee {
            sqlx::query(
                "INSERT INTO assignments (id, ticket_id, volunteer_id, reason, assigned_by)
                 VALUES ($1, $2, $3, 'arranged', 'test')",
            )
            .bind(Uuid::new_v4())
            .bind(id)
            .bind(v)
            .execute(&self.pool)
            .await
            .unwrap();
        }
        (reference, id)
    }

    /// Everything a request could change about a case.
    async fn snapshot(&self, id: Uuid) -> String {
        sqlx::query_scalar(
            "SELECT concat_ws('|', t.status, t.priority, t.country, t.assignee_id::text,
                              t.updated_at::text, t.routing_state,
                    (SELECT count(*) FROM messages WHERE ticket_id = t.id),
                    (SELECT count(*) FROM assignments WHERE ticket_id = t.id),
                    (SELECT count(*) FROM assignments WHERE ticket_id = t.id AND ended_at IS NULL),
                    (SELECT count(*) FROM outbox WHERE ticket_id = t.id),
                    (SELECT count(*) FROM audit_log WHERE ticket_id = t.id
                        AND action <> 'case.view'))
             FROM tickets t WHERE t.id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn every_case_page_and_form_by_role_and_whose_case(pool: PgPool) {
    let f = fixture(&pool).await;
    let mut sessions = Vec::new();
    for who in WHO {
        let (c, token) = session(&f.app, who.email()).await;
        sessions.push((who, c, token));
    }
    let mut n = 0;
    let mut checked = 0;
    for e in ENDPOINTS {
        for (who, expected) in &e.expect {
            let (_, c, token) = sessions.iter().find(|(w, ..)| w == who).unwrap();
            for (case, want) in CASES.into_iter().zip(expected) {
                // A fresh case for every request: each success changes it.
                n += 1;
                let (reference, id) = f.case(case, n).await;
                let before = f.snapshot(id).await;
                let url = format!("http://{}/cases/{reference}{}", f.app.http, e.path);
                let res = if e.post {
                    let mut form: Vec<(&str, &str)> = e.form.to_vec();
                    form.push(("csrf", token));
                    c.post(url).form(&form).send().await.unwrap()
                } else {
                    c.get(url).send().await.unwrap()
                };
                let got = res.status().as_u16();
                let body = res.text().await.unwrap();
                assert_eq!(got, *want, "{} as {who:?} on {case:?}: {body}", e.name);
                let after = f.snapshot(id).await;
                if got >= 400 {
                    assert_eq!(
                        before, after,
                        "{} as {who:?} on {case:?} changed the case",
                        e.name
                    );
                    if got == 404 {
                        assert!(
                            !body.contains(&reference),
                            "a 404 must not name the case ({} as {who:?})",
                            e.name
                        );
                    }
                } else if e.post {
                    assert_ne!(
                        before, after,
                        "{} as {who:?} on {case:?} did nothing",
                        e.name
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, ENDPOINTS.len() * 16);

    // A form posted without the session's CSRF token changes nothing, even
    // by an admin on any case.
    let (_, admin, _) = &sessions[0];
    n += 1;
    let (reference, id) = f.case(Case::Own, n).await;
    let before = f.snapshot(id).await;
    for e in ENDPOINTS.iter().filter(|e| e.post) {
        let res = admin
            .post(format!("http://{}/cases/{reference}{}", f.app.http, e.path))
            .form(e.form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{} without CSRF", e.name);
    }
    assert_eq!(before, f.snapshot(id).await);
    // And nothing changes over GET.
    for e in ENDPOINTS.iter().filter(|e| e.post) {
        let res = admin
            .get(format!("http://{}/cases/{reference}{}", f.app.http, e.path))
            .send()
            .await
            .unwrap();
        assert!(
            res.status() == 404 || res.status() == 405,
            "GET {}: {}",
            e.path,
            res.status()
        );
    }
    assert_eq!(before, f.snapshot(id).await);
    f.app.stop().await;
}

/// A caseworker opening another country's case, by URL, gets exactly the
/// page of a case that does not exist: same status, same body, no audit
/// record of a view (as the JSON API answers 404 for both).
#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn another_countrys_case_is_the_same_404_as_no_case(pool: PgPool) {
    let f = fixture(&pool).await;
    let (c, token) = session(&f.app, Who::CwBr.email()).await;
    let (german, id) = f.case(Case::DePool, 1).await;
    let (colleagues, _) = f.case(Case::Colleague, 2).await;
    let missing = "C-ZZZZZZ";
    let page = |reference: &str, suffix: &str| {
        let url = format!("http://{}/cases/{reference}{suffix}", f.app.http);
        let c = c.clone();
        async move {
            let res = c.get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let before = f.snapshot(id).await;
    let attachment = format!("/attachments/{}", Uuid::new_v4());
    for suffix in ["", attachment.as_str()] {
        let (want_status, want_body) = page(missing, suffix).await;
        assert_eq!(want_status, 404, "no such case{suffix}");
        for reference in [german.as_str(), colleagues.as_str()] {
            let (status, body) = page(reference, suffix).await;
            assert_eq!(status, 404, "{reference}{suffix}: {body}");
            assert_eq!(body, want_body, "{reference}{suffix}");
            assert!(!body.contains(reference));
        }
    }
    // A form on it too: the same 404 as for a case that does not exist.
    let post = |reference: &str| {
        let url = format!("http://{}/cases/{reference}/notes", f.app.http);
        let c = c.clone();
        let form = [("csrf", token.clone()), ("text", "hello".to_owned())];
        async move {
            let res = c.post(url).form(&form).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (want_status, want_body) = post(missing).await;
    assert_eq!(want_status, 404);
    assert_eq!(post(&german).await, (404, want_body));
    assert_eq!(before, f.snapshot(id).await, "nothing changed");
    let views: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE ticket_id = $1 AND action = 'case.view'",
    )
    .bind(id)
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert_eq!(views, 0, "a refused view is not a view");
    f.app.stop().await;
}
