//! The resource hub: crisis lines and support organisations by country,
//! imported from the validated hub file ([`concierge_hub::Entry`]).

use chrono::NaiveDate;
use concierge_hub::Entry;
use serde::Serialize;

use crate::{Store, StoreError};

/// One active hub entry, its description resolved to one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// Slug, e.g. `br-cvv`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `crisis_line`, `peer_support`, `advocacy`, `financial_aid` or `therapy_fund`.
    pub kind: String,
    /// ISO 3166-1 alpha-2 codes, or `["*"]`.
    pub countries: Vec<String>,
    /// ISO 639 codes it serves in.
    pub languages: Vec<String>,
    /// Phone numbers as dialled locally.
    pub phone: Vec<String>,
    /// SMS numbers as dialled locally.
    pub sms: Vec<String>,
    /// Chat URL.
    pub chat: Option<String>,
    /// Website.
    pub web: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Opening hours, language-neutral.
    pub hours: Option<String>,
    /// `free`, `unknown` or a short text.
    pub cost: String,
    /// `sourced`, `unverified` or `conflicting`.
    pub verification: String,
    /// Where the information comes from.
    pub source: String,
    /// When it was last checked.
    pub last_verified: NaiveDate,
    /// Caveats, conflicts, gaps.
    pub notes: Option<String>,
    /// The description in the asked language, else English.
    pub description: Option<String>,
    /// The language `description` is in.
    pub description_lang: Option<String>,
    /// Whether it applies to every country.
    pub global: bool,
}

impl Resource {
    /// Whether it is a crisis line.
    pub fn is_crisis_line(&self) -> bool {
        self.kind == "crisis_line"
    }

    /// Whether a public source names it with no known conflict.
    pub fn is_sourced(&self) -> bool {
        self.verification == "sourced"
    }
}

/// A country with active entries of its own (global ones not counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceCountry {
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// Active entries listing it.
    pub entries: i64,
    /// Of which crisis lines.
    pub crisis_lines: i64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResourceImport {
    /// Entries in the file.
    pub entries: usize,
    /// Rows inserted or changed.
    pub changed: u64,
    /// Rows no longer in the file, now inactive.
    pub deactivated: u64,
    /// Rows changed in the dashboard, which the import leaves alone (see
    /// `hub_admin`: dashboard edits win until handed back to the file).
    pub kept: u64,
}

impl Store {
    /// Makes the table match the hub file, in one transaction: entries are
    /// inserted or updated (and reactivated); rows absent from `entries` are
    /// marked inactive, never deleted. Rows changed in the dashboard
    /// (`edited_at` set) are left exactly as they are and counted in
    /// [`ResourceImport::kept`].
    pub async fn upsert_resources(&self, entries: &[Entry]) -> Result<ResourceImport, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One import at a time (two processes starting together).
        sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('concierge.resources'))::text")
            .fetch_one(&mut *tx)
            .await?;
        let mut changed = 0;
        for (position, e) in entries.iter().enumerate() {
            let descriptions = serde_json::Value::Object(
                e.description
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            );
            let done = sqlx::query!(
                r#"INSERT INTO resources (id, name, kind, countries, languages, phone, sms, chat,
                       web, email, hours, cost, verification, source, last_verified, notes,
                       descriptions, position)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                       CAST($15::text AS date), $16, $17, $18)
                   ON CONFLICT (id) DO UPDATE SET
                       name = EXCLUDED.name, kind = EXCLUDED.kind, countries = EXCLUDED.countries,
                       languages = EXCLUDED.languages, phone = EXCLUDED.phone, sms = EXCLUDED.sms,
                       chat = EXCLUDED.chat, web = EXCLUDED.web, email = EXCLUDED.email,
                       hours = EXCLUDED.hours, cost = EXCLUDED.cost,
                       verification = EXCLUDED.verification, source = EXCLUDED.source,
                       last_verified = EXCLUDED.last_verified, notes = EXCLUDED.notes,
                       descriptions = EXCLUDED.descriptions, position = EXCLUDED.position,
                       active = true, updated_at = now()
                   WHERE resources.edited_at IS NULL
                     AND (resources.name, resources.kind, resources.countries, resources.languages,
                          resources.phone, resources.sms, resources.chat, resources.web,
                          resources.email, resources.hours, resources.cost,
                          resources.verification, resources.source, resources.last_verified,
                          resources.notes, resources.descriptions, resources.position,
                          resources.active)
                       IS DISTINCT FROM
                         (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.countries, EXCLUDED.languages,
                          EXCLUDED.phone, EXCLUDED.sms, EXCLUDED.chat, EXCLUDED.web,
                          EXCLUDED.email, EXCLUDED.hours, EXCLUDED.cost,
                          EXCLUDED.verification, EXCLUDED.source, EXCLUDED.last_verified,
                          EXCLUDED.notes, EXCLUDED.descriptions, EXCLUDED.position, true)"#,
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
                descriptions,
                i32::try_from(position).unwrap_or(i32::MAX)
            )
            .execute(&mut *tx)
            .await?;
            changed += done.rows_affected();
        }
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        let gone = sqlx::query!(
            "UPDATE resources SET active = false, updated_at = now()
             WHERE active AND edited_at IS NULL AND NOT (id = ANY($1))",
            &ids
        )
        .execute(&mut *tx)
        .await?;
        let kept = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM resources WHERE edited_at IS NOT NULL"#
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ResourceImport {
            entries: entries.len(),
            changed,
            deactivated: gone.rows_affected(),
            kept: u64::try_from(kept).unwrap_or(0),
        })
    }

    /// Active entries for `country` (an uppercase alpha-2 code): the
    /// country's own first (crisis lines before the others, then in file
    /// order), then the global ones. `None`: every active entry, by
    /// country, global ones last. Descriptions are in `lang`, else English.
    pub async fn resources_for(
        &self,
        country: Option<&str>,
        lang: Option<&str>,
    ) -> Result<Vec<Resource>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT id, name, kind, countries, languages, phone, sms, chat, web, email, hours,
                      cost, verification, source, last_verified, notes,
                      COALESCE(descriptions->>$2::text, descriptions->>'en') AS description,
                      CASE WHEN descriptions->>$2::text IS NOT NULL THEN $2::text
                           WHEN descriptions->>'en' IS NOT NULL THEN 'en' END AS description_lang,
                      ('*' = ANY(countries)) AS "global!"
               FROM resources
               WHERE active AND ($1::text IS NULL OR countries && ARRAY[$1::text, '*'])
               ORDER BY ('*' = ANY(countries)),
                        CASE WHEN $1::text IS NULL THEN countries[1] END,
                        (kind <> 'crisis_line'), position, id"#,
            country,
            lang
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Resource {
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
                description: r.description,
                description_lang: r.description_lang,
                global: r.global,
            })
            .collect())
    }

    /// Countries with active entries of their own, by code.
    pub async fn resource_countries(&self) -> Result<Vec<ResourceCountry>, StoreError> {
        let rows = sqlx::query_as!(
            ResourceCountry,
            r#"SELECT c AS "country!", count(*) AS "entries!",
                      count(*) FILTER (WHERE kind = 'crisis_line') AS "crisis_lines!"
               FROM resources, unnest(countries) AS c
               WHERE active AND c <> '*'
               GROUP BY c ORDER BY c"#
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Whether the table has any row (active or not): an empty table means
    /// the hub was never imported.
    pub async fn has_resources(&self) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM resources) AS "any!""#)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
