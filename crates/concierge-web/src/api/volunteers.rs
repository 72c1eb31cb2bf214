//! `/api/v1/volunteers`: admins manage volunteers; coordinators may list
//! them (they reassign cases to them); caseworkers get 403.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use concierge_access::{Role, can_manage_people};
use concierge_core::country::{covered_countries, spoken_languages};
use concierge_store::{StoreError, VolunteerChange, VolunteerView};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::JsonBody;
use crate::api::tickets::audit;
use crate::auth::ApiUser;
use crate::limits::MAX_CAPACITY;
use crate::{ApiError, AppState};

/// 403 unless the caller may manage people (admins).
fn require_manage_people(user: &ApiUser) -> Result<(), ApiError> {
    if can_manage_people(&user.principal) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only an admin can manage volunteers".into(),
        ))
    }
}

/// A volunteer's countries (`*` = global pool), upper-cased: the rule of
/// [`concierge_core::country::covered_countries`], as the CLI and the
/// admin pages.
fn countries(list: &[String]) -> Result<Vec<String>, ApiError> {
    covered_countries(list).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// A volunteer's ISO 639-1 languages, lower-cased.
fn languages(list: &[String]) -> Result<Vec<String>, ApiError> {
    spoken_languages(list).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn capacity_ok(c: i32) -> Result<(), ApiError> {
    if (0..=MAX_CAPACITY).contains(&c) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "capacity must be between 0 and {MAX_CAPACITY}"
        )))
    }
}

/// `GET /api/v1/volunteers`: admins and coordinators.
pub(crate) async fn list(
    user: ApiUser,
    State(state): State<AppState>,
) -> Result<Json<Vec<VolunteerView>>, ApiError> {
    if !(can_manage_people(&user.principal) || user.principal.role == Role::Coordinator) {
        return Err(ApiError::Forbidden(
            "only admins and coordinators can list volunteers".into(),
        ));
    }
    Ok(Json(state.store.list_volunteers().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewVolunteer {
    email: String,
    name: String,
    countries: Vec<String>,
    #[serde(default)]
    languages: Vec<String>,
    capacity: i32,
}

/// `POST /api/v1/volunteers`: admins. Audited as `volunteer.create`.
pub(crate) async fn create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(v): JsonBody<NewVolunteer>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_manage_people(&user)?;
    let email = concierge_core::message::EmailAddress::parse(&v.email)
        .map_err(|_| ApiError::BadRequest("email is not a valid address".into()))?;
    if v.name.trim().is_empty() || v.name.len() > 200 {
        return Err(ApiError::BadRequest("name must be 1–200 characters".into()));
    }
    capacity_ok(v.capacity)?;
    let id = state
        .store
        .add_volunteer(
            email.as_str(),
            v.name.trim(),
            &countries(&v.countries)?,
            &languages(&v.languages)?,
            v.capacity,
        )
        .await
        .map_err(|e| match e {
            StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                ApiError::Conflict("a volunteer with this email exists".into())
            }
            other => other.into(),
        })?;
    audit(
        &state,
        &user,
        "volunteer.create",
        None,
        json!({ "volunteer_id": id, "email": email.as_str() }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "email": email.as_str() })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Patch {
    name: Option<String>,
    countries: Option<Vec<String>>,
    languages: Option<Vec<String>>,
    capacity: Option<i32>,
    active: Option<bool>,
    /// RFC 3339 time, or null to resume.
    #[serde(default, with = "double_option")]
    paused_until: Option<Option<DateTime<Utc>>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `PATCH /api/v1/volunteers/{email}`: admins. Audited as
/// `volunteer.update` with the names of the fields changed.
pub(crate) async fn update(
    user: ApiUser,
    State(state): State<AppState>,
    Path(email): Path<String>,
    JsonBody(p): JsonBody<Patch>,
) -> Result<Json<Value>, ApiError> {
    require_manage_people(&user)?;
    if let Some(c) = p.capacity {
        capacity_ok(c)?;
    }
    let change = VolunteerChange {
        name: p.name,
        countries: p.countries.as_deref().map(countries).transpose()?,
        languages: p.languages.as_deref().map(languages).transpose()?,
        capacity: p.capacity,
        active: p.active,
        paused_until: p.paused_until,
    };
    state
        .store
        .update_volunteer(&email, &change)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound,
            other => other.into(),
        })?;
    let fields: Vec<&str> = [
        ("name", change.name.is_some()),
        ("countries", change.countries.is_some()),
        ("languages", change.languages.is_some()),
        ("capacity", change.capacity.is_some()),
        ("active", change.active.is_some()),
        ("paused_until", change.paused_until.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, set)| set.then_some(f))
    .collect();
    audit(
        &state,
        &user,
        "volunteer.update",
        None,
        json!({ "email": email.to_lowercase(), "fields": fields }),
    )
    .await?;
    Ok(Json(json!({ "updated": email.to_lowercase() })))
}
