//! Tickets (cases): references, statuses, priorities.
mod reference;
mod status;

pub use reference::{InvalidReference, REFERENCE_LEN, TicketReference};
pub use status::{Priority, RefusedTransition, TicketStatus, UnknownStatus};
