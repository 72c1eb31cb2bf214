//! Concierge's domain: pure Rust, no I/O, no async.
//!
//! - [`ticket`]: references, the status state machine, priorities.
//! - [`message`]: addresses and machine-mail classification.
//! - [`threading`]: reply tokens, thread lookup plans, deduplication keys.
//! - [`country`]: country and language inference.
//! - [`routing`]: who gets a case, and response-time promises.
//! - [`risk`]: risk assessment of human messages (crisis lane, issue 13).
//! - [`emergency`]: emergency numbers by country (the urgent acknowledgement).
pub mod country;
pub mod emergency;
pub mod message;
pub mod privacy;
pub mod risk;
pub mod routing;
pub mod threading;
pub mod ticket;
