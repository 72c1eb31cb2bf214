//! `GET /api/v1/resources`: the resource hub for one country, as JSON.

use axum::Json;
use axum::extract::State;
use concierge_store::Resource;
use serde::{Deserialize, Serialize};

use crate::api::QueryParams;
use crate::auth::ApiUser;
use crate::hub::{parse_country, parse_lang};
use crate::{ApiError, AppState};

/// Query string of `GET /api/v1/resources`.
#[derive(Debug, Deserialize)]
pub(crate) struct ResourcesQuery {
    country: Option<String>,
    lang: Option<String>,
}

/// The answer: the country's entries first (crisis lines first), then the
/// global ones; every active entry when no country is given.
#[derive(Debug, Serialize)]
pub(crate) struct ResourceList {
    country: Option<String>,
    lang: Option<String>,
    items: Vec<Resource>,
}

/// Any API user, whatever their role: the hub is public information.
pub(crate) async fn list(
    _user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ResourcesQuery>,
) -> Result<Json<ResourceList>, ApiError> {
    let country = q
        .country
        .filter(|c| !c.is_empty())
        .map(|c| parse_country(&c))
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.into()))?;
    let lang = parse_lang(q.lang.as_deref()).map_err(|e| ApiError::BadRequest(e.into()))?;
    let items = state
        .store
        .resources_for(country.as_deref(), lang.as_deref())
        .await?;
    Ok(Json(ResourceList {
        country,
        lang,
        items,
    }))
}
