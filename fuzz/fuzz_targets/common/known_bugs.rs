//! Already reported, not yet fixed panics, skipped so the fuzzer can look
//! past them. Shared by the targets that go through the mail parser.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which known bugs still abort: `CONCIERGE_FUZZ_REPORT=all`, or a list of
/// `KNOWN_BUGS` numbers such as `2` or `1,2` (to reproduce or minimise one of
/// them). Unset: all known bugs are skipped.
static REPORT: LazyLock<Vec<usize>> = LazyLock::new(|| {
    let v = std::env::var("CONCIERGE_FUZZ_REPORT").unwrap_or_default();
    if v.trim() == "all" {
        return (1..=KNOWN_BUGS.len()).collect();
    }
    v.split(',').filter_map(|n| n.trim().parse().ok()).collect()
});

/// Already reported, not yet fixed panics: (source file suffix, message
/// fragment). An input that hits one is skipped, so the fuzzer can look past
/// it; every other panic still aborts. Delete an entry once its fix lands.
const KNOWN_BUGS: &[(&str, &str)] = &[
    // 1. tests/regressions/ingest_parse-1.bin: `is_internal_header` slices the
    // header name at byte 12 without checking for a char boundary.
    ("concierge-core/src/message/class.rs", "is not a char boundary"),
    // 2. tests/regressions/ingest_parse-2.bin: `debug_assert!(false, ..)` in
    // mail-parser 0.11.9 (fires only with debug assertions, as in dev/test
    // builds and in cargo-fuzz builds).
    ("src/parsers/message.rs", "Invalid part ID, could not find multipart."),
];

static KNOWN_HIT: AtomicBool = AtomicBool::new(false);

/// Wraps libfuzzer-sys's aborting panic hook: known panics unwind quietly to
/// our `catch_unwind`, all others go to libFuzzer as usual.
static HOOK: LazyLock<()> = LazyLock::new(|| {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let file = info.location().map_or("", |l| l.file());
        let msg = info.payload_as_str().unwrap_or("");
        let known = KNOWN_BUGS
            .iter()
            .enumerate()
            .any(|(i, (f, m))| file.ends_with(f) && msg.contains(m) && !REPORT.contains(&(i + 1)));
        if known {
            KNOWN_HIT.store(true, Ordering::Relaxed);
        } else {
            previous(info);
        }
    }));
});

/// Runs `f`; `None` if it panicked with one of `KNOWN_BUGS` (not selected by
/// `CONCIERGE_FUZZ_REPORT`). Any other panic aborts as usual.
pub fn skip<T>(f: impl FnOnce() -> T) -> Option<T> {
    LazyLock::force(&HOOK);
    KNOWN_HIT.store(false, Ordering::Relaxed);
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Some(v),
        Err(_) if KNOWN_HIT.load(Ordering::Relaxed) => None,
        Err(panic) => resume_unwind(panic),
    }
}
