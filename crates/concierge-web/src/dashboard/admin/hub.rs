//! `/admin/hub`: the resource hub's entries. An entry changed here is no
//! longer touched by `concierge hub import` until an admin returns it to
//! the file (see `concierge_store` `hub_admin`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use concierge_store::{HubEditError, HubEntryRow};
use serde::Deserialize;
use serde_json::json;

use super::{NoticeQuery, Opt, audited, comma_list, list, notice, opts, require_hub};
use crate::AppState;
use crate::dashboard::form::{CsrfForm, TokenOnly};
use crate::dashboard::format::fmt_time;
use crate::dashboard::{PageError, Viewer, page};

struct HubRow {
    id: String,
    name: String,
    kind: String,
    countries: String,
    phone: String,
    active: bool,
    edited: String,
}

#[derive(Template)]
#[template(path = "dashboard/admin_hub.html")]
struct HubPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    notice: &'a str,
    country_options: Vec<Opt>,
    rows: Vec<HubRow>,
}

fn edited_note(e: &HubEntryRow) -> String {
    match e.edited_at {
        Some(t) => format!(
            "changed in the dashboard by {} on {}",
            e.edited_by.as_deref().unwrap_or("an admin"),
            fmt_time(t)
        ),
        None => String::new(),
    }
}

/// `GET /admin/hub?country=XX`: every entry, active or not.
pub(crate) async fn hub(
    viewer: Viewer,
    State(state): State<AppState>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let (notice, country) = notice(q);
    let country = match country {
        None => None,
        Some(c) if c.trim() == "*" => Some("*".to_owned()),
        Some(c) => Some(
            crate::hub::parse_country(&c)
                .map_err(|_| PageError::bad_request("Unknown country code."))?,
        ),
    };
    let all = state.store.list_hub_entries(None).await?;
    let mut codes: Vec<String> = all.iter().flat_map(|e| e.countries.clone()).collect();
    codes.sort_by(|a, b| (a == "*", a).cmp(&(b == "*", b)));
    codes.dedup();
    let current = country.clone().unwrap_or_default();
    let mut country_options = vec![Opt {
        value: String::new(),
        label: "All countries".into(),
        selected: current.is_empty(),
    }];
    country_options.extend(codes.iter().map(|c| Opt {
        value: c.clone(),
        label: if c == "*" {
            "* (global)".into()
        } else {
            c.clone()
        },
        selected: *c == current,
    }));
    let rows = all
        .into_iter()
        .filter(|e| country.as_ref().is_none_or(|c| e.countries.contains(c)))
        .map(|e| HubRow {
            edited: edited_note(&e),
            id: e.id,
            name: e.name,
            kind: e.kind.replace('_', " "),
            countries: e.countries.join(", "),
            phone: e.phone.join(", "),
            active: e.active,
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        HubPage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "hub",
            notice: &notice,
            country_options,
            rows,
        }
        .render(),
    ))
}

/// The entry form's fields, as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct EntryForm {
    id: String,
    name: String,
    kind: String,
    countries: String,
    languages: String,
    phone: String,
    sms: String,
    chat: String,
    web: String,
    email: String,
    hours: String,
    cost: String,
    verification: String,
    source: String,
    last_verified: String,
    notes: String,
    /// One `language: text` per line.
    descriptions: String,
}

impl EntryForm {
    fn from_row(e: &HubEntryRow) -> Self {
        Self {
            id: e.id.clone(),
            name: e.name.clone(),
            kind: e.kind.clone(),
            countries: e.countries.join(", "),
            languages: e.languages.join(", "),
            phone: e.phone.join(", "),
            sms: e.sms.join(", "),
            chat: e.chat.clone().unwrap_or_default(),
            web: e.web.clone().unwrap_or_default(),
            email: e.email.clone().unwrap_or_default(),
            hours: e.hours.clone().unwrap_or_default(),
            cost: e.cost.clone(),
            verification: e.verification.clone(),
            source: e.source.clone(),
            last_verified: e.last_verified.to_string(),
            notes: e.notes.clone().unwrap_or_default(),
            descriptions: e
                .descriptions
                .iter()
                .map(|(l, t)| format!("{l}: {t}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// Validated by the hub file's own rules (`concierge_hub::check_draft`).
    fn entry(&self, id: &str) -> Result<concierge_hub::Entry, Vec<String>> {
        let mut problems = Vec::new();
        let mut description = std::collections::BTreeMap::new();
        for line in self
            .descriptions
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            match line.split_once(':') {
                Some((lang, text)) => {
                    let lang = lang.trim().to_ascii_lowercase();
                    if description
                        .insert(lang.clone(), text.trim().to_owned())
                        .is_some()
                    {
                        problems.push(format!("description {lang:?} is given twice"));
                    }
                }
                None => problems.push(format!(
                    "description line {:?} must be `language: text`, e.g. `en: A free line.`",
                    line.chars().take(40).collect::<String>()
                )),
            }
        }
        let draft = concierge_hub::Draft {
            id: id.trim().to_owned(),
            name: self.name.clone(),
            kind: self.kind.trim().to_owned(),
            countries: list(&self.countries)
                .into_iter()
                .map(|c| c.to_ascii_uppercase())
                .collect(),
            languages: list(&self.languages)
                .into_iter()
                .map(|l| l.to_ascii_lowercase())
                .collect(),
            phone: comma_list(&self.phone),
            sms: comma_list(&self.sms),
            chat: self.chat.trim().to_owned(),
            web: self.web.trim().to_owned(),
            email: self.email.trim().to_owned(),
            hours: self.hours.trim().to_owned(),
            cost: self.cost.trim().to_owned(),
            verification: self.verification.trim().to_owned(),
            source: self.source.clone(),
            last_verified: self.last_verified.clone(),
            notes: self.notes.clone(),
            description,
        };
        match concierge_hub::check_draft(draft) {
            Ok(e) if problems.is_empty() => Ok(e),
            Ok(_) => Err(problems),
            Err(mut p) => {
                problems.append(&mut p);
                Err(problems)
            }
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/admin_hub_entry.html")]
struct HubEntryPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    create: bool,
    action: String,
    errors: Vec<String>,
    edited: String,
    active: bool,
    v: EntryForm,
    kinds: Vec<Opt>,
    verifications: Vec<Opt>,
}

fn entry_page(
    viewer: &Viewer,
    status: StatusCode,
    create: bool,
    v: EntryForm,
    errors: Vec<String>,
    edited: String,
    active: bool,
) -> Response {
    let action = if create {
        "/admin/hub/new".to_owned()
    } else {
        format!("/admin/hub/entry/{}", v.id)
    };
    let kinds = opts(
        concierge_hub::Kind::ALL.map(concierge_hub::Kind::as_str),
        &v.kind,
    );
    let verifications = opts(
        ["sourced", "unverified", "conflicting"],
        if v.verification.is_empty() {
            "unverified"
        } else {
            &v.verification
        },
    );
    page(
        status,
        HubEntryPage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "hub",
            create,
            action,
            errors,
            edited,
            active,
            v,
            kinds,
            verifications,
        }
        .render(),
    )
}

fn no_entry() -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "There is no such hub entry.")
}

fn hub_error(e: HubEditError) -> PageError {
    match e {
        HubEditError::NotFound => no_entry(),
        HubEditError::Exists => PageError::new(
            StatusCode::CONFLICT,
            "An entry with this id exists: choose another id.",
        ),
        HubEditError::Store(s) => s.into(),
    }
}

/// `GET /admin/hub/new`.
pub(crate) async fn hub_new_form(viewer: Viewer) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let v = EntryForm {
        last_verified: Utc::now().format("%Y-%m-%d").to_string(),
        cost: "unknown".into(),
        ..EntryForm::default()
    };
    Ok(entry_page(
        &viewer,
        StatusCode::OK,
        true,
        v,
        Vec::new(),
        String::new(),
        true,
    ))
}

/// `POST /admin/hub/new`.
pub(crate) async fn hub_create(
    viewer: Viewer,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let entry = match f.entry(&f.id) {
        Ok(e) => e,
        Err(problems) => {
            return Ok(entry_page(
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                true,
                f,
                problems,
                String::new(),
                true,
            ));
        }
    };
    match state
        .store
        .save_hub_entry(&entry, viewer.principal.user_id, true)
        .await
    {
        Ok(()) => {}
        Err(HubEditError::Exists) => {
            return Ok(entry_page(
                &viewer,
                StatusCode::CONFLICT,
                true,
                f,
                vec!["an entry with this id exists: choose another id".into()],
                String::new(),
                true,
            ));
        }
        Err(e) => return Err(hub_error(e)),
    }
    audited(
        &state,
        &viewer,
        "hub.entry.add",
        json!({ "entry": entry.id, "name": entry.name, "countries": entry.countries }),
        "/admin/hub?notice=added",
    )
    .await
}

/// `GET /admin/hub/entry/{id}`: the edit form.
pub(crate) async fn hub_edit_form(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let e = state.store.hub_entry(&id).await?.ok_or_else(no_entry)?;
    Ok(entry_page(
        &viewer,
        StatusCode::OK,
        false,
        EntryForm::from_row(&e),
        Vec::new(),
        edited_note(&e),
        e.active,
    ))
}

/// `POST /admin/hub/entry/{id}`: saves; from now on the file import leaves
/// the entry alone.
pub(crate) async fn hub_update(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(mut f): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let current = state.store.hub_entry(&id).await?.ok_or_else(no_entry)?;
    // The id is the path's: an entry is never renamed.
    f.id = current.id.clone();
    let entry = match f.entry(&current.id) {
        Ok(e) => e,
        Err(problems) => {
            return Ok(entry_page(
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
                f,
                problems,
                edited_note(&current),
                current.active,
            ));
        }
    };
    state
        .store
        .save_hub_entry(&entry, viewer.principal.user_id, false)
        .await
        .map_err(hub_error)?;
    audited(
        &state,
        &viewer,
        "hub.entry.edit",
        json!({ "entry": entry.id, "before": current, "after": {
            "name": entry.name, "kind": entry.kind.as_str(), "countries": entry.countries,
            "languages": entry.languages, "phone": entry.phone, "sms": entry.sms,
            "chat": entry.chat, "web": entry.web, "email": entry.email, "hours": entry.hours,
            "cost": entry.cost, "verification": entry.verification.as_str(),
            "source": entry.source, "last_verified": entry.last_verified.to_string(),
            "notes": entry.notes, "description": entry.description,
        }}),
        "/admin/hub?notice=saved",
    )
    .await
}

/// What the flag forms of an entry do.
#[derive(Clone, Copy)]
enum Flag {
    /// Hidden from the public hub.
    Disable,
    /// Shown again.
    Enable,
    /// Back under the file's control.
    Release,
}

impl Flag {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "disable" => Some(Self::Disable),
            "enable" => Some(Self::Enable),
            "release" => Some(Self::Release),
            _ => None,
        }
    }

    /// The audit action and where the admin is sent afterwards.
    fn action_and_location(self) -> (&'static str, &'static str) {
        match self {
            Self::Disable => ("hub.entry.disable", "/admin/hub?notice=hidden"),
            Self::Enable => ("hub.entry.enable", "/admin/hub?notice=shown"),
            Self::Release => ("hub.entry.release", "/admin/hub?notice=released"),
        }
    }
}

/// `POST /admin/hub/entry/{id}/disable|enable|release`: hides the entry
/// from the public hub, shows it again, or returns it to the file's
/// control; audited as `hub.entry.{flag}`.
pub(crate) async fn hub_flag(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((id, flag)): Path<(String, String)>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    require_hub(&viewer)?;
    let flag = Flag::parse(&flag).ok_or_else(super::denied)?;
    let store = &state.store;
    let actor = viewer.principal.user_id;
    match flag {
        Flag::Disable => store.set_hub_entry_active(&id, false, actor).await,
        Flag::Enable => store.set_hub_entry_active(&id, true, actor).await,
        Flag::Release => store.release_hub_entry(&id).await,
    }
    .map_err(hub_error)?;
    let (action, location) = flag.action_and_location();
    audited(&state, &viewer, action, json!({ "entry": id }), location).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_descriptions_are_parsed_and_checked() {
        let f = EntryForm {
            name: "Line".into(),
            kind: "crisis_line".into(),
            countries: "de".into(),
            languages: "DE".into(),
            phone: "0800 111 0 111".into(),
            verification: "sourced".into(),
            source: "a source".into(),
            last_verified: "2026-11-25".into(),
            descriptions: "en: A line.\nde: Eine Leitung.\n".into(),
            ..EntryForm::default()
        };
        let e = f.entry("de-line").unwrap();
        assert_eq!(e.countries, vec!["DE"]);
        assert_eq!(e.languages, vec!["de"]);
        assert_eq!(e.description.get("de").unwrap(), "Eine Leitung.");
        let bad = EntryForm {
            descriptions: "A line without a language\nen: x\nen: y".into(),
            ..f.clone()
        };
        let problems = bad.entry("de-line").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(f.entry("Bad Id").is_err());
    }
}
