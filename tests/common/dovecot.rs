//! A throwaway Dovecot IMAP server for one test: its own config, users,
//! Maildirs and self-signed certificate in a temporary folder, on free
//! loopback ports (plain/STARTTLS and TLS), run as `dovecot -F` child
//! process (never the system service). scripts/test.sh installs Debian's
//! dovecot-imapd.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::free_addr;

/// The password of every test user (except when a test says otherwise).
pub const PASSWORD: &str = "correct horse battery staple";

/// A Dovecot instance; stopped and its folder removed on drop.
pub struct Dovecot {
    /// The temporary folder.
    pub dir: PathBuf,
    /// Plain IMAP (STARTTLS offered).
    pub port: u16,
    /// IMAP over TLS.
    pub tls_port: u16,
    child: Option<Child>,
    users: Vec<String>,
    /// Set by [`Dovecot::start_oauth`]: where Dovecot checks bearer tokens.
    introspection_url: Option<String>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Dovecot {
    /// Starts Dovecot with these users (all with [`PASSWORD`]).
    pub fn start(users: &[&str]) -> Self {
        Self::start_with(users, None)
    }

    /// Starts Dovecot accepting XOAUTH2 as well: it checks each bearer
    /// token by POSTing it to `introspection_url` (RFC 7662), which must
    /// answer `{"active": true, "username": "<user>"}`.
    pub fn start_oauth(users: &[&str], introspection_url: &str) -> Self {
        Self::start_with(users, Some(introspection_url.to_owned()))
    }

    fn start_with(users: &[&str], introspection_url: Option<String>) -> Self {
        assert!(
            Path::new("/usr/sbin/dovecot").exists(),
            "dovecot is not installed: run scripts/test.sh (it installs dovecot-imapd)"
        );
        let dir = std::env::temp_dir().join(format!(
            "concierge-dovecot-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(dir.join("mail")).unwrap();
        // The mail processes run as nobody; the test (root) writes too.
        chmod(&dir, 0o755);
        chmod(&dir.join("mail"), 0o777);
        run(Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            dir.join("key.pem").to_str().unwrap(),
            "-out",
            dir.join("cert.pem").to_str().unwrap(),
        ]));
        let mut d = Self {
            port: free_addr().port(),
            tls_port: free_addr().port(),
            dir,
            child: None,
            users: users.iter().map(|u| (*u).to_owned()).collect(),
            introspection_url,
        };
        d.write_passwd(
            users
                .iter()
                .map(|u| (*u, PASSWORD))
                .collect::<Vec<_>>()
                .as_slice(),
        );
        for u in users {
            d.make_maildir(u, "");
        }
        d.write_config();
        d.restart();
        d
    }

    /// Rewrites the password file (Dovecot reads it afresh).
    pub fn write_passwd(&self, users: &[(&str, &str)]) {
        let body: String = users
            .iter()
            .map(|(u, p)| format!("{u}:{{PLAIN}}{p}\n"))
            .collect();
        std::fs::write(self.dir.join("passwd"), body).unwrap();
    }

    fn write_config(&self) {
        let d = self.dir.display();
        let (mechanisms, oauth) = match &self.introspection_url {
            None => ("plain login", String::new()),
            Some(url) => {
                std::fs::write(
                    self.dir.join("oauth2.conf"),
                    format!(
                        "introspection_mode = post\nintrospection_url = {url}\n\
                         username_attribute = username\nactive_attribute = active\n\
                         active_value = true\n"
                    ),
                )
                .unwrap();
                (
                    "plain login xoauth2 oauthbearer",
                    format!(
                        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  \
                         args = {d}/oauth2.conf\n}}\n"
                    ),
                )
            }
        };
        let conf = format!(
            r#"base_dir = {d}/run
state_dir = {d}/state
instance_name = concierge-test-{port}
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
mail_location = maildir:{d}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
{oauth}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
"#,
            port = self.port,
            tls_port = self.tls_port
        );
        std::fs::write(self.dir.join("dovecot.conf"), conf).unwrap();
    }

    /// The Maildir of `user`'s `folder` ("" for INBOX; Maildir++ names).
    pub fn maildir(&self, user: &str, folder: &str) -> PathBuf {
        let base = self.dir.join("mail").join(user);
        if folder.is_empty() {
            base
        } else {
            base.join(format!(".{}", folder.replace('/', ".")))
        }
    }

    fn make_maildir(&self, user: &str, folder: &str) {
        let m = self.maildir(user, folder);
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(m.join(sub)).unwrap();
            chmod(&m.join(sub), 0o777);
        }
        chmod(&self.dir.join("mail").join(user), 0o777);
        chmod(&m, 0o777);
    }

    /// Delivers a message into `user`'s INBOX (`seen`: already read, in
    /// cur/ with the S flag). Returns the file name.
    pub fn deliver(&self, user: &str, raw: &[u8], seen: bool) -> String {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let name = format!("{secs}.M{n}P{}.concierge-test", std::process::id());
        let m = self.maildir(user, "");
        let tmp = m.join("tmp").join(&name);
        std::fs::write(&tmp, raw).unwrap();
        chmod(&tmp, 0o666);
        let dest = if seen {
            m.join("cur").join(format!("{name}:2,S"))
        } else {
            m.join("new").join(&name)
        };
        std::fs::rename(&tmp, dest).unwrap();
        name
    }

    /// Message files in a Maildir folder (cur/ and new/): (name, flags).
    pub fn files(&self, user: &str, folder: &str) -> Vec<(String, String)> {
        let m = self.maildir(user, folder);
        let mut out = Vec::new();
        for sub in ["cur", "new"] {
            if let Ok(rd) = std::fs::read_dir(m.join(sub)) {
                for e in rd.flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let (base, flags) = match n.split_once(":2,") {
                        Some((b, f)) => (b.to_owned(), f.to_owned()),
                        None => (n.clone(), String::new()),
                    };
                    out.push((base, flags));
                }
            }
        }
        out.sort();
        out
    }

    /// Starts (again) on the same ports, waiting until it greets.
    pub fn restart(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(self.dir.join("run/master.pid"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dovecot.out"))
            .unwrap();
        // Its own process group, so that `stop` ends every process of
        // this instance (login proxies outlive their master otherwise).
        let child = Command::new("/usr/sbin/dovecot")
            .process_group(0)
            .arg("-F")
            .arg("-c")
            .arg(self.dir.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dovecot");
        self.child = Some(child);
        let began = Instant::now();
        loop {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!(
                    "dovecot exited ({status}): {}",
                    std::fs::read_to_string(self.dir.join("dovecot.out")).unwrap_or_default()
                );
            }
            if greets(self.port) {
                return;
            }
            assert!(
                began.elapsed() < Duration::from_secs(20),
                "dovecot did not start: {}",
                std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server: SIGTERM to its master, which ends every login and
    /// mail process (open connections break), then waits until the port
    /// refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let group = format!("-{}", c.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let began = Instant::now();
            while !matches!(c.try_wait(), Ok(Some(_))) && began.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
            // Whatever of the group is left (login proxies holding clients).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
            let began = Instant::now();
            while TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && began.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Makes the server renumber `user`'s INBOX (a new UIDVALIDITY), as
    /// a restored or rebuilt mailbox does: stop, drop Dovecot's UID list
    /// and indexes, start again.
    pub fn renumber(&mut self, user: &str) {
        self.stop();
        // UIDVALIDITY is a time in seconds: make sure it moves.
        std::thread::sleep(Duration::from_millis(1100));
        let m = self.maildir(user, "");
        for e in std::fs::read_dir(&m).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("dovecot") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let _ = std::fs::remove_dir_all(self.dir.join("home"));
        self.restart();
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    /// The certificate to trust.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// The users.
    pub fn users(&self) -> &[String] {
        &self.users
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
}

/// Whether the server on `port` answers with its "ready" greeting.
fn greets(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap_or(0);
    let ok = String::from_utf8_lossy(&buf[..n]).contains("ready");
    let _ = s.write_all(b"a LOGOUT\r\n");
    ok
}
