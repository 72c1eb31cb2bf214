//! Messages: addresses, direction and machine-mail classes.
mod address;
mod autoreply;
mod class;

pub use address::{EmailAddress, InvalidAddress};
pub use autoreply::ack_recipient;
pub use class::{
    ClassFacts, INTERNAL_HEADER_PREFIX, LOOP_HEADER, MessageClass, UnknownClass, classify,
    is_internal_header,
};
