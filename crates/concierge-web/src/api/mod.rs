//! `/api/v1`: the JSON API.
pub(crate) mod tickets;
