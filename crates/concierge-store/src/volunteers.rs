//! Volunteer caseworkers: who covers which countries, in which languages,
//! with how much room.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::routing::requeue_waiting_in;
use crate::{Store, StoreError};

/// A volunteer as shown by the CLI and the API.
#[derive(Debug, Clone, Serialize)]
pub struct VolunteerView {
    /// Id.
    pub id: Uuid,
    /// Login and notification address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Countries covered (`*` = global pool).
    pub countries: Vec<String>,
    /// Languages spoken.
    pub languages: Vec<String>,
    /// Maximum active cases.
    pub capacity: i32,
    /// Active cases now.
    pub active_cases: i64,
    /// False when disabled.
    pub active: bool,
    /// Paused until this time.
    pub paused_until: Option<DateTime<Utc>>,
    /// Last assignment.
    pub last_assigned_at: Option<DateTime<Utc>>,
}

/// Fields to create or change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct VolunteerChange {
    /// Display name.
    pub name: Option<String>,
    /// Countries covered.
    pub countries: Option<Vec<String>>,
    /// Languages spoken.
    pub languages: Option<Vec<String>>,
    /// Capacity.
    pub capacity: Option<i32>,
    /// Enabled.
    pub active: Option<bool>,
    /// Pause until (`Some(None)` resumes).
    pub paused_until: Option<Option<DateTime<Utc>>>,
}

impl Store {
    /// Adds a volunteer; waiting cases they could take are re-routed.
    pub async fn add_volunteer(
        &self,
        email: &str,
        name: &str,
        countries: &[String],
        languages: &[String],
        capacity: i32,
    ) -> Result<Uuid, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = sqlx::query_scalar!(
            "INSERT INTO volunteers (id, email, name, countries, languages, capacity)
             VALUES ($1, lower($2), $3, $4, $5, $6) RETURNING id",
            Uuid::new_v4(),
            email,
            name,
            countries,
            languages,
            capacity
        )
        .fetch_one(&mut *tx)
        .await?;
        requeue_waiting_in(&mut tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a volunteer by e-mail; re-routes waiting cases, since the
    /// change may have freed capacity. `NotFound` for an unknown address.
    pub async fn update_volunteer(
        &self,
        email: &str,
        c: &VolunteerChange,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query!(
            "UPDATE volunteers SET
                name = COALESCE($2, name),
                countries = COALESCE($3, countries),
                languages = COALESCE($4, languages),
                capacity = COALESCE($5, capacity),
                active = COALESCE($6, active),
                paused_until = CASE WHEN $7 THEN $8 ELSE paused_until END,
                updated_at = now()
             WHERE email = lower($1)",
            email,
            c.name,
            c.countries.as_deref(),
            c.languages.as_deref(),
            c.capacity,
            c.active,
            c.paused_until.is_some(),
            c.paused_until.flatten()
        )
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        requeue_waiting_in(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every volunteer with their current load.
    pub async fn list_volunteers(&self) -> Result<Vec<VolunteerView>, StoreError> {
        Ok(sqlx::query_as!(
            VolunteerView,
            r#"SELECT v.id, v.email, v.name, v.countries, v.languages, v.capacity, v.active,
                      v.paused_until, v.last_assigned_at,
                      (SELECT count(*) FROM tickets t WHERE t.assignee_id = v.id
                         AND t.status NOT IN ('resolved','closed')) AS "active_cases!"
               FROM volunteers v ORDER BY v.email"#
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
