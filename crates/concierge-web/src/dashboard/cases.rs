//! A case (`GET /cases/{reference}`) with its reply and status forms; the
//! page's other parts (notes, assignment, priority, country, attachments,
//! hub entries, SLA clock) are in [`super::casework`].

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use concierge_access::can_change_case;
use concierge_core::country::{CountryCode, EvidenceItem, EvidenceKind, country_name};
use concierge_core::ticket::TicketStatus;
use concierge_outbound::{OutboundError, ReplyError};
use concierge_store::{CaseChange, ChangeError, StoreError};
use serde::Deserialize;

use super::casework::{self, CaseExtras};
use super::form::CsrfForm;
use super::format::{fmt_time, opt_time};
use super::sanitize;
use super::scope::{changeable, scope_of};
use super::{PageError, Viewer, page, see_other};
use crate::AppState;
use crate::limits::MAX_REPLY;

struct MessageRow {
    direction: String,
    class: String,
    from: String,
    subject: String,
    at: String,
    /// Sanitised HTML; empty: show `text`.
    html: String,
    text: String,
    attachments: Vec<AttachmentRow>,
}

/// An attachment link of a message.
struct AttachmentRow {
    href: String,
    label: String,
}

struct AssignmentRow {
    volunteer: String,
    reason: String,
    assigned_by: String,
    assigned_at: String,
    ended: String,
}

/// One line of the "Why this country" block.
struct EvidenceRow {
    /// The kind, as a caseworker reads it ("signature", "tour stop").
    kind: &'static str,
    /// The words, number or header it came from (the sender's text).
    text: String,
    /// "Portugal (PT)".
    country: String,
    /// Signed, e.g. "+1.20" or "−0.80".
    weight: String,
    /// Whether it counts against its country.
    against: bool,
    /// The engine's explanation; may be empty.
    note: String,
}

/// A readable label for an evidence kind.
fn evidence_label(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::Residence => "lives in",
        EvidenceKind::Present => "is in now",
        EvidenceKind::MovedTo => "moved to",
        EvidenceKind::Based => "based in",
        EvidenceKind::Greeting => "writing from",
        EvidenceKind::Label => "form line",
        EvidenceKind::Signature => "signature",
        EvidenceKind::Origin => "comes from",
        EvidenceKind::Mention => "mentions",
        EvidenceKind::Left => "left",
        EvidenceKind::Tour => "tour stop",
        EvidenceKind::PhoneInternational => "phone (international)",
        EvidenceKind::PhoneNational => "phone (national)",
        EvidenceKind::Domain => "address domain",
        EvidenceKind::History => "earlier cases",
        EvidenceKind::Language => "language",
        EvidenceKind::Timezone => "time zone",
    }
}

/// "Portugal (PT)".
fn country_label(code: &str) -> String {
    match code.parse::<CountryCode>() {
        Ok(c) => format!(
            "{} ({code})",
            crate::hub::display_name(country_name(c), code)
        ),
        Err(_) => code.to_owned(),
    }
}

/// A weight with its sign; a real minus sign for counter-evidence.
fn signed(w: f32) -> String {
    if w < 0.0 {
        format!("\u{2212}{:.2}", -w)
    } else {
        format!("+{w:.2}")
    }
}

fn evidence_rows(items: &[EvidenceItem]) -> Vec<EvidenceRow> {
    items
        .iter()
        .map(|e| EvidenceRow {
            kind: evidence_label(e.kind),
            text: e.text.clone(),
            country: country_label(e.country.as_str()),
            weight: signed(e.weight),
            against: e.weight < 0.0,
            note: e.note.clone().unwrap_or_default(),
        })
        .collect()
}

/// "PT (0.62)" for the suggestion of a case whose country is unknown.
fn suggestion_text(code: Option<&str>, confidence: Option<f32>) -> String {
    match (code, confidence) {
        (Some(c), Some(p)) => format!("{} ({p:.2})", country_label(c)),
        (Some(c), None) => country_label(c),
        (None, _) => String::new(),
    }
}

struct DeliveryRow {
    kind: String,
    recipients: String,
    status: String,
    attempts: i32,
    last_error: String,
    created_at: String,
    sent_at: String,
}

#[derive(Template)]
#[template(path = "dashboard/case.html")]
struct CasePage<'a> {
    who: &'a str,
    csrf: &'a str,
    reference: String,
    subject: String,
    status: String,
    priority: String,
    country: String,
    country_source: String,
    country_confidence: String,
    /// "Portugal (PT) (0.62)" when the country is unknown but guessed.
    country_suggestion: String,
    /// Why this country: the inference's evidence, strongest first.
    evidence: Vec<EvidenceRow>,
    language: String,
    requester: String,
    assignee: String,
    assignment_reason: String,
    routing_state: String,
    created: String,
    updated: String,
    can_change: bool,
    next_statuses: Vec<&'static str>,
    /// Shows the admin links.
    admin: bool,
    assignments: Vec<AssignmentRow>,
    deliveries: Vec<DeliveryRow>,
    messages: Vec<MessageRow>,
    /// Notes, assignment, priority, SLA and hub parts ([`casework`]).
    x: CaseExtras,
    /// The risk panel ([`super::risk`]).
    risk: super::risk::RiskPanel,
}

/// `GET /cases/{reference}`: the case and its thread. Audited.
pub(crate) async fn show(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let (reference, id, scope) = scope_of(&state, &viewer, &reference).await?;
    let d = state
        .store
        .ticket_detail(reference.as_str())
        .await?
        .ok_or_else(PageError::not_found)?;
    state
        .store
        .record_case_view(
            viewer.principal.user_id,
            id,
            &serde_json::json!({ "reference": reference.as_str() }),
        )
        .await?;
    let risk = super::risk::RiskPanel::of(&d);
    let t = d.ticket;
    let x = casework::extras(&state, &viewer, &scope, &t).await?;
    let current: Option<TicketStatus> = t.status.parse().ok();
    let next_statuses = TicketStatus::ALL
        .into_iter()
        .filter(|s| current.is_some_and(|c| c.can_transition_to(*s)))
        .filter(|s| *s != TicketStatus::New || concierge_access::can_reassign(&viewer.principal))
        .map(TicketStatus::as_str)
        .collect();
    let messages = d
        .messages
        .into_iter()
        .map(|m| {
            // Only what people sent in is HTML; our own mail and notes are
            // shown as text.
            let html = match (&m.html, m.direction.as_str()) {
                (Some(h), "inbound") if !h.trim().is_empty() => sanitize::clean(h),
                _ => String::new(),
            };
            let from = match (m.from_name, m.from) {
                (Some(n), Some(a)) if !n.is_empty() => format!("{n} <{a}>"),
                (_, Some(a)) => a,
                (Some(n), None) => n,
                (None, None) => String::new(),
            };
            MessageRow {
                direction: m.direction,
                class: m.class,
                from,
                subject: m.subject,
                at: fmt_time(m.sent_at.unwrap_or(m.created_at)),
                html,
                text: m.text,
                attachments: m
                    .attachments
                    .into_iter()
                    .map(|a| AttachmentRow {
                        href: format!("/cases/{}/attachments/{}", reference.as_str(), a.id),
                        label: format!("{} ({}, {} bytes)", a.filename, a.content_type, a.size),
                    })
                    .collect(),
            }
        })
        .collect();
    let body = CasePage {
        risk,
        who: viewer.display(),
        csrf: &viewer.csrf,
        can_change: can_change_case(&viewer.principal, &scope),
        next_statuses,
        admin: concierge_access::can_manage_people(&viewer.principal),
        reference: t.reference,
        subject: t.subject,
        status: t.status,
        priority: t.priority,
        country_suggestion: suggestion_text(
            t.country_suggestion.as_deref(),
            t.country_suggestion_confidence,
        ),
        evidence: evidence_rows(&d.country_evidence),
        country: t.country.unwrap_or_default(),
        country_source: t.country_source.unwrap_or_default(),
        country_confidence: t
            .country_confidence
            .map(|c| format!("{:.0} %", c * 100.0))
            .unwrap_or_default(),
        language: t.language.unwrap_or_default(),
        requester: t
            .requester
            .map(|r| match r.name {
                Some(n) if !n.is_empty() => format!("{n} <{}>", r.email),
                _ => r.email,
            })
            .unwrap_or_default(),
        assignee: t.assignee.unwrap_or_default(),
        assignment_reason: t.assignment_reason.unwrap_or_default(),
        routing_state: t.routing_state,
        created: fmt_time(t.created_at),
        updated: fmt_time(t.updated_at),
        assignments: d
            .assignments
            .into_iter()
            .map(|a| AssignmentRow {
                volunteer: a.volunteer,
                reason: a.reason,
                assigned_by: a.assigned_by,
                assigned_at: fmt_time(a.assigned_at),
                ended: match (a.ended_at, a.ended_reason) {
                    (Some(at), Some(r)) => format!("{} ({r})", fmt_time(at)),
                    (Some(at), None) => fmt_time(at),
                    (None, _) => String::new(),
                },
            })
            .collect(),
        deliveries: d
            .deliveries
            .into_iter()
            .map(|x| DeliveryRow {
                kind: x.kind,
                recipients: x.recipients.join(", "),
                status: x.status,
                attempts: x.attempts,
                last_error: x.last_error.unwrap_or_default(),
                created_at: fmt_time(x.created_at),
                sent_at: opt_time(x.sent_at),
            })
            .collect(),
        messages,
        x,
    }
    .render();
    Ok(page(StatusCode::OK, body))
}

/// Body of `POST /cases/{reference}/reply`.
#[derive(Deserialize)]
pub(crate) struct ReplyForm {
    #[serde(default)]
    text: String,
}

/// `POST /cases/{reference}/reply`: queues the reply as the API does.
pub(crate) async fn reply(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Result<Response, PageError> {
    let (reference, id) = changeable(&state, &viewer, &reference).await?;
    let text = form.text.trim();
    if text.is_empty() || text.len() > MAX_REPLY {
        return Err(PageError::bad_request(format!(
            "The reply must be between 1 and {MAX_REPLY} bytes."
        )));
    }
    let message_id = state
        .mailer
        .reply(&reference, viewer.display(), text)
        .await
        .map_err(|e| match e {
            ReplyError::NotFound => PageError::not_found(),
            ReplyError::Closed | ReplyError::NoRecipient => {
                PageError::new(StatusCode::CONFLICT, e.to_string())
            }
            ReplyError::Outbound(OutboundError::Store(s)) => s.into(),
            ReplyError::Outbound(other) => {
                tracing::error!(error = %other, "composing a reply failed");
                PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
            }
        })?;
    state
        .store
        .audit(
            Some(viewer.principal.user_id),
            "case.reply",
            Some(id),
            &serde_json::json!({ "reference": reference.as_str(), "message_id": message_id }),
        )
        .await?;
    Ok(see_other(&format!("/cases/{}", reference.as_str())))
}

/// Body of `POST /cases/{reference}/status`.
#[derive(Deserialize)]
pub(crate) struct StatusForm {
    #[serde(default)]
    status: String,
}

/// `POST /cases/{reference}/status`: a status change through the state
/// machine.
pub(crate) async fn status(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<Response, PageError> {
    let (reference, id) = changeable(&state, &viewer, &reference).await?;
    let new: TicketStatus = form
        .status
        .parse()
        .map_err(|_| PageError::bad_request("Unknown status."))?;
    // Back to `new` returns the case to the pool: a reassignment, as the
    // API rules too (PATCH /api/v1/tickets/{ref}).
    if new == TicketStatus::New && !concierge_access::can_reassign(&viewer.principal) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Returning a case to the pool reassigns it; ask a coordinator.",
        ));
    }
    let change = CaseChange {
        status: Some(new),
        priority: None,
        country: None,
    };
    let actor = format!("user:{}", viewer.email);
    state
        .store
        .change_case(reference.as_str(), &change, &state.sla, &actor)
        .await
        .map_err(|e| match e {
            ChangeError::Refused(r) => PageError::new(StatusCode::CONFLICT, r.to_string()),
            ChangeError::Store(StoreError::NotFound) => PageError::not_found(),
            ChangeError::Store(s) => s.into(),
        })?;
    state
        .store
        .audit(
            Some(viewer.principal.user_id),
            "case.status",
            Some(id),
            &serde_json::json!({ "reference": reference.as_str(), "status": new.as_str() }),
        )
        .await?;
    Ok(see_other(&format!("/cases/{}", reference.as_str())))
}
