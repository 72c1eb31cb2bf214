//! Reading tickets for the API and the dashboard.

use chrono::{DateTime, Utc};
use concierge_access::CaseScope;
use concierge_core::country::EvidenceItem;
use concierge_core::risk::RiskEvidence;
use serde::Serialize;
use uuid::Uuid;

use crate::{Store, StoreError};

/// Who wrote in.
#[derive(Debug, Serialize, Clone)]
pub struct RequesterView {
    /// Lower-cased address.
    pub email: String,
    /// Display name, when given.
    pub name: Option<String>,
}

/// One line of the ticket list.
#[derive(Debug, Serialize, Clone)]
pub struct TicketSummary {
    /// Internal id (not serialised).
    #[serde(skip)]
    pub id: Uuid,
    /// Public reference, e.g. `C-7K2M9X`.
    pub reference: String,
    /// Subject of the first message.
    pub subject: String,
    /// Status name.
    pub status: String,
    /// Priority name.
    pub priority: String,
    /// ISO 3166 alpha-2, when known.
    pub country: Option<String>,
    /// Where the country came from.
    pub country_source: Option<String>,
    /// How sure the inference was (0–1).
    pub country_confidence: Option<f32>,
    /// ISO 639-1 language of the first message.
    pub language: Option<String>,
    /// Who wrote in.
    pub requester: Option<RequesterView>,
    /// Assigned caseworker's e-mail.
    pub assignee: Option<String>,
    /// Why it was assigned (or why it waits / needs triage).
    pub assignment_reason: Option<String>,
    /// pending, assigned, waiting or triage.
    pub routing_state: String,
    /// A low-confidence country guess (ISO 3166-1 alpha-2), for triage;
    /// the acknowledgement's crisis lines came from it.
    pub country_suggestion: Option<String>,
    /// The model's probability for the suggestion (0–1).
    pub country_suggestion_confidence: Option<f32>,
    /// When the first response is due.
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// When a first response was sent.
    pub first_responded_at: Option<DateTime<Utc>>,
    /// When the first-response target was missed.
    pub sla_breached_at: Option<DateTime<Utc>>,
    /// Messages on the ticket.
    pub message_count: i32,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Assessed risk: `none`, `concern` or `imminent` (the highest of its
    /// messages, or what a person set).
    pub risk: String,
    /// A person acknowledged the imminent-risk assessment.
    pub risk_acknowledged: bool,
}

/// Attachment metadata (never the bytes).
#[derive(Debug, Serialize, Clone)]
pub struct AttachmentMeta {
    /// Attachment id, for download.
    pub id: Uuid,
    /// Safe file name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub size: i32,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Shown inline in the original.
    pub inline: bool,
}

/// One message of a ticket.
#[derive(Debug, Serialize, Clone)]
pub struct MessageView {
    /// Internal id (not serialised).
    #[serde(skip)]
    pub id: Uuid,
    /// RFC 5322 Message-ID.
    pub message_id: Option<String>,
    /// inbound, outbound or note.
    pub direction: String,
    /// human, auto_reply, bounce or loop.
    pub class: String,
    /// Sender address.
    pub from: Option<String>,
    /// Sender name.
    pub from_name: Option<String>,
    /// Subject.
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// Raw HTML (not serialised: sanitised when shown).
    #[serde(skip)]
    pub html: Option<String>,
    /// `Date` header.
    pub sent_at: Option<DateTime<Utc>>,
    /// Stored at.
    pub created_at: DateTime<Utc>,
    /// Attachments.
    pub attachments: Vec<AttachmentMeta>,
    /// This message's risk assessment: `none`, `concern` or `imminent`.
    pub risk: String,
    /// The rules that fired and the phrases they matched.
    pub risk_evidence: Vec<RiskEvidence>,
}

/// One assignment of a case, live or ended.
#[derive(Debug, Serialize, Clone)]
pub struct AssignmentView {
    /// The caseworker's e-mail.
    pub volunteer: String,
    /// Why.
    pub reason: String,
    /// routing, or the person who assigned it.
    pub assigned_by: String,
    /// When.
    pub assigned_at: DateTime<Utc>,
    /// When it ended, if it did.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended.
    pub ended_reason: Option<String>,
}

/// A ticket with its thread.
#[derive(Debug, Serialize)]
pub struct TicketDetail {
    /// The ticket's fields.
    #[serde(flatten)]
    pub ticket: TicketSummary,
    /// Assignment history, oldest first.
    pub assignments: Vec<AssignmentView>,
    /// Outgoing mail of the case (acknowledgement, replies, notices) and
    /// how its delivery went.
    pub deliveries: Vec<crate::DeliveryView>,
    /// The evidence the country was inferred from when the case was opened
    /// (kept when a person sets the country), strongest first.
    pub country_evidence: Vec<EvidenceItem>,
    /// Messages, oldest first.
    pub messages: Vec<MessageView>,
}

/// The stored evidence list; items this build cannot read (a kind from a
/// newer engine) are left out rather than failing the whole case.
pub(crate) fn evidence_of(v: serde_json::Value) -> Vec<EvidenceItem> {
    match v {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect(),
        _ => Vec::new(),
    }
}

struct Row {
    id: Uuid,
    reference: String,
    subject: String,
    status: String,
    priority: String,
    country: Option<String>,
    country_source: Option<String>,
    country_confidence: Option<f32>,
    language: Option<String>,
    requester_email: Option<String>,
    requester_name: Option<String>,
    assignee: Option<String>,
    assignment_reason: Option<String>,
    routing_state: String,
    country_suggestion: Option<String>,
    country_suggestion_confidence: Option<f32>,
    country_evidence: serde_json::Value,
    first_response_due_at: Option<DateTime<Utc>>,
    first_responded_at: Option<DateTime<Utc>>,
    sla_breached_at: Option<DateTime<Utc>>,
    message_count: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    risk: String,
    risk_acknowledged: bool,
}

impl From<Row> for TicketSummary {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            reference: r.reference,
            subject: r.subject,
            status: r.status,
            priority: r.priority,
            country: r.country,
            country_source: r.country_source,
            country_confidence: r.country_confidence,
            language: r.language,
            requester: r.requester_email.map(|email| RequesterView {
                email,
                name: r.requester_name,
            }),
            assignee: r.assignee,
            assignment_reason: r.assignment_reason,
            routing_state: r.routing_state,
            country_suggestion: r.country_suggestion,
            country_suggestion_confidence: r.country_suggestion_confidence,
            first_response_due_at: r.first_response_due_at,
            first_responded_at: r.first_responded_at,
            sla_breached_at: r.sla_breached_at,
            message_count: r.message_count,
            created_at: r.created_at,
            updated_at: r.updated_at,
            risk: r.risk,
            risk_acknowledged: r.risk_acknowledged,
        }
    }
}

impl Store {
    /// A case's id and what the access policy needs to know about it
    /// (assignee, country), by reference; `None` when there is no such case.
    pub async fn case_scope(
        &self,
        reference: &str,
    ) -> Result<Option<(Uuid, CaseScope)>, StoreError> {
        let row = sqlx::query!(
            "SELECT id, assignee_id, country FROM tickets WHERE reference = $1",
            reference
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            (
                r.id,
                CaseScope {
                    assignee: r.assignee_id,
                    country: r.country,
                },
            )
        }))
    }

    /// A ticket with its messages and attachment metadata.
    pub async fn ticket_detail(&self, reference: &str) -> Result<Option<TicketDetail>, StoreError> {
        let row = sqlx::query_as!(
            Row,
            r#"SELECT t.id, t.reference, t.subject, t.status, t.priority, t.country,
                      t.country_source, t.country_confidence, t.language,
                      r.email AS "requester_email?", r.name AS "requester_name?",
                      v.email AS "assignee?", t.assignment_reason, t.routing_state,
                      t.country_suggestion, t.country_suggestion_confidence,
                      t.country_evidence, t.first_response_due_at, t.first_responded_at,
                      t.sla_breached_at, t.message_count, t.created_at, t.updated_at,
                      t.risk, (t.risk_acknowledged_at IS NOT NULL) AS "risk_acknowledged!"
               FROM tickets t LEFT JOIN requesters r ON r.id = t.requester_id
                 LEFT JOIN volunteers v ON v.id = t.assignee_id
               WHERE t.reference = $1"#,
            reference
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(mut row) = row else { return Ok(None) };
        let country_evidence = evidence_of(std::mem::take(&mut row.country_evidence));
        let ticket: TicketSummary = row.into();
        let messages = sqlx::query!(
            r#"SELECT id, message_id, direction, class, from_address, from_name, subject,
                      text_body, html_body, sent_at, created_at, risk, risk_evidence
               FROM messages WHERE ticket_id = $1 ORDER BY created_at, id"#,
            ticket.id
        )
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
        let attachments = sqlx::query!(
            "SELECT id, message_id, filename, content_type, size, sha256, inline
             FROM attachments WHERE message_id = ANY($1) ORDER BY message_id, position",
            &ids
        )
        .fetch_all(&self.pool)
        .await?;
        let messages = messages
            .into_iter()
            .map(|m| MessageView {
                attachments: attachments
                    .iter()
                    .filter(|a| a.message_id == m.id)
                    .map(|a| AttachmentMeta {
                        id: a.id,
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        size: a.size,
                        sha256: a.sha256.clone(),
                        inline: a.inline,
                    })
                    .collect(),
                id: m.id,
                message_id: m.message_id,
                direction: m.direction,
                class: m.class,
                from: m.from_address,
                from_name: m.from_name,
                subject: m.subject,
                text: m.text_body,
                html: m.html_body,
                sent_at: m.sent_at,
                created_at: m.created_at,
                risk: m.risk,
                risk_evidence: serde_json::from_value(m.risk_evidence).unwrap_or_default(),
            })
            .collect();
        let assignments = sqlx::query_as!(
            AssignmentView,
            r#"SELECT v.email AS volunteer, a.reason, a.assigned_by, a.assigned_at, a.ended_at, a.ended_reason
               FROM assignments a JOIN volunteers v ON v.id = a.volunteer_id
               WHERE a.ticket_id = $1 ORDER BY a.assigned_at, a.id"#,
            ticket.id
        )
        .fetch_all(&self.pool)
        .await?;
        let deliveries = self.deliveries(ticket.id).await?;
        Ok(Some(TicketDetail {
            deliveries,
            ticket,
            assignments,
            country_evidence,
            messages,
        }))
    }

    /// Stored messages and distinct raw messages, for checks and tests.
    pub async fn counts(&self) -> Result<(i64, i64), StoreError> {
        let r = sqlx::query!(
            r#"SELECT (SELECT count(*) FROM tickets) AS "tickets!",
                      (SELECT count(*) FROM messages) AS "messages!""#
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((r.tickets, r.messages))
    }
}
