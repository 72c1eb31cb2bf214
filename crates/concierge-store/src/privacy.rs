//! Privacy operations (issue 14): everything held about a person gathered
//! for a subject access export, a person erased, legal holds, and the
//! retention policy applied in small batches. Erasure and retention share
//! one deletion ([`erase_cases`]), so what one removes the other does too.
//! The policy itself (cutoffs, the typed confirmation) is
//! `concierge_core::privacy`.

use chrono::{DateTime, Utc};
use concierge_core::privacy::Cutoffs;
use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::{Store, StoreError};

/// Rows removed (or that would be, on a dry run), by what they held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// Requesters (the person's address and name).
    pub requesters: i64,
    /// Cases.
    pub cases: i64,
    /// Messages, replies and internal notes.
    pub messages: i64,
    /// Original MIME.
    pub raw_messages: i64,
    /// Attachments.
    pub attachments: i64,
    /// Outgoing mail (sent or queued).
    pub outbox: i64,
    /// Background jobs naming the cases.
    pub jobs: i64,
    /// Coordinator notifications.
    pub notifications: i64,
    /// Assignment history.
    pub assignments: i64,
    /// Audit entries about the cases or naming the person, redacted: who
    /// did what when stays, the detail becomes `{"redacted": true}` (the
    /// log is append-only otherwise).
    pub audit_entries: i64,
    /// Read markers.
    pub read_markers: i64,
    /// Duplicate-delivery keys (hashes of the Message-ID).
    pub dedupe_keys: i64,
}

impl Erased {
    fn add(&mut self, o: &Erased) {
        self.requesters += o.requesters;
        self.cases += o.cases;
        self.messages += o.messages;
        self.raw_messages += o.raw_messages;
        self.attachments += o.attachments;
        self.outbox += o.outbox;
        self.jobs += o.jobs;
        self.notifications += o.notifications;
        self.assignments += o.assignments;
        self.audit_entries += o.audit_entries;
        self.read_markers += o.read_markers;
        self.dedupe_keys += o.dedupe_keys;
    }

    /// Rows in all.
    pub fn total(&self) -> i64 {
        self.requesters
            + self.cases
            + self.messages
            + self.raw_messages
            + self.attachments
            + self.outbox
            + self.jobs
            + self.notifications
            + self.assignments
            + self.audit_entries
            + self.read_markers
            + self.dedupe_keys
    }
}

/// An erasure was refused.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// Nothing is held about that address.
    #[error("no requester with that address")]
    NotFound,
    /// A case is under legal hold: (reference, reason) of each.
    #[error("{} case(s) under legal hold: {}", .0.len(), .0.iter().map(|(r, why)| format!("{r} ({why})")).collect::<Vec<_>>().join(", "))]
    LegalHold(Vec<(String, String)>),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for EraseError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

/// What one retention pass removed (or would, on a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Retained {
    /// Closed cases past `closed_cases_months`, erased with everything
    /// they hold.
    pub closed_cases: Erased,
    /// Raw MIME past `raw_mime_months` dropped (text kept).
    pub raw_mime: i64,
    /// Expired sessions.
    pub sessions: i64,
    /// Old login attempts.
    pub login_attempts: i64,
    /// Finished background jobs past the sessions' period.
    pub finished_jobs: i64,
}

impl Retained {
    /// Adds another pass's counts.
    pub fn add(&mut self, o: &Retained) {
        self.closed_cases.add(&o.closed_cases);
        self.raw_mime += o.raw_mime;
        self.sessions += o.sessions;
        self.login_attempts += o.login_attempts;
        self.finished_jobs += o.finished_jobs;
    }

    /// Rows in all.
    pub fn total(&self) -> i64 {
        self.closed_cases.total()
            + self.raw_mime
            + self.sessions
            + self.login_attempts
            + self.finished_jobs
    }
}

/// Everything held about one person, for a subject access export.
#[derive(Debug, Clone, Serialize)]
pub struct PersonExport {
    /// The address asked about.
    pub email: String,
    /// Names they signed with.
    pub names: Vec<String>,
    /// When Concierge first heard from them.
    pub first_seen: Option<DateTime<Utc>>,
    /// Their cases, oldest first.
    pub cases: Vec<CaseExport>,
}

/// One case of a [`PersonExport`].
#[derive(Debug, Clone, Serialize)]
pub struct CaseExport {
    /// Ticket id (internal).
    #[serde(skip)]
    pub id: Uuid,
    /// Reference.
    pub reference: String,
    /// Subject.
    pub subject: String,
    /// Status.
    pub status: String,
    /// Priority.
    pub priority: String,
    /// Placed country.
    pub country: Option<String>,
    /// How it was placed.
    pub country_source: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Assessed risk.
    pub risk: String,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Legal hold reason, when held.
    pub legal_hold: Option<String>,
    /// Who it was assigned to, when.
    pub assignments: Vec<AssignmentExport>,
    /// Messages, replies and internal notes, oldest first.
    pub messages: Vec<MessageExport>,
    /// Who did what with the case (views, changes), oldest first.
    pub audit: Vec<AuditExport>,
}

/// One assignment of a case.
#[derive(Debug, Clone, Serialize)]
pub struct AssignmentExport {
    /// The caseworker's name.
    pub caseworker: String,
    /// Why (routing rule or a person).
    pub reason: String,
    /// From.
    pub assigned_at: DateTime<Utc>,
    /// Until.
    pub ended_at: Option<DateTime<Utc>>,
}

/// One message of a case.
#[derive(Debug, Clone, Serialize)]
pub struct MessageExport {
    /// Message id (internal).
    pub id: Uuid,
    /// `inbound`, `outbound` or `note`.
    pub direction: String,
    /// An internal note (never sent to the person).
    pub internal: bool,
    /// Classification.
    pub class: String,
    /// From address.
    pub from_address: Option<String>,
    /// From name.
    pub from_name: Option<String>,
    /// To.
    pub to: Vec<String>,
    /// Cc.
    pub cc: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Text.
    pub text: String,
    /// Assessed risk.
    pub risk: String,
    /// Stored.
    pub created_at: DateTime<Utc>,
    /// Date header or send time.
    pub sent_at: Option<DateTime<Utc>>,
    /// The original message (inbound) or the mail as sent (outbound).
    #[serde(skip)]
    pub raw: Option<Vec<u8>>,
    /// Attachments.
    pub attachments: Vec<AttachmentExport>,
}

/// One attachment.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentExport {
    /// Position in the message.
    pub position: i32,
    /// Filename as sent.
    pub filename: Option<String>,
    /// Content type.
    pub content_type: String,
    /// Bytes.
    pub size: i32,
    /// The content.
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// One audit entry about a case.
#[derive(Debug, Clone, Serialize)]
pub struct AuditExport {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (a staff member's name and address; `system` when none).
    pub actor: String,
    /// What (`case.view`, `case.status`, ...).
    pub action: String,
}

/// Deletes the cases `ids` and everything that hangs off them, in `tx`.
/// `all_jobs`: also scan finished background jobs for their ids (an
/// erasure does; retention's batches leave finished jobs to their own
/// age rule).
async fn erase_cases(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
    all_jobs: bool,
) -> Result<Erased, StoreError> {
    let mut n = Erased::default();
    if ids.is_empty() {
        return Ok(n);
    }
    let id_text: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    n.jobs = sqlx::query!(
        "DELETE FROM apalis.jobs j
         WHERE ($2 OR j.status <> 'Done')
           AND EXISTS (SELECT 1 FROM unnest($1::text[]) i(id)
                       WHERE position(convert_to(i.id, 'UTF8') IN j.job) > 0)",
        &id_text,
        all_jobs
    )
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    n.read_markers = sqlx::query!("DELETE FROM case_reads WHERE ticket_id = ANY($1)", ids)
        .execute(&mut **tx)
        .await?
        .rows_affected() as i64;
    n.notifications = sqlx::query!("DELETE FROM notifications WHERE ticket_id = ANY($1)", ids)
        .execute(&mut **tx)
        .await?
        .rows_affected() as i64;
    n.audit_entries = redact_audit(tx, ids, None).await?;
    n.assignments = sqlx::query!("DELETE FROM assignments WHERE ticket_id = ANY($1)", ids)
        .execute(&mut **tx)
        .await?
        .rows_affected() as i64;
    n.dedupe_keys = sqlx::query!("DELETE FROM inbound_dedup WHERE ticket_id = ANY($1)", ids)
        .execute(&mut **tx)
        .await?
        .rows_affected() as i64;
    n.attachments = sqlx::query!(
        "DELETE FROM attachments a USING messages m
         WHERE a.message_id = m.id AND m.ticket_id = ANY($1)",
        ids
    )
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    let gone = sqlx::query!(
        "DELETE FROM messages WHERE ticket_id = ANY($1) RETURNING raw_id, outbox_id",
        ids
    )
    .fetch_all(&mut **tx)
    .await?;
    n.messages = gone.len() as i64;
    let raw: Vec<Uuid> = gone.iter().filter_map(|m| m.raw_id).collect();
    let outbox: Vec<Uuid> = gone.iter().filter_map(|m| m.outbox_id).collect();
    n.raw_messages = sqlx::query!("DELETE FROM raw_messages WHERE id = ANY($1)", &raw)
        .execute(&mut **tx)
        .await?
        .rows_affected() as i64;
    n.outbox = sqlx::query!(
        "DELETE FROM outbox WHERE ticket_id = ANY($1) OR id = ANY($2)",
        ids,
        &outbox
    )
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    let requesters = sqlx::query_scalar!(
        "DELETE FROM tickets WHERE id = ANY($1) RETURNING requester_id",
        ids
    )
    .fetch_all(&mut **tx)
    .await?;
    n.cases = requesters.len() as i64;
    let requesters: Vec<Uuid> = requesters.into_iter().flatten().collect();
    n.requesters = sqlx::query!(
        "DELETE FROM requesters r WHERE r.id = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.requester_id = r.id)",
        &requesters
    )
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    Ok(n)
}

/// Redacts the audit entries about the cases `ids`, or whose detail names
/// `email`: the detail becomes `{"redacted": true}`; who, what, when and
/// the case id stay. Already redacted entries are left alone.
async fn redact_audit(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
    email: Option<&str>,
) -> Result<i64, StoreError> {
    // The one door through the append-only trigger, for this transaction.
    sqlx::query("SELECT set_config('concierge.redact', 'on', true)")
        .execute(&mut **tx)
        .await?;
    let n = sqlx::query!(
        r#"UPDATE audit_log SET detail = jsonb_build_object('redacted', true)
           WHERE detail <> jsonb_build_object('redacted', true)
             AND (ticket_id = ANY($1)
                  OR ($2::text IS NOT NULL AND strpos(lower(detail::text), lower($2)) > 0))"#,
        ids,
        email
    )
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    sqlx::query("SELECT set_config('concierge.redact', 'off', true)")
        .execute(&mut **tx)
        .await?;
    Ok(n)
}

impl Store {
    /// Everything held about `email` (case-insensitive), or `None` when
    /// nothing is. Records the export in the audit log (by whom, how many
    /// cases; not the address).
    pub async fn export_person(
        &self,
        email: &str,
        by: Option<Uuid>,
    ) -> Result<Option<PersonExport>, StoreError> {
        let people = sqlx::query!(
            "SELECT id, email, name, created_at FROM requesters
             WHERE lower(email) = lower($1) ORDER BY created_at",
            email.trim()
        )
        .fetch_all(&self.pool)
        .await?;
        if people.is_empty() {
            return Ok(None);
        }
        let ids: Vec<Uuid> = people.iter().map(|p| p.id).collect();
        let mut names: Vec<String> = people.iter().filter_map(|p| p.name.clone()).collect();
        names.dedup();
        let tickets = sqlx::query!(
            "SELECT id, reference, subject, status, priority, country, country_source, language,
                    risk, created_at, updated_at, resolved_at, legal_hold_reason
             FROM tickets WHERE requester_id = ANY($1) ORDER BY created_at, id",
            &ids
        )
        .fetch_all(&self.pool)
        .await?;
        let mut cases = Vec::with_capacity(tickets.len());
        for t in tickets {
            let assignments = sqlx::query_as!(
                AssignmentExport,
                r#"SELECT v.name AS caseworker, a.reason, a.assigned_at, a.ended_at
                   FROM assignments a JOIN volunteers v ON v.id = a.volunteer_id
                   WHERE a.ticket_id = $1 ORDER BY a.assigned_at"#,
                t.id
            )
            .fetch_all(&self.pool)
            .await?;
            let rows = sqlx::query!(
                r#"SELECT m.id, m.direction, m.class, m.from_address, m.from_name,
                          m.to_addresses, m.cc_addresses, m.subject, m.text_body, m.risk,
                          m.created_at, m.sent_at,
                          coalesce(r.data, o.raw) AS raw
                   FROM messages m
                   LEFT JOIN raw_messages r ON r.id = m.raw_id
                   LEFT JOIN outbox o ON o.id = m.outbox_id
                   WHERE m.ticket_id = $1 ORDER BY m.created_at, m.id"#,
                t.id
            )
            .fetch_all(&self.pool)
            .await?;
            let mut messages = Vec::with_capacity(rows.len());
            for m in rows {
                let attachments = sqlx::query_as!(
                    AttachmentExport,
                    "SELECT position, filename, content_type, size, data
                     FROM attachments WHERE message_id = $1 ORDER BY position",
                    m.id
                )
                .fetch_all(&self.pool)
                .await?;
                messages.push(MessageExport {
                    id: m.id,
                    internal: m.direction == "note",
                    direction: m.direction,
                    class: m.class,
                    from_address: m.from_address,
                    from_name: m.from_name,
                    to: m.to_addresses,
                    cc: m.cc_addresses,
                    subject: m.subject,
                    text: m.text_body,
                    risk: m.risk,
                    created_at: m.created_at,
                    sent_at: m.sent_at,
                    raw: m.raw,
                    attachments,
                });
            }
            let audit = sqlx::query_as!(
                AuditExport,
                r#"SELECT a.at,
                          coalesce(u.name || ' <' || u.email || '>', 'system') AS "actor!",
                          a.action
                   FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id
                   WHERE a.ticket_id = $1 ORDER BY a.at, a.id"#,
                t.id
            )
            .fetch_all(&self.pool)
            .await?;
            cases.push(CaseExport {
                id: t.id,
                reference: t.reference,
                subject: t.subject,
                status: t.status,
                priority: t.priority,
                country: t.country,
                country_source: t.country_source,
                language: t.language,
                risk: t.risk,
                created_at: t.created_at,
                updated_at: t.updated_at,
                resolved_at: t.resolved_at,
                legal_hold: t.legal_hold_reason,
                assignments,
                messages,
                audit,
            });
        }
        let case_ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
        sqlx::query!(
            "INSERT INTO audit_log (actor_user_id, action, detail)
             VALUES ($1, 'privacy.export', jsonb_build_object('requesters', $2::uuid[],
                     'cases', $3::uuid[]))",
            by,
            &ids,
            &case_ids
        )
        .execute(&self.pool)
        .await?;
        Ok(Some(PersonExport {
            email: people[0].email.clone(),
            names,
            first_seen: people.first().map(|p| p.created_at),
            cases,
        }))
    }

    /// Erases everything held about `email` (case-insensitive): their
    /// requester rows, cases, messages, raw MIME, attachments, search
    /// entries (part of the message rows), outgoing mail, queued jobs,
    /// notifications, assignment history, read markers, dedupe keys and
    /// unattached raw mail they sent; redacts the audit entries about their
    /// cases or naming them (who did what when stays, the detail goes). One transaction. Refused when a case is under legal
    /// hold. Records an audit entry saying an erasure happened (by whom and
    /// how many rows, never who). `dry_run`: counts only, changes nothing.
    pub async fn erase_person(
        &self,
        email: &str,
        by: Option<Uuid>,
        dry_run: bool,
    ) -> Result<Erased, EraseError> {
        let email = email.trim();
        let mut tx = self.pool.begin().await?;
        let requesters = sqlx::query_scalar!(
            "SELECT id FROM requesters WHERE lower(email) = lower($1) FOR UPDATE",
            email
        )
        .fetch_all(&mut *tx)
        .await?;
        let strays = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM outbox
               WHERE lower(requester_email) = lower($1) AND ticket_id IS NULL"#,
            email
        )
        .fetch_one(&mut *tx)
        .await?;
        if requesters.is_empty() && strays == 0 {
            return Err(EraseError::NotFound);
        }
        let cases = sqlx::query!(
            "SELECT id, reference, legal_hold_reason FROM tickets
             WHERE requester_id = ANY($1) ORDER BY created_at FOR UPDATE",
            &requesters
        )
        .fetch_all(&mut *tx)
        .await?;
        let held: Vec<(String, String)> = cases
            .iter()
            .filter_map(|c| Some((c.reference.clone(), c.legal_hold_reason.clone()?)))
            .collect();
        if !held.is_empty() {
            return Err(EraseError::LegalHold(held));
        }
        let ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
        let mut n = erase_cases(&mut tx, &ids, true).await?;
        // What names the person outside their cases: mail to them with no
        // case, raw mail they sent that never became a message, and audit
        // entries whose detail carries the address.
        n.outbox += sqlx::query!(
            "DELETE FROM outbox WHERE lower(requester_email) = lower($1)
               AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.outbox_id = outbox.id)",
            email
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        n.raw_messages += sqlx::query!(
            "DELETE FROM raw_messages r WHERE lower(r.envelope_from) = lower($1)
               AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.raw_id = r.id)",
            email
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        n.audit_entries += redact_audit(&mut tx, &[], Some(email)).await?;
        n.requesters += sqlx::query!(
            "DELETE FROM requesters r WHERE r.id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.requester_id = r.id)",
            &requesters
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        if dry_run {
            tx.rollback().await?;
            return Ok(n);
        }
        sqlx::query!(
            "INSERT INTO audit_log (actor_user_id, action, detail)
             VALUES ($1, 'privacy.erase', $2)",
            by,
            serde_json::to_value(&n).unwrap_or_default()
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Puts a case under legal hold (or, with `reason` `None`, releases
    /// it); audited. Returns false when there is no such case.
    pub async fn set_legal_hold(
        &self,
        ticket_id: Uuid,
        reason: Option<&str>,
        by: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let done = sqlx::query_scalar!(
            r#"WITH t AS (
                   UPDATE tickets SET legal_hold_reason = $2,
                       legal_hold_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END,
                       legal_hold_by = CASE WHEN $2::text IS NULL THEN NULL ELSE $3::uuid END
                   WHERE id = $1 RETURNING id),
               audited AS (
                   INSERT INTO audit_log (actor_user_id, action, ticket_id, detail)
                   SELECT $3, CASE WHEN $2::text IS NULL THEN 'case.legal_hold.release'
                                   ELSE 'case.legal_hold' END, t.id,
                          jsonb_build_object('reason', $2::text)
                   FROM t)
               SELECT id AS "id!" FROM t"#,
            ticket_id,
            reason,
            by
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(done.is_some())
    }

    /// One retention pass at `cutoffs`, at most `batch` rows of each kind
    /// (cases count as one row each), each kind in its own short
    /// transaction; rows another process holds are skipped (`SKIP
    /// LOCKED`), so several workers may run it at once. Call it until
    /// [`Retained::total`] is zero.
    pub async fn retention_pass(
        &self,
        cutoffs: &Cutoffs,
        batch: i64,
    ) -> Result<Retained, StoreError> {
        let mut out = Retained::default();
        if let Some(before) = cutoffs.closed_cases {
            let mut tx = self.pool.begin().await?;
            let ids = sqlx::query_scalar!(
                "SELECT id FROM tickets
                 WHERE status IN ('resolved', 'closed') AND legal_hold_at IS NULL
                   AND coalesce(resolved_at, updated_at) < $1
                 ORDER BY coalesce(resolved_at, updated_at)
                 LIMIT $2 FOR UPDATE SKIP LOCKED",
                before,
                batch
            )
            .fetch_all(&mut *tx)
            .await?;
            out.closed_cases = erase_cases(&mut tx, &ids, false).await?;
            tx.commit().await?;
        }
        if let Some(before) = cutoffs.raw_mime {
            let mut tx = self.pool.begin().await?;
            let ids = sqlx::query_scalar!(
                "SELECT r.id FROM raw_messages r
                 WHERE r.received_at < $1
                   AND NOT EXISTS (SELECT 1 FROM messages m JOIN tickets t ON t.id = m.ticket_id
                                   WHERE m.raw_id = r.id AND t.legal_hold_at IS NOT NULL)
                 ORDER BY r.received_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                before,
                batch
            )
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query!(
                "UPDATE messages SET raw_id = NULL WHERE raw_id = ANY($1)",
                &ids
            )
            .execute(&mut *tx)
            .await?;
            out.raw_mime = sqlx::query!("DELETE FROM raw_messages WHERE id = ANY($1)", &ids)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            tx.commit().await?;
        }
        out.sessions = sqlx::query!(
            "DELETE FROM sessions WHERE id IN (
                 SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            cutoffs.sessions,
            batch
        )
        .execute(&self.pool)
        .await?
        .rows_affected() as i64;
        out.login_attempts = sqlx::query!(
            "DELETE FROM login_attempts WHERE ctid IN (
                 SELECT ctid FROM login_attempts WHERE at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            cutoffs.login_attempts,
            batch
        )
        .execute(&self.pool)
        .await?
        .rows_affected() as i64;
        out.finished_jobs = sqlx::query!(
            "DELETE FROM apalis.jobs WHERE id IN (
                 SELECT id FROM apalis.jobs WHERE status = 'Done' AND done_at < $1
                 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            cutoffs.sessions,
            batch
        )
        .execute(&self.pool)
        .await?
        .rows_affected() as i64;
        Ok(out)
    }

    /// What retention at `cutoffs` would remove now, counted (one
    /// statement, changes nothing). Jobs naming the closed cases are not
    /// counted (they are found by scanning job payloads).
    pub async fn retention_preview(&self, cutoffs: &Cutoffs) -> Result<Retained, StoreError> {
        let r = sqlx::query!(
            r#"WITH c AS (
                   SELECT id, requester_id FROM tickets
                   WHERE $1::timestamptz IS NOT NULL
                     AND status IN ('resolved', 'closed') AND legal_hold_at IS NULL
                     AND coalesce(resolved_at, updated_at) < $1),
               m AS (SELECT id, raw_id, outbox_id FROM messages WHERE ticket_id IN (SELECT id FROM c))
               SELECT
                 (SELECT count(*) FROM c) AS "cases!",
                 (SELECT count(DISTINCT c.requester_id) FROM c WHERE NOT EXISTS (
                      SELECT 1 FROM tickets t WHERE t.requester_id = c.requester_id
                        AND t.id NOT IN (SELECT id FROM c))) AS "requesters!",
                 (SELECT count(*) FROM m) AS "messages!",
                 (SELECT count(*) FROM m WHERE raw_id IS NOT NULL) AS "raw_messages!",
                 (SELECT count(*) FROM attachments WHERE message_id IN (SELECT id FROM m)) AS "attachments!",
                 (SELECT count(*) FROM outbox WHERE ticket_id IN (SELECT id FROM c)) AS "outbox!",
                 (SELECT count(*) FROM notifications WHERE ticket_id IN (SELECT id FROM c)) AS "notifications!",
                 (SELECT count(*) FROM assignments WHERE ticket_id IN (SELECT id FROM c)) AS "assignments!",
                 (SELECT count(*) FROM audit_log WHERE ticket_id IN (SELECT id FROM c)
                    AND detail <> jsonb_build_object('redacted', true)) AS "audit!",
                 (SELECT count(*) FROM case_reads WHERE ticket_id IN (SELECT id FROM c)) AS "reads!",
                 (SELECT count(*) FROM inbound_dedup WHERE ticket_id IN (SELECT id FROM c)) AS "dedupe!",
                 (SELECT count(*) FROM raw_messages r WHERE $2::timestamptz IS NOT NULL
                    AND r.received_at < $2
                    AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.raw_id = r.id
                                    AND x.ticket_id IN (SELECT id FROM c))
                    AND NOT EXISTS (SELECT 1 FROM messages x JOIN tickets t ON t.id = x.ticket_id
                                    WHERE x.raw_id = r.id AND t.legal_hold_at IS NOT NULL)) AS "raw_mime!",
                 (SELECT count(*) FROM sessions WHERE expires_at < $3) AS "sessions!",
                 (SELECT count(*) FROM login_attempts WHERE at < $4) AS "login_attempts!",
                 (SELECT count(*) FROM apalis.jobs WHERE status = 'Done' AND done_at < $3) AS "finished_jobs!""#,
            cutoffs.closed_cases,
            cutoffs.raw_mime,
            cutoffs.sessions,
            cutoffs.login_attempts
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Retained {
            closed_cases: Erased {
                requesters: r.requesters,
                cases: r.cases,
                messages: r.messages,
                raw_messages: r.raw_messages,
                attachments: r.attachments,
                outbox: r.outbox,
                jobs: 0,
                notifications: r.notifications,
                assignments: r.assignments,
                audit_entries: r.audit,
                read_markers: r.reads,
                dedupe_keys: r.dedupe,
            },
            raw_mime: r.raw_mime,
            sessions: r.sessions,
            login_attempts: r.login_attempts,
            finished_jobs: r.finished_jobs,
        })
    }

    /// Records in the audit log that retention removed `n` (counts only).
    pub async fn audit_retention(&self, n: &Retained) -> Result<(), StoreError> {
        sqlx::query!(
            "INSERT INTO audit_log (action, detail) VALUES ('privacy.retention', $1)",
            serde_json::to_value(n).unwrap_or_default()
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
