//! The admin pages (`/admin/…`): people and roles ([`people`]), volunteers
//! ([`volunteers`]), the resource hub ([`hub`]), API tokens ([`tokens`]) and
//! the crisis lane's on-call rota ([`oncall`]) and privacy requests
//! ([`privacy`]: export, erasure, legal hold);
//! this module holds their routes and what they share.
//!
//! Only admins reach them (`concierge_access::can_manage_people`,
//! `can_manage_hub`); anyone else gets the dashboard's 404, for pages and
//! forms alike, before anything is read or changed. Every change is a POST
//! carrying the session's CSRF token (read by [`CsrfForm`], which refuses
//! a missing or wrong token with 403 before the role is checked, as on
//! every dashboard form), and is written to the audit log.
//!
//! [`CsrfForm`]: super::form::CsrfForm
//!
//! The hub follows one rule against silent clobbering (see
//! `concierge_store` `hub_admin`): an entry changed here is no longer
//! touched by `concierge hub import` until an admin returns it to the
//! file; the page marks such entries.

mod hub;
mod oncall;
mod people;
mod privacy;
mod tokens;
mod volunteers;

use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use concierge_access::{can_manage_hub, can_manage_people};
use concierge_core::country::{covered_countries, spoken_languages};
use serde::Deserialize;
use uuid::Uuid;

use super::{PageError, Viewer, see_other};
use crate::AppState;
use crate::limits::MAX_CAPACITY;

/// The admin pages' routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(people::index))
        .route("/admin/people", get(people::people))
        .route("/admin/people/invite", post(people::invite))
        .route("/admin/people/{id}/role", post(people::set_role))
        .route("/admin/people/{id}/disable", post(people::disable))
        .route("/admin/people/{id}/enable", post(people::enable))
        .route("/admin/people/{id}/link", post(people::send_link))
        .route("/admin/volunteers", get(volunteers::volunteers))
        .route("/admin/volunteers/{id}", post(volunteers::update_volunteer))
        .route(
            "/admin/volunteers/{id}/pause",
            post(volunteers::pause_volunteer),
        )
        .route(
            "/admin/volunteers/{id}/resume",
            post(volunteers::resume_volunteer),
        )
        .route("/admin/hub", get(hub::hub))
        .route(
            "/admin/hub/new",
            get(hub::hub_new_form).post(hub::hub_create),
        )
        .route(
            "/admin/hub/entry/{id}",
            get(hub::hub_edit_form).post(hub::hub_update),
        )
        // disable, enable, release
        .route("/admin/hub/entry/{id}/{flag}", post(hub::hub_flag))
        .route(
            "/admin/tokens",
            get(tokens::tokens).post(tokens::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke_token))
        .route("/admin/oncall", get(oncall::oncall).post(oncall::add_shift))
        .route("/admin/oncall/{id}/remove", post(oncall::remove_shift))
        .route("/admin/privacy", get(privacy::privacy))
        .route("/admin/privacy/find", post(privacy::find))
        .route("/admin/privacy/export", post(privacy::export))
        .route("/admin/privacy/erase", post(privacy::erase))
        .route("/admin/privacy/hold", post(privacy::hold))
}

/// What a non-admin gets, for every admin page and form.
fn denied() -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "There is no such page.")
}

fn require_people(v: &Viewer) -> Result<(), PageError> {
    if can_manage_people(&v.principal) {
        Ok(())
    } else {
        Err(denied())
    }
}

fn require_hub(v: &Viewer) -> Result<(), PageError> {
    if can_manage_hub(&v.principal) {
        Ok(())
    } else {
        Err(denied())
    }
}

/// Records `action` by the signed-in admin in the audit log and sends them
/// on to `location`.
async fn audited(
    state: &AppState,
    viewer: &Viewer,
    action: &str,
    detail: serde_json::Value,
    location: &str,
) -> Result<Response, PageError> {
    state
        .store
        .audit(Some(viewer.principal.user_id), action, None, &detail)
        .await?;
    Ok(see_other(location))
}

fn parse_id(id: &str, missing: fn() -> PageError) -> Result<Uuid, PageError> {
    Uuid::parse_str(id.trim()).map_err(|_| missing())
}

/// Splits a comma- or space-separated list.
fn list(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n', '\r', '\t'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Splits a comma-separated list (items may contain spaces).
fn comma_list(s: &str) -> Vec<String> {
    s.split([',', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A volunteer's countries, by the rule the CLI and the JSON API use.
fn countries(s: &str) -> Result<Vec<String>, String> {
    covered_countries(&list(s)).map_err(|e| e.to_string())
}

/// A volunteer's languages, by the rule the CLI and the JSON API use.
fn languages(s: &str) -> Result<Vec<String>, String> {
    spoken_languages(&list(s)).map_err(|e| e.to_string())
}

fn capacity(s: &str) -> Result<i32, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(5);
    }
    s.parse::<i32>()
        .ok()
        .filter(|c| (0..=MAX_CAPACITY).contains(c))
        .ok_or_else(|| format!("capacity must be a whole number from 0 to {MAX_CAPACITY}"))
}

/// A choice in a `<select>`.
struct Opt {
    value: String,
    label: String,
    selected: bool,
}

fn opts<'a>(values: impl IntoIterator<Item = &'a str>, current: &str) -> Vec<Opt> {
    values
        .into_iter()
        .map(|v| Opt {
            value: v.to_owned(),
            label: v.replace('_', " "),
            selected: v == current,
        })
        .collect()
}

/// `?notice=` after a successful form: fixed texts only.
#[derive(Deserialize, Default)]
pub(crate) struct NoticeQuery {
    notice: Option<String>,
    country: Option<String>,
}

fn notice_text(code: Option<&str>) -> &'static str {
    match code.unwrap_or_default() {
        "invited" => "The account is created and the invitation is on its way.",
        "role" => "The role is changed.",
        "disabled" => "The account is disabled and its sessions have ended.",
        "enabled" => "The account is enabled again.",
        "link" => "A new link is on its way.",
        "volunteer" => "The volunteer is updated; waiting cases are routed again.",
        "paused" => "The volunteer is paused.",
        "resumed" => "The volunteer is back; waiting cases are routed again.",
        "saved" => "The entry is saved. The file import now leaves it alone.",
        "added" => "The entry is added. The file import leaves it alone.",
        "hidden" => "The entry is hidden from the public hub.",
        "shown" => "The entry is shown on the public hub again.",
        "released" => {
            "The entry is returned to the file: the next import sets it as the file says."
        }
        "revoked" => "The token is revoked.",
        "shift" => "The shift is added.",
        "unshift" => "The shift is removed.",
        "erased" => "Erased. The audit log records that an erasure happened, not whom.",
        "held" => "The case is under legal hold.",
        "unheld" => "The legal hold is released.",
        _ => "",
    }
}

fn notice(q: Result<Query<NoticeQuery>, QueryRejection>) -> (String, Option<String>) {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    (
        notice_text(q.notice.as_deref()).to_owned(),
        q.country.filter(|c| !c.trim().is_empty()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_commas_and_spaces() {
        assert_eq!(list(" de, AT  fr,,\n"), vec!["de", "AT", "fr"]);
        assert_eq!(
            comma_list("0800 111 0 111, 116 123"),
            vec!["0800 111 0 111", "116 123"]
        );
        assert!(list("").is_empty());
    }

    #[test]
    fn capacities_are_bounded() {
        assert_eq!(capacity(""), Ok(5));
        assert_eq!(capacity(" 7 "), Ok(7));
        assert!(capacity("-1").is_err());
        assert!(capacity("1001").is_err());
        assert!(capacity("x").is_err());
    }

    #[test]
    fn notices_are_fixed_texts() {
        assert_eq!(notice_text(Some("<script>")), "");
        assert_eq!(notice_text(None), "");
        assert!(!notice_text(Some("invited")).is_empty());
    }
}
