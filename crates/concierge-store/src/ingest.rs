//! Storing one inbound message: ticket or reply, exactly once, in one
//! transaction.

use chrono::{DateTime, Utc};
use concierge_core::message::{EmailAddress, MessageClass};
use concierge_core::risk::{RiskAssessment, RiskLevel};
use concierge_core::threading::{ThreadPlan, subject_tag_allowed};
use concierge_core::ticket::{TicketReference, TicketStatus};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::outbox::mark_bounced;
use crate::queue::{MailJob, QuietJob, push_jobs_quietly};
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
    /// An IMAP mailbox we poll.
    Imap,
    /// `concierge import` of a mailbox export (mbox, Maildir).
    Import,
}

impl InboundSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Smtp => "smtp",
            Self::Pipe => "pipe",
            Self::Http => "http",
            Self::Imap => "imap",
            Self::Import => "import",
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
    /// A country guess below the confidence threshold, for triage (ISO
    /// 3166-1 alpha-2) and its confidence; also where the acknowledgement's
    /// crisis lines come from while the country is unknown.
    pub country_suggestion: Option<(String, f32)>,
    /// Every piece of evidence the country inference found (stored on a new
    /// case; a reply does not change it).
    pub country_evidence: Vec<concierge_core::country::EvidenceItem>,
    /// Enqueue routing for a new ticket (only cases people opened).
    pub route: bool,
    /// Minutes until the first response is due, for a new ticket.
    pub first_response_minutes: i64,
    /// Acknowledge a new ticket (only cases people opened).
    pub acknowledge: bool,
    /// For a delivery report: the Message-IDs of our mail it reports on.
    pub bounce_of: Vec<String>,
    /// Set for imported history: the case keeps the message's own time,
    /// has no first-response target, and may start resolved.
    pub history: Option<History>,
    /// The message's risk assessment (stored on the message; it raises the
    /// case's risk and priority, never lowers them).
    pub risk: RiskAssessment,
    /// What a risk above `none` does to the case (unused otherwise).
    pub risk_lane: RiskLane,
}

/// The crisis lane's clocks, from config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskLane {
    /// Imminent: first-response target, and minutes until coordinators are
    /// mailed if nobody has acknowledged the risk.
    pub urgent_minutes: i64,
    /// Concern: first-response target.
    pub concern_minutes: i64,
}

impl Default for RiskLane {
    fn default() -> Self {
        Self {
            urgent_minutes: 15,
            concern_minutes: 240,
        }
    }
}

/// How an imported message enters the case history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// The message's original time (its `Date`), used as the time it arrived.
    pub at: DateTime<Utc>,
    /// The thread is older than `--open-since`: a new case starts resolved
    /// and this message reopens nothing.
    pub resolved: bool,
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
    ///
    /// A new case costs five statements: BEGIN, the dedupe lock and look-up,
    /// one statement writing every row, one pushing its jobs, COMMIT.
    pub async fn ingest(&self, m: &NewInbound) -> Result<IngestOutcome, StoreError> {
        match self.ingest_once(m).await {
            // Another delivery of the same message committed between our
            // look-up's snapshot and our lock (see `ingest_once`): look
            // again, it is a duplicate now.
            Err(e) if is_dedupe_conflict(&e) => self.ingest_once(m).await,
            r => r,
        }
    }

    async fn ingest_once(&self, m: &NewInbound) -> Result<IngestOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;

        // Serialise deliveries of the same message and look for it, in one
        // statement. Its snapshot is taken before the lock is granted, so a
        // delivery that commits while we wait is not seen here; our dedupe
        // insert then fails on the key and `ingest` looks again.
        let seen = sqlx::query_scalar!(
            r#"SELECT (SELECT t.reference FROM inbound_dedup d JOIN tickets t ON t.id = d.ticket_id
                       WHERE d.key = $1) AS "reference?"
               FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0)) OFFSET 0) l"#,
            m.dedupe_key
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(reference) = seen {
            tx.rollback().await?;
            return Ok(IngestOutcome::Duplicate {
                reference: parse_ref(&reference)?,
            });
        }

        let rows = Rows::new(m);
        let mut jobs = Vec::new();
        let existing = find_thread(&mut tx, m).await?;
        let message_id = rows.message_id;
        let (outcome, case_id) = match existing {
            Some(t) => {
                let status: TicketStatus = t.status.parse().unwrap_or(TicketStatus::New);
                let reopens = m.history.is_none_or(|h| !h.resolved);
                let next = if m.class.is_human() && reopens {
                    status.on_requester_reply(t.has_assignee)
                } else {
                    None
                };
                sqlx::query!(
                    "UPDATE tickets SET
                        status = COALESCE($2, status),
                        updated_at = GREATEST(updated_at, COALESCE($4, now())),
                        message_count = message_count + 1,
                        last_inbound_at = CASE WHEN $3
                            THEN GREATEST(last_inbound_at, COALESCE($4, now()))
                            ELSE last_inbound_at END,
                        resolved_at = CASE WHEN $2::text IS NULL THEN resolved_at ELSE NULL END
                     WHERE id = $1",
                    t.id,
                    next.map(|s| s.as_str()),
                    m.class.is_human(),
                    m.history.map(|h| h.at)
                )
                .execute(&mut *tx)
                .await?;
                insert_message(&mut tx, m, &rows, t.id).await?;
                // Reopened without a caseworker: route it again.
                if next == Some(TicketStatus::New) {
                    jobs.push(QuietJob::route(t.id)?);
                }
                (
                    IngestOutcome::Appended {
                        ticket_id: t.id,
                        reference: parse_ref(&t.reference)?,
                        message_id,
                        reopened: next.is_some(),
                    },
                    t.id,
                )
            }
            None => {
                let ticket_id = Uuid::new_v4();
                let new = NewTicket::new(m);
                // References are random; on the rare collision the case
                // statement writes nothing but the requester, and the case
                // is written in two steps with other references.
                let mut reference = TicketReference::generate(&mut rand::rng());
                if !insert_case(&mut tx, m, &rows, &new, ticket_id, &reference).await? {
                    loop {
                        reference = TicketReference::generate(&mut rand::rng());
                        if insert_ticket(&mut tx, m, &new, ticket_id, &reference).await? {
                            break;
                        }
                    }
                    insert_message(&mut tx, m, &rows, ticket_id).await?;
                }
                if m.route {
                    jobs.push(QuietJob::route(ticket_id)?);
                }
                if m.acknowledge {
                    let ack = MailJob::Ack { ticket_id };
                    // The crisis lane's acknowledgement goes before any
                    // backlog.
                    jobs.push(if m.risk.level == RiskLevel::Imminent {
                        QuietJob::urgent_mail(&ack)?
                    } else {
                        QuietJob::mail(&ack)?
                    });
                }
                (
                    IngestOutcome::Created {
                        ticket_id,
                        reference,
                        message_id,
                    },
                    ticket_id,
                )
            }
        };
        if m.risk.level > RiskLevel::None {
            let ticket_id = case_id;
            apply_risk(&mut tx, m, ticket_id, message_id).await?;
            if m.risk.level == RiskLevel::Imminent && m.history.is_none() {
                jobs.push(QuietJob::mail(&MailJob::Urgent {
                    ticket_id,
                    message_id,
                })?);
                if matches!(outcome, IngestOutcome::Appended { .. }) {
                    jobs.push(QuietJob::mail(&MailJob::UrgentAck { ticket_id })?);
                }
            }
        }
        if !m.bounce_of.is_empty() {
            let detail = format!(
                "bounced: {}",
                m.subject.chars().take(200).collect::<String>()
            );
            mark_bounced(&mut tx, &m.bounce_of, &detail).await?;
        }
        push_jobs_quietly(&mut tx, &jobs).await?;
        tx.commit().await?;
        self.jobs_committed(&jobs.iter().map(QuietJob::queue).collect::<Vec<_>>());
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

/// Stores a message's risk and lets it raise its case's: the case's risk
/// and priority only go up (imminent → urgent, concern → high), the
/// first-response target only comes closer, and an imminent message starts
/// (again) the clock after which coordinators are mailed until a person
/// acknowledges the risk. Imported history keeps the message's assessment
/// and changes nothing on the case.
async fn apply_risk(
    tx: &mut sqlx::PgConnection,
    m: &NewInbound,
    ticket_id: Uuid,
    message_id: Uuid,
) -> Result<(), StoreError> {
    let level = m.risk.level.as_str();
    let minutes = match m.risk.level {
        RiskLevel::Imminent => m.risk_lane.urgent_minutes,
        _ => m.risk_lane.concern_minutes,
    };
    let minutes = i32::try_from(minutes).unwrap_or(i32::MAX);
    sqlx::query!(
        r#"WITH msg AS (
               UPDATE messages SET risk = $2, risk_evidence = $3 WHERE id = $1)
           UPDATE tickets SET
               risk = CASE WHEN risk_rank($2) > risk_rank(risk) THEN $2 ELSE risk END,
               priority = CASE
                   WHEN $2 = 'imminent' THEN 'urgent'
                   WHEN $2 = 'concern' AND priority IN ('low','normal') THEN 'high'
                   ELSE priority END,
               first_response_due_at = CASE WHEN first_responded_at IS NULL
                   THEN LEAST(first_response_due_at, now() + make_interval(mins => $4))
                   ELSE first_response_due_at END,
               risk_acknowledged_at = CASE WHEN $2 = 'imminent' THEN NULL
                   ELSE risk_acknowledged_at END,
               risk_acknowledged_by = CASE WHEN $2 = 'imminent' THEN NULL
                   ELSE risk_acknowledged_by END,
               risk_escalate_at = CASE WHEN $2 = 'imminent'
                   THEN now() + make_interval(mins => $4) ELSE risk_escalate_at END
           WHERE id = $5 AND NOT $6"#,
        message_id,
        level,
        sqlx::types::Json(&m.risk.evidence) as _,
        minutes,
        ticket_id,
        m.history.is_some()
    )
    .execute(&mut *tx)
    .await?;
    if m.history.is_some() {
        sqlx::query!(
            "UPDATE messages SET risk = $2, risk_evidence = $3 WHERE id = $1",
            message_id,
            level,
            sqlx::types::Json(&m.risk.evidence) as _
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Whether `e` is the dedupe key's unique violation (a concurrent delivery
/// of the same message committed first).
fn is_dedupe_conflict(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            db.code().as_deref() == Some("23505") && db.constraint() == Some("inbound_dedup_pkey")
        }
        _ => false,
    }
}

/// The column values of the raw bytes, message and attachments, as bound
/// parameters.
struct Rows {
    raw_id: Uuid,
    sha256: String,
    size: i32,
    message_id: Uuid,
    requester_id: Uuid,
    att_ids: Vec<Uuid>,
    att_positions: Vec<i32>,
    att_filenames: Vec<String>,
    att_types: Vec<String>,
    att_cids: Vec<Option<String>>,
    att_inline: Vec<bool>,
    att_sizes: Vec<i32>,
    att_sha256: Vec<String>,
    att_data: Vec<Vec<u8>>,
}

impl Rows {
    fn new(m: &NewInbound) -> Self {
        let a = &m.attachments;
        Self {
            raw_id: Uuid::new_v4(),
            sha256: hex::encode(Sha256::digest(&m.raw)),
            size: i32::try_from(m.raw.len()).unwrap_or(i32::MAX),
            message_id: Uuid::new_v4(),
            requester_id: Uuid::new_v4(),
            att_ids: a.iter().map(|_| Uuid::new_v4()).collect(),
            att_positions: (0..a.len())
                .map(|p| i32::try_from(p).unwrap_or(i32::MAX))
                .collect(),
            att_filenames: a.iter().map(|a| a.filename.clone()).collect(),
            att_types: a.iter().map(|a| a.content_type.clone()).collect(),
            att_cids: a.iter().map(|a| a.content_id.clone()).collect(),
            att_inline: a.iter().map(|a| a.inline).collect(),
            att_sizes: a
                .iter()
                .map(|a| i32::try_from(a.data.len()).unwrap_or(i32::MAX))
                .collect(),
            att_sha256: a
                .iter()
                .map(|a| hex::encode(Sha256::digest(&a.data)))
                .collect(),
            att_data: a.iter().map(|a| a.data.clone()).collect(),
        }
    }
}

/// The column values of a new ticket.
struct NewTicket<'a> {
    subject: String,
    country: Option<&'a str>,
    country_source: Option<&'a str>,
    confidence: Option<f32>,
    suggestion: Option<&'a str>,
    suggestion_confidence: Option<f32>,
    evidence: sqlx::types::Json<&'a [concierge_core::country::EvidenceItem]>,
    due_minutes: i32,
}

impl<'a> NewTicket<'a> {
    fn new(m: &'a NewInbound) -> Self {
        let (country, country_source, confidence) = match &m.country {
            Some((c, s, conf)) => (Some(c.as_str()), Some(s.as_str()), Some(*conf)),
            None => (None, None, None),
        };
        Self {
            subject: if m.subject.trim().is_empty() {
                "(no subject)".to_owned()
            } else {
                m.subject.clone()
            },
            country,
            country_source,
            confidence,
            suggestion: m.country_suggestion.as_ref().map(|(c, _)| c.as_str()),
            suggestion_confidence: m.country_suggestion.as_ref().map(|(_, p)| *p),
            // Serialised as written (an `f32` weight stays `1.2`, not
            // `1.2000000476837158` as through `serde_json::Value`).
            evidence: sqlx::types::Json(&m.country_evidence),
            due_minutes: i32::try_from(m.first_response_minutes).unwrap_or(i32::MAX),
        }
    }
}

/// A new case in one statement: requester, ticket (with its first
/// message counted), raw bytes, message, attachments, dedupe row. Returns
/// `false`, having written only the requester, when `reference` is taken.
async fn insert_case(
    tx: &mut sqlx::PgConnection,
    m: &NewInbound,
    r: &Rows,
    t: &NewTicket<'_>,
    ticket_id: Uuid,
    reference: &TicketReference,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query_scalar!(
        r#"WITH req AS (
               INSERT INTO requesters (id, email, name)
               SELECT $1, $2::text, $3 WHERE $2::text IS NOT NULL
               ON CONFLICT (email) DO UPDATE
                 SET name = COALESCE(requesters.name, EXCLUDED.name)
               RETURNING id),
           t AS (
               INSERT INTO tickets (id, reference, subject, requester_id, country,
                   country_source, country_confidence, language, last_inbound_at,
                   country_suggestion, first_response_due_at, message_count,
                   created_at, updated_at, imported, status, resolved_at,
                   country_suggestion_confidence, country_evidence)
               SELECT $4, $5, $6, (SELECT id FROM req), $7, $8, $9, $10,
                   CASE WHEN $11 THEN COALESCE($44, now()) END, $12,
                   CASE WHEN $45 THEN NULL ELSE now() + make_interval(mins => $13) END, 1,
                   COALESCE($44, now()), COALESCE($44, now()), $45,
                   CASE WHEN $46 THEN 'resolved' ELSE 'new' END,
                   CASE WHEN $46 THEN COALESCE($44, now()) END, $47, $48
               ON CONFLICT (reference) DO NOTHING
               RETURNING id),
           raw AS (
               INSERT INTO raw_messages (id, sha256, size, data, source, envelope_from,
                   envelope_to)
               SELECT $14, $15, $16, $17, $18, $19, $20 FROM t
               RETURNING id),
           msg AS (
               INSERT INTO messages (id, ticket_id, direction, class, message_id, in_reply_to,
                   "references", from_address, from_name, reply_to, to_addresses,
                   cc_addresses, subject, text_body, html_body, headers, sent_at, raw_id,
                   created_at)
               SELECT $21, t.id, 'inbound', $22, $23, $24, $25, $2, $3, $26, $27, $28, $29,
                   $30, $31, $32, $33, raw.id, COALESCE($44, now())
               FROM t, raw
               RETURNING id, ticket_id),
           att AS (
               INSERT INTO attachments (id, message_id, position, filename, content_type,
                   content_id, inline, size, sha256, data)
               SELECT a.id, msg.id, a.position, a.filename, a.content_type, a.content_id,
                   a.inline, a.size, a.sha256, a.data
               FROM msg, UNNEST($34::uuid[], $35::int4[], $36::text[], $37::text[],
                   $38::text[], $39::bool[], $40::int4[], $41::text[], $42::bytea[])
                   AS a(id, position, filename, content_type, content_id, inline, size,
                        sha256, data)),
           dedup AS (
               INSERT INTO inbound_dedup (key, message_id, ticket_id)
               SELECT $43, msg.id, msg.ticket_id FROM msg)
           SELECT id AS "id!" FROM t"#,
        r.requester_id,
        m.from.as_ref().map(|a| a.as_str()),
        m.from_name,
        ticket_id,
        reference.as_str(),
        t.subject,
        t.country,
        t.country_source,
        t.confidence,
        m.language,
        m.class.is_human(),
        t.suggestion,
        t.due_minutes,
        r.raw_id,
        r.sha256,
        r.size,
        &m.raw,
        m.source.as_str(),
        m.envelope_from,
        &m.envelope_to,
        r.message_id,
        m.class.as_str(),
        m.message_id,
        &m.in_reply_to,
        &m.references,
        m.reply_to,
        &m.to,
        &m.cc,
        m.subject,
        m.text,
        m.html,
        m.headers,
        m.sent_at,
        &r.att_ids,
        &r.att_positions,
        &r.att_filenames,
        &r.att_types,
        &r.att_cids as &[Option<String>],
        &r.att_inline,
        &r.att_sizes,
        &r.att_sha256,
        &r.att_data,
        m.dedupe_key,
        m.history.map(|h| h.at),
        m.history.is_some(),
        m.history.is_some_and(|h| h.resolved),
        t.suggestion_confidence,
        &t.evidence as _
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(inserted.is_some())
}

/// A new ticket alone (after a reference collision); its first message
/// counted. The requester was written by [`insert_case`]. `false` when
/// `reference` is taken too.
async fn insert_ticket(
    tx: &mut sqlx::PgConnection,
    m: &NewInbound,
    t: &NewTicket<'_>,
    ticket_id: Uuid,
    reference: &TicketReference,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query_scalar!(
        "INSERT INTO tickets (id, reference, subject, requester_id, country,
            country_source, country_confidence, language, last_inbound_at,
            country_suggestion, first_response_due_at, message_count,
            created_at, updated_at, imported, status, resolved_at,
            country_suggestion_confidence, country_evidence)
         SELECT $1, $2, $3, (SELECT id FROM requesters WHERE email = $4::text), $5, $6, $7, $8,
            CASE WHEN $9 THEN COALESCE($12, now()) END, $10,
            CASE WHEN $13 THEN NULL ELSE now() + make_interval(mins => $11) END, 1,
            COALESCE($12, now()), COALESCE($12, now()), $13,
            CASE WHEN $14 THEN 'resolved' ELSE 'new' END,
            CASE WHEN $14 THEN COALESCE($12, now()) END, $15, $16
         ON CONFLICT (reference) DO NOTHING RETURNING id",
        ticket_id,
        reference.as_str(),
        t.subject,
        m.from.as_ref().map(|a| a.as_str()),
        t.country,
        t.country_source,
        t.confidence,
        m.language,
        m.class.is_human(),
        t.suggestion,
        t.due_minutes,
        m.history.map(|h| h.at),
        m.history.is_some(),
        m.history.is_some_and(|h| h.resolved),
        t.suggestion_confidence,
        &t.evidence as _
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(inserted.is_some())
}

/// The message on an existing ticket in one statement: requester, raw
/// bytes, message, attachments, dedupe row. (The caller counts it on the
/// ticket.)
async fn insert_message(
    tx: &mut sqlx::PgConnection,
    m: &NewInbound,
    r: &Rows,
    ticket_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query!(
        r#"WITH req AS (
               INSERT INTO requesters (id, email, name)
               SELECT $1, $2::text, $3 WHERE $2::text IS NOT NULL
               ON CONFLICT (email) DO UPDATE
                 SET name = COALESCE(requesters.name, EXCLUDED.name)),
           raw AS (
               INSERT INTO raw_messages (id, sha256, size, data, source, envelope_from,
                   envelope_to)
               VALUES ($4, $5, $6, $7, $8, $9, $10)
               RETURNING id),
           msg AS (
               INSERT INTO messages (id, ticket_id, direction, class, message_id, in_reply_to,
                   "references", from_address, from_name, reply_to, to_addresses,
                   cc_addresses, subject, text_body, html_body, headers, sent_at, raw_id,
                   created_at)
               SELECT $11, $12, 'inbound', $13, $14, $15, $16, $2, $3, $17, $18, $19, $20,
                   $21, $22, $23, $24, raw.id, COALESCE($35, now())
               FROM raw
               RETURNING id, ticket_id),
           att AS (
               INSERT INTO attachments (id, message_id, position, filename, content_type,
                   content_id, inline, size, sha256, data)
               SELECT a.id, msg.id, a.position, a.filename, a.content_type, a.content_id,
                   a.inline, a.size, a.sha256, a.data
               FROM msg, UNNEST($25::uuid[], $26::int4[], $27::text[], $28::text[],
                   $29::text[], $30::bool[], $31::int4[], $32::text[], $33::bytea[])
                   AS a(id, position, filename, content_type, content_id, inline, size,
                        sha256, data))
           INSERT INTO inbound_dedup (key, message_id, ticket_id)
           SELECT $34, msg.id, msg.ticket_id FROM msg"#,
        r.requester_id,
        m.from.as_ref().map(|a| a.as_str()),
        m.from_name,
        r.raw_id,
        r.sha256,
        r.size,
        &m.raw,
        m.source.as_str(),
        m.envelope_from,
        &m.envelope_to,
        r.message_id,
        ticket_id,
        m.class.as_str(),
        m.message_id,
        &m.in_reply_to,
        &m.references,
        m.reply_to,
        &m.to,
        &m.cc,
        m.subject,
        m.text,
        m.html,
        m.headers,
        m.sent_at,
        &r.att_ids,
        &r.att_positions,
        &r.att_filenames,
        &r.att_types,
        &r.att_cids as &[Option<String>],
        &r.att_inline,
        &r.att_sizes,
        &r.att_sha256,
        &r.att_data,
        m.dedupe_key,
        m.history.map(|h| h.at)
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
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
