//! Wiring: the inbound pipeline behind the SMTP listener and the HTTP app.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use concierge_core::message::EmailAddress;
use concierge_core::threading::ReplyTokenKey;
use concierge_inbound::{Delivery, Inbound, InboundConfig};
use concierge_mail::inbound::Limits;
use concierge_smtp::{Envelope, MessageSink, SmtpConfig};
use concierge_store::{InboundSource, Store};
use tokio::net::TcpListener;

use crate::config::Settings;

/// Builds the inbound pipeline from settings.
pub async fn inbound(settings: &Settings, store: &Store) -> Result<Inbound> {
    let secret = if settings.security.reply_token_secret.is_empty() {
        store
            .reply_token_secret()
            .await
            .context("reading the reply-token secret from the database")?
    } else {
        settings.security.reply_token_secret.clone().into_bytes()
    };
    let key = ReplyTokenKey::new(secret)?;
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
            country_threshold: settings.routing.country_threshold,
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
    settings: Settings,
    http: TcpListener,
    smtp: TcpListener,
}

impl App {
    /// Binds the HTTP and SMTP listeners.
    pub async fn bind(settings: Settings, inbound: Inbound) -> Result<Self> {
        let http = TcpListener::bind(&settings.http.addr)
            .await
            .with_context(|| format!("binding http.addr {}", settings.http.addr))?;
        let smtp = TcpListener::bind(&settings.smtp.addr)
            .await
            .with_context(|| format!("binding smtp.addr {}", settings.smtp.addr))?;
        Ok(Self {
            inbound,
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
        let http = axum::serve(self.http, concierge_web::router(state)).with_graceful_shutdown(
            async move {
                let _ = rx_http.recv().await;
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
        let worker_config = self.settings.worker.config();
        let jobs = async move {
            if run_workers {
                concierge_jobs::run(store, worker_config, async move {
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
        let (h, s, j, ()) = tokio::join!(http, smtp, jobs, trigger);
        h.context("HTTP server")?;
        s.context("SMTP server")?;
        j?;
        Ok(())
    }
}
