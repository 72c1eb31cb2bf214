//! XOAUTH2 access tokens: refreshed from the refresh token with one HTTP
//! POST to the provider's token endpoint (a minimal HTTP/1.0 client over
//! the same rustls as IMAP: no second HTTP or TLS stack).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::{OAuth2Config, first_line};

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The endpoint refused the refresh token or client (HTTP 4xx): a
    /// person must fix the credentials.
    #[error("token endpoint refused the refresh: HTTP {status}: {error}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The `error` field of the answer (never a token).
        error: String,
    },
    /// The endpoint could not be reached or answered nonsense; try later.
    #[error("token endpoint unavailable: {0}")]
    Unavailable(String),
    /// Bad configuration (URL, file).
    #[error("{0}")]
    Config(String),
}

/// Parts of an `http://` or `https://` URL.
#[derive(Debug, PartialEq, Eq)]
pub struct Url {
    /// TLS.
    pub https: bool,
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Parses the token URL (only what a token endpoint needs).
pub fn parse_url(s: &str) -> Result<Url, TokenError> {
    let bad = || TokenError::Config(format!("token_url {s:?} is not an http(s) URL"));
    let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = s.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (authority, if https { 443 } else { 80 }),
    };
    if host.is_empty() || host.contains(['@', ' ', '\r', '\n']) || path.contains([' ', '\r', '\n'])
    {
        return Err(bad());
    }
    Ok(Url {
        https,
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

/// The form body of a refresh request.
pub fn refresh_body(client_id: &str, client_secret: &str, refresh_token: &str) -> String {
    let e = |s: &str| urlencoding::encode(s).into_owned();
    let mut body = format!(
        "grant_type=refresh_token&client_id={}&refresh_token={}",
        e(client_id),
        e(refresh_token)
    );
    if !client_secret.is_empty() {
        body.push_str(&format!("&client_secret={}", e(client_secret)));
    }
    body
}

/// A token from the endpoint's JSON answer.
#[derive(Debug, PartialEq)]
pub struct Token {
    /// The access token.
    pub access_token: String,
    /// Lifetime.
    pub expires_in: Duration,
}

/// Splits an HTTP response into status and body.
pub fn parse_response(raw: &[u8]) -> Result<(u16, &[u8]), TokenError> {
    let bad = || TokenError::Unavailable("malformed HTTP response".into());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad())?;
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(bad)?;
    if head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:"))
    {
        return Err(TokenError::Unavailable(
            "chunked response to HTTP/1.0".into(),
        ));
    }
    Ok((status, &raw[end + 4..]))
}

/// Interprets the endpoint's answer.
pub fn parse_token(status: u16, body: &[u8]) -> Result<Token, TokenError> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    if !(200..300).contains(&status) {
        let error = json
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("unknown")
            .chars()
            .take(100)
            .collect();
        return if (400..500).contains(&status) {
            Err(TokenError::Refused { status, error })
        } else {
            Err(TokenError::Unavailable(format!("HTTP {status}: {error}")))
        };
    }
    let access_token = json
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty() && !t.contains(['\r', '\n', '\x01']))
        .ok_or_else(|| TokenError::Unavailable("no access_token in the answer".into()))?
        .to_owned();
    let expires_in = json
        .get("expires_in")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(3600)
        .min(86_400);
    Ok(Token {
        access_token,
        expires_in: Duration::from_secs(expires_in),
    })
}

const MAX_RESPONSE: u64 = 64 * 1024;

async fn post(url: &Url, body: &str, ca: Option<&std::path::Path>) -> Result<Vec<u8>, TokenError> {
    let unavailable = |e: std::io::Error| TokenError::Unavailable(e.to_string());
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(unavailable)?;
    let request = format!(
        "POST {} HTTP/1.0\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        url.path,
        url.host,
        body.len()
    );
    let mut out = Vec::new();
    if url.https {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca {
            use rustls_pki_types::pem::PemObject;
            for c in rustls_pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| TokenError::Config(e.to_string()))?
                .flatten()
            {
                let _ = roots.add(c);
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TokenError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls_pki_types::ServerName::try_from(url.host.clone())
            .map_err(|e| TokenError::Config(e.to_string()))?;
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(unavailable)?;
        tls.write_all(request.as_bytes())
            .await
            .map_err(unavailable)?;
        // Some servers close without close_notify: keep what was read.
        let _ = (&mut tls).take(MAX_RESPONSE).read_to_end(&mut out).await;
    } else {
        let mut tcp = tcp;
        tcp.write_all(request.as_bytes())
            .await
            .map_err(unavailable)?;
        (&mut tcp)
            .take(MAX_RESPONSE)
            .read_to_end(&mut out)
            .await
            .map_err(unavailable)?;
    }
    Ok(out)
}

/// Access tokens for one mailbox, refreshed a minute before they expire.
pub struct TokenSource {
    config: OAuth2Config,
    mailbox: String,
    ca_file: Option<std::path::PathBuf>,
    cached: Option<(String, Instant)>,
}

impl TokenSource {
    /// For a mailbox's `oauth2` settings.
    pub fn new(mailbox: &str, config: OAuth2Config, ca_file: Option<std::path::PathBuf>) -> Self {
        Self {
            config,
            mailbox: mailbox.to_owned(),
            ca_file,
            cached: None,
        }
    }

    /// Forgets the cached token (after the server refused it).
    pub fn invalidate(&mut self) {
        self.cached = None;
    }

    /// A valid access token, refreshing it when needed.
    pub async fn token(&mut self) -> Result<String, TokenError> {
        if let Some((t, until)) = &self.cached
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let url_s = self
            .config
            .token_url
            .clone()
            .unwrap_or_else(|| self.config.provider.token_url().to_owned());
        let url = parse_url(&url_s)?;
        let refresh = first_line(&self.mailbox, &self.config.refresh_token_file)
            .map_err(|e| TokenError::Config(e.to_string()))?;
        let body = refresh_body(&self.config.client_id, &self.config.client_secret, &refresh);
        let raw = tokio::time::timeout(
            Duration::from_secs(20),
            post(&url, &body, self.ca_file.as_deref()),
        )
        .await
        .map_err(|_| TokenError::Unavailable("timed out".into()))??;
        let (status, body) = parse_response(&raw)?;
        let token = parse_token(status, body)?;
        let until = Instant::now() + token.expires_in.saturating_sub(Duration::from_secs(60));
        self.cached = Some((token.access_token.clone(), until));
        Ok(token.access_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("https://oauth2.googleapis.com/token").ok(),
            Some(Url {
                https: true,
                host: "oauth2.googleapis.com".into(),
                port: 443,
                path: "/token".into()
            })
        );
        assert_eq!(
            parse_url("http://127.0.0.1:8099")
                .ok()
                .map(|u| (u.port, u.path)),
            Some((8099, "/".into()))
        );
        for bad in [
            "ftp://x/",
            "http://:80/",
            "http://a:b/",
            "https://h/p\r\nX: y",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn body_is_form_encoded() {
        assert_eq!(
            refresh_body("id 1", "s&2", "r=3"),
            "grant_type=refresh_token&client_id=id%201&refresh_token=r%3D3&client_secret=s%262"
        );
        assert!(!refresh_body("id", "", "r").contains("client_secret"));
    }

    #[test]
    fn answers() {
        let raw = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"access_token\":\"ya29.x\",\"expires_in\":3599}";
        let (s, b) = parse_response(raw).expect("parses");
        assert_eq!(
            parse_token(s, b).ok(),
            Some(Token {
                access_token: "ya29.x".into(),
                expires_in: Duration::from_secs(3599)
            })
        );
        assert!(matches!(
            parse_token(400, br#"{"error":"invalid_grant"}"#),
            Err(TokenError::Refused { status: 400, ref error }) if error == "invalid_grant"
        ));
        assert!(matches!(
            parse_token(503, b"oops"),
            Err(TokenError::Unavailable(_))
        ));
        assert!(matches!(
            parse_token(200, br#"{"access_token":"a\r\nb"}"#),
            Err(TokenError::Unavailable(_))
        ));
        assert!(parse_response(b"garbage").is_err());
    }
}
