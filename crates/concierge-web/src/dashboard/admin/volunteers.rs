//! `/admin/volunteers`: countries, languages, capacity and pauses.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use concierge_store::{StoreError, VolunteerChange};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    NoticeQuery, audited, capacity, countries, languages, notice, parse_id, require_people,
};
use crate::AppState;
use crate::dashboard::form::{CsrfForm, TokenOnly};
use crate::dashboard::format::fmt_time;
use crate::dashboard::{PageError, Viewer, page};

struct VolunteerRow {
    id: String,
    email: String,
    name: String,
    countries: String,
    languages: String,
    capacity: i32,
    load: i64,
    state: String,
    paused: bool,
}

#[derive(Template)]
#[template(path = "dashboard/admin_volunteers.html")]
struct VolunteersPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    notice: &'a str,
    today: String,
    rows: Vec<VolunteerRow>,
}

/// `GET /admin/volunteers`.
pub(crate) async fn volunteers(
    viewer: Viewer,
    State(state): State<AppState>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let (notice, _) = notice(q);
    let now = Utc::now();
    let rows = state
        .store
        .list_volunteers()
        .await?
        .into_iter()
        .map(|v| {
            let paused = v.paused_until.is_some_and(|t| t > now);
            VolunteerRow {
                id: v.id.to_string(),
                email: v.email,
                name: v.name,
                countries: v.countries.join(", "),
                languages: v.languages.join(", "),
                capacity: v.capacity,
                load: v.active_cases,
                state: match (v.active, v.paused_until) {
                    (false, _) => "disabled".to_owned(),
                    (true, Some(t)) if t > now => format!("paused until {}", fmt_time(t)),
                    _ => "active".to_owned(),
                },
                paused,
            }
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        VolunteersPage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "volunteers",
            notice: &notice,
            today: now.format("%Y-%m-%d").to_string(),
            rows,
        }
        .render(),
    ))
}

fn no_volunteer() -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "There is no such volunteer.")
}

/// The address of the volunteer with this id (the store changes
/// volunteers by address, as the CLI and the JSON API do).
async fn volunteer_email(state: &AppState, id: &str) -> Result<(Uuid, String), PageError> {
    let id = parse_id(id, no_volunteer)?;
    let v = state
        .store
        .list_volunteers()
        .await?
        .into_iter()
        .find(|v| v.id == id)
        .ok_or_else(no_volunteer)?;
    Ok((id, v.email))
}

/// Applies `change` to the volunteer at `email`.
async fn change_volunteer(
    state: &AppState,
    email: &str,
    change: &VolunteerChange,
) -> Result<(), PageError> {
    state
        .store
        .update_volunteer(email, change)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => no_volunteer(),
            other => other.into(),
        })
}

/// Body of `POST /admin/volunteers/{id}`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct VolunteerForm {
    countries: String,
    languages: String,
    capacity: String,
}

/// `POST /admin/volunteers/{id}`: countries, languages, capacity. Waiting
/// cases are routed again (the change may have made room).
pub(crate) async fn update_volunteer(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<VolunteerForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let (id, email) = volunteer_email(&state, &id).await?;
    let bad = |m: String| PageError::bad_request(format!("Not saved: {m}."));
    let c = countries(&f.countries).map_err(bad)?;
    if c.is_empty() {
        return Err(PageError::bad_request(
            "Not saved: a volunteer covers at least one country (or * for the global pool).",
        ));
    }
    let l = languages(&f.languages).map_err(bad)?;
    if f.capacity.trim().is_empty() {
        return Err(PageError::bad_request("Not saved: enter a capacity."));
    }
    let cap = capacity(&f.capacity).map_err(bad)?;
    let change = VolunteerChange {
        countries: Some(c.clone()),
        languages: Some(l.clone()),
        capacity: Some(cap),
        ..VolunteerChange::default()
    };
    change_volunteer(&state, &email, &change).await?;
    audited(
        &state,
        &viewer,
        "volunteer.update",
        json!({ "volunteer_id": id, "email": email, "countries": c, "languages": l,
                     "capacity": cap }),
        "/admin/volunteers?notice=volunteer",
    )
    .await
}

/// Body of `POST /admin/volunteers/{id}/pause`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PauseForm {
    until: String,
}

/// `POST /admin/volunteers/{id}/pause`: no new cases until the date
/// (00:00 UTC, as `concierge volunteer pause`).
pub(crate) async fn pause_volunteer(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<PauseForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let (id, email) = volunteer_email(&state, &id).await?;
    let until = NaiveDate::parse_from_str(f.until.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| PageError::bad_request("Enter the date they are back (YYYY-MM-DD)."))?;
    if until <= Utc::now() {
        return Err(PageError::bad_request(
            "The date they are back must be in the future.",
        ));
    }
    let change = VolunteerChange {
        paused_until: Some(Some(until)),
        ..VolunteerChange::default()
    };
    change_volunteer(&state, &email, &change).await?;
    audited(
        &state,
        &viewer,
        "volunteer.pause",
        json!({ "volunteer_id": id, "email": email, "until": until }),
        "/admin/volunteers?notice=paused",
    )
    .await
}

/// `POST /admin/volunteers/{id}/resume`: ends a pause now; waiting cases
/// are routed again.
pub(crate) async fn resume_volunteer(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let (id, email) = volunteer_email(&state, &id).await?;
    let change = VolunteerChange {
        paused_until: Some(None),
        ..VolunteerChange::default()
    };
    change_volunteer(&state, &email, &change).await?;
    audited(
        &state,
        &viewer,
        "volunteer.resume",
        json!({ "volunteer_id": id, "email": email }),
        "/admin/volunteers?notice=resumed",
    )
    .await
}
