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
        .map_err(|e| match e {
            apalis_postgres::Error::Database(db) => StoreError::from(db),
            other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
        })
}
