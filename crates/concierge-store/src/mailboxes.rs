//! Bookkeeping of the mailbox doors: per IMAP mailbox the UIDVALIDITY and
//! highest UID committed, its state, and the lease that keeps one poller
//! per mailbox across processes; per imported file its progress.

use chrono::{DateTime, Utc};

use crate::{Store, StoreError};

/// Where a mailbox's poller resumes: what was committed under which
/// UIDVALIDITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bookmark {
    /// The folder's UIDVALIDITY when `last_uid` was committed (`None`:
    /// never polled).
    pub uid_validity: Option<u32>,
    /// Every message up to this UID is stored.
    pub last_uid: u32,
}

/// One mailbox as `concierge imap status` and the dashboard show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MailboxRow {
    /// The configured name.
    pub name: String,
    /// `starting`, `connecting`, `polling`, `idle`, `auth_failed`,
    /// `unreachable` or `error`.
    pub status: String,
    /// The last error or note (never a secret).
    pub detail: Option<String>,
    /// When the status was set.
    pub status_at: DateTime<Utc>,
    /// The last time new mail was committed or a poll found none.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The folder's UIDVALIDITY.
    pub uid_validity: Option<i64>,
    /// Highest UID committed.
    pub last_uid: i64,
    /// Messages taken from it so far.
    pub imported: i64,
    /// The process polling it while its lease runs.
    pub lease_holder: Option<String>,
    /// When the lease ends unless renewed.
    pub lease_expires_at: Option<DateTime<Utc>>,
}

fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

fn bookmark(uid_validity: Option<i64>, last_uid: i64) -> Bookmark {
    Bookmark {
        uid_validity: uid_validity.and_then(|v| u32::try_from(v).ok()),
        last_uid: u32::try_from(last_uid).unwrap_or(0),
    }
}

impl Store {
    /// Takes (or keeps) the lease on a mailbox for `holder` when it is free,
    /// already `holder`'s, or expired; `None` while another process holds it.
    pub async fn imap_acquire(
        &self,
        name: &str,
        holder: &str,
        lease: std::time::Duration,
    ) -> Result<Option<Bookmark>, StoreError> {
        let row = sqlx::query!(
            r#"INSERT INTO imap_mailboxes (name, lease_holder, lease_expires_at)
               VALUES ($1, $2, now() + make_interval(secs => $3))
               ON CONFLICT (name) DO UPDATE
                 SET lease_holder = EXCLUDED.lease_holder,
                     lease_expires_at = EXCLUDED.lease_expires_at
                 WHERE imap_mailboxes.lease_holder IS NULL
                    OR imap_mailboxes.lease_holder = EXCLUDED.lease_holder
                    OR imap_mailboxes.lease_expires_at < now()
               RETURNING uid_validity, last_uid"#,
            name,
            holder,
            secs(lease)
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| bookmark(r.uid_validity, r.last_uid)))
    }

    /// Extends `holder`'s lease; `false` when it was lost (expired and
    /// taken over): the holder must stop.
    pub async fn imap_renew(
        &self,
        name: &str,
        holder: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query!(
            "UPDATE imap_mailboxes SET lease_expires_at = now() + make_interval(secs => $3)
             WHERE name = $1 AND lease_holder = $2",
            name,
            holder,
            secs(lease)
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Gives the lease up (on shutdown), so another process takes over at once.
    pub async fn imap_release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE imap_mailboxes SET lease_holder = NULL, lease_expires_at = NULL
             WHERE name = $1 AND lease_holder = $2",
            name,
            holder
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that every message up to `last_uid` under `uid_validity` is
    /// committed (`stored` of them new to this mailbox's count), and renews
    /// the lease. Only the holder may write: `false` when the lease was lost.
    pub async fn imap_commit_uid(
        &self,
        name: &str,
        holder: &str,
        uid_validity: u32,
        last_uid: u32,
        stored: u32,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query!(
            "UPDATE imap_mailboxes SET uid_validity = $3, last_uid = $4,
                 imported = imported + $5, last_success_at = now(),
                 lease_expires_at = now() + make_interval(secs => $6)
             WHERE name = $1 AND lease_holder = $2",
            name,
            holder,
            i64::from(uid_validity),
            i64::from(last_uid),
            i64::from(stored),
            secs(lease)
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Sets the mailbox's state as its holder sees it (`detail` is shown to
    /// admins: never put a secret in it). `false` when the lease was lost.
    pub async fn imap_set_status(
        &self,
        name: &str,
        holder: &str,
        status: &str,
        detail: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query!(
            "UPDATE imap_mailboxes SET status = $3, detail = $4, status_at = now(),
                 last_success_at = CASE WHEN $3 IN ('polling', 'idle') THEN now()
                                        ELSE last_success_at END
             WHERE name = $1 AND lease_holder = $2",
            name,
            holder,
            status,
            detail
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Every mailbox seen so far, by name.
    pub async fn imap_mailboxes(&self) -> Result<Vec<MailboxRow>, StoreError> {
        let rows = sqlx::query_as!(
            MailboxRow,
            "SELECT name, status, detail, status_at, last_success_at, uid_validity, last_uid,
                    imported, lease_holder, lease_expires_at
             FROM imap_mailboxes ORDER BY name"
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Progress of an imported file or Maildir message: (bytes done, done).
    pub async fn import_progress(&self, path: &str) -> Result<Option<(u64, bool)>, StoreError> {
        let row = sqlx::query!(
            "SELECT byte_offset, done FROM import_files WHERE path = $1",
            path
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (u64::try_from(r.byte_offset).unwrap_or(0), r.done)))
    }

    /// Records an imported file's progress (`kind`: `mbox` or `maildir`).
    pub async fn import_set_progress(
        &self,
        path: &str,
        kind: &str,
        byte_offset: u64,
        done: bool,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "INSERT INTO import_files (path, kind, byte_offset, done) VALUES ($1, $2, $3, $4)
             ON CONFLICT (path) DO UPDATE SET byte_offset = EXCLUDED.byte_offset,
                 done = EXCLUDED.done, updated_at = now()",
            path,
            kind,
            i64::try_from(byte_offset).unwrap_or(i64::MAX),
            done
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
