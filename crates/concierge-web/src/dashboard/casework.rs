//! The case page's working parts besides reply and status: internal notes,
//! take / reassign / unassign, priority and country, attachment downloads,
//! the hub entries offered under the reply composer, the SLA clock, and
//! the small script that inserts hub entries into a reply.
//!
//! Every form is POST with the session's CSRF token ([`CsrfForm`]); a case the viewer may
//! not see is a 404, a visible case they may not change a 403; every change
//! and every download is audited.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use concierge_access::{CaseScope, can_reassign, can_take_case};
use concierge_core::country::CountryCode;
use concierge_core::routing::{FirstResponseClock, human_duration};
use concierge_core::ticket::{Priority, TicketStatus};
use concierge_store::{AssignError, CaseChange, ChangeError, Resource, StoreError, TicketSummary};
use serde::Deserialize;
use uuid::Uuid;

use super::form::{CsrfForm, TokenOnly};
use super::format::fmt_time;
use super::scope::{changeable, scope_of};
use super::{PageError, Viewer, secure, see_other};
use crate::AppState;
use crate::download::attachment_response;
use crate::limits::{MAX_NOTE, MAX_REASON};

/// The assignee select of a coordinator.
pub(super) struct VolunteerOption {
    pub(super) email: String,
    pub(super) label: String,
}

pub(super) struct PriorityOption {
    pub(super) value: &'static str,
    pub(super) selected: bool,
}

/// The first-response clock as shown.
pub(super) struct SlaView {
    /// When it is due (empty: no target).
    pub(super) due: String,
    /// "3 h 20 min left", "overdue by 2 h", "answered on time", …
    pub(super) text: String,
    /// The target was or is being missed.
    pub(super) breached: bool,
}

/// One hub entry under the reply composer.
pub(super) struct HubItem {
    pub(super) id: String,
    pub(super) name: String,
    /// Kind, languages, and a warning when not verified.
    pub(super) meta: String,
    /// Ready to paste into a reply.
    pub(super) text: String,
}

/// What the case page shows besides the ticket and its thread.
pub(super) struct CaseExtras {
    pub(super) can_take: bool,
    pub(super) can_reassign: bool,
    pub(super) assigned: bool,
    pub(super) volunteers: Vec<VolunteerOption>,
    pub(super) priorities: Vec<PriorityOption>,
    pub(super) sla: SlaView,
    pub(super) hub: Vec<HubItem>,
    /// The country the hub entries are for ("" when unknown: global only).
    pub(super) hub_country: String,
}

/// The first-response clock of a case at `now`.
pub(super) fn sla_view(t: &TicketSummary, now: chrono::DateTime<Utc>) -> SlaView {
    let clock = FirstResponseClock::at(
        t.first_response_due_at.map(|d| d.timestamp()),
        t.first_responded_at.map(|d| d.timestamp()),
        t.sla_breached_at.is_some(),
        now.timestamp(),
    );
    let open = t
        .status
        .parse::<TicketStatus>()
        .is_ok_and(TicketStatus::is_open);
    let due = t.first_response_due_at.map(fmt_time).unwrap_or_default();
    let text = match clock {
        FirstResponseClock::NoTarget => "No first-response target.".to_owned(),
        FirstResponseClock::Answered { late_secs: 0 } => "Answered on time.".to_owned(),
        FirstResponseClock::Answered { late_secs } => {
            format!("Answered {} late.", human_duration(late_secs))
        }
        _ if !open => format!("No reply was sent before the case was {}.", t.status),
        FirstResponseClock::Running { left_secs } => {
            format!("{} left.", human_duration(left_secs))
        }
        FirstResponseClock::Overdue { over_secs } => {
            format!("Overdue by {}.", human_duration(over_secs))
        }
    };
    SlaView {
        due,
        text,
        breached: clock.breached() || t.sla_breached_at.is_some(),
    }
}

/// A hub entry as plain text for a reply.
pub(super) fn hub_text(r: &Resource) -> String {
    let mut lines = vec![match r.description.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => format!("{}: {d}", r.name),
        _ => r.name.clone(),
    }];
    let mut field = |label: &str, value: String| {
        if !value.trim().is_empty() {
            lines.push(format!("{label}: {value}"));
        }
    };
    field("Phone", r.phone.join(", "));
    field("SMS", r.sms.join(", "));
    field("Chat", r.chat.clone().unwrap_or_default());
    field("Web", r.web.clone().unwrap_or_default());
    field("Email", r.email.clone().unwrap_or_default());
    field("Hours", r.hours.clone().unwrap_or_default());
    lines.join("\n")
}

fn hub_item(r: &Resource) -> HubItem {
    let mut meta = vec![r.kind.replace('_', " ")];
    if r.global {
        meta.push("international".to_owned());
    }
    if !r.languages.is_empty() {
        meta.push(format!("languages: {}", r.languages.join(", ")));
    }
    if !r.is_sourced() {
        meta.push(format!("{}: check before sending", r.verification));
    }
    HubItem {
        id: r.id.clone(),
        name: r.name.clone(),
        meta: meta.join(" · "),
        text: hub_text(r),
    }
}

/// Builds what the case page needs besides the ticket.
pub(super) async fn extras(
    state: &AppState,
    viewer: &Viewer,
    scope: &CaseScope,
    t: &TicketSummary,
) -> Result<CaseExtras, PageError> {
    let p = &viewer.principal;
    let staff = can_reassign(p);
    let volunteers = if staff {
        state
            .store
            .list_volunteers()
            .await?
            .into_iter()
            .filter(|v| v.active && Some(v.id) != scope.assignee)
            .map(|v| {
                let paused = v.paused_until.is_some_and(|u| u > Utc::now());
                let name = if v.name.trim().is_empty() {
                    v.email.clone()
                } else {
                    format!("{} <{}>", v.name, v.email)
                };
                VolunteerOption {
                    label: format!(
                        "{name}: {} of {} open, covers {}{}{}",
                        v.active_cases,
                        v.capacity,
                        if v.countries.is_empty() {
                            "nothing".to_owned()
                        } else {
                            v.countries.join(" ")
                        },
                        if v.active_cases >= i64::from(v.capacity) {
                            " (full)"
                        } else {
                            ""
                        },
                        if paused { " (paused)" } else { "" },
                    ),
                    email: v.email,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    // The case's country and the international entries; only those when
    // the country is unknown.
    let hub_country = t.country.clone().unwrap_or_default();
    let hub = state
        .store
        .resources_for(
            Some(if hub_country.is_empty() {
                "*"
            } else {
                &hub_country
            }),
            t.language.as_deref(),
        )
        .await?
        .iter()
        .map(hub_item)
        .collect();
    Ok(CaseExtras {
        can_take: can_take_case(p, scope),
        can_reassign: staff,
        assigned: scope.assignee.is_some(),
        volunteers,
        priorities: Priority::ALL
            .into_iter()
            .map(|x| PriorityOption {
                value: x.as_str(),
                selected: x.as_str() == t.priority,
            })
            .collect(),
        sla: sla_view(t, Utc::now()),
        hub,
        hub_country,
    })
}

fn back_to(reference: &str) -> Response {
    see_other(&format!("/cases/{reference}"))
}

/// Records `action` on case `id` by the viewer in the audit log and sends
/// them back to the case.
async fn audited_back(
    state: &AppState,
    viewer: &Viewer,
    action: &str,
    id: Uuid,
    reference: &str,
    detail: serde_json::Value,
) -> Result<Response, PageError> {
    state
        .store
        .audit(Some(viewer.principal.user_id), action, Some(id), &detail)
        .await?;
    Ok(back_to(reference))
}

/// An assignment error as a page: what happened, in a sentence.
fn assign_page_error(e: AssignError) -> PageError {
    let e = match e {
        AssignError::NotFound => return PageError::not_found(),
        AssignError::Store(s) => return s.into(),
        e => e,
    };
    let status = match &e {
        AssignError::NotFound | AssignError::Store(_) | AssignError::NotAllowed => {
            StatusCode::FORBIDDEN
        }
        AssignError::NoSuchVolunteer(_) => StatusCode::BAD_REQUEST,
        AssignError::AlreadyAssigned(_)
        | AssignError::Closed(_)
        | AssignError::AtCapacity { .. }
        | AssignError::NotAssigned => StatusCode::CONFLICT,
    };
    PageError::new(status, sentence(&e.to_string()))
}

/// `msg` with a capital letter and a full stop.
pub(crate) fn sentence(msg: &str) -> String {
    let mut c = msg.chars();
    match c.next() {
        Some(f) => {
            let mut s: String = f.to_uppercase().collect();
            s.push_str(c.as_str());
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
        None => String::new(),
    }
}

/// Body of `POST /cases/{reference}/notes`.
#[derive(Deserialize)]
pub(crate) struct NoteForm {
    #[serde(default)]
    text: String,
}

/// `POST /cases/{reference}/notes`: an internal note (never mailed).
pub(crate) async fn add_note(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<Response, PageError> {
    let (reference, id) = changeable(&state, &viewer, &reference).await?;
    let text = form.text.trim();
    if text.is_empty() || text.len() > MAX_NOTE {
        return Err(PageError::bad_request(format!(
            "A note must be between 1 and {MAX_NOTE} bytes."
        )));
    }
    let note = state
        .store
        .add_note(id, &viewer.email, viewer.display(), text)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => PageError::not_found(),
            e => e.into(),
        })?;
    audited_back(
        &state,
        &viewer,
        "case.note",
        id,
        reference.as_str(),
        serde_json::json!({ "reference": reference.as_str(), "note_id": note.id }),
    )
    .await
}

/// `POST /cases/{reference}/take`: a caseworker takes an unassigned case
/// of a country they cover, within their capacity.
pub(crate) async fn take(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    let (reference, id, scope) = scope_of(&state, &viewer, &reference).await?;
    if scope.assignee.is_some() {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            if scope.assignee == viewer.principal.volunteer_id {
                "This case is already yours."
            } else {
                "This case is already assigned. A coordinator can reassign it."
            },
        ));
    }
    if !can_take_case(&viewer.principal, &scope) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Only a caseworker covering the case's country can take it.",
        ));
    }
    let actor = format!("user:{}", viewer.email);
    let a = state
        .store
        .take_case(id, &viewer.principal, &actor)
        .await
        .map_err(assign_page_error)?;
    audited_back(
        &state,
        &viewer,
        "case.take",
        id,
        reference.as_str(),
        serde_json::json!({
            "reference": reference.as_str(),
            "volunteer": a.volunteer_email,
            "assignment_id": a.assignment_id,
        }),
    )
    .await
}

/// Body of `POST /cases/{reference}/assign`.
#[derive(Deserialize)]
pub(crate) struct AssignForm {
    #[serde(default)]
    volunteer: String,
    #[serde(default)]
    reason: String,
    /// The "yes, go over their capacity" checkbox.
    over_capacity: Option<String>,
}

/// A reason from a form: trimmed, required, bounded.
pub(crate) fn reason_of(raw: &str) -> Result<&str, String> {
    let r = raw.trim();
    if r.is_empty() {
        Err("Give a reason: it is kept in the case's assignment history.".to_owned())
    } else if r.len() > MAX_REASON {
        Err(format!("The reason must be at most {MAX_REASON} bytes."))
    } else {
        Ok(r)
    }
}

fn staff_only(viewer: &Viewer) -> Result<(), PageError> {
    if can_reassign(&viewer.principal) {
        Ok(())
    } else {
        Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Only coordinators and admins can assign or unassign cases.",
        ))
    }
}

/// `POST /cases/{reference}/assign`: a coordinator gives the case to an
/// active volunteer, over their capacity only when confirmed.
pub(crate) async fn assign(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<AssignForm>,
) -> Result<Response, PageError> {
    let (reference, id, _) = scope_of(&state, &viewer, &reference).await?;
    staff_only(&viewer)?;
    let volunteer = form.volunteer.trim();
    if volunteer.is_empty() || volunteer.len() > 320 {
        return Err(PageError::bad_request("Choose a volunteer."));
    }
    let reason = reason_of(&form.reason).map_err(PageError::bad_request)?;
    let confirmed = form.over_capacity.is_some();
    let actor = format!("user:{}", viewer.email);
    let a = state
        .store
        .assign_case(id, volunteer, reason, confirmed, &actor)
        .await
        .map_err(|e| match e {
            AssignError::AtCapacity { .. } => PageError::new(
                StatusCode::CONFLICT,
                format!(
                    "{} Tick \u{201c}Assign even though they are at capacity\u{201d} to go ahead.",
                    sentence(&e.to_string())
                ),
            ),
            e => assign_page_error(e),
        })?;
    audited_back(
        &state,
        &viewer,
        "case.assign",
        id,
        reference.as_str(),
        serde_json::json!({
            "reference": reference.as_str(),
            "volunteer": a.volunteer_email,
            "reason": reason,
            "over_capacity": a.over_capacity,
            "assignment_id": a.assignment_id,
        }),
    )
    .await
}

/// Body of `POST /cases/{reference}/unassign`.
#[derive(Deserialize)]
pub(crate) struct UnassignForm {
    #[serde(default)]
    reason: String,
}

/// `POST /cases/{reference}/unassign`: back to the routing pool.
pub(crate) async fn unassign(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<UnassignForm>,
) -> Result<Response, PageError> {
    let (reference, id, _) = scope_of(&state, &viewer, &reference).await?;
    staff_only(&viewer)?;
    let reason = reason_of(&form.reason).map_err(PageError::bad_request)?;
    let actor = format!("user:{}", viewer.email);
    state
        .store
        .unassign_case(id, reason, &actor)
        .await
        .map_err(assign_page_error)?;
    audited_back(
        &state,
        &viewer,
        "case.unassign",
        id,
        reference.as_str(),
        serde_json::json!({ "reference": reference.as_str(), "reason": reason }),
    )
    .await
}

/// Body of `POST /cases/{reference}/priority`.
#[derive(Deserialize)]
pub(crate) struct PriorityForm {
    #[serde(default)]
    priority: String,
}

fn change_error(e: ChangeError) -> PageError {
    match e {
        ChangeError::Refused(r) => PageError::new(StatusCode::CONFLICT, sentence(&r.to_string())),
        ChangeError::Store(StoreError::NotFound) => PageError::not_found(),
        ChangeError::Store(s) => s.into(),
    }
}

/// Makes `change` to the case as the viewer, records `action` with
/// `detail` in the audit log and sends them back to the case.
async fn apply_change(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    reference: &str,
    change: &CaseChange,
    action: &str,
    detail: serde_json::Value,
) -> Result<Response, PageError> {
    let actor = format!("user:{}", viewer.email);
    state
        .store
        .change_case(reference, change, &state.sla, &actor)
        .await
        .map_err(change_error)?;
    audited_back(state, viewer, action, id, reference, detail).await
}

/// `POST /cases/{reference}/priority`: moves the first-response target.
pub(crate) async fn priority(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<PriorityForm>,
) -> Result<Response, PageError> {
    let (reference, id) = changeable(&state, &viewer, &reference).await?;
    let p: Priority = form
        .priority
        .trim()
        .parse()
        .map_err(|_| PageError::bad_request("Unknown priority."))?;
    let change = CaseChange {
        priority: Some(p),
        ..CaseChange::default()
    };
    apply_change(
        &state,
        &viewer,
        id,
        reference.as_str(),
        &change,
        "case.priority",
        serde_json::json!({ "reference": reference.as_str(), "priority": p.as_str() }),
    )
    .await
}

/// Body of `POST /cases/{reference}/country`.
#[derive(Deserialize)]
pub(crate) struct CountryForm {
    #[serde(default)]
    country: String,
}

/// `POST /cases/{reference}/country`: a coordinator or admin sets the
/// country; the case leaves its caseworker and is routed again. Since that
/// reassigns the case, caseworkers may not (as in the API).
pub(crate) async fn country(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<CountryForm>,
) -> Result<Response, PageError> {
    let (reference, id) = changeable(&state, &viewer, &reference).await?;
    if !can_reassign(&viewer.principal) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Changing the country routes the case again, which reassigns it: \
             ask a coordinator.",
        ));
    }
    let c: CountryCode = form.country.trim().parse().map_err(|_| {
        PageError::bad_request("The country must be an ISO 3166 two-letter code, such as BR.")
    })?;
    let change = CaseChange {
        country: Some(c),
        ..CaseChange::default()
    };
    apply_change(
        &state,
        &viewer,
        id,
        reference.as_str(),
        &change,
        "case.country",
        serde_json::json!({ "reference": reference.as_str(), "country": c.as_str() }),
    )
    .await
}

/// `GET /cases/{reference}/attachments/{id}`: an attachment of the case as
/// a download (see [`attachment_response`]). 404 when the case is not
/// visible or the attachment belongs to another case. Audited.
pub(crate) async fn attachment(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((reference, attachment_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (reference, id, _) = scope_of(&state, &viewer, &reference).await?;
    let attachment_id: Uuid = attachment_id
        .parse()
        .map_err(|_| PageError::new(StatusCode::NOT_FOUND, "There is no such attachment."))?;
    let file = state
        .store
        .case_attachment(id, attachment_id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "There is no such attachment."))?;
    state
        .store
        .audit(
            Some(viewer.principal.user_id),
            "case.attachment",
            Some(id),
            &serde_json::json!({
                "reference": reference.as_str(),
                "attachment_id": attachment_id,
                "filename": file.filename,
                "bytes": file.data.len(),
            }),
        )
        .await?;
    Ok(attachment_response(&file.filename, file.data))
}

/// The dashboard's script: progressive enhancement only, every page works
/// without it.
const SCRIPT: &str = include_str!("../../static/dashboard.js");

/// `GET /static/dashboard.js`.
pub(crate) async fn script() -> Response {
    let mut res = secure(SCRIPT.into_response());
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn ticket() -> TicketSummary {
        let created = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        TicketSummary {
            id: Uuid::nil(),
            reference: "C-AAAAAA".into(),
            subject: String::new(),
            status: "assigned".into(),
            priority: "high".into(),
            country: Some("BR".into()),
            country_source: None,
            country_confidence: None,
            language: Some("pt".into()),
            requester: None,
            assignee: None,
            assignment_reason: None,
            routing_state: "assigned".into(),
            country_suggestion: None,
            country_suggestion_confidence: None,
            first_response_due_at: Some(created + Duration::hours(4)),
            first_responded_at: None,
            sla_breached_at: None,
            message_count: 1,
            created_at: created,
            updated_at: created,
            risk: "none".into(),
            risk_acknowledged: false,
        }
    }

    #[test]
    fn sla_clock_texts() {
        let t = ticket();
        let due = t.first_response_due_at.unwrap();
        let v = sla_view(&t, due - Duration::minutes(200));
        assert_eq!(v.text, "3 h 20 min left.");
        assert_eq!(v.due, "2026-11-25 14:00 UTC");
        assert!(!v.breached);
        let v = sla_view(&t, due + Duration::minutes(65));
        assert_eq!(v.text, "Overdue by 1 h 5 min.");
        assert!(v.breached);
        let answered = TicketSummary {
            first_responded_at: Some(due - Duration::minutes(1)),
            ..ticket()
        };
        let v = sla_view(&answered, due + Duration::days(3));
        assert_eq!(v.text, "Answered on time.");
        assert!(!v.breached);
        let late = TicketSummary {
            first_responded_at: Some(due + Duration::minutes(30)),
            sla_breached_at: Some(due + Duration::minutes(5)),
            ..ticket()
        };
        let v = sla_view(&late, due + Duration::days(3));
        assert_eq!(v.text, "Answered 30 min late.");
        assert!(v.breached);
        let closed = TicketSummary {
            status: "closed".into(),
            ..ticket()
        };
        let v = sla_view(&closed, due + Duration::days(3));
        assert_eq!(v.text, "No reply was sent before the case was closed.");
        let none = TicketSummary {
            first_response_due_at: None,
            ..ticket()
        };
        assert_eq!(sla_view(&none, due).text, "No first-response target.");
        assert_eq!(sla_view(&none, due).due, "");
    }

    #[test]
    fn hub_entries_as_reply_text() {
        let r = Resource {
            id: "br-cvv".into(),
            name: "CVV".into(),
            kind: "crisis_line".into(),
            countries: vec!["BR".into()],
            languages: vec!["pt".into()],
            phone: vec!["188".into()],
            sms: vec![],
            chat: None,
            web: Some("https://cvv.org.br".into()),
            email: None,
            hours: Some("24/7".into()),
            cost: "free".into(),
            verification: "unverified".into(),
            source: "x".into(),
            last_verified: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            notes: None,
            description: Some("Apoio emocional".into()),
            description_lang: Some("pt".into()),
            global: false,
        };
        assert_eq!(
            hub_text(&r),
            "CVV: Apoio emocional\nPhone: 188\nWeb: https://cvv.org.br\nHours: 24/7"
        );
        let item = hub_item(&r);
        assert_eq!(
            item.meta,
            "crisis line · languages: pt · unverified: check before sending"
        );
    }

    #[test]
    fn sentences_and_reasons() {
        assert_eq!(sentence("the case is closed"), "The case is closed.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
        assert!(reason_of("  ").is_err());
        assert!(reason_of(&"x".repeat(MAX_REASON + 1)).is_err());
        assert_eq!(reason_of(" on leave "), Ok("on leave"));
    }
}
