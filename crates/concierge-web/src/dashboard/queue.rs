//! The queue (`GET /`): the cases the viewer may see, filtered, searched,
//! sorted and keyset-paginated ([`concierge_store::Store::list_cases`]),
//! with a marker on cases that changed since the viewer last opened them.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use concierge_core::ticket::{Priority, TicketStatus};
use concierge_store::{CaseSort, ListScope};

use super::format::fmt_time;
use super::{PageError, Viewer, page};
use crate::AppState;
use crate::case_filter::CaseFilterParams;

/// Cases per queue page.
const PER_PAGE: u32 = 50;

struct QueueRow {
    reference: String,
    subject: String,
    status: String,
    priority: String,
    country: String,
    language: String,
    assignee: String,
    updated: String,
    /// Due, overdue or breached, for the SLA column.
    due: String,
    overdue: bool,
    unread: bool,
}

/// An imminent-risk case nobody has acknowledged: pinned above the queue.
struct PinnedRow {
    reference: String,
    country: String,
    since: String,
}

/// An `<option>`.
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn choices(
    all: impl IntoIterator<Item = (&'static str, &'static str)>,
    current: Option<&str>,
) -> Vec<Choice> {
    all.into_iter()
        .map(|(value, label)| Choice {
            value,
            label,
            selected: current == Some(value),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "dashboard/queue.html")]
struct QueuePage<'a> {
    who: &'a str,
    csrf: &'a str,
    has_volunteer: bool,
    /// Shows the Admin link in the header (admins only).
    admin: bool,
    rows: Vec<QueueRow>,
    /// Imminent-risk cases waiting for a person, in this viewer's scope.
    pinned: Vec<PinnedRow>,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    sorts: Vec<Choice>,
    country: String,
    language: String,
    assignee: String,
    q: String,
    breached: bool,
    /// Set when this is not the first page.
    first_href: String,
    next_href: String,
    /// A message when the filter was not valid (400).
    error: String,
}

fn val(s: &Option<String>) -> String {
    s.as_deref().unwrap_or_default().trim().to_owned()
}

/// `GET /?status=&country=&assignee=&priority=&language=&breached=&q=&sort=&after=`.
pub(crate) async fn queue(
    viewer: Viewer,
    State(state): State<AppState>,
    params: Result<Query<CaseFilterParams>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(|_| PageError::bad_request("The filter is not valid."))?;
    let p = &viewer.principal;
    let mut status = StatusCode::OK;
    let mut error = String::new();
    // Pinned on every page and whatever the filter, until acknowledged.
    let pinned = state
        .store
        .list_cases(
            &ListScope::of(p),
            None,
            &concierge_store::CaseQuery {
                pinned: true,
                sort: CaseSort::Created,
                limit: 50,
                ..Default::default()
            },
        )
        .await?
        .items
        .into_iter()
        .map(|i| PinnedRow {
            reference: i.ticket.reference,
            country: i.ticket.country.unwrap_or_else(|| "unknown".into()),
            since: fmt_time(i.ticket.updated_at),
        })
        .collect();
    let (rows, next) = match params.to_query(p.volunteer_id, PER_PAGE) {
        Ok(query) => {
            let list = state
                .store
                .list_cases(&ListScope::of(p), Some(p.user_id), &query)
                .await?;
            let now = Utc::now();
            let rows = list
                .items
                .into_iter()
                .map(|item| {
                    let t = item.ticket;
                    let (due, overdue) = match (
                        t.sla_breached_at,
                        t.first_responded_at,
                        t.first_response_due_at,
                    ) {
                        (Some(_), None, _) => ("breached".to_owned(), true),
                        (_, Some(_), _) => ("answered".to_owned(), false),
                        (None, None, Some(d)) => (fmt_time(d), d < now),
                        (None, None, None) => (String::new(), false),
                    };
                    QueueRow {
                        reference: t.reference,
                        subject: t.subject,
                        status: t.status,
                        priority: t.priority,
                        country: t.country.unwrap_or_default(),
                        language: t.language.unwrap_or_default(),
                        assignee: t.assignee.unwrap_or_default(),
                        updated: fmt_time(t.updated_at),
                        due,
                        overdue,
                        unread: item.unread,
                    }
                })
                .collect();
            (rows, list.next)
        }
        Err(message) => {
            status = StatusCode::BAD_REQUEST;
            error = message;
            (Vec::new(), None)
        }
    };
    let current_status = params.status.as_deref().map(str::trim);
    let current_priority = params.priority.as_deref().map(str::trim);
    let current_sort = params.sort.as_deref().map(str::trim).or(Some("updated"));
    let body = QueuePage {
        who: viewer.display(),
        csrf: &viewer.csrf,
        has_volunteer: p.volunteer_id.is_some(),
        admin: concierge_access::can_manage_people(p),
        rows,
        pinned,
        statuses: choices(
            std::iter::once(("open", "open (not resolved or closed)")).chain(
                TicketStatus::ALL
                    .into_iter()
                    .map(|s| (s.as_str(), s.as_str())),
            ),
            current_status,
        ),
        priorities: choices(
            Priority::ALL.into_iter().map(|s| (s.as_str(), s.as_str())),
            current_priority,
        ),
        sorts: choices(
            CaseSort::ALL.into_iter().map(|s| {
                (
                    s.as_str(),
                    match s {
                        CaseSort::Updated => "recently updated",
                        CaseSort::Oldest => "waiting longest",
                        CaseSort::Created => "newest",
                        CaseSort::Due => "first response due",
                    },
                )
            }),
            current_sort,
        ),
        country: val(&params.country),
        language: val(&params.language),
        assignee: val(&params.assignee),
        q: val(&params.q),
        breached: matches!(params.breached.as_deref(), Some("1" | "true" | "on")),
        first_href: if params.after.is_some() {
            params.href("/", None)
        } else {
            String::new()
        },
        next_href: next.map(|n| params.href("/", Some(&n))).unwrap_or_default(),
        error,
    }
    .render();
    Ok(page(status, body))
}
