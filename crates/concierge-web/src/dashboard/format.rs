//! How the dashboard's pages show times.

use chrono::{DateTime, Utc};

/// "2026-11-25 14:00 UTC".
pub(super) fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// [`fmt_time`], or nothing.
pub(super) fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(fmt_time).unwrap_or_default()
}
