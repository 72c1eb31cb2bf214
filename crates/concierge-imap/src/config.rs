//! `[[imap.mailboxes]]`: one configured mailbox.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (port 993).
    Tls,
    /// Plain, then `STARTTLS` before logging in (port 143).
    Starttls,
    /// No encryption: refused unless the server is on loopback.
    None,
}

/// What happens to a message on the server once its case is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterImport {
    /// Leave it as it is (nothing is marked read either).
    Keep,
    /// Set the `$Concierge` keyword (and nothing else).
    Flag,
    /// Move it to this folder (created when missing).
    Move(String),
}

/// `after_import` is not `keep`, `flag` or `move:FOLDER`.
#[derive(Debug, thiserror::Error)]
#[error("after_import must be \"keep\", \"flag\" or \"move:FOLDER\", not {0:?}")]
pub struct BadAfterImport(pub String);

impl std::str::FromStr for AfterImport {
    type Err = BadAfterImport;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "keep" => Ok(Self::Keep),
            "flag" => Ok(Self::Flag),
            other => match other.strip_prefix("move:").map(str::trim) {
                Some(folder) if !folder.is_empty() && !folder.contains(['\r', '\n', '"']) => {
                    Ok(Self::Move(folder.to_owned()))
                }
                _ => Err(BadAfterImport(s.to_owned())),
            },
        }
    }
}

impl<'de> Deserialize<'de> for AfterImport {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which OAuth 2.0 provider issues the tokens (sets the token endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Google Workspace / Gmail.
    Google,
    /// Microsoft 365 / Exchange Online.
    Microsoft,
}

impl Provider {
    /// The provider's token endpoint.
    pub fn token_url(self) -> &'static str {
        match self {
            Self::Google => "https://oauth2.googleapis.com/token",
            Self::Microsoft => "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        }
    }
}

/// `oauth2 = { … }`: log in with XOAUTH2, refreshing the access token.
#[derive(Clone, Deserialize)]
pub struct OAuth2Config {
    /// The provider.
    pub provider: Provider,
    /// The OAuth client's id.
    pub client_id: String,
    /// The OAuth client's secret.
    #[serde(default)]
    pub client_secret: String,
    /// A file holding the refresh token (kept out of the config file).
    pub refresh_token_file: PathBuf,
    /// Overrides the provider's token endpoint (tests, sovereign clouds).
    #[serde(default)]
    pub token_url: Option<String>,
}

impl fmt::Debug for OAuth2Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Config")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("refresh_token_file", &self.refresh_token_file)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

fn default_port() -> u16 {
    993
}
fn default_tls() -> TlsMode {
    TlsMode::Tls
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_after() -> AfterImport {
    AfterImport::Keep
}
fn default_poll() -> u64 {
    30
}
fn yes() -> bool {
    true
}

/// One mailbox Concierge reads.
#[derive(Clone, Deserialize)]
pub struct MailboxConfig {
    /// Shown in logs, `concierge imap status` and the dashboard; the key of
    /// its bookkeeping, so keep it stable.
    pub name: String,
    /// Server name (also checked against its certificate).
    pub host: String,
    /// Port (993 for TLS, 143 for STARTTLS).
    #[serde(default = "default_port")]
    pub port: u16,
    /// `tls`, `starttls` or `none` (loopback only).
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    /// Login name.
    pub username: String,
    /// Password (prefer `password_file` or `password_env`).
    #[serde(default)]
    pub password: Option<String>,
    /// A file whose first line is the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// XOAUTH2 instead of a password.
    #[serde(default)]
    pub oauth2: Option<OAuth2Config>,
    /// The folder to read.
    #[serde(default = "default_folder")]
    pub folder: String,
    /// `keep`, `flag` or `move:FOLDER`, done only after the case is committed.
    #[serde(default = "default_after")]
    pub after_import: AfterImport,
    /// Seconds between polls when the server has no IDLE (or `idle = false`).
    #[serde(default = "default_poll")]
    pub poll_secs: u64,
    /// Use IDLE when the server offers it.
    #[serde(default = "yes")]
    pub idle: bool,
    /// Extra trusted CA certificates (PEM), e.g. a self-signed server's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for MailboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password.
        f.debug_struct("MailboxConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("oauth2", &self.oauth2)
            .field("folder", &self.folder)
            .field("after_import", &self.after_import)
            .finish_non_exhaustive()
    }
}

/// A mailbox's configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No password, password file, password variable or OAuth 2.0.
    #[error("mailbox {0}: no password, password_file, password_env or oauth2")]
    NoCredentials(String),
    /// Reading a password or token file failed.
    #[error("mailbox {name}: reading {path}: {source}")]
    File {
        /// Mailbox.
        name: String,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The password variable is not set.
    #[error("mailbox {0}: environment variable {1} is not set")]
    NoEnv(String, String),
    /// Two mailboxes share a name.
    #[error("two mailboxes are named {0:?}")]
    DuplicateName(String),
    /// Empty name.
    #[error("a mailbox has an empty name")]
    EmptyName,
}

impl MailboxConfig {
    /// The password, from wherever it is configured.
    pub fn password(&self) -> Result<String, ConfigError> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        if let Some(path) = &self.password_file {
            return first_line(&self.name, path);
        }
        if let Some(var) = &self.password_env {
            return std::env::var(var)
                .map_err(|_| ConfigError::NoEnv(self.name.clone(), var.clone()));
        }
        Err(ConfigError::NoCredentials(self.name.clone()))
    }
}

/// The first line of a secret file, trimmed.
pub(crate) fn first_line(name: &str, path: &std::path::Path) -> Result<String, ConfigError> {
    let s = std::fs::read_to_string(path).map_err(|source| ConfigError::File {
        name: name.to_owned(),
        path: path.display().to_string(),
        source,
    })?;
    Ok(s.lines().next().unwrap_or("").trim().to_owned())
}

/// Checks a list of mailboxes: unique, non-empty names and some credentials.
pub fn validate(list: &[MailboxConfig]) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for m in list {
        if m.name.trim().is_empty() {
            return Err(ConfigError::EmptyName);
        }
        if !seen.insert(m.name.as_str()) {
            return Err(ConfigError::DuplicateName(m.name.clone()));
        }
        if m.oauth2.is_none()
            && m.password.is_none()
            && m.password_file.is_none()
            && m.password_env.is_none()
        {
            return Err(ConfigError::NoCredentials(m.name.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_import_parses() {
        assert_eq!("keep".parse::<AfterImport>().ok(), Some(AfterImport::Keep));
        assert_eq!("flag".parse::<AfterImport>().ok(), Some(AfterImport::Flag));
        assert_eq!(
            "move:Concierge/Imported".parse::<AfterImport>().ok(),
            Some(AfterImport::Move("Concierge/Imported".into()))
        );
        for bad in ["", "move:", "delete", "move:a\r\nb LOGOUT", "move:\"x"] {
            assert!(bad.parse::<AfterImport>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let m: MailboxConfig = toml_like();
        let shown = format!("{m:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("global"));
    }

    fn toml_like() -> MailboxConfig {
        serde_json::from_value(serde_json::json!({
            "name": "global", "host": "imap.example.org", "username": "u",
            "password": "hunter2", "after_import": "move:Done",
            "oauth2": {"provider": "google", "client_id": "c", "client_secret": "hunter2",
                       "refresh_token_file": "/x"}
        }))
        .expect("valid")
    }

    #[test]
    fn validate_rejects_duplicates_and_no_credentials() {
        let a = toml_like();
        assert!(validate(std::slice::from_ref(&a)).is_ok());
        assert!(matches!(
            validate(&[a.clone(), a.clone()]),
            Err(ConfigError::DuplicateName(_))
        ));
        let mut none = a;
        none.password = None;
        none.oauth2 = None;
        assert!(matches!(
            validate(&[none]),
            Err(ConfigError::NoCredentials(_))
        ));
    }
}
