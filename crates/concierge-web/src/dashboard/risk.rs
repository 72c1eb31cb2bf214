//! The case page's risk panel (issue 13): the assessed risk, the rules
//! that fired and the phrases they matched per message, a person's
//! acknowledgement of an imminent-risk assessment, and raising or lowering
//! the risk with a reason. The store audits both.

use axum::extract::{Path, State};
use axum::response::Response;
use concierge_core::risk::RiskLevel;
use concierge_store::{RiskChangeError, TicketDetail};
use serde::Deserialize;

use super::form::{CsrfForm, TokenOnly};
use super::format::fmt_time;
use super::scope::{changeable, scope_of};
use super::{PageError, Viewer, see_other};
use crate::AppState;
use crate::limits::MAX_REASON;

/// One piece of evidence, as the panel lists it.
pub(super) struct RiskRow {
    pub(super) at: String,
    pub(super) level: String,
    pub(super) rule: String,
    pub(super) phrase: String,
    pub(super) about: &'static str,
}

/// What the case page shows about risk.
pub(super) struct RiskPanel {
    /// `none`, `concern` or `imminent`.
    pub(super) level: String,
    /// Imminent and nobody has acknowledged it: the banner and the button.
    pub(super) pending: bool,
    pub(super) rows: Vec<RiskRow>,
}

impl RiskPanel {
    pub(super) fn of(d: &TicketDetail) -> Self {
        let rows = d
            .messages
            .iter()
            .flat_map(|m| {
                let at = fmt_time(m.sent_at.unwrap_or(m.created_at));
                m.risk_evidence.iter().map(move |e| RiskRow {
                    at: at.clone(),
                    level: e.level.as_str().to_owned(),
                    rule: e.rule_id.clone(),
                    phrase: e.phrase.clone(),
                    about: match e.subject {
                        concierge_core::risk::Subject::Writer => "the writer",
                        concierge_core::risk::Subject::Other => "someone they write about",
                    },
                })
            })
            .collect();
        Self {
            level: d.ticket.risk.clone(),
            pending: d.ticket.risk == "imminent" && !d.ticket.risk_acknowledged,
            rows,
        }
    }
}

/// `POST /cases/{reference}/risk/acknowledge`: anyone who may see the case
/// says they have read the imminent-risk assessment and are acting; the
/// pin and the escalation mail stop.
pub(crate) async fn acknowledge(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    let (reference, id, _) = scope_of(&state, &viewer, &reference).await?;
    state
        .store
        .acknowledge_risk(id, viewer.principal.user_id)
        .await?;
    Ok(see_other(&format!("/cases/{}", reference.as_str())))
}

/// Body of `POST /cases/{reference}/risk`.
#[derive(Deserialize)]
pub(crate) struct RiskForm {
    #[serde(default)]
    level: String,
    #[serde(default)]
    reason: String,
}

/// `POST /cases/{reference}/risk`: the caseworker of the case (or a
/// coordinator) raises or lowers the assessed risk, with a reason.
pub(crate) async fn set(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<RiskForm>,
) -> Result<Response, PageError> {
    let (reference, id) = changeable(&state, &viewer, &reference).await?;
    let level: RiskLevel = form
        .level
        .parse()
        .map_err(|_| PageError::bad_request("Unknown risk level."))?;
    if form.reason.chars().count() > MAX_REASON {
        return Err(PageError::bad_request("The reason is too long."));
    }
    state
        .store
        .set_risk(
            id,
            viewer.principal.user_id,
            level,
            &form.reason,
            state.inbound.risk_lane().urgent_minutes,
        )
        .await
        .map_err(|e| match e {
            RiskChangeError::NotFound => PageError::not_found(),
            RiskChangeError::NoReason => PageError::bad_request(
                "Say why the risk changes (the reason is kept in the audit log).",
            ),
            RiskChangeError::Store(s) => s.into(),
        })?;
    Ok(see_other(&format!("/cases/{}", reference.as_str())))
}
