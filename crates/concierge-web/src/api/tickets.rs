//! `/api/v1/tickets`: the cases the caller may see, under the same access
//! policy as the dashboard (`concierge_access`): an invisible case is a
//! 404, a visible case they may not change a 403. Views and changes are
//! written to the audit log.

use axum::Json;
use axum::extract::{Path, State};
use concierge_access::{CaseScope, can_change_case, can_reassign, can_view_case};
use concierge_core::country::CountryCode;
use concierge_core::ticket::{Priority, TicketReference, TicketStatus};
use concierge_outbound::{OutboundError, ReplyError};
use concierge_store::{CaseChange, CaseList, ChangeError, ListScope, StoreError, TicketDetail};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::api::{JsonBody, QueryParams};
use crate::auth::ApiUser;
use crate::case_filter::CaseFilterParams;
use crate::limits::MAX_REPLY;
use crate::{ApiError, AppState};

/// `GET /api/v1/tickets`: only the cases the caller may see, with the
/// dashboard queue's filters, search, orders and cursor pagination
/// ([`CaseFilterParams`]); `next` is the `after` of the next page.
pub(crate) async fn list(
    user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<CaseFilterParams>,
) -> Result<Json<CaseList>, ApiError> {
    let query = q
        .to_query(user.principal.volunteer_id, 50)
        .map_err(ApiError::BadRequest)?;
    Ok(Json(
        state
            .store
            .list_cases(
                &ListScope::of(&user.principal),
                Some(user.principal.user_id),
                &query,
            )
            .await?,
    ))
}

/// A case the caller may see: its reference, id and policy scope; 404 when
/// it does not exist *or* is not visible to them (never a 403 that would
/// reveal it exists).
pub(super) async fn visible(
    state: &AppState,
    user: &ApiUser,
    reference: &str,
) -> Result<(TicketReference, Uuid, CaseScope), ApiError> {
    let reference: TicketReference = reference.parse().map_err(|_| ApiError::NotFound)?;
    let (id, scope) = state
        .store
        .case_scope(reference.as_str())
        .await?
        .ok_or(ApiError::NotFound)?;
    if !can_view_case(&user.principal, &scope) {
        return Err(ApiError::NotFound);
    }
    Ok((reference, id, scope))
}

/// A case the caller may change: 404 when not visible, 403 when visible but
/// not theirs to change.
pub(super) async fn changeable(
    state: &AppState,
    user: &ApiUser,
    reference: &str,
) -> Result<(TicketReference, Uuid, CaseScope), ApiError> {
    let (reference, id, scope) = visible(state, user, reference).await?;
    if !can_change_case(&user.principal, &scope) {
        return Err(ApiError::Forbidden(
            "only the caseworker assigned to this case (or a coordinator) can change it".into(),
        ));
    }
    Ok((reference, id, scope))
}

/// Writes an audit record by the token's user; `via` and the token's name
/// go into the detail.
pub(crate) async fn audit(
    state: &AppState,
    user: &ApiUser,
    action: &str,
    ticket: Option<Uuid>,
    mut detail: serde_json::Value,
) -> Result<(), ApiError> {
    if let Some(map) = detail.as_object_mut() {
        map.insert("via".into(), json!("api"));
        map.insert("token".into(), json!(user.token_name));
    }
    state
        .store
        .audit(Some(user.principal.user_id), action, ticket, &detail)
        .await?;
    Ok(())
}

/// `GET /api/v1/tickets/{reference}`: the case and its thread. Audited as
/// `case.view`.
pub(crate) async fn show(
    user: ApiUser,
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> Result<Json<TicketDetail>, ApiError> {
    let (reference, id, _) = visible(&state, &user, &reference).await?;
    let detail = state
        .store
        .ticket_detail(reference.as_str())
        .await?
        .ok_or(ApiError::NotFound)?;
    audit(
        &state,
        &user,
        "case.view",
        Some(id),
        json!({ "reference": reference.as_str() }),
    )
    .await?;
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

/// `PATCH /api/v1/tickets/{reference}`: status, priority, country. Needs
/// the right to change the case; a change that takes the case off its
/// caseworker (a country, which reroutes it, or status `new`, which returns
/// it to the pool) needs the right to reassign as well. Each changed field
/// is audited (`case.status`, `case.priority`, `case.country`).
pub(crate) async fn update(
    user: ApiUser,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    JsonBody(p): JsonBody<TicketPatch>,
) -> Result<Json<TicketDetail>, ApiError> {
    let (reference, id, scope) = changeable(&state, &user, &reference).await?;
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
    let unassigns = change.country.is_some()
        || (change.status == Some(TicketStatus::New) && scope.assignee.is_some());
    if unassigns && !can_reassign(&user.principal) {
        return Err(ApiError::Forbidden(
            "changing the country or returning the case to the pool reassigns it; \
             only a coordinator or an admin can do that"
                .into(),
        ));
    }
    let actor = format!("user:{}", user.email);
    state
        .store
        .change_case(reference.as_str(), &change, &state.sla, &actor)
        .await
        .map_err(|e| match e {
            ChangeError::Refused(r) => ApiError::Conflict(r.to_string()),
            ChangeError::Store(StoreError::NotFound) => ApiError::NotFound,
            ChangeError::Store(s) => s.into(),
        })?;
    let r = reference.as_str();
    if let Some(s) = change.status {
        let detail = json!({ "reference": r, "status": s.as_str() });
        audit(&state, &user, "case.status", Some(id), detail).await?;
    }
    if let Some(pr) = change.priority {
        let detail = json!({ "reference": r, "priority": pr.as_str() });
        audit(&state, &user, "case.priority", Some(id), detail).await?;
    }
    if let Some(c) = change.country {
        let detail = json!({ "reference": r, "country": c.as_str() });
        audit(&state, &user, "case.country", Some(id), detail).await?;
    }
    let detail = state
        .store
        .ticket_detail(r)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(detail))
}

/// Body of `POST /api/v1/tickets/{reference}/replies`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewReply {
    text: String,
    /// Shown on the thread; defaults to the token user's address.
    author: Option<String>,
}

/// `POST /api/v1/tickets/{reference}/replies`: queues a reply to the
/// requester (201 once it is in the outbox). Needs the right to change the
/// case; audited as `case.reply`.
pub(crate) async fn reply(
    user: ApiUser,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    JsonBody(r): JsonBody<NewReply>,
) -> Result<(axum::http::StatusCode, Json<serde_json::Value>), ApiError> {
    let (reference, id, _) = changeable(&state, &user, &reference).await?;
    let text = r.text.trim();
    if text.is_empty() || text.len() > MAX_REPLY {
        return Err(ApiError::BadRequest(format!(
            "text must be 1–{MAX_REPLY} bytes"
        )));
    }
    let author = match r.author.as_deref().map(str::trim) {
        Some(a) if a.chars().count() > 200 => {
            return Err(ApiError::BadRequest(
                "author must be at most 200 characters".into(),
            ));
        }
        Some(a) if !a.is_empty() => a.to_owned(),
        _ => user.email.clone(),
    };
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
    audit(
        &state,
        &user,
        "case.reply",
        Some(id),
        json!({ "reference": reference.as_str(), "message_id": message_id }),
    )
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({ "message_id": message_id })),
    ))
}
