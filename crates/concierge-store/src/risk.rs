//! The crisis lane's storage: a person acknowledging or changing a case's
//! risk (audited), the escalation of unacknowledged imminent cases, the
//! on-call rota, and who urgent and escalation mail goes to. Assessment
//! itself is `concierge_core::risk`; storing it is part of the ingest
//! transaction (`ingest.rs`).

use chrono::{DateTime, Utc};
use concierge_core::risk::RiskLevel;
use uuid::Uuid;

use crate::queue::{MailJob, push_mail_jobs};
use crate::{Store, StoreError};

/// A person (the mail's recipient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Their user id.
    pub user_id: Uuid,
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
}

/// What urgent, escalation and breach mail needs to know about a case:
/// never its content.
#[derive(Debug, Clone)]
pub struct LaneFacts {
    /// Ticket id.
    pub ticket_id: Uuid,
    /// Reference.
    pub reference: String,
    /// Placed country.
    pub country: Option<String>,
    /// Suggested country, when unknown.
    pub country_suggestion: Option<String>,
    /// Assessed risk.
    pub risk: String,
    /// Someone acknowledged the risk.
    pub acknowledged: bool,
    /// When the case was opened.
    pub created_at: DateTime<Utc>,
}

/// One on-call shift.
#[derive(Debug, Clone)]
pub struct OnCallShift {
    /// Shift id.
    pub id: Uuid,
    /// Who.
    pub user_id: Uuid,
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: String,
    /// `*`, a country code or a sub-region name.
    pub region: String,
    /// From.
    pub starts_at: DateTime<Utc>,
    /// Until.
    pub ends_at: DateTime<Utc>,
}

/// A change to a case's risk by a person was refused.
#[derive(Debug, thiserror::Error)]
pub enum RiskChangeError {
    /// No such case.
    #[error("no such case")]
    NotFound,
    /// The reason is required.
    #[error("a reason is required to change the assessed risk")]
    NoReason,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RiskChangeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

impl Store {
    /// Facts for the crisis lane's mail about a case.
    pub async fn lane_facts(&self, ticket_id: Uuid) -> Result<Option<LaneFacts>, StoreError> {
        Ok(sqlx::query_as!(
            LaneFacts,
            r#"SELECT id AS ticket_id, reference, country, country_suggestion, risk,
                      (risk_acknowledged_at IS NOT NULL) AS "acknowledged!", created_at
               FROM tickets WHERE id = $1"#,
            ticket_id
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Shifts on call now, with their people (enabled users only).
    pub async fn on_call_now(&self) -> Result<Vec<OnCallShift>, StoreError> {
        Ok(sqlx::query_as!(
            OnCallShift,
            "SELECT o.id, o.user_id, u.email, u.name, u.role, o.region, o.starts_at, o.ends_at
             FROM on_call o JOIN users u ON u.id = o.user_id
             WHERE o.starts_at <= now() AND o.ends_at > now() AND u.disabled_at IS NULL
             ORDER BY o.starts_at, o.id"
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The rota from `from` on (shifts that have not ended), soonest first.
    pub async fn on_call_rota(&self, from: DateTime<Utc>) -> Result<Vec<OnCallShift>, StoreError> {
        Ok(sqlx::query_as!(
            OnCallShift,
            "SELECT o.id, o.user_id, u.email, u.name, u.role, o.region, o.starts_at, o.ends_at
             FROM on_call o JOIN users u ON u.id = o.user_id
             WHERE o.ends_at > $1
             ORDER BY o.starts_at, o.id LIMIT 1000",
            from
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Adds a shift for the user with address `email` (audited). The region
    /// must already be validated (`concierge_core::routing::OnCallRegion`).
    /// `Ok(None)` when there is no such enabled user.
    pub async fn add_on_call(
        &self,
        email: &str,
        region: &str,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        by: Option<Uuid>,
    ) -> Result<Option<Uuid>, StoreError> {
        let id = Uuid::new_v4();
        let added = sqlx::query_scalar!(
            r#"WITH u AS (SELECT id FROM users WHERE email = lower($2) AND disabled_at IS NULL),
                    ins AS (
                        INSERT INTO on_call (id, user_id, region, starts_at, ends_at, created_by)
                        SELECT $1, u.id, $3, $4, $5, $6 FROM u RETURNING id, user_id),
                    audited AS (
                        INSERT INTO audit_log (actor_user_id, action, detail)
                        SELECT $6, 'on_call.add', jsonb_build_object('shift', ins.id,
                            'user', ins.user_id, 'region', $3::text, 'starts_at', $4::timestamptz,
                            'ends_at', $5::timestamptz)
                        FROM ins)
               SELECT id AS "id!" FROM ins"#,
            id,
            email,
            region,
            starts_at,
            ends_at,
            by
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(added)
    }

    /// Removes a shift (audited). `false` when there was none.
    pub async fn remove_on_call(&self, id: Uuid, by: Option<Uuid>) -> Result<bool, StoreError> {
        let removed = sqlx::query_scalar!(
            r#"WITH del AS (DELETE FROM on_call WHERE id = $1 RETURNING id, user_id, region),
                    audited AS (
                        INSERT INTO audit_log (actor_user_id, action, detail)
                        SELECT $2, 'on_call.remove', jsonb_build_object('shift', del.id,
                            'user', del.user_id, 'region', del.region)
                        FROM del)
               SELECT id AS "id!" FROM del"#,
            id,
            by
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(removed.is_some())
    }

    /// Every enabled coordinator; when there are none, every enabled admin
    /// (someone must be told).
    pub async fn coordinators(&self) -> Result<Vec<Recipient>, StoreError> {
        Ok(sqlx::query_as!(
            Recipient,
            "SELECT id AS user_id, email, name FROM users
             WHERE disabled_at IS NULL AND (role = 'coordinator' OR (role = 'admin'
                 AND NOT EXISTS (SELECT 1 FROM users c WHERE c.role = 'coordinator'
                                 AND c.disabled_at IS NULL)))
             ORDER BY email"
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// A person acknowledges the imminent-risk assessment of a case: the
    /// pin and the escalation stop (audited). `false` when there was
    /// nothing to acknowledge.
    pub async fn acknowledge_risk(
        &self,
        ticket_id: Uuid,
        user_id: Uuid,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query_scalar!(
            r#"WITH t AS (
                   UPDATE tickets SET risk_acknowledged_at = now(), risk_acknowledged_by = $2,
                       risk_escalate_at = NULL, updated_at = now()
                   WHERE id = $1 AND risk = 'imminent' AND risk_acknowledged_at IS NULL
                   RETURNING id, risk_escalations),
               audited AS (
                   INSERT INTO audit_log (actor_user_id, action, ticket_id, detail)
                   SELECT $2, 'risk.acknowledge', t.id,
                       jsonb_build_object('escalations_before', t.risk_escalations)
                   FROM t)
               SELECT id AS "id!" FROM t"#,
            ticket_id,
            user_id
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(done.is_some())
    }

    /// A person sets a case's risk, raising or lowering it, with a reason
    /// (audited with the level before and after). Whoever raises a case to
    /// imminent has seen it: it counts as their acknowledgement (no pin, no
    /// escalation), and its first response comes due within
    /// `urgent_minutes`. Lowering below imminent ends the pin and the
    /// escalation. Priority follows upwards only (a person lowers priority
    /// themselves). Later messages may raise the risk again; the system
    /// never lowers it.
    pub async fn set_risk(
        &self,
        ticket_id: Uuid,
        user_id: Uuid,
        level: RiskLevel,
        reason: &str,
        urgent_minutes: i64,
    ) -> Result<(), RiskChangeError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(RiskChangeError::NoReason);
        }
        let mins = i32::try_from(urgent_minutes.max(1)).unwrap_or(i32::MAX);
        let changed = sqlx::query_scalar!(
            r#"WITH before AS (SELECT id, risk FROM tickets WHERE id = $1 FOR UPDATE),
               t AS (
                   UPDATE tickets SET
                       risk = $3::text,
                       priority = CASE
                           WHEN $3 = 'imminent' THEN 'urgent'
                           WHEN $3 = 'concern' AND priority IN ('low','normal') THEN 'high'
                           ELSE priority END,
                       risk_acknowledged_at = CASE WHEN $3 = 'imminent' THEN now() ELSE NULL END,
                       risk_acknowledged_by = CASE WHEN $3 = 'imminent' THEN $2::uuid ELSE NULL END,
                       risk_escalate_at = NULL,
                       first_response_due_at = CASE
                           WHEN $3 = 'imminent' AND first_responded_at IS NULL
                           THEN LEAST(first_response_due_at, now() + make_interval(mins => $5))
                           ELSE first_response_due_at END,
                       updated_at = now()
                   FROM before WHERE tickets.id = before.id
                   RETURNING tickets.id),
               audited AS (
                   INSERT INTO audit_log (actor_user_id, action, ticket_id, detail)
                   SELECT $2, 'risk.set', before.id, jsonb_build_object(
                       'from', before.risk, 'to', $3::text, 'reason', $4::text)
                   FROM before)
               SELECT id AS "id!" FROM t"#,
            ticket_id,
            user_id,
            level.as_str(),
            reason,
            mins
        )
        .fetch_optional(&self.pool)
        .await?;
        changed.map(|_| ()).ok_or(RiskChangeError::NotFound)
    }

    /// Imminent cases nobody acknowledged by their escalation time: queue
    /// an escalation mail job for each and move its clock on by
    /// `repeat_minutes`. Safe from several processes (`SKIP LOCKED`).
    /// Returns how many.
    pub async fn escalate_unacknowledged(&self, repeat_minutes: i64) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mins = i32::try_from(repeat_minutes.max(1)).unwrap_or(i32::MAX);
        let due = sqlx::query!(
            "UPDATE tickets SET risk_escalate_at = now() + make_interval(mins => $1),
                 risk_escalations = risk_escalations + 1
             WHERE id IN (SELECT id FROM tickets
                          WHERE risk_escalate_at <= now() AND risk = 'imminent'
                            AND risk_acknowledged_at IS NULL
                          ORDER BY risk_escalate_at LIMIT 200
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, risk_escalations",
            mins
        )
        .fetch_all(&mut *tx)
        .await?;
        let jobs: Vec<MailJob> = due
            .iter()
            .map(|t| MailJob::Escalate {
                ticket_id: t.id,
                round: t.risk_escalations,
            })
            .collect();
        for t in &due {
            sqlx::query!(
                "INSERT INTO notifications (id, kind, ticket_id, detail)
                 VALUES ($1, 'risk_escalation', $2, $3)",
                Uuid::new_v4(),
                t.id,
                format!(
                    "imminent risk not acknowledged (escalation {})",
                    t.risk_escalations
                )
            )
            .execute(&mut *tx)
            .await?;
        }
        push_mail_jobs(&mut tx, &jobs, None).await?;
        tx.commit().await?;
        Ok(due.len())
    }

    /// Imminent cases waiting for a person to acknowledge them, for the
    /// pin at the top of the queues: ids, oldest first.
    pub async fn pinned_cases(&self) -> Result<Vec<Uuid>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT id FROM tickets WHERE risk = 'imminent' AND risk_acknowledged_at IS NULL
             ORDER BY created_at LIMIT 200"
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
