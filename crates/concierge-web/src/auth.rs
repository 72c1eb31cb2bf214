//! Bearer-token authentication for the JSON API.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use concierge_store::ApiTokenCheck;

use crate::{ApiError, AppState};

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The user an API request acts as: the owner of a live bearer token
/// (`concierge token create --user EMAIL`). The access policy applies to
/// `principal` exactly as to that user's dashboard session.
pub(crate) struct ApiUser {
    /// Who, for the access policy (role, volunteer record, countries).
    pub principal: concierge_access::Principal,
    /// The user's address.
    pub email: String,
    /// The token's name.
    pub token_name: String,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized(
            "an API token is required (Authorization: Bearer …)",
        ))?;
        match state.store.verify_api_token(token).await? {
            ApiTokenCheck::Valid {
                name,
                principal,
                email,
            } => Ok(Self {
                principal,
                email,
                token_name: name,
            }),
            ApiTokenCheck::Invalid => Err(ApiError::Unauthorized("invalid or revoked API token")),
            ApiTokenCheck::NoUser { .. } => Err(ApiError::Unauthorized(
                "this API token belongs to no user; create a new one with \
                 `concierge token create --user EMAIL`",
            )),
            ApiTokenCheck::UserDisabled { .. } => Err(ApiError::Unauthorized(
                "the user of this API token is disabled; create a new one for an active user \
                 with `concierge token create --user EMAIL`",
            )),
        }
    }
}
