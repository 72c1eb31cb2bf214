//! `concierge import mbox|maildir`: existing mail through the same ingest
//! as every door, as history (no acknowledgements, no notices, no
//! first-response targets, original dates), resumable and idempotent.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use concierge_core::message::MessageClass;
use concierge_inbound::{Delivery, ImportMode, Inbound, IngestError, MailboxOutcome};
use concierge_store::{InboundSource, IngestOutcome};

use crate::mbox;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading a file failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a Maildir (no `cur/` or `new/`).
    #[error("{0} is not a Maildir (it has neither cur/ nor new/)")]
    NotMaildir(String),
    /// The database failed; run the import again to resume.
    #[error("storing failed (run the import again to resume): {0}")]
    Store(String),
}

impl From<IngestError> for ImportError {
    fn from(e: IngestError) -> Self {
        Self::Store(e.to_string())
    }
}

impl From<concierge_store::StoreError> for ImportError {
    fn from(e: concierge_store::StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Messages read.
    pub messages: u64,
    /// Bytes read.
    pub bytes: u64,
    /// New cases opened.
    pub new_cases: u64,
    /// Messages threaded onto an existing case.
    pub replies_threaded: u64,
    /// Messages already stored (earlier runs, or the same message twice).
    pub duplicates: u64,
    /// Auto-replies among the stored messages.
    pub auto_replies: u64,
    /// Delivery reports (bounces) among the stored messages.
    pub bounces: u64,
    /// Messages kept raw because they could not be parsed.
    pub unparseable: u64,
    /// Files (mbox) or messages (Maildir) skipped as done by an earlier run.
    pub skipped_done: u64,
}

impl Summary {
    fn count(&mut self, o: &MailboxOutcome) {
        match o.outcome {
            IngestOutcome::Created { .. } => self.new_cases += 1,
            IngestOutcome::Appended { .. } => self.replies_threaded += 1,
            IngestOutcome::Duplicate { .. } => {
                self.duplicates += 1;
                return;
            }
        }
        match o.class {
            MessageClass::AutoReply | MessageClass::Loop => self.auto_replies += 1,
            MessageClass::Bounce => self.bounces += 1,
            MessageClass::Unparseable => self.unparseable += 1,
            MessageClass::Human => {}
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} messages ({:.1} MB): {} new cases, {} replies threaded, {} duplicates, {} auto-replies, {} bounces, {} unparseable kept raw",
            self.messages,
            self.bytes as f64 / 1e6,
            self.new_cases,
            self.replies_threaded,
            self.duplicates,
            self.auto_replies,
            self.bounces,
            self.unparseable
        )?;
        if self.skipped_done > 0 {
            write!(
                f,
                ", {} skipped (done in an earlier run)",
                self.skipped_done
            )?;
        }
        Ok(())
    }
}

/// Options of an import.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Threads with no message since this date are resolved.
    pub open_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// Progress display: a bar on a terminal, a log line every few seconds
/// otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    began: Instant,
    last_line: Instant,
    total: u64,
}

impl Progress {
    fn new(total_bytes: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total_bytes);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        Self {
            bar,
            began: Instant::now(),
            last_line: Instant::now(),
            total: total_bytes,
        }
    }

    fn update(&mut self, done_bytes: u64, s: &Summary) {
        let secs = self.began.elapsed().as_secs_f64().max(0.001);
        let rate = s.messages as f64 / secs;
        if let Some(b) = &self.bar {
            b.set_position(done_bytes);
            b.set_message(format!("{} messages, {rate:.0} msg/s", s.messages));
        } else if self.last_line.elapsed() >= Duration::from_secs(5) {
            self.last_line = Instant::now();
            let mb_rate = done_bytes as f64 / 1e6 / secs;
            let eta = if mb_rate > 0.0 {
                format!(
                    "{:.0} s",
                    (self.total.saturating_sub(done_bytes)) as f64 / 1e6 / mb_rate
                )
            } else {
                "?".into()
            };
            eprintln!(
                "import: {} messages, {:.1}/{:.1} MB, {rate:.0} msg/s, {mb_rate:.1} MB/s, ETA {eta}",
                s.messages,
                done_bytes as f64 / 1e6,
                self.total as f64 / 1e6
            );
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn key_of(path: &Path) -> Result<String, ImportError> {
    let canonical = std::fs::canonicalize(path).map_err(io_err(path))?;
    Ok(canonical.to_string_lossy().into_owned())
}

async fn store_one(
    inbound: &Inbound,
    raw: Vec<u8>,
    opts: Options,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    summary.messages += 1;
    summary.bytes += raw.len() as u64;
    let o = inbound
        .ingest_mailbox(
            Delivery {
                source: InboundSource::Import,
                envelope_from: None,
                envelope_to: Vec::new(),
                raw,
            },
            Some(ImportMode {
                open_since: opts.open_since,
            }),
        )
        .await?;
    summary.count(&o);
    Ok(())
}

/// Where to start reading an mbox of `size` bytes whose earlier runs
/// stopped at `saved` (`done`: they reached its end); `None` when there is
/// nothing new. A file that grew (a later export appended to it) is read
/// from where the last run ended; one that shrank was replaced and is read
/// again from the start (what is already stored is recognised).
fn resume_at(saved: u64, done: bool, size: u64) -> Option<u64> {
    if size < saved {
        Some(0)
    } else if done && size == saved {
        None
    } else {
        Some(saved)
    }
}

/// Imports mbox files, resuming each where an earlier run stopped.
pub async fn import_mbox(
    inbound: &Inbound,
    files: &[PathBuf],
    opts: Options,
) -> Result<Summary, ImportError> {
    let mut summary = Summary::default();
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let mut progress = Progress::new(total);
    let mut before = 0u64;
    let max = inbound.max_message_bytes();
    for file in files {
        let key = format!("mbox:{}", key_of(file)?);
        let size = std::fs::metadata(file).map_err(io_err(file))?.len();
        let (saved, done) = inbound
            .store()
            .import_progress(&key)
            .await?
            .unwrap_or((0, false));
        let Some(offset) = resume_at(saved, done, size) else {
            summary.skipped_done += 1;
            before += size;
            continue;
        };
        // Read on a blocking thread, a few messages ahead.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<mbox::Message>>(8);
        let path = file.clone();
        let reader = tokio::task::spawn_blocking(move || {
            use std::io::{Seek, SeekFrom};
            let f = std::fs::File::open(&path).and_then(|mut f| {
                f.seek(SeekFrom::Start(offset))?;
                Ok(f)
            });
            let f = match f {
                Ok(f) => f,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            let mut r = mbox::Reader::new(
                std::io::BufReader::with_capacity(256 * 1024, f),
                offset,
                max,
            );
            loop {
                match r.next_message() {
                    Ok(Some(m)) => {
                        if tx.blocking_send(Ok(m)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        let mut last_saved = Instant::now();
        let mut at = offset;
        while let Some(m) = rx.recv().await {
            let m = m.map_err(io_err(file))?;
            store_one(inbound, m.raw, opts, &mut summary).await?;
            at = m.end;
            if last_saved.elapsed() >= Duration::from_secs(1) {
                inbound
                    .store()
                    .import_set_progress(&key, "mbox", at, false)
                    .await?;
                last_saved = Instant::now();
            }
            progress.update(before + at, &summary);
        }
        let _ = reader.await;
        inbound
            .store()
            .import_set_progress(&key, "mbox", at, true)
            .await?;
        before += size;
    }
    progress.finish();
    Ok(summary)
}

/// The message files of a Maildir (`cur/` and `new/`), in name order
/// (Maildir names start with the delivery time).
pub fn maildir_files(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let mut files = Vec::new();
    let mut any = false;
    for sub in ["cur", "new"] {
        let d = dir.join(sub);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        any = true;
        for e in entries {
            let e = e.map_err(io_err(&d))?;
            if e.file_type().map_err(io_err(&d))?.is_file()
                && !e.file_name().to_string_lossy().starts_with('.')
            {
                files.push(e.path());
            }
        }
    }
    if !any {
        return Err(ImportError::NotMaildir(dir.display().to_string()));
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// A Maildir message's stable name: its file name without the `:2,FLAGS`
/// info part (which changes when it is read or flagged).
pub fn maildir_unique(name: &str) -> &str {
    name.split_once(':').map_or(name, |(u, _)| u)
}

/// Imports Maildirs, skipping messages done by an earlier run.
pub async fn import_maildir(
    inbound: &Inbound,
    dirs: &[PathBuf],
    opts: Options,
) -> Result<Summary, ImportError> {
    let mut summary = Summary::default();
    let mut lists = Vec::new();
    let mut total = 0u64;
    for d in dirs {
        let files = maildir_files(d)?;
        total += files
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .sum::<u64>();
        lists.push((key_of(d)?, files));
    }
    let mut progress = Progress::new(total);
    let max = inbound.max_message_bytes();
    let mut done_bytes = 0u64;
    for (dir_key, files) in lists {
        for f in files {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let key = format!("maildir:{dir_key}/{}", maildir_unique(&name));
            if let Some((_, true)) = inbound.store().import_progress(&key).await? {
                summary.skipped_done += 1;
                continue;
            }
            // Bounded: at most one byte over the limit is read.
            let raw = {
                use std::io::Read;
                let file = std::fs::File::open(&f).map_err(io_err(&f))?;
                let mut raw = Vec::new();
                file.take(max as u64 + 1)
                    .read_to_end(&mut raw)
                    .map_err(io_err(&f))?;
                raw
            };
            done_bytes += raw.len() as u64;
            store_one(inbound, raw, opts, &mut summary).await?;
            inbound
                .store()
                .import_set_progress(&key, "maildir", 0, true)
                .await?;
            progress.update(done_bytes, &summary);
        }
    }
    progress.finish();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_grown_files_and_rereads_replaced_ones() {
        assert_eq!(resume_at(0, false, 100), Some(0));
        assert_eq!(resume_at(40, false, 100), Some(40));
        assert_eq!(resume_at(100, true, 100), None);
        assert_eq!(resume_at(100, true, 150), Some(100));
        assert_eq!(resume_at(100, true, 60), Some(0));
    }

    #[test]
    fn maildir_unique_names_ignore_flags() {
        assert_eq!(
            maildir_unique("1700000000.M1P2.host:2,S"),
            "1700000000.M1P2.host"
        );
        assert_eq!(
            maildir_unique("1700000000.M1P2.host"),
            "1700000000.M1P2.host"
        );
    }

    #[test]
    fn summary_counts_by_outcome_and_class() {
        let mut s = Summary::default();
        let r: concierge_core::ticket::TicketReference = "C-ABCDEF".parse().unwrap_or_else(|_| {
            concierge_core::ticket::TicketReference::generate(&mut rand::rng())
        });
        let id = uuid_like();
        s.count(&MailboxOutcome {
            outcome: IngestOutcome::Created {
                ticket_id: id,
                reference: r.clone(),
                message_id: id,
            },
            class: MessageClass::Unparseable,
        });
        s.count(&MailboxOutcome {
            outcome: IngestOutcome::Duplicate { reference: r },
            class: MessageClass::Bounce,
        });
        assert_eq!(
            (s.new_cases, s.unparseable, s.duplicates, s.bounces),
            (1, 1, 1, 0)
        );
    }

    fn uuid_like() -> uuid::Uuid {
        uuid::Uuid::nil()
    }
}
