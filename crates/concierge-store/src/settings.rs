//! Instance-wide settings kept in the database so that every process agrees.

use rand::RngCore;

use crate::{Store, StoreError};

const REPLY_SECRET: &str = "reply_token_secret";

impl Store {
    /// The secret that signs reply tokens: created once at random on first
    /// use and shared by every `serve` and `worker` process.
    pub async fn reply_token_secret(&self) -> Result<Vec<u8>, StoreError> {
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        let fresh = hex::encode(fresh);
        sqlx::query!(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            REPLY_SECRET,
            fresh
        )
        .execute(&self.pool)
        .await?;
        let value = sqlx::query_scalar!("SELECT value FROM settings WHERE key = $1", REPLY_SECRET)
            .fetch_one(&self.pool)
            .await?;
        Ok(value.into_bytes())
    }
}
