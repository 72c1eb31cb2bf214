use std::path::PathBuf;

use super::*;

const LANGS: [&str; 9] = ["en", "es", "pt", "fr", "de", "it", "nl", "sv", "ja"];
const SCRIPT: &str = "<script>alert(1)</script>";
const ATTR: &str = "\"><img src=x onerror=alert(1)>";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/templates")
}

fn templates() -> Templates {
    Templates::load(&dir()).unwrap_or_else(|e| panic!("{e}"))
}

fn line(name: &str) -> ResourceVars {
    ResourceVars {
        name: name.into(),
        phone: vec!["0800 111 0 111".into(), "0800 111 0 222".into()],
        sms: vec![],
        web: "https://telefonseelsorge.de".into(),
        chat: "https://telefonseelsorge.de".into(),
        hours: "24/7".into(),
        description: "Free and anonymous.".into(),
    }
}

fn known() -> AckVars {
    AckVars {
        reference: "C-7K2M9X".into(),
        requester_name: "Alex".into(),
        subject: "SECRET-SUBJECT".into(),
        country_name: "Deutschland".into(),
        country_known: true,
        country_suggested: false,
        resources: vec![line("TelefonSeelsorge")],
        fallback_resources: vec![ResourceVars {
            name: "FallbackLine".into(),
            phone: vec!["+1 555 0100".into()],
            ..Default::default()
        }],
        hub_url: "https://hub.example/de".into(),
        urgent: false,
        emergency_number: String::new(),
    }
}

fn unknown() -> AckVars {
    AckVars {
        requester_name: String::new(),
        country_name: String::new(),
        country_known: false,
        resources: Vec::new(),
        hub_url: String::new(),
        ..known()
    }
}

#[test]
fn every_language_renders_known_and_unknown_country() {
    let t = templates();
    let langs: Vec<&str> = t.ack_languages().collect();
    for lang in LANGS {
        assert!(langs.contains(&lang), "{lang} missing from {langs:?}");
        assert_eq!(t.ack_language(lang), lang);

        let (text, html) = t.render_ack(lang, &known()).unwrap();
        for body in [&text, &html] {
            assert!(body.contains("C-7K2M9X"), "{lang}: {body}");
            assert!(body.contains("TelefonSeelsorge"), "{lang}");
            assert!(body.contains("Deutschland"), "{lang}");
            assert!(body.contains("Alex"), "{lang}");
            assert!(!body.contains("FallbackLine"), "{lang}");
            assert!(!body.contains("SECRET-SUBJECT"), "{lang}: subject echoed");
        }
        assert!(text.contains("https://hub.example/de"), "{lang}");
        assert!(text.contains("0800 111 0 111 / 0800 111 0 222"), "{lang}");
        assert!(html.contains("href=\"tel:08001110111\""), "{lang}: {html}");
        assert!(html.contains(&format!("<html lang=\"{lang}\"")), "{lang}");
        assert!(!text.contains("<p"), "{lang}: text part is HTML");
        assert!(text.ends_with('\n'));

        let (text, html) = t.render_ack(lang, &unknown()).unwrap();
        for body in [&text, &html] {
            assert!(body.contains("C-7K2M9X"), "{lang}");
            assert!(body.contains("FallbackLine"), "{lang}");
            assert!(!body.contains("TelefonSeelsorge"), "{lang}");
            assert!(!body.contains("Alex"), "{lang}");
            assert!(!body.contains("hub.example"), "{lang}");
        }
    }
}

#[test]
fn every_language_renders_a_suggested_country_with_the_international_lines() {
    let t = templates();
    let vars = AckVars {
        country_known: false,
        country_suggested: true,
        ..known()
    };
    let (en_known, _) = t.render_ack("en", &known()).unwrap();
    for lang in LANGS {
        let (text, html) = t.render_ack(lang, &vars).unwrap();
        for body in [&text, &html] {
            // The suggested country's line first, then the international one.
            let ours = body.find("TelefonSeelsorge");
            let intl = body.find("FallbackLine");
            assert!(ours.is_some() && intl.is_some(), "{lang}: {body}");
            assert!(ours < intl, "{lang}: {body}");
            assert!(body.contains("Deutschland"), "{lang}: {body}");
        }
        assert_ne!(text, t.render_ack(lang, &known()).unwrap().0, "{lang}");
    }
    assert!(!en_known.contains("not sure yet"));
    let (text, _) = t.render_ack("en", &vars).unwrap();
    assert!(text.contains("not sure yet which country"), "{text}");
    // A suggested country without lines of its own: the international
    // ones alone, and the mail asks for the country.
    let bare = AckVars {
        resources: Vec::new(),
        ..vars
    };
    let (text, _) = t.render_ack("en", &bare).unwrap();
    assert!(text.contains("FallbackLine"), "{text}");
    assert!(text.contains("We don't know yet which country"), "{text}");
}

#[test]
fn known_country_without_resources_uses_fallback() {
    let t = templates();
    let vars = AckVars {
        resources: Vec::new(),
        ..known()
    };
    let (text, _) = t.render_ack("en", &vars).unwrap();
    assert!(text.contains("FallbackLine"));
    assert!(!text.contains("country we think you are in"));
}

#[test]
fn unknown_languages_fall_back_to_english() {
    let t = templates();
    let (en_text, en_html) = t.render_ack("en", &known()).unwrap();
    for lang in ["xx", "", "zh", "../ack/en", "EN", "en-GB"] {
        assert_eq!(t.ack_language(lang), "en", "{lang:?}");
        let (text, html) = t.render_ack(lang, &known()).unwrap();
        assert_eq!(text, en_text, "{lang:?}");
        assert_eq!(html, en_html, "{lang:?}");
    }
    assert_eq!(t.ack_language("pt-BR"), "pt");
    assert_eq!(t.ack_language("DE_at"), "de");
    assert!(en_text.starts_with("Hi Alex,"));
}

#[test]
fn html_is_escaped_and_text_is_not() {
    let t = templates();
    for hostile in [SCRIPT, ATTR] {
        let mut evil = line(hostile);
        evil.description = hostile.into();
        evil.chat = format!("javascript:{hostile}");
        evil.hours = hostile.into();
        let vars = AckVars {
            requester_name: hostile.into(),
            country_name: hostile.into(),
            resources: vec![evil],
            hub_url: hostile.into(),
            ..known()
        };
        for lang in LANGS {
            let (text, html) = t.render_ack(lang, &vars).unwrap();
            assert!(!html.contains("<script"), "{lang}: {html}");
            assert!(!html.contains("<img"), "{lang}: {html}");
            assert!(!html.contains("\"><"), "{lang}: {html}");
            if hostile == SCRIPT {
                assert!(html.contains("&lt;script&gt;"), "{lang}: {html}");
            } else {
                assert!(html.contains("&quot;&gt;&lt;img"), "{lang}: {html}");
            }
            // The text part is not HTML: no escaping.
            assert!(text.contains(hostile), "{lang}: {text}");
            assert!(!text.contains("&lt;"), "{lang}");
        }
    }
}

#[test]
fn notify_assigned() {
    let t = templates();
    let vars = NotifyVars {
        caseworker_name: "Sam <b>".into(),
        reference: "C-7K2M9X".into(),
        country: "Germany".into(),
        language: "German (de)".into(),
        priority: "high".into(),
        urgent: false,
        case_url: "https://concierge.example/cases/C-7K2M9X".into(),
    };
    let (text, subject) = t.render_notify_assigned(&vars).unwrap();
    assert_eq!(subject, "Case C-7K2M9X assigned to you");
    assert!(text.starts_with("Hi Sam <b>,"), "{text}");
    assert!(text.contains("Reference: C-7K2M9X"));
    assert!(text.contains("Country:   Germany"));
    assert!(text.contains("https://concierge.example/cases/C-7K2M9X"));
    assert!(!text.contains("urgent:"));
    assert!(!text.contains("{#"), "comment leaked");

    let (text, subject) = t
        .render_notify_assigned(&NotifyVars {
            caseworker_name: String::new(),
            country: String::new(),
            urgent: true,
            reference: "C-7K2M9X\r\nBcc: x@evil.example".into(),
            ..vars
        })
        .unwrap();
    assert!(text.starts_with("Hello,"));
    assert!(text.contains("Country:   unknown"));
    assert!(text.contains("marked urgent"));
    assert!(subject.starts_with("Urgent: case C-7K2M9X"));
    assert!(!subject.contains(['\r', '\n']));
}

/// A scratch template directory holding a copy of the real templates.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let root = std::env::temp_dir().join(format!(
            "concierge-templates-{tag}-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        for sub in ["ack", "notify"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
            for e in std::fs::read_dir(dir().join(sub)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), root.join(sub).join(e.file_name())).unwrap();
            }
        }
        Scratch(root)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn load_errors_name_the_file() {
    let s = Scratch::new("syntax");
    std::fs::write(s.0.join("ack/fr.html"), "{% if %}").unwrap();
    let e = Templates::load(&s.0).unwrap_err();
    assert!(matches!(e, TemplateError::Syntax { .. }), "{e:?}");
    assert!(e.to_string().contains("ack/fr.html"), "{e}");

    let s = Scratch::new("undefined");
    std::fs::write(s.0.join("ack/de.txt"), "Hallo {{ requester_nmae }}").unwrap();
    let e = Templates::load(&s.0).unwrap_err();
    assert!(matches!(e, TemplateError::Render { .. }), "{e:?}");
    assert!(e.to_string().contains("ack/de.txt"), "{e}");

    let s = Scratch::new("missing");
    std::fs::remove_file(s.0.join("ack/en.html")).unwrap();
    let e = Templates::load(&s.0).unwrap_err();
    assert!(e.to_string().contains("ack/en.html"), "{e}");

    let s = Scratch::new("unpaired");
    std::fs::remove_file(s.0.join("ack/sv.txt")).unwrap();
    let e = Templates::load(&s.0).unwrap_err();
    assert!(e.to_string().contains("ack/sv.txt"), "{e}");

    let s = Scratch::new("utf8");
    std::fs::write(s.0.join("ack/it.txt"), b"\xff\xfe").unwrap();
    let e = Templates::load(&s.0).unwrap_err();
    assert!(e.to_string().contains("it.txt"), "{e}");

    let e = Templates::load(Path::new("/nonexistent/concierge")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/concierge"), "{e}");
}

#[test]
fn a_new_language_pair_is_picked_up() {
    let s = Scratch::new("newlang");
    std::fs::write(s.0.join("ack/pl.txt"), "Cześć {{ reference }}").unwrap();
    std::fs::write(s.0.join("ack/pl.html"), "<p>{{ reference }}</p>").unwrap();
    let t = Templates::load(&s.0).unwrap();
    assert_eq!(t.ack_language("pl"), "pl");
    let (text, html) = t.render_ack("pl", &known()).unwrap();
    assert_eq!(text, "Cześć C-7K2M9X\n");
    assert_eq!(html, "<p>C-7K2M9X</p>");
}

#[test]
fn an_urgent_acknowledgement_leads_with_the_crisis_line_and_the_emergency_number() {
    let t = templates();
    for lang in LANGS {
        let vars = AckVars {
            urgent: true,
            emergency_number: "112".into(),
            ..known()
        };
        let (text, html) = t.render_ack(lang, &vars).unwrap();
        let first: Vec<&str> = text.lines().take(2).collect();
        assert!(
            first[0].starts_with("TelefonSeelsorge: 0800 111 0 111 / 0800 111 0 222"),
            "{lang}: {first:?}"
        );
        assert!(first[1].ends_with(": 112"), "{lang}: {first:?}");
        let greeting = text.find("Alex").expect("greeting");
        assert!(text.find("112").unwrap() < greeting, "{lang}");
        let body = html.split("<body").nth(1).unwrap();
        assert!(
            body.find("TelefonSeelsorge").unwrap() < body.find("Alex").unwrap(),
            "{lang}"
        );
        assert!(body.contains("tel:112"), "{lang}");
        // Not urgent: no such lead.
        let (plain, _) = t.render_ack(lang, &known()).unwrap();
        assert!(!plain.starts_with("TelefonSeelsorge"), "{lang}");
    }
}

#[test]
fn an_urgent_acknowledgement_escapes_hub_text() {
    let t = templates();
    let vars = AckVars {
        urgent: true,
        emergency_number: ATTR.into(),
        resources: vec![line(SCRIPT)],
        ..known()
    };
    let (_, html) = t.render_ack("en", &vars).unwrap();
    assert!(!html.contains(SCRIPT) && !html.contains(ATTR));
}

/// The compiled-in list is the shipped directory, file for file and byte
/// for byte: a template added to `config/templates/` and not to
/// `BUILTIN` fails here.
#[test]
fn builtin_templates_are_the_shipped_directory() {
    let mut on_disk = BTreeMap::new();
    collect(&dir(), &dir(), 0, &mut on_disk).unwrap();
    let built: BTreeMap<String, String> = BUILTIN
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(
        built.keys().collect::<Vec<_>>(),
        on_disk.keys().collect::<Vec<_>>()
    );
    assert!(built == on_disk, "a builtin template differs from its file");
    let t = Templates::builtin().unwrap();
    assert!(t.ack_languages().count() >= 9);
}
