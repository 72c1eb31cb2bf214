//! Signed reply tokens carried in our Message-IDs and `+token` addresses.
//!
//! A token names a ticket reference and carries an HMAC-SHA256 over it,
//! truncated to 160 bits and written in lower-case base32 so that it survives
//! mail systems that lower-case local parts. Verification recomputes the MAC
//! and compares the whole of it in constant time: a forged, truncated,
//! lengthened or empty token never matches.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::ticket::TicketReference;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC that a token carries.
const MAC_BYTES: usize = 20;
/// Characters of the MAC in base32 (20 bytes = 160 bits = 32 chars).
const MAC_CHARS: usize = 32;
const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const DOMAIN: &[u8] = b"concierge-reply-token-v1:";

/// The secret that signs reply tokens. Shared by every process.
#[derive(Clone)]
pub struct ReplyTokenKey(Vec<u8>);

impl std::fmt::Debug for ReplyTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyTokenKey(<redacted>)")
    }
}

/// A key shorter than 16 bytes.
#[derive(Debug, thiserror::Error)]
#[error("the reply token secret must be at least 16 bytes")]
pub struct WeakKey;

impl ReplyTokenKey {
    /// Wraps a secret of at least 16 bytes.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, WeakKey> {
        let secret = secret.into();
        if secret.len() < 16 {
            return Err(WeakKey);
        }
        Ok(Self(secret))
    }

    fn mac(&self, reference: &TicketReference) -> [u8; MAC_BYTES] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(DOMAIN);
        mac.update(reference.as_str().as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }

    /// The token for a ticket: `c7k2m9x` + `-` + 32 base32 characters.
    pub fn issue(&self, reference: &TicketReference) -> String {
        let mac = base32(&self.mac(reference));
        format!(
            "{}-{mac}",
            reference.as_str().replace('-', "").to_ascii_lowercase()
        )
    }

    /// The ticket a token was issued for, if the token is genuine.
    pub fn verify(&self, token: &str) -> Option<TicketReference> {
        let token = token.trim().to_ascii_lowercase();
        let (head, mac) = token.split_once('-')?;
        let code = head.strip_prefix('c')?;
        let reference: TicketReference = format!("C-{code}").parse().ok()?;
        if mac.len() != MAC_CHARS {
            return None;
        }
        let given = unbase32(mac)?;
        let expected = self.mac(&reference);
        if bool::from(given.as_slice().ct_eq(expected.as_slice())) {
            Some(reference)
        } else {
            None
        }
    }

    /// Looks for a genuine token in a Message-ID we issued
    /// (`<token.random@domain>`) and returns its ticket.
    pub fn verify_message_id(&self, message_id: &str) -> Option<TicketReference> {
        let id = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let local = id.split('@').next()?;
        let token = local.split('.').next()?;
        self.verify(token)
    }

    /// Looks for a genuine token in a plus address (`global+token@domain`).
    pub fn verify_address(&self, address: &str) -> Option<TicketReference> {
        let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
        let (_, token) = local.split_once('+')?;
        self.verify(token)
    }
}

fn base32(bytes: &[u8; MAC_BYTES]) -> String {
    let mut out = String::with_capacity(MAC_CHARS);
    let mut buffer: u64 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    out
}

fn unbase32(s: &str) -> Option<[u8; MAC_BYTES]> {
    let mut out = [0u8; MAC_BYTES];
    let mut buffer: u64 = 0;
    let mut bits = 0;
    let mut i = 0;
    for c in s.bytes() {
        let v = B32.iter().position(|&x| x == c)? as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(i)? = ((buffer >> bits) & 0xff) as u8;
            i += 1;
        }
    }
    (i == MAC_BYTES).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ReplyTokenKey {
        ReplyTokenKey::new(*b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn reference() -> TicketReference {
        "C-7K2M9X".parse().unwrap()
    }

    #[test]
    fn issued_tokens_verify() {
        let t = key().issue(&reference());
        assert!(t.starts_with("c7k2m9x-"), "{t}");
        assert_eq!(t.len(), 7 + 1 + MAC_CHARS);
        assert_eq!(key().verify(&t), Some(reference()));
        assert_eq!(key().verify(&t.to_ascii_uppercase()), Some(reference()));
    }

    #[test]
    fn forged_truncated_and_empty_tokens_never_match() {
        let t = key().issue(&reference());
        let k = key();
        assert_eq!(k.verify(""), None);
        assert_eq!(k.verify("c7k2m9x-"), None);
        assert_eq!(k.verify(&t[..t.len() - 1]), None, "truncated by one");
        assert_eq!(k.verify(&t[..20]), None, "truncated");
        assert_eq!(k.verify(&format!("{t}a")), None, "lengthened");
        // Flip each character of the MAC in turn.
        for i in 8..t.len() {
            let mut forged = t.clone().into_bytes();
            forged[i] = if forged[i] == b'a' { b'b' } else { b'a' };
            assert_eq!(
                k.verify(std::str::from_utf8(&forged).unwrap()),
                None,
                "flip {i}"
            );
        }
        // The MAC of one ticket does not open another.
        let other: TicketReference = "C-AAAAAA".parse().unwrap();
        let mac = t.split_once('-').unwrap().1;
        assert_eq!(k.verify(&format!("caaaaaa-{mac}")), None);
        assert!(k.verify(&key().issue(&other)).is_some());
        // Another key's token does not verify.
        let k2 = ReplyTokenKey::new(*b"another secret key of 32 bytes!!").unwrap();
        assert_eq!(k2.verify(&t), None);
    }

    #[test]
    fn tokens_in_message_ids_and_addresses() {
        let k = key();
        let t = k.issue(&reference());
        assert_eq!(
            k.verify_message_id(&format!("<{t}.4f9a1c@concierge.example.org>")),
            Some(reference())
        );
        assert_eq!(
            k.verify_address(&format!("global+{t}@concierge.example.org")),
            Some(reference())
        );
        assert_eq!(k.verify_address("global@concierge.example.org"), None);
        assert_eq!(k.verify_message_id("<CAF=abc@mail.gmail.com>"), None);
        assert_eq!(k.verify_message_id("<>"), None);
    }

    #[test]
    fn weak_keys_are_refused() {
        assert!(ReplyTokenKey::new(b"short".to_vec()).is_err());
    }

    #[test]
    fn base32_round_trip() {
        let bytes: [u8; MAC_BYTES] = core::array::from_fn(|i| (i * 37 + 11) as u8);
        assert_eq!(unbase32(&base32(&bytes)), Some(bytes));
        assert_eq!(unbase32("!!"), None);
    }
}
