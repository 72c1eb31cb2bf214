use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use concierge_core::country::{CountryCode, Language};
use concierge_store::{StoreError, VolunteerChange, VolunteerView};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::ApiClient;
use crate::{ApiError, AppState};

/// Validates country codes (`*` = global pool) and returns them upper-cased.
pub(crate) fn countries(list: &[String]) -> Result<Vec<String>, ApiError> {
    list.iter()
        .map(|c| {
            let c = c.trim();
            if c == "*" {
                return Ok("*".to_owned());
            }
            c.parse::<CountryCode>()
                .map(|c| c.to_string())
                .map_err(|_| {
                    ApiError::BadRequest(format!("{c:?} is not an ISO 3166 alpha-2 country code"))
                })
        })
        .collect()
}

/// Validates ISO 639-1 language codes.
pub(crate) fn languages(list: &[String]) -> Result<Vec<String>, ApiError> {
    list.iter()
        .map(|l| {
            l.trim()
                .parse::<Language>()
                .map(|l| l.as_str().to_owned())
                .map_err(|_| {
                    ApiError::BadRequest(format!("{l:?} is not an ISO 639-1 language code"))
                })
        })
        .collect()
}

pub(crate) async fn list(
    _c: ApiClient,
    State(state): State<AppState>,
) -> Result<Json<Vec<VolunteerView>>, ApiError> {
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

pub(crate) async fn create(
    _c: ApiClient,
    State(state): State<AppState>,
    Json(v): Json<NewVolunteer>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let email = concierge_core::message::EmailAddress::parse(&v.email)
        .map_err(|_| ApiError::BadRequest("email is not a valid address".into()))?;
    if v.name.trim().is_empty() || v.name.len() > 200 {
        return Err(ApiError::BadRequest("name must be 1–200 characters".into()));
    }
    if !(0..=1000).contains(&v.capacity) {
        return Err(ApiError::BadRequest(
            "capacity must be between 0 and 1000".into(),
        ));
    }
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

pub(crate) async fn update(
    _c: ApiClient,
    State(state): State<AppState>,
    Path(email): Path<String>,
    Json(p): Json<Patch>,
) -> Result<Json<Value>, ApiError> {
    if p.capacity.is_some_and(|c| !(0..=1000).contains(&c)) {
        return Err(ApiError::BadRequest(
            "capacity must be between 0 and 1000".into(),
        ));
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
    Ok(Json(json!({ "updated": email.to_lowercase() })))
}
