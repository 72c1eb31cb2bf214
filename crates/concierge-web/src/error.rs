use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use concierge_inbound::IngestError;
use concierge_store::StoreError;
use serde_json::json;

/// The one error type at the HTTP edge: a status and a message for the
/// caller; internal details go to the log only.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 401.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: the caller may see the thing but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("not found")]
    NotFound,
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 503: the database is unavailable; retry.
    #[error("the database is unavailable; retry later")]
    Unavailable,
    /// 500.
    #[error("internal error")]
    Internal,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            Self::Unavailable
        } else {
            tracing::error!(error = %e, "storage error");
            Self::Internal
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::TooLarge { .. } => Self::TooLarge(e.to_string()),
            IngestError::Empty => Self::BadRequest(e.to_string()),
            // Never lose a message: every storage failure asks for a retry.
            IngestError::Store(s) => {
                tracing::warn!(error = %s, "inbound message not stored; asking the sender to retry");
                Self::Unavailable
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut res = (status, Json(json!({ "error": self.to_string() }))).into_response();
        if matches!(self, Self::Unauthorized(_)) {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if matches!(self, Self::Unavailable) {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("30"),
            );
        }
        res
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}
