//! Which case a dashboard request is about, and whether the viewer may see
//! or change it: the one gate of every case page and case form.

use axum::http::StatusCode;
use concierge_access::{CaseScope, can_change_case, can_view_case};
use concierge_core::ticket::TicketReference;
use uuid::Uuid;

use super::{PageError, Viewer};
use crate::AppState;

/// A case's id and policy scope, or 404 when missing *or* not visible
/// (the same page either way, as the JSON API).
pub(super) async fn scope_of(
    state: &AppState,
    viewer: &Viewer,
    reference: &str,
) -> Result<(TicketReference, Uuid, CaseScope), PageError> {
    let reference: TicketReference = reference.parse().map_err(|_| PageError::not_found())?;
    let (id, scope) = state
        .store
        .case_scope(reference.as_str())
        .await?
        .ok_or_else(PageError::not_found)?;
    if !can_view_case(&viewer.principal, &scope) {
        return Err(PageError::not_found());
    }
    Ok((reference, id, scope))
}

/// A case the viewer may change, or 404 (not visible) / 403 (visible, not
/// theirs to change).
pub(super) async fn changeable(
    state: &AppState,
    viewer: &Viewer,
    reference: &str,
) -> Result<(TicketReference, Uuid), PageError> {
    let (reference, id, scope) = scope_of(state, viewer, reference).await?;
    if !can_change_case(&viewer.principal, &scope) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Only the caseworker assigned to this case (or a coordinator) can change it.",
        ));
    }
    Ok((reference, id))
}
