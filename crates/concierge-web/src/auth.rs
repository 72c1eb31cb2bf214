//! Bearer-token authentication for the JSON API.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::{ApiError, AppState};

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A caller holding a live API token (`concierge token create`).
pub(crate) struct ApiClient {
    /// The token's name.
    pub name: String,
}

impl FromRequestParts<AppState> for ApiClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized(
            "an API token is required (Authorization: Bearer …)",
        ))?;
        match state.store.verify_api_token(token).await? {
            Some(name) => Ok(Self { name }),
            None => Err(ApiError::Unauthorized("invalid or revoked API token")),
        }
    }
}
