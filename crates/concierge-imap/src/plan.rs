//! Pure decisions of the poller: where to resume in a folder, which UIDs
//! to fetch, how long to wait after a failure.

use std::time::Duration;

/// Where to resume in a folder after `SELECT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Same UIDVALIDITY: fetch UIDs above this one.
    After(u32),
    /// First poll, or the server renumbered the folder (UIDVALIDITY
    /// changed): read everything again; Message-ID dedup keeps it from
    /// being stored twice.
    Rescan {
        /// The stored UIDVALIDITY, if any.
        previous: Option<u32>,
    },
}

impl Resume {
    /// Fetch UIDs strictly above this.
    pub fn after(self) -> u32 {
        match self {
            Self::After(u) => u,
            Self::Rescan { .. } => 0,
        }
    }
}

/// Decides how to resume from what was committed (`stored_validity`,
/// `stored_last_uid`) and the folder's UIDVALIDITY now.
pub fn resume(stored_validity: Option<u32>, stored_last_uid: u32, server_validity: u32) -> Resume {
    match stored_validity {
        Some(v) if v == server_validity => Resume::After(stored_last_uid),
        previous => Resume::Rescan { previous },
    }
}

/// The UIDs to fetch, in order, from an untrusted `UID SEARCH` answer:
/// only those above `after` (a server answers `n:*` with its highest
/// message even when that is below `n`), without duplicates.
pub fn to_fetch(found: impl IntoIterator<Item = u32>, after: u32) -> Vec<u32> {
    let mut v: Vec<u32> = found.into_iter().filter(|u| *u > after).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// An IMAP sequence set for a sorted list of UIDs, ranges merged
/// (`1:3,7,9:10`).
pub fn sequence_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Exponential backoff with full jitter: the n-th wait is uniformly
/// random in [base·2ⁿ / 2, base·2ⁿ], capped at `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// Starts at `base`, never waits longer than `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            failures: 0,
        }
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The ceiling of the next wait (before jitter).
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The next wait for a jitter draw `unit` in [0, 1), counting a failure.
    pub fn next_with(&mut self, unit: f64) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        ceiling.mul_f64(0.5 + unit / 2.0)
    }

    /// The next wait, with a random jitter.
    pub fn next_wait(&mut self) -> Duration {
        self.next_with(rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_after_the_committed_uid_when_validity_holds() {
        assert_eq!(resume(Some(7), 42, 7), Resume::After(42));
        assert_eq!(resume(Some(7), 42, 7).after(), 42);
    }

    #[test]
    fn a_validity_change_or_first_poll_rescans_from_the_start() {
        assert_eq!(resume(Some(7), 42, 8), Resume::Rescan { previous: Some(7) });
        assert_eq!(resume(None, 0, 8), Resume::Rescan { previous: None });
        assert_eq!(resume(Some(7), 42, 8).after(), 0);
    }

    #[test]
    fn to_fetch_drops_the_star_quirk_and_duplicates_and_sorts() {
        // `UID SEARCH UID 11:*` on a folder whose highest UID is 10 answers 10.
        assert_eq!(to_fetch([10], 10), Vec::<u32>::new());
        assert_eq!(to_fetch([14, 12, 12, 3, 11], 10), vec![11, 12, 14]);
    }

    #[test]
    fn sequence_sets_merge_runs() {
        assert_eq!(sequence_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(sequence_set(&[5]), "5");
        assert_eq!(sequence_set(&[]), "");
        assert_eq!(
            sequence_set(&[u32::MAX - 1, u32::MAX]),
            "4294967294:4294967295"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(b.next_with(0.0), Duration::from_millis(500));
        assert_eq!(b.next_with(0.999_999).as_secs(), 1);
        assert_eq!(b.next_with(0.0), Duration::from_secs(2));
        assert_eq!(b.next_with(1.0), Duration::from_secs(8));
        for _ in 0..40 {
            assert!(b.next_wait() <= Duration::from_secs(10));
        }
        assert_eq!(b.ceiling(), Duration::from_secs(10));
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_secs(1));
        assert_eq!(b.next_with(f64::NAN), Duration::from_millis(750));
    }
}
