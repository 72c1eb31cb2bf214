//! The IMAP mailboxes' state (`GET /admin/mailboxes`), for admins only
//! (`concierge_access::can_view_mailboxes`; anyone else gets the admin
//! pages' 404): what `concierge imap status` prints, per configured
//! mailbox — its status ("auth failed", "unreachable", …) with the last
//! error, the process polling it, and how much it has taken.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use concierge_access::can_view_mailboxes;
use concierge_store::MailboxRow;

use super::format::{fmt_time, opt_time};
use super::{PageError, Viewer, page};
use crate::AppState;

/// One mailbox as the page shows it.
struct Shown {
    name: String,
    /// Human words: "idle", "auth failed", "never polled", …
    status: String,
    /// `ok`, `warn` or `bad`: how the status is marked.
    tone: &'static str,
    detail: String,
    since: String,
    last_success: String,
    last_uid: String,
    taken: i64,
    poller: String,
    /// In the database from an earlier configuration, no longer configured.
    configured: bool,
}

fn tone(status: &str) -> &'static str {
    match status {
        "idle" | "polling" => "ok",
        "auth_failed" | "error" => "bad",
        _ => "warn",
    }
}

fn shown(r: &MailboxRow, configured: bool) -> Shown {
    let poller = match (&r.lease_holder, r.lease_expires_at) {
        (Some(h), Some(t)) if t > Utc::now() => h.clone(),
        _ => "none".to_owned(),
    };
    Shown {
        name: r.name.clone(),
        status: r.status.replace('_', " "),
        tone: tone(&r.status),
        detail: r.detail.clone().unwrap_or_default(),
        since: fmt_time(r.status_at),
        last_success: opt_time(r.last_success_at),
        last_uid: match r.uid_validity {
            Some(v) => format!("{} (UIDVALIDITY {v})", r.last_uid),
            None => "-".to_owned(),
        },
        taken: r.imported,
        poller,
        configured,
    }
}

/// Configured mailboxes first (in config order, "never polled" when no
/// process has reached them yet), then rows left from older configurations.
fn rows(configured: &[String], stored: &[MailboxRow]) -> Vec<Shown> {
    let mut out: Vec<Shown> = configured
        .iter()
        .map(|name| match stored.iter().find(|r| &r.name == name) {
            Some(r) => shown(r, true),
            None => Shown {
                name: name.clone(),
                status: "never polled".into(),
                tone: "warn",
                detail: "No serve or worker process has reached this mailbox yet.".into(),
                since: String::new(),
                last_success: String::new(),
                last_uid: "-".into(),
                taken: 0,
                poller: "none".into(),
                configured: true,
            },
        })
        .collect();
    out.extend(
        stored
            .iter()
            .filter(|r| !configured.contains(&r.name))
            .map(|r| shown(r, false)),
    );
    out
}

#[derive(Template)]
#[template(path = "dashboard/admin_mailboxes.html")]
struct MailboxesPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    rows: Vec<Shown>,
}

/// `GET /admin/mailboxes`.
pub(crate) async fn show(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    if !can_view_mailboxes(&viewer.principal) {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "There is no such page.",
        ));
    }
    let stored = state.store.imap_mailboxes().await?;
    let body = MailboxesPage {
        who: viewer.display(),
        csrf: &viewer.csrf,
        section: "mailboxes",
        rows: rows(&state.mailboxes, &stored),
    };
    Ok(page(StatusCode::OK, body.render()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, status: &str) -> MailboxRow {
        MailboxRow {
            name: name.into(),
            status: status.into(),
            detail: Some("login refused for a@x: AUTHENTICATIONFAILED".into()),
            status_at: Utc::now(),
            last_success_at: None,
            uid_validity: Some(7),
            last_uid: 42,
            imported: 40,
            lease_holder: Some("host:1".into()),
            lease_expires_at: Some(Utc::now() + chrono::Duration::seconds(60)),
        }
    }

    #[test]
    fn configured_first_then_leftovers_with_words_and_tones() {
        let configured = vec!["global".to_owned(), "new".to_owned()];
        let stored = vec![row("old", "idle"), row("global", "auth_failed")];
        let r = rows(&configured, &stored);
        let names: Vec<&str> = r.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["global", "new", "old"]);
        assert_eq!((r[0].status.as_str(), r[0].tone), ("auth failed", "bad"));
        assert_eq!(r[0].last_uid, "42 (UIDVALIDITY 7)");
        assert_eq!(r[0].poller, "host:1");
        assert_eq!((r[1].status.as_str(), r[1].tone), ("never polled", "warn"));
        assert!(!r[2].configured && r[2].tone == "ok");
    }
}
