//! Connecting: TCP, then TLS (rustls, ring), STARTTLS or nothing (loopback
//! only); logging in with a password or XOAUTH2.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::config::{MailboxConfig, TlsMode};

/// The connection under the IMAP client: plain or TLS.
#[derive(Debug)]
pub enum Conn {
    /// Unencrypted (loopback only).
    Plain(TcpStream),
    /// TLS (direct or after STARTTLS).
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A logged-in IMAP session.
pub type Session = async_imap::Session<Conn>;

/// Why a connection or login failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server could not be reached or the connection broke.
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, String),
    /// TLS failed (certificate, protocol).
    #[error("TLS with {0} failed: {1}")]
    Tls(String, String),
    /// The server refused the credentials.
    #[error("login refused for {user}: {reason}")]
    Auth {
        /// Login name.
        user: String,
        /// The server's words (never our secret).
        reason: String,
    },
    /// Configuration problem (no credentials, plain text off loopback, bad CA file).
    #[error("{0}")]
    Config(String),
    /// The server does not speak IMAP as expected.
    #[error("IMAP protocol error: {0}")]
    Protocol(String),
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

fn tls_config(m: &MailboxConfig) -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &m.ca_file {
        use rustls_pki_types::pem::PemObject;
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| ConnectError::Config(format!("ca_file {}: {e}", path.display())))?;
        for c in certs {
            let c =
                c.map_err(|e| ConnectError::Config(format!("ca_file {}: {e}", path.display())))?;
            roots
                .add(c)
                .map_err(|e| ConnectError::Config(format!("ca_file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn tls_wrap(m: &MailboxConfig, tcp: TcpStream) -> Result<Conn, ConnectError> {
    let name = rustls_pki_types::ServerName::try_from(m.host.clone())
        .map_err(|e| ConnectError::Config(format!("host {:?}: {e}", m.host)))?;
    let connector = tokio_rustls::TlsConnector::from(tls_config(m)?);
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
        .await
        .map_err(|_| ConnectError::Tls(m.host.clone(), "timed out".into()))?
        .map_err(|e| ConnectError::Tls(m.host.clone(), e.to_string()))?;
    Ok(Conn::Tls(Box::new(tls)))
}

fn imap_err(host: &str, e: async_imap::error::Error) -> ConnectError {
    use async_imap::error::Error;
    match e {
        Error::Io(e) => ConnectError::Unreachable(host.to_owned(), e.to_string()),
        Error::ConnectionLost => {
            ConnectError::Unreachable(host.to_owned(), "connection lost".into())
        }
        other => ConnectError::Protocol(other.to_string()),
    }
}

/// Reads the server's greeting; `Err` when there is none (or a `BYE`).
async fn greeting(client: &mut async_imap::Client<Conn>, host: &str) -> Result<(), ConnectError> {
    let g = tokio::time::timeout(CONNECT_TIMEOUT, client.read_response())
        .await
        .map_err(|_| ConnectError::Unreachable(host.to_owned(), "no greeting".into()))?
        .map_err(|e| ConnectError::Unreachable(host.to_owned(), e.to_string()))?;
    match g {
        Some(r) => match r.parsed() {
            async_imap::imap_proto::Response::Data {
                status: async_imap::imap_proto::Status::Bye,
                ..
            } => Err(ConnectError::Unreachable(
                host.to_owned(),
                "server said BYE".into(),
            )),
            _ => Ok(()),
        },
        None => Err(ConnectError::Unreachable(
            host.to_owned(),
            "closed before greeting".into(),
        )),
    }
}

/// Connects, secures the connection as configured and reads the greeting.
pub async fn connect(m: &MailboxConfig) -> Result<async_imap::Client<Conn>, ConnectError> {
    let addr = format!("{}:{}", m.host, m.port);
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
        .await
        .map_err(|_| ConnectError::Unreachable(addr.clone(), "connect timed out".into()))?
        .map_err(|e| ConnectError::Unreachable(addr.clone(), e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    match m.tls {
        TlsMode::None => {
            let peer = tcp
                .peer_addr()
                .map_err(|e| ConnectError::Unreachable(addr.clone(), e.to_string()))?;
            if !peer.ip().is_loopback() {
                return Err(ConnectError::Config(format!(
                    "mailbox {}: tls = \"none\" is only allowed on loopback, and {addr} is not",
                    m.name
                )));
            }
            let mut c = async_imap::Client::new(Conn::Plain(tcp));
            greeting(&mut c, &addr).await?;
            Ok(c)
        }
        TlsMode::Tls => {
            let mut c = async_imap::Client::new(tls_wrap(m, tcp).await?);
            greeting(&mut c, &addr).await?;
            Ok(c)
        }
        TlsMode::Starttls => {
            let mut c = async_imap::Client::new(Conn::Plain(tcp));
            greeting(&mut c, &addr).await?;
            tokio::time::timeout(
                CONNECT_TIMEOUT,
                c.run_command_and_check_ok("STARTTLS", None),
            )
            .await
            .map_err(|_| ConnectError::Unreachable(addr.clone(), "STARTTLS timed out".into()))?
            .map_err(|e| match e {
                async_imap::error::Error::No(s) | async_imap::error::Error::Bad(s) => {
                    ConnectError::Tls(addr.clone(), format!("STARTTLS refused: {s}"))
                }
                other => imap_err(&addr, other),
            })?;
            let Conn::Plain(tcp) = c.into_inner() else {
                return Err(ConnectError::Protocol(
                    "STARTTLS on a TLS connection".into(),
                ));
            };
            Ok(async_imap::Client::new(tls_wrap(m, tcp).await?))
        }
    }
}

/// The SASL XOAUTH2 initial response; the server's error challenge (a
/// JSON document) is answered with an empty line, as the mechanism asks.
struct XOAuth2 {
    response: Option<String>,
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        self.response.take().unwrap_or_default()
    }
}

/// The XOAUTH2 string for `user` and an access token.
pub fn xoauth2_string(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// How to log in.
pub enum Credentials {
    /// LOGIN with a password.
    Password(String),
    /// AUTHENTICATE XOAUTH2 with an access token.
    Bearer(String),
}

/// Connects and logs in.
pub async fn login(m: &MailboxConfig, creds: Credentials) -> Result<Session, ConnectError> {
    let client = connect(m).await?;
    let host = format!("{}:{}", m.host, m.port);
    let fut = async {
        match creds {
            Credentials::Password(p) => client.login(&m.username, &p).await,
            Credentials::Bearer(t) => {
                client
                    .authenticate(
                        "XOAUTH2",
                        XOAuth2 {
                            response: Some(xoauth2_string(&m.username, &t)),
                        },
                    )
                    .await
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, fut).await {
        Err(_) => Err(ConnectError::Unreachable(host, "login timed out".into())),
        Ok(Ok(s)) => Ok(s),
        Ok(Err((e, _))) => Err(match e {
            async_imap::error::Error::No(reason) | async_imap::error::Error::Bad(reason) => {
                ConnectError::Auth {
                    user: m.username.clone(),
                    reason: reason.chars().take(300).collect(),
                }
            }
            other => imap_err(&host, other),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoauth2_string_has_the_sasl_shape() {
        assert_eq!(
            xoauth2_string("a@example.org", "tok"),
            "user=a@example.org\x01auth=Bearer tok\x01\x01"
        );
        let mut a = XOAuth2 {
            response: Some("first".into()),
        };
        use async_imap::Authenticator;
        assert_eq!(a.process(b""), "first");
        // The error challenge gets an empty answer.
        assert_eq!(a.process(b"{\"status\":\"401\"}"), "");
    }
}
