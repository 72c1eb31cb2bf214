//! The scoring model: a log-linear (softmax) model over candidate countries
//! plus "unknown".
//!
//! Every finding adds `weight[kind] × share` to each country it names
//! (a kind counts once per country: the largest share). The probability of
//! country `c` is `exp(s_c) / (exp(u) + Σ exp(s_k))`, where the score of
//! "unknown" `u` is a base weight plus a weight for each of two facts about
//! the whole message: its statements name several countries (conflict), or
//! it states no place at all (only phone, domain, language, offset). The weights and the threshold live in
//! `data/country/weights.tsv`, fitted by `concierge-country-report --fit`
//! on the labelled set, so a confidence is a measured probability.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::evidence::{EvidenceItem, EvidenceKind, Facts, Finding};
use super::{CountryCode, CountryGuess, CountryInference};

/// Number of evidence kinds (length of the weight vector).
pub const KINDS: usize = EvidenceKind::ALL.len();

/// Facts about the whole message that speak for "unknown".
pub const GLOBALS: [&str; 3] = [
    "unknown_if_conflict",
    "unknown_if_unstated",
    "unknown_if_splits_time",
];

/// Fitted weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// Per kind, in [`EvidenceKind::ALL`] order.
    pub kind: [f32; KINDS],
    /// Base score of "unknown" (the case goes to triage).
    pub unknown: f32,
    /// Added to "unknown" per global fact, in [`GLOBALS`] order.
    pub unknown_global: [f32; GLOBALS.len()],
    /// Calibrated placement threshold.
    pub threshold: f32,
}

/// The weights file compiled into the binary.
pub const WEIGHTS_TSV: &str = include_str!("../../data/country/weights.tsv");

/// Error in a weights file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("weights file, line {line}: {message}")]
pub struct WeightsError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Weights {
    /// Parses `name<TAB>value` lines (`#` comments); every kind, `unknown`
    /// and `threshold` must be present.
    pub fn parse(tsv: &str) -> Result<Self, WeightsError> {
        let mut kind = [f32::NAN; KINDS];
        let mut unknown = f32::NAN;
        let mut unknown_global = [f32::NAN; GLOBALS.len()];
        let mut threshold = f32::NAN;
        for (n, raw) in tsv.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| WeightsError {
                line: n + 1,
                message,
            };
            let (name, value) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| err("expected `name value`".into()))?;
            let value: f32 = value
                .trim()
                .parse()
                .map_err(|_| err(format!("{value:?} is not a number")))?;
            if !value.is_finite() {
                return Err(err("not finite".into()));
            }
            match name {
                "unknown" => unknown = value,
                "threshold" => threshold = value,
                g if GLOBALS.contains(&g) => {
                    let i = GLOBALS.iter().position(|x| *x == g).unwrap_or(0);
                    unknown_global[i] = value;
                }
                other => {
                    let k = EvidenceKind::ALL
                        .iter()
                        .position(|k| k.as_str() == other)
                        .ok_or_else(|| err(format!("unknown kind {other:?}")))?;
                    kind[k] = value;
                }
            }
        }
        let missing = EvidenceKind::ALL
            .iter()
            .zip(kind)
            .find(|(_, w)| w.is_nan())
            .map(|(k, _)| k.as_str())
            .or(unknown.is_nan().then_some("unknown"))
            .or(GLOBALS
                .iter()
                .zip(unknown_global)
                .find(|(_, w)| w.is_nan())
                .map(|(g, _)| *g))
            .or(threshold.is_nan().then_some("threshold"));
        if let Some(m) = missing {
            return Err(WeightsError {
                line: 0,
                message: format!("{m} is missing"),
            });
        }
        Ok(Self {
            kind,
            unknown,
            unknown_global,
            threshold,
        })
    }

    /// The file form, with a header comment.
    pub fn to_tsv(&self, header: &str) -> String {
        let mut out = String::new();
        for l in header.lines() {
            out.push_str("# ");
            out.push_str(l);
            out.push('\n');
        }
        for (k, w) in EvidenceKind::ALL.iter().zip(self.kind) {
            out.push_str(&format!("{}\t{w:.4}\n", k.as_str()));
        }
        out.push_str(&format!("unknown\t{:.4}\n", self.unknown));
        for (g, w) in GLOBALS.iter().zip(self.unknown_global) {
            out.push_str(&format!("{g}\t{w:.4}\n"));
        }
        out.push_str(&format!("threshold\t{:.4}\n", self.threshold));
        out
    }
}

static WEIGHTS: LazyLock<Weights> = LazyLock::new(|| {
    // The file is ours and checked by a test; a broken one must not panic
    // a server, so fall back to "everything to triage".
    Weights::parse(WEIGHTS_TSV).unwrap_or(Weights {
        kind: [0.0; KINDS],
        unknown: 10.0,
        unknown_global: [0.0; GLOBALS.len()],
        threshold: 1.0,
    })
});

/// The compiled-in weights.
pub fn weights() -> &'static Weights {
    &WEIGHTS
}

/// A message's features: per candidate country the largest share per
/// kind, and the global facts that speak for "unknown".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Features {
    /// Per candidate country, in country order.
    pub candidates: Vec<(CountryCode, [f32; KINDS])>,
    /// 1.0 where the fact holds, in [`GLOBALS`] order.
    pub globals: [f32; GLOBALS.len()],
}

/// Kinds that say where the writer is now.
fn is_statement(k: EvidenceKind) -> bool {
    use EvidenceKind::*;
    matches!(
        k,
        Residence | Present | MovedTo | Based | Greeting | Label | Signature | Mention
    )
}

/// Kinds by which a person says plainly where they live now.
fn is_clear_statement(k: EvidenceKind) -> bool {
    use EvidenceKind::*;
    matches!(k, Residence | Present | MovedTo | Based | Label)
}

/// Kinds by which a person says where their home is now.
fn is_home_statement(k: EvidenceKind) -> bool {
    use EvidenceKind::*;
    matches!(k, Residence | MovedTo | Based | Label)
}

/// How much phone, domain, history, language and offset still count for a
/// country when the writer plainly states another one and not this one:
/// "an explicit statement beats phone, domain and history" (people keep
/// their numbers and addresses when they move).
pub const UNSTATED_DISCOUNT: f32 = 0.35;

/// The features of a message's findings.
pub fn features(findings: &[Finding], facts: Facts) -> Features {
    let mut map: BTreeMap<CountryCode, [f32; KINDS]> = BTreeMap::new();
    let mut stated: Vec<CountryCode> = Vec::new();
    for f in findings {
        let k = f.kind.index();
        for (c, share) in &f.shares {
            let x = map.entry(*c).or_insert([0.0; KINDS]);
            x[k] = x[k].max(*share);
        }
        if is_statement(f.kind)
            && let Some((c, share)) = f.shares.first()
            && *share >= 0.5
            && !stated.contains(c)
        {
            stated.push(*c);
        }
    }
    let any_statement = findings.iter().any(|f| is_statement(f.kind));
    let clearly_stated: Vec<CountryCode> = findings
        .iter()
        .filter(|f| is_clear_statement(f.kind))
        .filter_map(|f| f.shares.first().filter(|s| s.1 >= 0.5).map(|s| s.0))
        .collect();
    // Where the writer says they live now ("I live in Lisbon; right now I'm
    // in Rio"), every other country counts at a discount, statements too.
    let home: Vec<CountryCode> = findings
        .iter()
        .filter(|f| is_home_statement(f.kind))
        .filter_map(|f| f.shares.first().filter(|s| s.1 >= 0.5).map(|s| s.0))
        .collect();
    if !home.is_empty() {
        for (c, x) in map.iter_mut() {
            if !home.contains(c) {
                for v in x.iter_mut() {
                    *v *= UNSTATED_DISCOUNT;
                }
            }
        }
    }
    // A country they say they left keeps only a share of what they brought
    // from it (an old address, an old number): "I used to live in Berlin"
    // from a .de address is not a German case.
    let left: Vec<CountryCode> = findings
        .iter()
        .filter(|f| f.kind == EvidenceKind::Left)
        .filter_map(|f| f.shares.first().filter(|s| s.1 >= 0.5).map(|s| s.0))
        .filter(|c| !home.contains(c) && !clearly_stated.contains(c))
        .collect();
    for c in &left {
        if let Some(x) = map.get_mut(c) {
            for k in EvidenceKind::ALL {
                if k.source() != super::CountrySource::Stated {
                    x[k.index()] *= UNSTATED_DISCOUNT;
                }
            }
        }
    }
    if !clearly_stated.is_empty() {
        for (c, x) in map.iter_mut() {
            let stated_here = EvidenceKind::ALL
                .iter()
                .any(|k| is_statement(*k) && x[k.index()] > 0.0);
            if !clearly_stated.contains(c) && !stated_here {
                for k in EvidenceKind::ALL {
                    if k.source() != super::CountrySource::Stated {
                        x[k.index()] *= UNSTATED_DISCOUNT;
                    }
                }
            }
        }
    }
    Features {
        candidates: map.into_iter().collect(),
        globals: [
            if stated.len() >= 2 { 1.0 } else { 0.0 },
            if any_statement { 0.0 } else { 1.0 },
            if facts.splits_time && stated.len() >= 2 {
                1.0
            } else {
                0.0
            },
        ],
    }
}

/// The score of "unknown" for a message.
pub fn unknown_score(w: &Weights, f: &Features) -> f32 {
    w.unknown
        + f.globals
            .iter()
            .zip(w.unknown_global)
            .map(|(x, w)| x * w)
            .sum::<f32>()
}

/// Probabilities of "unknown" and of each candidate under `w`.
pub fn probabilities(w: &Weights, features: &Features) -> (f32, Vec<(CountryCode, f32)>) {
    let scores: Vec<f32> = features
        .candidates
        .iter()
        .map(|(_, x)| x.iter().zip(w.kind).map(|(x, w)| x * w).sum())
        .collect();
    let u = unknown_score(w, features);
    let max = scores.iter().copied().fold(u, f32::max);
    let e_unknown = (u - max).exp();
    let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let total = e_unknown + exps.iter().sum::<f32>();
    let probs = features
        .candidates
        .iter()
        .zip(exps)
        .map(|((c, _), e)| (*c, e / total))
        .collect();
    (e_unknown / total, probs)
}

/// Weighs findings with the compiled-in weights.
pub fn decide(findings: Vec<Finding>, facts: Facts) -> CountryInference {
    decide_with(weights(), findings, facts)
}

/// Weighs findings with the given weights.
pub fn decide_with(w: &Weights, findings: Vec<Finding>, facts: Facts) -> CountryInference {
    let feats = features(&findings, facts);
    let (p_unknown, mut candidates) = probabilities(w, &feats);
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));

    let mut evidence: Vec<EvidenceItem> = Vec::new();
    for f in findings {
        let wk = w.kind[f.kind.index()];
        for (c, share) in &f.shares {
            evidence.push(EvidenceItem {
                kind: f.kind,
                country: *c,
                text: f.text.clone(),
                weight: wk * share,
                note: f.note.clone(),
            });
        }
    }
    evidence.sort_by(|a, b| b.weight.total_cmp(&a.weight));

    let best = candidates
        .first()
        .filter(|(_, p)| *p > p_unknown)
        .map(|(country, p)| {
            let source = evidence
                .iter()
                .filter(|e| e.country == *country)
                .max_by(|a, b| a.weight.total_cmp(&b.weight))
                .map_or(super::CountrySource::Stated, |e| e.kind.source());
            CountryGuess {
                country: *country,
                source,
                confidence: *p,
            }
        });
    CountryInference {
        best,
        evidence,
        candidates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_weights_parse() {
        let w = Weights::parse(WEIGHTS_TSV).expect("data/country/weights.tsv parses");
        assert!((0.0..=1.0).contains(&w.threshold));
        let again = Weights::parse(&w.to_tsv("round trip")).expect("round trip");
        for (a, b) in w.kind.iter().zip(again.kind) {
            assert!((a - b).abs() < 1e-3);
        }
    }

    #[test]
    fn weights_file_errors_name_the_line() {
        let e = Weights::parse("residence\tabc\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = Weights::parse("residence\t1\n").unwrap_err();
        assert!(e.message.contains("missing"), "{e}");
        let e = Weights::parse("bogus\t1\n").unwrap_err();
        assert!(e.message.contains("bogus"));
    }

    #[test]
    fn more_evidence_means_more_confidence() {
        let w = weights();
        let br: CountryCode = "BR".parse().unwrap();
        let one = vec![Finding::one(EvidenceKind::Domain, br, ".br")];
        let mut two = one.clone();
        two.push(Finding::one(EvidenceKind::Residence, br, "moro em Recife"));
        let a = decide_with(w, one, Facts::default())
            .best
            .unwrap()
            .confidence;
        let b = decide_with(w, two, Facts::default())
            .best
            .unwrap()
            .confidence;
        assert!(b > a, "{b} > {a}");
        assert!(decide_with(w, Vec::new(), Facts::default()).best.is_none());
    }
}
