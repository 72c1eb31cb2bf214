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
