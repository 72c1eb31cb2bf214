//! Settings: `config/default.toml` → `--config FILE` → `CONCIERGE__…` env.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The built-in defaults (the documented file, compiled in).
const DEFAULTS: &str = include_str!("../config/default.toml");

/// Every setting.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `[database]`
    pub database: Database,
    /// `[embedded]`
    pub embedded: Embedded,
    /// `[http]`
    pub http: Http,
    /// `[smtp]`
    pub smtp: Smtp,
    /// `[mail]`
    pub mail: Mail,
    /// `[inbound]`
    pub inbound: InboundSettings,
    /// `[security]`
    pub security: Security,
    /// `[log]`
    pub log: Log,
    /// `[hub]`
    pub hub: Hub,
    /// `[routing]`
    #[serde(default)]
    pub routing: Routing,
    /// `[ack]`
    pub ack: Ack,
    /// `[accounts]`
    pub accounts: Accounts,
    /// `[sla]`
    pub sla: Sla,
    /// `[worker]`
    pub worker: Worker,
    /// `[imap]`
    pub imap: Imap,
    /// `[risk]`
    pub risk: Risk,
    /// `[privacy]`
    pub privacy: Privacy,
}

/// `[privacy]`: how long what is kept, and how the retention job runs.
#[derive(Debug, Clone, Deserialize)]
pub struct Privacy {
    /// Resolved/closed cases are erased this many months after closing (0: kept).
    pub closed_cases_months: u32,
    /// Raw MIME is dropped this many months after receipt (0: kept).
    pub raw_mime_months: u32,
    /// Sessions are deleted this many days after they expired.
    pub sessions_days: u32,
    /// Login attempts are deleted after this many days.
    pub login_attempts_days: u32,
    /// The worker applies the policy this often (minutes; 0: never, run
    /// `concierge privacy retention` from cron instead).
    pub retention_every_minutes: u64,
    /// Rows per batch (each batch is its own short transaction).
    pub retention_batch: i64,
}

impl Privacy {
    /// As the core's policy.
    pub fn policy(&self) -> concierge_core::privacy::RetentionPolicy {
        concierge_core::privacy::RetentionPolicy {
            closed_cases_months: self.closed_cases_months,
            raw_mime_months: self.raw_mime_months,
            sessions_days: self.sessions_days,
            login_attempts_days: self.login_attempts_days,
        }
    }
}

/// `[risk]`: the crisis lane's clocks, in minutes.
#[derive(Debug, Clone, Deserialize)]
pub struct Risk {
    /// Imminent risk: first-response target, and time until every
    /// coordinator is mailed if nobody has acknowledged the risk.
    pub urgent_minutes: i64,
    /// The escalation mail repeats this often until someone acknowledges.
    pub repeat_minutes: i64,
    /// Concern: first-response target.
    pub concern_minutes: i64,
    /// A folder of rule files (`<lang>.toml`, as `config/risk/`); empty:
    /// the rules shipped in the binary.
    pub rules_dir: std::path::PathBuf,
}

impl Risk {
    /// As the store's lane settings.
    pub fn lane(&self) -> concierge_store::RiskLane {
        concierge_store::RiskLane {
            urgent_minutes: self.urgent_minutes.max(1),
            concern_minutes: self.concern_minutes.max(1),
        }
    }
}

/// `[imap]`: mailboxes to read and the poller's timers.
#[derive(Debug, Clone, Deserialize)]
pub struct Imap {
    /// `[[imap.mailboxes]]`.
    pub mailboxes: Vec<concierge_imap::MailboxConfig>,
    /// Lease lifetime.
    pub lease_secs: u64,
    /// First wait after a failure.
    pub backoff_base_secs: u64,
    /// Longest wait after failures.
    pub backoff_max_secs: u64,
}

impl Imap {
    /// The pollers' settings for this process.
    pub fn poller_settings(&self) -> concierge_imap::PollerSettings {
        use std::time::Duration;
        concierge_imap::PollerSettings {
            holder: concierge_imap::PollerSettings::holder_name(),
            lease: Duration::from_secs(self.lease_secs.max(3)),
            backoff_base: Duration::from_secs(self.backoff_base_secs.max(1)),
            backoff_max: Duration::from_secs(self.backoff_max_secs.max(1)),
        }
    }
}

/// `[routing]`
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Routing {
    /// Minimum confidence for an inferred country; unset: the threshold
    /// calibrated with the model's weights ([`Routing::country_threshold`]).
    #[serde(default)]
    pub country_threshold: Option<f32>,
}

impl Routing {
    /// The threshold in force: the configured one, else
    /// [`concierge_core::country::calibrated_threshold`].
    pub fn country_threshold(&self) -> f32 {
        self.country_threshold
            .unwrap_or_else(concierge_core::country::calibrated_threshold)
    }
}

/// `[sla]`: first-response targets in minutes.
#[derive(Debug, Clone, Deserialize)]
pub struct Sla {
    /// Urgent.
    pub urgent_minutes: i64,
    /// High.
    pub high_minutes: i64,
    /// Normal.
    pub normal_minutes: i64,
    /// Low.
    pub low_minutes: i64,
}

impl Sla {
    /// As the domain's targets.
    pub fn targets(&self) -> concierge_core::routing::SlaTargets {
        concierge_core::routing::SlaTargets {
            urgent_minutes: self.urgent_minutes,
            high_minutes: self.high_minutes,
            normal_minutes: self.normal_minutes,
            low_minutes: self.low_minutes,
        }
    }
}

/// `[worker]`
#[derive(Debug, Clone, Deserialize)]
pub struct Worker {
    /// Run workers inside `serve`.
    pub run_in_serve: bool,
    /// Jobs at once.
    pub concurrency: usize,
    /// Heartbeat period.
    pub heartbeat_secs: u64,
    /// Missed heartbeats before takeover.
    pub missed_heartbeats: usize,
    /// Fallback poll.
    pub poll_secs: u64,
    /// Sweep period.
    pub sweep_secs: u64,
}

impl Worker {
    /// As the jobs crate's configuration (with the crisis lane's
    /// escalation period from `[risk]` and the retention job from
    /// `[privacy]`).
    pub fn config(&self, risk: &Risk, privacy: &Privacy) -> concierge_jobs::WorkerConfig {
        use std::time::Duration;
        concierge_jobs::WorkerConfig {
            name: format!(
                "{}-{}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "concierge".into()),
                std::process::id()
            ),
            concurrency: self.concurrency.max(1),
            heartbeat: Duration::from_secs(self.heartbeat_secs.max(1)),
            missed_heartbeats: self.missed_heartbeats.max(1),
            poll_every: Duration::from_secs(self.poll_secs.max(1)),
            sweep_every: Duration::from_secs(self.sweep_secs.max(1)),
            escalation_repeat: Duration::from_secs(60 * risk.repeat_minutes.max(1) as u64),
            retention: (privacy.retention_every_minutes > 0).then(|| concierge_jobs::Retention {
                policy: privacy.policy(),
                every: Duration::from_secs(60 * privacy.retention_every_minutes),
                batch: privacy.retention_batch.max(1),
            }),
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
pub struct Database {
    /// Connection URL; empty for the embedded cluster.
    pub url: String,
    /// Pool size per process.
    pub max_connections: u32,
}

/// `[embedded]`
#[derive(Debug, Clone, Deserialize)]
pub struct Embedded {
    /// Data folder of the private cluster.
    pub data_dir: PathBuf,
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
pub struct Http {
    /// Listen address.
    pub addr: String,
    /// Whether the dashboard session cookie is `Secure` (and `__Host-`
    /// prefixed); false only for plain-http localhost use.
    pub cookie_secure: bool,
}

/// `[smtp]`
#[derive(Debug, Clone, Deserialize)]
pub struct Smtp {
    /// Listen address.
    pub addr: String,
    /// Greeting name.
    pub hostname: String,
    /// Connection limit.
    pub max_connections: usize,
    /// Connection limit per client IP.
    pub max_connections_per_ip: usize,
    /// Recipients per message.
    pub max_recipients: usize,
    /// Command timeout.
    pub command_timeout_secs: u64,
    /// DATA read timeout.
    pub data_timeout_secs: u64,
}

/// `[mail]`
#[derive(Clone, Deserialize)]
pub struct Mail {
    /// Concierge addresses.
    pub addresses: Vec<String>,
    /// Our Message-ID domain.
    pub domain: String,
    /// Size limit.
    pub max_message_bytes: usize,
    /// Outbound relay URL; empty: no sending from this process.
    pub outbound_url: String,
    /// From display name.
    pub from_name: String,
    /// Templates folder.
    pub templates_dir: std::path::PathBuf,
    /// Attempts before a mail is given up.
    pub max_send_attempts: i32,
    /// First retry delay.
    pub retry_base_secs: i64,
    /// Longest hand-over to the relay.
    pub send_timeout_secs: u64,
    /// Public base URL.
    pub public_url: String,
}

/// `[accounts]`: lifetimes of the single-use account links.
#[derive(Debug, Clone, Deserialize)]
pub struct Accounts {
    /// Invitation links work this many hours.
    pub invite_valid_hours: u64,
    /// Password-reset links work this many minutes.
    pub reset_valid_minutes: u64,
}

impl Accounts {
    /// How long an invitation link works.
    pub fn invite_valid_for(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.invite_valid_hours.saturating_mul(3600))
    }

    /// How long a password-reset link works.
    pub fn reset_valid_for(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.reset_valid_minutes.saturating_mul(60))
    }
}

/// `[ack]`
#[derive(Debug, Clone, Deserialize)]
pub struct Ack {
    /// Acknowledgements per requester per period.
    pub max_per_requester: i64,
    /// The period, in minutes.
    pub period_minutes: i64,
}

/// `[inbound]`
#[derive(Debug, Clone, Deserialize)]
pub struct InboundSettings {
    /// Bearer token for `POST /inbound/mime`.
    pub token: String,
}

/// `[security]`
#[derive(Clone, Deserialize)]
pub struct Security {
    /// Reply-token secret.
    pub reply_token_secret: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("addresses", &self.addresses)
            .field("domain", &self.domain)
            .field("outbound_url", &redact_url(&self.outbound_url))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Security { .. }")
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
pub struct Log {
    /// `text` or `json`.
    pub format: String,
}

/// `[hub]`
#[derive(Debug, Clone, Deserialize)]
pub struct Hub {
    /// The resource hub's seed file.
    pub file: PathBuf,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Loads the defaults, then `file`, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut b = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError(format!("{} does not exist", f.display())));
            }
            b = b.add_source(config::File::from(f));
        }
        b = b.add_source(
            config::Environment::with_prefix("CONCIERGE")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("mail.addresses")
                .try_parsing(true),
        );
        let mut s: Settings = b
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError(e.to_string()))?;
        if s.database.url.is_empty()
            && let Ok(url) = std::env::var("DATABASE_URL")
        {
            s.database.url = url;
        }
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.mail.addresses.is_empty() {
            return Err(ConfigError(
                "mail.addresses must name at least one address".into(),
            ));
        }
        for a in &self.mail.addresses {
            concierge_core::message::EmailAddress::parse(a)
                .map_err(|_| ConfigError(format!("mail.addresses: {a:?} is not an address")))?;
        }
        if self.mail.max_message_bytes < 1024 {
            return Err(ConfigError(
                "mail.max_message_bytes must be at least 1024".into(),
            ));
        }
        if let Some(t) = self.routing.country_threshold
            && !(0.0..=1.0).contains(&t)
        {
            return Err(ConfigError(
                "routing.country_threshold must be between 0 and 1".into(),
            ));
        }
        if self.accounts.invite_valid_hours == 0 || self.accounts.reset_valid_minutes == 0 {
            return Err(ConfigError(
                "accounts.invite_valid_hours and accounts.reset_valid_minutes must be above 0"
                    .into(),
            ));
        }
        concierge_imap::config::validate(&self.imap.mailboxes)
            .map_err(|e| ConfigError(format!("imap.mailboxes: {e}")))?;
        let secret = &self.security.reply_token_secret;
        if !secret.is_empty() && secret.len() < 16 {
            return Err(ConfigError(
                "security.reply_token_secret must be at least 16 bytes".into(),
            ));
        }
        Ok(())
    }

    /// The database URL without its password, for logs.
    pub fn redacted_database_url(&self) -> String {
        redact_url(&self.database.url)
    }
}

/// Replaces the password of a URL with `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_have_the_documented_keys() {
        let s = Settings::load(None).unwrap();
        assert_eq!(s.http.addr, "127.0.0.1:8080");
        assert_eq!(s.smtp.addr, "127.0.0.1:2525");
        assert!(
            s.mail
                .addresses
                .contains(&"global@concierge.example.org".to_owned())
        );
        assert_eq!(s.mail.max_message_bytes, 26_214_400);
        assert_eq!(s.inbound.token, "");
        assert_eq!(s.accounts.invite_valid_for().as_secs(), 7 * 24 * 3600);
        assert_eq!(s.accounts.reset_valid_for().as_secs(), 3600);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact_url(""), "");
        assert!(
            !format!(
                "{:?}",
                Security {
                    reply_token_secret: "s3cr3t-s3cr3t-s3cr3t".into()
                }
            )
            .contains("s3cr3t")
        );
    }
}
