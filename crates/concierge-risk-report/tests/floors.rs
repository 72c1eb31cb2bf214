//! The targets (issue 13): in every language, recall on imminent
//! ≥ 0.95 and false alarms on traps ≤ 0.10, on the main set and on the
//! holdout. This test fails when a change breaks them.

use concierge_core::risk::RiskRules;
use concierge_risk_report::{below_targets, default_fixtures, evaluate, load, misses, render};

const LANGS: [&str; 9] = ["de", "en", "es", "fr", "it", "ja", "nl", "pt", "sv"];

fn check(dir: std::path::PathBuf, min_per_lang: usize) {
    let set = load(&dir).expect("labelled set loads");
    let r = evaluate(&set, RiskRules::builtin());
    for l in LANGS {
        let n = r.per_lang.get(l).map_or(0, |c| c.n);
        assert!(n >= min_per_lang, "{l}: {n} messages in {}", dir.display());
    }
    let bad = below_targets(&r, 0.95, 0.10);
    assert!(
        bad.is_empty(),
        "below the issue's targets: {bad:?}\n{}\n{}",
        render("figures", &r),
        misses(&set, &r)
    );
}

#[test]
fn main_set_meets_the_targets() {
    check(default_fixtures(), 40);
}

#[test]
fn holdout_meets_the_targets() {
    check(default_fixtures().join("holdout"), 12);
}
