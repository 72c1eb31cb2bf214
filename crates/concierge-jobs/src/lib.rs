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
//! - retention: every [`Retention::every`], apply `[privacy]`'s policy in batches.

mod retention;
mod sweep;

use std::future::Future;
use std::time::Duration;

use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage, Pubsub};
use concierge_mail::outbound::Relay;
use concierge_outbound::{AckOutcome, Mailer};
use concierge_store::{MAIL_QUEUE, MailJob, ROUTE_QUEUE, RouteJob, RouteOutcome, Store};

pub use retention::{Retention, apply_retention};
pub use sweep::{escalate_once, sweep_once};

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
    /// How often coordinators are mailed again about an imminent-risk case
    /// nobody has acknowledged.
    pub escalation_repeat: Duration,
    /// The retention job (`None`: not run by this process).
    pub retention: Option<Retention>,
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
            escalation_repeat: Duration::from_secs(15 * 60),
            retention: None,
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
    // Composed mail is sent in the same job: no second job per mail. Its
    // outbox row was committed first, so a crash in between leaves it due,
    // and the sweep gives it a send job.
    match job {
        MailJob::Ack { ticket_id } => {
            match deps.mailer.acknowledge(ticket_id).await.map_err(err)? {
                AckOutcome::Suppressed(why) => {
                    tracing::info!(ticket = %ticket_id, why, "no acknowledgement")
                }
                AckOutcome::Queued(outbox_id) => deps
                    .mailer
                    .send(&deps.relay, outbox_id)
                    .await
                    .map_err(err)?,
                AckOutcome::AlreadyDone => {}
            }
        }
        MailJob::Assigned { assignment_id } => {
            if let Some(outbox_id) = deps
                .mailer
                .notify_assigned(assignment_id)
                .await
                .map_err(err)?
            {
                deps.mailer
                    .send(&deps.relay, outbox_id)
                    .await
                    .map_err(err)?;
            }
        }
        MailJob::Send { outbox_id } => deps
            .mailer
            .send(&deps.relay, outbox_id)
            .await
            .map_err(err)?,
        MailJob::UrgentAck { ticket_id } => {
            if let AckOutcome::Queued(outbox_id) = deps
                .mailer
                .acknowledge_urgent(ticket_id)
                .await
                .map_err(err)?
            {
                deps.mailer
                    .send(&deps.relay, outbox_id)
                    .await
                    .map_err(err)?;
            }
        }
        MailJob::Urgent {
            ticket_id,
            message_id,
        } => {
            let rows = deps
                .mailer
                .notify_urgent(ticket_id, message_id)
                .await
                .map_err(err)?;
            send_all(&deps, &rows).await.map_err(err)?;
        }
        MailJob::Escalate { ticket_id, round } => {
            let rows = deps.mailer.escalate(ticket_id, round).await.map_err(err)?;
            send_all(&deps, &rows).await.map_err(err)?;
        }
        MailJob::Breach { ticket_id } => {
            let rows = deps.mailer.notify_breach(ticket_id).await.map_err(err)?;
            send_all(&deps, &rows).await.map_err(err)?;
        }
    }
    Ok(())
}

/// Sends freshly queued outbox rows; one that fails stays due and the
/// sweep retries it, so the others still go out now.
async fn send_all(
    deps: &MailDeps,
    rows: &[uuid::Uuid],
) -> Result<(), concierge_outbound::OutboundError> {
    let mut first_err = None;
    for &id in rows {
        if let Err(e) = deps.mailer.send(&deps.relay, id).await {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Runs the workers until `shutdown` resolves. Without `mail`, mail jobs
/// wait for a process that has a relay configured.
///
/// Each worker is supervised: when it stops on its own (the database went
/// away, a query failed), it is started again after a short pause that
/// grows while failures repeat, under a new name (`…-route-1`, `…-route-2`),
/// so the process resumes by itself when the database returns. Jobs the
/// failed incarnation held are taken over once it misses its heartbeats.
pub async fn run(
    store: Store,
    config: WorkerConfig,
    mail_deps: Option<MailDeps>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let pool = store.pool().clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let route_run = {
        let (config, store, pool) = (config.clone(), store.clone(), pool.clone());
        supervise("route", stop_rx.clone(), move |generation| {
            let ctx = WorkerContext::new(&incarnation(&config.name, "route", generation));
            let worker = WorkerBuilder::new(&ctx)
                .backend(
                    PostgresStorage::<RouteJob>::new(&pool)
                        .with_config(queue_config(&config, ROUTE_QUEUE))
                        .poll_with_strategy(poll_strategy(&store, &config, ROUTE_QUEUE)),
                )
                .data(store.clone())
                .concurrency(config.concurrency.max(1))
                .build(route);
            (ctx, worker.run())
        })
    };
    let mail_run = {
        let rx = stop_rx.clone();
        let config = config.clone();
        let (store, pool) = (store.clone(), pool.clone());
        async move {
            let Some(deps) = mail_deps else { return Ok(()) };
            supervise("mail", rx, move |generation| {
                let ctx = WorkerContext::new(&incarnation(&config.name, "mail", generation));
                let worker = WorkerBuilder::new(&ctx)
                    .backend(
                        PostgresStorage::<MailJob>::new(&pool)
                            .with_config(queue_config(&config, MAIL_QUEUE))
                            .poll_with_strategy(poll_strategy(&store, &config, MAIL_QUEUE)),
                    )
                    .data(deps.clone())
                    .concurrency(config.concurrency.max(1))
                    .build(mail);
                (ctx, worker.run())
            })
            .await
        }
    };
    let retainer = config
        .retention
        .map(|r| tokio::spawn(retention::run(store.clone(), r, stop_rx.clone())));
    let sweeper = tokio::spawn(sweep::run(
        store,
        config.sweep_every,
        config.escalation_repeat,
        stop_rx,
    ));
    let trigger = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let (r, m, ()) = tokio::join!(route_run, mail_run, trigger);
    let _ = sweeper.await;
    if let Some(t) = retainer {
        let _ = t.await;
    }
    r.and(m)
}

/// The worker name of one incarnation: `<name>-<kind>`, then
/// `<name>-<kind>-<n>` after the n-th restart (a name is registered once).
fn incarnation(name: &str, kind: &str, generation: u32) -> String {
    if generation == 0 {
        format!("{name}-{kind}")
    } else {
        format!("{name}-{kind}-{generation}")
    }
}

fn queue_config(config: &WorkerConfig, queue: &str) -> Config {
    Config::default()
        .queue(queue)
        .batch_size(config.concurrency.max(1) * 2)
        .heartbeat_interval(config.heartbeat)
        .missed_heartbeats(config.missed_heartbeats)
        // A fetched job is already locked to this worker ('Queued', lock_by)
        // and taken over like a running one if the worker dies: marking it
        // 'Running' too would cost a statement per job for nothing.
        .lock_tasks(false)
}

/// When a worker fetches: at once when this process committed jobs of
/// its queue, when any process did (LISTEN/NOTIFY), and every
/// `poll_every` as a safety net.
fn poll_strategy(
    store: &Store,
    config: &WorkerConfig,
    queue: &str,
) -> apalis_core::backend::ext::poll_strategy::Strategy {
    let mut strategy = apalis_core::backend::ext::poll_strategy::Strategy::new()
        .stream(Pubsub::new(store.pool().clone(), queue.to_owned()))
        .interval(config.poll_every);
    if let Some(rx) = store.job_wakeups(queue) {
        strategy = strategy.stream(wake_stream(rx));
    }
    strategy
}

/// One item per change of `rx` (changes in between coalesce).
fn wake_stream(
    rx: tokio::sync::watch::Receiver<u64>,
) -> std::pin::Pin<Box<dyn futures_util::Stream<Item = ()> + Send + Sync>> {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        Some(((), rx))
    }))
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// First pause before restarting a worker that stopped on its own.
const RESTART_MIN: Duration = Duration::from_millis(250);
/// Longest pause between restarts while failures repeat.
const RESTART_MAX: Duration = Duration::from_secs(5);

/// Runs the worker `start` builds until `stop` turns true, starting a new
/// incarnation whenever one ends on its own.
async fn supervise<F, Fut>(
    kind: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut start: F,
) -> Result<(), WorkerError>
where
    F: FnMut(u32) -> (WorkerContext, Fut),
    Fut: Future<Output = Result<(), WorkerError>>,
{
    let mut generation = 0;
    let mut pause = RESTART_MIN;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let (ctx, run) = start(generation);
        let began = std::time::Instant::now();
        let mut run = std::pin::pin!(run);
        let result = tokio::select! {
            r = &mut run => r,
            () = stopped(&mut stop) => {
                // Graceful: finish what is in hand, then return.
                let _ = ctx.stop();
                return run.await;
            }
        };
        match result {
            Ok(()) => tracing::warn!(worker = kind, "worker stopped by itself; restarting"),
            Err(e) => tracing::warn!(worker = kind, error = %e, "worker failed; restarting"),
        }
        if began.elapsed() > RESTART_MAX * 4 {
            pause = RESTART_MIN;
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stopped(&mut stop) => return Ok(()),
        }
        pause = (pause * 2).min(RESTART_MAX);
        generation += 1;
    }
}
