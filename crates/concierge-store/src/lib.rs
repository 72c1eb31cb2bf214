//! Postgres storage for Concierge, through sqlx.
//!
//! One [`Store`] wraps the pool; each aggregate has its own module. Queries
//! are checked at compile time (`.sqlx/` holds the offline data).

mod account_links;
mod accounts;
mod audit_search;
mod case_list;
mod casework;
mod changes;
mod compose_facts;
mod error;
mod hub_admin;
mod ingest;
mod mailboxes;
mod outbox;
mod overview;
mod people;
mod privacy;
mod queue;
mod resources;
mod risk;
mod routing;
mod settings;
mod tickets;
mod tokens;
mod volunteers;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

pub use account_links::{
    InviteError, InviteVolunteer, LinkPurpose, LinkTarget, NewInvite, NewLink,
};
pub use accounts::{AuditEntry, NewSession, SessionInfo, UserLogin, UserView};
pub use audit_search::{AuditActor, AuditQuery, AuditRecord};
pub use case_list::{
    AssigneeFilter, BadCursor, CaseList, CaseListItem, CaseQuery, CaseSort, Cursor, ListScope,
    MAX_QUERY_BYTES, StatusFilter, UnknownSort,
};
pub use casework::{AssignError, Assigned, AttachmentFile, NoteView};
pub use changes::{CaseChange, ChangeError};
pub use compose_facts::{AckFacts, AssignedFacts};
pub use error::StoreError;
pub use hub_admin::{HubEditError, HubEntryRow};
pub use ingest::{History, InboundSource, IngestOutcome, NewAttachment, NewInbound, RiskLane};
pub use mailboxes::{Bookmark, MailboxRow};
pub use outbox::{Claimed, DeliveryView, NewMail, ReplyFacts, enqueue_mail};
pub use overview::{BreachedCase, OpenCount, Overview, VolunteerLoad, WeekResponse, last_weeks};
pub use people::{ApiTokenRow, PeopleError, UserRow};
pub use privacy::{
    AssignmentExport, AttachmentExport, AuditExport, CaseExport, EraseError, Erased, MessageExport,
    PersonExport, Retained,
};
pub use queue::{MAIL_QUEUE, MailJob, ROUTE_QUEUE, RouteJob, URGENT_PRIORITY};
pub use resources::{Resource, ResourceCountry, ResourceImport};
pub use risk::{LaneFacts, OnCallShift, Recipient, RiskChangeError};
pub use routing::RouteOutcome;
pub use tickets::{
    AssignmentView, AttachmentMeta, MessageView, RequesterView, TicketDetail, TicketSummary,
};
pub use tokens::ApiTokenCheck;
pub use volunteers::{VolunteerChange, VolunteerView};

/// The schema migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Handle to the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
    /// Wakes this process's workers when jobs are committed.
    wakeups: std::sync::Arc<queue::Wakeups>,
}

impl Store {
    /// Connects lazily: the pool opens connections on demand, so a process
    /// starts while the database is down and recovers when it returns.
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url
            .parse::<PgConnectOptions>()
            .map_err(StoreError::Config)?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(2));
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            wakeups: Default::default(),
        })
    }

    /// Wraps an existing pool (tests use the one `#[sqlx::test]` gives).
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            wakeups: Default::default(),
        }
    }

    /// The underlying pool, for the job queue and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        // The job queue keeps its own schema and migration history (`apalis`).
        apalis_postgres::PostgresStorage::<()>::setup(&self.pool)
            .await
            .map_err(|e| match e {
                apalis_postgres::Error::Database(db) => StoreError::from(db),
                other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
            })?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query_scalar!("SELECT 1 AS \"one!\"")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }
}
