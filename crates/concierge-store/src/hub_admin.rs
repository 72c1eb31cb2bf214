//! Editing the resource hub from the dashboard (admins).
//!
//! **Dashboard edits win over the file, per entry, until handed back.**
//! Every change made here (editing, adding, disabling or enabling an
//! entry) marks the row `edited_at`/`edited_by`. `concierge hub import`
//! ([`Store::upsert_resources`]) leaves marked rows alone: it neither
//! overwrites nor deactivates them, and reports them as kept. An admin
//! hands an entry back to the file with [`Store::release_hub_entry`]; the
//! next import then makes it match the file again (or deactivates it when
//! the file no longer has it). So neither side silently clobbers the
//! other: the page shows which entries the file no longer controls.

use chrono::{DateTime, NaiveDate, Utc};
use concierge_hub::Entry;
use serde::Serialize;
use uuid::Uuid;

use crate::{Store, StoreError};

/// A hub entry as the admin pages show it, active or not.
#[derive(Debug, Clone, Serialize)]
pub struct HubEntryRow {
    /// Slug.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Countries, or `["*"]`.
    pub countries: Vec<String>,
    /// Languages.
    pub languages: Vec<String>,
    /// Phone numbers.
    pub phone: Vec<String>,
    /// SMS numbers.
    pub sms: Vec<String>,
    /// Chat URL.
    pub chat: Option<String>,
    /// Website.
    pub web: Option<String>,
    /// Address.
    pub email: Option<String>,
    /// Hours.
    pub hours: Option<String>,
    /// Cost.
    pub cost: String,
    /// Verification.
    pub verification: String,
    /// Source.
    pub source: String,
    /// Last checked.
    pub last_verified: NaiveDate,
    /// Notes.
    pub notes: Option<String>,
    /// Language → description.
    pub descriptions: Vec<(String, String)>,
    /// Shown on the public hub.
    pub active: bool,
    /// Changed in the dashboard (the file import leaves it alone).
    pub edited_at: Option<DateTime<Utc>>,
    /// Who changed it last in the dashboard.
    pub edited_by: Option<String>,
}

/// Why a dashboard change to the hub was refused.
#[derive(Debug, thiserror::Error)]
pub enum HubEditError {
    /// No entry with this id.
    #[error("there is no such entry")]
    NotFound,
    /// Adding an entry whose id is taken.
    #[error("an entry with this id exists")]
    Exists,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for HubEditError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

fn descriptions(v: serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = match v {
        serde_json::Value::Object(m) => m
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect(),
        _ => Vec::new(),
    };
    // English first (the fallback), then by code.
    out.sort_by(|a, b| (a.0 != "en", &a.0).cmp(&(b.0 != "en", &b.0)));
    out
}

fn descriptions_json(e: &Entry) -> serde_json::Value {
    serde_json::Value::Object(
        e.description
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

impl Store {
    /// Every entry, active or not, for one country (an upper-case code, or
    /// `*` for the global ones) or all: by first country (global last),
    /// then file order.
    pub async fn list_hub_entries(
        &self,
        country: Option<&str>,
    ) -> Result<Vec<HubEntryRow>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT r.id, r.name, r.kind, r.countries, r.languages, r.phone, r.sms, r.chat,
                      r.web, r.email, r.hours, r.cost, r.verification, r.source,
                      r.last_verified, r.notes, r.descriptions, r.active, r.edited_at,
                      u.email AS "edited_by?"
               FROM resources r LEFT JOIN users u ON u.id = r.edited_by
               WHERE $1::text IS NULL OR $1::text = ANY(r.countries)
               ORDER BY ('*' = ANY(r.countries)), r.countries[1], r.position, r.id"#,
            country
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| HubEntryRow {
                id: r.id,
                name: r.name,
                kind: r.kind,
                countries: r.countries,
                languages: r.languages,
                phone: r.phone,
                sms: r.sms,
                chat: r.chat,
                web: r.web,
                email: r.email,
                hours: r.hours,
                cost: r.cost,
                verification: r.verification,
                source: r.source,
                last_verified: r.last_verified,
                notes: r.notes,
                descriptions: descriptions(r.descriptions),
                active: r.active,
                edited_at: r.edited_at,
                edited_by: r.edited_by,
            })
            .collect())
    }

    /// One entry by id.
    pub async fn hub_entry(&self, id: &str) -> Result<Option<HubEntryRow>, StoreError> {
        // Small table: reuse the one listing query.
        Ok(self
            .list_hub_entries(None)
            .await?
            .into_iter()
            .find(|e| e.id == id))
    }

    /// Saves a validated entry from the dashboard and marks it edited by
    /// `actor` (see the module docs). `create`: a new entry (placed after
    /// the others; `Exists` if the id is taken); else an existing one
    /// (`NotFound` if absent), keeping its place and active state.
    pub async fn save_hub_entry(
        &self,
        e: &Entry,
        actor: Uuid,
        create: bool,
    ) -> Result<(), HubEditError> {
        let mut tx = self.pool.begin().await?;
        // The import's lock: a dashboard save and an import never interleave.
        sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('concierge.resources'))::text")
            .fetch_one(&mut *tx)
            .await?;
        let done = if create {
            sqlx::query!(
                r#"INSERT INTO resources (id, name, kind, countries, languages, phone, sms, chat,
                       web, email, hours, cost, verification, source, last_verified, notes,
                       descriptions, position, edited_at, edited_by)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                       CAST($15::text AS date), $16, $17,
                       (SELECT coalesce(max(position), 0) + 1 FROM resources), now(), $18)
                   ON CONFLICT (id) DO NOTHING"#,
                e.id,
                e.name,
                e.kind.as_str(),
                &e.countries,
                &e.languages,
                &e.phone,
                &e.sms,
                e.chat,
                e.web,
                e.email,
                e.hours,
                e.cost,
                e.verification.as_str(),
                e.source,
                e.last_verified.to_string(),
                e.notes,
                descriptions_json(e),
                actor
            )
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query!(
                r#"UPDATE resources SET name = $2, kind = $3, countries = $4, languages = $5,
                       phone = $6, sms = $7, chat = $8, web = $9, email = $10, hours = $11,
                       cost = $12, verification = $13, source = $14,
                       last_verified = CAST($15::text AS date), notes = $16, descriptions = $17,
                       edited_at = now(), edited_by = $18, updated_at = now()
                   WHERE id = $1"#,
                e.id,
                e.name,
                e.kind.as_str(),
                &e.countries,
                &e.languages,
                &e.phone,
                &e.sms,
                e.chat,
                e.web,
                e.email,
                e.hours,
                e.cost,
                e.verification.as_str(),
                e.source,
                e.last_verified.to_string(),
                e.notes,
                descriptions_json(e),
                actor
            )
            .execute(&mut *tx)
            .await?
        };
        if done.rows_affected() == 0 {
            return Err(if create {
                HubEditError::Exists
            } else {
                HubEditError::NotFound
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Shows (`true`) or hides an entry on the public hub, marking it
    /// edited by `actor`.
    pub async fn set_hub_entry_active(
        &self,
        id: &str,
        active: bool,
        actor: Uuid,
    ) -> Result<(), HubEditError> {
        let done = sqlx::query!(
            "UPDATE resources SET active = $2, edited_at = now(), edited_by = $3,
                updated_at = now()
             WHERE id = $1",
            id,
            active,
            actor
        )
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(HubEditError::NotFound);
        }
        Ok(())
    }

    /// Hands an entry back to the hub file: clears the dashboard mark, so
    /// the next `concierge hub import` makes it match the file again.
    pub async fn release_hub_entry(&self, id: &str) -> Result<(), HubEditError> {
        let done = sqlx::query!(
            "UPDATE resources SET edited_at = NULL, edited_by = NULL WHERE id = $1",
            id
        )
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(HubEditError::NotFound);
        }
        Ok(())
    }
}
