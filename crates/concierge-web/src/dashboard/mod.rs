//! The caseworkers' dashboard: server-rendered pages behind a login.
//!
//! - `GET/POST /login`, `POST /logout` ([`session`]): password login with
//!   per-(address, client) rate limiting, a random session token in an
//!   HttpOnly cookie, and a per-session CSRF token for every form.
//! - `GET /`, `GET /cases/{reference}`, `POST /cases/{reference}/reply`,
//!   `POST /cases/{reference}/status` ([`cases`]): the queue and a case,
//!   filtered by `concierge_access` (in SQL for the queue).
//! - `POST /cases/{reference}/notes|take|assign|unassign|priority|country`,
//!   `GET /cases/{reference}/attachments/{id}`, `GET /static/dashboard.js`
//!   ([`casework`]): the rest of the case page.
//! - `/account/setup`, `/password/forgot` ([`account`]): choosing a
//!   password from a single-use invitation or reset link.
//! - `/admin/…` ([`admin`], one file per page: `people`, `volunteers`,
//!   `hub`, `tokens`): for admins only.
//! - `GET /overview` ([`overview`], SVG from [`charts`]): open cases, first
//!   responses, breaches and volunteers' load, within the viewer's scope;
//!   `GET /admin/audit` ([`audit`]): the audit log, for admins only;
//!   `GET /admin/mailboxes` ([`mailboxes`]): the IMAP mailboxes' state.
//!
//! Every page carries the headers of [`page`]; no state changes over GET;
//! every signed-in form is read by [`form::CsrfForm`] (the session's CSRF
//! token first: 403 when missing or wrong); every case page and form finds
//! its case through [`scope`] (404 when missing *or* not visible); times
//! are shown by [`format`]; inbound HTML is sanitised ([`sanitize`]) before
//! it is shown.

mod account;
mod admin;
mod audit;
mod cases;
mod casework;
mod charts;
mod form;
mod format;
mod mailboxes;
mod overview;
mod queue;
mod risk;
mod sanitize;
mod scope;
mod session;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use concierge_store::StoreError;

pub(crate) use self::session::Viewer;
use crate::{ApiError, AppState};

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(queue::queue))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/cases/{reference}", get(cases::show))
        .route("/cases/{reference}/reply", post(cases::reply))
        .route("/cases/{reference}/status", post(cases::status))
        .route("/cases/{reference}/risk", post(risk::set))
        .route(
            "/cases/{reference}/risk/acknowledge",
            post(risk::acknowledge),
        )
        // The rest of the case page (casework.rs).
        .route("/cases/{reference}/notes", post(casework::add_note))
        .route("/cases/{reference}/take", post(casework::take))
        .route("/cases/{reference}/assign", post(casework::assign))
        .route("/cases/{reference}/unassign", post(casework::unassign))
        .route("/cases/{reference}/priority", post(casework::priority))
        .route("/cases/{reference}/country", post(casework::country))
        .route(
            "/cases/{reference}/attachments/{id}",
            get(casework::attachment),
        )
        .route("/static/dashboard.js", get(casework::script))
        // Account links (account.rs).
        .route(
            "/account/setup",
            get(account::setup_form_page).post(account::setup),
        )
        .route(
            "/password/forgot",
            get(account::forgot_form).post(account::forgot),
        )
        // The admin pages (admin/).
        .merge(admin::routes())
        // The overview and the audit log (overview.rs, audit.rs).
        .route("/overview", get(overview::show))
        .route("/admin/audit", get(audit::show))
        .route("/admin/mailboxes", get(mailboxes::show))
}

/// The Content-Security-Policy of every dashboard page. Scripts only from
/// our own origin (`/static/dashboard.js`): no inline code, and the one
/// thing strangers can put on our origin, attachments, is served as
/// `application/octet-stream` with `nosniff`, which browsers refuse to run.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Adds the dashboard's security headers to any response.
pub(crate) fn secure(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        // `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends
        // `Origin: null` on same-site form posts, which the CSRF origin check
        // must refuse (found by the browser test). Nothing leaks cross-site.
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A rendered page with the security headers.
pub(crate) fn page(status: StatusCode, body: askama::Result<String>) -> Response {
    let res = match body {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a dashboard page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    };
    secure(res)
}

/// A 303 redirect (after a form post, or to the login page).
pub(crate) fn see_other(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    secure(res)
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    /// Shown in the header when signed in.
    who: &'a str,
}

/// A dashboard failure, shown as a small HTML page.
#[derive(Debug)]
pub(crate) struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 404: also used when the viewer may not see the case, so that its
    /// existence is not revealed.
    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "There is no such case.")
    }

    pub(crate) fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "The form has expired or did not come from this site. Reload the page and try again.",
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        // Logged and classified the way the API does it.
        match ApiError::from(e) {
            ApiError::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unavailable; try again in a moment.",
            ),
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong."),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = ErrorPage {
            title,
            message: &self.message,
            who: "",
        }
        .render();
        let mut res = page(self.status, body);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        res
    }
}
