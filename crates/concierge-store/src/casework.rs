//! What people do on a case page besides replying: internal notes, read
//! markers, taking / (re)assigning / unassigning, and attachment downloads.
//!
//! Assignment changes follow the locking discipline of [`crate::routing`]:
//! the ticket row first (`FOR UPDATE`), then the volunteer, then a fresh
//! count of their open cases, all in one transaction; the unique index on
//! live assignments backs it up. So a take racing routing or another take
//! ends with one live assignment and nobody over capacity.

use chrono::{DateTime, Utc};
use concierge_access::{CaseScope, Principal, can_take_case, can_view_case};
use concierge_core::ticket::TicketStatus;
use serde::Serialize;
use uuid::Uuid;

use crate::queue::{MailJob, push_mail_jobs, push_route_jobs};
use crate::routing::requeue_waiting_in;
use crate::{Store, StoreError};

/// An internal note: part of the thread on the dashboard, never mailed.
#[derive(Debug, Clone, Serialize)]
pub struct NoteView {
    /// Note id.
    pub id: Uuid,
    /// The author's address.
    pub author_email: String,
    /// The author's display name.
    pub author_name: String,
    /// The note.
    pub text: String,
    /// Written at.
    pub created_at: DateTime<Utc>,
}

/// Why an assignment change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    /// No such case.
    #[error("there is no such case")]
    NotFound,
    /// Someone holds the case already (a take lost a race, or the
    /// coordinator picked its current caseworker).
    #[error("the case is already assigned{0}")]
    AlreadyAssigned(&'static str),
    /// The policy refuses the take (country not covered, no volunteer
    /// record).
    #[error("you cannot take this case: it is not in a country you cover")]
    NotAllowed,
    /// Resolved or closed cases are not assigned.
    #[error("the case is {0}; reopen it before assigning it")]
    Closed(String),
    /// The volunteer has no room, and nobody confirmed going over.
    #[error("the volunteer {volunteer} is at capacity ({active} of {capacity} open cases)")]
    AtCapacity {
        /// Their address.
        volunteer: String,
        /// Open cases now.
        active: i64,
        /// Their capacity.
        capacity: i32,
    },
    /// No active volunteer with that address (or no volunteer record).
    #[error("there is no active volunteer {0}")]
    NoSuchVolunteer(String),
    /// Unassigning a case nobody holds.
    #[error("the case is not assigned to anyone")]
    NotAssigned,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AssignError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A live assignment just made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    /// The assignment row.
    pub assignment_id: Uuid,
    /// The volunteer.
    pub volunteer_id: Uuid,
    /// Their address.
    pub volunteer_email: String,
    /// The case went over their capacity (confirmed by the assigner).
    pub over_capacity: bool,
}

/// An attachment's bytes, for download.
#[derive(Debug, Clone)]
pub struct AttachmentFile {
    /// Stored (already sanitised at ingest) file name.
    pub filename: String,
    /// The type the sender claimed (never trusted for serving).
    pub content_type: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// The locked ticket row an assignment change works on.
struct Locked {
    status: String,
    assignee_id: Option<Uuid>,
    country: Option<String>,
}

/// The locked volunteer an assignment goes to.
struct Target {
    id: Uuid,
    email: String,
    capacity: i32,
    active_cases: i64,
}

impl Store {
    /// Adds an internal note to the case (a `note` row of the thread, no
    /// Message-ID, not counted as a message). `NotFound` for an unknown
    /// ticket.
    pub async fn add_note(
        &self,
        ticket_id: Uuid,
        author_email: &str,
        author_name: &str,
        text: &str,
    ) -> Result<NoteView, StoreError> {
        let mut tx = self.pool.begin().await?;
        let touched = sqlx::query!(
            "UPDATE tickets SET updated_at = now() WHERE id = $1",
            ticket_id
        )
        .execute(&mut *tx)
        .await?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let note = sqlx::query_as!(
            NoteView,
            r#"INSERT INTO messages (id, ticket_id, direction, class, from_address, from_name,
                   text_body)
               VALUES ($1, $2, 'note', 'human', $3, $4, $5)
               RETURNING id, from_address AS "author_email!", from_name AS "author_name!",
                         text_body AS text, created_at"#,
            Uuid::new_v4(),
            ticket_id,
            author_email,
            author_name,
            text
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(note)
    }

    /// The case's internal notes, oldest first.
    pub async fn notes(&self, ticket_id: Uuid) -> Result<Vec<NoteView>, StoreError> {
        Ok(sqlx::query_as!(
            NoteView,
            r#"SELECT id, coalesce(from_address, '') AS "author_email!",
                      coalesce(from_name, '') AS "author_name!", text_body AS text, created_at
               FROM messages WHERE ticket_id = $1 AND direction = 'note'
               ORDER BY created_at, id"#,
            ticket_id
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that `user_id` opened the case: the `case.view` audit record
    /// and their read marker, in one statement (one commit per page view).
    pub async fn record_case_view(
        &self,
        user_id: Uuid,
        ticket_id: Uuid,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "WITH audited AS (
                 INSERT INTO audit_log (actor_user_id, action, ticket_id, detail)
                 VALUES ($1, 'case.view', $2, $3)
             )
             INSERT INTO case_reads (user_id, ticket_id, seen_at) VALUES ($1, $2, now())
             ON CONFLICT (user_id, ticket_id) DO UPDATE SET seen_at = EXCLUDED.seen_at",
            user_id,
            ticket_id,
            detail
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When `user_id` last opened each of `ticket_ids` (absent: never).
    /// A case is *unread* when absent, *updated* when its `updated_at` is
    /// later than the time returned.
    pub async fn case_reads(
        &self,
        user_id: Uuid,
        ticket_ids: &[Uuid],
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query!(
            "SELECT ticket_id, seen_at FROM case_reads WHERE user_id = $1 AND ticket_id = ANY($2)",
            user_id,
            ticket_ids
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.ticket_id, r.seen_at)).collect())
    }

    /// `p` takes the case: it becomes theirs if it is unassigned, open, in
    /// a country they may take from ([`can_take_case`], checked on the
    /// locked row) and they have room. Not announced by mail (they did it).
    pub async fn take_case(
        &self,
        ticket_id: Uuid,
        p: &Principal,
        actor: &str,
    ) -> Result<Assigned, AssignError> {
        let mut tx = self.pool.begin().await?;
        let t = lock_ticket(&mut tx, ticket_id).await?;
        let scope = CaseScope {
            assignee: t.assignee_id,
            country: t.country.clone(),
        };
        if t.assignee_id.is_some() {
            return Err(if t.assignee_id == p.volunteer_id {
                AssignError::AlreadyAssigned(" to you")
            } else {
                AssignError::AlreadyAssigned(": someone else took it first")
            });
        }
        if !can_view_case(p, &scope) {
            // Moved out of their countries in between.
            return Err(AssignError::NotFound);
        }
        let Some(volunteer_id) = p.volunteer_id.filter(|_| can_take_case(p, &scope)) else {
            return Err(AssignError::NotAllowed);
        };
        open(&t)?;
        let v = lock_volunteer(&mut tx, VolunteerKey::Id(volunteer_id)).await?;
        if v.active_cases >= i64::from(v.capacity) {
            return Err(AssignError::AtCapacity {
                volunteer: v.email,
                active: v.active_cases,
                capacity: v.capacity,
            });
        }
        let reason = format!("taken by {}", v.email);
        let a = assign_in(&mut tx, ticket_id, &v, &reason, actor, false, false).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Assigns the case to the active volunteer with this address (a
    /// coordinator's decision), ending any live assignment. Going over the
    /// volunteer's capacity needs `allow_over_capacity`. The volunteer is
    /// told by mail, as with routing.
    pub async fn assign_case(
        &self,
        ticket_id: Uuid,
        volunteer_email: &str,
        reason: &str,
        allow_over_capacity: bool,
        actor: &str,
    ) -> Result<Assigned, AssignError> {
        let mut tx = self.pool.begin().await?;
        let t = lock_ticket(&mut tx, ticket_id).await?;
        open(&t)?;
        let v = lock_volunteer(&mut tx, VolunteerKey::Email(volunteer_email)).await?;
        if t.assignee_id == Some(v.id) {
            return Err(AssignError::AlreadyAssigned(" to them"));
        }
        let over = v.active_cases >= i64::from(v.capacity);
        if over && !allow_over_capacity {
            return Err(AssignError::AtCapacity {
                volunteer: v.email,
                active: v.active_cases,
                capacity: v.capacity,
            });
        }
        if t.assignee_id.is_some() {
            sqlx::query!(
                "UPDATE assignments SET ended_at = now(),
                    ended_reason = 'reassigned to ' || $2 || ': ' || $3 || ' (by ' || $4 || ')'
                 WHERE ticket_id = $1 AND ended_at IS NULL",
                ticket_id,
                v.email,
                reason,
                actor
            )
            .execute(&mut *tx)
            .await?;
            // The previous caseworker has room again.
            requeue_waiting_in(&mut tx).await?;
        }
        let reason = if over {
            format!("{reason} (over capacity, confirmed)")
        } else {
            reason.to_owned()
        };
        let a = assign_in(&mut tx, ticket_id, &v, &reason, actor, over, true).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Takes the case off its caseworker and back to routing (which may
    /// assign it again at once, to whoever has room).
    pub async fn unassign_case(
        &self,
        ticket_id: Uuid,
        reason: &str,
        actor: &str,
    ) -> Result<(), AssignError> {
        let mut tx = self.pool.begin().await?;
        let t = lock_ticket(&mut tx, ticket_id).await?;
        if t.assignee_id.is_none() {
            return Err(AssignError::NotAssigned);
        }
        self.end_assignment(&mut tx, ticket_id, &format!("unassigned: {reason}"), actor)
            .await?;
        push_route_jobs(&mut tx, &[ticket_id]).await?;
        requeue_waiting_in(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An attachment of this case's messages; `None` when there is none
    /// with this id *on this case*.
    pub async fn case_attachment(
        &self,
        ticket_id: Uuid,
        attachment_id: Uuid,
    ) -> Result<Option<AttachmentFile>, StoreError> {
        Ok(sqlx::query_as!(
            AttachmentFile,
            "SELECT a.filename, a.content_type, a.data
             FROM attachments a JOIN messages m ON m.id = a.message_id
             WHERE a.id = $2 AND m.ticket_id = $1",
            ticket_id,
            attachment_id
        )
        .fetch_optional(&self.pool)
        .await?)
    }
}

async fn lock_ticket(tx: &mut sqlx::PgConnection, ticket_id: Uuid) -> Result<Locked, AssignError> {
    sqlx::query_as!(
        Locked,
        "SELECT status, assignee_id, country FROM tickets WHERE id = $1 FOR UPDATE",
        ticket_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AssignError::NotFound)
}

fn open(t: &Locked) -> Result<(), AssignError> {
    let status: TicketStatus = t.status.parse().unwrap_or(TicketStatus::Closed);
    if status.is_open() {
        Ok(())
    } else {
        Err(AssignError::Closed(t.status.clone()))
    }
}

enum VolunteerKey<'a> {
    Id(Uuid),
    Email(&'a str),
}

/// Locks an active volunteer and counts their open cases afresh (after the
/// lock: any assignment committed before is visible).
async fn lock_volunteer(
    tx: &mut sqlx::PgConnection,
    key: VolunteerKey<'_>,
) -> Result<Target, AssignError> {
    let (id, email, missing) = match key {
        VolunteerKey::Id(id) => (Some(id), None, "(your volunteer record)".to_owned()),
        VolunteerKey::Email(e) => (None, Some(e.trim()), e.trim().to_owned()),
    };
    let v = sqlx::query!(
        "SELECT id, email, capacity FROM volunteers
         WHERE active AND (id = $1 OR email = lower($2))
         FOR UPDATE",
        id,
        email
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AssignError::NoSuchVolunteer(missing))?;
    let active_cases = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM tickets
           WHERE assignee_id = $1 AND status NOT IN ('resolved','closed')"#,
        v.id
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(Target {
        id: v.id,
        email: v.email,
        capacity: v.capacity,
        active_cases,
    })
}

/// Makes `v` the case's caseworker: ticket, history row, last-assigned
/// time and (when `notify`) the assignment notice job.
async fn assign_in(
    tx: &mut sqlx::PgConnection,
    ticket_id: Uuid,
    v: &Target,
    reason: &str,
    actor: &str,
    over_capacity: bool,
    notify: bool,
) -> Result<Assigned, AssignError> {
    sqlx::query!(
        "UPDATE tickets SET assignee_id = $2, assignment_reason = $3, routing_state = 'assigned',
            status = CASE WHEN status = 'new' THEN 'assigned' ELSE status END,
            updated_at = now()
         WHERE id = $1",
        ticket_id,
        v.id,
        reason
    )
    .execute(&mut *tx)
    .await?;
    let assignment_id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO assignments (id, ticket_id, volunteer_id, reason, assigned_by)
         VALUES ($1, $2, $3, $4, $5)",
        assignment_id,
        ticket_id,
        v.id,
        reason,
        actor
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE volunteers SET last_assigned_at = now() WHERE id = $1",
        v.id
    )
    .execute(&mut *tx)
    .await?;
    if notify {
        push_mail_jobs(tx, &[MailJob::Assigned { assignment_id }], None).await?;
    }
    Ok(Assigned {
        assignment_id,
        volunteer_id: v.id,
        volunteer_email: v.email.clone(),
        over_capacity,
    })
}
