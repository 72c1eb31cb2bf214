use super::*;

const REAL: &str = include_str!("../../../config/resource-hub/hub.toml");

fn one(entry: &str) -> Result<Hub, HubError> {
    parse(&format!("schema_version = 1\n\n[[entry]]\n{entry}"))
}

const GOOD: &str = r#"id = "xx-line"
name = "Line"
kind = "crisis_line"
countries = ["BR"]
languages = ["pt"]
phone = ["188"]
source = "example.org"
last_verified = "2026-11-25"
verification = "sourced"
[entry.description]
en = "Call 188."
"#;

fn problems(entry: &str) -> Vec<String> {
    match one(entry) {
        Err(HubError::Invalid(p)) => p.iter().map(ToString::to_string).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn the_real_hub_file_parses_and_covers_25_countries() {
    let hub = parse(REAL).unwrap();
    assert!(hub.entries.len() >= 40, "{}", hub.entries.len());
    let countries = hub.countries_with_crisis_line();
    assert!(countries.len() >= 25, "{countries:?}");
    for e in &hub.entries {
        assert!(!e.source.trim().is_empty(), "{} has no source", e.id);
        assert!(e.description.contains_key("en"), "{}", e.id);
    }
    let cvv = hub.entries.iter().find(|e| e.id == "br-cvv").unwrap();
    assert_eq!(cvv.kind, Kind::CrisisLine);
    assert_eq!(cvv.phone, ["188"]);
    assert_eq!(cvv.countries, ["BR"]);
    assert_eq!(cvv.last_verified.to_string(), "2026-11-25");
    assert_eq!(cvv.description_in("pt").unwrap().0, "pt");
    assert_eq!(cvv.description_in("ja").unwrap().0, "en");
    assert_eq!(cvv.email, None);
    assert!(hub.entries.iter().any(|e| e.is_global()));
}

#[test]
fn a_good_entry_parses_and_a_toml_date_is_accepted() {
    let hub = one(GOOD).unwrap();
    assert_eq!(hub.entries[0].cost, "unknown");
    assert_eq!(hub.entries[0].hours, None);
    let native = GOOD.replace("\"2026-11-25\"", "2024-02-29");
    assert_eq!(
        one(&native).unwrap().entries[0].last_verified,
        Date {
            year: 2024,
            month: 2,
            day: 29
        }
    );
}

#[test]
fn bad_entries_are_rejected_naming_the_id() {
    let cases = [
        (GOOD.replace("[\"BR\"]", "[\"br\"]"), "country \"br\""),
        (GOOD.replace("[\"BR\"]", "[\"BRA\"]"), "country \"BRA\""),
        (GOOD.replace("[\"BR\"]", "[]"), "countries is empty"),
        (GOOD.replace("[\"BR\"]", "[\"*\", \"BR\"]"), "only country"),
        (GOOD.replace("crisis_line", "hotline"), "kind \"hotline\""),
        (
            GOOD.replace("source = \"example.org\"", "source = \"  \""),
            "source is empty",
        ),
        (
            GOOD.replace("source = \"example.org\"\n", ""),
            "source is empty",
        ),
        (GOOD.replace("2026-11-25", "2026-02-30"), "last_verified"),
        (GOOD.replace("2026-11-25", "25/11/2026"), "last_verified"),
        (
            GOOD.replace("last_verified = \"2026-11-25\"\n", ""),
            "last_verified is missing",
        ),
        (
            GOOD.replace("\"sourced\"", "\"unverified\""),
            "notes must say",
        ),
        (
            GOOD.replace("\"sourced\"", "\"maybe\""),
            "verification \"maybe\"",
        ),
        (
            GOOD.replace("[\"188\"]", "[\"call 188\"]"),
            "phone \"call 188\"",
        ),
        (
            GOOD.replace("phone = [\"188\"]", "web = \"javascript:alert(1)\""),
            "web \"javascript:alert(1)\"",
        ),
        (
            GOOD.replace("en = \"Call 188.\"", "pt = \"Ligue 188.\""),
            "no `en` text",
        ),
    ];
    for (entry, expected) in cases {
        let p = problems(&entry);
        assert!(
            p.iter()
                .any(|m| m.starts_with("entry \"xx-line\":") && m.contains(expected)),
            "{expected}: {p:?}"
        );
    }
}

#[test]
fn ids_must_be_unique_slugs() {
    let p = problems(&format!("{GOOD}\n[[entry]]\n{GOOD}"));
    assert!(
        p.iter().any(|m| m.contains("used by an earlier entry")),
        "{p:?}"
    );
    let p = problems(&GOOD.replace("xx-line", "XX Line"));
    assert!(
        p.iter().any(|m| m.starts_with("entry \"XX Line\": id")),
        "{p:?}"
    );
    let p = problems(&GOOD.replace("id = \"xx-line\"\n", ""));
    assert!(p.iter().any(|m| m.starts_with("entry #1: id")), "{p:?}");
}

#[test]
fn every_problem_is_reported_and_the_message_is_readable() {
    let bad = GOOD
        .replace("[\"BR\"]", "[\"br\"]")
        .replace("source = \"example.org\"\n", "");
    let err = one(&bad).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("2 problem(s)"), "{text}");
    assert!(text.contains("entry \"xx-line\": country \"br\""), "{text}");
}

#[test]
fn unknown_fields_bad_toml_and_other_schemas_are_rejected() {
    assert!(matches!(
        one(&GOOD.replace("source =", "sorce =")),
        Err(HubError::Toml(_))
    ));
    assert!(matches!(parse("schema_version = "), Err(HubError::Toml(_))));
    assert!(matches!(
        parse("schema_version = 2"),
        Err(HubError::Schema(2))
    ));
    assert_eq!(parse("schema_version = 1").unwrap().entries.len(), 0);
}

#[test]
fn dates_are_checked() {
    assert!("2024-02-29".parse::<Date>().is_ok());
    assert!("2023-02-29".parse::<Date>().is_err());
    assert!("2023-13-01".parse::<Date>().is_err());
    assert!("2023-1-01".parse::<Date>().is_err());
    assert!("+023-01-01".parse::<Date>().is_err());
    assert_eq!(
        "2023-11-30".parse::<Date>().unwrap().to_string(),
        "2023-11-30"
    );
}

#[test]
fn load_names_the_missing_file() {
    let err = load(Path::new("/nonexistent/hub.toml")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/hub.toml"), "{err}");
}

#[test]
fn drafts_follow_the_file_rules() {
    let good = Draft {
        id: "de-test-line".into(),
        name: " Test line ".into(),
        kind: "crisis_line".into(),
        countries: vec!["DE".into()],
        languages: vec!["de".into()],
        phone: vec!["0800 111 0 111".into()],
        verification: "sourced".into(),
        source: "telefonseelsorge.de".into(),
        last_verified: "2026-11-25".into(),
        description: [("en".to_owned(), "A line.".to_owned())].into(),
        ..Draft::default()
    };
    let e = check_draft(good.clone()).unwrap();
    assert_eq!(e.name, "Test line");
    assert_eq!(e.cost, "unknown");
    assert_eq!(e.last_verified.to_string(), "2026-11-25");
    assert_eq!(e.chat, None);

    let bad = Draft {
        id: "Not A Slug".into(),
        countries: vec!["*".into(), "DE".into()],
        phone: vec!["call us".into()],
        web: "javascript:alert(1)".into(),
        verification: "unverified".into(),
        last_verified: String::new(),
        description: BTreeMap::new(),
        ..good
    };
    let problems = check_draft(bad).unwrap_err();
    for needle in [
        "slug",
        "must be the only country",
        "phone",
        "web",
        "notes must say",
        "last_verified is missing",
        "no `en` text",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{needle}: {problems:?}"
        );
    }
}
