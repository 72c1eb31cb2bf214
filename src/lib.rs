//! The `concierge` binary's library: configuration, the embedded database
//! and the wiring of the inbound pipeline to its doors. Integration tests in
//! `tests/` drive the real application through it.
pub mod app;
pub mod config;
pub mod demo;
pub mod embedded;
pub mod hub;
