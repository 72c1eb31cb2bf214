//! The country report's figures on the labelled set, checked against
//! floors so a change that places fewer writers, or places one wrongly,
//! fails CI. The floors are issue #11's targets (≥ 95 % placed right,
//! ≤ 5 % to triage, none placed wrongly), which today's figures meet
//! (BENCHMARKS.md).

use concierge_core::country::model;
use concierge_country_report::{Outcome, default_fixtures, evaluate, features_of, load, to_eml};
use concierge_mail::inbound::{Limits, parse};

#[test]
fn labelled_set_meets_the_floors() {
    let set = load(&default_fixtures()).expect("labelled set loads");
    assert!(set.len() >= 400, "the set has {} messages", set.len());
    let langs: std::collections::BTreeSet<&str> = set.iter().map(|m| m.lang.as_str()).collect();
    assert!(langs.len() >= 20, "{} languages", langs.len());

    let feats: Vec<_> = set.iter().map(features_of).collect();
    let w = model::weights();
    let r = evaluate(w, w.threshold, &set, &feats);
    let wrong: Vec<&str> = r
        .scored
        .iter()
        .filter(|s| s.outcome == Outcome::Wrong)
        .map(|s| set[s.index].id.as_str())
        .collect();
    assert!(
        wrong.is_empty(),
        "placed wrongly at or above the threshold: {wrong:?}"
    );
    assert!(r.right_pct() >= 95.0, "placed right: {:.1}%", r.right_pct());
    assert!(
        r.triage_pct() <= 5.0,
        "left to triage: {:.1}%",
        r.triage_pct()
    );
}

#[test]
fn every_labelled_message_parses_through_the_ingest_parser() {
    let set = load(&default_fixtures()).expect("labelled set loads");
    for m in &set {
        let p = parse(&to_eml(m), &Limits::default()).expect("parses");
        assert_eq!(
            p.from.as_ref().map(|a| a.as_str()),
            Some(m.from.as_str()),
            "{}",
            m.id
        );
        assert!(!p.text.trim().is_empty(), "{}", m.id);
    }
}
