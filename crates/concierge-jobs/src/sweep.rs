//! The periodic sweep: first-response breaches, unacknowledged
//! imminent-risk cases (escalation mail), waiting cases and overdue mail. Every
//! process runs it; each step is one idempotent statement, so running it
//! from several processes at once is safe.

use std::time::Duration;

use concierge_store::Store;

/// One sweep: returns (breaches marked, waiting cases re-enqueued).
pub async fn sweep_once(store: &Store) -> Result<(usize, usize), concierge_store::StoreError> {
    let breached = store.mark_sla_breaches().await?;
    let requeued = store.requeue_waiting().await?;
    store.requeue_due_mail().await?;
    Ok((breached, requeued))
}

/// Queues escalation mail for imminent-risk cases nobody acknowledged in
/// time; the next one for the same case follows after `repeat`.
pub async fn escalate_once(
    store: &Store,
    repeat: Duration,
) -> Result<usize, concierge_store::StoreError> {
    let minutes = i64::try_from(repeat.as_secs() / 60)
        .unwrap_or(i64::MAX)
        .max(1);
    store.escalate_unacknowledged(minutes).await
}

pub(crate) async fn run(
    store: Store,
    every: Duration,
    repeat: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if *stop.borrow() {
        return;
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match escalate_once(&store, repeat).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                cases = n,
                "imminent-risk cases not acknowledged in time; coordinators mailed"
            ),
            Err(e) => tracing::warn!(error = %e, "escalation sweep failed; will retry"),
        }
        match sweep_once(&store).await {
            Ok((0, _)) => {}
            Ok((breached, _)) => tracing::warn!(breached, "first-response targets missed"),
            Err(e) => tracing::warn!(error = %e, "sweep failed; will retry"),
        }
    }
}
