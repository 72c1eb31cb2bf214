//! Changes people make to a case: status, priority, country. Each runs in
//! one transaction and enqueues the routing it implies.

use concierge_core::country::CountryCode;
use concierge_core::routing::SlaTargets;
use concierge_core::ticket::{Priority, TicketStatus};

use crate::queue::push_route_jobs;
use crate::routing::requeue_waiting_in;
use crate::{Store, StoreError};

/// A change to a case; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct CaseChange {
    /// New status (checked against the state machine).
    pub status: Option<TicketStatus>,
    /// New priority (moves the first-response due time).
    pub priority: Option<Priority>,
    /// Country set by a person: overrides inference and reroutes.
    pub country: Option<CountryCode>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The state machine refused the status change.
    #[error(transparent)]
    Refused(#[from] concierge_core::ticket::RefusedTransition),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChangeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

impl Store {
    /// Applies a change to the case with this reference, by `actor`.
    pub async fn change_case(
        &self,
        reference: &str,
        change: &CaseChange,
        sla: &SlaTargets,
        actor: &str,
    ) -> Result<(), ChangeError> {
        let mut tx = self.pool.begin().await?;
        let t = sqlx::query!(
            "SELECT id, status, assignee_id FROM tickets WHERE reference = $1 FOR UPDATE",
            reference
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let current: TicketStatus = t.status.parse().unwrap_or(TicketStatus::New);
        let mut reroute = false;
        let mut frees_capacity = false;

        if let Some(to) = change.status
            && to != current
        {
            current.transition(to)?;
            sqlx::query!(
                "UPDATE tickets SET status = $2, updated_at = now(),
                    resolved_at = CASE WHEN $2 = 'resolved' THEN now() ELSE resolved_at END
                 WHERE id = $1",
                t.id,
                to.as_str()
            )
            .execute(&mut *tx)
            .await?;
            frees_capacity = current.is_open() && !to.is_open() && t.assignee_id.is_some();
            // Back to "new" means back to the pool.
            if to == TicketStatus::New && t.assignee_id.is_some() {
                self.end_assignment(&mut tx, t.id, "returned to the pool", actor)
                    .await?;
                reroute = true;
                frees_capacity = true;
            }
            if to.is_open() && !current.is_open() && t.assignee_id.is_none() {
                reroute = true;
            }
        }
        if let Some(p) = change.priority {
            sqlx::query!(
                "UPDATE tickets SET priority = $2, updated_at = now(),
                    first_response_due_at = created_at + make_interval(mins => $3)
                 WHERE id = $1",
                t.id,
                p.as_str(),
                i32::try_from(sla.minutes(p)).unwrap_or(i32::MAX)
            )
            .execute(&mut *tx)
            .await?;
        }
        if let Some(c) = change.country {
            sqlx::query!(
                "UPDATE tickets SET country = $2, country_source = 'manual', country_confidence = 1.0,
                    country_suggestion = NULL, country_suggestion_confidence = NULL,
                    updated_at = now()
                 WHERE id = $1",
                t.id,
                c.as_str()
            )
            .execute(&mut *tx)
            .await?;
            if t.assignee_id.is_some() {
                self.end_assignment(&mut tx, t.id, &format!("country set to {c}"), actor)
                    .await?;
                frees_capacity = true;
            }
            reroute = true;
        }
        if reroute {
            push_route_jobs(&mut tx, &[t.id]).await?;
        }
        if frees_capacity {
            requeue_waiting_in(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes a case off its caseworker (keeps the history).
    pub(crate) async fn end_assignment(
        &self,
        tx: &mut sqlx::PgConnection,
        ticket_id: uuid::Uuid,
        why: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE assignments SET ended_at = now(), ended_reason = $2 || ' (by ' || $3 || ')'
             WHERE ticket_id = $1 AND ended_at IS NULL",
            ticket_id,
            why,
            actor
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE tickets SET assignee_id = NULL, routing_state = 'pending',
                status = CASE WHEN status IN ('assigned','in_progress') THEN 'new' ELSE status END,
                updated_at = now()
             WHERE id = $1",
            ticket_id
        )
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}
