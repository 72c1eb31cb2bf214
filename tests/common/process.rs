//! The real `concierge` binary as a child process, for the fault tests
//! that kill it or take its database away: free loopback addresses, a
//! server that is killed when dropped, readiness, and an SMTP transaction
//! that survives the server dying.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::INBOUND_TOKEN;

/// The concierge address the tests write to.
pub const TO: &str = "global@concierge.example.org";

/// A free loopback address (bound, then released).
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A `concierge` server process, killed (SIGKILL) and reaped on drop.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary with the database, templates and hub of this checkout
/// (`CONCIERGE_BIN` names another build of it, e.g. the release build for
/// the ignored benchmarks).
pub fn concierge(url: &str) -> Command {
    let root = env!("CARGO_MANIFEST_DIR");
    let bin = std::env::var("CONCIERGE_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_concierge").to_owned());
    let mut c = Command::new(bin);
    c.env("DATABASE_URL", url)
        .env(
            "CONCIERGE__MAIL__TEMPLATES_DIR",
            format!("{root}/config/templates"),
        )
        .env(
            "CONCIERGE__HUB__FILE",
            format!("{root}/config/resource-hub/hub.toml"),
        )
        .env("RUST_LOG", "warn");
    c
}

/// `concierge serve` on the given addresses with short timers (retries
/// after 1 s; a sender killed mid-send holds its mail for 3 + 10 s; a
/// worker silent for 2 s is presumed dead). Not waited for: see
/// [`wait_ready`].
pub fn start_server(url: &str, http: SocketAddr, smtp: SocketAddr, relay: &str) -> Server {
    let child = concierge(url)
        .arg("serve")
        .env("CONCIERGE__HTTP__ADDR", http.to_string())
        .env("CONCIERGE__SMTP__ADDR", smtp.to_string())
        .env("CONCIERGE__MAIL__OUTBOUND_URL", relay)
        .env("CONCIERGE__INBOUND__TOKEN", INBOUND_TOKEN)
        .env("CONCIERGE__MAIL__RETRY_BASE_SECS", "1")
        .env("CONCIERGE__MAIL__SEND_TIMEOUT_SECS", "3")
        .env("CONCIERGE__WORKER__POLL_SECS", "1")
        .env("CONCIERGE__WORKER__HEARTBEAT_SECS", "1")
        .env("CONCIERGE__WORKER__MISSED_HEARTBEATS", "2")
        .env("CONCIERGE__WORKER__SWEEP_SECS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start concierge serve");
    Server(child)
}

/// Status of `GET /readyz`, `None` when HTTP itself fails.
pub async fn readyz(http: SocketAddr) -> Option<u16> {
    // Longer than the pool's 5 s acquire timeout, so a database that is
    // down shows as 503, not as a failed request.
    let r = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .ok()?
        .get(format!("http://{http}/readyz"))
        .send()
        .await
        .ok()?;
    Some(r.status().as_u16())
}

/// Waits until `/readyz` answers 200.
pub async fn wait_ready(http: SocketAddr, limit: Duration) {
    let began = Instant::now();
    while readyz(http).await != Some(200) {
        assert!(began.elapsed() < limit, "server not ready within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads one (possibly multi-line) SMTP reply; `None` when the peer is gone.
async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut all = String::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).await.ok()? == 0 {
            return None;
        }
        all.push_str(&l);
        if l.len() < 4 || l.as_bytes()[3] != b'-' {
            return Some(all);
        }
    }
}

/// One SMTP transaction to [`TO`]: the code of the reply to the final `.`
/// (or of the first command refused), `None` when the connection broke or
/// took over 30 s.
pub async fn smtp_code(addr: SocketAddr, from: &str, raw: &[u8]) -> Option<u16> {
    let run = async {
        let stream = TcpStream::connect(addr).await.ok()?;
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        let code = |s: &str| s.get(..3).and_then(|c| c.parse::<u16>().ok());
        reply(&mut r).await?;
        w.write_all(b"EHLO faults.test\r\n").await.ok()?;
        reply(&mut r).await?;
        for (cmd, want) in [
            (format!("MAIL FROM:<{from}>\r\n"), "250"),
            (format!("RCPT TO:<{TO}>\r\n"), "250"),
            ("DATA\r\n".to_owned(), "354"),
        ] {
            w.write_all(cmd.as_bytes()).await.ok()?;
            let answer = reply(&mut r).await?;
            if !answer.starts_with(want) {
                return code(&answer);
            }
        }
        let mut body = raw.to_vec();
        body.extend_from_slice(b".\r\n");
        w.write_all(&body).await.ok()?;
        let last = reply(&mut r).await?;
        let _ = w.write_all(b"QUIT\r\n").await;
        code(&last)
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .ok()
        .flatten()
}
