//! Risk assessment measured on the labelled messages in
//! `tests/fixtures/risk/` (and its `holdout/`): recall and precision on
//! imminent, recall on concern, false alarms on traps, per language.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use concierge_core::risk::{RiskAssessment, RiskLevel, RiskRules, assess};
use serde::Deserialize;

/// One labelled message (a line of a `*.jsonl` fixture file).
#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    /// `pt-001`, `en-h003`.
    pub id: String,
    /// The language it is written in (mostly).
    pub lang: String,
    /// What a careful caseworker would call it.
    pub label: RiskLevel,
    /// Why it is in the set: `imminent`, `concern`, `third-person`,
    /// `plain` or a `trap-…` kind.
    pub kind: String,
    /// The message body as the writer sent it.
    pub text: String,
}

impl Labelled {
    /// Whether the message is a trap (should be assessed `none`).
    pub fn is_trap(&self) -> bool {
        self.kind.starts_with("trap-")
    }
}

/// `tests/fixtures/risk` at the repository root, wherever the binary runs.
pub fn default_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/risk")
}

/// Every `*.jsonl` file directly in `dir` (not its subfolders), sorted by
/// file name.
pub fn load(dir: &Path) -> Result<Vec<Labelled>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let m: Labelled =
                serde_json::from_str(line).with_context(|| format!("{}:{}", f.display(), n + 1))?;
            out.push(m);
        }
    }
    if out.is_empty() {
        bail!("no labelled messages in {}", dir.display());
    }
    Ok(out)
}

/// Counts for one language (or the total).
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Messages.
    pub n: usize,
    /// Labelled imminent.
    pub imminent: usize,
    /// Labelled imminent and assessed imminent.
    pub imminent_hit: usize,
    /// Assessed imminent (whatever the label).
    pub flagged_imminent: usize,
    /// Labelled concern.
    pub concern: usize,
    /// Labelled concern and assessed concern or imminent.
    pub concern_hit: usize,
    /// Trap messages.
    pub traps: usize,
    /// Trap messages assessed anything but none.
    pub trap_alarms: usize,
    /// Labelled none (traps and plain) assessed anything but none.
    pub none_alarms: usize,
    /// Labelled none.
    pub none: usize,
}

impl Counts {
    fn add(&mut self, m: &Labelled, got: RiskLevel) {
        self.n += 1;
        if got == RiskLevel::Imminent {
            self.flagged_imminent += 1;
        }
        match m.label {
            RiskLevel::Imminent => {
                self.imminent += 1;
                if got == RiskLevel::Imminent {
                    self.imminent_hit += 1;
                }
            }
            RiskLevel::Concern => {
                self.concern += 1;
                if got >= RiskLevel::Concern {
                    self.concern_hit += 1;
                }
            }
            RiskLevel::None => {
                self.none += 1;
                if got != RiskLevel::None {
                    self.none_alarms += 1;
                }
            }
        }
        if m.is_trap() {
            self.traps += 1;
            if got != RiskLevel::None {
                self.trap_alarms += 1;
            }
        }
    }

    /// Share of imminent messages assessed imminent (1 when there are none).
    pub fn imminent_recall(&self) -> f64 {
        ratio(self.imminent_hit, self.imminent)
    }
    /// Share of messages assessed imminent that are labelled imminent.
    pub fn imminent_precision(&self) -> f64 {
        ratio(self.imminent_hit, self.flagged_imminent)
    }
    /// Share of concern messages assessed concern or imminent.
    pub fn concern_recall(&self) -> f64 {
        ratio(self.concern_hit, self.concern)
    }
    /// Share of trap messages assessed anything but none.
    pub fn trap_false_alarms(&self) -> f64 {
        if self.traps == 0 {
            0.0
        } else {
            self.trap_alarms as f64 / self.traps as f64
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// One message's outcome.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Index into the labelled set.
    pub index: usize,
    /// What [`assess`] said.
    pub got: RiskAssessment,
    /// How long it took, in microseconds.
    pub micros: f64,
}

/// The figures for a set.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Per language, sorted by code.
    pub per_lang: BTreeMap<String, Counts>,
    /// Over all languages.
    pub total: Counts,
    /// Every message's outcome, in set order.
    pub scored: Vec<Scored>,
}

impl Report {
    /// Mean and 99th-percentile time per assessment, in microseconds.
    pub fn timing(&self) -> (f64, f64) {
        let mut t: Vec<f64> = self.scored.iter().map(|s| s.micros).collect();
        if t.is_empty() {
            return (0.0, 0.0);
        }
        t.sort_by(f64::total_cmp);
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let k = ((t.len() as f64 * 0.99).ceil() as usize).clamp(1, t.len()) - 1;
        (mean, t[k])
    }
}

/// Assesses every message with `rules` (the language label is the hint).
pub fn evaluate(set: &[Labelled], rules: &RiskRules) -> Report {
    let mut r = Report::default();
    // Warm up (first-touch costs) so timings are per assessment.
    if let Some(m) = set.first() {
        let _ = assess(&m.text, Some(&m.lang), rules);
    }
    for (index, m) in set.iter().enumerate() {
        let t = Instant::now();
        let got = assess(&m.text, Some(&m.lang), rules);
        let micros = t.elapsed().as_secs_f64() * 1e6;
        r.per_lang
            .entry(m.lang.clone())
            .or_default()
            .add(m, got.level);
        r.total.add(m, got.level);
        r.scored.push(Scored { index, got, micros });
    }
    r
}

/// Whether a message's assessment is wrong for the report: an imminent
/// message not imminent, a concern message at none, or a none message
/// above none.
pub fn is_miss(m: &Labelled, got: RiskLevel) -> bool {
    match m.label {
        RiskLevel::Imminent => got != RiskLevel::Imminent,
        RiskLevel::Concern => got == RiskLevel::None,
        RiskLevel::None => got != RiskLevel::None,
    }
}

/// The table: one row per language and a total.
pub fn render(title: &str, r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{title}");
    let _ = writeln!(
        s,
        "lang    n  imminent recall  imminent precision  concern recall  trap false alarms  none→alarm"
    );
    let row = |s: &mut String, name: &str, c: &Counts| {
        let _ = writeln!(
            s,
            "{name:<4} {:>4}  {:>5.2} ({:>2}/{:>2})     {:>5.2} ({:>2}/{:>2})        {:>5.2} ({:>2}/{:>2})    {:>5.2} ({:>2}/{:>2})       {:>2}/{:>2}",
            c.n,
            c.imminent_recall(),
            c.imminent_hit,
            c.imminent,
            c.imminent_precision(),
            c.imminent_hit,
            c.flagged_imminent,
            c.concern_recall(),
            c.concern_hit,
            c.concern,
            c.trap_false_alarms(),
            c.trap_alarms,
            c.traps,
            c.none_alarms,
            c.none
        );
    };
    for (lang, c) in &r.per_lang {
        row(&mut s, lang, c);
    }
    row(&mut s, "all", &r.total);
    s
}

/// Every wrong case (see [`is_miss`]) with its evidence.
pub fn misses(set: &[Labelled], r: &Report) -> String {
    let mut s = String::new();
    for sc in &r.scored {
        let m = &set[sc.index];
        if !is_miss(m, sc.got.level) {
            continue;
        }
        let _ = writeln!(
            s,
            "{} [{} {}] got {}: {}",
            m.id,
            m.label,
            m.kind,
            sc.got.level,
            m.text.replace('\n', " ⏎ ")
        );
        for e in &sc.got.evidence {
            let _ = writeln!(
                s,
                "    {} ({}, {:?}): {:?}",
                e.rule_id, e.level, e.subject, e.phrase
            );
        }
    }
    s
}

/// Languages that miss the targets: imminent recall < `recall` or
/// trap false alarms > `alarms`.
pub fn below_targets(r: &Report, recall: f64, alarms: f64) -> Vec<String> {
    r.per_lang
        .iter()
        .filter(|(_, c)| c.imminent_recall() < recall || c.trap_false_alarms() > alarms)
        .map(|(l, c)| {
            format!(
                "{l}: imminent recall {:.2}, trap false alarms {:.2}",
                c.imminent_recall(),
                c.trap_false_alarms()
            )
        })
        .collect()
}
