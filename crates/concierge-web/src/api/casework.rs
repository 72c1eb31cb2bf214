//! `/api/v1/tickets/{reference}/notes|assignment|attachments`: the JSON
//! mirrors of the case page's notes, take / assign / unassign and
//! attachment downloads, under the same policy (404 for an invisible case,
//! 403 for a visible one the caller may not change) and audited the same
//! way.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use concierge_access::{can_reassign, can_take_case};
use concierge_store::{AssignError, NoteView, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::tickets::{audit, changeable, visible};
use crate::auth::ApiUser;
use crate::download::attachment_response;
use crate::limits::{MAX_NOTE, MAX_REASON};
use crate::{ApiError, AppState};

/// `GET /api/v1/tickets/{reference}/notes`: the case's internal notes,
/// oldest first. Audited as `case.view` (`"part": "notes"`).
pub(crate) async fn notes(
    user: ApiUser,
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> Result<Json<Vec<NoteView>>, ApiError> {
    let (reference, id, _) = visible(&state, &user, &reference).await?;
    let notes = state.store.notes(id).await?;
    audit(
        &state,
        &user,
        "case.view",
        Some(id),
        json!({ "reference": reference.as_str(), "part": "notes" }),
    )
    .await?;
    Ok(Json(notes))
}

/// Body of `POST /api/v1/tickets/{reference}/notes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewNote {
    text: String,
}

/// `POST /api/v1/tickets/{reference}/notes`: adds an internal note (never
/// mailed) as the token's user; 201 with the note. Audited as `case.note`.
pub(crate) async fn add_note(
    user: ApiUser,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    body: Result<Json<NewNote>, JsonRejection>,
) -> Result<(StatusCode, Json<NoteView>), ApiError> {
    let Json(n) = body.map_err(bad_json)?;
    let (reference, id, _) = changeable(&state, &user, &reference).await?;
    let text = n.text.trim();
    if text.is_empty() || text.len() > MAX_NOTE {
        return Err(ApiError::BadRequest(format!(
            "text must be 1–{MAX_NOTE} bytes"
        )));
    }
    let note = state
        .store
        .add_note(id, &user.email, &user.email, text)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound,
            e => e.into(),
        })?;
    audit(
        &state,
        &user,
        "case.note",
        Some(id),
        json!({ "reference": reference.as_str(), "note_id": note.id }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(note)))
}

/// Body of `POST /api/v1/tickets/{reference}/assignment`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignmentChange {
    /// The volunteer's address, or `null` to unassign.
    volunteer: Option<String>,
    /// Why (required to assign or unassign; ignored for a take).
    #[serde(default)]
    reason: Option<String>,
    /// Confirms going over the volunteer's capacity.
    #[serde(default)]
    allow_over_capacity: bool,
}

/// A body that is not the expected JSON: 400 with serde's explanation
/// (which field, and where).
fn bad_json(e: JsonRejection) -> ApiError {
    ApiError::BadRequest(format!("the body is not valid: {}", e.body_text()))
}

fn assign_error(e: AssignError) -> ApiError {
    match e {
        AssignError::NotFound => ApiError::NotFound,
        AssignError::Store(s) => s.into(),
        AssignError::NotAllowed => ApiError::Forbidden(e.to_string()),
        AssignError::NoSuchVolunteer(_) => ApiError::BadRequest(e.to_string()),
        AssignError::AlreadyAssigned(_)
        | AssignError::Closed(_)
        | AssignError::AtCapacity { .. }
        | AssignError::NotAssigned => ApiError::Conflict(e.to_string()),
    }
}

fn reason(raw: Option<&str>) -> Result<&str, ApiError> {
    let r = raw.map(str::trim).unwrap_or_default();
    if r.is_empty() || r.len() > MAX_REASON {
        return Err(ApiError::BadRequest(format!(
            "reason must be 1–{MAX_REASON} bytes"
        )));
    }
    Ok(r)
}

/// `POST /api/v1/tickets/{reference}/assignment`: who holds the case.
///
/// - `{"volunteer": "<own address>"}` from a caseworker: takes an
///   unassigned case of a country they cover, within their capacity
///   (`case.take`).
/// - `{"volunteer": "<address>", "reason": "…"}` from a coordinator or
///   admin: assigns or reassigns to that active volunteer; over their
///   capacity only with `"allow_over_capacity": true` (`case.assign`).
/// - `{"volunteer": null, "reason": "…"}` from a coordinator or admin:
///   back to routing (`case.unassign`).
///
/// Answers `{"assignee": address|null, …}`; 409 for a conflict (already
/// assigned, at capacity, closed, not assigned).
pub(crate) async fn assignment(
    user: ApiUser,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    body: Result<Json<AssignmentChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(c) = body.map_err(bad_json)?;
    let (reference, id, scope) = visible(&state, &user, &reference).await?;
    let r = reference.as_str();
    let actor = format!("user:{}", user.email);
    let p = &user.principal;
    let Some(volunteer) = c.volunteer.as_deref().map(str::trim) else {
        if !can_reassign(p) {
            return Err(ApiError::Forbidden(
                "only a coordinator or an admin can unassign a case".into(),
            ));
        }
        let why = reason(c.reason.as_deref())?;
        state
            .store
            .unassign_case(id, why, &actor)
            .await
            .map_err(assign_error)?;
        let detail = json!({ "reference": r, "reason": why });
        audit(&state, &user, "case.unassign", Some(id), detail).await?;
        return Ok(Json(json!({ "reference": r, "assignee": null })));
    };
    if volunteer.is_empty() || volunteer.len() > 320 {
        return Err(ApiError::BadRequest(
            "volunteer must be an address or null".into(),
        ));
    }
    if can_reassign(p) {
        let why = reason(c.reason.as_deref())?;
        let a = state
            .store
            .assign_case(id, volunteer, why, c.allow_over_capacity, &actor)
            .await
            .map_err(assign_error)?;
        let detail = json!({
            "reference": r,
            "volunteer": a.volunteer_email,
            "reason": why,
            "over_capacity": a.over_capacity,
            "assignment_id": a.assignment_id,
        });
        audit(&state, &user, "case.assign", Some(id), detail).await?;
        return Ok(Json(json!({
            "reference": r,
            "assignee": a.volunteer_email,
            "over_capacity": a.over_capacity,
        })));
    }
    // A caseworker: only taking the case for themselves.
    let mine = state.store.volunteer_id_by_email(volunteer).await?;
    if mine.is_none() || mine != p.volunteer_id {
        return Err(ApiError::Forbidden(
            "caseworkers can only take cases for themselves; a coordinator assigns others".into(),
        ));
    }
    if scope.assignee.is_some() {
        return Err(ApiError::Conflict(
            if scope.assignee == p.volunteer_id {
                "the case is already assigned to you"
            } else {
                "the case is already assigned"
            }
            .into(),
        ));
    }
    if !can_take_case(p, &scope) {
        return Err(ApiError::Forbidden(
            "only a caseworker covering the case's country can take it".into(),
        ));
    }
    let a = state
        .store
        .take_case(id, p, &actor)
        .await
        .map_err(assign_error)?;
    let detail = json!({
        "reference": r,
        "volunteer": a.volunteer_email,
        "assignment_id": a.assignment_id,
    });
    audit(&state, &user, "case.take", Some(id), detail).await?;
    Ok(Json(json!({
        "reference": r,
        "assignee": a.volunteer_email,
        "over_capacity": false,
    })))
}

/// `GET /api/v1/tickets/{reference}/attachments/{id}`: the bytes, as the
/// dashboard serves them (`application/octet-stream`, `attachment` with a
/// safe name, `nosniff`, sandbox CSP). 404 for an invisible case or an
/// attachment of another case. Audited as `case.attachment`.
pub(crate) async fn attachment(
    user: ApiUser,
    State(state): State<AppState>,
    Path((reference, attachment_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (reference, id, _) = visible(&state, &user, &reference).await?;
    let attachment_id: Uuid = attachment_id.parse().map_err(|_| ApiError::NotFound)?;
    let file = state
        .store
        .case_attachment(id, attachment_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit(
        &state,
        &user,
        "case.attachment",
        Some(id),
        json!({
            "reference": reference.as_str(),
            "attachment_id": attachment_id,
            "filename": file.filename,
            "bytes": file.data.len(),
        }),
    )
    .await?;
    Ok(attachment_response(&file.filename, file.data))
}
