//! Password policy and Argon2id hashing.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`) with the
//! OWASP-recommended parameters: 19 MiB of memory, 2 iterations, 1 lane.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use rand::RngCore;

/// Shortest password accepted, in characters.
pub const MIN_CHARS: usize = 12;
/// Longest password accepted, in bytes (bounds the hashing work).
pub const MAX_BYTES: usize = 256;

/// Argon2id memory cost in KiB (OWASP: 19 MiB).
pub const M_COST_KIB: u32 = 19_456;
/// Argon2id iterations (OWASP: 2).
pub const T_COST: u32 = 2;
/// Argon2id parallelism (OWASP: 1).
pub const P_COST: u32 = 1;

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("a password needs at least {MIN_CHARS} characters")]
    TooShort,
    /// More than [`MAX_BYTES`] bytes.
    #[error("a password may have at most {MAX_BYTES} bytes")]
    TooLong,
    /// Only whitespace.
    #[error("a password cannot be only spaces")]
    Blank,
    /// The hasher failed (should not happen with valid parameters).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Checks a new password against the policy: at least 12 characters, at
/// most 256 bytes, not only whitespace. Nothing else (no composition rules,
/// per NIST SP 800-63B).
pub fn check_password(pw: &str) -> Result<(), PasswordError> {
    if pw.len() > MAX_BYTES {
        return Err(PasswordError::TooLong);
    }
    if pw.chars().all(char::is_whitespace) {
        return Err(PasswordError::Blank);
    }
    if pw.chars().count() < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the policy, then hashes with Argon2id and a random 128-bit salt.
pub fn hash_password(pw: &str) -> Result<String, PasswordError> {
    check_password(pw)?;
    hash_unchecked(pw)
}

fn hash_unchecked(pw: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    argon2()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// A hash of a random password, verified against when there is no real
/// hash, so that an unknown address costs as much time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 24];
        rand::rng().fill_bytes(&mut pw);
        hash_unchecked(&hex(&pw)).unwrap_or_default()
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `pw` matches the stored hash. `None` (no such user, or no
/// password set) does the same work and answers `false`; so does a
/// malformed hash. Over-long input is refused without hashing.
pub fn verify_password(pw: &str, stored: Option<&str>) -> bool {
    if pw.len() > MAX_BYTES {
        return false;
    }
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let ok = argon2().verify_password(pw.as_bytes(), &parsed).is_ok();
    ok && real
}

/// Whether a stored hash was made with other parameters than today's, so
/// the caller should re-hash the password after a successful login.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != Algorithm::Argon2id.ident()
        || params.m_cost() != M_COST_KIB
        || params.t_cost() != T_COST
        || params.p_cost() != P_COST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert_eq!(check_password(""), Err(PasswordError::Blank));
        assert_eq!(check_password("            "), Err(PasswordError::Blank));
        assert_eq!(
            check_password(" \t\n\u{a0}\u{3000}      "),
            Err(PasswordError::Blank)
        );
        assert_eq!(check_password("short"), Err(PasswordError::TooShort));
        assert_eq!(check_password("elevenchars"), Err(PasswordError::TooShort));
        assert_eq!(check_password("twelve chars"), Ok(()));
        // Characters, not bytes: 12 multi-byte characters are enough, 11 are not.
        assert_eq!(check_password(&"é".repeat(12)), Ok(()));
        assert_eq!(
            check_password(&"é".repeat(11)),
            Err(PasswordError::TooShort)
        );
        assert_eq!(check_password(&"a".repeat(256)), Ok(()));
        assert_eq!(
            check_password(&"a".repeat(257)),
            Err(PasswordError::TooLong)
        );
        // 129 two-byte characters = 258 bytes.
        assert_eq!(
            check_password(&"é".repeat(129)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(
            check_password(&" ".repeat(300)),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", Some(&h)));
        assert!(!verify_password("correct horse batterY", Some(&h)));
        assert!(!verify_password("", Some(&h)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password(
            "correct horse battery",
            Some("not a hash")
        ));
        assert!(!needs_rehash(&h));
        // Salted: the same password hashes differently.
        assert_ne!(h, hash_password("correct horse battery").unwrap());
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
    }

    #[test]
    fn older_parameters_need_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let h = weak
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse battery", Some(&h)));
        assert!(needs_rehash(&h));
        assert!(needs_rehash("garbage"));
    }
}
