//! `/admin/people`: accounts, roles, invitations and account links.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use concierge_access::Role;
use concierge_outbound::{OutboundError, human_duration};
use concierge_store::{
    InviteError, InviteVolunteer, LinkPurpose, NewInvite, PeopleError, StoreError,
};
use serde::Deserialize;
use serde_json::json;

use super::{
    NoticeQuery, Opt, audited, capacity, countries, languages, notice, opts, parse_id,
    require_people,
};
use crate::AppState;
use crate::dashboard::form::{CsrfForm, TokenOnly};
use crate::dashboard::format::fmt_time;
use crate::dashboard::{PageError, Viewer, page, see_other};

fn no_user() -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "There is no such user.")
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
    email: String,
    name: String,
    role: String,
    countries: String,
    languages: String,
    capacity: String,
}

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
    CsrfForm(f): CsrfForm<InviteForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
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
    role: String,
}

/// `POST /admin/people/{id}/role`.
pub(crate) async fn set_role(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<RoleForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
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
    _: CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
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
    _: CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
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
    _: CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
            email: f.email.clone(),
            name: f.name.clone(),
            role: f.role.clone(),
            countries: f.countries.clone(),
            languages: f.languages.clone(),
            capacity: f.capacity.clone(),
        }
    }
}
