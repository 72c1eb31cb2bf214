//! Who may do what on the caseworkers' dashboard.
//!
//! Pure: no I/O, no database. The web layer builds a [`Principal`] from the
//! session, a [`CaseScope`] from the case, and asks the policy functions
//! here; every answer is a plain `bool`, so the rules are tested
//! exhaustively in one place (`tests` below: role × action × whose case).
//!
//! Passwords ([`password`]) are hashed with Argon2id here too, so the core
//! crate stays free of it and the store only keeps the PHC strings.

pub mod password;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use password::{PasswordError, check_password, hash_password, verify_password};

/// What a dashboard user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including people, the resource hub and the audit log.
    Admin,
    /// Every case: view, change, (re)assign.
    Coordinator,
    /// A volunteer: their own cases, and unassigned cases of the countries
    /// they cover.
    Caseworker,
}

impl Role {
    /// Every role, for matrices and pickers.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Coordinator, Role::Caseworker];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Caseworker => "caseworker",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected admin, coordinator or caseworker)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "coordinator" => Ok(Role::Coordinator),
            "caseworker" => Ok(Role::Caseworker),
            _ => Err(UnknownRole(s.to_owned())),
        }
    }
}

/// The signed-in user, as the policy sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The user's id.
    pub user_id: Uuid,
    /// Their role.
    pub role: Role,
    /// The volunteer record of a caseworker (whose cases are "theirs").
    pub volunteer_id: Option<Uuid>,
    /// Countries the volunteer covers (ISO 3166 alpha-2). `*` (the global
    /// pool) grants no view of unassigned cases by itself.
    pub countries: Vec<String>,
}

/// What the policy needs to know about a case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseScope {
    /// The volunteer it is assigned to.
    pub assignee: Option<Uuid>,
    /// Its country (ISO 3166 alpha-2), when known.
    pub country: Option<String>,
}

impl Principal {
    fn is_staff(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Coordinator)
    }

    /// Whether the case is assigned to this user's volunteer record.
    fn owns(&self, case: &CaseScope) -> bool {
        matches!((self.volunteer_id, case.assignee), (Some(me), Some(a)) if me == a)
    }

    /// Whether this user covers the case's country (exact code; `*` and a
    /// case without a country never match).
    fn covers(&self, case: &CaseScope) -> bool {
        let Some(country) = case.country.as_deref() else {
            return false;
        };
        let country = country.trim();
        !country.is_empty()
            && country != "*"
            && self
                .countries
                .iter()
                .any(|c| c.trim().eq_ignore_ascii_case(country))
    }
}

/// May `p` see this case (list it, open it, read its messages)?
///
/// Admins and coordinators: every case. Caseworkers: cases assigned to them,
/// and *unassigned* cases of a country they cover (so they can pick one
/// up). Nothing else: not a colleague's case, even in their own country.
pub fn can_view_case(p: &Principal, case: &CaseScope) -> bool {
    match p.role {
        Role::Admin | Role::Coordinator => true,
        Role::Caseworker => p.owns(case) || (case.assignee.is_none() && p.covers(case)),
    }
}

/// May `p` change this case (reply, add notes, change its status)?
///
/// Admins and coordinators: every case. Caseworkers: only cases assigned to
/// them (an unassigned case is taken first, which is an assignment).
pub fn can_change_case(p: &Principal, case: &CaseScope) -> bool {
    p.is_staff() || (p.role == Role::Caseworker && p.owns(case))
}

/// May `p` assign, reassign or unassign cases?
pub fn can_reassign(p: &Principal) -> bool {
    p.is_staff()
}

/// May `p` take this case, i.e. assign it to their own volunteer record?
///
/// Only someone with a volunteer record, and only an unassigned case:
/// caseworkers in a country they cover (the unassigned cases they can
/// see), admins and coordinators any. Capacity is the store's to check.
pub fn can_take_case(p: &Principal, case: &CaseScope) -> bool {
    p.volunteer_id.is_some() && case.assignee.is_none() && (p.is_staff() || p.covers(case))
}

/// May `p` manage users and volunteers?
pub fn can_manage_people(p: &Principal) -> bool {
    p.role == Role::Admin
}

/// May `p` edit the public resource hub?
pub fn can_manage_hub(p: &Principal) -> bool {
    p.role == Role::Admin
}

/// May `p` read the audit log?
pub fn can_view_audit(p: &Principal) -> bool {
    p.role == Role::Admin
}

/// May `p` see the state of the IMAP mailboxes (accounts, errors)?
pub fn can_view_mailboxes(p: &Principal) -> bool {
    p.role == Role::Admin
}

/// The key that login rate limiting counts failed attempts under: the
/// address (lower-cased) together with the client's network.
///
/// Keyed by (email, client) rather than by email alone, so that nobody can
/// lock a user out by failing logins in their name from elsewhere: the
/// user's own attempts, from their own network, count separately. IPv6
/// clients are keyed by their /64, since one host usually holds a whole
/// /64 and could otherwise rotate addresses to escape the limit. Guessing
/// from many networks at once is slowed by Argon2id and the 12-character
/// minimum instead.
pub fn login_key(email: &str, client: IpAddr) -> String {
    let email = email.trim().to_lowercase();
    let net = match client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    };
    format!("{email}|{net}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action the matrix checks.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Action {
        View,
        Change,
        Take,
        Reassign,
        ManagePeople,
        ManageHub,
        ViewAudit,
        ViewMailboxes,
    }
    const ACTIONS: [Action; 8] = [
        Action::View,
        Action::Change,
        Action::Take,
        Action::Reassign,
        Action::ManagePeople,
        Action::ManageHub,
        Action::ViewAudit,
        Action::ViewMailboxes,
    ];

    /// Whose case, from the principal's point of view.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Whose {
        /// Assigned to me.
        Mine,
        /// Assigned to a colleague, in a country I cover.
        ColleaguesInMyCountry,
        /// Assigned to a colleague, elsewhere.
        ColleaguesElsewhere,
        /// Unassigned, in a country I cover.
        UnassignedInMyCountry,
        /// Unassigned, in a country I do not cover.
        UnassignedElsewhere,
        /// Unassigned, country unknown.
        UnassignedNoCountry,
    }
    const WHOSE: [Whose; 6] = [
        Whose::Mine,
        Whose::ColleaguesInMyCountry,
        Whose::ColleaguesElsewhere,
        Whose::UnassignedInMyCountry,
        Whose::UnassignedElsewhere,
        Whose::UnassignedNoCountry,
    ];

    const ME: Uuid = Uuid::from_u128(1);
    const COLLEAGUE: Uuid = Uuid::from_u128(2);

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: Uuid::from_u128(100),
            role,
            volunteer_id: Some(ME),
            countries: vec!["DE".into(), "AT".into()],
        }
    }

    fn case(whose: Whose) -> CaseScope {
        let (assignee, country) = match whose {
            Whose::Mine => (Some(ME), Some("FR")),
            Whose::ColleaguesInMyCountry => (Some(COLLEAGUE), Some("DE")),
            Whose::ColleaguesElsewhere => (Some(COLLEAGUE), Some("FR")),
            Whose::UnassignedInMyCountry => (None, Some("DE")),
            Whose::UnassignedElsewhere => (None, Some("FR")),
            Whose::UnassignedNoCountry => (None, None),
        };
        CaseScope {
            assignee,
            country: country.map(str::to_owned),
        }
    }

    fn allowed(p: &Principal, action: Action, c: &CaseScope) -> bool {
        match action {
            Action::View => can_view_case(p, c),
            Action::Change => can_change_case(p, c),
            Action::Take => can_take_case(p, c),
            Action::Reassign => can_reassign(p),
            Action::ManagePeople => can_manage_people(p),
            Action::ManageHub => can_manage_hub(p),
            Action::ViewAudit => can_view_audit(p),
            Action::ViewMailboxes => can_view_mailboxes(p),
        }
    }

    /// The specification, written out independently of the implementation.
    fn expected(role: Role, action: Action, whose: Whose) -> bool {
        use Action::*;
        use Role::*;
        match (role, action) {
            // Nobody takes a case someone holds; caseworkers only in their
            // countries.
            (_, Take) => {
                matches!(
                    whose,
                    Whose::UnassignedInMyCountry
                        | Whose::UnassignedElsewhere
                        | Whose::UnassignedNoCountry
                ) && (role != Caseworker || whose == Whose::UnassignedInMyCountry)
            }
            (Admin, _) => true,
            (Coordinator, View | Change | Reassign) => true,
            (Coordinator, ManagePeople | ManageHub | ViewAudit | ViewMailboxes) => false,
            (Caseworker, View) => matches!(whose, Whose::Mine | Whose::UnassignedInMyCountry),
            (Caseworker, Change) => whose == Whose::Mine,
            (Caseworker, Reassign | ManagePeople | ManageHub | ViewAudit | ViewMailboxes) => false,
        }
    }

    #[test]
    fn role_action_case_matrix() {
        let mut checked = 0;
        for role in Role::ALL {
            let p = principal(role);
            for action in ACTIONS {
                for whose in WHOSE {
                    let got = allowed(&p, action, &case(whose));
                    assert_eq!(
                        got,
                        expected(role, action, whose),
                        "{role} {action:?} on {whose:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 3 * 8 * 6);
    }

    #[test]
    fn caseworker_without_volunteer_record_owns_nothing() {
        let p = Principal {
            volunteer_id: None,
            ..principal(Role::Caseworker)
        };
        // A case with no assignee is not "theirs" just because both are None.
        let unassigned_elsewhere = case(Whose::UnassignedElsewhere);
        assert!(!can_view_case(&p, &unassigned_elsewhere));
        assert!(!can_change_case(&p, &unassigned_elsewhere));
        assert!(!can_view_case(&p, &case(Whose::Mine)));
        assert!(!can_change_case(&p, &case(Whose::Mine)));
        // Their countries still let them see the unassigned pool.
        assert!(can_view_case(&p, &case(Whose::UnassignedInMyCountry)));
        assert!(!can_change_case(&p, &case(Whose::UnassignedInMyCountry)));
        // Nor can they take it: there is nobody to assign it to.
        assert!(!can_take_case(&p, &case(Whose::UnassignedInMyCountry)));
        let coordinator = Principal {
            volunteer_id: None,
            ..principal(Role::Coordinator)
        };
        assert!(!can_take_case(
            &coordinator,
            &case(Whose::UnassignedElsewhere)
        ));
        assert!(can_reassign(&coordinator));
    }

    #[test]
    fn global_pool_and_country_matching() {
        let global = Principal {
            countries: vec!["*".into()],
            ..principal(Role::Caseworker)
        };
        for whose in [
            Whose::UnassignedInMyCountry,
            Whose::UnassignedElsewhere,
            Whose::UnassignedNoCountry,
            Whose::ColleaguesElsewhere,
        ] {
            assert!(!can_view_case(&global, &case(whose)), "{whose:?}");
        }
        let star_case = CaseScope {
            assignee: None,
            country: Some("*".into()),
        };
        assert!(!can_view_case(&global, &star_case));
        let empty = CaseScope {
            assignee: None,
            country: Some(String::new()),
        };
        let blank_cover = Principal {
            countries: vec![String::new()],
            ..principal(Role::Caseworker)
        };
        assert!(!can_view_case(&blank_cover, &empty));
        // Codes compare case-insensitively.
        let lower = CaseScope {
            assignee: None,
            country: Some("de".into()),
        };
        assert!(can_view_case(&principal(Role::Caseworker), &lower));
        // A caseworker covering nothing sees only their own cases.
        let none = Principal {
            countries: vec![],
            ..principal(Role::Caseworker)
        };
        for whose in WHOSE {
            assert_eq!(can_view_case(&none, &case(whose)), whose == Whose::Mine);
        }
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(" Admin ".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
        assert!(serde_json::from_str::<Role>("\"Admin\"").is_err());
    }

    #[test]
    fn login_keys_separate_clients_not_just_addresses() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            login_key(" Ana@Example.org ", a),
            "ana@example.org|192.0.2.1"
        );
        assert_ne!(
            login_key("ana@example.org", a),
            login_key("ana@example.org", b)
        );
        assert_ne!(
            login_key("ana@example.org", a),
            login_key("bo@example.org", a)
        );
        // One IPv6 /64 is one client.
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let v6c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(login_key("x@y.z", v6a), login_key("x@y.z", v6b));
        assert_ne!(login_key("x@y.z", v6a), login_key("x@y.z", v6c));
        // IPv4-mapped addresses count as the IPv4 address.
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(login_key("x@y.z", mapped), login_key("x@y.z", a));
    }
}
