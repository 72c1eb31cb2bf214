//! API tokens: random secrets shown once, stored as SHA-256 digests.

use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Store, StoreError};

const PREFIX: &str = "cct_";

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Creates a token and returns its secret; only the digest is stored.
    pub async fn create_api_token(&self, name: &str) -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("{PREFIX}{}", hex::encode(bytes));
        sqlx::query!(
            "INSERT INTO api_tokens (id, name, token_sha256) VALUES ($1, $2, $3)",
            Uuid::new_v4(),
            name,
            digest(&token)
        )
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// The name of the live token with this secret, if any.
    pub async fn verify_api_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        if !token.starts_with(PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let row = sqlx::query!(
            r#"SELECT id, name, (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') AS "stale!"
               FROM api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL"#,
            digest(token)
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        if row.stale {
            // Recorded at most once a minute, so reads stay reads.
            sqlx::query!(
                "UPDATE api_tokens SET last_used_at = now() WHERE id = $1",
                row.id
            )
            .execute(&self.pool)
            .await?;
        }
        let name = Some(row.name);
        Ok(name)
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
