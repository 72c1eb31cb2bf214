//! Handing built messages to an SMTP relay.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use percent_encoding::percent_decode_str;

/// Time allowed to open the TCP connection.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole delivery (connect, TLS, AUTH, DATA, QUIT).
const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(300);

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: no TLS (a local MTA). Default port 25.
    Plain,
    /// `smtp+starttls://`: STARTTLS required before anything else. Default port 587.
    StartTls,
    /// `smtps://`: TLS from the first byte. Default port 465.
    Tls,
}

impl Security {
    fn scheme(self) -> &'static str {
        match self {
            Security::Plain => "smtp",
            Security::StartTls => "smtp+starttls",
            Security::Tls => "smtps",
        }
    }
}

/// A relay URL that cannot be used. Never contains the password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RelayUrlError {
    /// Not `smtp://`, `smtp+starttls://` or `smtps://`.
    #[error("relay URL must start with smtp://, smtp+starttls:// or smtps://")]
    Scheme,
    /// Missing or malformed host.
    #[error("relay URL has no usable host")]
    Host,
    /// Port is not a number in 1..=65535.
    #[error("relay URL has an invalid port")]
    Port,
    /// User info without `:password`, or not valid percent-encoded UTF-8.
    #[error("relay URL credentials must be user:password (percent-encoded UTF-8)")]
    Credentials,
    /// A password would travel in clear text to a non-loopback host.
    #[error(
        "credentials over smtp:// are only allowed to a loopback host; use smtp+starttls:// or smtps://"
    )]
    CredentialsInClear,
    /// A path, query or fragment.
    #[error("relay URL must not have a path, query or fragment")]
    Extra,
    /// TLS could not be set up for this host.
    #[error("cannot set up TLS for the relay host: {0}")]
    Tls(String),
}

/// A failed delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later: 4xx replies, connection, TLS, timeout and relay
    /// configuration problems (including refused authentication).
    #[error("temporary delivery failure: {0}")]
    Temporary(String),
    /// Retrying will not help: a 5xx reply to this message, or an unusable
    /// envelope address.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

impl SendError {
    /// Whether a later retry may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, SendError::Temporary(_))
    }
}

/// An SMTP relay, built from a URL. One connection per message (no pool).
pub struct Relay {
    security: Security,
    host: String,
    port: u16,
    user: Option<String>,
    has_password: bool,
    send_timeout: Duration,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// For plain SMTP, which we connect ourselves (see [`Relay::send_plain`]).
    credentials: Option<Credentials>,
}

impl Relay {
    /// Parses `smtp://host:port`, `smtp+starttls://host:port` or
    /// `smtps://host:port`, each with optional percent-encoded
    /// `user:password@`. IPv6 hosts go in brackets (`smtp://[::1]:25`).
    pub fn from_url(url: &str) -> Result<Relay, RelayUrlError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or(RelayUrlError::Scheme)?;
        let security = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => Security::Plain,
            "smtp+starttls" => Security::StartTls,
            "smtps" => Security::Tls,
            _ => return Err(RelayUrlError::Scheme),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(RelayUrlError::Extra);
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;
        let port = match port {
            Some(p) => p,
            None => match security {
                Security::Plain => 25,
                Security::StartTls => 587,
                Security::Tls => 465,
            },
        };
        let credentials = match userinfo {
            None => None,
            Some(u) => {
                let (user, password) = u.split_once(':').ok_or(RelayUrlError::Credentials)?;
                let decode = |s: &str| {
                    percent_decode_str(s)
                        .decode_utf8()
                        .map(|c| c.into_owned())
                        .map_err(|_| RelayUrlError::Credentials)
                };
                let user = decode(user)?;
                if user.is_empty() {
                    return Err(RelayUrlError::Credentials);
                }
                Some((user, decode(password)?))
            }
        };
        if credentials.is_some() && security == Security::Plain && !is_loopback(&host) {
            return Err(RelayUrlError::CredentialsInClear);
        }

        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(CONNECT_TIMEOUT));
        let tls = |h: &str| {
            TlsParameters::new(h.to_owned()).map_err(|e| RelayUrlError::Tls(e.to_string()))
        };
        builder = match security {
            Security::Plain => builder.tls(Tls::None),
            Security::StartTls => builder.tls(Tls::Required(tls(&host)?)),
            Security::Tls => builder.tls(Tls::Wrapper(tls(&host)?)),
        };
        let user = credentials.as_ref().map(|(u, _)| u.clone());
        let has_password = credentials.is_some();
        let credentials = credentials.map(|(user, password)| Credentials::new(user, password));
        if let Some(c) = &credentials {
            builder = builder.credentials(c.clone());
        }
        Ok(Relay {
            security,
            host,
            port,
            user,
            has_password,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            transport: builder.build(),
            credentials,
        })
    }

    /// Overrides the time allowed for a whole delivery (default 5 minutes).
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// The connection security.
    pub fn security(&self) -> Security {
        self.security
    }

    /// The relay host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The relay port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends `raw` (a complete RFC 5322 message) with the given envelope.
    /// An empty `envelope_from` is the null reverse path `<>`.
    pub async fn send_raw(
        &self,
        envelope_from: &str,
        to: &[String],
        raw: &[u8],
    ) -> Result<(), SendError> {
        let from = match envelope_from.trim() {
            "" | "<>" => None,
            f => Some(parse_address(f, "envelope sender")?),
        };
        let to = to
            .iter()
            .map(|t| parse_address(t, "envelope recipient"))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = lettre::address::Envelope::new(from, to)
            .map_err(|_| SendError::Permanent("no envelope recipient".into()))?;
        // lettre always ends DATA with `CRLF . CRLF`; a message that already
        // ends with CRLF would gain an empty line, so hand it one CRLF less.
        let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        let send = async {
            match self.security {
                Security::Plain => self.send_plain(&envelope, raw).await,
                Security::StartTls | Security::Tls => self
                    .transport
                    .send_raw(&envelope, raw)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(&e)),
            }
        };
        match tokio::time::timeout(self.send_timeout, send).await {
            Err(_) => Err(SendError::Temporary(format!(
                "relay {}:{} did not finish within {:?}",
                self.host, self.port, self.send_timeout
            ))),
            Ok(r) => r,
        }
    }

    /// Plain SMTP over a connection of our own with Nagle's algorithm off.
    /// lettre writes the message and its final `.` in two writes; with
    /// Nagle on, the `.` waits for the relay to acknowledge the message's
    /// last segment, which a relay delays (about 40 ms on Linux): one stall
    /// per mail. Otherwise as lettre's transport does it: EHLO, AUTH when
    /// configured, MAIL/RCPT/DATA, then close.
    async fn send_plain(
        &self,
        envelope: &lettre::address::Envelope,
        raw: &[u8],
    ) -> Result<(), SendError> {
        let unreachable = |e: String| {
            SendError::Temporary(format!(
                "relay {}:{} unreachable: {e}",
                self.host, self.port
            ))
        };
        let connect = tokio::net::TcpStream::connect((self.host.as_str(), self.port));
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => return Err(unreachable("connection timed out".into())),
        };
        stream
            .set_nodelay(true)
            .map_err(|e| unreachable(e.to_string()))?;
        let mut conn =
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &ClientId::default())
                .await
                .map_err(|e| classify(&e))?;
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                .await
                .map_err(|e| classify(&e))?;
        }
        let sent = conn.send(envelope, raw).await.map_err(|e| classify(&e));
        conn.abort().await;
        sent.map(|_| ())
    }
}

impl FromStr for Relay {
    type Err = RelayUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Relay::from_url(s)
    }
}

/// Shows the URL with the password replaced by `***`.
impl fmt::Display for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.security.scheme())?;
        if let Some(user) = &self.user {
            let user = percent_encoding::utf8_percent_encode(user, USERINFO).to_string();
            write!(f, "{user}:***@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Never prints the password (nor lettre's transport, which holds it).
impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("security", &self.security)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.has_password.then_some("<redacted>"))
            .field("send_timeout", &self.send_timeout)
            .finish()
    }
}

const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn split_host_port(s: &str) -> Result<(String, Option<u16>), RelayUrlError> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(RelayUrlError::Host)?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(RelayUrlError::Host);
        }
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or(RelayUrlError::Port)?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty()
        || host.len() > 253
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'))
    {
        return Err(RelayUrlError::Host);
    }
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or(RelayUrlError::Port)?,
        ),
    };
    Ok((host.to_ascii_lowercase(), port))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn parse_address(s: &str, what: &str) -> Result<lettre::Address, SendError> {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .parse::<lettre::Address>()
        .map_err(|_| SendError::Permanent(format!("unusable {what} address")))
}

/// Reply codes that mean the relay (not this message) is misconfigured:
/// retrying after the operator fixes it will succeed.
const RELAY_CONFIG_CODES: &[u16] = &[530, 534, 535, 538];

/// 5xx replies are permanent, except authentication / "must use TLS" ones
/// (a relay misconfiguration). Everything else is temporary: 4xx, network,
/// connection, TLS, malformed replies, timeouts.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    let code = e.status().map(u16::from);
    if e.is_permanent() && !code.is_some_and(|c| RELAY_CONFIG_CODES.contains(&c)) {
        SendError::Permanent(text)
    } else {
        SendError::Temporary(text)
    }
}

#[cfg(test)]
mod tests;
