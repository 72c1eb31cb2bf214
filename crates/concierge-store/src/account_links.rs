//! Account links: single-use, expiring links that let a person choose a
//! password — an invitation for a new account, or a password reset.
//!
//! The link carries a random 256-bit token shown once (in the mail, or
//! printed by the CLI); the table keeps only its SHA-256. Using a link
//! sets the password, marks the link used, marks the user's other open
//! links of that purpose used and ends all the user's sessions, in one
//! transaction. Links of disabled users never work.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use concierge_access::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::outbox::{NewMail, enqueue_mail};
use crate::routing::requeue_waiting_in;
use crate::{Store, StoreError};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkPurpose {
    /// A new account's first password.
    Invite,
    /// A forgotten password.
    Reset,
}

impl LinkPurpose {
    /// The stored name (also the outbox `kind` of its mail).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }
}

impl fmt::Display for LinkPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LinkPurpose {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "invite" => Ok(LinkPurpose::Invite),
            "reset" => Ok(LinkPurpose::Reset),
            other => Err(StoreError::Database(sqlx::Error::Decode(
                format!("unknown link purpose {other:?}").into(),
            ))),
        }
    }
}

/// A link about to be issued: its id (the cause of its mail) and its
/// secret token. Only the token's digest is ever stored.
#[derive(Clone)]
pub struct NewLink {
    /// Row id.
    pub id: Uuid,
    /// The raw token (64 hex characters = 256 random bits).
    pub token: String,
    /// What it is for.
    pub purpose: LinkPurpose,
    /// How long it works.
    pub valid_for: Duration,
}

impl fmt::Debug for NewLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewLink")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("valid_for", &self.valid_for)
            .finish_non_exhaustive()
    }
}

impl NewLink {
    /// A fresh link with a random 256-bit token.
    pub fn generate(purpose: LinkPurpose, valid_for: Duration) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self {
            id: Uuid::new_v4(),
            token: hex::encode(bytes),
            purpose,
            valid_for,
        }
    }

    /// The outbox cause of this link's mail: one mail per link, however
    /// often composing is retried.
    pub fn mail_cause(&self) -> String {
        format!("{}:{}", self.purpose, self.id)
    }
}

/// Who a live link is for.
#[derive(Debug, Clone)]
pub struct LinkTarget {
    /// The link's row id.
    pub link_id: Uuid,
    /// What it is for.
    pub purpose: LinkPurpose,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The user.
    pub user_id: Uuid,
    /// Their address.
    pub email: String,
    /// Their display name.
    pub name: String,
}

/// A new account, created together with its invitation.
#[derive(Debug, Clone)]
pub struct NewInvite {
    /// Login address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// For a caseworker: the volunteer record to create (or to take over
    /// when a volunteer with this address exists without a login).
    pub volunteer: Option<InviteVolunteer>,
}

/// The volunteer record of an invited caseworker.
#[derive(Debug, Clone)]
pub struct InviteVolunteer {
    /// Countries covered (validated by the caller).
    pub countries: Vec<String>,
    /// Languages spoken (validated by the caller).
    pub languages: Vec<String>,
    /// Maximum active cases.
    pub capacity: i32,
}

/// Why an invitation could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// A user with this address (or holding this volunteer record) exists.
    #[error("a user with this address already exists")]
    Exists,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` looks like one of ours (before touching the database).
fn well_formed(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn insert_link(
    tx: &mut sqlx::PgConnection,
    user_id: Uuid,
    link: &NewLink,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO account_links (id, token_sha256, user_id, purpose, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        link.id,
        digest(&link.token),
        user_id,
        link.purpose.as_str(),
        link.valid_for.as_secs_f64()
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Store {
    /// Issues `link` for a user and, when given, queues its mail, in one
    /// transaction (the mail's cause is [`NewLink::mail_cause`]). `NotFound`
    /// when the user does not exist or is disabled.
    pub async fn issue_account_link(
        &self,
        user_id: Uuid,
        link: &NewLink,
        mail: Option<&NewMail>,
    ) -> Result<(), StoreError> {
        self.issue_account_link_limited(user_id, link, mail, None)
            .await
            .map(|_| ())
    }

    /// As [`Store::issue_account_link`], unless the user already had
    /// `limit.0` links of this purpose within `limit.1`: then nothing is
    /// issued and the answer is `false`. The check holds under concurrent
    /// requests (the user's row is locked).
    pub async fn issue_account_link_limited(
        &self,
        user_id: Uuid,
        link: &NewLink,
        mail: Option<&NewMail>,
        limit: Option<(i64, Duration)>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let live = sqlx::query_scalar!(
            "SELECT id FROM users WHERE id = $1 AND disabled_at IS NULL FOR UPDATE",
            user_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        if live.is_none() {
            return Err(StoreError::NotFound);
        }
        if let Some((max, window)) = limit {
            let recent = sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM account_links
                   WHERE user_id = $1 AND purpose = $2
                     AND created_at > now() - make_interval(secs => $3)"#,
                user_id,
                link.purpose.as_str(),
                window.as_secs_f64()
            )
            .fetch_one(&mut *tx)
            .await?;
            if recent >= max {
                return Ok(false);
            }
        }
        insert_link(&mut tx, user_id, link).await?;
        if let Some(m) = mail {
            enqueue_mail(&mut tx, m).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Creates an account without a password, its volunteer record for a
    /// caseworker, and its invitation link (and mail, when given), in one
    /// transaction; waiting cases are re-routed when a volunteer is added.
    /// Returns the user's id.
    pub async fn invite_user(
        &self,
        invite: &NewInvite,
        link: &NewLink,
        mail: Option<&NewMail>,
    ) -> Result<Uuid, InviteError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let volunteer_id = match &invite.volunteer {
            None => None,
            Some(v) => Some(
                sqlx::query_scalar!(
                    "INSERT INTO volunteers (id, email, name, countries, languages, capacity)
                     VALUES ($1, lower(trim($2)), $3, $4, $5, $6)
                     ON CONFLICT (email) DO UPDATE SET
                        countries = EXCLUDED.countries, languages = EXCLUDED.languages,
                        capacity = EXCLUDED.capacity, updated_at = now()
                     RETURNING id",
                    Uuid::new_v4(),
                    invite.email,
                    invite.name,
                    &v.countries,
                    &v.languages,
                    v.capacity
                )
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)?,
            ),
        };
        let user_id = sqlx::query_scalar!(
            "INSERT INTO users (id, email, name, role, volunteer_id)
             VALUES ($1, lower(trim($2)), $3, $4, $5)
             ON CONFLICT DO NOTHING RETURNING id",
            Uuid::new_v4(),
            invite.email,
            invite.name,
            invite.role.as_str(),
            volunteer_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .ok_or(InviteError::Exists)?;
        insert_link(&mut tx, user_id, link).await?;
        if let Some(m) = mail {
            enqueue_mail(&mut tx, m).await?;
        }
        if volunteer_id.is_some() {
            requeue_waiting_in(&mut tx).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(user_id)
    }

    /// Who the link with this token is for, while it works: not used, not
    /// expired, its user not disabled. Reading it changes nothing.
    pub async fn account_link(&self, token: &str) -> Result<Option<LinkTarget>, StoreError> {
        if !well_formed(token) {
            return Ok(None);
        }
        let row = sqlx::query!(
            "SELECT l.id, l.purpose, l.expires_at, u.id AS user_id, u.email, u.name
             FROM account_links l JOIN users u ON u.id = l.user_id
             WHERE l.token_sha256 = $1 AND l.used_at IS NULL AND l.expires_at > now()
               AND u.disabled_at IS NULL",
            digest(token)
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(LinkTarget {
            link_id: r.id,
            purpose: r.purpose.parse()?,
            expires_at: r.expires_at,
            user_id: r.user_id,
            email: r.email,
            name: r.name,
        }))
    }

    /// Uses a link: in one transaction, sets the user's password hash,
    /// marks this link and the user's other open links of the same
    /// purpose used, and ends all the user's sessions. `None` (and no
    /// change) when the link is unknown, used, expired or its user
    /// disabled; of two concurrent uses only one succeeds.
    pub async fn use_account_link(
        &self,
        token: &str,
        password_hash: &str,
    ) -> Result<Option<LinkTarget>, StoreError> {
        if !well_formed(token) {
            return Ok(None);
        }
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query!(
            "SELECT l.id, l.purpose, l.expires_at, u.id AS user_id, u.email, u.name
             FROM account_links l JOIN users u ON u.id = l.user_id
             WHERE l.token_sha256 = $1 AND l.used_at IS NULL AND l.expires_at > now()
               AND u.disabled_at IS NULL
             FOR UPDATE OF l, u",
            digest(token)
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(r) = row else { return Ok(None) };
        sqlx::query!(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            r.user_id,
            password_hash
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE account_links SET used_at = now()
             WHERE used_at IS NULL AND (id = $1 OR (user_id = $2 AND purpose = $3))",
            r.id,
            r.user_id,
            r.purpose
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("DELETE FROM sessions WHERE user_id = $1", r.user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(LinkTarget {
            link_id: r.id,
            purpose: r.purpose.parse()?,
            expires_at: r.expires_at,
            user_id: r.user_id,
            email: r.email,
            name: r.name,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_and_hidden_from_debug() {
        let a = NewLink::generate(LinkPurpose::Invite, Duration::from_secs(60));
        let b = NewLink::generate(LinkPurpose::Invite, Duration::from_secs(60));
        assert_eq!(a.token.len(), 64);
        assert!(well_formed(&a.token));
        assert_ne!(a.token, b.token);
        assert!(!format!("{a:?}").contains(&a.token));
        assert_eq!(a.mail_cause(), format!("invite:{}", a.id));
        assert_eq!(digest(&a.token).len(), 64);
        assert_ne!(digest(&a.token), a.token);
    }

    #[test]
    fn malformed_tokens_are_refused_early() {
        assert!(!well_formed(""));
        assert!(!well_formed(&"A".repeat(64)));
        assert!(!well_formed(&"0".repeat(63)));
        assert!(!well_formed(&"0".repeat(65)));
        assert!(!well_formed(&format!("{}g", "0".repeat(63))));
        assert!(well_formed(&"0123456789abcdef".repeat(4)));
    }

    #[test]
    fn purposes_round_trip() {
        for p in [LinkPurpose::Invite, LinkPurpose::Reset] {
            assert_eq!(p.as_str().parse::<LinkPurpose>().unwrap(), p);
        }
        assert!("other".parse::<LinkPurpose>().is_err());
    }
}
