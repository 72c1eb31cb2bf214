//! The poller: one task per configured mailbox, in every `serve` and
//! `worker` process; a Postgres lease makes exactly one of them read each
//! mailbox at a time.
//!
//! A session logs in, `SELECT`s the folder, compares its UIDVALIDITY with
//! the committed one ([`crate::plan::resume`]), then repeatedly: `UID
//! SEARCH` above the last committed UID, `UID FETCH … BODY.PEEK[]` in small
//! batches (nothing is marked read, read and unread mail alike), each
//! message through [`Inbound::ingest_mailbox`], then `after_import`, then
//! the UID committed; then IDLE (or a poll interval) until there is more.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use concierge_inbound::{Delivery, Inbound, IngestError};
use concierge_store::{Bookmark, InboundSource, IngestOutcome};
use futures_util::TryStreamExt;

use crate::config::{AfterImport, MailboxConfig};
use crate::conn::{ConnectError, Credentials, Session, login};
use crate::oauth::{TokenError, TokenSource};
use crate::plan::{self, Backoff, Resume};

/// Settings shared by every mailbox's poller in a process.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    /// This process's name in the lease (unique per process).
    pub holder: String,
    /// How long a lease lasts unrenewed; another process takes over a
    /// mailbox this long after its holder died.
    pub lease: Duration,
    /// First wait after a failure.
    pub backoff_base: Duration,
    /// Longest wait after failures.
    pub backoff_max: Duration,
}

impl PollerSettings {
    /// A holder name unique to this process.
    pub fn holder_name() -> String {
        format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "concierge".into()),
            std::process::id(),
            rand::random::<u32>()
        )
    }
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("{0}")]
    Config(String),
    #[error("IMAP: {0}")]
    Imap(String),
    #[error("storing a message failed: {0}")]
    Store(String),
    #[error("the lease was taken over")]
    LeaseLost,
}

impl From<async_imap::error::Error> for PollError {
    fn from(e: async_imap::error::Error) -> Self {
        Self::Imap(e.to_string())
    }
}

impl From<concierge_store::StoreError> for PollError {
    fn from(e: concierge_store::StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Messages fetched per `UID FETCH` (bounds memory).
const BATCH: usize = 10;

async fn within<T, E: Into<PollError>>(
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, PollError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(PollError::Imap(format!("{what} timed out"))),
    }
}

/// Runs a poller for every mailbox until `shutdown`, then gives the
/// leases up so another process takes over at once.
pub async fn run(
    inbound: Inbound,
    mailboxes: Vec<MailboxConfig>,
    settings: PollerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    if mailboxes.is_empty() {
        return;
    }
    let settings = Arc::new(settings);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for m in mailboxes {
        let mut poller = Poller {
            tokens: m
                .oauth2
                .clone()
                .map(|o| TokenSource::new(&m.name, o, m.ca_file.clone())),
            inbound: inbound.clone(),
            settings: settings.clone(),
            m,
        };
        let mut rx = rx.clone();
        tasks.push(tokio::spawn(async move {
            tokio::select! {
                () = poller.run() => {}
                _ = rx.wait_for(|stop| *stop) => {}
            }
            let _ = poller
                .inbound
                .store()
                .imap_release(&poller.m.name, &poller.settings.holder)
                .await;
        }));
    }
    shutdown.await;
    let _ = tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
}

struct Poller {
    inbound: Inbound,
    m: MailboxConfig,
    settings: Arc<PollerSettings>,
    tokens: Option<TokenSource>,
}

impl Poller {
    fn name(&self) -> &str {
        &self.m.name
    }

    async fn status(&self, status: &str, detail: Option<&str>) {
        if let Err(e) = self
            .inbound
            .store()
            .imap_set_status(self.name(), &self.settings.holder, status, detail)
            .await
        {
            tracing::warn!(mailbox = self.name(), error = %e, "recording the mailbox status failed");
        }
    }

    async fn run(&mut self) {
        let s = self.settings.clone();
        let mut backoff = Backoff::new(s.backoff_base, s.backoff_max);
        let mut was_holder = false;
        loop {
            let bookmark = match self
                .inbound
                .store()
                .imap_acquire(self.name(), &s.holder, s.lease)
                .await
            {
                Ok(Some(b)) => b,
                Ok(None) => {
                    if was_holder {
                        tracing::info!(
                            mailbox = self.name(),
                            "another process polls this mailbox now"
                        );
                        was_holder = false;
                    }
                    tokio::time::sleep(jitter(s.lease / 3)).await;
                    continue;
                }
                Err(e) => {
                    let wait = backoff.next_wait();
                    tracing::warn!(mailbox = self.name(), error = %e, ?wait, "database unavailable for the mailbox lease");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            if !was_holder {
                tracing::info!(mailbox = self.name(), holder = %s.holder, "polling this mailbox");
                was_holder = true;
            }
            let result = self.session(bookmark, &mut backoff).await;
            let wait = match result {
                Ok(()) | Err(PollError::LeaseLost) => {
                    tracing::info!(
                        mailbox = self.name(),
                        "lease lost; another process took over"
                    );
                    was_holder = false;
                    continue;
                }
                Err(PollError::Connect(ConnectError::Auth { user, reason })) => {
                    tracing::error!(
                        mailbox = self.name(),
                        user = %user,
                        "IMAP login refused; check the mailbox's username and password (or OAuth 2.0 client): {reason}"
                    );
                    self.status(
                        "auth_failed",
                        Some(&format!("login refused for {user}: {reason}")),
                    )
                    .await;
                    if let Some(t) = &mut self.tokens {
                        t.invalidate();
                    }
                    backoff.next_wait().max(s.backoff_max / 4)
                }
                Err(PollError::Token(TokenError::Refused { status, error })) => {
                    tracing::error!(
                        mailbox = self.name(),
                        "OAuth 2.0 token refresh refused (HTTP {status}: {error}); renew the refresh token"
                    );
                    self.status(
                        "auth_failed",
                        Some(&format!("token refresh refused: HTTP {status}: {error}")),
                    )
                    .await;
                    backoff.next_wait().max(s.backoff_max / 4)
                }
                Err(e @ PollError::Connect(ConnectError::Unreachable(..))) => {
                    let wait = backoff.next_wait();
                    tracing::warn!(mailbox = self.name(), error = %e, ?wait, "IMAP server unreachable; retrying");
                    self.status("unreachable", Some(&e.to_string())).await;
                    wait
                }
                Err(e) => {
                    let wait = backoff.next_wait();
                    tracing::warn!(mailbox = self.name(), error = %e, ?wait, "IMAP session failed; retrying");
                    self.status("error", Some(&e.to_string())).await;
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn credentials(&mut self) -> Result<Credentials, PollError> {
        match &mut self.tokens {
            Some(t) => Ok(Credentials::Bearer(t.token().await?)),
            None => Ok(Credentials::Password(
                self.m
                    .password()
                    .map_err(|e| PollError::Config(e.to_string()))?,
            )),
        }
    }

    async fn session(
        &mut self,
        bookmark: Bookmark,
        backoff: &mut Backoff,
    ) -> Result<(), PollError> {
        self.status("connecting", None).await;
        let creds = self.credentials().await?;
        let mut s = login(&self.m, creds).await?;
        backoff.reset();
        let caps = within("CAPABILITY", s.capabilities()).await?;
        let can_idle = self.m.idle && caps.has_str("IDLE");
        let can_move = caps.has_str("MOVE");
        let has_uidplus = caps.has_str("UIDPLUS");
        if let AfterImport::Move(folder) = &self.m.after_import {
            // Already there: the server says NO, which is fine.
            let _ = within("CREATE", s.create(folder)).await;
        }
        let mailbox = within("SELECT", s.select(&self.m.folder)).await?;
        let validity = mailbox
            .uid_validity
            .ok_or_else(|| PollError::Imap("the server gave no UIDVALIDITY".into()))?;
        let resume = plan::resume(bookmark.uid_validity, bookmark.last_uid, validity);
        if let Resume::Rescan {
            previous: Some(previous),
        } = resume
        {
            tracing::warn!(
                mailbox = self.name(),
                previous,
                now = validity,
                "UIDVALIDITY changed: reading the whole folder again (stored messages are recognised, not stored twice)"
            );
        }
        let mut last = resume.after();
        let idle_status = if can_idle { "idle" } else { "polling" };
        loop {
            last = self
                .sweep(&mut s, validity, last, can_move, has_uidplus)
                .await?;
            self.status(idle_status, None).await;
            while s.unsolicited_responses.try_recv().is_ok() {}
            if can_idle {
                let mut handle = s.idle();
                within("IDLE", handle.init()).await?;
                let (wait, _stop) = handle.wait_with_timeout(self.settings.lease / 3);
                // We never interrupt it ourselves: this is the stream
                // ending, a server that closed the connection.
                if let IdleResponse::ManualInterrupt = wait.await? {
                    return Err(PollError::Imap(
                        "the server closed the connection during IDLE".into(),
                    ));
                }
                s = within("DONE", handle.done()).await?;
            } else {
                let until =
                    tokio::time::Instant::now() + Duration::from_secs(self.m.poll_secs.max(1));
                while tokio::time::Instant::now() < until {
                    let step = (self.settings.lease / 3)
                        .min(until.saturating_duration_since(tokio::time::Instant::now()));
                    tokio::time::sleep(step).await;
                    self.renew().await?;
                }
                within("NOOP", s.noop()).await?;
            }
            self.renew().await?;
        }
    }

    async fn renew(&self) -> Result<(), PollError> {
        let s = &self.settings;
        if self
            .inbound
            .store()
            .imap_renew(self.name(), &s.holder, s.lease)
            .await?
        {
            Ok(())
        } else {
            Err(PollError::LeaseLost)
        }
    }

    /// Stores every message above `last`; returns the new last UID.
    async fn sweep(
        &self,
        s: &mut Session,
        validity: u32,
        mut last: u32,
        can_move: bool,
        has_uidplus: bool,
    ) -> Result<u32, PollError> {
        let found = within(
            "UID SEARCH",
            s.uid_search(format!("UID {}:*", last.saturating_add(1))),
        )
        .await?;
        let uids = plan::to_fetch(found, last);
        if !uids.is_empty() {
            tracing::info!(mailbox = self.name(), count = uids.len(), "new messages");
        }
        for chunk in uids.chunks(BATCH) {
            let set = plan::sequence_set(chunk);
            let mut fetched: Vec<(u32, Vec<u8>)> = {
                let stream = within("UID FETCH", s.uid_fetch(&set, "(UID BODY.PEEK[])")).await?;
                let all: Vec<_> = within("UID FETCH", stream.try_collect::<Vec<_>>()).await?;
                all.iter()
                    .filter_map(|f| {
                        let uid = f.uid?;
                        chunk
                            .binary_search(&uid)
                            .ok()
                            .map(|_| (uid, f.body().map(<[u8]>::to_vec).unwrap_or_default()))
                    })
                    .collect()
            };
            fetched.sort_by_key(|(u, _)| *u);
            fetched.dedup_by_key(|(u, _)| *u);
            for (uid, raw) in fetched {
                if uid <= last {
                    continue;
                }
                let outcome = self
                    .inbound
                    .ingest_mailbox(
                        Delivery {
                            source: InboundSource::Imap,
                            envelope_from: None,
                            envelope_to: Vec::new(),
                            raw,
                        },
                        None,
                    )
                    .await
                    .map_err(|e| match e {
                        IngestError::Store(e) => PollError::Store(e.to_string()),
                        other => PollError::Store(other.to_string()),
                    })?;
                let new = u32::from(!matches!(outcome.outcome, IngestOutcome::Duplicate { .. }));
                // Committed: now the server side may change.
                self.after_import(s, uid, can_move, has_uidplus).await;
                let st = &self.settings;
                if !self
                    .inbound
                    .store()
                    .imap_commit_uid(self.name(), &st.holder, validity, uid, new, st.lease)
                    .await?
                {
                    return Err(PollError::LeaseLost);
                }
                last = uid;
            }
        }
        Ok(last)
    }

    /// Flags or moves a committed message; a failure is logged, not
    /// retried (the case is stored either way).
    async fn after_import(&self, s: &mut Session, uid: u32, can_move: bool, has_uidplus: bool) {
        let uid_s = uid.to_string();
        let result: Result<(), PollError> = async {
            match &self.m.after_import {
                AfterImport::Keep => Ok(()),
                AfterImport::Flag => {
                    let st = within(
                        "UID STORE",
                        s.uid_store(&uid_s, "+FLAGS.SILENT (\\Flagged)"),
                    )
                    .await?;
                    within("UID STORE", st.try_collect::<Vec<_>>()).await?;
                    Ok(())
                }
                AfterImport::Move(folder) if can_move => {
                    within("UID MOVE", s.uid_mv(&uid_s, folder)).await
                }
                AfterImport::Move(folder) => {
                    within("UID COPY", s.uid_copy(&uid_s, folder)).await?;
                    let st = within(
                        "UID STORE",
                        s.uid_store(&uid_s, "+FLAGS.SILENT (\\Deleted)"),
                    )
                    .await?;
                    within("UID STORE", st.try_collect::<Vec<_>>()).await?;
                    if has_uidplus {
                        let ex = within("UID EXPUNGE", s.uid_expunge(&uid_s)).await?;
                        within("UID EXPUNGE", ex.try_collect::<Vec<_>>()).await?;
                    } else {
                        let ex = within("EXPUNGE", s.expunge()).await?;
                        within("EXPUNGE", ex.try_collect::<Vec<_>>()).await?;
                    }
                    Ok(())
                }
            }
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(mailbox = self.name(), uid, error = %e, "after_import failed (the case is stored)");
        }
    }
}

fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.75 + rand::random::<f64>() / 2.0)
}
