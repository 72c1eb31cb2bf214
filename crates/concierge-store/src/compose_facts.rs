//! What composing a mail needs to know, read in one query each.

use uuid::Uuid;

use crate::{Store, StoreError};

/// Facts for acknowledging a new case.
#[derive(Debug, Clone)]
pub struct AckFacts {
    /// Ticket id.
    pub ticket_id: Uuid,
    /// Reference.
    pub reference: String,
    /// Subject.
    pub subject: String,
    /// Country, when known.
    pub country: Option<String>,
    /// The best guess below the threshold, when the country is unknown: its
    /// crisis lines go into the acknowledgement with the international ones.
    pub country_suggestion: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Requester address.
    pub requester_email: Option<String>,
    /// Requester name.
    pub requester_name: Option<String>,
    /// First message's class.
    pub class: String,
    /// First message's Message-ID.
    pub message_id: Option<String>,
    /// First message's References.
    pub references: Vec<String>,
    /// First message's Reply-To.
    pub reply_to: Option<String>,
    /// SMTP MAIL FROM of the first message (empty for `<>`).
    pub envelope_from: Option<String>,
    /// The case's assessed risk (`none`, `concern`, `imminent`).
    pub risk: String,
}

/// Facts for telling a caseworker about an assignment.
#[derive(Debug, Clone)]
pub struct AssignedFacts {
    /// Assignment id.
    pub assignment_id: Uuid,
    /// Ticket id.
    pub ticket_id: Uuid,
    /// Reference.
    pub reference: String,
    /// Country.
    pub country: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Priority.
    pub priority: String,
    /// Caseworker's address.
    pub volunteer_email: String,
    /// Caseworker's name.
    pub volunteer_name: String,
    /// The assignment is still live.
    pub live: bool,
}

impl Store {
    /// Facts for an acknowledgement.
    /// With `latest`, the message facts are the latest human inbound
    /// message's (the urgent acknowledgement of a reply threads on it).
    pub async fn ack_facts(
        &self,
        ticket_id: Uuid,
        latest: bool,
    ) -> Result<Option<AckFacts>, StoreError> {
        Ok(sqlx::query_as!(
            AckFacts,
            r#"SELECT t.id AS ticket_id, t.reference, t.subject, t.country, t.country_suggestion,
                      t.language,
                      r.email AS "requester_email?", r.name AS "requester_name?",
                      m.class, m.message_id, m."references", m.reply_to,
                      raw.envelope_from AS "envelope_from?", t.risk
               FROM tickets t
               JOIN LATERAL (SELECT * FROM messages WHERE ticket_id = t.id
                               AND (NOT $2 OR (direction = 'inbound' AND class = 'human'))
                             ORDER BY CASE WHEN $2 THEN -extract(epoch FROM created_at)
                                      ELSE extract(epoch FROM created_at) END, id
                             LIMIT 1) m ON true
               LEFT JOIN requesters r ON r.id = t.requester_id
               LEFT JOIN raw_messages raw ON raw.id = m.raw_id
               WHERE t.id = $1"#,
            ticket_id,
            latest
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Facts for an assignment notification.
    pub async fn assigned_facts(
        &self,
        assignment_id: Uuid,
    ) -> Result<Option<AssignedFacts>, StoreError> {
        Ok(sqlx::query_as!(
            AssignedFacts,
            r#"SELECT a.id AS assignment_id, t.id AS ticket_id, t.reference, t.country, t.language,
                      t.priority, v.email AS volunteer_email, v.name AS volunteer_name,
                      (a.ended_at IS NULL) AS "live!"
               FROM assignments a JOIN tickets t ON t.id = a.ticket_id
               JOIN volunteers v ON v.id = a.volunteer_id
               WHERE a.id = $1"#,
            assignment_id
        )
        .fetch_optional(&self.pool)
        .await?)
    }
}
