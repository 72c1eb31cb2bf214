//! Realistic messages through [`infer_country`], plus the helpers.

use super::CountrySource::{Domain, History, Language as Lang, Phone, Stated, Timezone};
use super::*;

fn code(s: &str) -> CountryCode {
    s.parse().expect("valid test country code")
}

fn ev<'a>(subject: &'a str, text: &'a str, from: &'a str) -> Evidence<'a> {
    Evidence {
        subject,
        text,
        from_address: from,
        ..Evidence::default()
    }
}

/// The confidence one finding of `kind` gives its country on its own.
fn alone(kind: EvidenceKind) -> f32 {
    let f = Finding {
        kind,
        shares: vec![(code("BR"), 1.0)],
        text: String::new(),
        note: None,
    };
    model::decide(vec![f], Facts::default())
        .best
        .map_or(0.0, |g| g.confidence)
}

/// Asserts country and source; returns the confidence.
#[track_caller]
fn check(e: &Evidence, country: &str, source: CountrySource) -> f32 {
    let g = infer_country(e).unwrap_or_else(|| panic!("no guess for {e:#?}"));
    assert_eq!(
        (g.country.as_str(), g.source),
        (country, source),
        "guess {g:?} for {e:#?}, evidence {:?}",
        analyze_country(e).evidence
    );
    assert!((0.0..=1.0).contains(&g.confidence));
    g.confidence
}

#[track_caller]
fn confident(e: &Evidence, country: &str, source: CountrySource) -> f32 {
    let c = check(e, country, source);
    assert!(
        c >= 0.5,
        "expected a guess more likely than not, got {c} for {e:#?}"
    );
    c
}

#[track_caller]
fn unsure(e: &Evidence, country: &str, source: CountrySource) -> f32 {
    let c = check(e, country, source);
    assert!(
        c < calibrated_threshold(),
        "expected guess below threshold, got {c} for {e:#?}"
    );
    c
}

// ---------------------------------------------------------------- English

#[test]
fn en_lives_in_toronto() {
    let e = ev(
        "Can't sleep before shows",
        "Hi,\n\nI'm a session drummer and I live in Toronto. Lately I can't sleep the night \
         before a show and it's getting worse.\n\nThanks,\nMaya",
        "maya.drums@gmail.com",
    );
    confident(&e, "CA", Stated);
}

#[test]
fn en_toured_japan_but_lives_in_canada() {
    let e = ev(
        "Burnout",
        "I toured in Japan last year but I live in Canada, and since we got back I've felt \
         completely flat.",
        "leo@outlook.com",
    );
    confident(&e, "CA", Stated);
}

#[test]
fn en_nashville_statement_and_phone_agree() {
    let e = ev(
        "Need to talk to someone",
        "Hey there,\nI'm a songwriter based in Nashville and the last few months have been \
         rough.\n\n--\nJake Miller\nSongwriter\n+1 615 322 4000",
        "jake@jakemillermusic.com",
    );
    let c = confident(&e, "US", Stated);
    assert!(
        c > alone(EvidenceKind::Based),
        "agreeing phone should raise confidence, got {c}"
    );
}

#[test]
fn en_phone_only_uk() {
    let e = ev(
        "Anxiety",
        "Hello, I've been having panic attacks in the studio. Could someone call me?\n\n\
         Best,\nPriya\nTel: +44 20 7946 0958",
        "priya.sound@gmail.com",
    );
    confident(&e, "GB", Phone);
}

#[test]
fn en_domain_only_co_uk() {
    let e = ev(
        "Hello",
        "Hi, I'd like to book a session with one of your counsellors please.",
        "Sam Reid <sam@northernsound.co.uk>",
    );
    confident(&e, "GB", Domain);
}

#[test]
fn en_paris_hilton_is_not_a_place() {
    let e = ev(
        "Random",
        "I've been obsessing over Paris Hilton's podcast and honestly I think I'm in Paris Hilton \
         mode all the time, just pretending everything is fine.",
        "kat@gmail.com",
    );
    assert!(analyze_country(&e).placed(calibrated_threshold()).is_none());
}

#[test]
fn en_jordan_smith_is_a_name() {
    let e = ev(
        "Referral",
        "My name is Jordan Smith and I manage a small indie band. A message from Jordan about \
         our drummer: he's struggling.\n\nJordan Smith\nPhone: +1 (416) 977-2321",
        "jordan@gmail.com",
    );
    confident(&e, "CA", Phone);
}

#[test]
fn en_paris_as_a_person_then_real_place() {
    let e = ev(
        "Paris said to write",
        "Paris (my bandmate) told me to get in touch. I live in Manchester and I'm not coping \
         well.",
        "tom.b@gmail.com",
    );
    confident(&e, "GB", Stated);
}

#[test]
fn en_chad_is_a_name() {
    let e = ev(
        "From Chad",
        "Chad from our label said you could help. I'm from Chad's old band, the drummer.",
        "drums@hotmail.com",
    );
    // "Chad's old band" is a person; only the bare subject line remains, and
    // that is not enough to place anyone.
    let i = analyze_country(&e);
    assert!(
        !i.evidence.iter().any(|x| x.text.contains("Chad's")),
        "{:?}",
        i.evidence
    );
    assert!(i.placed(calibrated_threshold()).is_none());
}

#[test]
fn en_india_as_a_name_domain_wins() {
    let e = ev(
        "Hi",
        "Hi, I'm India, a singer. I'm in India Rose & The Lanterns and I need some support.",
        "india@ceol.ie",
    );
    confident(&e, "IE", Domain);
}

#[test]
fn en_turkey_the_food() {
    let e = ev(
        "Bad place",
        "I ate too much turkey at Thanksgiving and honestly I'm in a bad place right now.",
        "nate@gmail.com",
    );
    assert_eq!(infer_country(&e), None);
}

#[test]
fn en_georgia_is_ambiguous_phone_decides() {
    let e = ev(
        "Help",
        "I live in Georgia and work nights at a venue.\nCall me: +1 404 555 0123 or +1 615 322 4000",
        "kim@yahoo.com",
    );
    // "Georgia" is a country and a US state; the US numbers decide it.
    let i = analyze_country(&e);
    assert_eq!(
        i.placed(calibrated_threshold()).map(|g| g.country),
        Some(code("US")),
        "{:?}",
        i.best
    );
    assert!(
        i.evidence
            .iter()
            .any(|x| x.country == code("US") && x.kind.source() == Phone)
    );
}

#[test]
fn en_quoted_reply_from_elsewhere_is_ignored() {
    let e = ev(
        "Re: Your request",
        "Thanks, that helps a lot. I live in Lisbon so an evening slot works best.\n\n\
         On Tue, 4 Jun 2024 at 09:12, Concierge <help@concierge.example> wrote:\n\
         > Our counsellor lives in Rome and writes:\n> I live in Rome, +39 02 1234 5678",
        "ana@gmail.com",
    );
    let c = confident(&e, "PT", Stated);
    // The quoted Italian phone number must not contradict.
    assert!(c > 0.9);
}

#[test]
fn en_outlook_quote_block_ignored() {
    let e = ev(
        "RE: follow-up",
        "Thanks, I'm in Dublin now, so any time after 6pm.\n\n\
         From: Max Muster <max@beispiel.de>\nSent: Monday, June 3, 2024 10:00\nTo: Ciara\n\
         Subject: follow-up\n\nIch wohne in Wien. +43 1 5134567",
        "ciara@gmail.com",
    );
    confident(&e, "IE", Stated);
}

#[test]
fn en_stated_beats_phone() {
    let e = ev(
        "Session",
        "Hi! I'm in Lisbon for the next few months, recording.\n\nBeatriz\n+55 11 98765-4321",
        "bia@gmail.com",
    );
    let c = confident(&e, "PT", Stated);
    assert!(
        c < alone(EvidenceKind::Present),
        "contradiction should lower confidence, got {c}"
    );
    let i = analyze_country(&e);
    assert!(i.is_contradicted());
    assert!(
        i.evidence
            .iter()
            .any(|s| s.country == code("BR") && s.kind.source() == Phone)
    );
}

#[test]
fn en_moved_against_phone_domain_history() {
    let mut e = ev(
        "Mudança",
        "Hi, I recently moved to Lisbon and I'm struggling with the change.\n+55 11 98765-4321",
        "bia@uol.com.br",
    );
    e.previous_country = Some(code("BR"));
    // Where they live now beats phone, domain and history (people keep
    // their numbers and addresses when they move), clearly enough to place.
    let c = check(&e, "PT", Stated);
    assert!(
        c >= calibrated_threshold(),
        "a move stated in plain words should place the case, got {c}"
    );
}

#[test]
fn en_phone_and_domain_disagree() {
    let e = ev(
        "Ajuda",
        "Hi, please call me when you can.\n+55 21 99876-5432",
        "rui@sapo.pt",
    );
    // Two signals that people keep when they move, in two countries: both
    // are offered and a person decides.
    let i = analyze_country(&e);
    assert!(i.placed(calibrated_threshold()).is_none(), "{:?}", i.best);
    let top: Vec<&str> = i.candidates.iter().take(2).map(|c| c.0.as_str()).collect();
    assert!(
        top.contains(&"BR") && top.contains(&"PT"),
        "{:?}",
        i.candidates
    );
}

#[test]
fn en_from_brazil_lives_in_portugal() {
    let e = ev(
        "Hello",
        "I'm from Brazil but I live in Portugal now, and being far from family is hard.",
        "marcos@gmail.com",
    );
    let c = confident(&e, "PT", Stated);
    assert!(
        c >= alone(EvidenceKind::Residence) - 0.05,
        "origin must not contest residence, got {c}"
    );
}

#[test]
fn en_negated_then_moved() {
    let e = ev(
        "New city",
        "I don't live in London anymore, I moved to Berlin in March.",
        "sofia@gmail.com",
    );
    confident(&e, "DE", Stated);
}

#[test]
fn en_helpline_number_does_not_count() {
    let e = ev(
        "Last night",
        "I called +1 800 273 8255 last night because I didn't know who else to call.",
        "jonas@posteo.de",
    );
    confident(&e, "DE", Domain);
}

#[test]
fn en_two_phone_countries_are_unsure() {
    let e = ev(
        "Contact",
        "You can reach me on either number.\nUK: +44 20 7946 0958\nUS: +1 615 322 4000",
        "dee@gmail.com",
    );
    let g = infer_country(&e).expect("guess");
    assert_eq!(g.source, Phone);
    assert!(g.confidence < calibrated_threshold(), "got {g:?}");
}

#[test]
fn en_lagos_nigeria() {
    let e = ev(
        "Support",
        "Good day. I'm a producer based in Lagos and I've been dealing with depression.",
        "tunde@yahoo.com",
    );
    confident(&e, "NG", Stated);
}

#[test]
fn en_greetings_from_nairobi() {
    let e = ev(
        "Greetings",
        "Greetings from Nairobi! I'd like to speak with someone.",
        "wanjiru@gmail.com",
    );
    confident(&e, "KE", Stated);
}

#[test]
fn en_south_africa_phone() {
    let e = ev(
        "Request",
        "Please get in touch.\n\nThabo\nCell: +27 21 123 4567",
        "thabo@gmail.com",
    );
    confident(&e, "ZA", Phone);
}

#[test]
fn en_mumbai() {
    let e = ev(
        "Help",
        "I live in Mumbai and work as a sound engineer for films.",
        "arjun@gmail.com",
    );
    confident(&e, "IN", Stated);
}

#[test]
fn en_melbourne_gday() {
    let e = ev(
        "G'day",
        "G'day, I'm in Melbourne. Been feeling really low since the tour ended.",
        "mick@gmail.com",
    );
    confident(&e, "AU", Stated);
}

#[test]
fn en_auckland() {
    let e = ev(
        "Kia ora",
        "Kia ora, I live in Auckland and I'm a touring bassist.",
        "aroha@gmail.com",
    );
    confident(&e, "NZ", Stated);
}

#[test]
fn en_subject_statement() {
    let e = ev(
        "Help needed - based in Glasgow",
        "Hi, could someone get back to me?",
        "fraser@gmail.com",
    );
    confident(&e, "GB", Stated);
}

#[test]
fn en_paris_texas_signature() {
    let e = ev(
        "Hello",
        "Looking for help with stage fright.\n\nBilly\nParis, TX",
        "billy@gmail.com",
    );
    confident(&e, "US", Stated);
}

#[test]
fn en_signature_city_state_zip() {
    let e = ev(
        "Intake",
        "Hi, I filled in the form but didn't hear back.\n\nRay Collins\nRCA Studio B\nNashville, TN 37203",
        "ray@gmail.com",
    );
    check(&e, "US", Stated);
}

#[test]
fn en_band_from_japan_is_weak() {
    let e = ev(
        "Hi",
        "I'm in a band from Japan and we need advice.",
        "kenji@gmail.com",
    );
    // Where the band comes from is weak evidence of where the writer lives.
    let i = analyze_country(&e);
    assert!(i.placed(calibrated_threshold()).is_none(), "{:?}", i.best);
    assert!(
        i.evidence
            .iter()
            .any(|x| x.kind == EvidenceKind::Origin && x.country == code("JP"))
    );
}

#[test]
fn en_played_live_wishes_and_third_persons_are_not_residence() {
    let e = ev(
        "Post-tour",
        "We played live in Tokyo last week. My manager lives in London. I'd love to live in \
         Japan someday, but I used to live in Berlin and hated it.",
        "nils@posteo.de",
    );
    // Nothing there says where they live now: the domain is the best guess,
    // and a place they left (Berlin) keeps it from being placed.
    let i = analyze_country(&e);
    assert_eq!(i.candidates.first().map(|c| c.0), Some(code("DE")));
    assert!(i.placed(calibrated_threshold()).is_none(), "{:?}", i.best);
    assert!(i.evidence.iter().all(|x| !matches!(
        x.kind,
        EvidenceKind::Residence | EvidenceKind::Present | EvidenceKind::Mention
    )));
}

#[test]
fn en_form_relay_with_from_line_is_not_cut() {
    let e = ev(
        "Website contact",
        "From: ana@example.com\nName: Ana Lima\nCountry: Brazil\nMessage: I need help.",
        "forms@concierge.example",
    );
    confident(&e, "BR", Stated);
}

#[test]
fn en_first_phone_wins_ties_and_contradiction_is_recorded() {
    let e = ev(
        "Numbers",
        "Mobile: +351 912 345 678\nOffice (label): +1 615 322 4000",
        "rui@gmail.com",
    );
    unsure(&e, "PT", Phone);
    let i = analyze_country(&e);
    assert!(i.is_contradicted());
    assert_eq!(
        i.evidence
            .iter()
            .filter(|s| s.kind == EvidenceKind::PhoneInternational)
            .count(),
        2
    );
}

#[test]
fn en_no_evidence_at_all() {
    let e = ev(
        "Hello",
        "I just need someone to talk to.",
        "someone@gmail.com",
    );
    assert_eq!(infer_country(&e), None);
    assert_eq!(infer_country(&Evidence::default()), None);
}

#[test]
fn vanity_tlds_are_ignored() {
    for from in [
        "a@band.fm",
        "b@label.io",
        "c@artist.me",
        "d@radio.tv",
        "e@studio.co",
        "f@beats.ai",
    ] {
        assert_eq!(infer_country(&ev("Hi", "Hi.", from)), None, "{from}");
    }
    confident(&ev("Hi", "Hi.", "g@empresa.com.co"), "CO", Domain);
}

// ------------------------------------------------------------- Portuguese

#[test]
fn pt_moramos_em_portugal() {
    let e = ev(
        "Ajuda",
        "Olá, somos um duo e moramos em Portugal há dois anos. Estamos muito cansados.",
        "duo.mar@gmail.com",
    );
    confident(&e, "PT", Stated);
}

#[test]
fn pt_sao_paulo_with_national_phone_and_domain() {
    let e = ev(
        "Preciso de ajuda",
        "Oi, sou produtora e moro em São Paulo. Tenho tido crises de ansiedade antes dos \
         shows.\n\nAna Souza\nCel: (11) 98765-4321",
        "ana.souza@uol.com.br",
    );
    let c = confident(&e, "BR", Stated);
    assert!(c > 0.95, "statement + domain + local phone, got {c}");
}

#[test]
fn pt_domain_with_national_phone_corroborates() {
    let e = ev(
        "Contato",
        "Boa tarde, gostaria de agendar uma conversa.\n\nCel: (11) 98765-4321",
        "carla@terra.com.br",
    );
    let c = confident(&e, "BR", Phone);
    assert!(
        c > alone(EvidenceKind::Domain),
        "local phone should corroborate, got {c}"
    );
}

#[test]
fn pt_ao_vivo_em_is_not_residence() {
    let e = ev(
        "Show",
        "Fizemos um show ao vivo em Lisboa semana passada e desde então não consigo dormir.",
        "beto@bol.com.br",
    );
    confident(&e, "BR", Domain);
}

// ---------------------------------------------------------------- Spanish

#[test]
fn es_estoy_en_mexico() {
    let e = ev(
        "Necesito hablar",
        "Hola, estoy en México y necesito hablar con alguien, no me siento bien.",
        "lucia@gmail.com",
    );
    confident(&e, "MX", Stated);
}

#[test]
fn es_buenos_aires_with_phone() {
    let e = ev(
        "Consulta",
        "Hola, vivo en Buenos Aires y trabajo como técnico de sonido.\n\nMartín\n+54 9 11 2345-6789",
        "martin@gmail.com",
    );
    let c = confident(&e, "AR", Stated);
    assert!(c > alone(EvidenceKind::Residence));
}

#[test]
fn es_soy_de_madrid_with_es_domain() {
    let e = ev(
        "Hola",
        "Hola, soy de Madrid y toco la guitarra en una banda.",
        "pablo@telefonica.es",
    );
    let c = confident(&e, "ES", Domain);
    assert!(c > alone(EvidenceKind::Origin));
}

#[test]
fn es_la_playa_is_not_la() {
    let e = ev(
        "Hola",
        "Estoy en la playa con mi familia y no puedo dejar de pensar.",
        "ines@gmail.com",
    );
    assert_eq!(infer_country(&e), None);
}

#[test]
fn es_mexico_phone_only() {
    let e = ev(
        "Ayuda",
        "Buenas noches, quisiera recibir apoyo.\nTel. +52 55 1234 5678",
        "dj.rafa@gmail.com",
    );
    confident(&e, "MX", Phone);
}

// ----------------------------------------------------------------- French

#[test]
fn fr_je_suis_a_paris() {
    let e = ev(
        "Besoin d'aide",
        "Bonjour, je suis à Paris pour le moment et je ne vais pas bien.",
        "claire@free.fr",
    );
    // The .fr domain weighs more than "je suis à", and both agree.
    let c = confident(&e, "FR", Domain);
    assert!(c > alone(EvidenceKind::Present));
}

#[test]
fn fr_j_habite_en_france() {
    let e = ev(
        "Bonjour",
        "Bonjour, j'habite en France depuis peu et je me sens très seul.",
        "karim@gmail.com",
    );
    confident(&e, "FR", Stated);
}

#[test]
fn fr_montreal_with_canadian_phone() {
    let e = ev(
        "Aide",
        "Salut, j’habite à Montréal et je suis chanteuse.\n\nÉlodie\n+1 514 849 2000",
        "elodie@videotron.ca",
    );
    let c = confident(&e, "CA", Stated);
    assert!(c > 0.95);
}

#[test]
fn fr_quoted_attribution_ignored() {
    let e = ev(
        "Re: rendez-vous",
        "Merci beaucoup, mardi me convient.\n\nLe mar. 4 juin 2024 à 09:12, Paul <paul@exemple.fr> a écrit :\n\
         > Je suis à Lyon, +33 6 12 34 56 78",
        "sarah@gmail.com",
    );
    assert_eq!(infer_country(&e), None);
}

// ----------------------------------------------------------------- German

#[test]
fn de_ich_wohne_in_berlin() {
    let e = ev(
        "Hilfe",
        "Hallo, ich wohne in Berlin und arbeite als DJ. Seit Wochen schlafe ich kaum.",
        "lena@gmx.net",
    );
    confident(&e, "DE", Stated);
}

#[test]
fn de_ich_lebe_in_der_schweiz() {
    let e = ev(
        "Anfrage",
        "Guten Tag, ich lebe in der Schweiz und spiele in einem Orchester.",
        "urs@gmail.com",
    );
    confident(&e, "CH", Stated);
}

#[test]
fn de_land_line_in_form() {
    let e = ev(
        "Kontaktformular",
        "Name: Katrin Huber\nLand: Österreich\nNachricht: Ich brauche dringend Unterstützung.",
        "noreply@forms.example.com",
    );
    confident(&e, "AT", Stated);
}

#[test]
fn de_phone_with_00_prefix() {
    let e = ev(
        "Rückruf",
        "Bitte rufen Sie mich zurück.\nTel. 0049 30 12345678",
        "tim@gmail.com",
    );
    confident(&e, "DE", Phone);
}

// ---------------------------------------------------------------- Italian

#[test]
fn it_vivo_a_milano() {
    let e = ev(
        "Aiuto",
        "Ciao, vivo a Milano e faccio la cantante. Ho bisogno di parlare con qualcuno.",
        "giulia@libero.it",
    );
    let c = confident(&e, "IT", Stated);
    assert!(c > alone(EvidenceKind::Residence));
}

#[test]
fn it_origin_rome_lives_london() {
    let e = ev(
        "Ciao",
        "Sono di Roma ma vivo a Londra da tre anni.",
        "marco@gmail.com",
    );
    confident(&e, "GB", Stated);
}

// ------------------------------------------------------------------ Dutch

#[test]
fn nl_ik_woon_in_amsterdam() {
    let e = ev(
        "Hulp",
        "Hoi, ik woon in Amsterdam en ik werk als producer.",
        "daan@gmail.com",
    );
    confident(&e, "NL", Stated);
}

#[test]
fn nl_dutch_text_with_belgian_domain() {
    let e = ev(
        "Vraag",
        "Hallo, ik ben muzikant en ik heb al een tijdje last van slapeloosheid en paniekaanvallen \
         voor optredens. Kan ik met iemand praten over wat ik kan doen?",
        "jens@telenet.be",
    );
    confident(&e, "BE", Domain);
}

// ---------------------------------------------------------------- Swedish

#[test]
fn sv_jag_bor_i_stockholm() {
    let e = ev(
        "Hjälp",
        "Hej, jag bor i Stockholm och spelar i ett band.",
        "elin@gmail.com",
    );
    confident(&e, "SE", Stated);
}

#[test]
fn sv_swedish_text_and_se_domain_agree() {
    let e = ev(
        "Stöd",
        "Hej, jag behöver prata med någon om min stress inför turnén. Jag sover dåligt och \
         känner mig väldigt ensam.",
        "oskar@telia.se",
    );
    let c = confident(&e, "SE", Domain);
    assert!(
        c > alone(EvidenceKind::Domain),
        "language should corroborate, got {c}"
    );
}

// ------------------------------------------------------ Nordic / other EU

#[test]
fn fi_asun_helsingissa() {
    let e = ev(
        "Apua",
        "Hei, asun Helsingissä ja soitan bändissä.",
        "aino@gmail.com",
    );
    confident(&e, "FI", Stated);
}

#[test]
fn no_jeg_bor_i_oslo() {
    let e = ev(
        "Hjelp",
        "Hei, jeg bor i Oslo og er låtskriver.",
        "ingrid@gmail.com",
    );
    confident(&e, "NO", Stated);
}

#[test]
fn da_jeg_bor_i_kobenhavn() {
    let e = ev(
        "Hjælp",
        "Hej, jeg bor i København og spiller trommer.",
        "mads@gmail.com",
    );
    confident(&e, "DK", Stated);
}

#[test]
fn pl_mieszkam_w_warszawie() {
    let e = ev(
        "Pomoc",
        "Dzień dobry, mieszkam w Warszawie i jestem muzykiem.",
        "ola@gmail.com",
    );
    confident(&e, "PL", Stated);
}

// -------------------------------------------------------- Japanese, Korean

#[test]
fn ja_nihon_ni_sunde_imasu() {
    let e = ev(
        "相談",
        "こんにちは。日本に住んでいます。ツアーの後、眠れません。",
        "yuki@gmail.com",
    );
    let c = confident(&e, "JP", Stated);
    assert!(
        c > alone(EvidenceKind::Residence),
        "Japanese text corroborates, got {c}"
    );
}

#[test]
fn ja_tokyo_zaiju() {
    let e = ev(
        "はじめまして",
        "東京在住のシンガーソングライターです。最近とても不安です。",
        "haru@icloud.com",
    );
    confident(&e, "JP", Stated);
}

#[test]
fn ja_text_only_is_weak() {
    let e = ev(
        "相談",
        "こんにちは。最近ずっと眠れなくて、誰かに話を聞いてほしいです。",
        "mei@gmail.com",
    );
    // The language alone never places a case; Japan is the only candidate.
    let i = analyze_country(&e);
    assert!(i.placed(calibrated_threshold()).is_none(), "{:?}", i.best);
    assert_eq!(
        i.candidates.first().map(|c| c.0.as_str()),
        Some("JP"),
        "{:?}",
        i.candidates
    );
}

#[test]
fn ko_seoul_e_salgo_isseoyo() {
    let e = ev(
        "상담",
        "안녕하세요. 저는 서울에 살고 있어요. 공연 전에 너무 불안해요.",
        "minji@naver.com",
    );
    confident(&e, "KR", Stated);
}

#[test]
fn ko_text_with_offset_still_weak() {
    let mut e = ev(
        "상담 요청",
        "안녕하세요. 요즘 잠을 잘 못 자고 너무 지쳐 있어요. 도움이 필요합니다.",
        "jisoo@gmail.com",
    );
    e.date_offset_minutes = Some(540);
    let with_tz = check(&e, "KR", Lang);
    e.date_offset_minutes = None;
    // The language alone never places a case (and may leave no guess).
    let i = analyze_country(&e);
    assert!(i.placed(calibrated_threshold()).is_none(), "{:?}", i.best);
    let without = i
        .candidates
        .iter()
        .find(|c| c.0 == code("KR"))
        .map_or(0.0, |c| c.1);
    assert!(with_tz > without, "agreeing offset should help a little");
}

#[test]
fn zh_taipei() {
    let e = ev("你好", "你好，我住在台北，是一名鼓手。", "wei@gmail.com");
    confident(&e, "TW", Stated);
}

// ---------------------------------------------------------- Form fields

#[test]
fn form_country_brazil() {
    let e = ev(
        "New request",
        "Name: Ana\nCountry: Brazil\nMessage: I need help",
        "forms@concierge.example",
    );
    confident(&e, "BR", Stated);
}

#[test]
fn form_pais_brasil() {
    let e = ev(
        "Pedido",
        "Nome: João\nPaís: Brasil\nMensagem: preciso de ajuda",
        "joao@gmail.com",
    );
    confident(&e, "BR", Stated);
}

#[test]
fn signature_lisboa_portugal() {
    let e = ev(
        "Pedido de apoio",
        "Bom dia, gostaria de marcar uma sessão.\n\nRita Mendes\nLisboa, Portugal",
        "rita@gmail.com",
    );
    confident(&e, "PT", Stated);
}

// -------------------------------------------------- History and timezone

#[test]
fn history_only() {
    let mut e = ev("Re: follow-up", "Thanks, talk soon.", "x@gmail.com");
    e.previous_country = Some(code("NO"));
    confident(&e, "NO", History);
}

#[test]
fn history_agrees_with_domain() {
    let mut e = ev("Hi", "Hi again.", "x@online.no");
    e.previous_country = Some(code("NO"));
    // Either may be named as the source; together they beat each alone.
    let g = infer_country(&e).expect("a guess");
    assert_eq!(g.country, code("NO"));
    assert!(matches!(g.source, History | Domain), "{g:?}");
    assert!(g.confidence > alone(EvidenceKind::Domain).max(alone(EvidenceKind::History)));
}

#[test]
fn timezone_only() {
    let mut e = ev("", "", "x@gmail.com");
    e.date_offset_minutes = Some(540);
    // An offset alone is never enough to place anyone.
    assert!(analyze_country(&e).placed(calibrated_threshold()).is_none());
    e.date_offset_minutes = Some(12345);
    assert_eq!(infer_country(&e), None);
}

// ------------------------------------------------------------ Languages

#[test]
fn detect_language_on_ten_languages() {
    let cases = [
        (
            "en",
            "Hello, I have been feeling really anxious before every show and I can't sleep at all.",
        ),
        (
            "pt",
            "Olá, tenho sentido muita ansiedade antes de cada apresentação e não consigo dormir direito.",
        ),
        (
            "es",
            "Hola, desde hace varios meses tengo mucha ansiedad antes de cada concierto. Me cuesta muchísimo dormir, no tengo ganas de nada y siento que nadie me entiende. ¿Podrían ayudarme?",
        ),
        (
            "fr",
            "Bonjour, je me sens très anxieux avant chaque concert et je n'arrive plus à dormir la nuit.",
        ),
        (
            "de",
            "Hallo, ich habe vor jedem Konzert große Angst und kann seit Wochen nicht mehr richtig schlafen.",
        ),
        (
            "it",
            "Ciao, prima di ogni concerto mi sento molto ansiosa e non riesco più a dormire la notte.",
        ),
        (
            "sv",
            "Hej, jag behöver prata med någon om min stress inför turnén. Jag sover mycket dåligt.",
        ),
        (
            "fi",
            "Hei, tarvitsen apua, olen ollut todella väsynyt kiertueen jälkeen enkä saa unta.",
        ),
        (
            "ja",
            "こんにちは。最近ずっと眠れなくて、誰かに話を聞いてほしいです。",
        ),
        (
            "ko",
            "안녕하세요. 요즘 잠을 잘 못 자고 너무 지쳐 있어요. 도움이 필요합니다.",
        ),
        (
            "ru",
            "Здравствуйте, я музыкант и последние месяцы очень плохо сплю перед концертами.",
        ),
    ];
    for (want, text) in cases {
        let got = detect_language(text);
        assert_eq!(got.map(|l| l.to_string()), Some(want.to_string()), "{text}");
    }
}

#[test]
fn detect_language_refuses_short_or_unreliable_text() {
    assert_eq!(detect_language(""), None);
    assert_eq!(detect_language("ok thx"), None);
    assert_eq!(detect_language("+55 11 98765-4321"), None);
}

#[test]
fn language_type_parses_and_displays() {
    let l: super::Language = "PT".parse().expect("valid");
    assert_eq!(l.as_str(), "pt");
    assert!("por".parse::<super::Language>().is_err());
}

// ---------------------------------------------------- Codes and regions

#[test]
fn country_code_parsing() {
    assert_eq!(code("br").as_str(), "BR");
    assert_eq!(code(" BR ").to_string(), "BR");
    assert!("UK".parse::<CountryCode>().is_err());
    assert!("ZZ".parse::<CountryCode>().is_err());
    assert!("BRA".parse::<CountryCode>().is_err());
    assert!("".parse::<CountryCode>().is_err());
    assert!("É1".parse::<CountryCode>().is_err());
}

#[test]
fn serde_round_trips_through_strings() {
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error, StrDeserializer};
    let d: StrDeserializer<Error> = "br".into_deserializer();
    assert_eq!(CountryCode::deserialize(d), Ok(code("BR")));
    let d: StrDeserializer<Error> = "XX".into_deserializer();
    assert!(CountryCode::deserialize(d).is_err());
    for s in [
        CountrySource::Manual,
        CountrySource::Stated,
        Phone,
        Domain,
        History,
        Lang,
        Timezone,
    ] {
        let d: StrDeserializer<Error> = s.as_str().into_deserializer();
        assert_eq!(CountrySource::deserialize(d), Ok(s));
    }
}

#[test]
fn country_names_from_celes() {
    assert_eq!(country_name(code("BR")), "Brazil");
    assert_eq!(country_name(code("JP")), "Japan");
    assert!(country_name(code("GB")).contains("United Kingdom"));
}

#[test]
fn subregions() {
    let cases = [
        ("BR", "South America"),
        ("DE", "Western Europe"),
        ("JP", "Eastern Asia"),
        ("US", "Northern America"),
        ("CA", "Northern America"),
        ("GB", "Northern Europe"),
        ("PT", "Southern Europe"),
        ("PL", "Eastern Europe"),
        ("MX", "Central America"),
        ("NG", "Western Africa"),
        ("KE", "Eastern Africa"),
        ("ZA", "Southern Africa"),
        ("IN", "Southern Asia"),
        ("AU", "Australia and New Zealand"),
        ("JM", "Caribbean"),
        ("TR", "Western Asia"),
    ];
    for (c, want) in cases {
        assert_eq!(subregion(code(c)), Some(want), "{c}");
    }
}

#[test]
fn every_celes_country_has_a_subregion_except_antarctica() {
    for c in celes::Country::get_countries() {
        let cc = code(c.alpha2);
        assert_eq!(subregion(cc).is_some(), c.alpha2 != "AQ", "{}", c.alpha2);
    }
}

// ------------------------------------------- Rules added for the refit (#11)

/// The kinds of evidence that name `country`.
fn kinds_for(e: &Evidence, country: &str) -> Vec<EvidenceKind> {
    analyze_country(e)
        .evidence
        .iter()
        .filter(|x| x.country == code(country))
        .map(|x| x.kind)
        .collect()
}

#[test]
fn home_beats_where_they_are_right_now() {
    let e = ev(
        "Help",
        "I'm a lighting tech, I live in Lisbon. Right now I'm in Rio for a festival and I \
         had a breakdown in the hotel.",
        "ines@gmail.com",
    );
    confident(&e, "PT", Stated);
}

#[test]
fn german_and_dutch_verbs_at_the_end_of_the_clause() {
    let e = ev(
        "Hallo",
        "Ich hab vier Jahre in den USA gelebt und bin jetzt zurück nach Dresden gezogen.",
        "jonas@gmail.com",
    );
    assert!(kinds_for(&e, "DE").contains(&EvidenceKind::MovedTo));
    assert!(kinds_for(&e, "US").contains(&EvidenceKind::Left));
    confident(&e, "DE", Stated);
    let e = ev(
        "Hoi",
        "Ik schrijf voor mijn zus, die in Utrecht woont.",
        "a@gmail.com",
    );
    assert!(kinds_for(&e, "NL").contains(&EvidenceKind::Residence));
}

#[test]
fn the_second_place_of_a_move_is_where_they_went() {
    let e = ev(
        "Hi",
        "I moved from Sydney to Toowoomba, Queensland last year.",
        "l@gmail.com",
    );
    assert!(kinds_for(&e, "AU").contains(&EvidenceKind::MovedTo));
    // "to" without a verb of moving is not a move.
    let e = ev("Hi", "I sent a demo to Toowoomba.", "l@gmail.com");
    assert!(!kinds_for(&e, "AU").contains(&EvidenceKind::MovedTo));
}

#[test]
fn a_region_after_a_comma_and_a_preposition_qualifies() {
    let e = ev(
        "Hola",
        "Hola, vivo en Santiago, en Galicia. Busco psicóloga.",
        "pili@gmail.com",
    );
    confident(&e, "ES", Stated);
    let e = ev(
        "Hi",
        "I mean Perth in Scotland, lol. I'm a folk singer.",
        "isla@gmail.com",
    );
    assert!(!kinds_for(&e, "AU").iter().any(|k| k.source() == Stated));
}

#[test]
fn saint_abbreviated_and_a_common_region_after_a_town() {
    let e = ev(
        "Hallo",
        "Ich bin Techniker und wohne in St. Pölten, Niederösterreich.",
        "s@gmail.com",
    );
    confident(&e, "AT", Stated);
    let e = ev(
        "Hey",
        "I'm a songwriter out in Marfa, Texas.",
        "w@gmail.com",
    );
    assert!(kinds_for(&e, "US").contains(&EvidenceKind::Mention));
    // "West" is a Cameroonian region and a word: not after a town.
    let e = ev(
        "Hi",
        "I live in Hebden Bridge, West Yorkshire.",
        "c@gmail.com",
    );
    assert!(kinds_for(&e, "CM").is_empty());
}

#[test]
fn amman_and_oman_are_both_read() {
    let e = ev("مساعدة", "أنا عازف قانون ساكن في عمان.", "q@gmail.com");
    let i = analyze_country(&e);
    assert!(i.placed(calibrated_threshold()).is_none(), "{:?}", i.best);
    let names: Vec<&str> = i.candidates.iter().map(|c| c.0.as_str()).collect();
    assert!(names.contains(&"JO") && names.contains(&"OM"), "{names:?}");
}

#[test]
fn lower_case_big_cities_after_a_clear_cue_and_inflected_common_names() {
    let e = ev(
        "moin",
        "moin, bin gitarrist aus bochum im ruhrpott.",
        "d@gmail.com",
    );
    assert!(kinds_for(&e, "DE").contains(&EvidenceKind::Origin));
    let e = ev(
        "Dzień dobry",
        "W zeszłym roku wróciłam do Szczecina. Szukam psychoterapeuty.",
        "m@gmail.com",
    );
    assert!(kinds_for(&e, "PL").contains(&EvidenceKind::MovedTo));
    // Not after a bare Portuguese "no" that is a Spanish word.
    let e = ev("Hola", "Está muy mal y no sale de la casa.", "a@gmail.com");
    assert!(kinds_for(&e, "MA").is_empty());
}

#[test]
fn city_names_before_a_cjk_cue_and_cantonese_cues() {
    let e = ev("相談", "tokyo在住のトラックメーカーです", "m@gmail.com");
    assert!(kinds_for(&e, "JP").contains(&EvidenceKind::Residence));
    let e = ev(
        "你好",
        "我去年從香港移民到英國，而家住喺曼徹斯特。",
        "h@outlook.com",
    );
    confident(&e, "GB", Stated);
}

#[test]
fn region_codes_national_providers_and_phone_priors() {
    let e = ev(
        "Oi",
        "Moro em SP. Queria conversar com alguém.",
        "h@icloud.com",
    );
    assert!(kinds_for(&e, "BR").contains(&EvidenceKind::Residence));
    // "LA" is Louisiana and Ladakh: no statement from an ambiguous code.
    let e = ev("Hi", "I live in LA now.", "d@gmail.com");
    assert!(kinds_for(&e, "IN").is_empty());
    let e = ev("Hi", "I'm not ok.", "lorna@bigpond.com");
    assert!(kinds_for(&e, "AU").contains(&EvidenceKind::Domain));
    let e = ev(
        "Hallo",
        "Hallo, ich brauche jemanden zum Reden. Gerne per Telefon: 0170 5551234",
        "k@gmail.com",
    );
    let i = analyze_country(&e);
    let phone = |c: &str| {
        i.evidence
            .iter()
            .find(|x| x.kind == EvidenceKind::PhoneNational && x.country == code(c))
            .map_or(0.0, |x| x.weight)
    };
    assert!(phone("DE") > phone("AT"), "{:?}", i.evidence);
}

#[test]
fn the_highlands_are_not_a_small_us_town() {
    let e = ev(
        "Hi",
        "I'm in Scotland, up in the Highlands. I'm a fiddle teacher.",
        "m@gmail.com",
    );
    assert!(kinds_for(&e, "US").is_empty());
    confident(&e, "GB", Stated);
}

#[test]
fn written_for_someone_else_their_home_is_the_case_place() {
    let e = ev(
        "Hallo",
        "Hallo, ich bin in München, schreibe aber für meine Schwester. Sie ist Harfenistin \
         und wohnt in Salzburg.",
        "eva@gmail.com",
    );
    assert!(kinds_for(&e, "AT").contains(&EvidenceKind::Residence));
    // Without a message written for that person, a third person's home is
    // only a mention.
    let e = ev("Hi", "My manager lives in London.", "nils@gmail.com");
    assert!(!kinds_for(&e, "GB").contains(&EvidenceKind::Residence));
}

#[test]
fn live_here_after_a_place_makes_it_home_and_a_place_left_loses_its_signals() {
    let e = ev(
        "yo",
        "yo, rapper from Laval, Quebec. I live here still.",
        "l@gmail.com",
    );
    assert!(kinds_for(&e, "CA").contains(&EvidenceKind::Residence));
    let with_left = ev("Hi", "I used to live in Berlin.", "a@posteo.de");
    let without = ev("Hi", "I need someone to talk to.", "a@posteo.de");
    let p = |e: &Evidence| {
        analyze_country(e)
            .candidates
            .iter()
            .find(|c| c.0 == code("DE"))
            .map_or(0.0, |c| c.1)
    };
    assert!(p(&with_left) < p(&without));
}

#[test]
fn ja_working_somewhere_is_where_they_are_based() {
    let e = ev(
        "相談",
        "札幌でシンガーをしています。来月の台湾公演の準備中ですが、正直かなり限界です。",
        "k@gmail.com",
    );
    assert!(kinds_for(&e, "JP").contains(&EvidenceKind::Based));
    assert!(kinds_for(&e, "TW").contains(&EvidenceKind::Tour));
}

#[test]
fn a_settlement_phrase_before_its_region_and_arabic_without_the_article() {
    let e = ev(
        "hola",
        "vivo en un pueblo de la sierra de oaxaca, toco en la banda del pueblo.",
        "c@gmail.com",
    );
    assert!(kinds_for(&e, "MX").contains(&EvidenceKind::Residence));
    let e = ev(
        "مساء الخير",
        "مساء الخير، أنا مهندس صوت من إسكندرية وعايش فيها.",
        "a@yahoo.com",
    );
    assert!(kinds_for(&e, "EG").contains(&EvidenceKind::Residence));
}
