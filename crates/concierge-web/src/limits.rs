//! Limits on what people type, the same through both doors: the JSON API
//! (`api`) and the dashboard (`dashboard`). Rules that are the domain's
//! (which country and language codes a volunteer may cover) are in
//! `concierge_core::country::{covered_countries, spoken_languages}`.

/// Longest internal note, in bytes.
pub(crate) const MAX_NOTE: usize = 20_000;
/// Longest reason for an assignment change, in bytes.
pub(crate) const MAX_REASON: usize = 500;
/// Longest reply to a requester, in bytes.
pub(crate) const MAX_REPLY: usize = 100_000;
/// Largest volunteer capacity (open cases at once).
pub(crate) const MAX_CAPACITY: i32 = 1000;
