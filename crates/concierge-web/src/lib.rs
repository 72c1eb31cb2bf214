//! HTTP edge of Concierge (axum): health, inbound MIME, the JSON API.
//!
//! Handlers are thin: they authenticate, call the inbound pipeline or the
//! store, and turn every failure into one [`ApiError`] response.

mod api;
mod auth;
mod case_filter;
mod dashboard;
mod download;
mod error;
mod health;
mod hub;
mod inbound;
mod limits;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use concierge_inbound::Inbound;
use concierge_store::Store;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The inbound pipeline.
    pub inbound: Inbound,
    /// The database.
    pub store: Store,
    /// Bearer token for `POST /inbound/mime`; `None` disables the endpoint.
    pub inbound_token: Option<Arc<str>>,
    /// First-response targets (priority changes move the due time).
    pub sla: concierge_core::routing::SlaTargets,
    /// Composes caseworker replies into the outbox.
    pub mailer: concierge_outbound::Mailer,
    /// Dashboard session cookie: `Secure` and `__Host-` prefixed when true
    /// (config `http.cookie_secure`).
    pub cookie_secure: bool,
    /// The configured IMAP mailboxes' names (`[[imap.mailboxes]]`), for
    /// the admins' mailbox page.
    pub mailboxes: Arc<[String]>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let max = state.inbound.max_message_bytes();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/inbound/mime",
            post(inbound::post_mime).layer(DefaultBodyLimit::max(max)),
        )
        .route("/hub", get(hub::index))
        .route("/hub/{country}", get(hub::country))
        .merge(dashboard::routes())
        // Every /api/v1 route: add new ones to `api::endpoints` (and the
        // OpenAPI document), not here.
        .merge(api::router())
        .fallback(error::not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
