//! Admin-editable mail templates (minijinja), loaded once from a directory.
//!
//! Layout (see `config/templates/ack/README.md`):
//!
//! - `ack/{lang}.txt` + `ack/{lang}.html`: the acknowledgement of a new case;
//!   `en` is required, other languages are optional but come in pairs.
//! - `notify/assigned.en.txt`: the caseworker's assignment notice (text only).
//!
//! `.html` templates are rendered with HTML auto-escaping on, everything else
//! with it off. Undefined variables are errors, and every template is
//! trial-rendered at load time, so a broken edit fails at start-up (naming
//! the file) rather than when a person in crisis is waiting for an answer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use super::message::clean_header_text;

/// Largest template file accepted.
const MAX_TEMPLATE_BYTES: u64 = 1 << 20;
/// Deepest directory nesting searched below the template root.
const MAX_DEPTH: usize = 4;
/// Language used when the requester's has no template.
const FALLBACK_LANG: &str = "en";
const NOTIFY_ASSIGNED: &str = "notify/assigned.en.txt";
const NOTIFY_LANE: &str = "notify/lane.en.txt";

/// Which crisis-lane notice `notify/lane.en.txt` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LaneKind {
    /// To the people on call: an imminent-risk message arrived.
    Urgent,
    /// To every coordinator: nobody acknowledged the risk in time.
    Escalation,
    /// To every coordinator: a case missed its first-response target.
    Breach,
}

/// Variables of `notify/lane.en.txt` (content-free by design).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneVars {
    /// Which notice.
    pub kind: LaneKind,
    /// The recipient's name; may be empty.
    pub name: String,
    /// The case reference.
    pub reference: String,
    /// Country code or `unknown`.
    pub country: String,
    /// The reminder's number (escalation).
    pub round: i32,
    /// The case's dashboard page.
    pub case_url: String,
}

/// A crisis line or other resource, as the acknowledgement templates see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceVars {
    /// Display name.
    pub name: String,
    /// Numbers as dialled locally.
    pub phone: Vec<String>,
    /// SMS numbers.
    pub sms: Vec<String>,
    /// Web page; may be empty.
    pub web: String,
    /// Chat page; may be empty.
    pub chat: String,
    /// Opening hours, language-neutral; may be empty.
    pub hours: String,
    /// Description, already resolved to the template's language.
    pub description: String,
}

/// Variables of `ack/{lang}.txt|.html`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckVars {
    /// The case reference, e.g. `C-7K2M9X`.
    pub reference: String,
    /// Display name; empty gives a neutral greeting.
    pub requester_name: String,
    /// The requester's subject (passed, deliberately unused by the templates).
    pub subject: String,
    /// Country name in the template's language; may be empty.
    pub country_name: String,
    /// Whether the sender's country was inferred or given.
    pub country_known: bool,
    /// The country is unknown but `country_name` is the best guess:
    /// `resources` are its lines, shown before `fallback_resources`.
    #[serde(default)]
    pub country_suggested: bool,
    /// Crisis lines for the country (or the suggested one), in display order.
    pub resources: Vec<ResourceVars>,
    /// International fallback lines.
    pub fallback_resources: Vec<ResourceVars>,
    /// Public hub page; may be empty.
    pub hub_url: String,
    /// Imminent risk: the mail leads, before anything else, with the
    /// country's first crisis line that has a phone number and its
    /// emergency number.
    #[serde(default)]
    pub urgent: bool,
    /// The emergency number of the placed (or suggested) country; may be
    /// empty.
    #[serde(default)]
    pub emergency_number: String,
}

/// Variables of `notify/assigned.en.txt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyVars {
    /// Caseworker's name; may be empty.
    pub caseworker_name: String,
    /// The case reference.
    pub reference: String,
    /// Country name for display; empty when unknown.
    pub country: String,
    /// Language for display, e.g. `German (de)`.
    pub language: String,
    /// `normal`, `high`, `urgent`…
    pub priority: String,
    /// Adds a line asking for a prompt look.
    pub urgent: bool,
    /// The case's dashboard page.
    pub case_url: String,
}

/// Loading or rendering a template failed. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file or directory could not be read.
    #[error("cannot read template {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not UTF-8, or too large.
    #[error("template {path} is unusable: {reason}")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// A required template is absent.
    #[error("template {0} is missing")]
    Missing(String),
    /// The template does not parse.
    #[error("template {name} has a syntax error: {source:#}")]
    Syntax {
        /// Template name relative to the template directory.
        name: String,
        /// minijinja's error (with line number).
        source: minijinja::Error,
    },
    /// Rendering failed (e.g. an undefined variable).
    #[error("template {name} failed to render: {source:#}")]
    Render {
        /// Template name relative to the template directory.
        name: String,
        /// minijinja's error (with line number).
        source: minijinja::Error,
    },
}

/// The loaded templates. Cheap to share behind an `Arc`; rendering is `&self`.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    ack_langs: BTreeSet<String>,
}

/// The templates shipped in `config/templates/`, compiled into the binary
/// so that it runs from any directory ([`Templates::builtin`]). A unit test
/// keeps this list equal to the directory.
const BUILTIN: &[(&str, &str)] = &[
    (
        "ack/de.html",
        include_str!("../../../../config/templates/ack/de.html"),
    ),
    (
        "ack/de.txt",
        include_str!("../../../../config/templates/ack/de.txt"),
    ),
    (
        "ack/en.html",
        include_str!("../../../../config/templates/ack/en.html"),
    ),
    (
        "ack/en.txt",
        include_str!("../../../../config/templates/ack/en.txt"),
    ),
    (
        "ack/es.html",
        include_str!("../../../../config/templates/ack/es.html"),
    ),
    (
        "ack/es.txt",
        include_str!("../../../../config/templates/ack/es.txt"),
    ),
    (
        "ack/fr.html",
        include_str!("../../../../config/templates/ack/fr.html"),
    ),
    (
        "ack/fr.txt",
        include_str!("../../../../config/templates/ack/fr.txt"),
    ),
    (
        "ack/it.html",
        include_str!("../../../../config/templates/ack/it.html"),
    ),
    (
        "ack/it.txt",
        include_str!("../../../../config/templates/ack/it.txt"),
    ),
    (
        "ack/ja.html",
        include_str!("../../../../config/templates/ack/ja.html"),
    ),
    (
        "ack/ja.txt",
        include_str!("../../../../config/templates/ack/ja.txt"),
    ),
    (
        "ack/nl.html",
        include_str!("../../../../config/templates/ack/nl.html"),
    ),
    (
        "ack/nl.txt",
        include_str!("../../../../config/templates/ack/nl.txt"),
    ),
    (
        "ack/pt.html",
        include_str!("../../../../config/templates/ack/pt.html"),
    ),
    (
        "ack/pt.txt",
        include_str!("../../../../config/templates/ack/pt.txt"),
    ),
    (
        "ack/sv.html",
        include_str!("../../../../config/templates/ack/sv.html"),
    ),
    (
        "ack/sv.txt",
        include_str!("../../../../config/templates/ack/sv.txt"),
    ),
    (
        "notify/assigned.en.txt",
        include_str!("../../../../config/templates/notify/assigned.en.txt"),
    ),
    (
        "notify/lane.en.txt",
        include_str!("../../../../config/templates/notify/lane.en.txt"),
    ),
];

impl Templates {
    /// The shipped templates (`config/templates/` as built).
    pub fn builtin() -> Result<Templates, TemplateError> {
        Self::from_sources(
            BUILTIN
                .iter()
                .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
                .collect(),
        )
    }

    /// Reads every `.txt` / `.html` file under `dir`, compiles them, checks
    /// that the required ones exist and trial-renders each.
    pub fn load(dir: &Path) -> Result<Templates, TemplateError> {
        let mut sources = BTreeMap::new();
        collect(dir, dir, 0, &mut sources)?;
        Self::from_sources(sources)
    }

    fn from_sources(sources: BTreeMap<String, String>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") || name.ends_with(".htm") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        for (name, source) in sources {
            env.add_template_owned(name.clone(), source)
                .map_err(|source| TemplateError::Syntax { name, source })?;
        }

        // Names first: looking templates up while iterating would deadlock.
        let names: Vec<String> = env.templates().map(|(n, _)| n.to_owned()).collect();
        let mut ack_langs = BTreeSet::new();
        for name in &names {
            let Some(rest) = name.strip_prefix("ack/") else {
                continue;
            };
            let (lang, ext) = match rest.rsplit_once('.') {
                Some((l, e @ ("txt" | "html"))) if !l.contains('/') => (l, e),
                _ => continue,
            };
            let other = if ext == "txt" { "html" } else { "txt" };
            let pair = format!("ack/{lang}.{other}");
            if env.get_template(&pair).is_err() {
                return Err(TemplateError::Missing(pair));
            }
            ack_langs.insert(lang.to_owned());
        }
        for required in [
            format!("ack/{FALLBACK_LANG}.txt"),
            format!("ack/{FALLBACK_LANG}.html"),
            NOTIFY_ASSIGNED.to_owned(),
            NOTIFY_LANE.to_owned(),
        ] {
            if env.get_template(&required).is_err() {
                return Err(TemplateError::Missing(required));
            }
        }

        let templates = Templates { env, ack_langs };
        templates.check()?;
        Ok(templates)
    }

    /// Languages that have acknowledgement templates.
    pub fn ack_languages(&self) -> impl Iterator<Item = &str> {
        self.ack_langs.iter().map(String::as_str)
    }

    /// The template language used for `lang`: its primary subtag when there
    /// is a template for it (`pt-BR` → `pt`), else `en`. Callers resolve
    /// `country_name` and resource descriptions into this language.
    pub fn ack_language(&self, lang: &str) -> &str {
        let primary = lang
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        self.ack_langs
            .get(primary.as_str())
            .map_or(FALLBACK_LANG, String::as_str)
    }

    /// Renders the acknowledgement: `(text, html)`, both in the same language.
    pub fn render_ack(
        &self,
        lang: &str,
        vars: &AckVars,
    ) -> Result<(String, String), TemplateError> {
        let lang = self.ack_language(lang);
        let mut text = self.render(&format!("ack/{lang}.txt"), vars)?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let html = self.render(&format!("ack/{lang}.html"), vars)?;
        Ok((text, html))
    }

    /// Renders the assignment notice: `(text, subject)`. The subject names the
    /// case only, never anything the requester wrote.
    pub fn render_notify_assigned(
        &self,
        vars: &NotifyVars,
    ) -> Result<(String, String), TemplateError> {
        let mut text = self.render(NOTIFY_ASSIGNED, vars)?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let reference = clean_header_text(&vars.reference, 40);
        let subject = if vars.urgent {
            format!("Urgent: case {reference} assigned to you")
        } else {
            format!("Case {reference} assigned to you")
        };
        Ok((text, subject))
    }

    /// Renders a crisis-lane notice: (text, subject). The subject carries
    /// the reference and nothing else from the case.
    pub fn render_notify_lane(&self, vars: &LaneVars) -> Result<(String, String), TemplateError> {
        let mut text = self.render(NOTIFY_LANE, vars)?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let reference = clean_header_text(&vars.reference, 40);
        let subject = match vars.kind {
            LaneKind::Urgent => format!("Urgent case {reference}"),
            LaneKind::Escalation => format!(
                "Urgent case {reference} not acknowledged (reminder {})",
                vars.round
            ),
            LaneKind::Breach => format!("Case {reference} missed its first-response target"),
        };
        Ok((text, subject))
    }

    fn render<S: Serialize>(&self, name: &str, vars: &S) -> Result<String, TemplateError> {
        let render_err = |source| TemplateError::Render {
            name: name.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(render_err)?
            .render(vars)
            .map_err(render_err)
    }

    /// Trial-renders every template with sample values, taking both the
    /// known-country and unknown-country branches.
    fn check(&self) -> Result<(), TemplateError> {
        let line = ResourceVars {
            name: "Line".into(),
            phone: vec!["0800 111".into(), "0800 222".into()],
            sms: vec!["741741".into()],
            web: "https://line.example/".into(),
            chat: "https://line.example/chat".into(),
            hours: "24/7".into(),
            description: "Free and anonymous.".into(),
        };
        let bare = ResourceVars {
            name: "Bare".into(),
            ..Default::default()
        };
        let known = AckVars {
            reference: "C-7K2M9X".into(),
            requester_name: "Alex".into(),
            subject: "hello".into(),
            country_name: "Country".into(),
            country_known: true,
            country_suggested: false,
            resources: vec![line.clone(), bare.clone()],
            fallback_resources: vec![line.clone()],
            hub_url: "https://hub.example/".into(),
            urgent: false,
            emergency_number: String::new(),
        };
        let urgent = AckVars {
            urgent: true,
            emergency_number: "112".into(),
            ..known.clone()
        };
        let suggested = AckVars {
            country_known: false,
            country_suggested: true,
            ..known.clone()
        };
        let unknown = AckVars {
            requester_name: String::new(),
            country_name: String::new(),
            country_known: false,
            resources: Vec::new(),
            hub_url: String::new(),
            ..known.clone()
        };
        for lang in &self.ack_langs {
            for vars in [&known, &urgent, &suggested, &unknown] {
                self.render(&format!("ack/{lang}.txt"), vars)?;
                self.render(&format!("ack/{lang}.html"), vars)?;
            }
        }
        for kind in [LaneKind::Urgent, LaneKind::Escalation, LaneKind::Breach] {
            self.render_notify_lane(&LaneVars {
                kind,
                name: "Sam".into(),
                reference: "C-7K2M9X".into(),
                country: "BR".into(),
                round: 1,
                case_url: "https://concierge.example/cases/C-7K2M9X".into(),
            })?;
        }
        for urgent in [false, true] {
            self.render(
                NOTIFY_ASSIGNED,
                &NotifyVars {
                    caseworker_name: if urgent { String::new() } else { "Sam".into() },
                    reference: "C-7K2M9X".into(),
                    country: if urgent {
                        String::new()
                    } else {
                        "Germany".into()
                    },
                    language: "German (de)".into(),
                    priority: "normal".into(),
                    urgent,
                    case_url: "https://concierge.example/cases/C-7K2M9X".into(),
                },
            )?;
        }
        Ok(())
    }
}

/// Reads template files below `dir` into `out`, keyed by `/`-separated
/// relative names (`ack/en.txt`).
fn collect(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut BTreeMap<String, String>,
) -> Result<(), TemplateError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TemplateError::Io { path, source }
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(io(&path))?;
        if meta.is_dir() {
            if depth < MAX_DEPTH {
                collect(root, &path, depth + 1, out)?;
            }
            continue;
        }
        let is_template = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "txt" | "html" | "htm"));
        if !meta.is_file() || !is_template {
            continue;
        }
        let unusable = |reason| TemplateError::Unusable {
            path: path.clone(),
            reason,
        };
        if meta.len() > MAX_TEMPLATE_BYTES {
            return Err(unusable("larger than 1 MiB"));
        }
        let name = path
            .strip_prefix(root)
            .ok()
            .and_then(|rel| {
                rel.components()
                    .map(|c| c.as_os_str().to_str())
                    .collect::<Option<Vec<_>>>()
            })
            .map(|parts| parts.join("/"))
            .ok_or_else(|| unusable("its name is not UTF-8"))?;
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let source = String::from_utf8(bytes).map_err(|_| unusable("not UTF-8"))?;
        out.insert(name, source);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
