//! Wiring: the inbound pipeline behind the SMTP listener and the HTTP app.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use concierge_core::message::EmailAddress;
use concierge_core::threading::ReplyTokenKey;
use concierge_inbound::{Delivery, Inbound, InboundConfig};
use concierge_jobs::MailDeps;
use concierge_mail::inbound::Limits;
use concierge_mail::outbound::{Relay, Templates};
use concierge_outbound::{Mailer, OutboundConfig};
use concierge_smtp::{Envelope, MessageSink, SmtpConfig};
use concierge_store::{InboundSource, Store};
use tokio::net::TcpListener;

use crate::config::Settings;

/// The reply-token key: configured, or kept in the database.
pub async fn reply_key(settings: &Settings, store: &Store) -> Result<ReplyTokenKey> {
    let secret = if settings.security.reply_token_secret.is_empty() {
        store
            .reply_token_secret()
            .await
            .context("reading the reply-token secret from the database")?
    } else {
        settings.security.reply_token_secret.clone().into_bytes()
    };
    Ok(ReplyTokenKey::new(secret)?)
}

/// Composes outbound mail (always available: replies queue in the outbox).
pub async fn mailer(settings: &Settings, store: &Store) -> Result<Mailer> {
    let dir = &settings.mail.templates_dir;
    let templates = if dir.as_os_str().is_empty() {
        Templates::builtin().context("the built-in mail templates")?
    } else {
        Templates::load(dir)
            .with_context(|| format!("loading mail templates from {}", dir.display()))?
    };
    let ours = addresses(settings)?;
    Ok(Mailer::new(
        store.clone(),
        reply_key(settings, store).await?,
        templates,
        OutboundConfig {
            from: ours[0].clone(),
            from_name: settings.mail.from_name.clone(),
            ours,
            domain: settings.mail.domain.clone(),
            public_url: settings.mail.public_url.trim_end_matches('/').to_owned(),
            ack_max_per_requester: settings.ack.max_per_requester,
            ack_period_minutes: settings.ack.period_minutes,
            max_send_attempts: settings.mail.max_send_attempts,
            retry_base_secs: settings.mail.retry_base_secs,
            send_lease_secs: i64::try_from(settings.mail.send_timeout_secs).unwrap_or(i64::MAX / 2)
                + 10,
            invite_valid_for: settings.accounts.invite_valid_for(),
            reset_valid_for: settings.accounts.reset_valid_for(),
        },
    ))
}

/// The mail worker's dependencies, when this process has a relay.
pub fn mail_deps(settings: &Settings, mailer: &Mailer) -> Result<Option<MailDeps>> {
    if settings.mail.outbound_url.is_empty() {
        tracing::warn!("mail.outbound_url is empty: outgoing mail waits in the outbox");
        return Ok(None);
    }
    let relay = Relay::from_url(&settings.mail.outbound_url)
        .context("mail.outbound_url")?
        .with_send_timeout(std::time::Duration::from_secs(
            settings.mail.send_timeout_secs.max(1),
        ));
    Ok(Some(MailDeps {
        mailer: mailer.clone(),
        relay: Arc::new(relay),
    }))
}

fn addresses(settings: &Settings) -> Result<Vec<EmailAddress>> {
    settings
        .mail
        .addresses
        .iter()
        .map(|a| EmailAddress::parse(a).with_context(|| format!("mail.addresses: {a}")))
        .collect()
}

/// Builds the inbound pipeline from settings.
pub async fn inbound(settings: &Settings, store: &Store) -> Result<Inbound> {
    let key = reply_key(settings, store).await?;
    // The gazetteer and the risk rules load before any door opens, not on
    // the first message (seconds in a debug build).
    let rules_dir = settings.risk.rules_dir.clone();
    let risk_rules = tokio::task::spawn_blocking(move || {
        concierge_core::country::warm_up();
        if rules_dir.as_os_str().is_empty() {
            return Ok(concierge_core::risk::RiskRules::builtin());
        }
        // Loaded once per process and kept for its life.
        let rules = concierge_core::risk::RiskRules::from_dir(&rules_dir)
            .with_context(|| format!("loading the risk rules from {}", rules_dir.display()))?;
        Ok::<_, anyhow::Error>(&*Box::leak(Box::new(rules)))
    })
    .await
    .context("loading the country data and risk rules")??;
    let addresses = settings
        .mail
        .addresses
        .iter()
        .map(|a| EmailAddress::parse(a).with_context(|| format!("mail.addresses: {a}")))
        .collect::<Result<Vec<_>>>()?;
    Ok(Inbound::new(
        store.clone(),
        key,
        InboundConfig {
            addresses,
            max_message_bytes: settings.mail.max_message_bytes,
            own_domains: vec![settings.mail.domain.clone()],
            limits: Limits::default(),
            sla: settings.sla.targets(),
            country_threshold: settings.routing.country_threshold(),
            risk_lane: settings.risk.lane(),
            risk_rules,
        },
    ))
}

/// The SMTP listener's view of the pipeline.
struct SmtpSink(Inbound);

impl MessageSink for SmtpSink {
    fn accepts_recipient(&self, rcpt: &str) -> bool {
        self.0.accepts_recipient(rcpt)
    }

    async fn deliver(&self, envelope: Envelope) -> concierge_smtp::Delivery {
        let result = self
            .0
            .ingest(Delivery {
                source: InboundSource::Smtp,
                envelope_from: Some(envelope.mail_from),
                envelope_to: envelope.rcpt_to,
                raw: envelope.data,
            })
            .await;
        match result {
            Ok(outcome) => concierge_smtp::Delivery::Accepted {
                id: outcome.reference().to_string(),
            },
            Err(e) if e.is_temporary() => {
                tracing::warn!(error = %e, "SMTP delivery deferred");
                concierge_smtp::Delivery::TempFail("Temporary storage failure, please retry".into())
            }
            Err(e) => concierge_smtp::Delivery::PermFail(e.to_string()),
        }
    }
}

/// Listeners bound and ready to serve.
pub struct App {
    inbound: Inbound,
    mailer: Mailer,
    settings: Settings,
    http: TcpListener,
    smtp: TcpListener,
}

impl App {
    /// Binds the HTTP and SMTP listeners.
    pub async fn bind(settings: Settings, inbound: Inbound, mailer: Mailer) -> Result<Self> {
        let http = TcpListener::bind(&settings.http.addr)
            .await
            .with_context(|| format!("binding http.addr {}", settings.http.addr))?;
        let smtp = TcpListener::bind(&settings.smtp.addr)
            .await
            .with_context(|| format!("binding smtp.addr {}", settings.smtp.addr))?;
        Ok(Self {
            inbound,
            mailer,
            settings,
            http,
            smtp,
        })
    }

    /// Where HTTP listens.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where SMTP listens.
    pub fn smtp_addr(&self) -> SocketAddr {
        self.smtp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` resolves, then drains both listeners.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let (tx, _) = tokio::sync::broadcast::channel::<()>(1);
        let store = self.inbound.store().clone();
        let state = concierge_web::AppState {
            inbound: self.inbound.clone(),
            store: store.clone(),
            sla: self.settings.sla.targets(),
            mailer: self.mailer.clone(),
            cookie_secure: self.settings.http.cookie_secure,
            mailboxes: self
                .settings
                .imap
                .mailboxes
                .iter()
                .map(|m| m.name.clone())
                .collect(),
            inbound_token: Some(self.settings.inbound.token.clone())
                .filter(|t| !t.is_empty())
                .map(Arc::from),
        };
        let s = &self.settings.smtp;
        let smtp_config = SmtpConfig {
            hostname: s.hostname.clone(),
            max_message_bytes: self.settings.mail.max_message_bytes,
            max_recipients: s.max_recipients,
            max_connections: s.max_connections,
            max_connections_per_ip: s.max_connections_per_ip,
            command_timeout: Duration::from_secs(s.command_timeout_secs),
            data_timeout: Duration::from_secs(s.data_timeout_secs),
            ..SmtpConfig::default()
        };
        tracing::info!(http = %self.http_addr(), smtp = %self.smtp_addr(), "Concierge is listening");
        let mut rx_http = tx.subscribe();
        let http = axum::serve(
            self.http,
            concierge_web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx_http.recv().await;
        });
        let mut rx_imap = tx.subscribe();
        let imap = concierge_imap::run(
            self.inbound.clone(),
            self.settings.imap.mailboxes.clone(),
            self.settings.imap.poller_settings(),
            async move {
                let _ = rx_imap.recv().await;
            },
        );
        let mut rx_smtp = tx.subscribe();
        let smtp = concierge_smtp::serve(
            self.smtp,
            smtp_config,
            Arc::new(SmtpSink(self.inbound)),
            async move {
                let _ = rx_smtp.recv().await;
            },
        );
        let mut rx_jobs = tx.subscribe();
        let run_workers = self.settings.worker.run_in_serve;
        let worker_config = self
            .settings
            .worker
            .config(&self.settings.risk, &self.settings.privacy);
        let deps = mail_deps(&self.settings, &self.mailer)?;
        let jobs = async move {
            if run_workers {
                concierge_jobs::run(store, worker_config, deps, async move {
                    let _ = rx_jobs.recv().await;
                })
                .await
                .map_err(|e| anyhow::anyhow!("workers: {e}"))
            } else {
                Ok(())
            }
        };
        let trigger = async move {
            shutdown.await;
            tracing::info!("shutting down");
            let _ = tx.send(());
        };
        let (h, s, j, (), ()) = tokio::join!(http, smtp, jobs, imap, trigger);
        h.context("HTTP server")?;
        s.context("SMTP server")?;
        j?;
        Ok(())
    }
}
