//! `/admin/privacy`: an administrator answers a person's subject access
//! request (download their export) and erasure request (typed
//! confirmation), and puts cases under legal hold. The same operations as
//! `concierge privacy`; the store audits each. The person's address travels
//! only in POST bodies, never in a URL (so never in access logs or
//! history).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use concierge_core::privacy::erasure_confirmed;
use concierge_store::{EraseError, Erased};
use serde::Deserialize;

use super::{NoticeQuery, notice, require_people};
use crate::AppState;
use crate::dashboard::form::CsrfForm;
use crate::dashboard::{PageError, Viewer, page, see_other};
use crate::download::attachment_response;

/// Longest address or reason accepted from the forms.
const MAX_FIELD: usize = 500;

/// What the page shows about the person looked up.
struct Found {
    email: String,
    /// (what, how many) rows an erasure would remove.
    rows: Vec<(&'static str, i64)>,
    /// (reference, reason) of cases under legal hold.
    held: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "dashboard/admin_privacy.html")]
struct PrivacyPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    notice: &'a str,
    error: &'a str,
    asked: &'a str,
    found: Option<Found>,
}

fn rows(n: &Erased) -> Vec<(&'static str, i64)> {
    [
        ("cases", n.cases),
        ("messages and notes", n.messages),
        ("original messages (MIME)", n.raw_messages),
        ("attachments", n.attachments),
        ("outgoing mails", n.outbox),
        ("background jobs", n.jobs),
        ("notifications", n.notifications),
        ("assignments", n.assignments),
        ("audit entries to redact", n.audit_entries),
        ("read markers", n.read_markers),
        ("requester records", n.requesters),
    ]
    .into_iter()
    .filter(|(_, v)| *v > 0)
    .collect()
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    notice: &str,
    error: &str,
    asked: &str,
) -> Result<Response, PageError> {
    let found = if asked.is_empty() {
        None
    } else {
        match state
            .store
            .erase_person(asked, Some(viewer.principal.user_id), true)
            .await
        {
            Ok(n) => Some(Found {
                email: asked.to_owned(),
                rows: rows(&n),
                held: Vec::new(),
            }),
            Err(EraseError::LegalHold(held)) => Some(Found {
                email: asked.to_owned(),
                rows: Vec::new(),
                held,
            }),
            Err(EraseError::NotFound) => None,
            Err(EraseError::Store(e)) => return Err(e.into()),
        }
    };
    let error = if !asked.is_empty() && found.is_none() && error.is_empty() {
        "Nothing is held about that address."
    } else {
        error
    };
    Ok(page(
        status,
        PrivacyPage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "privacy",
            notice,
            error,
            asked,
            found,
        }
        .render(),
    ))
}

/// `GET /admin/privacy`.
pub(crate) async fn privacy(
    viewer: Viewer,
    State(state): State<AppState>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let (notice, _) = notice(q);
    render(&state, &viewer, StatusCode::OK, &notice, "", "").await
}

/// Body of the privacy forms.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PersonForm {
    email: String,
    /// The address typed again (erasure).
    confirm: String,
    /// A case reference (legal hold).
    reference: String,
    /// Why the case is held.
    reason: String,
}

fn bounded(f: &PersonForm) -> Result<(), PageError> {
    if [&f.email, &f.confirm, &f.reference, &f.reason]
        .iter()
        .any(|s| s.len() > MAX_FIELD)
    {
        return Err(PageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "A field is too long.",
        ));
    }
    Ok(())
}

/// `POST /admin/privacy/find`: what is held about an address.
pub(crate) async fn find(
    viewer: Viewer,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<PersonForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    bounded(&f)?;
    let email = f.email.trim();
    if email.is_empty() {
        return render(
            &state,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            "Give an address.",
            "",
        )
        .await;
    }
    render(&state, &viewer, StatusCode::OK, "", "", email).await
}

/// `POST /admin/privacy/export`: the person's subject access export as a
/// zip download (audited by the store).
pub(crate) async fn export(
    viewer: Viewer,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<PersonForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    bounded(&f)?;
    let Some(export) = state
        .store
        .export_person(f.email.trim(), Some(viewer.principal.user_id))
        .await?
    else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Nothing is held about that address.",
        ));
    };
    let now = chrono::Utc::now();
    let mut zip = std::io::Cursor::new(Vec::new());
    concierge_privacy::write_zip(&export, &now.to_rfc3339(), &mut zip).map_err(|e| {
        tracing::error!(error = %e, "writing a subject access export");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The export could not be written; nothing was sent.",
        )
    })?;
    Ok(attachment_response(
        &format!("concierge-export-{}.zip", now.format("%Y%m%dT%H%M%SZ")),
        zip.into_inner(),
    ))
}

/// `POST /admin/privacy/erase`: erases the person, once the address is
/// typed again.
pub(crate) async fn erase(
    viewer: Viewer,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<PersonForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    bounded(&f)?;
    let email = f.email.trim();
    if !erasure_confirmed(&f.confirm, email) {
        return render(
            &state,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            "Type the address exactly to confirm the erasure. Nothing was erased.",
            email,
        )
        .await;
    }
    match state
        .store
        .erase_person(email, Some(viewer.principal.user_id), false)
        .await
    {
        Ok(_) => Ok(see_other("/admin/privacy?notice=erased")),
        Err(EraseError::LegalHold(_)) => {
            render(
                &state,
                &viewer,
                StatusCode::CONFLICT,
                "",
                "Not erased: a case is under legal hold. Release the hold first if it has ended.",
                email,
            )
            .await
        }
        Err(EraseError::NotFound) => {
            render(&state, &viewer, StatusCode::NOT_FOUND, "", "", email).await
        }
        Err(EraseError::Store(e)) => Err(e.into()),
    }
}

/// `POST /admin/privacy/hold`: puts a case under legal hold, or releases
/// it when the reason is empty.
pub(crate) async fn hold(
    viewer: Viewer,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<PersonForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    bounded(&f)?;
    let reference = f.reference.trim().to_ascii_uppercase();
    let Some(t) = state.store.ticket_detail(&reference).await? else {
        return render(
            &state,
            &viewer,
            StatusCode::NOT_FOUND,
            "",
            "There is no case with that reference.",
            "",
        )
        .await;
    };
    let reason = f.reason.trim();
    let reason = (!reason.is_empty()).then_some(reason);
    state
        .store
        .set_legal_hold(t.ticket.id, reason, Some(viewer.principal.user_id))
        .await?;
    Ok(see_other(if reason.is_some() {
        "/admin/privacy?notice=held"
    } else {
        "/admin/privacy?notice=unheld"
    }))
}
