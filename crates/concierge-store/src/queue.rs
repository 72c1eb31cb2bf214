//! The job queue (apalis-postgres): job payloads, and enqueueing inside the
//! caller's transaction so that "committed" and "job exists" are one fact.

use apalis_core::task::builder::TaskBuilder;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::StoreError;

/// apalis queue that routes cases to volunteers.
pub const ROUTE_QUEUE: &str = "concierge.route";

/// Route one ticket. Idempotent: an assigned ticket is left alone.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteJob {
    /// The ticket.
    pub ticket_id: Uuid,
}

/// apalis queue of mail work: composing (ack, notifications) and sending.
pub const MAIL_QUEUE: &str = "concierge.mail";

/// Mail work. Every variant is idempotent.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailJob {
    /// Acknowledge a new case to its requester.
    Ack {
        /// The ticket.
        ticket_id: Uuid,
    },
    /// Tell a caseworker a case was assigned to them (no content).
    Assigned {
        /// The assignment.
        assignment_id: Uuid,
    },
    /// Send an outbox row.
    Send {
        /// The row.
        outbox_id: Uuid,
    },
}

/// Pushes mail jobs through `conn`, optionally delayed by `delay_secs`.
pub(crate) async fn push_mail_jobs(
    conn: &mut sqlx::PgConnection,
    jobs: &[MailJob],
    delay_secs: Option<i64>,
) -> Result<(), StoreError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let tasks = jobs
        .iter()
        .map(|job| {
            let bytes = serde_json::to_vec(job)
                .map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))?;
            let mut b = TaskBuilder::new(bytes).max_attempts(10);
            if let Some(d) = delay_secs {
                b = b.run_after(std::time::Duration::from_secs(d.max(0) as u64));
            }
            Ok(b.build())
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    apalis_postgres::queries::push_tasks(conn, MAIL_QUEUE, tasks)
        .await
        .map_err(queue_error)
}

fn queue_error(e: apalis_postgres::Error) -> StoreError {
    match e {
        apalis_postgres::Error::Database(db) => StoreError::from(db),
        other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
    }
}

/// Pushes route jobs for `tickets` through `conn` (a transaction).
pub(crate) async fn push_route_jobs(
    conn: &mut sqlx::PgConnection,
    tickets: &[Uuid],
) -> Result<(), StoreError> {
    if tickets.is_empty() {
        return Ok(());
    }
    let tasks = tickets
        .iter()
        .map(|&ticket_id| {
            let bytes = serde_json::to_vec(&RouteJob { ticket_id })
                .map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))?;
            Ok(TaskBuilder::new(bytes).max_attempts(10).build())
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    apalis_postgres::queries::push_tasks(conn, ROUTE_QUEUE, tasks)
        .await
        .map_err(queue_error)
}
