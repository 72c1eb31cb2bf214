//! `/admin/oncall`: the crisis lane's on-call rota (who is told at once
//! about an urgent case, for which region, when). The same rota as
//! `concierge oncall`; the store audits every change.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use concierge_core::routing::OnCallRegion;
use serde::Deserialize;
use uuid::Uuid;

use super::{NoticeQuery, Opt, notice, require_people};
use crate::AppState;
use crate::dashboard::form::{CsrfForm, TokenOnly};
use crate::dashboard::format::fmt_time;
use crate::dashboard::{PageError, Viewer, page, see_other};

struct ShiftRow {
    id: String,
    who: String,
    region: String,
    from: String,
    until: String,
    now: bool,
}

#[derive(Template)]
#[template(path = "dashboard/admin_oncall.html")]
struct OnCallPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    notice: &'a str,
    error: &'a str,
    rows: Vec<ShiftRow>,
    users: Vec<Opt>,
}

async fn oncall_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    notice: &str,
    error: &str,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let rows = state
        .store
        .on_call_rota(now)
        .await?
        .into_iter()
        .map(|s| ShiftRow {
            id: s.id.to_string(),
            who: format!("{} ({})", s.email, s.role),
            region: s.region,
            from: fmt_time(s.starts_at),
            until: fmt_time(s.ends_at),
            now: s.starts_at <= now,
        })
        .collect();
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .map(|u| Opt {
            value: u.email.clone(),
            label: format!("{} ({})", u.email, u.role),
            selected: false,
        })
        .collect();
    Ok(page(
        status,
        OnCallPage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "oncall",
            notice,
            error,
            rows,
            users,
        }
        .render(),
    ))
}

/// `GET /admin/oncall`.
pub(crate) async fn oncall(
    viewer: Viewer,
    State(state): State<AppState>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let (notice, _) = notice(q);
    oncall_page(&state, &viewer, StatusCode::OK, &notice, "").await
}

/// Body of `POST /admin/oncall`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ShiftForm {
    user: String,
    region: String,
    /// `datetime-local` value, read as UTC.
    from: String,
    until: String,
}

/// A `datetime-local` value (`2026-12-08T18:00`) or RFC 3339, as UTC.
fn when(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// `POST /admin/oncall`: adds a shift.
pub(crate) async fn add_shift(
    viewer: Viewer,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<ShiftForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let refuse = |msg: String| {
        let (state, viewer) = (state.clone(), viewer.clone());
        async move { oncall_page(&state, &viewer, StatusCode::UNPROCESSABLE_ENTITY, "", &msg).await }
    };
    let region: OnCallRegion = match f.region.parse() {
        Ok(r) => r,
        Err(e) => return refuse(e.to_string()).await,
    };
    let (Some(from), Some(until)) = (when(&f.from), when(&f.until)) else {
        return refuse("Give the start and the end of the shift (UTC).".into()).await;
    };
    if until <= from {
        return refuse("The shift must end after it starts.".into()).await;
    }
    let added = state
        .store
        .add_on_call(
            f.user.trim(),
            &region.to_string(),
            from,
            until,
            Some(viewer.principal.user_id),
        )
        .await?;
    if added.is_none() {
        return refuse("Choose an enabled user.".into()).await;
    }
    Ok(see_other("/admin/oncall?notice=shift"))
}

/// `POST /admin/oncall/{id}/remove`.
pub(crate) async fn remove_shift(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let missing = || PageError::new(StatusCode::NOT_FOUND, "There is no such shift.");
    let id = Uuid::parse_str(id.trim()).map_err(|_| missing())?;
    if !state
        .store
        .remove_on_call(id, Some(viewer.principal.user_id))
        .await?
    {
        return Err(missing());
    }
    Ok(see_other("/admin/oncall?notice=unshift"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_times_from_the_form() {
        assert_eq!(
            when("2026-12-08T18:00").map(|t| t.to_rfc3339()),
            Some("2026-12-08T18:00:00+00:00".into())
        );
        assert!(when("2026-12-08T18:00:00+01:00").is_some());
        assert!(when("tomorrow").is_none());
        assert!(when("").is_none());
    }
}
