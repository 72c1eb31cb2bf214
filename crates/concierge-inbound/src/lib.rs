//! The one inbound pipeline every entry point (SMTP, MTA pipe, HTTP) calls:
//! raw bytes → [`concierge_mail::inbound::parse`] → classification and
//! thread plan ([`concierge_core`]) → [`concierge_store::Store::ingest`],
//! one transaction. A caller acknowledges only after `ingest` returns `Ok`.

use concierge_core::country::{
    CountryCode, CountryInference, Evidence, analyze_country, detect_language,
};
use concierge_core::message::{EmailAddress, MessageClass, classify};
use concierge_core::risk::{RiskAssessment, RiskLevel, RiskRules, assess};
use concierge_core::routing::SlaTargets;
use concierge_core::threading::{ReplyTokenKey, ThreadFacts, dedupe_key, plan};
use concierge_core::ticket::Priority;
use concierge_mail::inbound::{Limits, ParseError, ParsedMail, parse, truncate};
use concierge_store::{
    History, InboundSource, IngestOutcome, NewAttachment, NewInbound, RiskLane, Store, StoreError,
};

/// A message as it arrived at one of the doors.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The door.
    pub source: InboundSource,
    /// SMTP `MAIL FROM` (empty string for `<>`), when known.
    pub envelope_from: Option<String>,
    /// SMTP `RCPT TO`s, when known.
    pub envelope_to: Vec<String>,
    /// The message bytes exactly as received.
    pub raw: Vec<u8>,
}

/// Why a message was not stored. Map to SMTP / HTTP / sysexits codes with
/// [`IngestError::is_temporary`].
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Larger than `mail.max_message_bytes`.
    #[error("message is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Size received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Nothing to store.
    #[error("message is empty")]
    Empty,
    /// The database failed; the sender should retry later.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IngestError {
    /// Whether the sender should retry (SMTP 451, HTTP 503, EX_TEMPFAIL).
    /// Every storage failure is temporary: refusing would lose the message.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Store(_))
    }
}

/// How an imported message enters the history (`concierge import`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportMode {
    /// Threads whose messages are all older than this start resolved; the
    /// rest are open and routed.
    pub open_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// What [`Inbound::ingest_mailbox`] did, and with what kind of message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxOutcome {
    /// Created, appended or duplicate.
    pub outcome: IngestOutcome,
    /// The message's class (`unparseable` for bytes kept raw).
    pub class: MessageClass,
}

/// Settings of the pipeline.
#[derive(Debug, Clone)]
pub struct InboundConfig {
    /// The concierge addresses we accept mail for.
    pub addresses: Vec<EmailAddress>,
    /// Largest message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Domains our own Message-IDs use (loop detection).
    pub own_domains: Vec<String>,
    /// Parsing bounds.
    pub limits: Limits,
    /// First-response targets.
    pub sla: SlaTargets,
    /// Below this confidence the country is unknown (human triage) and the
    /// best guess only a suggestion; usually
    /// [`concierge_core::country::calibrated_threshold`].
    pub country_threshold: f32,
    /// The crisis lane's clocks.
    pub risk_lane: RiskLane,
    /// The risk rules (usually [`RiskRules::builtin`]; `[risk] rules_dir`
    /// loads others once at start).
    pub risk_rules: &'static RiskRules,
}

/// How much of a message's text the risk assessment reads (subject and
/// fresh text; quoted mail is dropped by the assessment itself).
pub const RISK_SAMPLE_CHARS: usize = 50_000;

/// The risk assessment of a parsed message as [`Inbound::ingest`] runs it:
/// human messages only, subject and text, every language of `rules`.
pub fn risk_of(
    parsed: &ParsedMail,
    class: MessageClass,
    language: Option<&str>,
    rules: &RiskRules,
) -> RiskAssessment {
    if !class.is_human() {
        return RiskAssessment {
            level: RiskLevel::None,
            evidence: Vec::new(),
        };
    }
    let text = format!(
        "{}\n\n{}",
        parsed.subject,
        truncate(&parsed.text, RISK_SAMPLE_CHARS)
    );
    assess(&text, language, rules)
}

/// How much of a message's text the country inference reads: its start,
/// where people say who and where they are; bounded so hostile bodies cost
/// little.
pub const COUNTRY_SAMPLE_CHARS: usize = 20_000;

/// The country inference for a parsed message, exactly as
/// [`Inbound::ingest`] runs it: the subject, the first
/// [`COUNTRY_SAMPLE_CHARS`] of the text, the sender's address, the `Date`
/// header's offset and the requester's earlier country. The CLI's
/// `country explain` and the country report call this too, so what they
/// show is what ingest decided.
pub fn country_of(parsed: &ParsedMail, previous_country: Option<CountryCode>) -> CountryInference {
    analyze_country(&country_evidence(parsed, previous_country))
}

/// What [`country_of`] reads from a parsed message (the country report
/// fits the model's weights on exactly this).
pub fn country_evidence(
    parsed: &ParsedMail,
    previous_country: Option<CountryCode>,
) -> Evidence<'_> {
    Evidence {
        subject: &parsed.subject,
        text: truncate(&parsed.text, COUNTRY_SAMPLE_CHARS),
        from_address: parsed.from.as_ref().map_or("", |a| a.as_str()),
        date_offset_minutes: parsed.date_offset_minutes,
        previous_country,
    }
}

/// The pipeline: cheap to clone, shared by every entry point.
#[derive(Debug, Clone)]
pub struct Inbound {
    store: Store,
    key: ReplyTokenKey,
    config: std::sync::Arc<InboundConfig>,
}

impl Inbound {
    /// Builds the pipeline.
    pub fn new(store: Store, key: ReplyTokenKey, config: InboundConfig) -> Self {
        Self {
            store,
            key,
            config: std::sync::Arc::new(config),
        }
    }

    /// The store behind the pipeline.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The crisis lane's clocks.
    pub fn risk_lane(&self) -> RiskLane {
        self.config.risk_lane
    }

    /// The largest message accepted.
    pub fn max_message_bytes(&self) -> usize {
        self.config.max_message_bytes
    }

    /// Whether we accept mail for `rcpt`: one of our addresses, also with a
    /// `+tag` (reply tokens ride in the tag).
    pub fn accepts_recipient(&self, rcpt: &str) -> bool {
        EmailAddress::parse(rcpt).is_ok_and(|a| {
            self.config
                .addresses
                .iter()
                .any(|ours| ours.same_mailbox(&a))
        })
    }

    /// The mailbox doors' ingest (IMAP, `concierge import`): the same
    /// parsing, classification, threading, dedup and storage as
    /// [`Inbound::ingest`], but a message is never refused for its content.
    /// Empty, unreadable or over-size bytes are kept raw (over-size: up to
    /// the limit) as a case of class `unparseable`, never answered, so a
    /// mailbox never holds a message back forever. Only storage failures
    /// are errors. With `import`, the message is history: its own date, no
    /// acknowledgement or first-response target, resolved when older than
    /// `open_since`.
    pub async fn ingest_mailbox(
        &self,
        mut d: Delivery,
        import: Option<ImportMode>,
    ) -> Result<MailboxOutcome, IngestError> {
        let max = self.config.max_message_bytes;
        let mut note = None;
        if d.raw.len() > max {
            note = Some(format!(
                "(message of {} bytes over the limit of {max}; first {max} bytes kept) ",
                d.raw.len()
            ));
        }
        let full_key_source = (d.raw.len() > max).then(|| d.raw.clone());
        if d.raw.len() > max {
            d.raw.truncate(max);
        }
        let mut parsed = match parse(&d.raw, &self.config.limits) {
            Ok(p) => p,
            Err(ParseError::Empty) => ParsedMail {
                subject: "(empty message)".into(),
                unparseable: true,
                ..Default::default()
            },
        };
        if let Some(n) = &note {
            parsed.unparseable = true;
            parsed.subject = format!("{n}{}", parsed.subject);
        }
        let previous = match &parsed.from {
            Some(from) => self.store.previous_country(from).await?,
            None => None,
        };
        let unparseable = parsed.unparseable;
        let date = parsed.date;
        let mut new = self.prepare(d, parsed, previous.as_deref().and_then(|c| c.parse().ok()));
        if let Some(full) = full_key_source {
            // Dedupe on the message as the mailbox holds it, not the cut.
            new.dedupe_key = dedupe_key(new.message_id.as_deref(), new.from.as_ref(), &full);
        }
        if unparseable {
            new.class = MessageClass::Unparseable;
            new.route = false;
            new.acknowledge = false;
        }
        if let Some(mode) = import {
            let now = chrono::Utc::now();
            let at = date.filter(|d| *d <= now).unwrap_or(now);
            let resolved = mode.open_since.is_some_and(|s| at < s);
            new.history = Some(History { at, resolved });
            new.acknowledge = false;
            new.route = new.route && !resolved;
        }
        let outcome = self.store.ingest(&new).await?;
        log_stored(&outcome, new.class);
        Ok(MailboxOutcome {
            outcome,
            class: new.class,
        })
    }

    /// Parses, classifies, threads and stores one message, exactly once.
    pub async fn ingest(&self, d: Delivery) -> Result<IngestOutcome, IngestError> {
        if d.raw.len() > self.config.max_message_bytes {
            return Err(IngestError::TooLarge {
                size: d.raw.len(),
                limit: self.config.max_message_bytes,
            });
        }
        let parsed = parse(&d.raw, &self.config.limits).map_err(|e| match e {
            ParseError::Empty => IngestError::Empty,
        })?;
        // The requester's earlier cases are one of the country signals.
        let previous = match &parsed.from {
            Some(from) => self.store.previous_country(from).await?,
            None => None,
        };
        let new = self.prepare(d, parsed, previous.as_deref().and_then(|c| c.parse().ok()));
        let outcome = self.store.ingest(&new).await?;
        log_stored(&outcome, new.class);
        Ok(outcome)
    }

    /// Everything between parsing and storage; pure.
    fn prepare(
        &self,
        d: Delivery,
        parsed: ParsedMail,
        previous_country: Option<CountryCode>,
    ) -> NewInbound {
        let class =
            classify(&parsed.class_facts(d.envelope_from.as_deref(), &self.config.own_domains));

        let mut recipients: Vec<EmailAddress> = d
            .envelope_to
            .iter()
            .filter_map(|a| EmailAddress::parse(a).ok())
            .collect();
        recipients.extend(parsed.to.iter().cloned());
        recipients.extend(parsed.cc.iter().cloned());
        // A delivery report threads by the original message it quotes.
        let mut references = parsed.references.clone();
        if class == MessageClass::Bounce {
            references.extend(parsed.report_original_ids.iter().cloned());
        }
        let thread = plan(
            &self.key,
            &ThreadFacts {
                in_reply_to: &parsed.in_reply_to,
                references: &references,
                recipients: &recipients,
                subject: &parsed.subject,
            },
        );
        let dedupe = dedupe_key(parsed.message_id.as_deref(), parsed.from.as_ref(), &d.raw);
        let headers = serde_json::Value::Array(
            parsed
                .headers
                .iter()
                .map(|(n, v)| serde_json::json!([n, v]))
                .collect(),
        );
        let inference = country_of(&parsed, previous_country);
        let threshold = self.config.country_threshold;
        let country = inference.placed(threshold).map(|g| {
            (
                g.country.to_string(),
                g.source.as_str().to_owned(),
                g.confidence,
            )
        });
        let country_suggestion = inference
            .suggestion(threshold)
            .map(|g| (g.country.to_string(), g.confidence));
        let language = detect_language(&format!(
            "{}\n{}",
            parsed.subject,
            truncate(&parsed.text, 4_000)
        ))
        .map(|l| l.as_str().to_owned());
        let risk = risk_of(&parsed, class, language.as_deref(), self.config.risk_rules);
        let priority = match risk.level {
            RiskLevel::Imminent => Priority::Urgent,
            RiskLevel::Concern => Priority::High,
            RiskLevel::None => Priority::Normal,
        };
        let first_response_minutes = match risk.level {
            RiskLevel::Imminent => self.config.risk_lane.urgent_minutes,
            RiskLevel::Concern => self.config.risk_lane.concern_minutes,
            RiskLevel::None => self.config.sla.minutes(priority),
        };
        if risk.level > RiskLevel::None {
            // Rule ids only: the matched phrases are the writer's words.
            tracing::warn!(
                risk = risk.level.as_str(),
                rules = %risk.evidence.iter().map(|e| e.rule_id.as_str()).collect::<Vec<_>>().join(","),
                "risk found in an inbound message"
            );
        }
        NewInbound {
            risk,
            risk_lane: self.config.risk_lane,
            country,
            country_suggestion,
            country_evidence: inference.evidence,
            language,
            route: class.is_human(),
            acknowledge: class.is_human(),
            bounce_of: if class == MessageClass::Bounce {
                parsed.report_original_ids.clone()
            } else {
                Vec::new()
            },
            first_response_minutes,
            source: d.source,
            envelope_from: d.envelope_from,
            envelope_to: d.envelope_to.into_iter().take(100).collect(),
            dedupe_key: dedupe,
            class,
            thread,
            from: parsed.from,
            from_name: parsed.from_name,
            reply_to: parsed.reply_to.map(String::from),
            to: parsed.to.into_iter().map(String::from).collect(),
            cc: parsed.cc.into_iter().map(String::from).collect(),
            subject: parsed.subject,
            text: parsed.text,
            html: parsed.html,
            message_id: parsed.message_id,
            in_reply_to: parsed.in_reply_to,
            references: parsed.references,
            sent_at: parsed.date,
            headers,
            attachments: parsed
                .attachments
                .into_iter()
                .map(|a| NewAttachment {
                    filename: a.filename,
                    content_type: a.content_type,
                    content_id: a.content_id,
                    inline: a.inline,
                    data: a.data,
                })
                .collect(),
            raw: d.raw,
            history: None,
        }
    }
}

fn log_stored(outcome: &IngestOutcome, class: MessageClass) {
    tracing::info!(
        reference = %outcome.reference(),
        class = class.as_str(),
        outcome = match outcome {
            IngestOutcome::Created { .. } => "created",
            IngestOutcome::Appended { .. } => "appended",
            IngestOutcome::Duplicate { .. } => "duplicate",
        },
        "inbound message stored"
    );
}
