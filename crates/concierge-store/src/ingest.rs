//! Storing one inbound message: ticket or reply, exactly once, in one
//! transaction.

use chrono::{DateTime, Utc};
use concierge_core::message::{EmailAddress, MessageClass};
use concierge_core::threading::{ThreadPlan, subject_tag_allowed};
use concierge_core::ticket::{TicketReference, TicketStatus};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::outbox::mark_bounced;
use crate::queue::{MailJob, push_mail_jobs, push_route_jobs};
use crate::{Store, StoreError};

/// Which door a message came in by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundSource {
    /// Our SMTP listener.
    Smtp,
    /// `concierge ingest` from an MTA.
    Pipe,
    /// `POST /inbound/mime`.
    Http,
}

impl InboundSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Smtp => "smtp",
            Self::Pipe => "pipe",
            Self::Http => "http",
        }
    }
}

/// An attachment ready to store.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Safe display name.
    pub filename: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// `Content-ID` without brackets, for inline parts.
    pub content_id: Option<String>,
    /// Shown inline in the original (e.g. a `cid:` image).
    pub inline: bool,
    /// Decoded bytes.
    pub data: Vec<u8>,
}

/// Everything ingest needs to know about one parsed inbound message.
#[derive(Debug, Clone)]
pub struct NewInbound {
    /// Door it came in by.
    pub source: InboundSource,
    /// SMTP `MAIL FROM` (empty for `<>`), when known.
    pub envelope_from: Option<String>,
    /// SMTP `RCPT TO`s, when known.
    pub envelope_to: Vec<String>,
    /// The message exactly as received.
    pub raw: Vec<u8>,
    /// Idempotency key from [`concierge_core::threading::dedupe_key`].
    pub dedupe_key: String,
    /// Machine-mail class.
    pub class: MessageClass,
    /// Thread lookups to try.
    pub thread: ThreadPlan,
    /// Parsed sender.
    pub from: Option<EmailAddress>,
    /// Sender's display name.
    pub from_name: Option<String>,
    /// `Reply-To` address.
    pub reply_to: Option<String>,
    /// `To` addresses (bounded).
    pub to: Vec<String>,
    /// `Cc` addresses (bounded).
    pub cc: Vec<String>,
    /// Decoded subject.
    pub subject: String,
    /// Plain-text body (converted from HTML when there is none).
    pub text: String,
    /// HTML body as received (sanitised only when shown).
    pub html: Option<String>,
    /// Normalised Message-ID.
    pub message_id: Option<String>,
    /// Normalised `In-Reply-To` ids.
    pub in_reply_to: Vec<String>,
    /// Normalised `References` ids.
    pub references: Vec<String>,
    /// The `Date` header.
    pub sent_at: Option<DateTime<Utc>>,
    /// Headers kept for display (internal ones stripped), as `[[name, value], …]`.
    pub headers: serde_json::Value,
    /// Attachments.
    pub attachments: Vec<NewAttachment>,
    /// Country inferred from this message, as (code, source, confidence).
    pub country: Option<(String, String, f32)>,
    /// ISO 639-1 language of the text.
    pub language: Option<String>,
    /// A country guess below the confidence threshold, for triage.
    pub country_suggestion: Option<String>,
    /// Enqueue routing for a new ticket (only cases people opened).
    pub route: bool,
    /// Minutes until the first response is due, for a new ticket.
    pub first_response_minutes: i64,
    /// Acknowledge a new ticket (only cases people opened).
    pub acknowledge: bool,
    /// For a delivery report: the Message-IDs of our mail it reports on.
    pub bounce_of: Vec<String>,
}

/// What ingest did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// A new ticket was opened.
    Created {
        /// The new ticket's id.
        ticket_id: Uuid,
        /// Its reference.
        reference: TicketReference,
        /// The stored message.
        message_id: Uuid,
    },
    /// The message joined an existing ticket.
    Appended {
        /// The ticket's id.
        ticket_id: Uuid,
        /// Its reference.
        reference: TicketReference,
        /// The stored message.
        message_id: Uuid,
        /// The status changed because the requester wrote again.
        reopened: bool,
    },
    /// The same message was already stored; nothing changed.
    Duplicate {
        /// Its ticket's reference.
        reference: TicketReference,
    },
}

impl IngestOutcome {
    /// The reference of the ticket the message is on.
    pub fn reference(&self) -> &TicketReference {
        match self {
            Self::Created { reference, .. }
            | Self::Appended { reference, .. }
            | Self::Duplicate { reference } => reference,
        }
    }
}

struct Found {
    id: Uuid,
    reference: String,
    status: String,
    has_assignee: bool,
}

impl Store {
    /// Stores one inbound message in a single transaction: the raw bytes,
    /// the requester, a new ticket or the existing one it replies to, the
    /// message and its attachments. A second delivery of the same message
    /// (same dedupe key) changes nothing and reports [`IngestOutcome::Duplicate`].
    pub async fn ingest(&self, m: &NewInbound) -> Result<IngestOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;

        // Serialise deliveries of the same message, then look for it.
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            m.dedupe_key
        )
        .execute(&mut *tx)
        .await?;
        let seen = sqlx::query_scalar!(
            "SELECT t.reference FROM inbound_dedup d JOIN tickets t ON t.id = d.ticket_id
             WHERE d.key = $1",
            m.dedupe_key
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(reference) = seen {
            tx.rollback().await?;
            return Ok(IngestOutcome::Duplicate {
                reference: parse_ref(&reference)?,
            });
        }

        let raw_id = Uuid::new_v4();
        let sha = hex::encode(Sha256::digest(&m.raw));
        sqlx::query!(
            "INSERT INTO raw_messages (id, sha256, size, data, source, envelope_from, envelope_to)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            raw_id,
            sha,
            i32::try_from(m.raw.len()).unwrap_or(i32::MAX),
            &m.raw,
            m.source.as_str(),
            m.envelope_from,
            &m.envelope_to
        )
        .execute(&mut *tx)
        .await?;

        let requester_id = match &m.from {
            Some(addr) => Some(
                sqlx::query_scalar!(
                    "INSERT INTO requesters (id, email, name) VALUES ($1, $2, $3)
                     ON CONFLICT (email) DO UPDATE
                       SET name = COALESCE(requesters.name, EXCLUDED.name)
                     RETURNING id",
                    Uuid::new_v4(),
                    addr.as_str(),
                    m.from_name
                )
                .fetch_one(&mut *tx)
                .await?,
            ),
            None => None,
        };

        let existing = find_thread(&mut tx, m).await?;
        let message_id = Uuid::new_v4();
        let outcome = match existing {
            Some(t) => {
                let status: TicketStatus = t.status.parse().unwrap_or(TicketStatus::New);
                let from_requester = m.class.is_human();
                let next = if from_requester {
                    status.on_requester_reply(t.has_assignee)
                } else {
                    None
                };
                sqlx::query!(
                    "UPDATE tickets SET
                        status = COALESCE($2, status),
                        updated_at = now(),
                        last_inbound_at = CASE WHEN $3 THEN now() ELSE last_inbound_at END,
                        resolved_at = CASE WHEN $2::text IS NULL THEN resolved_at ELSE NULL END
                     WHERE id = $1",
                    t.id,
                    next.map(|s| s.as_str()),
                    m.class.is_human()
                )
                .execute(&mut *tx)
                .await?;
                // Reopened without a caseworker: route it again.
                if next == Some(TicketStatus::New) {
                    push_route_jobs(&mut tx, &[t.id]).await?;
                }
                IngestOutcome::Appended {
                    ticket_id: t.id,
                    reference: parse_ref(&t.reference)?,
                    message_id,
                    reopened: next.is_some(),
                }
            }
            None => {
                let ticket_id = Uuid::new_v4();
                let subject = if m.subject.trim().is_empty() {
                    "(no subject)".to_owned()
                } else {
                    m.subject.clone()
                };
                let (country, country_source, confidence) = match &m.country {
                    Some((c, s, conf)) => (Some(c.as_str()), Some(s.as_str()), Some(*conf)),
                    None => (None, None, None),
                };
                // References are random; retry on the rare collision.
                let reference = loop {
                    let candidate = TicketReference::generate(&mut rand::rng());
                    let inserted = sqlx::query_scalar!(
                        "INSERT INTO tickets (id, reference, subject, requester_id, country,
                            country_source, country_confidence, language, last_inbound_at,
                            country_suggestion, first_response_due_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                            CASE WHEN $9 THEN now() END, $10,
                            now() + make_interval(mins => $11))
                         ON CONFLICT (reference) DO NOTHING RETURNING id",
                        ticket_id,
                        candidate.as_str(),
                        subject,
                        requester_id,
                        country,
                        country_source,
                        confidence,
                        m.language,
                        m.class.is_human(),
                        m.country_suggestion,
                        i32::try_from(m.first_response_minutes).unwrap_or(i32::MAX)
                    )
                    .fetch_optional(&mut *tx)
                    .await?;
                    if inserted.is_some() {
                        break candidate;
                    }
                };
                if m.route {
                    push_route_jobs(&mut tx, &[ticket_id]).await?;
                }
                if m.acknowledge {
                    push_mail_jobs(&mut tx, &[MailJob::Ack { ticket_id }], None).await?;
                }
                IngestOutcome::Created {
                    ticket_id,
                    reference,
                    message_id,
                }
            }
        };
        let ticket_id = match &outcome {
            IngestOutcome::Created { ticket_id, .. }
            | IngestOutcome::Appended { ticket_id, .. } => *ticket_id,
            IngestOutcome::Duplicate { .. } => unreachable!("duplicates returned above"),
        };

        sqlx::query!(
            r#"INSERT INTO messages (id, ticket_id, direction, class, message_id, in_reply_to,
                "references", from_address, from_name, reply_to, to_addresses, cc_addresses,
                subject, text_body, html_body, headers, sent_at, raw_id)
             VALUES ($1, $2, 'inbound', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                $15, $16, $17)"#,
            message_id,
            ticket_id,
            m.class.as_str(),
            m.message_id,
            &m.in_reply_to,
            &m.references,
            m.from.as_ref().map(|a| a.as_str()),
            m.from_name,
            m.reply_to,
            &m.to,
            &m.cc,
            m.subject,
            m.text,
            m.html,
            m.headers,
            m.sent_at,
            raw_id
        )
        .execute(&mut *tx)
        .await?;

        for (position, a) in m.attachments.iter().enumerate() {
            sqlx::query!(
                "INSERT INTO attachments (id, message_id, position, filename, content_type,
                    content_id, inline, size, sha256, data)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                Uuid::new_v4(),
                message_id,
                i32::try_from(position).unwrap_or(i32::MAX),
                a.filename,
                a.content_type,
                a.content_id,
                a.inline,
                i32::try_from(a.data.len()).unwrap_or(i32::MAX),
                hex::encode(Sha256::digest(&a.data)),
                &a.data
            )
            .execute(&mut *tx)
            .await?;
        }

        sqlx::query!(
            "UPDATE tickets SET message_count = message_count + 1 WHERE id = $1",
            ticket_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO inbound_dedup (key, message_id, ticket_id) VALUES ($1, $2, $3)",
            m.dedupe_key,
            message_id,
            ticket_id
        )
        .execute(&mut *tx)
        .await?;
        if !m.bounce_of.is_empty() {
            let detail = format!(
                "bounced: {}",
                m.subject.chars().take(200).collect::<String>()
            );
            mark_bounced(&mut tx, &m.bounce_of, &detail).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// The country of the requester's most recent case that has one.
    pub async fn previous_country(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<String>, StoreError> {
        let c = sqlx::query_scalar!(
            "SELECT t.country FROM tickets t JOIN requesters r ON r.id = t.requester_id
             WHERE r.email = $1 AND t.country IS NOT NULL
             ORDER BY t.created_at DESC LIMIT 1",
            email.as_str()
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(c.flatten())
    }
}

fn parse_ref(s: &str) -> Result<TicketReference, StoreError> {
    s.parse().map_err(|_| StoreError::NotFound)
}

/// Finds the open ticket a message replies to: by reply token, then by
/// `In-Reply-To`/`References`, then by subject tag from the requester.
/// Closed tickets are final: a message to one opens a new case.
async fn find_thread(
    tx: &mut sqlx::PgConnection,
    m: &NewInbound,
) -> Result<Option<Found>, StoreError> {
    if let Some(r) = &m.thread.token_ticket {
        let t = sqlx::query_as!(
            Found,
            r#"SELECT id, reference, status, assignee_id IS NOT NULL AS "has_assignee!" FROM tickets
               WHERE reference = $1 AND status <> 'closed' FOR UPDATE"#,
            r.as_str()
        )
        .fetch_optional(&mut *tx)
        .await?;
        if t.is_some() {
            return Ok(t);
        }
    }
    if !m.thread.message_ids.is_empty() {
        let t = sqlx::query_as!(
            Found,
            r#"SELECT t.id, t.reference, t.status, t.assignee_id IS NOT NULL AS "has_assignee!"
               FROM messages msg JOIN tickets t ON t.id = msg.ticket_id
               WHERE msg.message_id = ANY($1) AND t.status <> 'closed'
               ORDER BY array_position($1, msg.message_id), msg.created_at DESC
               LIMIT 1"#,
            &m.thread.message_ids
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(t) = t {
            // Lock the row like the other paths do.
            sqlx::query!("SELECT id FROM tickets WHERE id = $1 FOR UPDATE", t.id)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Some(t));
        }
    }
    if let Some(tag) = &m.thread.subject_tag {
        let t = sqlx::query!(
            r#"SELECT t.id, t.reference, t.status, r.email AS "email?",
                      t.assignee_id IS NOT NULL AS "has_assignee!"
               FROM tickets t LEFT JOIN requesters r ON r.id = t.requester_id
               WHERE t.reference = $1 AND t.status <> 'closed' FOR UPDATE OF t"#,
            tag.as_str()
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(t) = t {
            let requester = t.email.as_deref().and_then(|e| EmailAddress::parse(e).ok());
            if requester.is_some_and(|r| subject_tag_allowed(m.from.as_ref(), &r)) {
                return Ok(Some(Found {
                    id: t.id,
                    reference: t.reference,
                    status: t.status,
                    has_assignee: t.has_assignee,
                }));
            }
        }
    }
    Ok(None)
}
