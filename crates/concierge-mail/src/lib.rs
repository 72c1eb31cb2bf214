//! Mail formats: parsing inbound RFC 5322 messages (with `mail-parser`) into
//! plain owned values the domain and storage understand ([`inbound`]), and
//! templating, building and relaying outgoing mail ([`outbound`]).
pub mod inbound;
pub mod outbound;
