use axum::Json;
use axum::extract::{Path, Query, State};
use concierge_core::country::CountryCode;
use concierge_core::ticket::{Priority, TicketReference, TicketStatus};
use concierge_outbound::{OutboundError, ReplyError};
use concierge_store::{
    CaseChange, ChangeError, Page, StoreError, TicketDetail, TicketFilter, TicketSummary,
};
use serde::Deserialize;

use crate::auth::ApiClient;
use crate::{ApiError, AppState};

/// Query string of `GET /api/v1/tickets`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    country: Option<String>,
    assignee: Option<String>,
    q: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

pub(crate) async fn list(
    _client: ApiClient,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<TicketSummary>>, ApiError> {
    let status = q.status.filter(|s| !s.is_empty());
    if let Some(s) = &status {
        s.parse::<TicketStatus>()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let country = q.country.filter(|c| !c.is_empty());
    if let Some(c) = &country
        && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Err(ApiError::BadRequest(
            "country must be an ISO 3166 alpha-2 code".into(),
        ));
    }
    if q.q.as_ref().is_some_and(|s| s.len() > 500) {
        return Err(ApiError::BadRequest("q is longer than 500 bytes".into()));
    }
    let filter = TicketFilter {
        status,
        country,
        assignee: q.assignee.filter(|a| !a.is_empty()),
        q: q.q,
        page: q.page.unwrap_or(1),
        per_page: q.per_page.unwrap_or(50),
    };
    Ok(Json(state.store.list_tickets(&filter).await?))
}

pub(crate) async fn show(
    _client: ApiClient,
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> Result<Json<TicketDetail>, ApiError> {
    let reference: TicketReference = reference.parse().map_err(|_| ApiError::NotFound)?;
    let detail = state
        .store
        .ticket_detail(reference.as_str())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(detail))
}

/// Body of `PATCH /api/v1/tickets/{reference}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketPatch {
    status: Option<String>,
    priority: Option<String>,
    country: Option<String>,
}

pub(crate) async fn update(
    client: ApiClient,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    Json(p): Json<TicketPatch>,
) -> Result<Json<TicketDetail>, ApiError> {
    let reference: TicketReference = reference.parse().map_err(|_| ApiError::NotFound)?;
    let bad = |e: &dyn std::fmt::Display| ApiError::BadRequest(e.to_string());
    let change = CaseChange {
        status: p
            .status
            .as_deref()
            .map(str::parse::<TicketStatus>)
            .transpose()
            .map_err(|e| bad(&e))?,
        priority: p
            .priority
            .as_deref()
            .map(str::parse::<Priority>)
            .transpose()
            .map_err(|e| bad(&e))?,
        country: p
            .country
            .as_deref()
            .map(|c| c.parse::<CountryCode>())
            .transpose()
            .map_err(|_| ApiError::BadRequest("country must be an ISO 3166 alpha-2 code".into()))?,
    };
    let actor = format!("api:{}", client.name);
    state
        .store
        .change_case(reference.as_str(), &change, &state.sla, &actor)
        .await
        .map_err(|e| match e {
            ChangeError::Refused(r) => ApiError::Conflict(r.to_string()),
            ChangeError::Store(StoreError::NotFound) => ApiError::NotFound,
            ChangeError::Store(s) => s.into(),
        })?;
    let detail = state
        .store
        .ticket_detail(reference.as_str())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(detail))
}

/// Body of `POST /api/v1/tickets/{reference}/replies`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewReply {
    text: String,
    /// Shown on the thread; defaults to the API token's name.
    author: Option<String>,
}

/// Queues a caseworker's reply (201 once it is in the outbox).
pub(crate) async fn reply(
    client: ApiClient,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    Json(r): Json<NewReply>,
) -> Result<(axum::http::StatusCode, Json<serde_json::Value>), ApiError> {
    let reference: TicketReference = reference.parse().map_err(|_| ApiError::NotFound)?;
    let text = r.text.trim();
    if text.is_empty() || text.len() > 100_000 {
        return Err(ApiError::BadRequest("text must be 1–100000 bytes".into()));
    }
    let author = r.author.unwrap_or_else(|| client.name.clone());
    let message_id = state
        .mailer
        .reply(&reference, &author, text)
        .await
        .map_err(|e| match e {
            ReplyError::NotFound => ApiError::NotFound,
            ReplyError::Closed | ReplyError::NoRecipient => ApiError::Conflict(e.to_string()),
            ReplyError::Outbound(OutboundError::Store(s)) => s.into(),
            ReplyError::Outbound(other) => {
                tracing::error!(error = %other, "composing a reply failed");
                ApiError::Internal
            }
        })?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(serde_json::json!({ "message_id": message_id })),
    ))
}
