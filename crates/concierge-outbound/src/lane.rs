//! The crisis lane's mail to people who work cases: the urgent notice to
//! whoever is on call, the escalation to every coordinator while nobody
//! acknowledges an imminent-risk case, and the first-response breach
//! notice. Content-free: reference, country and a link. All mail about one
//! case threads on one root id (`lane.<reference>@<domain>`).

use concierge_core::message::EmailAddress;
use concierge_core::routing::{OnCallRegion, offered_to};
use concierge_core::ticket::TicketReference;
use concierge_mail::outbound::{LaneKind, LaneVars, Outgoing, build, new_message_id};
use concierge_store::{LaneFacts, NewMail, Recipient, StoreError};
use uuid::Uuid;

use crate::{Mailer, OutboundError};

impl Mailer {
    /// Tells the people on call for the case's country (placed, else
    /// suggested; `*` shifts cover every case) that an imminent-risk
    /// message arrived; when nobody on call covers it, every coordinator.
    /// Returns the outbox rows to send (none twice for the same message).
    pub async fn notify_urgent(
        &self,
        ticket_id: Uuid,
        message_id: Uuid,
    ) -> Result<Vec<Uuid>, OutboundError> {
        let Some(f) = self.store.lane_facts(ticket_id).await? else {
            return Ok(Vec::new());
        };
        let shifts = self.store.on_call_now().await?;
        let rota: Vec<(OnCallRegion, Recipient)> = shifts
            .into_iter()
            .filter_map(|s| {
                let region = s.region.parse().ok()?;
                Some((
                    region,
                    Recipient {
                        user_id: s.user_id,
                        email: s.email,
                        name: s.name,
                    },
                ))
            })
            .collect();
        let country = f
            .country
            .as_deref()
            .or(f.country_suggestion.as_deref())
            .and_then(|c| c.parse().ok());
        let to = match offered_to(&rota, country) {
            Some(people) => people,
            None => {
                tracing::warn!(ticket = %ticket_id, "nobody on call covers an urgent case; telling every coordinator");
                self.store.coordinators().await?
            }
        };
        self.lane_mail(&f, LaneKind::Urgent, 0, &to, |user| {
            format!("urgent:{message_id}:{user}")
        })
        .await
    }

    /// Mails every coordinator that nobody acknowledged an imminent-risk
    /// case in time (round `round`). Nothing once someone has.
    pub async fn escalate(&self, ticket_id: Uuid, round: i32) -> Result<Vec<Uuid>, OutboundError> {
        let Some(f) = self.store.lane_facts(ticket_id).await? else {
            return Ok(Vec::new());
        };
        if f.acknowledged || f.risk != "imminent" {
            return Ok(Vec::new());
        }
        let to = self.store.coordinators().await?;
        self.lane_mail(&f, LaneKind::Escalation, round, &to, |user| {
            format!("escalate:{ticket_id}:{round}:{user}")
        })
        .await
    }

    /// Mails every coordinator that a case missed its first-response
    /// target (one mail per breach).
    pub async fn notify_breach(&self, ticket_id: Uuid) -> Result<Vec<Uuid>, OutboundError> {
        let Some(f) = self.store.lane_facts(ticket_id).await? else {
            return Ok(Vec::new());
        };
        let to = self.store.coordinators().await?;
        self.lane_mail(&f, LaneKind::Breach, 0, &to, |user| {
            format!("breach:{ticket_id}:{user}")
        })
        .await
    }

    async fn lane_mail(
        &self,
        f: &LaneFacts,
        kind: LaneKind,
        round: i32,
        to: &[Recipient],
        cause: impl Fn(Uuid) -> String,
    ) -> Result<Vec<Uuid>, OutboundError> {
        let reference: TicketReference = f.reference.parse().map_err(|_| StoreError::NotFound)?;
        let root = format!("lane.{}@{}", reference.as_str(), self.config.domain);
        let mut queued = Vec::new();
        for r in to {
            let Ok(addr) = EmailAddress::parse(&r.email) else {
                continue;
            };
            let (text, subject) = self.templates.render_notify_lane(&LaneVars {
                kind,
                name: r.name.clone(),
                reference: reference.to_string(),
                country: f.country.clone().unwrap_or_else(|| "unknown".into()),
                round,
                case_url: format!("{}/cases/{}", self.config.public_url, reference),
            })?;
            let message_id = new_message_id(&self.key, &reference, &self.config.domain);
            let raw = build(&Outgoing {
                from: self.sender_mailbox(),
                reply_to: None,
                to: vec![addr.clone()],
                subject: subject.clone(),
                text,
                html: None,
                message_id: message_id.clone(),
                in_reply_to: Some(root.clone()),
                references: vec![root.clone()],
                auto_submitted: Some("auto-generated"),
                loop_domain: self.config.domain.clone(),
            })?;
            let kind_name = match kind {
                LaneKind::Urgent => "notify_urgent",
                LaneKind::Escalation => "notify_escalation",
                LaneKind::Breach => "notify_breach",
            };
            if let Some(id) = self
                .store
                .queue_mail_to_send(&NewMail {
                    ticket_id: Some(f.ticket_id),
                    kind: kind_name.into(),
                    cause: cause(r.user_id),
                    message_id,
                    envelope_from: String::new(),
                    recipients: vec![addr.to_string()],
                    subject,
                    raw,
                    requester_email: None,
                    thread_text: None,
                    thread_from: None,
                    thread_author: None,
                    in_reply_to: None,
                })
                .await?
            {
                queued.push(id);
            }
        }
        Ok(queued)
    }
}
