//! Rule files (`config/risk/<lang>.toml`): parsing, validation and the
//! compiled form the matcher runs. The only file access is in
//! [`RiskRules::from_dir`].

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

use super::text::{Tokenize, phrase_tokens};
use super::{RiskLevel, Subject};

/// Why a rule file or folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RiskRulesError {
    /// The folder or a file in it could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not valid TOML or does not have the rule file's shape.
    #[error("risk rules for {lang}: {source}")]
    Toml {
        /// The language (file stem or the `lang` given to `parse`).
        lang: String,
        /// The parser's error, with line and column.
        source: toml::de::Error,
    },
    /// The file parsed but breaks a rule of the format (see
    /// `config/risk/README.md`).
    #[error("risk rules for {lang}: {message}")]
    Invalid {
        /// The language.
        lang: String,
        /// What is wrong.
        message: String,
    },
    /// The folder holds no `*.toml` rule file.
    #[error("no *.toml risk rule files in {0}")]
    Empty(PathBuf),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    id: String,
    level: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    escalate: bool,
    phrases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    lang: String,
    #[serde(default)]
    tokenize: Option<String>,
    #[serde(default)]
    window: Option<usize>,
    #[serde(default)]
    negation: Vec<String>,
    #[serde(default)]
    negation_after: Vec<String>,
    #[serde(default)]
    figurative: Vec<String>,
    #[serde(default)]
    advocacy: Vec<String>,
    #[serde(default)]
    news: Vec<String>,
    #[serde(default)]
    past: Vec<String>,
    #[serde(default)]
    titles: Vec<String>,
    #[serde(default)]
    title_intro: Vec<String>,
    #[serde(default)]
    clause_breaks: Vec<String>,
    #[serde(default)]
    escalators: Vec<String>,
    #[serde(default)]
    first_person: Vec<String>,
    #[serde(default)]
    third_person: Vec<String>,
    #[serde(default)]
    reply_headers: Vec<String>,
    #[serde(default, rename = "rule")]
    rules: Vec<FileRule>,
}

/// One element of a compiled phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pat {
    /// This exact folded token.
    Word(String),
    /// A token starting with this (`suicid*`).
    Prefix(String),
    /// Up to this many tokens of anything (`...`).
    Gap(usize),
}

/// A phrase as the matcher runs it, with its source text for review.
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    pub pats: Vec<Pat>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub id: String,
    pub level: RiskLevel,
    pub subject: Subject,
    pub escalate: bool,
    pub phrases: Vec<Phrase>,
}

/// One language's compiled rules and cues.
#[derive(Debug, Clone)]
pub(crate) struct LangRules {
    pub lang: String,
    pub mode: Tokenize,
    pub window: usize,
    pub negation: Vec<Phrase>,
    /// Negation cues of every loaded language cut the same way (people mix
    /// languages: "estoy bien, not suicidal").
    pub negation_pool: Vec<Phrase>,
    pub negation_after: Vec<Phrase>,
    pub figurative: Vec<Phrase>,
    pub advocacy: Vec<Phrase>,
    pub news: Vec<Phrase>,
    pub past: Vec<Phrase>,
    pub titles: Vec<Phrase>,
    pub title_intro: Vec<Phrase>,
    pub clause_breaks: Vec<Phrase>,
    pub escalators: Vec<Phrase>,
    pub first_person: Vec<Phrase>,
    pub third_person: Vec<Phrase>,
    pub rules: Vec<Rule>,
}

/// The rules of every loaded language. Build with [`RiskRules::builtin`]
/// (compiled in from `config/risk/`), [`RiskRules::from_dir`] (an
/// operator's folder) or [`RiskRules::parse`] (one file's text).
#[derive(Debug, Clone, Default)]
pub struct RiskRules {
    pub(crate) langs: Vec<LangRules>,
    pub(crate) reply_headers: Vec<String>,
}

const BUILTIN: &[(&str, &str)] = &[
    ("de", include_str!("../../../../config/risk/de.toml")),
    ("en", include_str!("../../../../config/risk/en.toml")),
    ("es", include_str!("../../../../config/risk/es.toml")),
    ("fr", include_str!("../../../../config/risk/fr.toml")),
    ("it", include_str!("../../../../config/risk/it.toml")),
    ("ja", include_str!("../../../../config/risk/ja.toml")),
    ("nl", include_str!("../../../../config/risk/nl.toml")),
    ("pt", include_str!("../../../../config/risk/pt.toml")),
    ("sv", include_str!("../../../../config/risk/sv.toml")),
];

impl RiskRules {
    /// The rules shipped in `config/risk/*.toml`, compiled into the binary
    /// and parsed once.
    ///
    /// # Panics
    ///
    /// If a shipped rule file is invalid; the unit tests parse every one,
    /// so that cannot reach a release.
    pub fn builtin() -> &'static RiskRules {
        static RULES: OnceLock<RiskRules> = OnceLock::new();
        RULES.get_or_init(|| {
            let mut all = RiskRules::default();
            for (lang, text) in BUILTIN {
                match RiskRules::parse(lang, text) {
                    Ok(r) => all.merge(r),
                    Err(e) => panic!("shipped risk rules are invalid: {e}"),
                }
            }
            all
        })
    }

    /// Every `*.toml` file in `dir`, one language each (an operator's
    /// override of the shipped rules; it replaces them, it does not add to
    /// them).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<RiskRules, RiskRulesError> {
        let dir = dir.as_ref();
        let io = |path: &Path, source| RiskRulesError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(RiskRulesError::Empty(dir.to_path_buf()));
        }
        let mut all = RiskRules::default();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
            let lang = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            all.merge(RiskRules::parse(&lang, &text)?);
        }
        Ok(all)
    }

    /// One language's rule file. `lang` must equal the file's `lang` key,
    /// and every rule id must start with `<lang>.`.
    pub fn parse(lang: &str, toml_text: &str) -> Result<RiskRules, RiskRulesError> {
        let file: File = toml::from_str(toml_text).map_err(|source| RiskRulesError::Toml {
            lang: lang.to_string(),
            source,
        })?;
        let invalid = |message: String| RiskRulesError::Invalid {
            lang: lang.to_string(),
            message,
        };
        if file.lang != lang {
            return Err(invalid(format!("the file says lang = {:?}", file.lang)));
        }
        let mode = match file.tokenize.as_deref() {
            None | Some("words") => Tokenize::Words,
            Some("chars") => Tokenize::Chars,
            Some(other) => {
                return Err(invalid(format!(
                    "tokenize = {other:?}; use \"words\" or \"chars\""
                )));
            }
        };
        let compile = |list: &[String], what: &str| -> Result<Vec<Phrase>, RiskRulesError> {
            list.iter()
                .map(|s| {
                    compile_phrase(s, mode)
                        .ok_or_else(|| invalid(format!("{what}: empty phrase {s:?}")))
                })
                .collect()
        };
        let mut rules = Vec::new();
        for r in &file.rules {
            if !r.id.starts_with(&format!("{lang}.")) {
                return Err(invalid(format!(
                    "rule id {:?} must start with \"{lang}.\"",
                    r.id
                )));
            }
            let level: RiskLevel = r
                .level
                .parse()
                .map_err(|_| invalid(format!("{}: level {:?}", r.id, r.level)))?;
            if level == RiskLevel::None {
                return Err(invalid(format!("{}: level none matches nothing", r.id)));
            }
            let subject = match r.subject.as_deref() {
                None | Some("writer") => Subject::Writer,
                Some("other") => Subject::Other,
                Some(s) => return Err(invalid(format!("{}: subject {s:?}", r.id))),
            };
            if r.phrases.is_empty() {
                return Err(invalid(format!("{}: no phrases", r.id)));
            }
            rules.push(Rule {
                id: r.id.clone(),
                level,
                subject,
                escalate: r.escalate,
                phrases: compile(&r.phrases, &r.id)?,
            });
        }
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(format!("rule id {:?} twice", w[0])));
        }
        let reply_headers: Vec<String> = file
            .reply_headers
            .iter()
            .map(|h| {
                super::text::fold(h)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|h| !h.is_empty())
            .collect();
        let lr = LangRules {
            lang: lang.to_string(),
            mode,
            window: file
                .window
                .unwrap_or(if mode == Tokenize::Chars { 8 } else { 4 }),
            negation: compile(&file.negation, "negation")?,
            negation_pool: Vec::new(),
            negation_after: compile(&file.negation_after, "negation_after")?,
            figurative: compile(&file.figurative, "figurative")?,
            advocacy: compile(&file.advocacy, "advocacy")?,
            news: compile(&file.news, "news")?,
            past: compile(&file.past, "past")?,
            titles: compile(&file.titles, "titles")?,
            title_intro: compile(&file.title_intro, "title_intro")?,
            clause_breaks: compile(&file.clause_breaks, "clause_breaks")?,
            escalators: compile(&file.escalators, "escalators")?,
            first_person: compile(&file.first_person, "first_person")?,
            third_person: compile(&file.third_person, "third_person")?,
            rules,
        };
        let mut out = RiskRules {
            langs: vec![lr],
            reply_headers,
        };
        out.pool_negation();
        Ok(out)
    }

    /// The languages loaded, in load order.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.langs.iter().map(|l| l.lang.as_str())
    }

    /// How many rules are loaded, over all languages.
    pub fn rule_count(&self) -> usize {
        self.langs.iter().map(|l| l.rules.len()).sum()
    }

    fn merge(&mut self, other: RiskRules) {
        for l in other.langs {
            self.langs.retain(|x| x.lang != l.lang);
            self.langs.push(l);
        }
        for h in other.reply_headers {
            if !self.reply_headers.contains(&h) {
                self.reply_headers.push(h);
            }
        }
        self.pool_negation();
    }

    fn pool_negation(&mut self) {
        let all: Vec<(Tokenize, Phrase)> = self
            .langs
            .iter()
            .flat_map(|l| l.negation.iter().map(move |p| (l.mode, p.clone())))
            .collect();
        for l in &mut self.langs {
            l.negation_pool = all
                .iter()
                .filter(|(m, _)| *m == l.mode)
                .map(|(_, p)| p.clone())
                .collect();
            l.negation_pool.dedup_by(|a, b| a.pats == b.pats);
        }
    }
}

/// `"going to ... kill myself"` → words with a gap; `suicid*` a prefix.
fn compile_phrase(s: &str, mode: Tokenize) -> Option<Phrase> {
    let mut pats = Vec::new();
    for piece in s.split_whitespace() {
        if piece == "..." || piece == "…" {
            pats.push(Pat::Gap(if mode == Tokenize::Chars { 8 } else { 3 }));
            continue;
        }
        let (body, prefix) = match piece.strip_suffix('*') {
            Some(b) => (b, true),
            None => (piece, false),
        };
        let toks = phrase_tokens(body, mode);
        let n = toks.len();
        for (i, t) in toks.into_iter().enumerate() {
            if prefix && i + 1 == n {
                pats.push(Pat::Prefix(t));
            } else {
                pats.push(Pat::Word(t));
            }
        }
    }
    while matches!(pats.last(), Some(Pat::Gap(_))) {
        pats.pop();
    }
    while matches!(pats.first(), Some(Pat::Gap(_))) {
        pats.remove(0);
    }
    if pats.is_empty() {
        None
    } else {
        Some(Phrase { pats })
    }
}
