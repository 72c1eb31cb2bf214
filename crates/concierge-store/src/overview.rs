//! The overview page's figures: open cases by country and status,
//! first-response times per week, breached cases and volunteers' load —
//! all within what the viewer may see ([`ListScope`]).
//!
//! Read in one repeatable-read transaction, so the figures agree with each
//! other. Each query is planned for its actual parameters (the scope's
//! `all` flag folds away), and JIT is off: these are short queries that
//! JIT compilation only slows down. Indexes: migration 000009.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{ListScope, Store, StoreError};

/// Open cases of one country (`None`: not known yet) in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenCount {
    /// ISO 3166 alpha-2, or `None`.
    pub country: Option<String>,
    /// A status other than resolved and closed.
    pub status: String,
    /// How many.
    pub count: i64,
}

/// First responses to the cases opened in one week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekResponse {
    /// Monday 00:00 UTC.
    pub week_start: DateTime<Utc>,
    /// Cases opened that week that have had a first response.
    pub answered: i64,
    /// Cases opened that week still without one.
    pub unanswered: i64,
    /// Median time to first response, in seconds (`None`: none answered).
    pub median_secs: Option<f64>,
    /// 90th percentile, in seconds.
    pub p90_secs: Option<f64>,
}

/// An open case that missed its first-response target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreachedCase {
    /// `C-XXXXXX`.
    pub reference: String,
    /// Subject.
    pub subject: String,
    /// Status.
    pub status: String,
    /// Country, when known.
    pub country: Option<String>,
    /// The assignee's name, when assigned.
    pub assignee: Option<String>,
    /// The target that was missed.
    pub due_at: Option<DateTime<Utc>>,
    /// When the breach was recorded.
    pub breached_at: DateTime<Utc>,
    /// The first response, when it came late.
    pub first_responded_at: Option<DateTime<Utc>>,
}

/// A volunteer's open cases against their capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolunteerLoad {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Address.
    pub email: String,
    /// Maximum active cases.
    pub capacity: i32,
    /// Open cases assigned to them now.
    pub open_cases: i64,
    /// False when disabled.
    pub active: bool,
    /// Paused until this time (only when still in the future).
    pub paused_until: Option<DateTime<Utc>>,
}

/// Everything the overview shows.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// Open cases by country and status (only non-zero cells).
    pub open: Vec<OpenCount>,
    /// One entry per requested week, oldest first (empty weeks included).
    pub weeks: Vec<WeekResponse>,
    /// How many open cases are breached in all.
    pub breached_total: i64,
    /// The most recently breached of them, newest first.
    pub breached: Vec<BreachedCase>,
    /// Volunteers (enabled, or still holding open cases), by name.
    pub volunteers: Vec<VolunteerLoad>,
}

/// The Mondays (00:00 UTC) starting the `n` weeks up to and including the
/// week of `now`, oldest first.
pub fn last_weeks(now: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let date = now.date_naive();
    let monday = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
    let monday = Utc.from_utc_datetime(&monday.and_time(chrono::NaiveTime::MIN));
    (0..n)
        .rev()
        .map(|i| monday - Duration::weeks(i as i64))
        .collect()
}

impl Store {
    /// The overview within `scope`: the open cases, first responses to the
    /// cases opened in each week of `weeks` (Mondays from [`last_weeks`]),
    /// the breached cases (count, and the `breached_limit` newest) and the
    /// volunteers' load. A caseworker's scope shows only their own load.
    pub async fn overview(
        &self,
        scope: &ListScope,
        weeks: &[DateTime<Utc>],
        breached_limit: i64,
    ) -> Result<Overview, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "SELECT set_config('jit', 'off', true) AS jit,
                    set_config('plan_cache_mode', 'force_custom_plan', true) AS plans"
        )
        .fetch_one(&mut *tx)
        .await?;

        let open = sqlx::query_as!(
            OpenCount,
            r#"SELECT t.country, t.status, count(*) AS "count!"
               FROM tickets t
               WHERE t.status NOT IN ('resolved','closed')
                 AND ($1 OR t.assignee_id = $2
                      OR (t.assignee_id IS NULL AND t.country = ANY($3)))
               GROUP BY t.country, t.status
               ORDER BY t.country NULLS LAST, t.status"#,
            scope.all,
            scope.volunteer,
            &scope.countries
        )
        .fetch_all(&mut *tx)
        .await?;

        // One index range per week (tickets_created_response_idx), rather
        // than sorting the whole window by week.
        let weeks = sqlx::query!(
            r#"SELECT w.start AS "week_start!",
                      s.answered AS "answered!", s.unanswered AS "unanswered!", s.pct
               FROM unnest($4::timestamptz[]) AS w(start)
               CROSS JOIN LATERAL (
                   SELECT count(t.first_responded_at) AS answered,
                          count(*) - count(t.first_responded_at) AS unanswered,
                          percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (
                              ORDER BY greatest(0, extract(epoch FROM
                                  t.first_responded_at - t.created_at))::float8)
                              FILTER (WHERE t.first_responded_at IS NOT NULL) AS pct
                   FROM tickets t
                   WHERE t.created_at >= w.start
                     AND t.created_at < w.start + interval '168 hours'
                     AND ($1 OR t.assignee_id = $2
                          OR (t.assignee_id IS NULL AND t.country = ANY($3)))
               ) s
               ORDER BY w.start"#,
            scope.all,
            scope.volunteer,
            &scope.countries,
            weeks
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| {
            let pct = r.pct.unwrap_or_default();
            WeekResponse {
                week_start: r.week_start,
                answered: r.answered,
                unanswered: r.unanswered,
                median_secs: pct.first().copied(),
                p90_secs: pct.get(1).copied(),
            }
        })
        .collect();

        let breached_total = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM tickets t
               WHERE t.sla_breached_at IS NOT NULL
                 AND t.status NOT IN ('resolved','closed')
                 AND ($1 OR t.assignee_id = $2
                      OR (t.assignee_id IS NULL AND t.country = ANY($3)))"#,
            scope.all,
            scope.volunteer,
            &scope.countries
        )
        .fetch_one(&mut *tx)
        .await?;

        let breached = sqlx::query!(
            r#"SELECT t.reference, t.subject, t.status, t.country, v.name AS "assignee?",
                      t.first_response_due_at, t.sla_breached_at AS "breached_at!",
                      t.first_responded_at
               FROM tickets t LEFT JOIN volunteers v ON v.id = t.assignee_id
               WHERE t.sla_breached_at IS NOT NULL
                 AND t.status NOT IN ('resolved','closed')
                 AND ($1 OR t.assignee_id = $2
                      OR (t.assignee_id IS NULL AND t.country = ANY($3)))
               ORDER BY t.sla_breached_at DESC, t.id
               LIMIT $4"#,
            scope.all,
            scope.volunteer,
            &scope.countries,
            breached_limit.clamp(0, 1000)
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| BreachedCase {
            reference: r.reference,
            subject: r.subject,
            status: r.status,
            country: r.country,
            assignee: r.assignee,
            due_at: r.first_response_due_at,
            breached_at: r.breached_at,
            first_responded_at: r.first_responded_at,
        })
        .collect();

        let volunteers = sqlx::query_as!(
            VolunteerLoad,
            r#"SELECT v.id, v.name, v.email, v.capacity, v.active,
                      CASE WHEN v.paused_until > now() THEN v.paused_until END AS paused_until,
                      l.n AS "open_cases!"
               FROM volunteers v
               CROSS JOIN LATERAL (
                   SELECT count(*) AS n FROM tickets t
                   WHERE t.assignee_id = v.id AND t.status NOT IN ('resolved','closed')
               ) l
               WHERE ($1 OR v.id = $2) AND (v.active OR l.n > 0)
               ORDER BY v.name, v.email"#,
            scope.all,
            scope.volunteer
        )
        .fetch_all(&mut *tx)
        .await?;

        tx.commit().await?;
        Ok(Overview {
            open,
            weeks,
            breached_total,
            breached,
            volunteers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_weeks_are_mondays_oldest_first() {
        // A Wednesday afternoon.
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 15, 30, 0).unwrap();
        let w = last_weeks(now, 12);
        assert_eq!(w.len(), 12);
        assert_eq!(w[11], Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap());
        assert_eq!(w[0], Utc.with_ymd_and_hms(2026, 9, 7, 0, 0, 0).unwrap());
        for pair in w.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::weeks(1));
        }
        // A Monday at midnight starts its own week.
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        assert_eq!(last_weeks(monday, 1), vec![monday]);
        // A Sunday night still belongs to the week before.
        let sunday = Utc.with_ymd_and_hms(2026, 11, 22, 23, 59, 59).unwrap();
        assert_eq!(
            last_weeks(sunday, 1),
            vec![Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap()]
        );
        assert!(last_weeks(now, 0).is_empty());
    }
}
