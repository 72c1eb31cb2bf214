//! The retention job: every worker applies `[privacy]`'s policy on a
//! timer, in batches of short transactions that skip rows another process
//! holds, so any number of workers may run it at once.

use std::time::Duration;

use concierge_core::privacy::RetentionPolicy;
use concierge_store::{Retained, Store, StoreError};

/// The retention job's settings.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// What goes when.
    pub policy: RetentionPolicy,
    /// How often a worker applies it.
    pub every: Duration,
    /// Rows per batch.
    pub batch: i64,
}

/// Applies `policy` now, batch after batch until nothing is left, calling
/// `progress` after each batch with the running total. Audits the total
/// (counts only) when anything went.
pub async fn apply_retention(
    store: &Store,
    policy: &RetentionPolicy,
    batch: i64,
    mut progress: impl FnMut(&Retained),
) -> Result<Retained, StoreError> {
    let cutoffs = policy.cutoffs(chrono::Utc::now());
    let mut total = Retained::default();
    loop {
        let pass = store.retention_pass(&cutoffs, batch.max(1)).await?;
        if pass.total() == 0 {
            break;
        }
        total.add(&pass);
        progress(&total);
    }
    if total.total() > 0 {
        store.audit_retention(&total).await?;
    }
    Ok(total)
}

pub(crate) async fn run(store: Store, r: Retention, mut stop: tokio::sync::watch::Receiver<bool>) {
    if r.every.is_zero() || *stop.borrow() {
        return;
    }
    let mut tick = tokio::time::interval(r.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let work = apply_retention(&store, &r.policy, r.batch, |_| {});
        tokio::select! {
            done = work => match done {
                Ok(n) if n.total() == 0 => {}
                Ok(n) => tracing::info!(
                    cases = n.closed_cases.cases,
                    messages = n.closed_cases.messages,
                    raw_mime = n.raw_mime,
                    sessions = n.sessions,
                    login_attempts = n.login_attempts,
                    finished_jobs = n.finished_jobs,
                    "retention applied"
                ),
                Err(e) => tracing::warn!(error = %e, "retention failed; will retry"),
            },
            // A batch in flight is one transaction: dropping it rolls back.
            _ = stop.changed() => return,
        }
    }
}
