//! Risk assessment of human messages (issue 13, "a crisis lane"). Pure:
//! no I/O except [`RiskRules::from_dir`].
//!
//! [`assess`] reads the writer's fresh text (quoted mail — `>` lines and
//! everything from an "On … wrote:" / "Am … schrieb" / "-----Original
//! Message-----" header on — is dropped) and runs the phrase rules of
//! **every** loaded language over it, whatever the hint says: people mix
//! languages, and the cost is a few microseconds per language. The hint
//! only orders the evidence (the hinted language's first among equals).
//!
//! A rule is a list of phrases (token sequences with `...` gaps and `word*`
//! prefixes; Japanese is matched character by character) with a level and
//! a subject. A match does not count when, in its clause:
//!
//! - a negation cue stands just before it or inside its gaps ("not
//!   suicidal", "ich will mich nicht umbringen"), or just after it
//!   (Japanese "死にたいわけではない");
//! - a figurative cue stands just before it ("the tour", "turnén") or just
//!   after it;
//! - an advocacy cue is anywhere in the clause ("suicide prevention
//!   workshop");
//! - it is inside a quoted title or lyric ("my song called \"…\"");
//! - it is about someone else and a news cue (a death reported, "last
//!   week", "funeral") is in the clause.
//!
//! A past-time cue ("last year", "in 2019") downgrades an imminent match to
//! concern (a past attempt). An ideation rule marked `escalate` is raised
//! from concern to imminent when the fresh text also names a time frame or
//! means ("tonight", "the rope", "on the bridge") that is not negated.
//! "Everyone would be better off without me" is **concern** (hopelessness
//! without a plan), imminent only with such a time frame or means.
//!
//! The rules are data: `config/risk/<lang>.toml`, described in
//! `config/risk/README.md`. Every piece of evidence names its rule id and
//! the matched text.

mod rules;
mod text;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use rules::{RiskRules, RiskRulesError};

use rules::{LangRules, Pat, Phrase};
use text::{Tok, Tokenize};

/// How urgent a message is. Ordered: `None < Concern < Imminent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// Nothing found.
    None,
    /// Ideation without a plan, past attempts, self-harm history,
    /// hopelessness: a caseworker should read it today.
    Concern,
    /// Intent, a plan, means, a recent act, a goodbye, giving things away
    /// with finality, a time frame: the crisis lane, now.
    Imminent,
}

impl RiskLevel {
    /// `"none"`, `"concern"` or `"imminent"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::None => "none",
            RiskLevel::Concern => "concern",
            RiskLevel::Imminent => "imminent",
        }
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a [`RiskLevel`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown risk level {0:?} (none, concern, imminent)")]
pub struct InvalidRiskLevel(pub String);

impl FromStr for RiskLevel {
    type Err = InvalidRiskLevel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(RiskLevel::None),
            "concern" => Ok(RiskLevel::Concern),
            "imminent" => Ok(RiskLevel::Imminent),
            _ => Err(InvalidRiskLevel(s.to_string())),
        }
    }
}

/// Whose risk a piece of evidence is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    /// The person writing.
    Writer,
    /// Someone the writer writes about (a band member, a partner).
    Other,
}

/// One rule that fired, and what it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskEvidence {
    /// The rule's id in its file, e.g. `en.intent.end-life`.
    pub rule_id: String,
    /// The matched text as it appears in the message (at most 120
    /// characters).
    pub phrase: String,
    /// The language of the rule file.
    pub lang: String,
    /// The level this match gives (after downgrades and escalation).
    pub level: RiskLevel,
    /// Whose risk it is.
    pub subject: Subject,
}

/// The outcome of [`assess`]: the highest level found and every match
/// behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskAssessment {
    /// The highest level of any evidence; `None` when there is none.
    pub level: RiskLevel,
    /// What fired, highest level first.
    pub evidence: Vec<RiskEvidence>,
}

impl RiskAssessment {
    /// Whether any evidence is about someone other than the writer.
    pub fn about_other(&self) -> bool {
        self.evidence.iter().any(|e| e.subject == Subject::Other)
    }
}

const MAX_PHRASE_CHARS: usize = 120;

/// Assesses one message's text for imminent risk to the writer or to
/// someone they write about. Runs every language in `rules`; `lang_hint`
/// (an ISO 639-1 code) only puts that language's evidence first among
/// evidence of the same level.
pub fn assess(text: &str, lang_hint: Option<&str>, rules: &RiskRules) -> RiskAssessment {
    let ranges = text::fresh_ranges(text, &rules.reply_headers);
    let quotes = text::quote_spans(text);
    let mut words: Option<Vec<Tok>> = None;
    let mut chars: Option<Vec<Tok>> = None;
    let mut found: Vec<(bool, usize, RiskEvidence)> = Vec::new();
    for lr in &rules.langs {
        let toks = match lr.mode {
            Tokenize::Words => {
                words.get_or_insert_with(|| text::tokenize(text, &ranges, Tokenize::Words))
            }
            Tokenize::Chars => {
                chars.get_or_insert_with(|| text::tokenize(text, &ranges, Tokenize::Chars))
            }
        };
        let hinted = lang_hint.is_some_and(|h| h.eq_ignore_ascii_case(&lr.lang));
        for (start, ev) in assess_lang(text, toks, &quotes, lr) {
            found.push((hinted, start, ev));
        }
    }
    found.sort_by(|a, b| {
        b.2.level
            .cmp(&a.2.level)
            .then(b.0.cmp(&a.0))
            .then(a.1.cmp(&b.1))
    });
    let mut evidence: Vec<RiskEvidence> = Vec::new();
    for (_, _, ev) in found {
        if !evidence
            .iter()
            .any(|e| e.rule_id == ev.rule_id && e.phrase == ev.phrase)
        {
            evidence.push(ev);
        }
    }
    let level = evidence
        .iter()
        .map(|e| e.level)
        .max()
        .unwrap_or(RiskLevel::None);
    RiskAssessment { level, evidence }
}

/// Token positions and clause keys for one language's view of the text.
struct View<'a> {
    toks: &'a [Tok],
    /// Token positions by folded form.
    index: HashMap<&'a str, Vec<usize>>,
    clause: Vec<(usize, usize)>,
    masked: Vec<bool>,
}

impl View<'_> {
    fn same(&self, a: usize, b: usize) -> bool {
        self.clause[a] == self.clause[b]
    }

    /// Where `pats` matches starting at token `i`: the end (exclusive) and
    /// the positions of its literal tokens.
    fn match_at(
        &self,
        pats: &[Pat],
        i: usize,
        anchor: usize,
        lit: &mut Vec<usize>,
    ) -> Option<usize> {
        let Some((first, rest)) = pats.split_first() else {
            return Some(i);
        };
        match first {
            Pat::Gap(n) => {
                for k in 0..=*n {
                    let j = i + k;
                    if j > self.toks.len() {
                        break;
                    }
                    if k > 0 && (self.masked[j - 1] || !self.same(j - 1, anchor)) {
                        break;
                    }
                    let mark = lit.len();
                    if let Some(e) = self.match_at(rest, j, anchor, lit) {
                        return Some(e);
                    }
                    lit.truncate(mark);
                }
                None
            }
            Pat::Word(w) | Pat::Prefix(w) => {
                let t = self.toks.get(i)?;
                if self.masked[i] || !self.same(i, anchor) {
                    return None;
                }
                let ok = match first {
                    Pat::Word(_) => t.norm == *w,
                    _ => t.norm.starts_with(w.as_str()),
                };
                if !ok {
                    return None;
                }
                lit.push(i);
                let e = self.match_at(rest, i + 1, anchor, lit);
                if e.is_none() {
                    lit.pop();
                }
                e
            }
        }
    }

    /// Every match of `phrases`: (start, end, literal positions).
    fn find(&self, phrases: &[Phrase]) -> Vec<(usize, usize, Vec<usize>)> {
        let mut out = Vec::new();
        let none: Vec<usize> = Vec::new();
        for p in phrases {
            // Start only where the first word is (the index); a prefix or
            // gap head scans.
            let starts: Box<dyn Iterator<Item = usize> + '_> = match p.pats.first() {
                Some(Pat::Word(w)) => {
                    Box::new(self.index.get(w.as_str()).unwrap_or(&none).iter().copied())
                }
                Some(Pat::Prefix(w)) => Box::new(
                    (0..self.toks.len())
                        .filter(move |&i| self.toks[i].norm.starts_with(w.as_str())),
                ),
                _ => Box::new(0..self.toks.len()),
            };
            for i in starts {
                let mut lit = Vec::new();
                if let Some(e) = self.match_at(&p.pats, i, i, &mut lit) {
                    out.push((i, e, lit));
                }
            }
        }
        out
    }
}

fn assess_lang(
    text: &str,
    toks: &[Tok],
    quotes: &[(usize, usize)],
    lr: &LangRules,
) -> Vec<(usize, RiskEvidence)> {
    if toks.is_empty() {
        return Vec::new();
    }
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in toks.iter().enumerate() {
        index.entry(t.norm.as_str()).or_default().push(i);
    }
    let mut view = View {
        toks,
        index,
        clause: toks.iter().map(|t| (t.clause, 0)).collect(),
        masked: vec![false; toks.len()],
    };
    // Clause-break words ("but", "aber", "けど") split clauses.
    let mut breaks: Vec<usize> = view
        .find(&lr.clause_breaks)
        .into_iter()
        .map(|m| m.0)
        .collect();
    breaks.sort_unstable();
    let mut b = 0;
    for (i, c) in view.clause.iter_mut().enumerate() {
        while b < breaks.len() && breaks[b] <= i {
            b += 1;
        }
        c.1 = b;
    }
    mask_titles(&mut view, quotes, lr);

    let w = lr.window;
    let neg = view.find(&lr.negation_pool);
    let neg_after = view.find(&lr.negation_after);
    let fig = view.find(&lr.figurative);
    let adv = view.find(&lr.advocacy);
    let news = view.find(&lr.news);
    let past = view.find(&lr.past);
    let first = view.find(&lr.first_person);
    let third = view.find(&lr.third_person);
    // A writer rule's match is about someone else when the nearest person
    // cue before it in the clause is a third-person one ("he's going to end
    // it", "my boyfriend took an overdose").
    let subject_of = |s: usize| {
        let near = |cues: &[(usize, usize, Vec<usize>)]| {
            cues.iter()
                .filter(|c| c.1 <= s && c.1 + 2 * w >= s && view.same(c.0, s))
                .map(|c| c.1)
                .max()
        };
        match (near(&first), near(&third)) {
            (None, Some(_)) => Subject::Other,
            (Some(f), Some(t)) if t > f => Subject::Other,
            _ => Subject::Writer,
        }
    };
    let in_clause =
        |cues: &[(usize, usize, Vec<usize>)], s: usize| cues.iter().any(|c| view.same(c.0, s));
    let negated = |s: usize, e: usize, lit: &[usize]| {
        neg.iter().any(|c| {
            view.same(c.0, s)
                && c.0 + w >= s
                && c.1 <= e
                && (c.1 <= s || (c.0..c.1).all(|k| !lit.contains(&k)))
        }) || neg_after
            .iter()
            .any(|c| view.same(c.0, s) && c.0 >= e && c.0 < e + w)
    };
    // Figurative cues count only right next to the match: the thing that
    // "kills" ("turnén tar livet av mig") or a laugh after it ("死ぬ笑").
    let near = if lr.mode == Tokenize::Chars { 4 } else { 2 };
    let figurative = |s: usize, e: usize| {
        fig.iter().any(|c| {
            view.same(c.0, s) && ((c.1 <= s && c.1 + near >= s) || (c.0 >= e && c.0 < e + 2))
        })
    };

    let mut out = Vec::new();
    let mut escalatable = Vec::new();
    for rule in &lr.rules {
        let mut seen: Vec<usize> = Vec::new();
        for (s, e, lit) in view.find(&rule.phrases) {
            if seen.iter().any(|&x| x >= s && x < e) {
                continue;
            }
            if negated(s, e, &lit) || figurative(s, e) || in_clause(&adv, s) {
                continue;
            }
            if (rule.subject == Subject::Other || subject_of(s) == Subject::Other)
                && in_clause(&news, s)
            {
                continue;
            }
            let mut level = rule.level;
            if level == RiskLevel::Imminent && in_clause(&past, s) {
                level = RiskLevel::Concern;
            }
            seen.push(s);
            if rule.escalate && level == RiskLevel::Concern {
                escalatable.push(out.len());
            }
            out.push((
                toks[s].start,
                RiskEvidence {
                    rule_id: rule.id.clone(),
                    phrase: span_text(text, toks, s, e),
                    lang: lr.lang.clone(),
                    level,
                    subject: match rule.subject {
                        Subject::Writer => subject_of(s),
                        Subject::Other => Subject::Other,
                    },
                },
            ));
        }
    }
    if !escalatable.is_empty() {
        let esc = view.find(&lr.escalators).into_iter().find(|(s, e, lit)| {
            !negated(*s, *e, lit) && !in_clause(&past, *s) && !figurative(*s, *e)
        });
        if let Some((s, e, _)) = esc {
            let mut subject = Subject::Writer;
            for &k in &escalatable {
                out[k].1.level = RiskLevel::Imminent;
                subject = out[k].1.subject;
            }
            out.push((
                toks[s].start,
                RiskEvidence {
                    rule_id: format!("{}.escalator", lr.lang),
                    phrase: span_text(text, toks, s, e),
                    lang: lr.lang.clone(),
                    level: RiskLevel::Imminent,
                    subject,
                },
            ));
        }
    }
    out
}

/// Masks quoted spans that follow a title cue ("my song \"…\"", "アルバム
/// 『…』"), and the rest of the clause after "called"/"titled" when a title
/// cue stands just before it ("my song called I Want To Die").
fn mask_titles(view: &mut View<'_>, quotes: &[(usize, usize)], lr: &LangRules) {
    if lr.titles.is_empty() && lr.title_intro.is_empty() {
        return;
    }
    let titles = view.find(&lr.titles);
    let intros = view.find(&lr.title_intro);
    let toks = view.toks;
    for &(qs, qe) in quotes {
        let Some(first) = toks.iter().position(|t| t.start >= qs) else {
            continue;
        };
        if toks[first].start >= qe {
            continue;
        }
        let lookback = if lr.mode == Tokenize::Chars { 12 } else { 5 };
        let cued = titles
            .iter()
            .chain(intros.iter())
            .any(|c| c.1 <= first && c.1 + lookback >= first);
        if cued {
            for (k, t) in toks.iter().enumerate().skip(first) {
                if t.start >= qe {
                    break;
                }
                view.masked[k] = true;
            }
        }
    }
    for (s, e, _) in &intros {
        let titled = titles
            .iter()
            .any(|c| c.1 <= *s && c.1 + 3 >= *s && view.same(c.0, *s));
        if !titled || view.masked.get(*e).copied().unwrap_or(true) {
            continue;
        }
        let mut k = *e;
        while k < toks.len() && k < e + 8 && view.same(k, *s) {
            view.masked[k] = true;
            k += 1;
        }
    }
}

fn span_text(text: &str, toks: &[Tok], s: usize, e: usize) -> String {
    let (a, b) = (toks[s].start, toks[e.saturating_sub(1).max(s)].end);
    text.get(a..b)
        .map(|t| text::clip(t, MAX_PHRASE_CHARS))
        .unwrap_or_default()
}
