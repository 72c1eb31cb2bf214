//! The outbox: every outgoing mail is a row written in the same transaction
//! as the event that causes it, then sent by a job. A row is sent at most
//! once by us (a lease guards concurrent senders); its Message-ID lets the
//! receiving side drop the rare duplicate after a crash mid-send.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::queue::{MailJob, push_mail_jobs};
use crate::{Store, StoreError};

/// A mail ready to go out.
#[derive(Debug, Clone)]
pub struct NewMail {
    /// The case it belongs to.
    pub ticket_id: Option<Uuid>,
    /// ack, reply, notify_assigned, …
    pub kind: String,
    /// What caused it (`ack:<ticket>`…): composing twice never makes two.
    pub cause: String,
    /// Our Message-ID, without brackets.
    pub message_id: String,
    /// SMTP MAIL FROM.
    pub envelope_from: String,
    /// SMTP RCPT TOs.
    pub recipients: Vec<String>,
    /// Subject (for people).
    pub subject: String,
    /// The complete RFC 5322 bytes.
    pub raw: Vec<u8>,
    /// The requester an acknowledgement goes to (rate limits).
    pub requester_email: Option<String>,
    /// Show on the case's thread as an outbound message with this text.
    pub thread_text: Option<String>,
    /// The `From` shown on the thread.
    pub thread_from: Option<String>,
    /// Who wrote it (a caseworker), shown on the thread.
    pub thread_author: Option<String>,
    /// `In-Reply-To` of the mail (for the thread row).
    pub in_reply_to: Option<String>,
}

/// A row claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Row id.
    pub id: Uuid,
    /// MAIL FROM.
    pub envelope_from: String,
    /// RCPT TOs.
    pub recipients: Vec<String>,
    /// Bytes.
    pub raw: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// A delivery as shown on a case.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    /// ack, reply, notify_assigned.
    pub kind: String,
    /// Our Message-ID.
    pub message_id: String,
    /// To.
    pub recipients: Vec<String>,
    /// pending, sending, sent, failed, bounced.
    pub status: String,
    /// Attempts.
    pub attempts: i32,
    /// Last error.
    pub last_error: Option<String>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Handed to the relay.
    pub sent_at: Option<DateTime<Utc>>,
}

/// Writes a mail into the outbox inside `tx` and enqueues its send job.
/// Returns `false` when the same cause already produced a mail.
pub async fn enqueue_mail(tx: &mut sqlx::PgConnection, m: &NewMail) -> Result<bool, StoreError> {
    let Some(id) = insert_mail(tx, m).await? else {
        return Ok(false);
    };
    push_mail_jobs(tx, &[MailJob::Send { outbox_id: id }], None).await?;
    Ok(true)
}

/// Writes a mail into the outbox inside `tx` without a send job; returns
/// its id, or `None` when the same cause already produced a mail.
async fn insert_mail(tx: &mut sqlx::PgConnection, m: &NewMail) -> Result<Option<Uuid>, StoreError> {
    let id = Uuid::new_v4();
    let inserted = sqlx::query_scalar!(
        "INSERT INTO outbox (id, ticket_id, kind, cause, message_id, envelope_from, recipients,
            subject, raw, requester_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (cause) DO NOTHING RETURNING id",
        id,
        m.ticket_id,
        m.kind,
        m.cause,
        m.message_id,
        m.envelope_from,
        &m.recipients,
        m.subject,
        &m.raw,
        m.requester_email
    )
    .fetch_optional(&mut *tx)
    .await?;
    if inserted.is_none() {
        return Ok(None);
    }
    if let (Some(ticket_id), Some(text)) = (m.ticket_id, &m.thread_text) {
        sqlx::query!(
            r#"INSERT INTO messages (id, ticket_id, direction, class, message_id, in_reply_to,
                from_address, from_name, to_addresses, subject, text_body, outbox_id)
               VALUES ($1, $2, 'outbound', 'human', $3, $4, $5, $10, $6, $7, $8, $9)"#,
            Uuid::new_v4(),
            ticket_id,
            m.message_id,
            &m.in_reply_to.iter().cloned().collect::<Vec<_>>(),
            m.thread_from,
            &m.recipients,
            m.subject,
            text,
            id,
            m.thread_author
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE tickets SET message_count = message_count + 1, updated_at = now() WHERE id = $1",
            ticket_id
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(Some(id))
}

/// What a caseworker's reply needs to know about its case.
#[derive(Debug, Clone)]
pub struct ReplyFacts {
    /// Ticket id.
    pub ticket_id: Uuid,
    /// Subject.
    pub subject: String,
    /// Status.
    pub status: String,
    /// Requester address.
    pub requester_email: Option<String>,
    /// Latest inbound message's Message-ID.
    pub last_message_id: Option<String>,
    /// Its References.
    pub last_references: Vec<String>,
    /// Its Reply-To.
    pub last_reply_to: Option<String>,
}

impl Store {
    /// Facts for a reply on the case with this reference.
    pub async fn reply_facts(&self, reference: &str) -> Result<Option<ReplyFacts>, StoreError> {
        Ok(sqlx::query_as!(
            ReplyFacts,
            r#"SELECT t.id AS ticket_id, t.subject, t.status, r.email AS "requester_email?",
                      m.message_id AS "last_message_id?", m."references" AS "last_references!",
                      m.reply_to AS "last_reply_to?"
               FROM tickets t
               LEFT JOIN requesters r ON r.id = t.requester_id
               LEFT JOIN LATERAL (SELECT message_id, "references", reply_to FROM messages
                                  WHERE ticket_id = t.id AND direction = 'inbound' AND class = 'human'
                                  ORDER BY created_at DESC, id DESC LIMIT 1) m ON true
               WHERE t.reference = $1"#,
            reference
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|mut f| {
            if f.last_message_id.is_none() {
                f.last_references.clear();
            }
            f
        }))
    }

    /// Records a caseworker's reply: the outbox row and thread message, the
    /// first response time, and the status (`waiting_on_requester` when the
    /// state machine allows it), in one transaction.
    pub async fn record_reply(&self, m: &NewMail) -> Result<(), StoreError> {
        let ticket_id = m.ticket_id.ok_or(StoreError::NotFound)?;
        let mut tx = self.pool.begin().await?;
        let status = sqlx::query_scalar!(
            "SELECT status FROM tickets WHERE id = $1 FOR UPDATE",
            ticket_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let current: concierge_core::ticket::TicketStatus = status
            .parse()
            .unwrap_or(concierge_core::ticket::TicketStatus::New);
        let waiting = concierge_core::ticket::TicketStatus::WaitingOnRequester;
        let next = if current.can_transition_to(waiting) {
            waiting
        } else {
            current
        };
        enqueue_mail(&mut tx, m).await?;
        sqlx::query!(
            "UPDATE tickets SET first_responded_at = COALESCE(first_responded_at, now()),
                status = $2, updated_at = now() WHERE id = $1",
            ticket_id,
            next.as_str()
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes one mail and its send job in a transaction of its own.
    pub async fn enqueue_mail(&self, m: &NewMail) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = enqueue_mail(&mut tx, m).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Writes one mail without a send job, for a caller that sends it at
    /// once ([`Store::claim_mail`] still guards the send). Should the caller
    /// die first, the row is due and the sweep ([`Store::requeue_due_mail`])
    /// gives it a send job. Returns its id, or `None` when the same cause
    /// already produced a mail.
    pub async fn queue_mail_to_send(&self, m: &NewMail) -> Result<Option<Uuid>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = insert_mail(&mut tx, m).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Queues an acknowledgement unless `email` already got `max` of them
    /// in the last `minutes`, without a send job (as
    /// [`Store::queue_mail_to_send`]). Concurrent acknowledgements to one
    /// address are serialised, so the limit holds under any number of
    /// workers. Returns `Ok(None)` when rate-limited, `Ok(Some(None))` when
    /// it was queued before, else the new row's id.
    pub async fn enqueue_ack_limited(
        &self,
        m: &NewMail,
        email: &str,
        max: i64,
        minutes: i64,
    ) -> Result<Option<Option<Uuid>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended('ack:' || $1, 0))",
            email
        )
        .execute(&mut *tx)
        .await?;
        let recent = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM outbox
               WHERE kind = 'ack' AND requester_email = $1
                 AND created_at > now() - make_interval(mins => $2)"#,
            email,
            i32::try_from(minutes).unwrap_or(i32::MAX)
        )
        .fetch_one(&mut *tx)
        .await?;
        if recent >= max {
            return Ok(None);
        }
        let queued = insert_mail(&mut tx, m).await?;
        tx.commit().await?;
        Ok(Some(queued))
    }

    /// Acknowledgements sent to this address in the last `minutes`.
    pub async fn recent_acks(&self, email: &str, minutes: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM outbox
               WHERE kind = 'ack' AND requester_email = $1
                 AND created_at > now() - make_interval(mins => $2)"#,
            email,
            i32::try_from(minutes).unwrap_or(i32::MAX)
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Claims a row for sending under a lease of `lease_secs` (longer than a
    /// send can take, so two senders never overlap); `None` when it is sent,
    /// failed, not due yet, or leased by another sender. A sender that dies
    /// holding a lease delays the mail until the lease runs out.
    pub async fn claim_mail(
        &self,
        id: Uuid,
        lease_secs: i64,
    ) -> Result<Option<Claimed>, StoreError> {
        Ok(sqlx::query_as!(
            Claimed,
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2)
             WHERE id = $1
               AND ((status = 'pending' AND next_attempt_at <= now() + interval '2 seconds')
                    OR (status = 'sending' AND next_attempt_at <= now()))
             RETURNING id, envelope_from, recipients, raw, attempts",
            id,
            lease_secs as f64
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The relay accepted the mail.
    pub async fn mark_sent(&self, id: Uuid) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE outbox SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1",
            id
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A temporary failure: try again after `delay_secs` (the job is
    /// re-enqueued with that delay in the same transaction).
    pub async fn mark_retry(
        &self,
        id: Uuid,
        error: &str,
        delay_secs: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!(
            "UPDATE outbox SET status = 'pending', last_error = $2,
                next_attempt_at = now() + make_interval(secs => $3)
             WHERE id = $1",
            id,
            error,
            delay_secs as f64
        )
        .execute(&mut *tx)
        .await?;
        // The queue counts whole seconds: run the job a second after the
        // row is due, never before.
        push_mail_jobs(
            &mut tx,
            &[MailJob::Send { outbox_id: id }],
            Some(delay_secs + 1),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A permanent failure, recorded on the case.
    pub async fn mark_failed(&self, id: Uuid, error: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let t = sqlx::query!(
            "UPDATE outbox SET status = 'failed', last_error = $2 WHERE id = $1 RETURNING ticket_id, kind",
            id,
            error
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(ticket_id) = t.ticket_id {
            sqlx::query!(
                "INSERT INTO notifications (id, kind, ticket_id, detail) VALUES ($1, 'delivery_failed', $2, $3)",
                Uuid::new_v4(),
                ticket_id,
                format!("{} could not be delivered: {error}", t.kind)
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deliveries of a case, oldest first.
    pub async fn deliveries(&self, ticket_id: Uuid) -> Result<Vec<DeliveryView>, StoreError> {
        Ok(sqlx::query_as!(
            DeliveryView,
            "SELECT kind, message_id, recipients, status, attempts, last_error, created_at, sent_at
             FROM outbox WHERE ticket_id = $1 ORDER BY created_at",
            ticket_id
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Re-enqueues send jobs for rows that are due but have no live job
    /// (a crashed sender's lease ran out). Returns how many.
    pub async fn requeue_due_mail(&self) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ids = sqlx::query_scalar!(
            "SELECT id FROM outbox WHERE status IN ('pending','sending')
               AND next_attempt_at < now() - interval '5 seconds'
             ORDER BY next_attempt_at LIMIT 500 FOR UPDATE SKIP LOCKED"
        )
        .fetch_all(&mut *tx)
        .await?;
        let jobs: Vec<MailJob> = ids
            .iter()
            .map(|&outbox_id| MailJob::Send { outbox_id })
            .collect();
        push_mail_jobs(&mut tx, &jobs, None).await?;
        // Push them forward so the next sweep does not push them again.
        sqlx::query!(
            "UPDATE outbox SET next_attempt_at = now() WHERE id = ANY($1)",
            &ids
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids.len())
    }
}

/// Marks our mails that a delivery report says bounced.
pub(crate) async fn mark_bounced(
    tx: &mut sqlx::PgConnection,
    message_ids: &[String],
    detail: &str,
) -> Result<u64, StoreError> {
    if message_ids.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query!(
        "UPDATE outbox SET status = 'bounced', last_error = $2
         WHERE message_id = ANY($1) AND status IN ('sent','sending','pending')",
        message_ids,
        detail
    )
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}
