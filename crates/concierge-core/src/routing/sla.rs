//! Response-time promises: first-response targets per priority.

use crate::ticket::Priority;

/// First-response targets, in minutes, per priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaTargets {
    /// Urgent cases.
    pub urgent_minutes: i64,
    /// High priority.
    pub high_minutes: i64,
    /// Normal priority.
    pub normal_minutes: i64,
    /// Low priority.
    pub low_minutes: i64,
}

impl Default for SlaTargets {
    fn default() -> Self {
        Self {
            urgent_minutes: 60,
            high_minutes: 240,
            normal_minutes: 1440,
            low_minutes: 4320,
        }
    }
}

impl SlaTargets {
    /// The target for a priority, in minutes.
    pub fn minutes(&self, p: Priority) -> i64 {
        match p {
            Priority::Urgent => self.urgent_minutes,
            Priority::High => self.high_minutes,
            Priority::Normal => self.normal_minutes,
            Priority::Low => self.low_minutes,
        }
    }
}

/// When the first response is due, as seconds since the epoch.
pub fn first_response_due(created_epoch_secs: i64, p: Priority, t: &SlaTargets) -> i64 {
    created_epoch_secs.saturating_add(t.minutes(p).saturating_mul(60))
}

/// Where a case stands against its first-response target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstResponseClock {
    /// No target set (cases older than the SLA columns).
    NoTarget,
    /// Answered; `late_secs` is how far past the target (0 when on time).
    Answered {
        /// Seconds past the due time the first response went out.
        late_secs: i64,
    },
    /// Not answered yet, due in this many seconds.
    Running {
        /// Seconds until the due time.
        left_secs: i64,
    },
    /// Not answered and past the due time by this many seconds.
    Overdue {
        /// Seconds since the due time.
        over_secs: i64,
    },
}

impl FirstResponseClock {
    /// The clock at `now`, from the ticket's first-response columns (all
    /// seconds since the epoch). The sweep marks breaches only every so
    /// often, so a case past its due time is overdue whether or not it was
    /// marked yet; a marked breach stays a breach.
    pub fn at(due: Option<i64>, responded: Option<i64>, breach_marked: bool, now: i64) -> Self {
        let Some(due) = due else {
            return Self::NoTarget;
        };
        match responded {
            Some(r) => Self::Answered {
                late_secs: r.saturating_sub(due).max(0),
            },
            None if now < due && !breach_marked => Self::Running {
                left_secs: due.saturating_sub(now),
            },
            None => Self::Overdue {
                over_secs: now.saturating_sub(due).max(0),
            },
        }
    }

    /// Whether the target was (or is being) missed.
    pub fn breached(self) -> bool {
        match self {
            Self::NoTarget | Self::Running { .. } => false,
            Self::Answered { late_secs } => late_secs > 0,
            Self::Overdue { .. } => true,
        }
    }
}

/// A duration for people: `2 d 3 h`, `3 h 20 min`, `45 min`, `under a
/// minute`. Negative durations are shown as their size.
pub fn human_duration(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => "under a minute".to_owned(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn clock_states() {
        use FirstResponseClock::*;
        assert_eq!(FirstResponseClock::at(None, None, false, 100), NoTarget);
        assert_eq!(
            FirstResponseClock::at(Some(1000), None, false, 400),
            Running { left_secs: 600 }
        );
        assert_eq!(
            FirstResponseClock::at(Some(1000), None, false, 1000),
            Overdue { over_secs: 0 }
        );
        assert_eq!(
            FirstResponseClock::at(Some(1000), None, false, 1600),
            Overdue { over_secs: 600 }
        );
        // The sweep's mark wins even if the clocks disagree slightly.
        assert_eq!(
            FirstResponseClock::at(Some(1000), None, true, 990),
            Overdue { over_secs: 0 }
        );
        assert_eq!(
            FirstResponseClock::at(Some(1000), Some(900), false, 5000),
            Answered { late_secs: 0 }
        );
        assert_eq!(
            FirstResponseClock::at(Some(1000), Some(1300), true, 5000),
            Answered { late_secs: 300 }
        );
        assert!(!Running { left_secs: 1 }.breached());
        assert!(Overdue { over_secs: 0 }.breached());
        assert!(!Answered { late_secs: 0 }.breached());
        assert!(Answered { late_secs: 1 }.breached());
        assert!(!NoTarget.breached());
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(0), "under a minute");
        assert_eq!(human_duration(59), "under a minute");
        assert_eq!(human_duration(60), "1 min");
        assert_eq!(human_duration(3600), "1 h");
        assert_eq!(human_duration(3 * 3600 + 20 * 60 + 5), "3 h 20 min");
        assert_eq!(human_duration(-45 * 60), "45 min");
        assert_eq!(human_duration(2 * 86_400 + 3 * 3600 + 59), "2 d 3 h");
        assert_eq!(human_duration(86_400 + 30 * 60), "1 d");
        assert_eq!(human_duration(i64::MIN), "106751991167300 d 15 h");
    }
}
