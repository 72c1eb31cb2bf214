//! The case list behind the dashboard queue and `GET /api/v1/tickets`:
//! scoped by the access policy, filtered, searched, sorted and
//! keyset-paginated so that every page costs the same at a million cases.
//!
//! The SQL is assembled with [`sqlx::QueryBuilder`] rather than one
//! compile-time checked statement: a catch-all `($1 IS NULL OR col = $1)`
//! query gets one generic plan that cannot use the right index for each
//! combination of filters and order, which at a million rows is the
//! difference between a millisecond and a sequential scan. Every value is
//! bound (`push_bind`), never spliced; only fixed SQL fragments chosen by
//! enums are pushed as text.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use concierge_access::{Principal, Role};
use serde::Serialize;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use concierge_core::ticket::TicketReference;

use crate::tickets::{RequesterView, TicketSummary};
use crate::{Store, StoreError};

/// Which cases a viewer may list, as `concierge_access::can_view_case`
/// says: staff every case; a caseworker their own cases and the unassigned
/// cases of the countries they cover (`*` and blanks never match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListScope {
    /// Staff: no restriction.
    pub all: bool,
    /// The caseworker's own volunteer record.
    pub volunteer: Option<Uuid>,
    /// Countries whose unassigned cases they see (upper-case).
    pub countries: Vec<String>,
}

impl ListScope {
    /// The scope of a principal.
    pub fn of(p: &Principal) -> Self {
        let all = matches!(p.role, Role::Admin | Role::Coordinator);
        let countries = p
            .countries
            .iter()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
            .collect();
        let volunteer = if p.role == Role::Caseworker {
            p.volunteer_id
        } else {
            None
        };
        Self {
            all,
            volunteer,
            countries,
        }
    }
}

/// Status filter: one status, or every open one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Anything but resolved and closed.
    Open,
    /// Exactly this status (a validated name).
    Is(&'static str),
}

/// Assignee filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Nobody.
    Unassigned,
    /// This volunteer's e-mail address.
    Email(String),
    /// This volunteer (the viewer's own record: `assignee=me`).
    Volunteer(Uuid),
}

/// Orders of the list. Each has an index that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseSort {
    /// Most recently updated first (default).
    #[default]
    Updated,
    /// Least recently updated first: who has waited longest.
    Oldest,
    /// Newest cases first.
    Created,
    /// First-response due time, soonest first; cases without one last.
    Due,
}

impl CaseSort {
    /// Every order, for pickers.
    pub const ALL: [CaseSort; 4] = [
        CaseSort::Updated,
        CaseSort::Oldest,
        CaseSort::Created,
        CaseSort::Due,
    ];

    /// The name used in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseSort::Updated => "updated",
            CaseSort::Oldest => "oldest",
            CaseSort::Created => "created",
            CaseSort::Due => "due",
        }
    }

    fn column(self) -> &'static str {
        match self {
            CaseSort::Updated | CaseSort::Oldest => "t.updated_at",
            CaseSort::Created => "t.created_at",
            CaseSort::Due => "t.first_response_due_at",
        }
    }

    fn descending(self) -> bool {
        matches!(self, CaseSort::Updated | CaseSort::Created)
    }
}

/// A name that is not a sort order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sort {0:?} (expected updated, oldest, created or due)")]
pub struct UnknownSort(pub String);

impl FromStr for CaseSort {
    type Err = UnknownSort;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseSort::ALL
            .into_iter()
            .find(|o| o.as_str() == s.trim())
            .ok_or_else(|| UnknownSort(s.to_owned()))
    }
}

/// Where a page starts: just after the last row of the previous page, as
/// `<sort key in microseconds, or "-" for none>~<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The previous row's sort key.
    pub key: Option<DateTime<Utc>>,
    /// The previous row's id (tie-break).
    pub id: Uuid,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key {
            Some(k) => write!(f, "{}~{}", k.timestamp_micros(), self.id.simple()),
            None => write!(f, "-~{}", self.id.simple()),
        }
    }
}

/// A cursor that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the page cursor is not valid")]
pub struct BadCursor;

impl FromStr for Cursor {
    type Err = BadCursor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, id) = s.split_once('~').ok_or(BadCursor)?;
        let id = Uuid::try_parse(id).map_err(|_| BadCursor)?;
        let key = match key {
            "-" => None,
            k => {
                let micros: i64 = k.parse().map_err(|_| BadCursor)?;
                Some(DateTime::from_timestamp_micros(micros).ok_or(BadCursor)?)
            }
        };
        Ok(Self { key, id })
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// Status.
    pub status: Option<StatusFilter>,
    /// ISO 3166 alpha-2 (validated by the caller).
    pub country: Option<String>,
    /// Assignee.
    pub assignee: Option<AssigneeFilter>,
    /// Priority name (validated by the caller).
    pub priority: Option<&'static str>,
    /// ISO 639-1 language.
    pub language: Option<String>,
    /// Only cases that missed their first-response target.
    pub breached: bool,
    /// Only imminent-risk cases nobody has acknowledged yet (the queues'
    /// pin).
    pub pinned: bool,
    /// Free text: a reference, a requester's address, or words searched in
    /// subjects and bodies (Postgres full text, `websearch` syntax).
    pub q: Option<String>,
    /// Order.
    pub sort: CaseSort,
    /// Start after this row.
    pub after: Option<Cursor>,
    /// Rows per page (1–200).
    pub limit: u32,
}

/// One row of the list.
#[derive(Debug, Clone, Serialize)]
pub struct CaseListItem {
    /// The case.
    #[serde(flatten)]
    pub ticket: TicketSummary,
    /// Changed since this viewer last opened it (or never opened).
    pub unread: bool,
}

/// A page of the list.
#[derive(Debug, Clone, Serialize)]
pub struct CaseList {
    /// The rows.
    pub items: Vec<CaseListItem>,
    /// Cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// Full-text hits up to which the list filters by the matching ids
/// (an index lookup); beyond it the search term is common, and walking the
/// list in order while probing each case's messages finds a page sooner.
const SEARCH_HITS: i64 = 10_000;

/// The free-text part of a query, resolved before the list query: the
/// planner cannot cost a full-text `EXISTS` well (a rare word looks common
/// and the reverse), so the number of hits is measured first.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Search {
    /// The text is a case reference.
    Reference(String),
    /// Words (and, when it looks like one, a requester's address).
    Words {
        email: Option<String>,
        /// Cases with a matching message, when there are few.
        hits: Option<Vec<Uuid>>,
        words: String,
    },
}

/// The longest accepted free-text query.
pub const MAX_QUERY_BYTES: usize = 500;

fn push_filters(
    b: &mut QueryBuilder<Postgres>,
    scope: &ListScope,
    q: &CaseQuery,
    search: Option<&Search>,
) {
    b.push(" WHERE TRUE");
    if !scope.all {
        // Two index-backed arms (tickets_assignee_updated_idx,
        // tickets_unassigned_country_idx) the planner ORs as bitmaps. A
        // country filter narrows the pool arm here, where it is known, not
        // in a generic plan that would scan that country for nothing.
        let pool: Vec<String> = match &q.country {
            Some(c) => scope
                .countries
                .iter()
                .filter(|m| m.eq_ignore_ascii_case(c))
                .cloned()
                .collect(),
            None => scope.countries.clone(),
        };
        b.push(" AND (t.assignee_id = ");
        b.push_bind(scope.volunteer);
        if !pool.is_empty() {
            b.push(" OR (t.assignee_id IS NULL AND t.country = ANY(");
            b.push_bind(pool);
            b.push("))");
        }
        b.push(")");
    }
    match q.status {
        Some(StatusFilter::Open) => {
            b.push(" AND t.status NOT IN ('resolved','closed')");
        }
        Some(StatusFilter::Is(s)) => {
            b.push(" AND t.status = ");
            b.push_bind(s);
        }
        None => {}
    }
    if let Some(c) = &q.country {
        b.push(" AND t.country = ");
        b.push_bind(c.to_ascii_uppercase());
    }
    match &q.assignee {
        Some(AssigneeFilter::Unassigned) => {
            b.push(" AND t.assignee_id IS NULL");
        }
        Some(AssigneeFilter::Volunteer(v)) => {
            b.push(" AND t.assignee_id = ");
            b.push_bind(*v);
        }
        Some(AssigneeFilter::Email(e)) => {
            b.push(" AND t.assignee_id = (SELECT id FROM volunteers WHERE email = ");
            b.push_bind(e.trim().to_lowercase());
            b.push(")");
        }
        None => {}
    }
    if let Some(p) = q.priority {
        b.push(" AND t.priority = ");
        b.push_bind(p);
    }
    if let Some(l) = &q.language {
        b.push(" AND t.language = ");
        b.push_bind(l.to_ascii_lowercase());
    }
    if q.breached {
        b.push(" AND t.sla_breached_at IS NOT NULL");
    }
    if q.pinned {
        b.push(" AND t.risk = 'imminent' AND t.risk_acknowledged_at IS NULL");
    }
    match search {
        None => {}
        Some(Search::Reference(r)) => {
            b.push(" AND t.reference = ");
            b.push_bind(r.clone());
        }
        Some(Search::Words { email, hits, words }) => {
            b.push(" AND (");
            match hits {
                Some(ids) => {
                    b.push("t.id = ANY(");
                    b.push_bind(ids.clone());
                    b.push(")");
                }
                None => {
                    b.push("EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.search @@ websearch_to_tsquery('simple', ");
                    b.push_bind(words.clone());
                    b.push("))");
                }
            }
            if let Some(e) = email {
                b.push(" OR t.requester_id = (SELECT id FROM requesters WHERE email = ");
                b.push_bind(e.clone());
                b.push(")");
            }
            b.push(")");
        }
    }
    if let Some(c) = q.after {
        let col = q.sort.column();
        let cmp = if q.sort.descending() { "<" } else { ">" };
        match (q.sort, c.key) {
            // Due order puts cases without a due time last.
            (CaseSort::Due, None) => {
                b.push(format_args!(" AND ({col} IS NULL AND t.id > "));
                b.push_bind(c.id);
                b.push(")");
            }
            (CaseSort::Due, Some(k)) => {
                b.push(format_args!(" AND ({col} IS NULL OR ({col}, t.id) > ("));
                b.push_bind(k);
                b.push(", ");
                b.push_bind(c.id);
                b.push("))");
            }
            (_, Some(k)) => {
                b.push(format_args!(" AND ({col}, t.id) {cmp} ("));
                b.push_bind(k);
                b.push(", ");
                b.push_bind(c.id);
                b.push(")");
            }
            // Only the due order has rows without a key.
            (_, None) => {
                b.push(" AND FALSE");
            }
        }
    }
    let col = q.sort.column();
    match q.sort {
        CaseSort::Updated | CaseSort::Created => {
            b.push(format_args!(" ORDER BY {col} DESC, t.id DESC"));
        }
        CaseSort::Oldest => {
            b.push(format_args!(" ORDER BY {col} ASC, t.id ASC"));
        }
        CaseSort::Due => {
            b.push(format_args!(" ORDER BY {col} ASC NULLS LAST, t.id ASC"));
        }
    }
}

impl Store {
    async fn resolve_search(&self, text: &str) -> Result<Search, StoreError> {
        if let Ok(r) = text.parse::<TicketReference>() {
            return Ok(Search::Reference(r.as_str().to_owned()));
        }
        let ids = sqlx::query_scalar!(
            r#"SELECT ticket_id AS "ticket_id!" FROM messages
               WHERE search @@ websearch_to_tsquery('simple', $1) LIMIT $2"#,
            text,
            SEARCH_HITS + 1
        )
        .fetch_all(&self.pool)
        .await?;
        let hits = (ids.len() as i64 <= SEARCH_HITS).then(|| {
            let mut ids = ids;
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        Ok(Search::Words {
            email: text.contains('@').then(|| text.to_lowercase()),
            hits,
            words: text.to_owned(),
        })
    }

    /// A page of the cases `viewer` may see. `reader` is the user whose
    /// read markers decide `unread` (`None`: everything counts as read).
    pub async fn list_cases(
        &self,
        scope: &ListScope,
        reader: Option<Uuid>,
        q: &CaseQuery,
    ) -> Result<CaseList, StoreError> {
        let limit = q.limit.clamp(1, 200);
        let search = match q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(self.resolve_search(text).await?),
        };
        let mut b = QueryBuilder::<Postgres>::new(
            "SELECT t.id, t.reference, t.subject, t.status, t.priority, t.country,
                    t.country_source, t.country_confidence, t.language,
                    r.email AS requester_email, r.name AS requester_name,
                    v.email AS assignee, t.assignment_reason, t.routing_state,
                    t.country_suggestion, t.country_suggestion_confidence,
                    t.first_response_due_at, t.first_responded_at,
                    t.sla_breached_at, t.message_count, t.created_at, t.updated_at,
                    t.risk, (t.risk_acknowledged_at IS NOT NULL) AS risk_acknowledged,
                    (SELECT cr.seen_at FROM case_reads cr
                      WHERE cr.ticket_id = t.id AND cr.user_id = ",
        );
        b.push_bind(reader);
        b.push(
            ") AS seen_at
             FROM tickets t LEFT JOIN requesters r ON r.id = t.requester_id
               LEFT JOIN volunteers v ON v.id = t.assignee_id",
        );
        push_filters(&mut b, scope, q, search.as_ref());
        b.push(" LIMIT ");
        b.push_bind(i64::from(limit) + 1);
        let rows = b.build().fetch_all(&self.pool).await?;
        let has_more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        for row in rows.iter().take(limit as usize) {
            let requester_email: Option<String> = row.try_get("requester_email")?;
            let requester_name: Option<String> = row.try_get("requester_name")?;
            let updated_at: DateTime<Utc> = row.try_get("updated_at")?;
            let seen_at: Option<DateTime<Utc>> = row.try_get("seen_at")?;
            let ticket = TicketSummary {
                id: row.try_get("id")?,
                reference: row.try_get("reference")?,
                subject: row.try_get("subject")?,
                status: row.try_get("status")?,
                priority: row.try_get("priority")?,
                country: row.try_get("country")?,
                country_source: row.try_get("country_source")?,
                country_confidence: row.try_get("country_confidence")?,
                language: row.try_get("language")?,
                requester: requester_email.map(|email| RequesterView {
                    email,
                    name: requester_name,
                }),
                assignee: row.try_get("assignee")?,
                assignment_reason: row.try_get("assignment_reason")?,
                routing_state: row.try_get("routing_state")?,
                country_suggestion: row.try_get("country_suggestion")?,
                country_suggestion_confidence: row.try_get("country_suggestion_confidence")?,
                first_response_due_at: row.try_get("first_response_due_at")?,
                first_responded_at: row.try_get("first_responded_at")?,
                sla_breached_at: row.try_get("sla_breached_at")?,
                message_count: row.try_get("message_count")?,
                created_at: row.try_get("created_at")?,
                updated_at,
                risk: row.try_get("risk")?,
                risk_acknowledged: row.try_get("risk_acknowledged")?,
            };
            let unread = reader.is_some() && seen_at.is_none_or(|s| s < updated_at);
            items.push(CaseListItem { ticket, unread });
        }
        let next = if has_more {
            items.last().map(|last| {
                let t = &last.ticket;
                let key = match q.sort {
                    CaseSort::Updated | CaseSort::Oldest => Some(t.updated_at),
                    CaseSort::Created => Some(t.created_at),
                    CaseSort::Due => t.first_response_due_at,
                };
                Cursor { key, id: t.id }.to_string()
            })
        } else {
            None
        };
        Ok(CaseList { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::from_u128(0x1234);
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap();
        for c in [Cursor { key: Some(at), id }, Cursor { key: None, id }] {
            assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        }
        for bad in [
            "",
            "~",
            "12",
            "x~y",
            "12~not-a-uuid",
            "99999999999999999999~00000000000000000000000000001234",
        ] {
            assert_eq!(bad.parse::<Cursor>(), Err(BadCursor), "{bad:?}");
        }
    }

    #[test]
    fn caseworker_scope_keeps_only_real_country_codes() {
        let p = Principal {
            user_id: Uuid::nil(),
            role: Role::Caseworker,
            volunteer_id: Some(Uuid::from_u128(7)),
            countries: vec![
                " br".into(),
                "*".into(),
                String::new(),
                "de".into(),
                "B'".into(),
            ],
        };
        let s = ListScope::of(&p);
        assert!(!s.all);
        assert_eq!(s.volunteer, Some(Uuid::from_u128(7)));
        assert_eq!(s.countries, ["BR", "DE"]);
        let admin = Principal {
            role: Role::Coordinator,
            ..p
        };
        let s = ListScope::of(&admin);
        assert!(s.all);
        assert_eq!(s.volunteer, None);
    }

    #[test]
    fn sorts_parse_by_name() {
        for s in CaseSort::ALL {
            assert_eq!(s.as_str().parse::<CaseSort>(), Ok(s));
        }
        assert!("priority; DROP".parse::<CaseSort>().is_err());
    }

    #[test]
    fn every_value_is_bound_never_spliced() {
        let scope = ListScope {
            all: false,
            volunteer: Some(Uuid::nil()),
            countries: vec!["BR".into()],
        };
        let q = CaseQuery {
            status: Some(StatusFilter::Is("new")),
            country: Some("br".into()),
            assignee: Some(AssigneeFilter::Email(
                "x'); DROP TABLE tickets;--@e.org".into(),
            )),
            priority: Some("high"),
            language: Some("pt".into()),
            breached: true,
            pinned: true,
            q: Some("' OR 1=1 --".into()),
            sort: CaseSort::Due,
            after: Some(Cursor {
                key: None,
                id: Uuid::nil(),
            }),
            limit: 10,
        };
        let search = Search::Words {
            email: Some("x'); DROP TABLE requesters;--@e.org".into()),
            hits: None,
            words: "' OR 1=1 --".into(),
        };
        let mut b = QueryBuilder::<Postgres>::new("SELECT 1 FROM tickets t");
        push_filters(&mut b, &scope, &q, Some(&search));
        let sql = b.sql();
        let sql = sql.as_str();
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(!sql.contains("OR 1=1"), "{sql}");
        assert!(!sql.contains("'br'") && !sql.contains("'pt'"), "{sql}");
        assert!(sql.contains("ORDER BY t.first_response_due_at ASC NULLS LAST"));
    }
}
