//! `POST /inbound/mime`: a raw RFC 5322 message as the body.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use concierge_inbound::Delivery;
use concierge_store::{InboundSource, IngestOutcome};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::auth::bearer;
use crate::{ApiError, AppState};

/// A caller holding `inbound.token`.
pub(crate) struct InboundCaller;

impl FromRequestParts<AppState> for InboundCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = &state.inbound_token else {
            return Err(ApiError::Unauthorized(
                "the inbound endpoint is disabled (set inbound.token)",
            ));
        };
        let given = bearer(parts).ok_or(ApiError::Unauthorized(
            "Authorization: Bearer <inbound.token> is required",
        ))?;
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(Self)
        } else {
            Err(ApiError::Unauthorized("invalid inbound token"))
        }
    }
}

/// Stores the message; answers 201 (new ticket), 200 (reply or duplicate)
/// only after it is committed.
pub(crate) async fn post_mime(
    _caller: InboundCaller,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let outcome = state
        .inbound
        .ingest(Delivery {
            source: InboundSource::Http,
            envelope_from: None,
            envelope_to: Vec::new(),
            raw: body.to_vec(),
        })
        .await?;
    let (status, what) = match &outcome {
        IngestOutcome::Created { .. } => (StatusCode::CREATED, "created"),
        IngestOutcome::Appended { .. } => (StatusCode::OK, "appended"),
        IngestOutcome::Duplicate { .. } => (StatusCode::OK, "duplicate"),
    };
    Ok((
        status,
        Json(json!({ "result": what, "reference": outcome.reference().as_str() })),
    ))
}
