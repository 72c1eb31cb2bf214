//! `/api/v1`: the JSON API.
pub(crate) mod resources;
pub(crate) mod tickets;
pub(crate) mod volunteers;
