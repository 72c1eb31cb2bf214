//! Outbound mail: templates, building RFC 5322 messages, and relaying them.
//!
//! - [`Templates`]: admin-editable minijinja templates under `config/templates`,
//!   read once at start-up ([`Templates::load`]) and checked by a trial render.
//! - [`build`]: an [`Outgoing`] message → RFC 5322 bytes (with `lettre`),
//!   plus the Message-ID, reply-address and subject helpers that carry our
//!   signed reply tokens.
//! - [`Relay`]: hands raw bytes to an SMTP relay (plain, STARTTLS or implicit
//!   TLS), classifying failures as [`SendError::Temporary`] or
//!   [`SendError::Permanent`].

mod message;
mod relay;
mod templates;

pub use message::{
    BuildError, MAX_OUTBOUND_REFERENCES, MAX_SUBJECT_CHARS, Mailbox, Outgoing, build,
    new_message_id, references_for_reply, reply_address, reply_subject,
};
pub use relay::{Relay, RelayUrlError, Security, SendError};
pub use templates::{
    AckVars, LaneKind, LaneVars, NotifyVars, ResourceVars, TemplateError, Templates,
};
