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
    /// An imminent-risk message arrived: tell the people on call (reference
    /// and link, never content).
    Urgent {
        /// The case.
        ticket_id: Uuid,
        /// The message that was assessed imminent.
        message_id: Uuid,
    },
    /// An imminent-risk reply on an existing case: the acknowledgement that
    /// leads with the crisis line and emergency number (once per case).
    UrgentAck {
        /// The case.
        ticket_id: Uuid,
    },
    /// Nobody acknowledged an imminent-risk case in time: mail every
    /// coordinator (round `round`, counted from 1).
    Escalate {
        /// The case.
        ticket_id: Uuid,
        /// How many escalations this is.
        round: i32,
    },
    /// A case missed its first-response target: mail every coordinator.
    Breach {
        /// The case.
        ticket_id: Uuid,
    },
}

/// Pushes mail jobs through `conn`, optionally delayed by `delay_secs`.
/// The queue priority of the crisis lane's jobs: workers take them before
/// any other waiting job (apalis fetches by `priority DESC, run_at`), so an
/// urgent acknowledgement or on-call notice never waits behind a backlog.
pub const URGENT_PRIORITY: i32 = 10;

impl MailJob {
    /// Its queue priority: [`URGENT_PRIORITY`] for the crisis lane's
    /// notices and escalations, 0 for the rest (an acknowledgement of an
    /// imminent-risk case is raised by the ingest that knows it).
    pub fn priority(&self) -> i32 {
        match self {
            Self::Urgent { .. } | Self::UrgentAck { .. } | Self::Escalate { .. } => URGENT_PRIORITY,
            Self::Ack { .. } | Self::Assigned { .. } | Self::Send { .. } | Self::Breach { .. } => 0,
        }
    }
}

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
            let mut b = TaskBuilder::new(bytes)
                .max_attempts(MAX_ATTEMPTS as usize)
                .priority(job.priority().max(0) as usize);
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

/// A job for [`push_jobs_quietly`]: its queue and payload.
pub(crate) struct QuietJob {
    queue: &'static str,
    payload: Vec<u8>,
    priority: i32,
}

impl QuietJob {
    /// Its queue.
    pub(crate) fn queue(&self) -> &'static str {
        self.queue
    }

    /// A route job for `ticket_id`.
    pub(crate) fn route(ticket_id: Uuid) -> Result<Self, StoreError> {
        Ok(Self {
            queue: ROUTE_QUEUE,
            payload: encode(&RouteJob { ticket_id })?,
            priority: 0,
        })
    }

    /// A mail job.
    pub(crate) fn mail(job: &MailJob) -> Result<Self, StoreError> {
        Ok(Self {
            queue: MAIL_QUEUE,
            payload: encode(job)?,
            priority: job.priority(),
        })
    }

    /// A mail job of the crisis lane (e.g. the acknowledgement of an
    /// imminent-risk case): ahead of every other waiting job.
    pub(crate) fn urgent_mail(job: &MailJob) -> Result<Self, StoreError> {
        Ok(Self {
            priority: URGENT_PRIORITY,
            ..Self::mail(job)?
        })
    }
}

fn encode<T: Serialize>(job: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(job).map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))
}

/// Pushes jobs of any queues through `conn` (a transaction) in one
/// statement, like `apalis_postgres::queries::push_tasks` but without the
/// queue's insert trigger sending a NOTIFY: a NOTIFY makes the committing
/// transaction take a cluster-wide lock until its commit is flushed, so
/// every transaction that pushes a job would commit one after the other
/// (measured on this project's machine: 4,000 commits/s without, 1,100
/// with). The trigger notifies only jobs due at the transaction's start;
/// these are due at `clock_timestamp()`, a moment later, and are fetched
/// by any transaction that starts after the commit. The caller wakes the
/// workers after committing ([`Store::jobs_committed`]).
pub(crate) async fn push_jobs_quietly(
    conn: &mut sqlx::PgConnection,
    jobs: &[QuietJob],
) -> Result<(), StoreError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = jobs
        .iter()
        .map(|_| ulid::Ulid::generate().to_string())
        .collect();
    let queues: Vec<&str> = jobs.iter().map(|j| j.queue).collect();
    let payloads: Vec<&[u8]> = jobs.iter().map(|j| j.payload.as_slice()).collect();
    let priorities: Vec<i32> = jobs.iter().map(|j| j.priority).collect();
    // The apalis schema is created at run time (`Store::migrate`), so this
    // statement is checked by the tests rather than at compile time.
    sqlx::query(
        "INSERT INTO apalis.jobs (id, job_type, job, max_attempts, run_at, priority)
         SELECT id, job_type, job, $4,
                greatest(clock_timestamp(), now() + interval '1 millisecond'), priority
         FROM UNNEST($1::text[], $2::text[], $3::bytea[], $5::int4[])
              AS j(id, job_type, job, priority)",
    )
    .bind(&ids)
    .bind(&queues)
    .bind(&payloads)
    .bind(MAX_ATTEMPTS)
    .bind(&priorities)
    .execute(conn)
    .await?;
    Ok(())
}

/// Attempts a job gets (apalis counts the first run).
const MAX_ATTEMPTS: i32 = 10;

/// Wakes the workers of one queue after jobs were committed: at once in
/// this process, and (at most every [`WAKE_GAP`]) in every process through a
/// NOTIFY sent in a transaction of its own with asynchronous commit, so it
/// never holds the NOTIFY lock across a flush.
#[derive(Debug)]
pub(crate) struct Wakeups {
    route: tokio::sync::watch::Sender<u64>,
    mail: tokio::sync::watch::Sender<u64>,
    route_notifying: std::sync::atomic::AtomicBool,
    mail_notifying: std::sync::atomic::AtomicBool,
}

/// Shortest time between two cross-process wake-ups of one queue.
const WAKE_GAP: std::time::Duration = std::time::Duration::from_millis(10);

impl Default for Wakeups {
    fn default() -> Self {
        Self {
            route: tokio::sync::watch::channel(0).0,
            mail: tokio::sync::watch::channel(0).0,
            route_notifying: std::sync::atomic::AtomicBool::new(false),
            mail_notifying: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Wakeups {
    fn sender(
        &self,
        queue: &str,
    ) -> Option<(
        &tokio::sync::watch::Sender<u64>,
        &std::sync::atomic::AtomicBool,
    )> {
        match queue {
            ROUTE_QUEUE => Some((&self.route, &self.route_notifying)),
            MAIL_QUEUE => Some((&self.mail, &self.mail_notifying)),
            _ => None,
        }
    }
}

impl crate::Store {
    /// Wakes the workers of `queues` after a commit that pushed jobs with
    /// [`push_jobs_quietly`].
    pub(crate) fn jobs_committed(&self, queues: &[&'static str]) {
        use std::sync::atomic::Ordering;
        for &queue in queues {
            let Some((local, notifying)) = self.wakeups.sender(queue) else {
                continue;
            };
            local.send_modify(|n| *n = n.wrapping_add(1));
            if notifying.swap(true, Ordering::AcqRel) {
                continue;
            }
            let (pool, wakeups) = (self.pool.clone(), std::sync::Arc::clone(&self.wakeups));
            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                notifying.store(false, Ordering::Release);
                continue;
            };
            rt.spawn(async move {
                let Some((local, notifying)) = wakeups.sender(queue) else {
                    return;
                };
                let payload = serde_json::json!({ "job_type": queue, "id": "wake" }).to_string();
                loop {
                    // Every commit counted here is visible to a fetch woken
                    // by this NOTIFY.
                    let seen = *local.borrow();
                    let sent = sqlx::query(
                        "SELECT set_config('synchronous_commit', 'off', true),
                                pg_notify('apalis::job::insert', $1)",
                    )
                    .bind(&payload)
                    .execute(&pool)
                    .await;
                    if let Err(e) = sent {
                        tracing::debug!(error = %e, "could not wake other processes' workers");
                    }
                    tokio::time::sleep(WAKE_GAP).await;
                    if *local.borrow() != seen {
                        continue;
                    }
                    notifying.store(false, Ordering::Release);
                    // A commit in between saw the flag still set and relies
                    // on this task: go round once more unless another took over.
                    if *local.borrow() == seen || notifying.swap(true, Ordering::AcqRel) {
                        return;
                    }
                }
            });
        }
    }

    /// Changes whenever jobs of `queue` were committed by this process
    /// (workers in this process fetch at once instead of waiting to poll).
    pub fn job_wakeups(&self, queue: &str) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.wakeups.sender(queue).map(|(s, _)| s.subscribe())
    }
}
