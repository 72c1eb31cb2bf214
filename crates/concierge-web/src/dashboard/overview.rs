//! The overview (`GET /overview`): open cases by country and status,
//! first-response times per week, breached cases and volunteers' load, as
//! SVG charts ([`super::charts`]) each with its numbers in a table.
//!
//! Everyone signed in may open it, and everyone sees it within their own
//! scope ([`ListScope::of`], the queue's): admins and coordinators every
//! case and every volunteer; a caseworker only their own cases and the
//! unassigned cases of the countries they cover, and only their own load.
//! So no count, reference or colleague's figure outside their scope ever
//! reaches a caseworker's page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use concierge_access::{Role, can_view_audit};
use concierge_core::ticket::TicketStatus;
use concierge_store::{ListScope, Overview, last_weeks};

use super::charts::{self, Line, LoadRow, PALETTE, Series, StackedRow};
use super::format::{fmt_time, opt_time};
use super::{PageError, Viewer, page};
use crate::AppState;

/// Weeks of first-response times shown.
const WEEKS: usize = 12;
/// Breached cases listed (the count covers all of them).
const BREACHED_LISTED: i64 = 100;

struct OpenRow {
    country: String,
    counts: Vec<i64>,
    total: i64,
}

struct WeekRow {
    week: String,
    answered: i64,
    unanswered: i64,
    median: String,
    p90: String,
}

struct BreachedRow {
    reference: String,
    subject: String,
    status: String,
    country: String,
    assignee: String,
    due: String,
    breached: String,
    responded: String,
}

struct VolunteerRow {
    name: String,
    email: String,
    load: i64,
    capacity: i32,
    over: bool,
    state: String,
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage<'a> {
    who: &'a str,
    csrf: &'a str,
    can_audit: bool,
    /// A caseworker's page: say what it covers.
    scoped: bool,
    open_chart: String,
    statuses: Vec<&'static str>,
    open_rows: Vec<OpenRow>,
    status_totals: Vec<i64>,
    open_total: i64,
    rt_chart: String,
    rt_unit: &'static str,
    week_rows: Vec<WeekRow>,
    breached_total: i64,
    breached_rows: Vec<BreachedRow>,
    /// More are breached than listed.
    breached_partial: bool,
    load_chart: String,
    volunteer_rows: Vec<VolunteerRow>,
}

/// The open statuses, in the state machine's order.
fn open_statuses() -> Vec<&'static str> {
    TicketStatus::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(TicketStatus::as_str)
        .collect()
}

/// Country × status table and the stacked bar chart of it. Countries
/// appear by their open cases, most first; unknown countries last.
fn open_section(o: &Overview, statuses: &[&'static str]) -> (String, Vec<OpenRow>, Vec<i64>, i64) {
    let mut rows: Vec<(Option<String>, OpenRow)> = Vec::new();
    for c in &o.open {
        let Some(col) = statuses.iter().position(|s| *s == c.status) else {
            continue;
        };
        let i = match rows.iter().position(|(k, _)| *k == c.country) {
            Some(i) => i,
            None => {
                rows.push((
                    c.country.clone(),
                    OpenRow {
                        country: c.country.clone().unwrap_or_else(|| "unknown".into()),
                        counts: vec![0; statuses.len()],
                        total: 0,
                    },
                ));
                rows.len() - 1
            }
        };
        rows[i].1.counts[col] += c.count;
        rows[i].1.total += c.count;
    }
    rows.sort_by(|(ka, a), (kb, b)| {
        ka.is_none()
            .cmp(&kb.is_none())
            .then(b.total.cmp(&a.total))
            .then(a.country.cmp(&b.country))
    });
    let rows: Vec<OpenRow> = rows.into_iter().map(|(_, r)| r).collect();
    let totals: Vec<i64> = (0..statuses.len())
        .map(|i| rows.iter().map(|r| r.counts[i]).sum())
        .collect();
    let total = totals.iter().sum();
    let series: Vec<Series> = statuses
        .iter()
        .zip(PALETTE)
        .map(|(s, color)| Series {
            name: s.replace('_', " "),
            color,
        })
        .collect();
    let bars: Vec<StackedRow> = rows
        .iter()
        .map(|r| StackedRow {
            label: r.country.clone(),
            values: r.counts.iter().map(|c| (*c).max(0) as u64).collect(),
        })
        .collect();
    let chart = charts::stacked_bars(
        "open-chart",
        "Open cases by country and status",
        &format!(
            "{total} open cases in {} countries; the table below has the figures.",
            rows.len()
        ),
        &series,
        &bars,
    );
    (chart, rows, totals, total)
}

/// The weekly first-response table and line chart.
fn response_section(o: &Overview) -> (String, &'static str, Vec<WeekRow>) {
    let max = o
        .weeks
        .iter()
        .filter_map(|w| w.p90_secs.or(w.median_secs))
        .fold(0.0, f64::max);
    let (div, unit) = charts::duration_unit(max);
    let show = |v: Option<f64>| v.map(|s| charts::figure(s / div)).unwrap_or_default();
    let rows = o
        .weeks
        .iter()
        .map(|w| WeekRow {
            week: w.week_start.format("%Y-%m-%d").to_string(),
            answered: w.answered,
            unanswered: w.unanswered,
            median: show(w.median_secs),
            p90: show(w.p90_secs),
        })
        .collect::<Vec<_>>();
    let labels: Vec<String> = o
        .weeks
        .iter()
        .map(|w| w.week_start.format("%d %b").to_string())
        .collect();
    let line = |name: &str, color, f: fn(&concierge_store::WeekResponse) -> Option<f64>| Line {
        name: name.into(),
        color,
        points: o.weeks.iter().map(|w| f(w).map(|s| s / div)).collect(),
    };
    let chart = charts::line_chart(
        "rt-chart",
        "Time to first response, by week the case was opened",
        &format!(
            "Median and 90th percentile, in {unit}, for the last {} weeks; the table below has the figures.",
            o.weeks.len()
        ),
        &labels,
        &[
            line("median", PALETTE[4], |w| w.median_secs),
            line("90th percentile", PALETTE[5], |w| w.p90_secs),
        ],
        unit,
    );
    (chart, unit, rows)
}

/// The volunteers' table and load chart.
fn load_section(o: &Overview) -> (String, Vec<VolunteerRow>) {
    let state = |v: &concierge_store::VolunteerLoad| {
        if !v.active {
            "disabled".to_owned()
        } else if let Some(until) = v.paused_until {
            format!("paused until {}", fmt_time(until))
        } else {
            String::new()
        }
    };
    let rows: Vec<VolunteerRow> = o
        .volunteers
        .iter()
        .map(|v| VolunteerRow {
            name: v.name.clone(),
            email: v.email.clone(),
            load: v.open_cases,
            capacity: v.capacity,
            over: v.open_cases > i64::from(v.capacity),
            state: state(v),
        })
        .collect();
    let bars: Vec<LoadRow> = o
        .volunteers
        .iter()
        .map(|v| LoadRow {
            label: if v.name.trim().is_empty() {
                v.email.clone()
            } else {
                v.name.clone()
            },
            load: v.open_cases.max(0) as u64,
            capacity: v.capacity.max(0) as u64,
            note: if !v.active {
                "disabled".into()
            } else if v.paused_until.is_some() {
                "paused".into()
            } else {
                String::new()
            },
        })
        .collect();
    let over = o
        .volunteers
        .iter()
        .filter(|v| v.open_cases > i64::from(v.capacity))
        .count();
    let chart = charts::load_bars(
        "load-chart",
        "Volunteers' open cases against their capacity",
        &format!(
            "{} volunteers, {over} over capacity; the table below has the figures.",
            rows.len()
        ),
        &bars,
    );
    (chart, rows)
}

/// `GET /overview`.
pub(crate) async fn show(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let p = &viewer.principal;
    let scope = ListScope::of(p);
    let o = state
        .store
        .overview(&scope, &last_weeks(Utc::now(), WEEKS), BREACHED_LISTED)
        .await?;
    let statuses = open_statuses();
    let (open_chart, open_rows, status_totals, open_total) = open_section(&o, &statuses);
    let (rt_chart, rt_unit, week_rows) = response_section(&o);
    let (load_chart, volunteer_rows) = load_section(&o);
    let breached_partial = o.breached_total > o.breached.len() as i64;
    let breached_rows = o
        .breached
        .iter()
        .map(|b| BreachedRow {
            reference: b.reference.clone(),
            subject: b.subject.clone(),
            status: b.status.clone(),
            country: b.country.clone().unwrap_or_default(),
            assignee: b.assignee.clone().unwrap_or_default(),
            due: opt_time(b.due_at),
            breached: fmt_time(b.breached_at),
            responded: opt_time(b.first_responded_at),
        })
        .collect();
    let body = OverviewPage {
        who: viewer.display(),
        csrf: &viewer.csrf,
        can_audit: can_view_audit(p),
        scoped: p.role == Role::Caseworker,
        open_chart,
        statuses,
        open_rows,
        status_totals,
        open_total,
        rt_chart,
        rt_unit,
        week_rows,
        breached_total: o.breached_total,
        breached_rows,
        breached_partial,
        load_chart,
        volunteer_rows,
    }
    .render();
    Ok(page(StatusCode::OK, body))
}
