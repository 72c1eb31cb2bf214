//! Dashboard accounts: users, sessions, login rate limiting and the audit
//! log.
//!
//! Session tokens are 256 random bits shown once (the cookie); the table
//! keeps only their SHA-256, as `api_tokens` does. Passwords arrive here
//! already hashed (`concierge_access::hash_password`).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use concierge_access::{Principal, Role};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Store, StoreError};

/// A dashboard user. The password hash is never part of it.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Id.
    pub id: Uuid,
    /// Login address (lower-case).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// A caseworker's volunteer record.
    pub volunteer_id: Option<Uuid>,
    /// Set when the account is disabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A user with their password hash, for checking a login.
#[derive(Clone)]
pub struct UserLogin {
    /// The user.
    pub user: UserView,
    /// Argon2id PHC string; `None` when no password is set.
    pub password_hash: Option<String>,
}

impl fmt::Debug for UserLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserLogin")
            .field("user", &self.user)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "…"))
            .finish()
    }
}

/// A live session, as found from its cookie.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The stored id (the token's digest), for logging out everywhere etc.
    pub id: String,
    /// Who, as the access policy sees them.
    pub principal: Principal,
    /// Their address.
    pub email: String,
    /// Their display name.
    pub name: String,
    /// The CSRF token bound to this session.
    pub csrf_token: String,
    /// Absolute end of the session.
    pub expires_at: DateTime<Utc>,
}

/// A new session: the secret token for the cookie, and the CSRF token.
#[derive(Clone)]
pub struct NewSession {
    /// The raw token; shown once, only its digest is stored.
    pub token: String,
    /// The CSRF token for forms.
    pub csrf_token: String,
    /// Absolute end of the session.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// One audit record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`None`: the system or the CLI).
    pub actor_user_id: Option<Uuid>,
    /// The actor's address, when there is one.
    pub actor_email: Option<String>,
    /// What, e.g. `user.disable`, `case.reassign`.
    pub action: String,
    /// The case concerned.
    pub ticket_id: Option<Uuid>,
    /// Details.
    pub detail: serde_json::Value,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

pub(crate) fn role(s: &str) -> Result<Role, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))
}

impl Store {
    /// Adds a user (the address is stored lower-case). A caseworker needs
    /// `volunteer_id`.
    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        role: Role,
        volunteer_id: Option<Uuid>,
        password_hash: Option<&str>,
    ) -> Result<Uuid, StoreError> {
        let id = sqlx::query_scalar!(
            "INSERT INTO users (id, email, name, role, volunteer_id, password_hash)
             VALUES ($1, lower(trim($2)), $3, $4, $5, $6) RETURNING id",
            Uuid::new_v4(),
            email,
            name,
            role.as_str(),
            volunteer_id,
            password_hash
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// The id of the volunteer with this address.
    pub async fn volunteer_id_by_email(&self, email: &str) -> Result<Option<Uuid>, StoreError> {
        let id = sqlx::query_scalar!(
            "SELECT id FROM volunteers WHERE email = lower(trim($1))",
            email
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(id)
    }

    /// Sets (or replaces) a user's password hash and ends all their
    /// sessions; the caller signs the user in afresh if appropriate.
    pub async fn set_password_hash(&self, user_id: Uuid, hash: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query!(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            user_id,
            hash
        )
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query!("DELETE FROM sessions WHERE user_id = $1", user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user with this address (any case), disabled or not, with their
    /// password hash.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<UserLogin>, StoreError> {
        let row = sqlx::query!(
            "SELECT id, email, name, role, volunteer_id, disabled_at, created_at, password_hash
             FROM users WHERE email = lower(trim($1))",
            email
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(UserLogin {
            user: UserView {
                id: r.id,
                email: r.email,
                name: r.name,
                role: role(&r.role)?,
                volunteer_id: r.volunteer_id,
                disabled_at: r.disabled_at,
                created_at: r.created_at,
            },
            password_hash: r.password_hash,
        }))
    }

    /// Disables a user and ends all their sessions, at once. Returns their
    /// id; disabling twice keeps the first time.
    pub async fn disable_user(&self, email: &str) -> Result<Uuid, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = sqlx::query_scalar!(
            "UPDATE users SET disabled_at = coalesce(disabled_at, now())
             WHERE email = lower(trim($1)) RETURNING id",
            email
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        sqlx::query!("DELETE FROM sessions WHERE user_id = $1", id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Starts a session for a user (call it at every login: each login gets
    /// a new id). Returns the raw token for the cookie; only its SHA-256 is
    /// stored. `lifetime` is the absolute limit.
    pub async fn create_session(
        &self,
        user_id: Uuid,
        user_agent: Option<&str>,
        lifetime: Duration,
    ) -> Result<NewSession, StoreError> {
        let token = random_hex();
        let csrf_token = random_hex();
        let user_agent = user_agent.map(|ua| ua.chars().take(512).collect::<String>());
        let expires_at = sqlx::query_scalar!(
            "INSERT INTO sessions (id, user_id, csrf_token, expires_at, user_agent)
             SELECT $1, id, $3, now() + make_interval(secs => $4), $5
             FROM users WHERE id = $2 AND disabled_at IS NULL
             RETURNING expires_at",
            digest(&token),
            user_id,
            csrf_token,
            secs(lifetime),
            user_agent
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(NewSession {
            token,
            csrf_token,
            expires_at,
        })
    }

    /// The live session with this token: not past its absolute expiry, seen
    /// within `idle`, and its user not disabled. A session found dead is
    /// deleted. `last_seen_at` is written at most once a minute, so the
    /// effective idle timeout is up to a minute shorter than `idle`.
    pub async fn session_by_token(
        &self,
        token: &str,
        idle: Duration,
    ) -> Result<Option<SessionInfo>, StoreError> {
        if token.len() != 64 {
            return Ok(None);
        }
        let id = digest(token);
        let row = sqlx::query!(
            r#"SELECT s.csrf_token, s.expires_at,
                      (s.expires_at > now()
                       AND s.last_seen_at > now() - make_interval(secs => $2)
                       AND u.disabled_at IS NULL) AS "live!",
                      (s.last_seen_at < now() - interval '1 minute') AS "stale!",
                      u.id AS user_id, u.email, u.name, u.role, u.volunteer_id,
                      coalesce(v.countries, '{}') AS "countries!"
               FROM sessions s
               JOIN users u ON u.id = s.user_id
               LEFT JOIN volunteers v ON v.id = u.volunteer_id
               WHERE s.id = $1"#,
            id,
            secs(idle)
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        if !r.live {
            sqlx::query!("DELETE FROM sessions WHERE id = $1", id)
                .execute(&self.pool)
                .await?;
            return Ok(None);
        }
        if r.stale {
            // At most once a minute, so reads stay reads.
            sqlx::query!("UPDATE sessions SET last_seen_at = now() WHERE id = $1", id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(SessionInfo {
            id,
            principal: Principal {
                user_id: r.user_id,
                role: role(&r.role)?,
                volunteer_id: r.volunteer_id,
                countries: r.countries,
            },
            email: r.email,
            name: r.name,
            csrf_token: r.csrf_token,
            expires_at: r.expires_at,
        }))
    }

    /// Ends the session with this token (logout). Whether there was one.
    pub async fn delete_session(&self, token: &str) -> Result<bool, StoreError> {
        let done = sqlx::query!("DELETE FROM sessions WHERE id = $1", digest(token))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes sessions past their absolute expiry or idle for longer than
    /// `idle`, and login attempts older than `attempts_window`; for the
    /// periodic sweep. Returns (sessions, attempts) deleted.
    pub async fn purge_expired_sessions(
        &self,
        idle: Duration,
        attempts_window: Duration,
    ) -> Result<(u64, u64), StoreError> {
        let s = sqlx::query!(
            "DELETE FROM sessions
             WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)",
            secs(idle)
        )
        .execute(&self.pool)
        .await?;
        let a = sqlx::query!(
            "DELETE FROM login_attempts WHERE at <= now() - make_interval(secs => $1)",
            secs(attempts_window)
        )
        .execute(&self.pool)
        .await?;
        Ok((s.rows_affected(), a.rows_affected()))
    }

    /// Records one failed login under `key` (build it with
    /// `concierge_access::login_key(email, client_ip)`: keyed by address
    /// *and* client, so failures from elsewhere never lock the real user
    /// out).
    pub async fn record_login_attempt(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query!("INSERT INTO login_attempts (key) VALUES ($1)", key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Failed logins under `key` within the last `window`.
    pub async fn recent_failed_attempts(
        &self,
        key: &str,
        window: Duration,
    ) -> Result<i64, StoreError> {
        let n = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM login_attempts
               WHERE key = $1 AND at > now() - make_interval(secs => $2)"#,
            key,
            secs(window)
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Forgets the failures under `key` (after a successful login).
    pub async fn clear_login_attempts(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query!("DELETE FROM login_attempts WHERE key = $1", key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Appends to the audit log; returns the record's id.
    pub async fn audit(
        &self,
        actor: Option<Uuid>,
        action: &str,
        ticket: Option<Uuid>,
        detail: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar!(
            "INSERT INTO audit_log (actor_user_id, action, ticket_id, detail)
             VALUES ($1, $2, $3, $4) RETURNING id",
            actor,
            action,
            ticket,
            detail
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Audit records, newest first: up to `limit` (at most 500) older than
    /// `before` (an id; `None` = from the newest), optionally for one case.
    pub async fn list_audit(
        &self,
        ticket: Option<Uuid>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT a.id, a.at, a.actor_user_id, u.email AS "actor_email?", a.action,
                      a.ticket_id, a.detail
               FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id
               WHERE ($1::uuid IS NULL OR a.ticket_id = $1)
                 AND ($2::bigint IS NULL OR a.id < $2)
               ORDER BY a.id DESC
               LIMIT $3"#,
            ticket,
            before,
            limit.clamp(1, 500)
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor_user_id: r.actor_user_id,
                actor_email: r.actor_email,
                action: r.action,
                ticket_id: r.ticket_id,
                detail: r.detail,
            })
            .collect())
    }
}
