//! [`CsrfForm`]: how every signed-in dashboard form is read.

use axum::body::Bytes;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{PageError, Viewer};
use crate::AppState;

/// The name of the field that carries the session's CSRF token.
const FIELD: &str = "csrf";

/// A form posted by the signed-in viewer with their session's CSRF token,
/// the one extractor of every signed-in dashboard form (case pages, admin
/// pages, logout).
///
/// In this order: not signed in is a redirect to `/login` (as [`Viewer`]);
/// a missing or wrong `csrf` field is 403 with [`PageError::forbidden`],
/// whatever else the body holds and before anything else is looked at;
/// then a body that is not a form of `T` is 400. `T` need not declare the
/// `csrf` field (unknown fields are ignored).
pub(crate) struct CsrfForm<T>(pub(crate) T);

/// The body of a form that carries nothing but the CSRF token.
#[derive(Deserialize)]
pub(crate) struct TokenOnly {}

/// The `csrf` field of a form body, if any.
fn token(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        // An unreadable body has no token either.
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|_| PageError::forbidden().into_response())?;
        viewer
            .check_csrf(token(&bytes).as_deref())
            .map_err(IntoResponse::into_response)?;
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let Form(f) = Form::<T>::from_request(req, state)
            .await
            .map_err(|_| PageError::bad_request("The form was incomplete.").into_response())?;
        Ok(Self(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_anywhere_in_the_body() {
        assert_eq!(token(b"a=1&csrf=abc&b=2").as_deref(), Some("abc"));
        assert_eq!(token(b"csrf=a%2Bb").as_deref(), Some("a+b"));
        assert_eq!(token(b"a=1"), None);
        assert_eq!(token(b"\xff\xfe"), None);
    }
}
