//! Country and language inference as `concierge_inbound::Inbound::prepare`
//! runs it on every inbound message: parse → `analyze_country` over the
//! subject, the first 20 000 bytes of the text, the sender and the Date
//! offset → `detect_language` over subject + first 4 000 bytes.
//!
//! Checks: no panic, bounded time, confidences in 0..=1 as documented.
#![no_main]

use std::sync::LazyLock;

use concierge_core::country::{CountryCode, Evidence, analyze_country, detect_language};
use concierge_mail::inbound::{Limits, parse, truncate};
use libfuzzer_sys::fuzz_target;

#[path = "common/known_bugs.rs"]
mod known_bugs;

static LIMITS: LazyLock<Limits> = LazyLock::new(Limits::default);
static PREVIOUS: LazyLock<[Option<CountryCode>; 3]> =
    LazyLock::new(|| [None, "BR".parse().ok(), "DE".parse().ok()]);

fuzz_target!(|raw: &[u8]| {
    let Some(Ok(parsed)) = known_bugs::skip(|| parse(raw, &LIMITS)) else {
        return;
    };
    let previous_country = PREVIOUS[raw.len() % 3];
    let sample = truncate(&parsed.text, 20_000);
    let inference = analyze_country(&Evidence {
        subject: &parsed.subject,
        text: sample,
        from_address: parsed.from.as_ref().map_or("", |a| a.as_str()),
        date_offset_minutes: parsed.date_offset_minutes,
        previous_country,
    });
    if let Some(i) = &inference {
        for g in std::iter::once(&i.best).chain(&i.signals) {
            assert!(
                (0.0..=1.0).contains(&g.confidence),
                "confidence {} from {}",
                g.confidence,
                g.source.as_str()
            );
            let _ = (g.country.to_string(), g.country.as_str());
        }
        let _ = i.is_contradicted();
        let _ = i.alternatives().count();
    }
    let language = detect_language(&format!("{}\n{}", parsed.subject, truncate(sample, 4_000)));
    let _ = language.map(|l| l.as_str().to_owned());
});
