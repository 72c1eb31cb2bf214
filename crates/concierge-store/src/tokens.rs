//! API tokens: random secrets shown once, stored as SHA-256 digests. Each
//! token acts as one user (`api_tokens.user_id`): the access policy of
//! that user's role applies to every request made with it.

use concierge_access::Principal;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::accounts::role;
use crate::{Store, StoreError};

const PREFIX: &str = "cct_";

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What a presented API token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiTokenCheck {
    /// No live token has this secret (unknown, malformed or revoked).
    Invalid,
    /// A live token that belongs to no user: created before tokens had
    /// owners. Refused; a new one is needed.
    NoUser {
        /// The token's name.
        name: String,
    },
    /// A live token whose user is disabled. Refused.
    UserDisabled {
        /// The token's name.
        name: String,
    },
    /// A live token of an enabled user.
    Valid {
        /// The token's name.
        name: String,
        /// Its user, as the access policy sees them.
        principal: Principal,
        /// Its user's address.
        email: String,
    },
}

impl Store {
    /// Creates a token acting as `user_id` and returns its secret; only
    /// the digest is stored. `NotFound` when the user does not exist or is
    /// disabled.
    pub async fn create_api_token(&self, name: &str, user_id: Uuid) -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("{PREFIX}{}", hex::encode(bytes));
        let done = sqlx::query!(
            "INSERT INTO api_tokens (id, name, token_sha256, user_id)
             SELECT $1, $2, $3, id FROM users WHERE id = $4 AND disabled_at IS NULL",
            Uuid::new_v4(),
            name,
            digest(&token),
            user_id
        )
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(token)
    }

    /// Checks a presented token: who it acts as, built as a dashboard
    /// session's principal is (role, volunteer record, covered countries).
    pub async fn verify_api_token(&self, token: &str) -> Result<ApiTokenCheck, StoreError> {
        if !token.starts_with(PREFIX) || token.len() > 200 {
            return Ok(ApiTokenCheck::Invalid);
        }
        let row = sqlx::query!(
            r#"SELECT t.id, t.name,
                      (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS "stale!",
                      u.id AS "user_id?", u.email AS "email?", u.role AS "role?",
                      u.volunteer_id, (u.disabled_at IS NOT NULL) AS "disabled?",
                      coalesce(v.countries, '{}') AS "countries!"
               FROM api_tokens t
               LEFT JOIN users u ON u.id = t.user_id
               LEFT JOIN volunteers v ON v.id = u.volunteer_id
               WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL"#,
            digest(token)
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(ApiTokenCheck::Invalid);
        };
        let name = row.name;
        let (Some(user_id), Some(email), Some(role_name)) = (row.user_id, row.email, row.role)
        else {
            return Ok(ApiTokenCheck::NoUser { name });
        };
        if row.disabled.unwrap_or(true) {
            return Ok(ApiTokenCheck::UserDisabled { name });
        }
        if row.stale {
            // Recorded at most once a minute, so reads stay reads.
            sqlx::query!(
                "UPDATE api_tokens SET last_used_at = now() WHERE id = $1",
                row.id
            )
            .execute(&self.pool)
            .await?;
        }
        Ok(ApiTokenCheck::Valid {
            name,
            principal: Principal {
                user_id,
                role: role(&role_name)?,
                volunteer_id: row.volunteer_id,
                countries: row.countries,
            },
            email,
        })
    }

    /// Revokes every live token with this name; returns how many.
    pub async fn revoke_api_tokens(&self, name: &str) -> Result<u64, StoreError> {
        let done = sqlx::query!(
            "UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL",
            name
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
