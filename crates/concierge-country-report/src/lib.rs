//! `concierge-country-report`: runs the labelled set in
//! `tests/fixtures/country/` through the same parser and inference as
//! ingest, counts right, wrong and triaged per language, per evidence kind
//! and per tag, prints the calibration table, and fits the model's weights
//! (softmax log-likelihood, L2) with a calibrated threshold.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use concierge_core::country::model::{self, Features, GLOBALS, KINDS, Weights};
use concierge_core::country::{CountryCode, EvidenceKind, findings};
use concierge_mail::inbound::{Limits, parse};
use serde::Deserialize;

/// One labelled message of the set.
#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    /// `<lang>-NNN`.
    pub id: String,
    /// Language of the message.
    pub lang: String,
    /// Sender address.
    pub from: String,
    /// Sender display name.
    #[serde(default)]
    pub from_name: String,
    /// Subject.
    #[serde(default)]
    pub subject: String,
    /// RFC 2822 Date value, if any.
    pub date: Option<String>,
    /// Plain-text body.
    pub body: String,
    /// Where the writer lives and needs care; `None` when a careful person
    /// could not tell.
    pub country: Option<String>,
    /// What the message shows (residence, tour, moved …).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The workspace's fixture folder.
pub fn default_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/country")
}

/// The compiled-in weights file in the source tree.
pub fn default_weights_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../concierge-core/data/country/weights.tsv")
}

/// Reads every `*.jsonl` file of `dir`, sorted by id.
pub fn load(dir: &Path) -> Result<Vec<Labelled>> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let m: Labelled =
                serde_json::from_str(line).with_context(|| format!("{}:{}", f.display(), n + 1))?;
            if let Some(c) = &m.country
                && c.parse::<CountryCode>().is_err()
            {
                bail!("{}:{}: bad country {c:?}", f.display(), n + 1);
            }
            out.push(m);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The message as the mail a door would receive.
pub fn to_eml(m: &Labelled) -> Vec<u8> {
    let mut s = String::new();
    if m.from_name.is_empty() {
        let _ = write!(s, "From: <{}>\r\n", m.from);
    } else {
        let name: String = m.from_name.chars().filter(|c| *c != '"').collect();
        let _ = write!(s, "From: \"{name}\" <{}>\r\n", m.from);
    }
    s.push_str("To: global@concierge.example.org\r\n");
    // Raw UTF-8 subject (RFC 6532), as many mailers send it.
    let _ = write!(s, "Subject: {}\r\n", m.subject.replace(['\r', '\n'], " "));
    if let Some(d) = &m.date {
        let _ = write!(s, "Date: {d}\r\n");
    }
    let _ = write!(s, "Message-ID: <{}@fixtures.example>\r\n", m.id);
    s.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");
    s.push_str("Content-Transfer-Encoding: 8bit\r\n\r\n");
    s.push_str(&m.body.replace("\r\n", "\n").replace('\n', "\r\n"));
    s.push_str("\r\n");
    s.into_bytes()
}

/// The features of one message, through the ingest parser.
pub fn features_of(m: &Labelled) -> Features {
    let raw = to_eml(m);
    let parsed = parse(&raw, &Limits::default()).unwrap_or_default();
    let e = concierge_inbound::country_evidence(&parsed, None);
    model::features(&findings(&e), concierge_core::country::facts(&e))
}

/// What happened to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Placed in its labelled country.
    Right,
    /// Placed confidently in another country (or placed at all when the
    /// label is "unknown").
    Wrong,
    /// Left to triage.
    Triage,
}

/// One message's result.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Index into the set.
    pub index: usize,
    /// Most probable country.
    pub best: Option<CountryCode>,
    /// Its probability.
    pub confidence: f32,
    /// The kind that contributed most to the best country.
    pub top_kind: Option<EvidenceKind>,
    /// Right, wrong or triage at the threshold.
    pub outcome: Outcome,
}

fn label(m: &Labelled) -> Option<CountryCode> {
    m.country.as_deref().and_then(|c| c.parse().ok())
}

/// Scores one message's features under `w` at `threshold`.
pub fn score(w: &Weights, threshold: f32, m: &Labelled, f: &Features, index: usize) -> Scored {
    let (p_unknown, probs) = model::probabilities(w, f);
    let best = probs
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .filter(|(_, p)| *p > p_unknown);
    let top_kind = best.and_then(|(c, _)| {
        let x = f.candidates.iter().find(|(fc, _)| *fc == c)?.1;
        (0..KINDS)
            .map(|k| (k, x[k] * w.kind[k]))
            .filter(|(_, v)| *v > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| EvidenceKind::ALL[k])
    });
    let (best_c, confidence) = best.map_or((None, p_unknown), |(c, p)| (Some(c), p));
    let placed = best_c.filter(|_| confidence >= threshold);
    let outcome = match (placed, label(m)) {
        (None, _) => Outcome::Triage,
        (Some(p), Some(l)) if p == l => Outcome::Right,
        _ => Outcome::Wrong,
    };
    Scored {
        index,
        best: best_c,
        confidence,
        top_kind,
        outcome,
    }
}

/// Counts of right, wrong and triaged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Placed in the labelled country.
    pub right: usize,
    /// Placed elsewhere (or placed with an "unknown" label).
    pub wrong: usize,
    /// Left to triage.
    pub triage: usize,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Right => self.right += 1,
            Outcome::Wrong => self.wrong += 1,
            Outcome::Triage => self.triage += 1,
        }
    }

    /// Messages counted.
    pub fn total(&self) -> usize {
        self.right + self.wrong + self.triage
    }

    fn pct(n: usize, d: usize) -> f64 {
        if d == 0 {
            0.0
        } else {
            100.0 * n as f64 / d as f64
        }
    }

    fn row(&self) -> String {
        let t = self.total();
        format!(
            "{:>5} {:>6} ({:5.1}%) {:>5} ({:4.1}%) {:>6} ({:4.1}%)",
            t,
            self.right,
            Self::pct(self.right, t),
            self.wrong,
            Self::pct(self.wrong, t),
            self.triage,
            Self::pct(self.triage, t)
        )
    }
}

/// The whole evaluation of a set under some weights.
#[derive(Debug, Clone)]
pub struct Report {
    /// Messages whose label is a country.
    pub placeable: Tally,
    /// Messages labelled "unknown": right means left to triage.
    pub unknown: Tally,
    /// Per message.
    pub scored: Vec<Scored>,
    /// The threshold used.
    pub threshold: f32,
}

impl Report {
    /// Share of placeable messages placed right, in percent.
    pub fn right_pct(&self) -> f64 {
        Tally::pct(self.placeable.right, self.placeable.total())
    }

    /// Share of placeable messages left to triage, in percent.
    pub fn triage_pct(&self) -> f64 {
        Tally::pct(self.placeable.triage, self.placeable.total())
    }

    /// Confidently wrong placements, over the whole set.
    pub fn wrong(&self) -> usize {
        self.placeable.wrong + self.unknown.wrong
    }
}

/// Evaluates `set` (with precomputed features) under `w`.
pub fn evaluate(w: &Weights, threshold: f32, set: &[Labelled], feats: &[Features]) -> Report {
    let mut placeable = Tally::default();
    let mut unknown = Tally::default();
    let mut scored = Vec::with_capacity(set.len());
    for (i, (m, f)) in set.iter().zip(feats).enumerate() {
        let s = score(w, threshold, m, f, i);
        if m.country.is_some() {
            placeable.add(s.outcome);
        } else {
            // For an unknown label, triage is the right answer.
            unknown.add(match s.outcome {
                Outcome::Triage => Outcome::Right,
                _ => Outcome::Wrong,
            });
        }
        scored.push(s);
    }
    Report {
        placeable,
        unknown,
        scored,
        threshold,
    }
}

/// The prior weights the fit starts from and is pulled towards (L2): a kind
/// the labelled set never shows (e.g. `history`, since the set has no
/// earlier cases) keeps its prior.
pub fn prior() -> Weights {
    use EvidenceKind::*;
    let mut kind = [0.0f32; KINDS];
    for (k, v) in [
        (Residence, 5.0),
        (Present, 3.0),
        (MovedTo, 4.0),
        (Based, 4.0),
        (Greeting, 2.0),
        (Label, 4.0),
        (Signature, 2.5),
        (Origin, 1.5),
        (Mention, 2.0),
        (Left, -1.0),
        (Tour, -0.5),
        (PhoneInternational, 2.5),
        (PhoneNational, 2.5),
        (Domain, 2.5),
        // The country of a requester's earlier case was placed or set by a
        // person; the labelled set has no earlier cases to fit it on.
        (History, 4.0),
        (Language, 1.5),
        (Timezone, 0.5),
    ] {
        kind[k.index()] = v;
    }
    Weights {
        kind,
        unknown: 2.0,
        // A message whose statements name two countries is hard to place;
        // one that says the writer splits their time between them cannot
        // be placed without asking (the set has only a few of these).
        unknown_global: [1.0, 0.5, 4.0],
        threshold: 0.9,
    }
}

/// Fits the weights by gradient ascent on the softmax log-likelihood with
/// an L2 penalty towards [`prior`]. A message whose labelled country has no
/// evidence counts as "unknown" (the best the model can do is triage it).
pub fn fit(set: &[Labelled], feats: &[Features], start: &Weights) -> Weights {
    let prior = prior();
    const STEPS: usize = 4000;
    const RATE: f32 = 0.5;
    const L2: f32 = 0.002;
    let n = set.len().max(1) as f32;
    let mut w = start.clone();
    for _ in 0..STEPS {
        let mut g = [0.0f32; KINDS];
        let mut g_unknown = 0.0f32;
        let mut g_global = [0.0f32; GLOBALS.len()];
        for (m, f) in set.iter().zip(feats) {
            let (p_unknown, probs) = model::probabilities(&w, f);
            let target = label(m).and_then(|l| f.candidates.iter().position(|(c, _)| *c == l));
            for ((_, x), (_, p)) in f.candidates.iter().zip(&probs) {
                for (gk, xk) in g.iter_mut().zip(x) {
                    *gk -= p * xk;
                }
            }
            let is_unknown = match target {
                Some(t) => {
                    for (gk, xk) in g.iter_mut().zip(&f.candidates[t].1) {
                        *gk += xk;
                    }
                    0.0
                }
                None => 1.0,
            };
            g_unknown += is_unknown - p_unknown;
            for (gg, x) in g_global.iter_mut().zip(f.globals) {
                *gg += (is_unknown - p_unknown) * x;
            }
        }
        for ((wk, gk), pk) in w.kind.iter_mut().zip(g).zip(prior.kind) {
            *wk += RATE * (gk / n - L2 * (*wk - pk));
        }
        w.unknown += RATE * (g_unknown / n);
        for ((u, gg), pu) in w
            .unknown_global
            .iter_mut()
            .zip(g_global)
            .zip(prior.unknown_global)
        {
            *u += RATE * (gg / n - L2 * (*u - pu));
        }
    }
    w
}

/// The lowest threshold (at least 0.5) above which nothing in the set is
/// placed wrongly: just above the most confident wrong guess.
pub fn calibrate(w: &Weights, set: &[Labelled], feats: &[Features]) -> f32 {
    let r = evaluate(w, 0.0, set, feats);
    let worst = r
        .scored
        .iter()
        .filter(|s| s.best.is_some() && s.best != label(&set[s.index]))
        .map(|s| s.confidence)
        .fold(0.0f32, f32::max);
    let t = (worst + 0.005).max(0.5);
    (t * 1000.0).ceil() / 1000.0
}

/// K-fold cross-validation: fit on the rest, evaluate each fold with its
/// own calibrated threshold. Returns the pooled tallies.
pub fn cross_validate(
    set: &[Labelled],
    feats: &[Features],
    start: &Weights,
    k: usize,
) -> (Tally, Tally) {
    let mut placeable = Tally::default();
    let mut unknown = Tally::default();
    for fold in 0..k {
        let (train, test): (Vec<usize>, Vec<usize>) = (0..set.len()).partition(|i| i % k != fold);
        let tr_set: Vec<Labelled> = train.iter().map(|i| set[*i].clone()).collect();
        let tr_f: Vec<Features> = train.iter().map(|i| feats[*i].clone()).collect();
        let mut w = fit(&tr_set, &tr_f, start);
        w.threshold = calibrate(&w, &tr_set, &tr_f);
        let te_set: Vec<Labelled> = test.iter().map(|i| set[*i].clone()).collect();
        let te_f: Vec<Features> = test.iter().map(|i| feats[*i].clone()).collect();
        let r = evaluate(&w, w.threshold, &te_set, &te_f);
        placeable.right += r.placeable.right;
        placeable.wrong += r.placeable.wrong;
        placeable.triage += r.placeable.triage;
        unknown.right += r.unknown.right;
        unknown.wrong += r.unknown.wrong;
        unknown.triage += r.unknown.triage;
    }
    (placeable, unknown)
}

/// The printed report.
pub fn render(set: &[Labelled], r: &Report, w: &Weights) -> String {
    let mut out = String::new();
    let head = format!(
        "{:<22}{:>5} {:>15} {:>13} {:>14}",
        "", "n", "right", "wrong", "triage"
    );
    let _ = writeln!(
        out,
        "Country inference on {} labelled messages (threshold {:.3})\n",
        set.len(),
        r.threshold
    );
    let _ = writeln!(out, "{head}");
    let _ = writeln!(out, "{:<22}{}", "with a country", r.placeable.row());
    let _ = writeln!(out, "{:<22}{}", "unknown (triage right)", r.unknown.row());

    let mut by_lang: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_kind: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_tag: BTreeMap<&str, Tally> = BTreeMap::new();
    for s in &r.scored {
        let m = &set[s.index];
        let o = if m.country.is_none() {
            if s.outcome == Outcome::Triage {
                Outcome::Right
            } else {
                Outcome::Wrong
            }
        } else {
            s.outcome
        };
        by_lang.entry(m.lang.as_str()).or_default().add(o);
        by_kind
            .entry(s.top_kind.map_or("(none)", |k| k.as_str()))
            .or_default()
            .add(o);
        for t in &m.tags {
            by_tag.entry(t.as_str()).or_default().add(o);
        }
    }
    let _ = writeln!(
        out,
        "\nPer language (unknown labels count as right when triaged)\n{head}"
    );
    for (k, t) in &by_lang {
        let _ = writeln!(out, "{k:<22}{}", t.row());
    }
    let _ = writeln!(out, "\nPer deciding evidence kind\n{head}");
    for (k, t) in &by_kind {
        let _ = writeln!(out, "{k:<22}{}", t.row());
    }
    let _ = writeln!(out, "\nPer tag of the labelled set\n{head}");
    for (k, t) in &by_tag {
        let _ = writeln!(out, "{k:<22}{}", t.row());
    }

    let buckets = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01];
    let _ = writeln!(
        out,
        "\nCalibration (best guess, every message)\n{:<14}{:>6} {:>8}",
        "confidence", "n", "right"
    );
    for b in buckets.windows(2) {
        let in_b: Vec<&Scored> = r
            .scored
            .iter()
            .filter(|s| s.best.is_some() && s.confidence >= b[0] && s.confidence < b[1])
            .collect();
        let right = in_b
            .iter()
            .filter(|s| s.best == label(&set[s.index]))
            .count();
        let _ = writeln!(
            out,
            "{:<14}{:>6} {:>7.1}%",
            format!("{:.2}–{:.2}", b[0], b[1].min(1.0)),
            in_b.len(),
            Tally::pct(right, in_b.len())
        );
    }

    let _ = writeln!(out, "\nWeights");
    for (k, v) in EvidenceKind::ALL.iter().zip(w.kind) {
        let _ = writeln!(out, "  {:<20}{v:>8.3}", k.as_str());
    }
    let _ = writeln!(out, "  {:<20}{:>8.3}", "unknown", w.unknown);
    for (g, v) in GLOBALS.iter().zip(w.unknown_global) {
        let _ = writeln!(out, "  {g:<20}{v:>8.3}");
    }

    let mut near: Vec<&Scored> = r
        .scored
        .iter()
        .filter(|s| s.best.is_some() && s.best != label(&set[s.index]))
        .collect();
    near.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let _ = writeln!(
        out,
        "\nMost confident wrong guesses (these set the threshold)"
    );
    for s in near.iter().take(8) {
        let m = &set[s.index];
        let _ = writeln!(
            out,
            "  {} label {} → {} ({:.3}) [{}]",
            m.id,
            m.country.as_deref().unwrap_or("unknown"),
            s.best.map_or("-".into(), |c| c.to_string()),
            s.confidence,
            m.tags.join(",")
        );
    }

    let wrong: Vec<&Scored> = r
        .scored
        .iter()
        .filter(|s| s.outcome == Outcome::Wrong)
        .collect();
    let _ = writeln!(
        out,
        "\nPlaced wrongly at or above the threshold: {}",
        wrong.len()
    );
    for s in wrong {
        let m = &set[s.index];
        let _ = writeln!(
            out,
            "  {} label {} → {} ({:.2})",
            m.id,
            m.country.as_deref().unwrap_or("unknown"),
            s.best.map_or("-".into(), |c| c.to_string()),
            s.confidence
        );
    }
    out
}

/// The list of triaged and wrong messages with their evidence, for tuning.
pub fn misses(set: &[Labelled], r: &Report) -> String {
    let mut out = String::new();
    for s in &r.scored {
        let m = &set[s.index];
        let miss = match s.outcome {
            Outcome::Right => false,
            Outcome::Wrong => true,
            // Triage is a miss for a placeable message, and worth seeing
            // for an unknown one that still had a confident guess.
            Outcome::Triage => m.country.is_some() || s.confidence >= 0.5,
        };
        if !miss {
            continue;
        }
        let _ = writeln!(
            out,
            "{} [{}] label {} best {} ({:.2}) {:?}",
            m.id,
            m.tags.join(","),
            m.country.as_deref().unwrap_or("-"),
            s.best.map_or("-".into(), |c| c.to_string()),
            s.confidence,
            s.outcome
        );
        let raw = to_eml(m);
        let parsed = parse(&raw, &Limits::default()).unwrap_or_default();
        let e = concierge_inbound::country_evidence(&parsed, None);
        for f in findings(&e) {
            let _ = writeln!(
                out,
                "    {:<18} {:?} {:?}",
                f.kind.as_str(),
                f.shares
                    .iter()
                    .take(3)
                    .map(|(c, p)| format!("{c}:{p:.2}"))
                    .collect::<Vec<_>>(),
                f.text
            );
        }
    }
    out
}

/// Mean and 99th percentile of the time to parse a message and infer its
/// country, in microseconds (the gazetteer already loaded).
pub fn timing(set: &[Labelled]) -> (f64, f64) {
    let mut times: Vec<f64> = Vec::with_capacity(set.len());
    for m in set {
        let raw = to_eml(m);
        let start = Instant::now();
        let parsed = parse(&raw, &Limits::default()).unwrap_or_default();
        let e = concierge_inbound::country_evidence(&parsed, None);
        let _ = concierge_core::country::analyze_country(&e);
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let p99 = times
        .get(((times.len() as f64) * 0.99) as usize)
        .or(times.last())
        .copied()
        .unwrap_or(0.0);
    (mean, p99)
}
