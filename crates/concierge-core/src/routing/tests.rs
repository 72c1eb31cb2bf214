use super::*;
use crate::ticket::Priority;

fn v(
    id: &str,
    countries: &[&str],
    langs: &[&str],
    cap: i32,
    active: i64,
    idle: Option<i64>,
) -> Volunteer<String> {
    Volunteer {
        id: id.into(),
        countries: countries.iter().map(|s| s.to_string()).collect(),
        languages: langs.iter().map(|s| s.to_string()).collect(),
        capacity: cap,
        active_cases: active,
        idle_secs: idle,
    }
}

fn case<'a>(country: &str, lang: Option<&'a str>) -> Case<'a> {
    Case {
        country: country.parse().ok(),
        language: lang,
    }
}

fn route(c: &Case<'_>, all: &[Volunteer<String>]) -> Decision<String> {
    match tier_candidates(c, all) {
        Some((tier, cands)) => {
            let owned: Vec<_> = cands.into_iter().cloned().collect();
            choose(c, tier, &owned)
        }
        None if c.country.is_none() => Decision::Triage {
            reason: "country unknown".into(),
        },
        None => Decision::Triage {
            reason: "nobody".into(),
        },
    }
}

fn assigned(d: &Decision<String>) -> &str {
    match d {
        Decision::Assign { volunteer, .. } => volunteer,
        other => panic!("expected an assignment, got {other:?}"),
    }
}

#[test]
fn country_coverage_wins() {
    let all = vec![
        v("pt-speaker-pt", &["PT"], &["pt"], 5, 0, None),
        v("br", &["BR"], &["pt", "en"], 5, 2, Some(10)),
        v("global", &["*"], &["en"], 50, 0, None),
    ];
    let d = route(&case("BR", Some("pt")), &all);
    assert_eq!(assigned(&d), "br");
    let Decision::Assign { reason, .. } = d else {
        unreachable!()
    };
    assert_eq!(reason, "covers BR, speaks pt, 2/5 active");
}

#[test]
fn language_then_load_then_longest_wait() {
    let all = vec![
        v("en-only", &["BR"], &["en"], 5, 0, None),
        v("pt-busy", &["BR"], &["pt"], 5, 3, Some(1000)),
        v("pt-light", &["BR"], &["pt"], 5, 1, Some(5)),
        v("pt-light-waited", &["BR"], &["pt"], 5, 1, Some(500)),
    ];
    assert_eq!(
        assigned(&route(&case("BR", Some("pt")), &all)),
        "pt-light-waited"
    );
    // Without a language, the lightest load wins.
    assert_eq!(assigned(&route(&case("BR", None), &all)), "en-only");
    // Never assigned beats any wait.
    let all = vec![
        v("a", &["BR"], &[], 5, 1, Some(99_999)),
        v("b", &["BR"], &[], 5, 1, None),
    ];
    assert_eq!(assigned(&route(&case("BR", None), &all)), "b");
}

#[test]
fn a_language_speaker_at_capacity_is_skipped() {
    let all = vec![
        v("pt-full", &["BR"], &["pt"], 2, 2, None),
        v("en", &["BR"], &["en"], 2, 1, None),
    ];
    let d = route(&case("BR", Some("pt")), &all);
    assert_eq!(assigned(&d), "en");
    let Decision::Assign { reason, .. } = d else {
        unreachable!()
    };
    assert!(reason.contains("does not speak pt"), "{reason}");
}

#[test]
fn full_country_waits_instead_of_falling_back() {
    let all = vec![
        v("br", &["BR"], &["pt"], 1, 1, None),
        v("ar", &["AR"], &["es"], 5, 0, None),
        v("g", &["*"], &[], 9, 0, None),
    ];
    assert!(matches!(
        route(&case("BR", Some("pt")), &all),
        Decision::Wait { .. }
    ));
}

#[test]
fn fallback_chain_subregion_then_global_then_triage() {
    let all = vec![
        v("ar", &["AR"], &["es"], 5, 0, None),
        v("de", &["DE"], &["de"], 5, 0, None),
        v("g", &["*"], &["en"], 9, 0, None),
    ];
    // Chile: nobody covers CL, AR is in South America.
    let d = route(&case("CL", Some("es")), &all);
    assert_eq!(assigned(&d), "ar");
    let Decision::Assign { reason, .. } = d else {
        unreachable!()
    };
    assert!(reason.contains("South America"), "{reason}");
    // Japan: nobody in Eastern Asia → global pool.
    let d = route(&case("JP", Some("ja")), &all);
    assert_eq!(assigned(&d), "g");
    // No global pool → triage.
    let all = vec![v("ar", &["AR"], &["es"], 5, 0, None)];
    assert!(matches!(
        route(&case("JP", None), &all),
        Decision::Triage { .. }
    ));
    // Unknown country → triage.
    assert!(matches!(
        route(
            &Case {
                country: None,
                language: Some("en")
            },
            &all
        ),
        Decision::Triage { .. }
    ));
}

#[test]
fn zero_capacity_never_gets_cases() {
    let all = vec![v("z", &["BR"], &["pt"], 0, 0, None)];
    assert!(matches!(
        route(&case("BR", Some("pt")), &all),
        Decision::Wait { .. }
    ));
}

#[test]
fn sla_targets() {
    let t = SlaTargets::default();
    assert_eq!(first_response_due(0, Priority::Urgent, &t), 3600);
    assert_eq!(first_response_due(100, Priority::Normal, &t), 100 + 86_400);
    assert!(t.minutes(Priority::Low) > t.minutes(Priority::Normal));
}
