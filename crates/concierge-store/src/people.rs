//! Managing dashboard users (the admin pages): listing, changing roles,
//! disabling and enabling. Every change keeps at least one enabled admin.

use chrono::{DateTime, Utc};
use concierge_access::Role;
use serde::Serialize;
use uuid::Uuid;

use crate::accounts::role;
use crate::routing::requeue_waiting_in;
use crate::{Store, StoreError};

/// A user as the admin pages list them.
#[derive(Debug, Clone, Serialize)]
pub struct UserRow {
    /// Id.
    pub id: Uuid,
    /// Login address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Their volunteer record, if any.
    pub volunteer_id: Option<Uuid>,
    /// Set when disabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Whether a password is set (false: invited, not yet set up).
    pub has_password: bool,
    /// Latest successful login (from the audit log).
    pub last_login: Option<DateTime<Utc>>,
}

/// Why a change to a user was refused.
#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// No such user.
    #[error("there is no such user")]
    NotFound,
    /// The change would leave no enabled admin.
    #[error("this would leave no enabled admin")]
    LastAdmin,
    /// A caseworker needs a volunteer record.
    #[error(
        "a caseworker needs a volunteer record: add a volunteer with this address first, or invite them as a caseworker"
    )]
    NeedsVolunteer,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PeopleError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Locks the enabled admins (so two concurrent changes cannot both remove
/// "the other" admin) and counts those other than `except`.
async fn other_admins(tx: &mut sqlx::PgConnection, except: Uuid) -> Result<usize, PeopleError> {
    let ids = sqlx::query_scalar!(
        "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE"
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(ids.into_iter().filter(|id| *id != except).count())
}

impl Store {
    /// Every user, by address, with their last login.
    pub async fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT u.id, u.email, u.name, u.role, u.volunteer_id, u.disabled_at, u.created_at,
                      (u.password_hash IS NOT NULL) AS "has_password!",
                      (SELECT max(a.at) FROM audit_log a
                        WHERE a.actor_user_id = u.id AND a.action = 'user.login') AS last_login
               FROM users u ORDER BY u.email"#
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(UserRow {
                    id: r.id,
                    email: r.email,
                    name: r.name,
                    role: role(&r.role)?,
                    volunteer_id: r.volunteer_id,
                    disabled_at: r.disabled_at,
                    created_at: r.created_at,
                    has_password: r.has_password,
                    last_login: r.last_login,
                })
            })
            .collect()
    }

    /// One user by id.
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRow>, StoreError> {
        Ok(self.list_users().await?.into_iter().find(|u| u.id == id))
    }

    /// Changes a user's role. A new caseworker keeps their volunteer
    /// record, or takes over the unclaimed volunteer record with their
    /// address; without one the change is refused. Returns the previous
    /// role.
    pub async fn set_user_role(&self, id: Uuid, new: Role) -> Result<Role, PeopleError> {
        let mut tx = self.pool.begin().await?;
        let admins = other_admins(&mut tx, id).await?;
        let user = sqlx::query!(
            "SELECT role, email, volunteer_id, disabled_at FROM users WHERE id = $1 FOR UPDATE",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(PeopleError::NotFound)?;
        let old = role(&user.role)?;
        if old == Role::Admin && new != Role::Admin && user.disabled_at.is_none() && admins == 0 {
            return Err(PeopleError::LastAdmin);
        }
        let volunteer_id = match (new, user.volunteer_id) {
            (Role::Caseworker, None) => Some(
                sqlx::query_scalar!(
                    "SELECT v.id FROM volunteers v
                     WHERE v.email = $1
                       AND NOT EXISTS (SELECT 1 FROM users u WHERE u.volunteer_id = v.id)",
                    user.email
                )
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(PeopleError::NeedsVolunteer)?,
            ),
            (_, v) => v,
        };
        sqlx::query!(
            "UPDATE users SET role = $2, volunteer_id = $3 WHERE id = $1",
            id,
            new.as_str(),
            volunteer_id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(old)
    }

    /// Disables a user: their sessions end at once and their volunteer
    /// record (if any) stops receiving cases. Disabling twice keeps the
    /// first time. Refused for the last enabled admin.
    pub async fn disable_user_by_id(&self, id: Uuid) -> Result<(), PeopleError> {
        let mut tx = self.pool.begin().await?;
        let admins = other_admins(&mut tx, id).await?;
        let user = sqlx::query!(
            "SELECT role, volunteer_id FROM users WHERE id = $1 FOR UPDATE",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(PeopleError::NotFound)?;
        if user.role == "admin" && admins == 0 {
            return Err(PeopleError::LastAdmin);
        }
        sqlx::query!(
            "UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1",
            id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("DELETE FROM sessions WHERE user_id = $1", id)
            .execute(&mut *tx)
            .await?;
        if let Some(v) = user.volunteer_id {
            sqlx::query!(
                "UPDATE volunteers SET active = false, updated_at = now() WHERE id = $1",
                v
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Enables a disabled user again (they sign in with their password, or
    /// need a new link); their volunteer record takes cases again, and
    /// waiting cases are re-routed.
    pub async fn enable_user(&self, id: Uuid) -> Result<(), PeopleError> {
        let mut tx = self.pool.begin().await?;
        let volunteer = sqlx::query!(
            "UPDATE users SET disabled_at = NULL WHERE id = $1 RETURNING volunteer_id",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(PeopleError::NotFound)?;
        if let Some(v) = volunteer.volunteer_id {
            sqlx::query!(
                "UPDATE volunteers SET active = true, updated_at = now() WHERE id = $1",
                v
            )
            .execute(&mut *tx)
            .await?;
            requeue_waiting_in(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// An API token as the admin pages list it (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct ApiTokenRow {
    /// Id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The address of the user it acts as (`None`: an old token without a
    /// user, which is refused).
    pub owner: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last used (recorded at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Set when revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Every API token, newest first.
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRow>, StoreError> {
        Ok(sqlx::query_as!(
            ApiTokenRow,
            r#"SELECT t.id, t.name, u.email AS "owner?", t.created_at, t.last_used_at, t.revoked_at
               FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
               ORDER BY t.created_at DESC, t.id"#
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes one token by id; revoking twice keeps the first time.
    /// Returns its name; `NotFound` when there is no such token.
    pub async fn revoke_api_token(&self, id: Uuid) -> Result<String, StoreError> {
        sqlx::query_scalar!(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
             RETURNING name",
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)
    }
}
