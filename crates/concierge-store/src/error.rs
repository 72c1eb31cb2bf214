use thiserror::Error;

/// A storage failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database cannot be reached or is shutting down: try again later.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL is malformed.
    #[error("bad database URL: {0}")]
    Config(sqlx::Error),
    /// Something asked for does not exist.
    #[error("not found")]
    NotFound,
}

impl StoreError {
    /// Whether the failure is temporary (the caller should ask the sender to
    /// retry rather than reject).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let unavailable = match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                // 08: connection exception; 57P: operator intervention
                // (shutdown); 53: insufficient resources; 40001/40P01:
                // serialization failure / deadlock (retry is correct).
                c.starts_with("08")
                    || c.starts_with("57P")
                    || c.starts_with("53")
                    || c == "40001"
                    || c == "40P01"
            }),
            _ => false,
        };
        if unavailable {
            Self::Unavailable(e)
        } else {
            Self::Database(e)
        }
    }
}
