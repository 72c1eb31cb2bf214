//! The ticket status state machine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Arrived, nobody assigned yet.
    New,
    /// A caseworker has it but has not acted yet.
    Assigned,
    /// A caseworker is working on it.
    InProgress,
    /// Waiting for the requester to answer.
    WaitingOnRequester,
    /// Help was given; the requester may still reopen it by replying.
    Resolved,
    /// Final; a later message opens a new case.
    Closed,
}

/// A refused status change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a case cannot go from {from} to {to}")]
pub struct RefusedTransition {
    /// Current status.
    pub from: TicketStatus,
    /// Requested status.
    pub to: TicketStatus,
}

/// Unknown status name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown status {0:?} (expected one of new, assigned, in_progress, waiting_on_requester, resolved, closed)"
)]
pub struct UnknownStatus(pub String);

impl TicketStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TicketStatus; 6] = [
        Self::New,
        Self::Assigned,
        Self::InProgress,
        Self::WaitingOnRequester,
        Self::Resolved,
        Self::Closed,
    ];

    /// The stored / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Assigned => "assigned",
            Self::InProgress => "in_progress",
            Self::WaitingOnRequester => "waiting_on_requester",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// Open cases count against a caseworker's capacity.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed)
    }

    /// Whether a person (caseworker or system) may move a case from `self` to `to`.
    pub fn can_transition_to(self, to: TicketStatus) -> bool {
        use TicketStatus::*;
        matches!(
            (self, to),
            (New, Assigned)
                | (New, Closed)
                | (Assigned, New)
                | (Assigned, InProgress)
                | (Assigned, WaitingOnRequester)
                | (Assigned, Resolved)
                | (Assigned, Closed)
                | (InProgress, Assigned)
                | (InProgress, New)
                | (InProgress, WaitingOnRequester)
                | (InProgress, Resolved)
                | (InProgress, Closed)
                | (WaitingOnRequester, InProgress)
                | (WaitingOnRequester, Assigned)
                | (WaitingOnRequester, Resolved)
                | (WaitingOnRequester, Closed)
                | (Resolved, InProgress)
                | (Resolved, Assigned)
                | (Resolved, New)
                | (Resolved, Closed)
        )
    }

    /// Checked transition.
    pub fn transition(self, to: TicketStatus) -> Result<TicketStatus, RefusedTransition> {
        if self.can_transition_to(to) {
            Ok(to)
        } else {
            Err(RefusedTransition { from: self, to })
        }
    }

    /// The status after the requester writes again (a human reply, never a
    /// machine one). `has_assignee` says whether a caseworker holds the case.
    /// Returns `None` when the status does not change.
    pub fn on_requester_reply(self, has_assignee: bool) -> Option<TicketStatus> {
        use TicketStatus::*;
        match self {
            WaitingOnRequester | Resolved if has_assignee => Some(InProgress),
            WaitingOnRequester | Resolved => Some(New),
            New | Assigned | InProgress | Closed => None,
        }
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// How urgent a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    Normal,
    /// Needs attention soon.
    High,
    /// Someone may be at risk.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    /// The stored / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }
}

impl FromStr for Priority {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::TicketStatus::*;
    use super::*;

    #[test]
    fn every_allowed_and_refused_transition() {
        let allowed = [
            (New, Assigned),
            (New, Closed),
            (Assigned, New),
            (Assigned, InProgress),
            (Assigned, WaitingOnRequester),
            (Assigned, Resolved),
            (Assigned, Closed),
            (InProgress, Assigned),
            (InProgress, New),
            (InProgress, WaitingOnRequester),
            (InProgress, Resolved),
            (InProgress, Closed),
            (WaitingOnRequester, InProgress),
            (WaitingOnRequester, Assigned),
            (WaitingOnRequester, Resolved),
            (WaitingOnRequester, Closed),
            (Resolved, InProgress),
            (Resolved, Assigned),
            (Resolved, New),
            (Resolved, Closed),
        ];
        for from in TicketStatus::ALL {
            for to in TicketStatus::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
                assert_eq!(from.transition(to).is_ok(), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn closed_is_final_and_no_self_loops() {
        for to in TicketStatus::ALL {
            assert!(!Closed.can_transition_to(to));
        }
        for s in TicketStatus::ALL {
            assert!(!s.can_transition_to(s));
        }
        // A case cannot be "resolved" before anyone looked at it.
        assert!(!New.can_transition_to(Resolved));
    }

    #[test]
    fn requester_reply_reopens_resolved() {
        assert_eq!(Resolved.on_requester_reply(true), Some(InProgress));
        assert_eq!(Resolved.on_requester_reply(false), Some(New));
        assert_eq!(
            WaitingOnRequester.on_requester_reply(true),
            Some(InProgress)
        );
        assert_eq!(New.on_requester_reply(false), None);
        assert_eq!(InProgress.on_requester_reply(true), None);
        assert_eq!(Closed.on_requester_reply(true), None);
    }

    #[test]
    fn names_round_trip() {
        for s in TicketStatus::ALL {
            assert_eq!(s.as_str().parse::<TicketStatus>(), Ok(s));
        }
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>().ok(), Some(p));
        }
        assert!("open".parse::<TicketStatus>().is_err());
    }
}
