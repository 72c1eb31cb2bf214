//! The case-list query string, shared by the dashboard queue (`GET /`) and
//! `GET /api/v1/tickets`: parsed and validated once into a
//! [`concierge_store::CaseQuery`], so both doors filter identically.

use concierge_core::ticket::{Priority, TicketStatus};
use concierge_store::{AssigneeFilter, CaseQuery, CaseSort, Cursor, MAX_QUERY_BYTES, StatusFilter};
use serde::Deserialize;
use uuid::Uuid;

use crate::hub::{parse_country, parse_lang};

/// Raw query-string fields (all optional, all strings: validated below so
/// that every mistake gets its own message).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct CaseFilterParams {
    /// A status name, or `open`.
    pub status: Option<String>,
    /// ISO 3166 alpha-2.
    pub country: Option<String>,
    /// An assignee's address, `none`, or `me` (the viewer's own cases).
    pub assignee: Option<String>,
    /// A priority name.
    pub priority: Option<String>,
    /// ISO 639-1.
    pub language: Option<String>,
    /// `1`/`true`/`on`: breached cases only.
    pub breached: Option<String>,
    /// Free text.
    pub q: Option<String>,
    /// updated, oldest, created or due.
    pub sort: Option<String>,
    /// Cursor of the page to show (from the previous page's `next`).
    pub after: Option<String>,
    /// Rows per page.
    pub per_page: Option<u32>,
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl CaseFilterParams {
    /// Validates into a store query; `me` is the viewer's volunteer record
    /// (for `assignee=me`). The error is a message for the person.
    pub(crate) fn to_query(
        &self,
        me: Option<Uuid>,
        default_per_page: u32,
    ) -> Result<CaseQuery, String> {
        let status = match present(&self.status) {
            None => None,
            Some("open") => Some(StatusFilter::Open),
            Some(s) => Some(StatusFilter::Is(
                s.parse::<TicketStatus>()
                    .map_err(|e| e.to_string())?
                    .as_str(),
            )),
        };
        let country = present(&self.country)
            .map(parse_country)
            .transpose()
            .map_err(str::to_owned)?;
        let assignee = match present(&self.assignee) {
            None => None,
            Some(a) if a.eq_ignore_ascii_case("none") => Some(AssigneeFilter::Unassigned),
            Some(a) if a.eq_ignore_ascii_case("me") => match me {
                Some(m) => Some(AssigneeFilter::Volunteer(m)),
                None => return Err("assignee=me needs a volunteer record".into()),
            },
            Some(a) if a.len() <= 320 && a.contains('@') => {
                Some(AssigneeFilter::Email(a.to_lowercase()))
            }
            Some(_) => return Err("assignee must be an address, none or me".into()),
        };
        let priority = present(&self.priority)
            .map(|p| p.parse::<Priority>().map(Priority::as_str))
            .transpose()
            .map_err(|e| e.to_string())?;
        let language = parse_lang(self.language.as_deref()).map_err(str::to_owned)?;
        let breached = match present(&self.breached) {
            None | Some("0" | "false" | "off") => false,
            Some("1" | "true" | "on") => true,
            Some(_) => return Err("breached must be 1 or 0".into()),
        };
        let q = present(&self.q).map(str::to_owned);
        if q.as_ref().is_some_and(|q| q.len() > MAX_QUERY_BYTES) {
            return Err(format!("the search is longer than {MAX_QUERY_BYTES} bytes"));
        }
        let sort = present(&self.sort)
            .map(str::parse::<CaseSort>)
            .transpose()
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let after = present(&self.after)
            .map(str::parse::<Cursor>)
            .transpose()
            .map_err(|e| e.to_string())?;
        let limit = match self.per_page {
            None => default_per_page,
            Some(n @ 1..=200) => n,
            Some(_) => return Err("per_page must be between 1 and 200".into()),
        };
        Ok(CaseQuery {
            status,
            country,
            assignee,
            priority,
            language,
            breached,
            pinned: false,
            q,
            sort,
            after,
            limit,
        })
    }

    /// The query string of the same filter at another page (`after`), for
    /// links; every value is percent-encoded.
    pub(crate) fn href(&self, base: &str, after: Option<&str>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("country", &self.country),
            ("assignee", &self.assignee),
            ("priority", &self.priority),
            ("language", &self.language),
            ("breached", &self.breached),
            ("q", &self.q),
            ("sort", &self.sort),
        ] {
            if let Some(v) = present(v) {
                s.append_pair(k, v);
            }
        }
        if let Some(n) = self.per_page {
            s.append_pair("per_page", &n.to_string());
        }
        if let Some(a) = after {
            s.append_pair("after", a);
        }
        let qs = s.finish();
        if qs.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{qs}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> CaseFilterParams {
        let qs = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        serde_urlencoded::from_str(&qs).unwrap()
    }

    #[test]
    fn valid_filters_parse() {
        let q = params(&[
            ("status", "open"),
            ("country", "br"),
            ("assignee", "me"),
            ("priority", "urgent"),
            ("language", "pt-BR"),
            ("breached", "1"),
            ("q", "  insônia  "),
            ("sort", "due"),
        ])
        .to_query(Some(Uuid::from_u128(9)), 50)
        .unwrap();
        assert_eq!(q.status, Some(StatusFilter::Open));
        assert_eq!(q.country.as_deref(), Some("BR"));
        assert_eq!(
            q.assignee,
            Some(AssigneeFilter::Volunteer(Uuid::from_u128(9)))
        );
        assert_eq!(q.priority, Some("urgent"));
        assert_eq!(q.language.as_deref(), Some("pt"));
        assert!(q.breached);
        assert_eq!(q.q.as_deref(), Some("insônia"));
        assert_eq!(q.sort, CaseSort::Due);
        assert_eq!(q.limit, 50);
    }

    #[test]
    fn each_mistake_is_refused_with_a_message() {
        for (k, v) in [
            ("status", "deleted"),
            ("country", "BRA"),
            ("assignee", "robert'); --"),
            ("priority", "panic"),
            ("breached", "maybe"),
            ("sort", "random()"),
            ("after", "garbage"),
            ("language", "not a language!"),
        ] {
            let e = params(&[(k, v)]).to_query(None, 50).unwrap_err();
            assert!(!e.is_empty(), "{k}={v}");
        }
        assert!(params(&[("assignee", "me")]).to_query(None, 50).is_err());
        let long = "x".repeat(MAX_QUERY_BYTES + 1);
        assert!(params(&[("q", &long)]).to_query(None, 50).is_err());
        for n in [0, 201] {
            let p = CaseFilterParams {
                per_page: Some(n),
                ..Default::default()
            };
            assert!(p.to_query(None, 50).is_err(), "per_page={n}");
        }
    }

    #[test]
    fn links_keep_the_filter_and_encode_it() {
        let p = params(&[("q", "a&b=c <x>"), ("status", "new"), ("country", "")]);
        assert_eq!(p.href("/", None), "/?status=new&q=a%26b%3Dc+%3Cx%3E");
        assert_eq!(
            p.href("/", Some("1~ab")),
            "/?status=new&q=a%26b%3Dc+%3Cx%3E&after=1%7Eab"
        );
        assert_eq!(CaseFilterParams::default().href("/", None), "/");
    }
}
