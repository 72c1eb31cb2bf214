//! `/api/v1`: the JSON API.
//!
//! Every route is one [`Endpoint`] of [`endpoints`]: the router is built
//! from that list, and the OpenAPI test (`openapi::tests`) checks that the
//! list and the document ([`openapi::operations`]) name the same
//! (method, path) pairs. To add an endpoint: a handler taking
//! [`crate::auth::ApiUser`] first (so a request without a token is a 401
//! before anything else), [`JsonBody`] / [`QueryParams`] for input (errors
//! in the API's shape), one `ep(...)` line below, one entry in
//! `openapi::operations`.
pub(crate) mod casework;
pub(crate) mod openapi;
pub(crate) mod resources;
pub(crate) mod tickets;
pub(crate) mod volunteers;

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::handler::Handler;
use axum::http::Method;
use axum::http::request::Parts;
use axum::routing::{MethodFilter, MethodRouter, on};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState};

/// A JSON request body whose rejections (not JSON, wrong content type,
/// missing or unknown fields) are [`ApiError::BadRequest`] with the
/// reason, in the API's error shape, instead of axum's plain-text ones.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(r) => Err(ApiError::BadRequest(r.body_text())),
        }
    }
}

/// A query string, rejected as [`JsonBody`] is.
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Self(v)),
            Err(r) => Err(ApiError::BadRequest(r.body_text())),
        }
    }
}

/// One route of the API.
pub(crate) struct Endpoint {
    /// Its method.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the OpenAPI coverage test")
    )]
    pub(crate) method: Method,
    /// Its path (axum syntax, `{param}`, which OpenAPI shares).
    pub(crate) path: &'static str,
    route: MethodRouter<AppState>,
}

/// An endpoint: `handler` for `method` on `path`.
fn ep<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    // The methods below are all standard ones; a typo fails every test.
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    Endpoint {
        method,
        path,
        route: on(filter, handler),
    }
}

/// Every route of the JSON API.
pub(crate) fn endpoints() -> Vec<Endpoint> {
    vec![
        ep(Method::GET, "/api/v1/openapi.json", openapi::serve),
        ep(Method::GET, "/api/v1/resources", resources::list),
        ep(Method::GET, "/api/v1/tickets", tickets::list),
        ep(Method::GET, "/api/v1/tickets/{reference}", tickets::show),
        ep(
            Method::PATCH,
            "/api/v1/tickets/{reference}",
            tickets::update,
        ),
        ep(
            Method::POST,
            "/api/v1/tickets/{reference}/replies",
            tickets::reply,
        ),
        // Notes, assignment and attachments (casework.rs).
        ep(
            Method::GET,
            "/api/v1/tickets/{reference}/notes",
            casework::notes,
        ),
        ep(
            Method::POST,
            "/api/v1/tickets/{reference}/notes",
            casework::add_note,
        ),
        ep(
            Method::POST,
            "/api/v1/tickets/{reference}/assignment",
            casework::assignment,
        ),
        ep(
            Method::GET,
            "/api/v1/tickets/{reference}/attachments/{id}",
            casework::attachment,
        ),
        ep(Method::GET, "/api/v1/volunteers", volunteers::list),
        ep(Method::POST, "/api/v1/volunteers", volunteers::create),
        ep(
            Method::PATCH,
            "/api/v1/volunteers/{email}",
            volunteers::update,
        ),
    ]
}

/// The API's routes (a method registered twice on one path panics at
/// start-up, as axum does).
pub(crate) fn router() -> Router<AppState> {
    endpoints()
        .into_iter()
        .fold(Router::new(), |r, e| r.route(e.path, e.route))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_builds_without_overlaps() {
        let _ = router();
    }

    #[test]
    fn endpoints_use_standard_methods() {
        for e in endpoints() {
            assert!(
                MethodFilter::try_from(e.method.clone()).is_ok(),
                "{} {}",
                e.method,
                e.path
            );
        }
    }
}
