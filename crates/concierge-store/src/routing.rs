//! Assigning cases to volunteers: one transaction per case that locks the
//! ticket and the deciding tier's volunteers, counts their open cases
//! afresh, and applies [`concierge_core::routing::choose`].

use concierge_core::country::CountryCode;
use concierge_core::routing::{Case, Decision, Volunteer, choose, tier_candidates};
use concierge_core::ticket::TicketStatus;
use uuid::Uuid;

use crate::queue::{
    MAIL_QUEUE, MailJob, QuietJob, push_jobs_quietly, push_mail_jobs, push_route_jobs,
};
use crate::{Store, StoreError};

/// What routing did with a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOutcome {
    /// Assigned to this volunteer, for this reason.
    Assigned {
        /// Volunteer id.
        volunteer_id: Uuid,
        /// Why.
        reason: String,
    },
    /// Waiting for a covering volunteer to have capacity.
    Waiting(String),
    /// Needs a person (country unknown or nobody covers it).
    Triage(String),
    /// Nothing to do: already assigned, closed, or unknown ticket.
    Skipped,
}

/// `ended_reason` of an assignment withdrawn for a missed target.
pub(crate) const SLA_RELEASE: &str = "first-response target missed";

/// At most this many waiting cases are re-routed when capacity frees.
const DRAIN_BATCH: i64 = 200;

impl Store {
    /// Routes one ticket. Idempotent and safe to run concurrently from any
    /// number of workers: no case is assigned twice and no volunteer goes
    /// over capacity.
    pub async fn route_ticket(&self, ticket_id: Uuid) -> Result<RouteOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let t = sqlx::query!(
            "SELECT status, assignee_id, country, language, imported FROM tickets WHERE id = $1 FOR UPDATE",
            ticket_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(t) = t else {
            return Ok(RouteOutcome::Skipped);
        };
        let status: TicketStatus = t.status.parse().unwrap_or(TicketStatus::Closed);
        if t.assignee_id.is_some() || !status.is_open() {
            return Ok(RouteOutcome::Skipped);
        }
        let country: Option<CountryCode> = t.country.as_deref().and_then(|c| c.parse().ok());
        let case = Case {
            country,
            language: t.language.as_deref(),
        };

        // Volunteers who let this case miss its first-response target are
        // not offered it again.
        let all: Vec<Volunteer<Uuid>> = sqlx::query!(
            r#"SELECT id, countries, languages, capacity,
                      EXTRACT(EPOCH FROM now() - last_assigned_at)::bigint AS idle_secs
               FROM volunteers v
               WHERE active AND (paused_until IS NULL OR paused_until <= now())
                 AND NOT EXISTS (SELECT 1 FROM assignments a
                                 WHERE a.ticket_id = $1 AND a.volunteer_id = v.id
                                   AND a.ended_reason LIKE $2 || '%')"#,
            ticket_id,
            SLA_RELEASE
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| Volunteer {
            id: r.id,
            countries: r.countries,
            languages: r.languages,
            capacity: r.capacity,
            active_cases: 0,
            idle_secs: r.idle_secs,
        })
        .collect();

        let decision = match tier_candidates(&case, &all) {
            None => Decision::Triage {
                reason: match country {
                    None => "country unknown".to_owned(),
                    Some(c) => format!("nobody covers {c}, its sub-region or the global pool"),
                },
            },
            Some((tier, candidates)) => {
                let mut ids: Vec<Uuid> = candidates.iter().map(|v| v.id).collect();
                ids.sort();
                // Lock the tier in a fixed order, then count afresh: any
                // assignment committed before we got the locks is visible now.
                let locked = sqlx::query!(
                    r#"SELECT id, capacity FROM volunteers
                       WHERE id = ANY($1) AND active
                         AND (paused_until IS NULL OR paused_until <= now())
                       ORDER BY id FOR UPDATE"#,
                    &ids
                )
                .fetch_all(&mut *tx)
                .await?;
                let counts = sqlx::query!(
                    r#"SELECT assignee_id AS "id!", count(*) AS "n!" FROM tickets
                       WHERE assignee_id = ANY($1) AND status NOT IN ('resolved','closed')
                       GROUP BY assignee_id"#,
                    &ids
                )
                .fetch_all(&mut *tx)
                .await?;
                let fresh: Vec<Volunteer<Uuid>> = candidates
                    .into_iter()
                    .filter_map(|v| {
                        let l = locked.iter().find(|l| l.id == v.id)?;
                        Some(Volunteer {
                            capacity: l.capacity,
                            active_cases: counts.iter().find(|c| c.id == v.id).map_or(0, |c| c.n),
                            ..v.clone()
                        })
                    })
                    .collect();
                choose(&case, tier, &fresh)
            }
        };

        let mut woken = false;
        let outcome = match decision {
            Decision::Assign { volunteer, reason } => {
                let next = if status == TicketStatus::New {
                    TicketStatus::Assigned
                } else {
                    status
                };
                // The case, its assignment and the volunteer's last
                // assignment time in one statement.
                let assignment_id = Uuid::new_v4();
                sqlx::query!(
                    "WITH t AS (
                         UPDATE tickets SET assignee_id = $2, assignment_reason = $3, status = $4,
                             routing_state = 'assigned', updated_at = now() WHERE id = $1),
                     a AS (
                         INSERT INTO assignments (id, ticket_id, volunteer_id, reason, assigned_by)
                         VALUES ($5, $1, $2, $3, 'routing'))
                     UPDATE volunteers SET last_assigned_at = now() WHERE id = $2",
                    ticket_id,
                    volunteer,
                    reason,
                    next.as_str(),
                    assignment_id
                )
                .execute(&mut *tx)
                .await?;
                // The caseworker hears of it by mail (reference only);
                // imported history is never announced.
                if !t.imported {
                    push_jobs_quietly(
                        &mut tx,
                        &[QuietJob::mail(&MailJob::Assigned { assignment_id })?],
                    )
                    .await?;
                }
                woken = true;
                RouteOutcome::Assigned {
                    volunteer_id: volunteer,
                    reason,
                }
            }
            Decision::Wait { reason } => {
                self.set_routing_state(&mut tx, ticket_id, "waiting", &reason)
                    .await?;
                RouteOutcome::Waiting(reason)
            }
            Decision::Triage { reason } => {
                self.set_routing_state(&mut tx, ticket_id, "triage", &reason)
                    .await?;
                RouteOutcome::Triage(reason)
            }
        };
        tx.commit().await?;
        if woken {
            self.jobs_committed(&[MAIL_QUEUE]);
        }
        Ok(outcome)
    }

    async fn set_routing_state(
        &self,
        tx: &mut sqlx::PgConnection,
        ticket_id: Uuid,
        state: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let changed = sqlx::query!(
            "UPDATE tickets SET routing_state = $2, assignment_reason = $3
             WHERE id = $1 AND routing_state IS DISTINCT FROM $2",
            ticket_id,
            state,
            reason
        )
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() > 0 && state == "triage" {
            sqlx::query!(
                "INSERT INTO notifications (id, kind, ticket_id, detail) VALUES ($1, 'triage', $2, $3)",
                Uuid::new_v4(),
                ticket_id,
                reason
            )
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// Marks open cases past their first-response target as breached,
    /// notifies coordinators, and offers each back to the pool when its
    /// caseworker has not acted (status still `assigned`). Returns how many.
    pub async fn mark_sla_breaches(&self) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let breached = sqlx::query!(
            "UPDATE tickets SET sla_breached_at = now()
             WHERE id IN (SELECT id FROM tickets
                          WHERE first_responded_at IS NULL AND sla_breached_at IS NULL
                            AND first_response_due_at < now()
                            AND status NOT IN ('resolved','closed')
                          ORDER BY first_response_due_at LIMIT 500
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, reference, status, assignee_id"
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut reroute = Vec::new();
        for t in &breached {
            sqlx::query!(
                "INSERT INTO notifications (id, kind, ticket_id, detail) VALUES ($1, 'sla_breach', $2, $3)",
                Uuid::new_v4(),
                t.id,
                format!("{} missed its first-response target", t.reference)
            )
            .execute(&mut *tx)
            .await?;
            if t.assignee_id.is_some() && t.status == "assigned" {
                self.end_assignment(&mut tx, t.id, SLA_RELEASE, "sla")
                    .await?;
                reroute.push(t.id);
            }
        }
        push_route_jobs(&mut tx, &reroute).await?;
        // Coordinators hear of each breach by mail (content-free).
        let mail: Vec<MailJob> = breached
            .iter()
            .map(|t| MailJob::Breach { ticket_id: t.id })
            .collect();
        push_mail_jobs(&mut tx, &mail, None).await?;
        tx.commit().await?;
        Ok(breached.len())
    }

    /// Re-enqueues routing for the oldest waiting cases (capacity freed, a
    /// volunteer added or back from pause). Returns how many.
    pub async fn requeue_waiting(&self) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = requeue_waiting_in(&mut tx).await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// Pushes route jobs for waiting cases inside the caller's transaction.
pub(crate) async fn requeue_waiting_in(tx: &mut sqlx::PgConnection) -> Result<usize, StoreError> {
    let ids = sqlx::query_scalar!(
        "SELECT id FROM tickets
         WHERE assignee_id IS NULL AND routing_state = 'waiting'
           AND status NOT IN ('resolved','closed')
         ORDER BY created_at LIMIT $1",
        DRAIN_BATCH
    )
    .fetch_all(&mut *tx)
    .await?;
    push_route_jobs(tx, &ids).await?;
    Ok(ids.len())
}
