//! Outbound mail: composing acknowledgements, caseworker replies and
//! assignment notices into outbox rows, and sending outbox rows through the
//! relay with backoff. Storage and rendering are thin calls into
//! `concierge-store` and `concierge-mail`; the decisions (who may get an
//! automatic reply, threading headers) come from `concierge-core`.

use std::sync::Arc;
use std::time::Duration;

use concierge_core::country::{CountryCode, country_name};
use concierge_core::emergency::emergency_numbers;
use concierge_core::message::{EmailAddress, MessageClass, ack_recipient};
use concierge_core::threading::ReplyTokenKey;
use concierge_core::ticket::TicketReference;
use concierge_mail::outbound::{
    AckVars, Mailbox, NotifyVars, Outgoing, Relay, ResourceVars, SendError, Templates, build,
    new_message_id, references_for_reply, reply_address, reply_subject,
};
use concierge_store::{LinkPurpose, NewLink, NewMail, Resource, Store, StoreError};
use uuid::Uuid;

mod lane;

/// Settings of outbound mail.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// The address mail comes from (the first concierge address).
    pub from: EmailAddress,
    /// Display name on `From`.
    pub from_name: String,
    /// Our addresses: never answered automatically.
    pub ours: Vec<EmailAddress>,
    /// Domain of our Message-IDs and loop header.
    pub domain: String,
    /// Public base URL (hub pages, dashboard links), without trailing `/`.
    pub public_url: String,
    /// At most this many acknowledgements per requester address…
    pub ack_max_per_requester: i64,
    /// …per this many minutes.
    pub ack_period_minutes: i64,
    /// Give up after this many attempts at sending.
    pub max_send_attempts: i32,
    /// First retry delay in seconds; doubles per attempt, capped at 1 h.
    pub retry_base_secs: i64,
    /// How long a sender holds an outbox row: the relay's send timeout plus
    /// a margin, so a live sender is never overtaken.
    pub send_lease_secs: i64,
    /// How long an invitation link works.
    pub invite_valid_for: Duration,
    /// How long a password-reset link works.
    pub reset_valid_for: Duration,
}

/// A failure while composing or sending.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// Storage failed (retry).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template failed to render.
    #[error(transparent)]
    Template(#[from] concierge_mail::outbound::TemplateError),
    /// The message could not be built.
    #[error(transparent)]
    Build(#[from] concierge_mail::outbound::BuildError),
}

/// Why a reply was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// No such case.
    #[error("no such case")]
    NotFound,
    /// Closed cases are final.
    #[error("the case is closed")]
    Closed,
    /// The case has no address to reply to.
    #[error("the case has no requester address to reply to")]
    NoRecipient,
    /// Composing or storage failed.
    #[error(transparent)]
    Outbound(#[from] OutboundError),
}

impl From<StoreError> for ReplyError {
    fn from(e: StoreError) -> Self {
        Self::Outbound(e.into())
    }
}

/// What happened to an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    /// Queued in the outbox as this row, without a send job: send it now
    /// with [`Mailer::send`] (the sweep sends it if that never happens).
    Queued(Uuid),
    /// Already queued before.
    AlreadyDone,
    /// Not sent, and why.
    Suppressed(&'static str),
}

/// Composes and sends. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    store: Store,
    key: ReplyTokenKey,
    templates: Arc<Templates>,
    config: Arc<OutboundConfig>,
}

fn resource_vars(r: &Resource) -> ResourceVars {
    ResourceVars {
        name: r.name.clone(),
        phone: r.phone.clone(),
        sms: r.sms.clone(),
        web: r.web.clone().unwrap_or_default(),
        chat: r.chat.clone().unwrap_or_default(),
        hours: r.hours.clone().unwrap_or_default(),
        description: r.description.clone().unwrap_or_default(),
    }
}

/// Lines worth putting in front of someone who may be in crisis: crisis
/// lines whose contact details are sourced.
fn fit_for_ack(r: &Resource) -> bool {
    r.kind == "crisis_line" && r.verification == "sourced"
}

/// Whether a line can be reached at all (the templates skip the others).
fn reachable(r: &Resource) -> bool {
    !r.phone.is_empty()
        || !r.sms.is_empty()
        || r.chat.as_deref().is_some_and(|c| !c.is_empty())
        || r.web.as_deref().is_some_and(|w| !w.is_empty())
}

/// The crisis lines of an acknowledgement, chosen from the hub entries of
/// the placed or suggested country and the global ones.
#[derive(Debug, Clone, PartialEq)]
pub struct AckLines<'a> {
    /// The country's own sourced crisis lines (the placed country's, or the
    /// suggested one's when the country is unknown).
    pub country: Vec<&'a Resource>,
    /// The international directory: global crisis-line entries. Shown when
    /// the country is unknown or has no line of its own.
    pub international: Vec<&'a Resource>,
    /// The suggestion the `country` lines are for, when the country is unknown
    /// and the suggested country has lines.
    pub suggested: Option<CountryCode>,
}

impl<'a> AckLines<'a> {
    /// Placed country: its sourced crisis lines (the international ones as
    /// the fallback the templates show if there are none). Unknown country
    /// with a suggestion: the suggested country's lines plus the
    /// international ones. No suggestion, or a suggestion without lines: the
    /// international ones alone.
    pub fn choose(
        placed: Option<CountryCode>,
        suggested: Option<CountryCode>,
        entries: &'a [Resource],
    ) -> Self {
        let own = |c: CountryCode| -> Vec<&'a Resource> {
            entries
                .iter()
                .filter(|r| !r.global && r.countries.iter().any(|x| x == c.as_str()))
                .filter(|r| fit_for_ack(r))
                .collect()
        };
        let international = entries
            .iter()
            .filter(|r| r.global && r.kind == "crisis_line")
            .collect();
        let (country, suggested) = match (placed, suggested) {
            (Some(c), _) => (own(c), None),
            (None, Some(s)) => {
                let lines = own(s);
                let suggested = lines.iter().any(|r| reachable(r)).then_some(s);
                (
                    if suggested.is_some() {
                        lines
                    } else {
                        Vec::new()
                    },
                    suggested,
                )
            }
            (None, None) => (Vec::new(), None),
        };
        Self {
            country,
            international,
            suggested,
        }
    }
}

impl Mailer {
    /// Builds the mailer.
    pub fn new(
        store: Store,
        key: ReplyTokenKey,
        templates: Templates,
        config: OutboundConfig,
    ) -> Self {
        Self {
            store,
            key,
            templates: Arc::new(templates),
            config: Arc::new(config),
        }
    }

    fn sender_mailbox(&self) -> Mailbox {
        Mailbox {
            name: Some(self.config.from_name.clone()),
            address: self.config.from.clone(),
        }
    }

    /// Acknowledges a new case (idempotent: one per case). A case opened
    /// with imminent risk gets the urgent form: it leads with the crisis
    /// line and the emergency number, and no rate limit holds it back.
    pub async fn acknowledge(&self, ticket_id: Uuid) -> Result<AckOutcome, OutboundError> {
        self.ack(ticket_id, false).await
    }

    /// The urgent acknowledgement of an imminent-risk reply on an existing
    /// case (once per case), threaded on that reply.
    pub async fn acknowledge_urgent(&self, ticket_id: Uuid) -> Result<AckOutcome, OutboundError> {
        self.ack(ticket_id, true).await
    }

    async fn ack(&self, ticket_id: Uuid, follow_up: bool) -> Result<AckOutcome, OutboundError> {
        let Some(f) = self.store.ack_facts(ticket_id, follow_up).await? else {
            return Ok(AckOutcome::Suppressed("no such case"));
        };
        let class: MessageClass = f.class.parse().unwrap_or(MessageClass::Bounce);
        let reply_to = f
            .reply_to
            .as_deref()
            .and_then(|a| EmailAddress::parse(a).ok());
        let from = f
            .requester_email
            .as_deref()
            .and_then(|a| EmailAddress::parse(a).ok());
        let Some(to) = ack_recipient(
            class,
            f.envelope_from.as_deref(),
            reply_to.as_ref(),
            from.as_ref(),
            &self.config.ours,
        ) else {
            return Ok(AckOutcome::Suppressed("machine, null or own sender"));
        };
        let urgent = follow_up || f.risk == "imminent";
        // Someone at imminent risk is answered whatever the rate limit says.
        let max = if urgent {
            i64::MAX
        } else {
            self.config.ack_max_per_requester
        };
        // A cheap early exit; the limit is enforced when queueing.
        let recent = self
            .store
            .recent_acks(to.as_str(), self.config.ack_period_minutes)
            .await?;
        if recent >= max {
            tracing::info!(ticket = %ticket_id, "acknowledgement rate limit reached for this requester");
            return Ok(AckOutcome::Suppressed("rate limit"));
        }
        let reference: TicketReference = f.reference.parse().map_err(|_| StoreError::NotFound)?;
        let lang = self
            .templates
            .ack_language(f.language.as_deref().unwrap_or("en"))
            .to_owned();
        let placed: Option<CountryCode> = f.country.as_deref().and_then(|c| c.parse().ok());
        // Unknown country: the best guess's lines, with the international ones.
        let suggested: Option<CountryCode> = match placed {
            Some(_) => None,
            None => f.country_suggestion.as_deref().and_then(|c| c.parse().ok()),
        };
        // `resources_for(None)` would be every country's entries: without a
        // country only the global ones are wanted.
        let all = match placed.or(suggested) {
            Some(c) => {
                self.store
                    .resources_for(Some(c.as_str()), Some(&lang))
                    .await?
            }
            None => self
                .store
                .resources_for(None, Some(&lang))
                .await?
                .into_iter()
                .filter(|r| r.global)
                .collect(),
        };
        let lines = AckLines::choose(placed, suggested, &all);
        let hub_url = match placed {
            Some(c) => format!("{}/hub/{c}?lang={lang}", self.config.public_url),
            None => format!("{}/hub?lang={lang}", self.config.public_url),
        };
        let vars = AckVars {
            reference: reference.to_string(),
            requester_name: f.requester_name.clone().unwrap_or_default(),
            subject: f.subject.clone(),
            country_name: placed
                .or(lines.suggested)
                .map(|c| country_name(c).to_owned())
                .unwrap_or_default(),
            country_known: placed.is_some(),
            country_suggested: lines.suggested.is_some(),
            resources: lines.country.iter().map(|r| resource_vars(r)).collect(),
            fallback_resources: lines
                .international
                .iter()
                .map(|r| resource_vars(r))
                .collect(),
            hub_url,
            urgent,
            emergency_number: placed
                .or(suggested)
                .and_then(emergency_numbers)
                .map(|n| n.lead.to_owned())
                .unwrap_or_default(),
        };
        let (text, html) = self.templates.render_ack(&lang, &vars)?;
        let message_id = new_message_id(&self.key, &reference, &self.config.domain);
        let reply_to_addr =
            EmailAddress::parse(&reply_address(&self.key, &reference, &self.config.from)).ok();
        let outgoing = Outgoing {
            from: self.sender_mailbox(),
            reply_to: reply_to_addr,
            to: vec![to.clone()],
            subject: reply_subject(&f.subject, &reference),
            text: text.clone(),
            html: Some(html),
            message_id: message_id.clone(),
            in_reply_to: f.message_id.clone(),
            references: references_for_reply(&f.references, f.message_id.as_deref()),
            auto_submitted: Some("auto-replied"),
            loop_domain: self.config.domain.clone(),
        };
        let raw = build(&outgoing)?;
        let queued = self
            .store
            .enqueue_ack_limited(
                &NewMail {
                    ticket_id: Some(ticket_id),
                    kind: "ack".into(),
                    cause: if follow_up {
                        format!("urgent-ack:{ticket_id}")
                    } else {
                        format!("ack:{ticket_id}")
                    },
                    message_id,
                    // RFC 3834: automatic replies go out with the null sender.
                    envelope_from: String::new(),
                    recipients: vec![to.to_string()],
                    subject: outgoing.subject.clone(),
                    raw,
                    requester_email: Some(to.to_string()),
                    thread_text: Some(text),
                    thread_from: Some(self.config.from.to_string()),
                    thread_author: Some("Concierge (automatic acknowledgement)".into()),
                    in_reply_to: f.message_id,
                },
                to.as_str(),
                max,
                self.config.ack_period_minutes,
            )
            .await?;
        Ok(match queued {
            None => AckOutcome::Suppressed("rate limit"),
            Some(Some(id)) => AckOutcome::Queued(id),
            Some(None) => AckOutcome::AlreadyDone,
        })
    }

    /// Sends a caseworker's reply to the requester, threaded on their latest
    /// message and carrying the case's reply token.
    pub async fn reply(
        &self,
        reference: &TicketReference,
        author: &str,
        text: &str,
    ) -> Result<String, ReplyError> {
        let f = self
            .store
            .reply_facts(reference.as_str())
            .await?
            .ok_or(ReplyError::NotFound)?;
        if f.status == "closed" {
            return Err(ReplyError::Closed);
        }
        let to = f
            .last_reply_to
            .as_deref()
            .or(f.requester_email.as_deref())
            .and_then(|a| EmailAddress::parse(a).ok())
            .ok_or(ReplyError::NoRecipient)?;
        let message_id = new_message_id(&self.key, reference, &self.config.domain);
        let subject = reply_subject(&f.subject, reference);
        let raw = build(&Outgoing {
            from: self.sender_mailbox(),
            reply_to: EmailAddress::parse(&reply_address(&self.key, reference, &self.config.from))
                .ok(),
            to: vec![to.clone()],
            subject: subject.clone(),
            text: text.to_owned(),
            html: None,
            message_id: message_id.clone(),
            in_reply_to: f.last_message_id.clone(),
            references: references_for_reply(&f.last_references, f.last_message_id.as_deref()),
            auto_submitted: None,
            loop_domain: self.config.domain.clone(),
        })
        .map_err(OutboundError::from)?;
        self.store
            .record_reply(&NewMail {
                ticket_id: Some(f.ticket_id),
                kind: "reply".into(),
                cause: format!("reply:{}", Uuid::new_v4()),
                message_id: message_id.clone(),
                envelope_from: self.config.from.to_string(),
                recipients: vec![to.to_string()],
                subject,
                raw,
                requester_email: None,
                thread_text: Some(text.to_owned()),
                thread_from: Some(self.config.from.to_string()),
                thread_author: Some(author.to_owned()),
                in_reply_to: f.last_message_id,
            })
            .await?;
        Ok(message_id)
    }

    /// Tells a caseworker a case is theirs: reference and link, never
    /// content. Returns the new outbox row, queued without a send job: send
    /// it now with [`Mailer::send`] (the sweep sends it if that never
    /// happens); `None` when there is nothing (more) to send.
    pub async fn notify_assigned(
        &self,
        assignment_id: Uuid,
    ) -> Result<Option<Uuid>, OutboundError> {
        let Some(f) = self.store.assigned_facts(assignment_id).await? else {
            return Ok(None);
        };
        if !f.live {
            return Ok(None);
        }
        let Ok(to) = EmailAddress::parse(&f.volunteer_email) else {
            return Ok(None);
        };
        let vars = NotifyVars {
            caseworker_name: f.volunteer_name.clone(),
            reference: f.reference.clone(),
            country: f.country.clone().unwrap_or_else(|| "unknown".into()),
            language: f.language.clone().unwrap_or_else(|| "unknown".into()),
            priority: f.priority.clone(),
            urgent: f.priority == "urgent",
            case_url: format!("{}/cases/{}", self.config.public_url, f.reference),
        };
        let (text, subject) = self.templates.render_notify_assigned(&vars)?;
        let reference: TicketReference = f.reference.parse().map_err(|_| StoreError::NotFound)?;
        let message_id = new_message_id(&self.key, &reference, &self.config.domain);
        let raw = build(&Outgoing {
            from: self.sender_mailbox(),
            reply_to: None,
            to: vec![to.clone()],
            subject: subject.clone(),
            text,
            html: None,
            message_id: message_id.clone(),
            in_reply_to: None,
            references: Vec::new(),
            auto_submitted: Some("auto-generated"),
            loop_domain: self.config.domain.clone(),
        })?;
        Ok(self
            .store
            .queue_mail_to_send(&NewMail {
                ticket_id: Some(f.ticket_id),
                kind: "notify_assigned".into(),
                cause: format!("assigned:{assignment_id}"),
                message_id,
                envelope_from: String::new(),
                recipients: vec![to.to_string()],
                subject,
                raw,
                requester_email: None,
                thread_text: None,
                thread_from: None,
                thread_author: None,
                in_reply_to: None,
            })
            .await?)
    }

    /// How long a link of `purpose` works.
    pub fn link_valid_for(&self, purpose: LinkPurpose) -> Duration {
        match purpose {
            LinkPurpose::Invite => self.config.invite_valid_for,
            LinkPurpose::Reset => self.config.reset_valid_for,
        }
    }

    /// A fresh link of `purpose` with its configured lifetime.
    pub fn new_link(&self, purpose: LinkPurpose) -> NewLink {
        NewLink::generate(purpose, self.link_valid_for(purpose))
    }

    /// The page a link's token opens.
    pub fn account_link_url(&self, token: &str) -> String {
        account_link_url(&self.config.public_url, token)
    }

    /// Composes the mail that carries `link` to `to` (plain text, English;
    /// the cause is the link's, so it is queued once). Not queued here:
    /// the store writes it with the link, in one transaction.
    pub fn account_mail(
        &self,
        to: &str,
        name: &str,
        link: &NewLink,
    ) -> Result<NewMail, OutboundError> {
        let to = EmailAddress::parse(to)
            .map_err(|_| concierge_mail::outbound::BuildError::Address("To"))?;
        let (subject, text) = account_mail_text(
            link.purpose,
            name,
            &self.account_link_url(&link.token),
            link.valid_for,
        );
        let message_id = format!(
            "account.{}.{:016x}@{}",
            link.id.simple(),
            rand_u64(),
            self.config.domain.trim()
        );
        let raw = build(&Outgoing {
            from: self.sender_mailbox(),
            reply_to: None,
            to: vec![to.clone()],
            subject: subject.clone(),
            text,
            html: None,
            message_id: message_id.clone(),
            in_reply_to: None,
            references: Vec::new(),
            auto_submitted: Some("auto-generated"),
            loop_domain: self.config.domain.clone(),
        })?;
        Ok(NewMail {
            ticket_id: None,
            kind: link.purpose.as_str().into(),
            cause: link.mail_cause(),
            message_id,
            // Not the null sender: a mistyped address should bounce back
            // to us (the bounce marks the outbox row).
            envelope_from: self.config.from.to_string(),
            recipients: vec![to.to_string()],
            subject,
            raw,
            requester_email: None,
            thread_text: None,
            thread_from: None,
            thread_author: None,
            in_reply_to: None,
        })
    }

    /// Issues a link of `purpose` for an existing, enabled user and queues
    /// its mail, in one transaction; with `limit = Some((n, window))` only
    /// if the user had fewer than `n` such links within `window` (else
    /// `false`, nothing sent). `Store(NotFound)` when the user is unknown
    /// or disabled.
    pub async fn send_account_link(
        &self,
        user_id: Uuid,
        email: &str,
        name: &str,
        purpose: LinkPurpose,
        limit: Option<(i64, Duration)>,
    ) -> Result<bool, OutboundError> {
        let link = self.new_link(purpose);
        let mail = self.account_mail(email, name, &link)?;
        Ok(self
            .store
            .issue_account_link_limited(user_id, &link, Some(&mail), limit)
            .await?)
    }

    /// Sends one outbox row. Temporary failures are retried with a growing
    /// delay (30 s, 1 min, 2 min … capped at 1 h) up to
    /// `max_send_attempts`; permanent ones are recorded on the case.
    pub async fn send(&self, relay: &Relay, outbox_id: Uuid) -> Result<(), OutboundError> {
        let Some(row) = self
            .store
            .claim_mail(outbox_id, self.config.send_lease_secs)
            .await?
        else {
            return Ok(());
        };
        match relay
            .send_raw(&row.envelope_from, &row.recipients, &row.raw)
            .await
        {
            Ok(()) => {
                self.store.mark_sent(row.id).await?;
                tracing::info!(outbox = %row.id, "mail handed to the relay");
            }
            Err(SendError::Temporary(e)) if row.attempts < self.config.max_send_attempts => {
                let delay = backoff_secs(row.attempts, self.config.retry_base_secs);
                tracing::warn!(outbox = %row.id, attempt = row.attempts, delay, error = %e, "relay failed; will retry");
                self.store.mark_retry(row.id, &e, delay).await?;
            }
            Err(e) => {
                tracing::warn!(outbox = %row.id, error = %e, "mail could not be delivered");
                self.store.mark_failed(row.id, &e.to_string()).await?;
            }
        }
        Ok(())
    }
}

/// The page an account link opens: `{public_url}/account/setup?token=…`.
pub fn account_link_url(public_url: &str, token: &str) -> String {
    format!(
        "{}/account/setup?token={token}",
        public_url.trim_end_matches('/')
    )
}

fn rand_u64() -> u64 {
    let b = *Uuid::new_v4().as_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// "7 days", "1 hour", "90 minutes": how long a link works, for people.
pub fn human_duration(d: Duration) -> String {
    let mins = d.as_secs() / 60;
    let (n, unit) = if mins >= 1440 && mins.is_multiple_of(1440) {
        (mins / 1440, "day")
    } else if mins >= 60 && mins.is_multiple_of(60) {
        (mins / 60, "hour")
    } else {
        (mins.max(1), "minute")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// The subject and text of an invitation or password-reset mail. Plain,
/// short and in English; it names nothing but the link and its lifetime.
pub fn account_mail_text(
    purpose: LinkPurpose,
    name: &str,
    url: &str,
    valid_for: Duration,
) -> (String, String) {
    let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    let greeting = if name.trim().is_empty() {
        "Hello,".to_owned()
    } else {
        format!("Hello {},", name.trim())
    };
    let valid = human_duration(valid_for);
    match purpose {
        LinkPurpose::Invite => (
            "Your Concierge account".to_owned(),
            format!(
                "{greeting}\n\n\
                 An account has been created for you on the Concierge dashboard.\n\
                 Choose your password here (the link works once, for {valid}):\n\n\
                 {url}\n\n\
                 If you did not expect this email, you can ignore it.\n\n\
                 Concierge\n"
            ),
        ),
        LinkPurpose::Reset => (
            "Reset your Concierge password".to_owned(),
            format!(
                "{greeting}\n\n\
                 Someone asked to reset the password of your Concierge account.\n\
                 Choose a new password here (the link works once, for {valid}):\n\n\
                 {url}\n\n\
                 If this was not you, ignore this email: your password stays as it is.\n\n\
                 Concierge\n"
            ),
        ),
    }
}

/// Seconds to wait after the `attempt`-th failure: `base`, doubling, at
/// most an hour.
pub fn backoff_secs(attempt: i32, base: i64) -> i64 {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    (base.max(1).saturating_mul(2_i64.saturating_pow(exp))).min(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        id: &str,
        countries: &[&str],
        kind: &str,
        verification: &str,
        phone: &[&str],
    ) -> Resource {
        Resource {
            id: id.into(),
            name: id.into(),
            kind: kind.into(),
            countries: countries.iter().map(|c| (*c).to_owned()).collect(),
            languages: vec!["en".into()],
            phone: phone.iter().map(|p| (*p).to_owned()).collect(),
            sms: Vec::new(),
            chat: None,
            web: (phone.is_empty() && id.starts_with("intl")).then(|| "https://dir.example".into()),
            email: None,
            hours: None,
            cost: "free".into(),
            verification: verification.into(),
            source: "test".into(),
            last_verified: chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default(),
            notes: None,
            description: None,
            description_lang: None,
            global: countries == ["*"],
        }
    }

    fn hub() -> Vec<Resource> {
        vec![
            entry(
                "gb-samaritans",
                &["GB"],
                "crisis_line",
                "sourced",
                &["116 123"],
            ),
            entry(
                "gb-unchecked",
                &["GB"],
                "crisis_line",
                "unverified",
                &["0800 000"],
            ),
            entry("gb-peer", &["GB"], "peer_support", "sourced", &["0800 111"]),
            entry(
                "pt-dark",
                &["PT"],
                "crisis_line",
                "unverified",
                &["213 544 545"],
            ),
            entry("intl-directory", &["*"], "crisis_line", "sourced", &[]),
            entry("backline", &["*"], "advocacy", "sourced", &[]),
        ]
    }

    fn ids(v: &[&Resource]) -> Vec<String> {
        v.iter().map(|r| r.id.clone()).collect()
    }

    #[test]
    fn ack_lines_follow_the_placed_country_or_the_suggestion_and_never_none() {
        let all = hub();
        let gb: CountryCode = "GB".parse().unwrap();
        let pt: CountryCode = "PT".parse().unwrap();
        let placed = AckLines::choose(Some(gb), Some(pt), &all);
        assert_eq!(ids(&placed.country), ["gb-samaritans"]);
        assert_eq!(placed.suggested, None, "a placed country wins");
        assert_eq!(ids(&placed.international), ["intl-directory"]);

        let suggested = AckLines::choose(None, Some(gb), &all);
        assert_eq!(ids(&suggested.country), ["gb-samaritans"]);
        assert_eq!(suggested.suggested, Some(gb));
        assert_eq!(ids(&suggested.international), ["intl-directory"]);

        // Portugal has no sourced line in this hub: the directory alone.
        let bare = AckLines::choose(None, Some(pt), &all);
        assert!(bare.country.is_empty());
        assert_eq!(bare.suggested, None);
        assert_eq!(ids(&bare.international), ["intl-directory"]);

        let none = AckLines::choose(None, None, &all);
        assert!(none.country.is_empty());
        assert_eq!(ids(&none.international), ["intl-directory"]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_secs(1, 30), 30);
        assert_eq!(backoff_secs(2, 30), 60);
        assert_eq!(backoff_secs(3, 30), 120);
        assert_eq!(backoff_secs(8, 30), 3600);
        assert_eq!(backoff_secs(1000, 30), 3600);
        assert_eq!(backoff_secs(0, 30), 30);
        assert_eq!(backoff_secs(3, 1), 4);
    }

    #[test]
    fn link_lifetimes_read_well() {
        assert_eq!(human_duration(Duration::from_secs(7 * 86400)), "7 days");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1 hour");
        assert_eq!(human_duration(Duration::from_secs(5400)), "90 minutes");
        assert_eq!(human_duration(Duration::from_secs(10)), "1 minute");
    }

    #[test]
    fn account_mails_carry_the_link_and_nothing_else() {
        let url = account_link_url("https://c.example/", "ab12");
        assert_eq!(url, "https://c.example/account/setup?token=ab12");
        let (subject, text) = account_mail_text(
            LinkPurpose::Invite,
            "Ana\r\nBcc: x",
            &url,
            Duration::from_secs(7 * 86400),
        );
        assert_eq!(subject, "Your Concierge account");
        assert!(text.starts_with("Hello AnaBcc: x,\n"), "{text}");
        assert!(text.contains(&format!("\n{url}\n")), "{text}");
        assert!(text.contains("for 7 days"), "{text}");
        let (subject, text) =
            account_mail_text(LinkPurpose::Reset, " ", &url, Duration::from_secs(3600));
        assert_eq!(subject, "Reset your Concierge password");
        assert!(text.starts_with("Hello,\n"), "{text}");
        assert!(text.contains("for 1 hour"), "{text}");
    }
}
