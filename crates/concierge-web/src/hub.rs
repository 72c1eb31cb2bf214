//! The public resource hub: `GET /hub` (countries) and `GET /hub/{country}`
//! (that country's lines and organisations, then the international ones).
//!
//! Read-only and without login: people in crisis land here from our mails.
//! HTML from askama templates (autoescaped), no external resources, and a
//! strict Content-Security-Policy.

mod labels;

use askama::Template;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use concierge_core::country::{CountryCode, country_name};
use concierge_store::{Resource, StoreError};
use serde::Deserialize;

use self::labels::{Labels, endonym, labels};
use crate::{ApiError, AppState};

/// Query string of the hub pages.
#[derive(Debug, Deserialize)]
pub(crate) struct HubQuery {
    lang: Option<String>,
}

/// An uppercase ISO 3166-1 alpha-2 code from user input (any case), or why
/// not: the shape only; whether we list the country is another matter.
pub(crate) fn parse_country(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(s.to_ascii_uppercase())
    } else {
        Err("country must be an ISO 3166 alpha-2 code")
    }
}

/// A lowercase ISO 639 code from user input (`pt`, `pt-BR`, `PT`); `None`
/// when empty.
pub(crate) fn parse_lang(s: Option<&str>) -> Result<Option<String>, &'static str> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let primary = s.split(['-', '_']).next().unwrap_or_default();
    if (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(Some(primary.to_ascii_lowercase()))
    } else {
        Err("lang must be an ISO 639 language code")
    }
}

/// A link with its text.
struct Link {
    text: String,
    href: String,
}

/// A language the page can be read in.
struct LangLink {
    code: String,
    name: String,
    href: String,
    current: bool,
}

struct CountryLink {
    name: String,
    code: String,
    href: String,
}

/// One entry, ready to show: empty strings are left out.
struct EntryView {
    name: String,
    description: String,
    /// Set when the description is not in the page's language.
    description_lang: String,
    phones: Vec<Link>,
    sms: Vec<Link>,
    chat: Option<Link>,
    web: Option<Link>,
    email: Option<Link>,
    hours: String,
    cost: String,
    source: String,
    last_verified: String,
    /// Set when not sourced.
    status: String,
    /// Shown when not sourced.
    notes: String,
}

struct Section {
    title: &'static str,
    entries: Vec<EntryView>,
}

#[derive(Template)]
#[template(path = "hub/index.html")]
struct IndexPage {
    t: &'static Labels,
    langs: Vec<LangLink>,
    countries: Vec<CountryLink>,
}

#[derive(Template)]
#[template(path = "hub/country.html")]
struct CountryPage {
    t: &'static Labels,
    langs: Vec<LangLink>,
    index_href: String,
    country: String,
    sections: Vec<Section>,
}

#[derive(Template)]
#[template(path = "hub/error.html")]
struct ErrorPage {
    t: &'static Labels,
    langs: Vec<LangLink>,
    message: &'static str,
    index_href: String,
}

/// A hub page failure, shown as an HTML page in the reader's language.
pub(crate) struct PageError {
    status: StatusCode,
    t: &'static Labels,
    message: &'static str,
    lang: Option<String>,
}

impl PageError {
    fn new(status: StatusCode, t: &'static Labels, message: &'static str) -> Self {
        Self {
            status,
            t,
            message,
            lang: None,
        }
    }

    fn bad_request(t: &'static Labels) -> Self {
        Self::new(StatusCode::BAD_REQUEST, t, t.bad_request)
    }

    fn store(t: &'static Labels, lang: Option<&str>) -> impl FnOnce(StoreError) -> Self {
        move |e| {
            // Logged (and classified) the way the API does it.
            let (status, message) = match ApiError::from(e) {
                ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, t.unavailable),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, t.unavailable),
            };
            Self {
                status,
                t,
                message,
                lang: lang.map(str::to_owned),
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            t: self.t,
            langs: Vec::new(),
            message: self.message,
            index_href: href("/hub", self.lang.as_deref()),
        };
        let mut res = html(self.status, page.render());
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        res
    }
}

/// The security headers of every hub page.
fn html(status: StatusCode, body: askama::Result<String>) -> Response {
    let mut res = match body {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a hub page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// `path?lang=…` (codes are validated, so nothing needs encoding).
fn href(path: &str, lang: Option<&str>) -> String {
    match lang {
        Some(l) => format!("{path}?lang={l}"),
        None => path.to_owned(),
    }
}

fn lang_links(path: &str, langs: &[String], current: &str) -> Vec<LangLink> {
    let mut codes: Vec<&str> = vec!["en"];
    for l in langs {
        if !codes.contains(&l.as_str()) {
            codes.push(l);
        }
    }
    if !codes.contains(&current) {
        codes.push(current);
    }
    codes
        .into_iter()
        .map(|c| LangLink {
            code: c.to_owned(),
            name: endonym(c).unwrap_or(c).to_owned(),
            href: href(path, Some(c)),
            current: c == current,
        })
        .collect()
}

/// The lang query and the labels for it, or a 400 page.
fn lang_of(q: Result<Query<HubQuery>, QueryRejection>) -> Result<Option<String>, PageError> {
    let en = labels("en");
    let Query(q) = q.map_err(|_| PageError::bad_request(en))?;
    parse_lang(q.lang.as_deref()).map_err(|_| PageError::bad_request(en))
}

/// `GET /hub`: the countries we list.
pub(crate) async fn index(
    State(state): State<AppState>,
    q: Result<Query<HubQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let lang = lang_of(q)?;
    let t = labels(lang.as_deref().unwrap_or("en"));
    let rows = state
        .store
        .resource_countries()
        .await
        .map_err(PageError::store(t, lang.as_deref()))?;
    let mut countries: Vec<CountryLink> = rows
        .into_iter()
        .map(|r| {
            let name = r
                .country
                .parse::<CountryCode>()
                .map(country_name)
                .unwrap_or_default();
            CountryLink {
                name: display_name(name, &r.country),
                href: href(&format!("/hub/{}", r.country), lang.as_deref()),
                code: r.country,
            }
        })
        .collect();
    countries.sort_by(|a, b| a.name.cmp(&b.name));
    let all: Vec<String> = labels::LANGS.iter().map(|l| (*l).to_owned()).collect();
    let langs = lang_links("/hub", &all, t.lang);
    let page = IndexPage {
        t,
        langs,
        countries,
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// celes's long names without a leading "The ", or the code.
pub(crate) fn display_name(name: &str, code: &str) -> String {
    let name = name.strip_prefix("The ").unwrap_or(name);
    if name.is_empty() {
        code.to_owned()
    } else {
        name.to_owned()
    }
}

/// `GET /hub/{country}?lang=`: the country's lines and organisations.
pub(crate) async fn country(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<HubQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let asked = lang_of(q)?;
    let t0 = labels(asked.as_deref().unwrap_or("en"));
    let Path(raw) = path.map_err(|_| PageError::bad_request(t0))?;
    let code = parse_country(&raw).map_err(|_| PageError::bad_request(t0))?;
    let not_found = |message| PageError {
        status: StatusCode::NOT_FOUND,
        t: t0,
        message,
        lang: asked.clone(),
    };
    let Ok(cc) = code.parse::<CountryCode>() else {
        return Err(not_found(t0.unknown_country));
    };
    let store = &state.store;
    let mut items = store
        .resources_for(Some(&code), asked.as_deref())
        .await
        .map_err(PageError::store(t0, asked.as_deref()))?;
    let Some(first) = items.iter().find(|r| !r.global) else {
        return Err(not_found(t0.not_found));
    };
    // Without ?lang=, the language of the country's first entry.
    let lang = match &asked {
        Some(l) => l.clone(),
        None => first
            .languages
            .first()
            .cloned()
            .unwrap_or_else(|| "en".into()),
    };
    if asked.is_none() && lang != "en" {
        items = store
            .resources_for(Some(&code), Some(&lang))
            .await
            .map_err(PageError::store(t0, None))?;
    }
    let t = labels(&lang);
    let mut own_langs: Vec<String> = Vec::new();
    for r in items.iter().filter(|r| !r.global) {
        for l in &r.languages {
            if !own_langs.contains(l) {
                own_langs.push(l.clone());
            }
        }
    }
    let path = format!("/hub/{code}");
    let langs = lang_links(&path, &own_langs, &lang);
    let mut crisis = Vec::new();
    let mut other = Vec::new();
    let mut global = Vec::new();
    for r in items {
        let target = if r.global {
            &mut global
        } else if r.is_crisis_line() {
            &mut crisis
        } else {
            &mut other
        };
        target.push(entry_view(r, t));
    }
    let sections = [
        (t.crisis_lines, crisis),
        (t.other_support, other),
        (t.international, global),
    ]
    .into_iter()
    .filter(|(_, e)| !e.is_empty())
    .map(|(title, entries)| Section { title, entries })
    .collect();
    let page = CountryPage {
        t,
        langs,
        index_href: href("/hub", Some(&lang)),
        country: display_name(country_name(cc), &code),
        sections,
    };
    Ok(html(StatusCode::OK, page.render()))
}

fn digits(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// A link for an http(s) URL; anything else is not linked.
fn url_link(url: Option<String>) -> Option<Link> {
    let url = url?;
    let text = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?
        .trim_end_matches('/')
        .to_owned();
    Some(Link { text, href: url })
}

fn entry_view(r: Resource, t: &'static Labels) -> EntryView {
    let sourced = r.is_sourced();
    let chat = url_link(r.chat);
    let web = url_link(r.web).filter(|w| chat.as_ref().is_none_or(|c| c.href != w.href));
    EntryView {
        name: r.name,
        description: r.description.unwrap_or_default(),
        description_lang: r
            .description_lang
            .filter(|l| l != t.lang)
            .unwrap_or_default(),
        phones: r
            .phone
            .into_iter()
            .map(|p| Link {
                href: format!("tel:{}", digits(&p)),
                text: p,
            })
            .collect(),
        sms: r
            .sms
            .into_iter()
            .map(|p| Link {
                href: format!("sms:{}", digits(&p)),
                text: p,
            })
            .collect(),
        chat,
        web,
        email: r
            .email
            .filter(|e| e.contains('@') && !e.contains(char::is_whitespace))
            .map(|e| Link {
                href: format!("mailto:{e}"),
                text: e,
            }),
        hours: r.hours.unwrap_or_default(),
        cost: match r.cost.as_str() {
            "free" => t.free.to_owned(),
            "unknown" | "" => String::new(),
            other => other.to_owned(),
        },
        source: r.source,
        last_verified: r.last_verified.format("%Y-%m-%d").to_string(),
        status: match r.verification.as_str() {
            "sourced" => "",
            "conflicting" => t.conflicting,
            _ => t.unverified,
        }
        .to_owned(),
        notes: if sourced {
            String::new()
        } else {
            r.notes.unwrap_or_default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_and_lang_inputs() {
        assert_eq!(parse_country("br").unwrap(), "BR");
        assert_eq!(parse_country("BR").unwrap(), "BR");
        assert!(parse_country("BRA").is_err());
        assert!(parse_country("B1").is_err());
        assert!(parse_country("*").is_err());
        assert_eq!(parse_lang(Some("pt-BR")).unwrap().as_deref(), Some("pt"));
        assert_eq!(parse_lang(Some("PT")).unwrap().as_deref(), Some("pt"));
        assert_eq!(parse_lang(Some("")).unwrap(), None);
        assert_eq!(parse_lang(None).unwrap(), None);
        assert!(parse_lang(Some("<script>")).is_err());
        assert!(parse_lang(Some("p")).is_err());
    }

    #[test]
    fn only_web_urls_become_links() {
        assert!(url_link(Some("javascript:alert(1)".into())).is_none());
        let l = url_link(Some("https://cvv.org.br/".into())).unwrap();
        assert_eq!(
            (l.text.as_str(), l.href.as_str()),
            ("cvv.org.br", "https://cvv.org.br/")
        );
        assert_eq!(digits("1-800-687-4227"), "18006874227");
        assert_eq!(digits("+44 116 123"), "+44116123");
    }

    #[test]
    fn every_label_set_is_complete() {
        for l in labels::LANGS {
            let t = labels(l);
            assert_eq!(t.lang, l);
            assert!(endonym(l).is_some());
        }
        assert_eq!(labels("xx").lang, "en");
    }
}
