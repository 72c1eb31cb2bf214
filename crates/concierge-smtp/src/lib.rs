//! Inbound SMTP server (RFC 5321) for receiving support mail.
//!
//! - [`protocol`]: socket-free command parser ([`parse_command`]) and replies.
//! - [`session`]: socket-free session state machine.
//! - [`data`]: DATA-phase decoder (end marker, dot-unstuffing, size limit).
//! - [`serve`]: the tokio listener, with connection limits, timeouts and
//!   graceful shutdown.
//!
//! The application plugs in through [`MessageSink`].
#![warn(missing_docs)]

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

pub mod data;
mod lines;
pub mod protocol;
mod server;
pub mod session;

pub use protocol::{Command, ParseError, Reply, parse_command};
pub use server::serve;

/// Server limits and identity.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Name announced in the greeting and EHLO reply.
    pub hostname: String,
    /// Largest accepted message (after dot-unstuffing), advertised as `SIZE`.
    pub max_message_bytes: usize,
    /// Recipients per transaction; more get `452 4.5.3`.
    pub max_recipients: usize,
    /// Concurrent sessions; more get `421 4.7.0` and are closed.
    pub max_connections: usize,
    /// Concurrent sessions from one IP address (0 = no per-IP limit).
    pub max_connections_per_ip: usize,
    /// Time allowed for each command line to arrive.
    pub command_timeout: Duration,
    /// Time allowed between two reads of message data.
    pub data_timeout: Duration,
    /// Errors (bad commands, rejected recipients) tolerated before `421` and close.
    pub max_errors: usize,
    /// How long [`serve`] waits for in-flight sessions after shutdown is requested.
    pub shutdown_grace: Duration,
}

impl Default for SmtpConfig {
    /// 10 MiB messages, 100 recipients, 100 connections (10 per IP),
    /// RFC 5321 timeouts (5 min per command, 3 min per data read), 10 errors,
    /// 30 s shutdown grace.
    fn default() -> Self {
        SmtpConfig {
            hostname: "localhost".into(),
            max_message_bytes: 10 * 1024 * 1024,
            max_recipients: 100,
            max_connections: 100,
            max_connections_per_ip: 10,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            max_errors: 10,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The application side: recipient checks and delivery of received messages.
pub trait MessageSink: Send + Sync + 'static {
    /// Checked at RCPT TO; false → 550 5.1.1.
    fn accepts_recipient(&self, rcpt: &str) -> bool;
    /// Called after DATA completes; reply is sent only after this resolves.
    fn deliver(&self, envelope: Envelope) -> impl Future<Output = Delivery> + Send;
}

/// A received message with its SMTP envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Address of the connected client.
    pub peer: SocketAddr,
    /// The EHLO/HELO argument.
    pub helo: String,
    /// Reverse path; empty for the null sender `<>`.
    pub mail_from: String,
    /// Accepted recipients, in order, without duplicates.
    pub rcpt_to: Vec<String>,
    /// The message exactly as sent, dot-unstuffed, without the end marker.
    pub data: Vec<u8>,
}

/// Prints sizes only, so message content never ends up in logs.
impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("peer", &self.peer)
            .field("helo", &self.helo)
            .field("rcpt_count", &self.rcpt_to.len())
            .field("data_len", &self.data.len())
            .finish_non_exhaustive()
    }
}

/// Outcome of [`MessageSink::deliver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Stored; replied `250 2.0.0 Ok: queued as <id>`.
    Accepted {
        /// Identifier shown to the client.
        id: String,
    },
    /// Try again later; replied `451 4.3.0 <msg>`.
    TempFail(String),
    /// Rejected for good; replied `554 5.6.0 <msg>`.
    PermFail(String),
}
