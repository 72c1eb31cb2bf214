//! The audit log (`GET /admin/audit`), for admins only
//! (`concierge_access::can_view_audit`; anyone else gets the admin pages'
//! 404): newest first, 50 a page, keyset-paginated by id, filtered by
//! actor, action and case. Details are shown as JSON text, escaped like
//! everything else on the page.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use concierge_access::can_view_audit;
use concierge_core::ticket::TicketReference;
use concierge_store::{AuditActor, AuditQuery};
use serde::Deserialize;

use super::format::fmt_time;
use super::{PageError, Viewer, page};
use crate::AppState;

/// Records per page.
const PER_PAGE: i64 = 50;
/// Details longer than this are cut on the page.
const MAX_DETAIL: usize = 2000;

/// The query string, as typed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditParams {
    /// An address, or `system`.
    actor: Option<String>,
    /// An action name.
    action: Option<String>,
    /// A case reference.
    case: Option<String>,
    /// Show records older than this id.
    before: Option<String>,
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl AuditParams {
    /// Validates into a store query; the error is a message for the person.
    fn to_query(&self) -> Result<AuditQuery, String> {
        let actor = match present(&self.actor) {
            None => None,
            Some(a) if a.eq_ignore_ascii_case("system") => Some(AuditActor::System),
            Some(a) if a.len() <= 320 && a.contains('@') && !a.contains(char::is_whitespace) => {
                Some(AuditActor::Email(a.to_lowercase()))
            }
            Some(_) => return Err("The actor must be an email address, or system.".into()),
        };
        let action = match present(&self.action) {
            None => None,
            Some(a)
                if a.len() <= 64
                    && a.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    }) =>
            {
                Some(a.to_owned())
            }
            Some(_) => {
                return Err(
                    "The action is a name like case.view (lower-case letters, digits, dots)."
                        .into(),
                );
            }
        };
        let reference = match present(&self.case) {
            None => None,
            Some(c) => Some(
                c.parse::<TicketReference>()
                    .map_err(|_| "The case must be a reference like C-7KQ2XM.".to_owned())?
                    .as_str()
                    .to_owned(),
            ),
        };
        let before = match present(&self.before) {
            None => None,
            Some(b) => match b.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err("The page position is not valid.".into()),
            },
        };
        Ok(AuditQuery {
            actor,
            action,
            reference,
            before,
            limit: PER_PAGE + 1,
        })
    }

    /// A link to the same filter at `before`, percent-encoded.
    fn href(&self, before: Option<i64>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("case", &self.case),
        ] {
            if let Some(v) = present(v) {
                s.append_pair(k, v);
            }
        }
        if let Some(b) = before {
            s.append_pair("before", &b.to_string());
        }
        let qs = s.finish();
        if qs.is_empty() {
            "/admin/audit".to_owned()
        } else {
            format!("/admin/audit?{qs}")
        }
    }
}

struct AuditRow {
    id: i64,
    at: String,
    actor: String,
    action: String,
    reference: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditPage<'a> {
    who: &'a str,
    csrf: &'a str,
    can_audit: bool,
    actor: String,
    action: String,
    case: String,
    rows: Vec<AuditRow>,
    /// Set when this is not the newest page.
    first_href: String,
    next_href: String,
    error: String,
}

/// A record's details as one line of JSON, cut when very long.
fn detail_text(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        v => v.to_string(),
    };
    if s.chars().count() > MAX_DETAIL {
        let mut t: String = s.chars().take(MAX_DETAIL).collect();
        t.push('…');
        t
    } else {
        s
    }
}

/// `GET /admin/audit?actor=&action=&case=&before=`.
pub(crate) async fn show(
    viewer: Viewer,
    State(state): State<AppState>,
    q: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Response, PageError> {
    if !can_view_audit(&viewer.principal) {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "There is no such page.",
        ));
    }
    let Query(params) = q.map_err(|_| PageError::bad_request("The filter is not valid."))?;
    let val = |s: &Option<String>| present(s).unwrap_or_default().to_owned();
    let mut body = AuditPage {
        who: viewer.display(),
        csrf: &viewer.csrf,
        can_audit: true,
        actor: val(&params.actor),
        action: val(&params.action),
        case: val(&params.case),
        rows: Vec::new(),
        first_href: String::new(),
        next_href: String::new(),
        error: String::new(),
    };
    let query = match params.to_query() {
        Ok(q) => q,
        Err(e) => {
            body.error = e;
            return Ok(page(StatusCode::BAD_REQUEST, body.render()));
        }
    };
    let records = state.store.search_audit(&query).await?;
    let more = records.len() as i64 > PER_PAGE;
    body.rows = records
        .into_iter()
        .take(PER_PAGE as usize)
        .map(|r| AuditRow {
            id: r.id,
            at: fmt_time(r.at),
            actor: r.actor_email.unwrap_or_else(|| "system".into()),
            action: r.action,
            reference: r.reference.unwrap_or_default(),
            detail: detail_text(&r.detail),
        })
        .collect();
    if more {
        body.next_href = params.href(body.rows.last().map(|r| r.id));
    }
    if query.before.is_some() {
        body.first_href = params.href(None);
    }
    Ok(page(StatusCode::OK, body.render()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(actor: &str, action: &str, case: &str, before: &str) -> AuditParams {
        let s = |v: &str| Some(v.to_owned());
        AuditParams {
            actor: s(actor),
            action: s(action),
            case: s(case),
            before: s(before),
        }
    }

    #[test]
    fn filters_parse_and_blank_means_any() {
        let q = params(" Ana@Example.org ", "case.view", "C-7KQ2XM", "120")
            .to_query()
            .unwrap();
        assert_eq!(q.actor, Some(AuditActor::Email("ana@example.org".into())));
        assert_eq!(q.action.as_deref(), Some("case.view"));
        assert_eq!(q.reference.as_deref(), Some("C-7KQ2XM"));
        assert_eq!(q.before, Some(120));
        assert_eq!(q.limit, PER_PAGE + 1);
        let q = params("SYSTEM", " ", "", "").to_query().unwrap();
        assert_eq!(q.actor, Some(AuditActor::System));
        assert_eq!((q.action, q.reference, q.before), (None, None, None));
        assert_eq!(AuditParams::default().to_query().unwrap().actor, None);
    }

    #[test]
    fn bad_filters_are_refused() {
        for p in [
            params("robert'); --", "", "", ""),
            params("a b@c.d", "", "", ""),
            params("", "CASE.VIEW", "", ""),
            params("", "case view", "", ""),
            params("", "<script>", "", ""),
            params("", &"a".repeat(65), "", ""),
            params("", "", "C-1", ""),
            params("", "", "<b>", ""),
            params("", "", "", "-3"),
            params("", "", "", "0"),
            params("", "", "", "x"),
        ] {
            assert!(p.to_query().is_err(), "{p:?}");
        }
    }

    #[test]
    fn links_keep_the_filter_encoded() {
        let p = params("a+b@x.org", "case.view", "", "");
        assert_eq!(
            p.href(Some(42)),
            "/admin/audit?actor=a%2Bb%40x.org&action=case.view&before=42"
        );
        assert_eq!(AuditParams::default().href(None), "/admin/audit");
    }

    #[test]
    fn details_are_json_text_and_cut() {
        assert_eq!(detail_text(&serde_json::json!({})), "");
        assert_eq!(
            detail_text(&serde_json::json!({"reference": "<C-1>"})),
            r#"{"reference":"<C-1>"}"#
        );
        let long = detail_text(&serde_json::json!({ "x": "y".repeat(5000) }));
        assert_eq!(long.chars().count(), MAX_DETAIL + 1);
        assert!(long.ends_with('…'));
    }
}
