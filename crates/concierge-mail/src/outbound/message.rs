//! Building outgoing messages (RFC 5322 bytes, via `lettre`), and the
//! Message-ID / reply-address / subject helpers that carry reply tokens.

use concierge_core::message::{EmailAddress, LOOP_HEADER};
use concierge_core::threading::{ReplyTokenKey, normalize_message_id};
use concierge_core::ticket::TicketReference;
use lettre::message::header::{Header, HeaderName, HeaderValue, InReplyTo, References};
use lettre::message::{Mailbox as LettreMailbox, MultiPart, SinglePart};

/// Longest subject we write, in characters (before RFC 2047 encoding).
pub const MAX_SUBJECT_CHARS: usize = 250;
/// Most Message-IDs written into `References` (the first and the newest).
pub const MAX_OUTBOUND_REFERENCES: usize = 20;
/// Longest Message-ID copied into `References` / `In-Reply-To`.
const MAX_REFERENCE_ID_LEN: usize = 250;
/// Longest display name we write, in characters.
const MAX_NAME_CHARS: usize = 200;
/// Reply prefixes stripped before adding our own `Re:` (lower case).
const REPLY_PREFIXES: &[&str] = &["re", "aw", "sv", "antw", "vs", "res", "ref", "rif"];

/// A sender: display name and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Display name; control characters are removed when written.
    pub name: Option<String>,
    /// The address.
    pub address: EmailAddress,
}

/// A message to build.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `From`.
    pub from: Mailbox,
    /// `Reply-To` (usually our `+token` address).
    pub reply_to: Option<EmailAddress>,
    /// `To`; at least one.
    pub to: Vec<EmailAddress>,
    /// `Subject`, unencoded; control characters are replaced by spaces.
    pub subject: String,
    /// The text/plain body.
    pub text: String,
    /// The text/html alternative, if any.
    pub html: Option<String>,
    /// Our Message-ID, without angle brackets (see [`new_message_id`]).
    pub message_id: String,
    /// The Message-ID answered, without or with brackets.
    pub in_reply_to: Option<String>,
    /// The thread, oldest first (see [`references_for_reply`]).
    pub references: Vec<String>,
    /// `Auto-Submitted` value: `auto-replied` for acknowledgements.
    pub auto_submitted: Option<&'static str>,
    /// Value of our loop header ([`LOOP_HEADER`]).
    pub loop_domain: String,
}

/// Why a message could not be built. Never contains an address or text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// No recipient.
    #[error("the message has no recipient")]
    NoRecipients,
    /// An address lettre does not accept.
    #[error("the {0} address is not usable")]
    Address(&'static str),
    /// Our own Message-ID is malformed.
    #[error("the Message-ID is malformed")]
    MessageId,
    /// A header value outside printable ASCII where only that is allowed.
    #[error("the {0} header value is malformed")]
    HeaderValue(&'static str),
    /// lettre refused the message.
    #[error("cannot build the message: {0}")]
    Lettre(String),
}

/// `Auto-Submitted` (RFC 3834).
#[derive(Debug, Clone)]
struct AutoSubmitted(String);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Our loop header ([`LOOP_HEADER`]).
#[derive(Debug, Clone)]
struct ConciergeLoop(String);

impl Header for ConciergeLoop {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(LOOP_HEADER)
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Builds the full RFC 5322 message: headers, then a text/plain body or a
/// multipart/alternative with text and HTML, all UTF-8. `Date` is now.
pub fn build(o: &Outgoing) -> Result<Vec<u8>, BuildError> {
    if o.to.is_empty() {
        return Err(BuildError::NoRecipients);
    }
    let message_id = outbound_id(&o.message_id).ok_or(BuildError::MessageId)?;
    if !message_id.contains('@') {
        return Err(BuildError::MessageId);
    }
    let loop_domain = token_value(&o.loop_domain).ok_or(BuildError::HeaderValue(LOOP_HEADER))?;

    let mut b = lettre::Message::builder()
        .message_id(Some(format!("<{message_id}>")))
        .from(mailbox(o.from.name.as_deref(), &o.from.address, "From")?)
        .subject(clean_header_text(&o.subject, MAX_SUBJECT_CHARS));
    if let Some(reply_to) = &o.reply_to {
        b = b.reply_to(mailbox(None, reply_to, "Reply-To")?);
    }
    for to in &o.to {
        b = b.to(mailbox(None, to, "To")?);
    }
    if let Some(id) = o.in_reply_to.as_deref().and_then(outbound_id) {
        b = b.header(InReplyTo::from(format!("<{id}>")));
    }
    let references = bounded_ids(o.references.iter().map(String::as_str));
    if !references.is_empty() {
        let value = references
            .iter()
            .map(|id| format!("<{id}>"))
            .collect::<Vec<_>>()
            .join(" ");
        b = b.header(References::from(value));
    }
    if let Some(v) = o.auto_submitted {
        let v = token_value(v).ok_or(BuildError::HeaderValue("Auto-Submitted"))?;
        b = b.header(AutoSubmitted(v));
    }
    b = b.header(ConciergeLoop(loop_domain));

    let message = match &o.html {
        Some(html) => b.multipart(MultiPart::alternative_plain_html(
            o.text.clone(),
            html.clone(),
        )),
        // lettre ends a single part with its own CRLF: drop one line break
        // here so the body is not lengthened by an empty line.
        None => b.singlepart(SinglePart::plain(without_final_newline(&o.text))),
    }
    .map_err(|e| BuildError::Lettre(e.to_string()))?;
    Ok(message.formatted())
}

/// A Message-ID for a mail about `reference`: `{token}.{16 hex}@{domain}`,
/// so a reply's `In-Reply-To` / `References` leads back to the ticket
/// ([`ReplyTokenKey::verify_message_id`]).
pub fn new_message_id(key: &ReplyTokenKey, reference: &TicketReference, domain: &str) -> String {
    format!(
        "{}.{:016x}@{}",
        key.issue(reference),
        rand::random::<u64>(),
        domain.trim()
    )
}

/// The reply address for a ticket: `local+{token}@domain` from `base`
/// (any `+tag` already on `base` is replaced).
///
/// The token is 40 characters, so a base local part longer than 23
/// characters gives a local part over RFC 5321's 64-character limit.
pub fn reply_address(
    key: &ReplyTokenKey,
    reference: &TicketReference,
    base: &EmailAddress,
) -> String {
    format!(
        "{}+{}@{}",
        base.base_local_part(),
        key.issue(reference),
        base.domain()
    )
}

/// The subject of a reply: `Re: <original> [C-XXXXXX]`.
///
/// Leading reply prefixes (`Re:`, `RE[2]:`, `AW:`, `SV:`…) are collapsed into
/// one `Re:`, every `[C-XXXXXX]` tag already present is removed and ours is
/// put at the end once, control characters (CR, LF…) become spaces, and the
/// original part is cut to keep the whole under [`MAX_SUBJECT_CHARS`].
pub fn reply_subject(original: &str, reference: &TicketReference) -> String {
    let cleaned = clean_header_text(original, usize::MAX);
    let untagged = remove_reference_tags(&cleaned);
    let mut rest = untagged.as_str();
    while let Some(after) = strip_reply_prefix(rest) {
        rest = after;
    }
    let tag = format!("[{}]", reference.as_str());
    let budget = MAX_SUBJECT_CHARS - "Re: ".len() - 1 - tag.len();
    let rest = truncate_chars(rest, budget).trim_end();
    if rest.is_empty() {
        format!("Re: {tag}")
    } else {
        format!("Re: {rest} {tag}")
    }
}

/// `References` for a reply to a message that had `parent_references` and
/// Message-ID `parent_id`: the parent's chain followed by the parent,
/// normalised, deduplicated and bounded to [`MAX_OUTBOUND_REFERENCES`]
/// (keeping the thread's first message and the newest ones).
pub fn references_for_reply(parent_references: &[String], parent_id: Option<&str>) -> Vec<String> {
    bounded_ids(
        parent_references
            .iter()
            .map(String::as_str)
            .chain(parent_id),
    )
}

/// Normalises, deduplicates (keeping the last occurrence) and bounds a chain
/// of Message-IDs, oldest first.
fn bounded_ids<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids.filter_map(outbound_id) {
        out.retain(|x| x != &id);
        out.push(id);
    }
    if out.len() > MAX_OUTBOUND_REFERENCES {
        let drop = out.len() - MAX_OUTBOUND_REFERENCES;
        out.drain(1..=drop);
    }
    out
}

/// A Message-ID we are willing to write: normalised, printable ASCII, bounded.
fn outbound_id(raw: &str) -> Option<String> {
    let id = normalize_message_id(raw)?;
    (id.len() <= MAX_REFERENCE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"(),;\\".contains(&b)))
    .then_some(id)
}

/// A short header value that must be one printable-ASCII token.
fn token_value(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_owned())
}

fn mailbox(
    name: Option<&str>,
    address: &EmailAddress,
    field: &'static str,
) -> Result<LettreMailbox, BuildError> {
    let email = address
        .as_str()
        .parse::<lettre::Address>()
        .map_err(|_| BuildError::Address(field))?;
    let name = name
        .map(|n| clean_header_text(n, MAX_NAME_CHARS))
        .filter(|n| !n.is_empty());
    Ok(LettreMailbox::new(name, email))
}

/// Header-safe text: control characters (CR, LF, TAB, NUL…) become spaces,
/// runs of white space collapse to one, and the result is trimmed and cut to
/// `max_chars` characters.
pub(crate) fn clean_header_text(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(1024));
    let mut count = 0;
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() || matches!(c, '\u{2028}' | '\u{2029}') {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            if count + 1 >= max_chars {
                break;
            }
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        if count >= max_chars {
            break;
        }
        out.push(c);
        count += 1;
    }
    out
}

fn without_final_newline(s: &str) -> String {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s).to_owned()
}

fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Removes every `[C-XXXXXX]` tag that holds a valid reference.
fn remove_reference_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('[') {
        let after = &rest[start + 1..];
        match after.find(']') {
            Some(end) if after[..end].trim().parse::<TicketReference>().is_ok() => {
                out.push_str(&rest[..start]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    clean_header_text(&out, usize::MAX)
}

/// `Re: x` → `x`; also `RE[2]: x`, `AW: x`, `Re : x`, `Re： x`.
fn strip_reply_prefix(s: &str) -> Option<&str> {
    let s = s.trim_start();
    let word_end = s
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphabetic())
        .map_or(s.len(), |(i, _)| i);
    let word = &s[..word_end];
    if !REPLY_PREFIXES.iter().any(|p| word.eq_ignore_ascii_case(p)) {
        return None;
    }
    let mut rest = &s[word_end..];
    if let Some(counted) = rest.strip_prefix('[') {
        let close = counted.find(']')?;
        if close == 0 || !counted[..close].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest = &counted[close + 1..];
    }
    let rest = rest.trim_start();
    let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))?;
    Some(rest.trim_start())
}

#[cfg(test)]
mod tests;
