//! The admin pages (`/admin/…`): people and roles, volunteers, the
//! resource hub and API tokens.
//!
//! Only admins reach them (`concierge_access::can_manage_people`,
//! `can_manage_hub`); anyone else gets the dashboard's 404, for pages and
//! forms alike, before anything else is looked at. Every change is a POST
//! carrying the session's CSRF token, and is written to the audit log.
//!
//! The hub follows one rule against silent clobbering (see
//! `concierge_store` `hub_admin`): an entry changed here is no longer
//! touched by `concierge hub import` until an admin returns it to the
//! file; the page marks such entries.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use concierge_access::{Role, can_manage_hub, can_manage_people};
use concierge_core::country::{covered_countries, spoken_languages};
use concierge_outbound::{OutboundError, human_duration};
use concierge_store::{
    HubEditError, HubEntryRow, InviteError, InviteVolunteer, LinkPurpose, NewInvite, PeopleError,
    StoreError, VolunteerChange,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::format::fmt_time;
use super::{PageError, Viewer, page, see_other};
use crate::AppState;
use crate::limits::MAX_CAPACITY;

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

/// A form that carries the CSRF token.
trait Csrf {
    fn csrf(&self) -> Option<&str>;
}

/// Implements [`Csrf`] for a form with a `csrf: Option<String>` field.
macro_rules! csrf_form {
    ($form:ty) => {
        impl Csrf for $form {
            fn csrf(&self) -> Option<&str> {
                self.csrf.as_deref()
            }
        }
    };
}

/// The form's values once the CSRF token is checked (call after the role
/// check). Every field of the admin forms has a default, so a missing
/// token is a 403, not a parse error.
fn checked<T: Csrf>(viewer: &Viewer, form: Result<Form<T>, FormRejection>) -> Result<T, PageError> {
    let Form(f) = form.map_err(|_| PageError::bad_request("The form could not be read."))?;
    viewer.check_csrf(f.csrf())?;
    Ok(f)
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

fn no_user() -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "There is no such user.")
}

fn parse_id(id: &str, missing: fn() -> PageError) -> Result<Uuid, PageError> {
    Uuid::parse_str(id.trim()).map_err(|_| missing())
}

fn people_error(e: PeopleError) -> PageError {
    match e {
        PeopleError::NotFound => no_user(),
        PeopleError::LastAdmin => PageError::new(
            StatusCode::CONFLICT,
            "That would leave no enabled admin. Make someone else an admin first.",
        ),
        PeopleError::NeedsVolunteer => PageError::new(StatusCode::CONFLICT, e.to_string()),
        PeopleError::Store(s) => s.into(),
    }
}

fn outbound_error(e: OutboundError) -> PageError {
    match e {
        OutboundError::Store(StoreError::NotFound) => PageError::new(
            StatusCode::CONFLICT,
            "The account is disabled or gone: no link was sent.",
        ),
        OutboundError::Store(s) => s.into(),
        OutboundError::Build(_) => PageError::bad_request("No mail can be built for this address."),
        OutboundError::Template(_) => {
            PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
        }
    }
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

// ---------------------------------------------------------------------------
// People

struct PersonRow {
    id: String,
    email: String,
    name: String,
    role: &'static str,
    role_options: Vec<Opt>,
    volunteer: bool,
    status: &'static str,
    disabled: bool,
    has_password: bool,
    last_login: String,
    is_self: bool,
}

#[derive(Default)]
struct InviteValues {
    email: String,
    name: String,
    role: String,
    countries: String,
    languages: String,
    capacity: String,
}

#[derive(Template)]
#[template(path = "dashboard/admin_people.html")]
struct PeoplePage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    notice: &'a str,
    error: &'a str,
    rows: Vec<PersonRow>,
    invite: InviteValues,
    invite_roles: Vec<Opt>,
    invite_valid: String,
}

async fn people_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    notice: &str,
    error: &str,
    invite: InviteValues,
) -> Result<Response, PageError> {
    let users = state.store.list_users().await?;
    let rows = users
        .into_iter()
        .map(|u| PersonRow {
            id: u.id.to_string(),
            role: u.role.as_str(),
            role_options: opts(Role::ALL.map(Role::as_str), u.role.as_str()),
            volunteer: u.volunteer_id.is_some(),
            status: match (u.disabled_at.is_some(), u.has_password) {
                (true, _) => "disabled",
                (false, false) => "invited",
                (false, true) => "active",
            },
            disabled: u.disabled_at.is_some(),
            has_password: u.has_password,
            last_login: u.last_login.map(fmt_time).unwrap_or_default(),
            is_self: u.id == viewer.principal.user_id,
            email: u.email,
            name: u.name,
        })
        .collect();
    let role = if invite.role.is_empty() {
        "caseworker".to_owned()
    } else {
        invite.role.clone()
    };
    Ok(page(
        status,
        PeoplePage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "people",
            notice,
            error,
            rows,
            invite_roles: opts(Role::ALL.map(Role::as_str), &role),
            invite,
            invite_valid: human_duration(state.mailer.link_valid_for(LinkPurpose::Invite)),
        }
        .render(),
    ))
}

/// `GET /admin` → `/admin/people`.
pub(crate) async fn index(viewer: Viewer) -> Result<Response, PageError> {
    require_people(&viewer)?;
    Ok(see_other("/admin/people"))
}

/// `GET /admin/people`.
pub(crate) async fn people(
    viewer: Viewer,
    State(state): State<AppState>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let (notice, _) = notice(q);
    people_page(
        &state,
        &viewer,
        StatusCode::OK,
        &notice,
        "",
        InviteValues::default(),
    )
    .await
}

/// Body of `POST /admin/people/invite`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct InviteForm {
    csrf: Option<String>,
    email: String,
    name: String,
    role: String,
    countries: String,
    languages: String,
    capacity: String,
}

csrf_form!(InviteForm);

fn validate_invite(f: &InviteForm) -> Result<NewInvite, String> {
    let email = concierge_core::message::EmailAddress::parse(f.email.trim())
        .map_err(|_| "Enter a valid email address.".to_owned())?;
    let name = f.name.trim();
    if name.chars().count() > 200 {
        return Err("The name may have at most 200 characters.".into());
    }
    let role: Role = f
        .role
        .parse()
        .map_err(|_| "Choose a role: admin, coordinator or caseworker.".to_owned())?;
    let volunteer = if role == Role::Caseworker {
        let c = countries(&f.countries)?;
        if c.is_empty() {
            return Err(
                "A caseworker covers at least one country (or * for the global pool).".into(),
            );
        }
        Some(InviteVolunteer {
            countries: c,
            languages: languages(&f.languages)?,
            capacity: capacity(&f.capacity)?,
        })
    } else {
        None
    };
    Ok(NewInvite {
        email: email.as_str().to_lowercase(),
        name: name.to_owned(),
        role,
        volunteer,
    })
}

/// `POST /admin/people/invite`: creates the account (and a caseworker's
/// volunteer record) and mails the invitation, in one transaction.
pub(crate) async fn invite(
    viewer: Viewer,
    State(state): State<AppState>,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let f = checked(&viewer, form)?;
    let values = InviteValues {
        email: f.email.trim().to_owned(),
        name: f.name.trim().to_owned(),
        role: f.role.trim().to_owned(),
        countries: f.countries.trim().to_owned(),
        languages: f.languages.trim().to_owned(),
        capacity: f.capacity.trim().to_owned(),
    };
    let inv = match validate_invite(&f) {
        Ok(i) => i,
        Err(msg) => {
            return people_page(
                &state,
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                "",
                &msg,
                values,
            )
            .await;
        }
    };
    let link = state.mailer.new_link(LinkPurpose::Invite);
    let mail = state
        .mailer
        .account_mail(&inv.email, &inv.name, &link)
        .map_err(outbound_error)?;
    let user_id = match state.store.invite_user(&inv, &link, Some(&mail)).await {
        Ok(id) => id,
        Err(InviteError::Exists) => {
            return people_page(
                &state,
                &viewer,
                StatusCode::CONFLICT,
                "",
                "A user with this address (or this volunteer record) already exists.",
                values,
            )
            .await;
        }
        Err(InviteError::Store(e)) => return Err(e.into()),
    };
    audited(
        &state,
        &viewer,
        "user.invite",
        json!({
            "user_id": user_id,
            "email": inv.email,
            "role": inv.role,
            "volunteer": inv.volunteer.as_ref().map(|v| json!({
                "countries": v.countries, "languages": v.languages, "capacity": v.capacity
            })),
            "link_id": link.id,
        }),
        "/admin/people?notice=invited",
    )
    .await
}

/// Body of `POST /admin/people/{id}/role`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RoleForm {
    csrf: Option<String>,
    role: String,
}

csrf_form!(RoleForm);

/// Body of the forms with nothing but the CSRF token.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PlainForm {
    csrf: Option<String>,
}

csrf_form!(PlainForm);

/// `POST /admin/people/{id}/role`.
pub(crate) async fn set_role(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<RoleForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let f = checked(&viewer, form)?;
    let id = parse_id(&id, no_user)?;
    let role: Role = f
        .role
        .parse()
        .map_err(|_| PageError::bad_request("Choose a role: admin, coordinator or caseworker."))?;
    if id == viewer.principal.user_id {
        return Err(PageError::bad_request(
            "You cannot change your own role; ask another admin.",
        ));
    }
    let user = state.store.user_by_id(id).await?.ok_or_else(no_user)?;
    let old = state
        .store
        .set_user_role(id, role)
        .await
        .map_err(people_error)?;
    audited(
        &state,
        &viewer,
        "user.role_change",
        json!({ "user_id": id, "email": user.email, "from": old, "to": role }),
        "/admin/people?notice=role",
    )
    .await
}

/// `POST /admin/people/{id}/disable`: ends their sessions at once.
pub(crate) async fn disable(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<PlainForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    checked(&viewer, form)?;
    let id = parse_id(&id, no_user)?;
    if id == viewer.principal.user_id {
        return Err(PageError::bad_request(
            "You cannot disable your own account; ask another admin.",
        ));
    }
    let user = state.store.user_by_id(id).await?.ok_or_else(no_user)?;
    state
        .store
        .disable_user_by_id(id)
        .await
        .map_err(people_error)?;
    audited(
        &state,
        &viewer,
        "user.disable",
        json!({ "user_id": id, "email": user.email, "via": "dashboard" }),
        "/admin/people?notice=disabled",
    )
    .await
}

/// `POST /admin/people/{id}/enable`.
pub(crate) async fn enable(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<PlainForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    checked(&viewer, form)?;
    let id = parse_id(&id, no_user)?;
    let user = state.store.user_by_id(id).await?.ok_or_else(no_user)?;
    state.store.enable_user(id).await.map_err(people_error)?;
    audited(
        &state,
        &viewer,
        "user.enable",
        json!({ "user_id": id, "email": user.email }),
        "/admin/people?notice=enabled",
    )
    .await
}

/// `POST /admin/people/{id}/link`: a new invitation (no password yet) or
/// password-reset link, by mail.
pub(crate) async fn send_link(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<PlainForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    checked(&viewer, form)?;
    let id = parse_id(&id, no_user)?;
    let user = state.store.user_by_id(id).await?.ok_or_else(no_user)?;
    if user.disabled_at.is_some() {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            "The account is disabled: enable it first.",
        ));
    }
    let purpose = if user.has_password {
        LinkPurpose::Reset
    } else {
        LinkPurpose::Invite
    };
    state
        .mailer
        .send_account_link(id, &user.email, &user.name, purpose, None)
        .await
        .map_err(outbound_error)?;
    audited(
        &state,
        &viewer,
        "user.link_sent",
        json!({ "user_id": id, "email": user.email, "purpose": purpose.as_str() }),
        "/admin/people?notice=link",
    )
    .await
}

// ---------------------------------------------------------------------------
// Volunteers

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
    csrf: Option<String>,
    countries: String,
    languages: String,
    capacity: String,
}

csrf_form!(VolunteerForm);

/// `POST /admin/volunteers/{id}`: countries, languages, capacity. Waiting
/// cases are routed again (the change may have made room).
pub(crate) async fn update_volunteer(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<VolunteerForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let f = checked(&viewer, form)?;
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
    csrf: Option<String>,
    until: String,
}

csrf_form!(PauseForm);

/// `POST /admin/volunteers/{id}/pause`: no new cases until the date
/// (00:00 UTC, as `concierge volunteer pause`).
pub(crate) async fn pause_volunteer(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<PauseForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let f = checked(&viewer, form)?;
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
    form: Result<Form<PlainForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    checked(&viewer, form)?;
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

// ---------------------------------------------------------------------------
// Resource hub

struct HubRow {
    id: String,
    name: String,
    kind: String,
    countries: String,
    phone: String,
    active: bool,
    edited: String,
}

#[derive(Template)]
#[template(path = "dashboard/admin_hub.html")]
struct HubPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    notice: &'a str,
    country_options: Vec<Opt>,
    rows: Vec<HubRow>,
}

fn edited_note(e: &HubEntryRow) -> String {
    match e.edited_at {
        Some(t) => format!(
            "changed in the dashboard by {} on {}",
            e.edited_by.as_deref().unwrap_or("an admin"),
            fmt_time(t)
        ),
        None => String::new(),
    }
}

/// `GET /admin/hub?country=XX`: every entry, active or not.
pub(crate) async fn hub(
    viewer: Viewer,
    State(state): State<AppState>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let (notice, country) = notice(q);
    let country = match country {
        None => None,
        Some(c) if c.trim() == "*" => Some("*".to_owned()),
        Some(c) => Some(
            crate::hub::parse_country(&c)
                .map_err(|_| PageError::bad_request("Unknown country code."))?,
        ),
    };
    let all = state.store.list_hub_entries(None).await?;
    let mut codes: Vec<String> = all.iter().flat_map(|e| e.countries.clone()).collect();
    codes.sort_by(|a, b| (a == "*", a).cmp(&(b == "*", b)));
    codes.dedup();
    let current = country.clone().unwrap_or_default();
    let mut country_options = vec![Opt {
        value: String::new(),
        label: "All countries".into(),
        selected: current.is_empty(),
    }];
    country_options.extend(codes.iter().map(|c| Opt {
        value: c.clone(),
        label: if c == "*" {
            "* (global)".into()
        } else {
            c.clone()
        },
        selected: *c == current,
    }));
    let rows = all
        .into_iter()
        .filter(|e| country.as_ref().is_none_or(|c| e.countries.contains(c)))
        .map(|e| HubRow {
            edited: edited_note(&e),
            id: e.id,
            name: e.name,
            kind: e.kind.replace('_', " "),
            countries: e.countries.join(", "),
            phone: e.phone.join(", "),
            active: e.active,
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        HubPage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "hub",
            notice: &notice,
            country_options,
            rows,
        }
        .render(),
    ))
}

/// The entry form's fields, as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct EntryForm {
    csrf: Option<String>,
    id: String,
    name: String,
    kind: String,
    countries: String,
    languages: String,
    phone: String,
    sms: String,
    chat: String,
    web: String,
    email: String,
    hours: String,
    cost: String,
    verification: String,
    source: String,
    last_verified: String,
    notes: String,
    /// One `language: text` per line.
    descriptions: String,
}

csrf_form!(EntryForm);

impl EntryForm {
    fn from_row(e: &HubEntryRow) -> Self {
        Self {
            csrf: None,
            id: e.id.clone(),
            name: e.name.clone(),
            kind: e.kind.clone(),
            countries: e.countries.join(", "),
            languages: e.languages.join(", "),
            phone: e.phone.join(", "),
            sms: e.sms.join(", "),
            chat: e.chat.clone().unwrap_or_default(),
            web: e.web.clone().unwrap_or_default(),
            email: e.email.clone().unwrap_or_default(),
            hours: e.hours.clone().unwrap_or_default(),
            cost: e.cost.clone(),
            verification: e.verification.clone(),
            source: e.source.clone(),
            last_verified: e.last_verified.to_string(),
            notes: e.notes.clone().unwrap_or_default(),
            descriptions: e
                .descriptions
                .iter()
                .map(|(l, t)| format!("{l}: {t}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// Validated by the hub file's own rules (`concierge_hub::check_draft`).
    fn entry(&self, id: &str) -> Result<concierge_hub::Entry, Vec<String>> {
        let mut problems = Vec::new();
        let mut description = std::collections::BTreeMap::new();
        for line in self
            .descriptions
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            match line.split_once(':') {
                Some((lang, text)) => {
                    let lang = lang.trim().to_ascii_lowercase();
                    if description
                        .insert(lang.clone(), text.trim().to_owned())
                        .is_some()
                    {
                        problems.push(format!("description {lang:?} is given twice"));
                    }
                }
                None => problems.push(format!(
                    "description line {:?} must be `language: text`, e.g. `en: A free line.`",
                    line.chars().take(40).collect::<String>()
                )),
            }
        }
        let draft = concierge_hub::Draft {
            id: id.trim().to_owned(),
            name: self.name.clone(),
            kind: self.kind.trim().to_owned(),
            countries: list(&self.countries)
                .into_iter()
                .map(|c| c.to_ascii_uppercase())
                .collect(),
            languages: list(&self.languages)
                .into_iter()
                .map(|l| l.to_ascii_lowercase())
                .collect(),
            phone: comma_list(&self.phone),
            sms: comma_list(&self.sms),
            chat: self.chat.trim().to_owned(),
            web: self.web.trim().to_owned(),
            email: self.email.trim().to_owned(),
            hours: self.hours.trim().to_owned(),
            cost: self.cost.trim().to_owned(),
            verification: self.verification.trim().to_owned(),
            source: self.source.clone(),
            last_verified: self.last_verified.clone(),
            notes: self.notes.clone(),
            description,
        };
        match concierge_hub::check_draft(draft) {
            Ok(e) if problems.is_empty() => Ok(e),
            Ok(_) => Err(problems),
            Err(mut p) => {
                problems.append(&mut p);
                Err(problems)
            }
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/admin_hub_entry.html")]
struct HubEntryPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    create: bool,
    action: String,
    errors: Vec<String>,
    edited: String,
    active: bool,
    v: EntryForm,
    kinds: Vec<Opt>,
    verifications: Vec<Opt>,
}

fn entry_page(
    viewer: &Viewer,
    status: StatusCode,
    create: bool,
    v: EntryForm,
    errors: Vec<String>,
    edited: String,
    active: bool,
) -> Response {
    let action = if create {
        "/admin/hub/new".to_owned()
    } else {
        format!("/admin/hub/entry/{}", v.id)
    };
    let kinds = opts(
        concierge_hub::Kind::ALL.map(concierge_hub::Kind::as_str),
        &v.kind,
    );
    let verifications = opts(
        ["sourced", "unverified", "conflicting"],
        if v.verification.is_empty() {
            "unverified"
        } else {
            &v.verification
        },
    );
    page(
        status,
        HubEntryPage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "hub",
            create,
            action,
            errors,
            edited,
            active,
            v,
            kinds,
            verifications,
        }
        .render(),
    )
}

fn no_entry() -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "There is no such hub entry.")
}

fn hub_error(e: HubEditError) -> PageError {
    match e {
        HubEditError::NotFound => no_entry(),
        HubEditError::Exists => PageError::new(
            StatusCode::CONFLICT,
            "An entry with this id exists: choose another id.",
        ),
        HubEditError::Store(s) => s.into(),
    }
}

/// `GET /admin/hub/new`.
pub(crate) async fn hub_new_form(viewer: Viewer) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let v = EntryForm {
        last_verified: Utc::now().format("%Y-%m-%d").to_string(),
        cost: "unknown".into(),
        ..EntryForm::default()
    };
    Ok(entry_page(
        &viewer,
        StatusCode::OK,
        true,
        v,
        Vec::new(),
        String::new(),
        true,
    ))
}

/// `POST /admin/hub/new`.
pub(crate) async fn hub_create(
    viewer: Viewer,
    State(state): State<AppState>,
    form: Result<Form<EntryForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let f = checked(&viewer, form)?;
    let entry = match f.entry(&f.id) {
        Ok(e) => e,
        Err(problems) => {
            return Ok(entry_page(
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                true,
                f,
                problems,
                String::new(),
                true,
            ));
        }
    };
    match state
        .store
        .save_hub_entry(&entry, viewer.principal.user_id, true)
        .await
    {
        Ok(()) => {}
        Err(HubEditError::Exists) => {
            return Ok(entry_page(
                &viewer,
                StatusCode::CONFLICT,
                true,
                f,
                vec!["an entry with this id exists: choose another id".into()],
                String::new(),
                true,
            ));
        }
        Err(e) => return Err(hub_error(e)),
    }
    audited(
        &state,
        &viewer,
        "hub.entry.add",
        json!({ "entry": entry.id, "name": entry.name, "countries": entry.countries }),
        "/admin/hub?notice=added",
    )
    .await
}

/// `GET /admin/hub/entry/{id}`: the edit form.
pub(crate) async fn hub_edit_form(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let e = state.store.hub_entry(&id).await?.ok_or_else(no_entry)?;
    Ok(entry_page(
        &viewer,
        StatusCode::OK,
        false,
        EntryForm::from_row(&e),
        Vec::new(),
        edited_note(&e),
        e.active,
    ))
}

/// `POST /admin/hub/entry/{id}`: saves; from now on the file import leaves
/// the entry alone.
pub(crate) async fn hub_update(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<EntryForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let mut f = checked(&viewer, form)?;
    let current = state.store.hub_entry(&id).await?.ok_or_else(no_entry)?;
    // The id is the path's: an entry is never renamed.
    f.id = current.id.clone();
    let entry = match f.entry(&current.id) {
        Ok(e) => e,
        Err(problems) => {
            return Ok(entry_page(
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
                f,
                problems,
                edited_note(&current),
                current.active,
            ));
        }
    };
    state
        .store
        .save_hub_entry(&entry, viewer.principal.user_id, false)
        .await
        .map_err(hub_error)?;
    audited(
        &state,
        &viewer,
        "hub.entry.edit",
        json!({ "entry": entry.id, "before": current, "after": {
            "name": entry.name, "kind": entry.kind.as_str(), "countries": entry.countries,
            "languages": entry.languages, "phone": entry.phone, "sms": entry.sms,
            "chat": entry.chat, "web": entry.web, "email": entry.email, "hours": entry.hours,
            "cost": entry.cost, "verification": entry.verification.as_str(),
            "source": entry.source, "last_verified": entry.last_verified.to_string(),
            "notes": entry.notes, "description": entry.description,
        }}),
        "/admin/hub?notice=saved",
    )
    .await
}

/// The hub entry flag forms: hide, show or release the entry, audit
/// `action` and send the admin back to the hub with `notice`.
async fn hub_flag(
    viewer: Viewer,
    state: AppState,
    id: String,
    form: Result<Form<PlainForm>, FormRejection>,
    action: &'static str,
    location: &str,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    checked(&viewer, form)?;
    let store = &state.store;
    let actor = viewer.principal.user_id;
    match action {
        "hub.entry.disable" => store.set_hub_entry_active(&id, false, actor).await,
        "hub.entry.enable" => store.set_hub_entry_active(&id, true, actor).await,
        _ => store.release_hub_entry(&id).await,
    }
    .map_err(hub_error)?;
    audited(&state, &viewer, action, json!({ "entry": id }), location).await
}

/// `POST /admin/hub/entry/{id}/disable`: hidden from the public hub.
pub(crate) async fn hub_disable(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<PlainForm>, FormRejection>,
) -> Result<Response, PageError> {
    hub_flag(
        viewer,
        state,
        id,
        form,
        "hub.entry.disable",
        "/admin/hub?notice=hidden",
    )
    .await
}

/// `POST /admin/hub/entry/{id}/enable`.
pub(crate) async fn hub_enable(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<PlainForm>, FormRejection>,
) -> Result<Response, PageError> {
    hub_flag(
        viewer,
        state,
        id,
        form,
        "hub.entry.enable",
        "/admin/hub?notice=shown",
    )
    .await
}

/// `POST /admin/hub/entry/{id}/release`: back under the file's control.
pub(crate) async fn hub_release(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<PlainForm>, FormRejection>,
) -> Result<Response, PageError> {
    hub_flag(
        viewer,
        state,
        id,
        form,
        "hub.entry.release",
        "/admin/hub?notice=released",
    )
    .await
}

// ---------------------------------------------------------------------------
// API tokens

struct TokenRow {
    id: String,
    name: String,
    owner: String,
    created: String,
    last_used: String,
    state: String,
    revocable: bool,
}

#[derive(Template)]
#[template(path = "dashboard/admin_tokens.html")]
struct TokensPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    notice: &'a str,
    error: &'a str,
    /// A token just created: shown this once.
    created: &'a str,
    created_name: &'a str,
    rows: Vec<TokenRow>,
    users: Vec<Opt>,
}

async fn tokens_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    notice: &str,
    error: &str,
    created: (&str, &str),
) -> Result<Response, PageError> {
    let rows = state
        .store
        .list_api_tokens()
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            revocable: t.revoked_at.is_none(),
            state: match (t.revoked_at, &t.owner) {
                (Some(at), _) => format!("revoked {}", fmt_time(at)),
                (None, None) => "refused: belongs to no user".into(),
                (None, Some(_)) => "live".into(),
            },
            name: t.name,
            owner: t.owner.unwrap_or_default(),
            created: fmt_time(t.created_at),
            last_used: t.last_used_at.map(fmt_time).unwrap_or_default(),
        })
        .collect();
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .map(|u| Opt {
            value: u.id.to_string(),
            label: format!("{} ({})", u.email, u.role),
            selected: u.id == viewer.principal.user_id,
        })
        .collect();
    Ok(page(
        status,
        TokensPage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "tokens",
            notice,
            error,
            created: created.0,
            created_name: created.1,
            rows,
            users,
        }
        .render(),
    ))
}

/// `GET /admin/tokens`.
pub(crate) async fn tokens(
    viewer: Viewer,
    State(state): State<AppState>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let (notice, _) = notice(q);
    tokens_page(&state, &viewer, StatusCode::OK, &notice, "", ("", "")).await
}

/// Body of `POST /admin/tokens`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct TokenForm {
    csrf: Option<String>,
    name: String,
    user: String,
}

csrf_form!(TokenForm);

/// `POST /admin/tokens`: creates a token acting as the chosen user and
/// shows its secret this once (only its digest is stored).
pub(crate) async fn create_token(
    viewer: Viewer,
    State(state): State<AppState>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let f = checked(&viewer, form)?;
    let name = f.name.trim();
    let refuse = |status, msg: &'static str| {
        let state = state.clone();
        let viewer = viewer.clone();
        async move { tokens_page(&state, &viewer, status, "", msg, ("", "")).await }
    };
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Give the token a name of 1 to 100 characters.",
        )
        .await;
    }
    let Ok(user_id) = Uuid::parse_str(f.user.trim()) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose the user the token acts as.",
        )
        .await;
    };
    let Some(user) = state.store.user_by_id(user_id).await? else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose the user the token acts as.",
        )
        .await;
    };
    let token = match state.store.create_api_token(name, user_id).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => {
            return refuse(
                StatusCode::CONFLICT,
                "That user is disabled: a token for them would be refused.",
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    state
        .store
        .audit(
            Some(viewer.principal.user_id),
            "token.create",
            None,
            &json!({ "user_id": user_id, "email": user.email, "name": name, "via": "dashboard" }),
        )
        .await?;
    tokens_page(&state, &viewer, StatusCode::OK, "", "", (&token, name)).await
}

/// `POST /admin/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<PlainForm>, FormRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    checked(&viewer, form)?;
    let missing = || PageError::new(StatusCode::NOT_FOUND, "There is no such token.");
    let id = Uuid::parse_str(id.trim()).map_err(|_| missing())?;
    let name = state
        .store
        .revoke_api_token(id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing(),
            other => other.into(),
        })?;
    audited(
        &state,
        &viewer,
        "token.revoke",
        json!({ "token_id": id, "name": name, "via": "dashboard" }),
        "/admin/tokens?notice=revoked",
    )
    .await
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
    fn invites_are_validated() {
        let base = InviteForm {
            email: " Ana@Example.org ".into(),
            role: "caseworker".into(),
            countries: "de at".into(),
            languages: "de, en".into(),
            capacity: "3".into(),
            ..InviteForm::default()
        };
        let ok = validate_invite(&base).unwrap();
        assert_eq!(ok.email, "ana@example.org");
        assert_eq!(ok.name, "");
        let v = ok.volunteer.unwrap();
        assert_eq!(v.countries, vec!["DE", "AT"]);
        assert_eq!(v.languages, vec!["de", "en"]);
        assert_eq!(v.capacity, 3);
        let coordinator = InviteForm {
            role: "coordinator".into(),
            countries: String::new(),
            ..InviteForm::default()
        };
        assert!(
            validate_invite(&InviteForm {
                email: "c@example.org".into(),
                ..coordinator
            })
            .unwrap()
            .volunteer
            .is_none()
        );
        for bad in [
            InviteForm {
                email: "not an address".into(),
                ..base_clone(&base)
            },
            InviteForm {
                role: "root".into(),
                ..base_clone(&base)
            },
            InviteForm {
                countries: String::new(),
                ..base_clone(&base)
            },
            InviteForm {
                countries: "XX".into(),
                ..base_clone(&base)
            },
            InviteForm {
                capacity: "5000".into(),
                ..base_clone(&base)
            },
        ] {
            assert!(validate_invite(&bad).is_err());
        }
    }

    fn base_clone(f: &InviteForm) -> InviteForm {
        InviteForm {
            csrf: f.csrf.clone(),
            email: f.email.clone(),
            name: f.name.clone(),
            role: f.role.clone(),
            countries: f.countries.clone(),
            languages: f.languages.clone(),
            capacity: f.capacity.clone(),
        }
    }

    #[test]
    fn entry_descriptions_are_parsed_and_checked() {
        let f = EntryForm {
            name: "Line".into(),
            kind: "crisis_line".into(),
            countries: "de".into(),
            languages: "DE".into(),
            phone: "0800 111 0 111".into(),
            verification: "sourced".into(),
            source: "a source".into(),
            last_verified: "2026-11-25".into(),
            descriptions: "en: A line.\nde: Eine Leitung.\n".into(),
            ..EntryForm::default()
        };
        let e = f.entry("de-line").unwrap();
        assert_eq!(e.countries, vec!["DE"]);
        assert_eq!(e.languages, vec!["de"]);
        assert_eq!(e.description.get("de").unwrap(), "Eine Leitung.");
        let bad = EntryForm {
            descriptions: "A line without a language\nen: x\nen: y".into(),
            ..f.clone()
        };
        let problems = bad.entry("de-line").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(f.entry("Bad Id").is_err());
    }

    #[test]
    fn notices_are_fixed_texts() {
        assert_eq!(notice_text(Some("<script>")), "");
        assert_eq!(notice_text(None), "");
        assert!(!notice_text(Some("invited")).is_empty());
    }
}
