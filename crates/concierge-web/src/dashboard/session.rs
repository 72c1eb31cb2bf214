//! Login, logout, the session cookie and the [`Viewer`] extractor.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use askama::Template;
use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use concierge_access::{Principal, login_key, verify_password};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::form::{CsrfForm, TokenOnly};
use super::{PageError, page, see_other};
use crate::AppState;

/// Cookie name when the cookie is `Secure` (browsers require it for the
/// `__Host-` prefix, together with `Path=/` and no `Domain`).
pub(crate) const SECURE_COOKIE: &str = "__Host-concierge_session";
/// Cookie name on plain-http localhost (`http.cookie_secure = false`).
pub(crate) const PLAIN_COOKIE: &str = "concierge_session";

/// Absolute lifetime of a session.
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// A session unused for this long ends.
pub(crate) const SESSION_IDLE: Duration = Duration::from_secs(3600);
/// Failed logins allowed per (address, client) within [`ATTEMPT_WINDOW`].
pub(crate) const MAX_FAILED_ATTEMPTS: i64 = 5;
/// The window failed logins are counted in.
pub(crate) const ATTEMPT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The one message for every failed login: it does not say whether the
/// address exists, is disabled or has no password.
const LOGIN_FAILED: &str = "The email address or password is not correct.";
const LOGIN_THROTTLED: &str = "Too many failed attempts. Wait a few minutes before trying again.";

fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { PLAIN_COOKIE }
}

/// The `Set-Cookie` value for `token`; `None` clears the cookie.
fn set_cookie(secure: bool, token: Option<&str>) -> Option<HeaderValue> {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    let value = match token {
        Some(t) => format!(
            "{name}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            SESSION_LIFETIME.as_secs()
        ),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).ok()
}

/// The session token from the `Cookie` header(s), if any.
fn token_from(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether `given` is this session's CSRF token (constant time).
pub(crate) fn csrf_ok(expected: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The signed-in user of a dashboard request. Unauthenticated requests are
/// sent to `/login` (303).
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// Who, for the access policy.
    pub(crate) principal: Principal,
    /// Their address.
    pub(crate) email: String,
    /// Their display name (the address when empty).
    pub(crate) name: String,
    /// The CSRF token every form of this session carries.
    pub(crate) csrf: String,
    /// The raw session token (for logout).
    token: String,
}

impl Viewer {
    /// Rejects a form whose CSRF token is not this session's (403).
    pub(crate) fn check_csrf(&self, given: Option<&str>) -> Result<(), PageError> {
        if csrf_ok(&self.csrf, given) {
            Ok(())
        } else {
            Err(PageError::forbidden())
        }
    }

    /// The name shown in the header.
    pub(crate) fn display(&self) -> &str {
        if self.name.trim().is_empty() {
            &self.email
        } else {
            &self.name
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Looked up once per request ([`super::form::CsrfForm`] asks too).
        if let Some(v) = parts.extensions.get::<Viewer>() {
            return Ok(v.clone());
        }
        let Some(token) = token_from(&parts.headers, cookie_name(state.cookie_secure)) else {
            return Err(see_other("/login"));
        };
        let session = state
            .store
            .session_by_token(&token, SESSION_IDLE)
            .await
            .map_err(|e| PageError::from(e).into_response())?;
        let Some(s) = session else {
            return Err(see_other("/login"));
        };
        let viewer = Self {
            principal: s.principal,
            email: s.email,
            name: s.name,
            csrf: s.csrf_token,
            token,
        };
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage<'a> {
    email: &'a str,
    error: &'a str,
    who: &'a str,
}

/// `GET /login`.
pub(crate) async fn login_form() -> Response {
    page(
        StatusCode::OK,
        LoginPage {
            email: "",
            error: "",
            who: "",
        }
        .render(),
    )
}

/// Body of `POST /login`.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// The client's address (the TCP peer; no forwarding headers are
/// trusted). Without connection info (in-process tests) the unspecified
/// address, so all such clients share one rate-limit key.
pub(crate) fn client_ip(parts: &axum::http::Extensions) -> IpAddr {
    parts
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Whether a cross-site `Origin` came with the form (login CSRF).
pub(crate) fn foreign_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or(origin);
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// `POST /login`: checks the password, rate-limited per (address,
/// client); on success a fresh session, its cookie and a redirect to `/`.
pub(crate) async fn login(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    let (parts, body) = request.into_parts();
    if foreign_origin(&parts.headers) {
        return Err(PageError::forbidden());
    }
    let ip = client_ip(&parts.extensions);
    // A session the browser still holds is replaced, never reused.
    let previous = token_from(&parts.headers, cookie_name(state.cookie_secure));
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let req = axum::extract::Request::from_parts(parts, body);
    let Form(form) = Form::<LoginForm>::from_request(req, &state)
        .await
        .map_err(|_| PageError::bad_request("The form was incomplete."))?;
    let email = form.email.trim();
    let retry = |status, error| {
        page(
            status,
            LoginPage {
                email,
                error,
                who: "",
            }
            .render(),
        )
    };
    if email.is_empty() || email.len() > 320 || form.password.is_empty() {
        return Ok(retry(StatusCode::UNAUTHORIZED, LOGIN_FAILED));
    }
    let key = login_key(email, ip);
    let store = &state.store;
    if store.recent_failed_attempts(&key, ATTEMPT_WINDOW).await? >= MAX_FAILED_ATTEMPTS {
        return Ok(retry(StatusCode::TOO_MANY_REQUESTS, LOGIN_THROTTLED));
    }
    let user = store.find_user_by_email(email).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let password = form.password;
    // Argon2id is slow on purpose: off the async workers. Unknown users
    // cost the same work (verify_password with None).
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref()))
        .await
        .unwrap_or(false);
    let user = match user {
        Some(u) if matches && u.user.disabled_at.is_none() => u.user,
        _ => {
            store.record_login_attempt(&key).await?;
            return Ok(retry(StatusCode::UNAUTHORIZED, LOGIN_FAILED));
        }
    };
    store.clear_login_attempts(&key).await?;
    if let Some(t) = previous {
        store.delete_session(&t).await?;
    }
    let session = match store
        .create_session(user.id, user_agent.as_deref(), SESSION_LIFETIME)
        .await
    {
        Ok(s) => s,
        // Disabled in between.
        Err(concierge_store::StoreError::NotFound) => {
            return Ok(retry(StatusCode::UNAUTHORIZED, LOGIN_FAILED));
        }
        Err(e) => return Err(e.into()),
    };
    store
        .audit(
            Some(user.id),
            "user.login",
            None,
            &serde_json::json!({ "client": ip.to_string() }),
        )
        .await?;
    let mut res = see_other("/");
    if let Some(c) = set_cookie(state.cookie_secure, Some(&session.token)) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// `POST /logout`: ends the session and clears the cookie.
pub(crate) async fn logout(
    viewer: Viewer,
    State(state): State<AppState>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    state.store.delete_session(&viewer.token).await?;
    state
        .store
        .audit(
            Some(viewer.principal.user_id),
            "user.logout",
            None,
            &serde_json::json!({}),
        )
        .await?;
    let mut res = see_other("/login");
    if let Some(c) = set_cookie(state.cookie_secure, None) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing_finds_only_our_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; concierge_session=abc ; __Host-concierge_session=def"),
        );
        assert_eq!(token_from(&h, PLAIN_COOKIE).as_deref(), Some("abc"));
        assert_eq!(token_from(&h, SECURE_COOKIE).as_deref(), Some("def"));
        assert_eq!(token_from(&h, "other"), None);
    }

    #[test]
    fn cookie_attributes() {
        let secure = set_cookie(true, Some("t0k")).unwrap();
        assert_eq!(
            secure.to_str().unwrap(),
            "__Host-concierge_session=t0k; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200; Secure"
        );
        let plain = set_cookie(false, Some("t0k")).unwrap();
        assert_eq!(
            plain.to_str().unwrap(),
            "concierge_session=t0k; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200"
        );
        let gone = set_cookie(true, None).unwrap();
        assert!(
            gone.to_str()
                .unwrap()
                .starts_with("__Host-concierge_session=;")
        );
        assert!(gone.to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn csrf_comparison() {
        assert!(csrf_ok("abc", Some("abc")));
        assert!(!csrf_ok("abc", Some("abd")));
        assert!(!csrf_ok("abc", Some("")));
        assert!(!csrf_ok("abc", None));
        assert!(!csrf_ok("", Some("")));
    }

    #[test]
    fn origins() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!foreign_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!foreign_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(foreign_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(foreign_origin(&h));
    }
}
