//! Background work on apalis-postgres. Every `serve` and `worker` process
//! runs the same workers against the same Postgres queue; jobs are claimed
//! with `FOR UPDATE SKIP LOCKED` and woken by LISTEN/NOTIFY, with a slow poll
//! as a safety net. Job handlers are idempotent.
//!
//! - `route`: assign a case to a volunteer ([`concierge_store::Store::route_ticket`]).
//! - `mail`: compose acknowledgements and assignment notices, send outbox
//!   rows through the relay ([`concierge_outbound::Mailer`]).
//! - the sweep: every [`WorkerConfig::sweep_every`], mark first-response
//!   breaches and re-route waiting cases (paused volunteers come back by time).

mod sweep;

use std::future::Future;
use std::time::Duration;

use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage, Pubsub};
use concierge_mail::outbound::Relay;
use concierge_outbound::{AckOutcome, Mailer};
use concierge_store::{MAIL_QUEUE, MailJob, ROUTE_QUEUE, RouteJob, RouteOutcome, Store};

pub use sweep::sweep_once;

/// How a worker process runs its jobs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Worker name prefix (unique per process: host + pid is a good choice).
    pub name: String,
    /// Route jobs handled at once by this process.
    pub concurrency: usize,
    /// Heartbeat period; a worker silent for `heartbeat * missed_heartbeats`
    /// is presumed dead and its jobs are taken over.
    pub heartbeat: Duration,
    /// Missed heartbeats before takeover.
    pub missed_heartbeats: usize,
    /// Fallback poll period (LISTEN/NOTIFY wakes workers at once).
    pub poll_every: Duration,
    /// Period of the SLA / waiting-case sweep.
    pub sweep_every: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            name: format!("concierge-{}", std::process::id()),
            concurrency: 8,
            heartbeat: Duration::from_secs(5),
            missed_heartbeats: 4,
            poll_every: Duration::from_secs(2),
            sweep_every: Duration::from_secs(30),
        }
    }
}

/// A job failed; apalis retries it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JobError(String);

async fn route(job: RouteJob, store: Data<Store>) -> Result<(), JobError> {
    let outcome = store
        .route_ticket(job.ticket_id)
        .await
        .map_err(|e| JobError(e.to_string()))?;
    match &outcome {
        RouteOutcome::Assigned { reason, .. } => {
            tracing::info!(ticket = %job.ticket_id, %reason, "case assigned")
        }
        RouteOutcome::Waiting(why) => tracing::info!(ticket = %job.ticket_id, %why, "case waiting"),
        RouteOutcome::Triage(why) => {
            tracing::info!(ticket = %job.ticket_id, %why, "case needs triage")
        }
        RouteOutcome::Skipped => tracing::debug!(ticket = %job.ticket_id, "nothing to route"),
    }
    Ok(())
}

/// What the mail worker needs.
#[derive(Clone)]
pub struct MailDeps {
    /// Composes and sends.
    pub mailer: Mailer,
    /// The outbound relay.
    pub relay: std::sync::Arc<Relay>,
}

async fn mail(job: MailJob, deps: Data<MailDeps>) -> Result<(), JobError> {
    let err = |e: concierge_outbound::OutboundError| JobError(e.to_string());
    match job {
        MailJob::Ack { ticket_id } => {
            match deps.mailer.acknowledge(ticket_id).await.map_err(err)? {
                AckOutcome::Suppressed(why) => {
                    tracing::info!(ticket = %ticket_id, why, "no acknowledgement")
                }
                AckOutcome::Queued | AckOutcome::AlreadyDone => {}
            }
        }
        MailJob::Assigned { assignment_id } => {
            deps.mailer
                .notify_assigned(assignment_id)
                .await
                .map_err(err)?;
        }
        MailJob::Send { outbox_id } => deps
            .mailer
            .send(&deps.relay, outbox_id)
            .await
            .map_err(err)?,
    }
    Ok(())
}

/// Runs the workers until `shutdown` resolves. Without `mail`, mail jobs
/// wait for a process that has a relay configured.
pub async fn run(
    store: Store,
    config: WorkerConfig,
    mail_deps: Option<MailDeps>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let pool = store.pool().clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
        Ok::<(), std::io::Error>(())
    };
    let route_worker = WorkerBuilder::new(format!("{}-route", config.name))
        .backend(
            PostgresStorage::<RouteJob>::new(&pool)
                .with_config(
                    Config::default()
                        .queue(ROUTE_QUEUE)
                        .batch_size(config.concurrency.max(1) * 2)
                        .heartbeat_interval(config.heartbeat)
                        .missed_heartbeats(config.missed_heartbeats),
                )
                .poll_with_strategy(
                    apalis_core::backend::ext::poll_strategy::Strategy::new()
                        .stream(Pubsub::new(pool.clone(), ROUTE_QUEUE.to_owned()))
                        .interval(config.poll_every),
                ),
        )
        .data(store.clone())
        .concurrency(config.concurrency.max(1))
        .build(route);
    let route_run = route_worker.run_until(stopped(stop_rx.clone()));
    let mail_run = {
        let rx = stop_rx.clone();
        let config = config.clone();
        let pool = pool.clone();
        async move {
            let Some(deps) = mail_deps else { return Ok(()) };
            WorkerBuilder::new(format!("{}-mail", config.name))
                .backend(
                    PostgresStorage::<MailJob>::new(&pool)
                        .with_config(
                            Config::default()
                                .queue(MAIL_QUEUE)
                                .batch_size(config.concurrency.max(1) * 2)
                                .heartbeat_interval(config.heartbeat)
                                .missed_heartbeats(config.missed_heartbeats),
                        )
                        .poll_with_strategy(
                            apalis_core::backend::ext::poll_strategy::Strategy::new()
                                .stream(Pubsub::new(pool.clone(), MAIL_QUEUE.to_owned()))
                                .interval(config.poll_every),
                        ),
                )
                .data(deps)
                .concurrency(config.concurrency.max(1))
                .build(mail)
                .run_until(stopped(rx))
                .await
        }
    };
    let sweeper = tokio::spawn(sweep::run(store, config.sweep_every, stop_rx));
    let trigger = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let (r, m, ()) = tokio::join!(route_run, mail_run, trigger);
    let _ = sweeper.await;
    r.and(m)
}
