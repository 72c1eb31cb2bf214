//! Privacy operations' policy (issue 14): how long what is kept, and what
//! an administrator must type to erase a person. Pure: the store runs it.

use chrono::{DateTime, Months, TimeDelta, Utc};

/// How long Concierge keeps what, from `[privacy]` in the config. Zero
/// means "keep for ever" for the two mail rules; sessions and login
/// attempts are always purged (zero days: as soon as they expire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Resolved and closed cases (with their requester when they have no
    /// other case) are erased this many months after they were closed.
    pub closed_cases_months: u32,
    /// The raw MIME of a message is dropped this many months after it was
    /// received; the stored text, headers and attachments stay.
    pub raw_mime_months: u32,
    /// Sessions are deleted this many days after they expired.
    pub sessions_days: u32,
    /// Login attempts (the rate limiter's rows) are deleted after this many
    /// days.
    pub login_attempts_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            closed_cases_months: 0,
            raw_mime_months: 0,
            sessions_days: 7,
            login_attempts_days: 1,
        }
    }
}

/// The instants before which each kind of row goes (`None`: kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// Cases closed before this are erased.
    pub closed_cases: Option<DateTime<Utc>>,
    /// Raw MIME received before this is dropped.
    pub raw_mime: Option<DateTime<Utc>>,
    /// Sessions that expired before this are deleted.
    pub sessions: DateTime<Utc>,
    /// Login attempts before this are deleted.
    pub login_attempts: DateTime<Utc>,
}

impl RetentionPolicy {
    /// The cutoffs at `now`. Months are calendar months (31 March minus
    /// one month is 28 or 29 February).
    pub fn cutoffs(&self, now: DateTime<Utc>) -> Cutoffs {
        let months = |m: u32| {
            (m > 0).then(|| {
                now.checked_sub_months(Months::new(m))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC)
            })
        };
        let days = |d: u32| {
            now.checked_sub_signed(TimeDelta::days(i64::from(d)))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        Cutoffs {
            closed_cases: months(self.closed_cases_months),
            raw_mime: months(self.raw_mime_months),
            sessions: days(self.sessions_days),
            login_attempts: days(self.login_attempts_days),
        }
    }
}

/// What an administrator types to confirm the erasure of `email`: the
/// address itself (compared without case or surrounding space), so an
/// erasure is never one click and never of the wrong person.
pub fn erasure_confirmed(typed: &str, email: &str) -> bool {
    let (typed, email) = (typed.trim(), email.trim());
    !email.is_empty() && typed.eq_ignore_ascii_case(email)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn zero_months_keeps_mail_for_ever() {
        let c = RetentionPolicy::default().cutoffs(at(2026, 12, 8));
        assert_eq!(c.closed_cases, None);
        assert_eq!(c.raw_mime, None);
        assert_eq!(c.sessions, at(2026, 12, 1));
        assert_eq!(c.login_attempts, at(2026, 12, 7));
    }

    #[test]
    fn months_are_calendar_months() {
        let p = RetentionPolicy {
            closed_cases_months: 24,
            raw_mime_months: 1,
            sessions_days: 0,
            login_attempts_days: 30,
        };
        let c = p.cutoffs(at(2026, 3, 31));
        assert_eq!(c.closed_cases, Some(at(2024, 3, 31)));
        assert_eq!(c.raw_mime, Some(at(2026, 2, 28)));
        assert_eq!(c.sessions, at(2026, 3, 31));
        assert_eq!(c.login_attempts, at(2026, 3, 1));
    }

    #[test]
    fn absurd_periods_saturate() {
        let p = RetentionPolicy {
            closed_cases_months: u32::MAX,
            raw_mime_months: 1,
            sessions_days: u32::MAX,
            login_attempts_days: 1,
        };
        let c = p.cutoffs(at(2026, 1, 1));
        assert_eq!(c.closed_cases, Some(DateTime::<Utc>::MIN_UTC));
        assert_eq!(c.sessions, DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn erasure_needs_the_address_typed() {
        assert!(erasure_confirmed(" Ana@Example.org ", "ana@example.org"));
        assert!(!erasure_confirmed("yes", "ana@example.org"));
        assert!(!erasure_confirmed("", ""));
        assert!(!erasure_confirmed("ana@example.or", "ana@example.org"));
    }
}
