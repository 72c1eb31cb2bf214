use super::*;

fn level(text: &str) -> RiskLevel {
    assess(text, None, RiskRules::builtin()).level
}

fn check(text: &str, want: RiskLevel) {
    let a = assess(text, None, RiskRules::builtin());
    assert_eq!(a.level, want, "{text:?}: {:#?}", a.evidence);
}

#[test]
fn every_shipped_file_parses_and_ids_are_namespaced() {
    let r = RiskRules::builtin();
    let langs: Vec<&str> = r.languages().collect();
    for l in ["de", "en", "es", "fr", "it", "ja", "nl", "pt", "sv"] {
        assert!(langs.contains(&l), "{l} missing");
    }
    for lr in &r.langs {
        assert!(!lr.rules.is_empty(), "{}", lr.lang);
        for rule in &lr.rules {
            assert!(rule.id.starts_with(&format!("{}.", lr.lang)), "{}", rule.id);
        }
    }
    assert!(r.rule_count() >= 70);
}

#[test]
fn levels_order_parse_and_serialise() {
    assert!(RiskLevel::None < RiskLevel::Concern && RiskLevel::Concern < RiskLevel::Imminent);
    for l in [RiskLevel::None, RiskLevel::Concern, RiskLevel::Imminent] {
        assert_eq!(l.as_str().parse::<RiskLevel>(), Ok(l));
    }
    assert!("urgent".parse::<RiskLevel>().is_err());
    assert_eq!(RiskLevel::Imminent.to_string(), "imminent");
}

#[test]
fn intent_plan_and_recent_acts_are_imminent() {
    check(
        "i'm going to kill myself tonight after the show",
        RiskLevel::Imminent,
    );
    check(
        "took a bunch of pills an hour ago, feel weird",
        RiskLevel::Imminent,
    );
    check("this is goodbye. thanks for trying", RiskLevel::Imminent);
    check("me voy a quitar la vida esta noche", RiskLevel::Imminent);
}

#[test]
fn ideation_without_plan_is_concern_and_a_time_frame_escalates_it() {
    check("I sometimes wish I wasn't here", RiskLevel::Concern);
    check(
        "everyone would be better off without me",
        RiskLevel::Concern,
    );
    check(
        "everyone would be better off without me. tonight i'm on the bridge",
        RiskLevel::Imminent,
    );
    check("i attempted suicide in 2019", RiskLevel::Concern);
    // A past overdose is history, not a recent act.
    check("i took an overdose last year", RiskLevel::Concern);
}

#[test]
fn negation_is_not_risk() {
    check("I'm not suicidal, just exhausted", RiskLevel::None);
    check("ich bin nicht suizidal, nur müde", RiskLevel::None);
    check(
        "ich will mich nicht umbringen, ich bin nur down",
        RiskLevel::None,
    );
    check(
        "no estoy pensando en suicidarme, solo cansada",
        RiskLevel::None,
    );
    // Negation of another language still counts (mixed messages).
    check("hola! not suicidal, solo cansado", RiskLevel::None);
}

#[test]
fn figurative_use_is_not_risk() {
    for t in [
        "this tour is killing me",
        "I'd kill for a day off",
        "the crowd died and I died on stage",
        "la gira me está matando",
        "den här turnén tar livet av mig haha",
        "このツアーで死ぬ笑",
    ] {
        check(t, RiskLevel::None);
    }
}

#[test]
fn titles_and_lyrics_are_not_risk() {
    check(
        "my song called \"I Want To Die Tonight\" got flagged",
        RiskLevel::None,
    );
    check("my song called I Want To Die got flagged", RiskLevel::None);
    check("unser album heißt „Abschiedsbrief“", RiskLevel::None);
    check("新曲のタイトルが「死にたい夜に」です", RiskLevel::None);
    // Quotes without a title cue are still read: someone's words matter.
    assert_eq!(
        level("my bassist texted \"i'm going to kill myself tonight\""),
        RiskLevel::Imminent
    );
}

#[test]
fn advocacy_is_not_risk() {
    check(
        "I run a suicide prevention workshop for crew",
        RiskLevel::None,
    );
    check("a gig for World Suicide Prevention Day", RiskLevel::None);
    check("doy un taller de prevención del suicidio", RiskLevel::None);
}

#[test]
fn news_of_a_death_is_grief_not_imminent_risk() {
    check("our drummer's father died last week", RiskLevel::None);
    check(
        "a friend took his own life last month, is there grief support?",
        RiskLevel::None,
    );
}

#[test]
fn third_person_risk_is_imminent_about_someone_else() {
    let a = assess(
        "my bassist told me he's going to end it tonight. he's not picking up",
        Some("en"),
        RiskRules::builtin(),
    );
    assert_eq!(a.level, RiskLevel::Imminent, "{:#?}", a.evidence);
    assert!(
        a.evidence.iter().all(|e| e.subject == Subject::Other),
        "{:#?}",
        a.evidence
    );
    assert!(a.about_other());
    let a = assess(
        "mi bajista me dijo que se va a matar esta noche",
        None,
        RiskRules::builtin(),
    );
    assert_eq!(a.level, RiskLevel::Imminent);
    assert!(a.about_other());
    let a = assess(
        "my boyfriend (drummer) took an overdose",
        None,
        RiskRules::builtin(),
    );
    assert_eq!(a.level, RiskLevel::Imminent);
    assert!(a.about_other(), "{:#?}", a.evidence);
}

#[test]
fn quoted_mail_is_ignored() {
    check(
        "thanks, feeling better\n\nOn Mon, 1 Dec 2026 at 22:10, Concierge <help@x.example> wrote:\n> i want to kill myself",
        RiskLevel::None,
    );
    check(
        "thanks\nOn Mon, 1 Dec 2026 at 22:10, Someone Long Name <someone@example.org>\nwrote:\n> i'm going to kill myself tonight",
        RiskLevel::None,
    );
    check(
        "danke\n\nAm Mo., 1. Dez. 2026 um 22:10 schrieb Lena <l@x.example>:\n> ich werde mich heute umbringen",
        RiskLevel::None,
    );
    check(
        "gracias\n\nEl lun, 1 dic 2026, Ana escribió:\n> me voy a matar",
        RiskLevel::None,
    );
    check(
        "fyi\n\n-----Original Message-----\nFrom: x\ni'm going to kill myself",
        RiskLevel::None,
    );
    check(
        "yes thursday\n> i'm going to kill myself tonight\nsee you",
        RiskLevel::None,
    );
    // The fresh text above the quote still counts.
    check(
        "i'm going to kill myself tonight\n\nOn Mon, Concierge <a@b.example> wrote:\n> hi",
        RiskLevel::Imminent,
    );
}

#[test]
fn japanese_is_matched_without_spaces() {
    check("今夜死にます。ありがとう", RiskLevel::Imminent);
    check("ときどき消えたいと思う", RiskLevel::Concern);
    check(
        "死にたいわけではないです、ただ疲れています",
        RiskLevel::None,
    );
    check(
        "ミュージシャン向けの自殺予防の講座を開いています",
        RiskLevel::None,
    );
}

#[test]
fn evidence_names_the_rule_and_the_text_as_written() {
    let a = assess(
        "Hi. I'm Going To KILL MYSELF tonight",
        Some("en"),
        RiskRules::builtin(),
    );
    let e = a.evidence.first().expect("evidence");
    assert_eq!(e.rule_id, "en.intent.kill-self");
    assert_eq!(e.phrase, "Going To KILL MYSELF");
    assert_eq!(e.lang, "en");
    let long = format!("i want to die {}", "x".repeat(500));
    let a = assess(&long, None, RiskRules::builtin());
    assert!(a.evidence.iter().all(|e| e.phrase.chars().count() <= 121));
}

#[test]
fn hostile_text_does_not_panic() {
    for t in [
        "",
        ">",
        "\"",
        "'",
        "«",
        "「",
        "\u{0130}\u{0130}\u{0130} kill myself",
        "a\u{0301}",
        "-----\n",
        "\n\n\n",
        "…",
    ] {
        let _ = assess(t, Some("xx"), RiskRules::builtin());
    }
    let big = "i want to die ".repeat(2000);
    assert_eq!(level(&big), RiskLevel::Concern);
}

#[test]
fn the_loader_reports_bad_files() {
    assert!(matches!(
        RiskRules::parse("en", "lang = "),
        Err(RiskRulesError::Toml { .. })
    ));
    assert!(matches!(
        RiskRules::parse("en", "lang = \"de\""),
        Err(RiskRulesError::Invalid { .. })
    ));
    let bad_id = "lang = \"en\"\n[[rule]]\nid = \"x\"\nlevel = \"concern\"\nphrases = [\"a\"]\n";
    assert!(matches!(
        RiskRules::parse("en", bad_id),
        Err(RiskRulesError::Invalid { .. })
    ));
    let bad_level = "lang = \"en\"\n[[rule]]\nid = \"en.x\"\nlevel = \"high\"\nphrases = [\"a\"]\n";
    assert!(matches!(
        RiskRules::parse("en", bad_level),
        Err(RiskRulesError::Invalid { .. })
    ));
    let ok = "lang = \"en\"\n[[rule]]\nid = \"en.x\"\nlevel = \"imminent\"\nphrases = [\"purple ... elephant\"]\n";
    let r = RiskRules::parse("en", ok).expect("parses");
    assert_eq!(
        assess("a purple big elephant", None, &r).level,
        RiskLevel::Imminent
    );
    assert!(matches!(
        RiskRules::from_dir("/nonexistent/risk"),
        Err(RiskRulesError::Io { .. })
    ));
}

#[test]
fn from_dir_loads_the_shipped_folder() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/risk");
    let r = RiskRules::from_dir(dir).expect("loads");
    assert_eq!(r.rule_count(), RiskRules::builtin().rule_count());
}
