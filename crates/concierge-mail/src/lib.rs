//! Mail formats: parsing inbound RFC 5322 messages (with `mail-parser`) into
//! plain owned values the domain and storage understand.
pub mod inbound;
