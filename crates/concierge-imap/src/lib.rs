//! Mail from where the concierge address lives today: IMAP mailboxes
//! (a poller per mailbox, one process at a time by a Postgres lease) and
//! mailbox exports (`concierge import mbox|maildir`). Every message goes
//! through [`concierge_inbound::Inbound::ingest_mailbox`], the same
//! parsing, classification, threading, dedup and storage as the SMTP, pipe
//! and HTTP doors.

pub mod config;
pub mod conn;
pub mod import;
pub mod mbox;
pub mod oauth;
pub mod plan;
pub mod poller;

pub use config::{AfterImport, MailboxConfig, TlsMode};
pub use poller::{PollerSettings, run};
