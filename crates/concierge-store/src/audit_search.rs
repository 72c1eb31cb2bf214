//! Reading the audit log for the admins' audit page: newest first,
//! keyset-paginated by id, filtered by actor, action and case. Indexes:
//! migration 000009 (action, actor) and `audit_log_ticket_idx`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Store, StoreError};

/// Whose records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditActor {
    /// The user with this address (any case).
    Email(String),
    /// The system: the CLI and the workers (no user).
    System,
}

/// A page of the audit log to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this actor's records.
    pub actor: Option<AuditActor>,
    /// Only this action (exact), e.g. `case.view`.
    pub action: Option<String>,
    /// Only records about this case (`C-XXXXXX`).
    pub reference: Option<String>,
    /// Only records older than this id (the previous page's last id).
    pub before: Option<i64>,
    /// At most this many (1 to 500).
    pub limit: i64,
}

/// One audit record, as the audit page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The actor's address; `None` for the system.
    pub actor_email: Option<String>,
    /// What.
    pub action: String,
    /// The case's reference, when the record is about one that exists.
    pub reference: Option<String>,
    /// Details, as recorded.
    pub detail: serde_json::Value,
}

impl Store {
    /// Audit records matching `q`, newest first. An actor or case that does
    /// not exist matches nothing.
    pub async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The optional filters fold away only in a plan made for the
        // actual values.
        sqlx::query!(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', true) AS plans,
                    set_config('jit', 'off', true) AS jit"
        )
        .fetch_one(&mut *tx)
        .await?;
        let (system, actor_email) = match &q.actor {
            None => (false, None),
            Some(AuditActor::System) => (true, None),
            Some(AuditActor::Email(e)) => (false, Some(e.trim().to_lowercase())),
        };
        let actor_id = match &actor_email {
            None => None,
            Some(e) => {
                let id = sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", e)
                    .fetch_optional(&mut *tx)
                    .await?;
                match id {
                    Some(id) => Some(id),
                    None => return Ok(Vec::new()),
                }
            }
        };
        let ticket_id = match &q.reference {
            None => None,
            Some(r) => {
                let id = sqlx::query_scalar!("SELECT id FROM tickets WHERE reference = $1", r)
                    .fetch_optional(&mut *tx)
                    .await?;
                match id {
                    Some(id) => Some(id),
                    None => return Ok(Vec::new()),
                }
            }
        };
        let rows = sqlx::query!(
            r#"SELECT a.id, a.at, u.email AS "actor_email?", a.action,
                      t.reference AS "reference?", a.detail
               FROM audit_log a
               LEFT JOIN users u ON u.id = a.actor_user_id
               LEFT JOIN tickets t ON t.id = a.ticket_id
               WHERE (NOT $1 OR a.actor_user_id IS NULL)
                 AND ($2::uuid IS NULL OR a.actor_user_id = $2)
                 AND ($3::text IS NULL OR a.action = $3)
                 AND ($4::uuid IS NULL OR a.ticket_id = $4)
                 AND ($5::bigint IS NULL OR a.id < $5)
               ORDER BY a.id DESC
               LIMIT $6"#,
            system,
            actor_id,
            q.action.as_deref(),
            ticket_id,
            q.before,
            q.limit.clamp(1, 500)
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                at: r.at,
                actor_email: r.actor_email,
                action: r.action,
                reference: r.reference,
                detail: r.detail,
            })
            .collect())
    }
}
