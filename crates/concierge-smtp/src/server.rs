//! The tokio listener: accept loop, connection limits, per-session I/O.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::data::DataDecoder;
use crate::lines::{LineRead, read_line_bounded, skip_line};
use crate::protocol::{MAX_COMMAND_LINE, Reply};
use crate::session::{Session, Step};
use crate::{Delivery, MessageSink, SmtpConfig};

/// Read buffer per connection.
const READ_BUFFER: usize = 8 * 1024;
/// Pending replies are flushed at the latest when this much output is queued.
const MAX_PENDING_OUTPUT: usize = 16 * 1024;
/// Connections being turned away concurrently; beyond this they are just dropped.
const MAX_REJECTING: usize = 64;
/// Time allowed to send the rejection reply.
const REJECT_TIMEOUT: Duration = Duration::from_secs(5);
/// After the last reply, input is drained this long so the client sees it
/// rather than a reset.
const LINGER_TIME: Duration = Duration::from_secs(2);
/// ... and at most this many bytes.
const LINGER_BYTES: usize = 256 * 1024;
/// Pause after a failed accept (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Runs an SMTP server on `listener` until `shutdown` resolves.
///
/// On shutdown it stops accepting, answers idle sessions with `421 4.3.2`,
/// lets sessions in DATA or delivery finish for up to
/// [`SmtpConfig::shutdown_grace`], then aborts the rest.
pub async fn serve<S: MessageSink>(
    listener: TcpListener,
    config: SmtpConfig,
    sink: Arc<S>,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let config = Arc::new(config);
    let sessions = Arc::new(Semaphore::new(
        config.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let rejecting = Arc::new(Semaphore::new(MAX_REJECTING));
    let per_ip = Arc::new(PerIp::new(config.max_connections_per_ip));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);

    tracing::info!(local = %listener.local_addr()?, "SMTP server listening");
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = joined
                    && e.is_panic()
                {
                    tracing::error!("SMTP session task panicked");
                }
            }
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let Some(ip_guard) = per_ip.try_acquire(peer.ip()) else {
                    tracing::info!(%peer, "rejected: too many connections from this address");
                    let reply = Reply::new(421, "4.7.0", format!("{} Error: too many connections from your address", config.hostname));
                    spawn_reject(&mut tasks, &rejecting, stream, reply);
                    continue;
                };
                let Ok(permit) = Arc::clone(&sessions).try_acquire_owned() else {
                    tracing::info!(%peer, "rejected: too many connections");
                    let reply = Reply::new(421, "4.7.0", format!("{} Too many connections, try again later", config.hostname));
                    spawn_reject(&mut tasks, &rejecting, stream, reply);
                    continue;
                };
                let session = run_session(stream, peer, Arc::clone(&config), Arc::clone(&sink), stop_rx.clone());
                let span = tracing::info_span!("smtp_session", %peer);
                tasks.spawn(async move {
                    session.await;
                    drop((permit, ip_guard));
                }.instrument(span));
            }
        }
    }

    drop(listener);
    stop_tx.send_replace(true);
    tracing::info!(sessions = tasks.len(), "SMTP server shutting down");
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(config.shutdown_grace, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            sessions = tasks.len(),
            "shutdown grace period over, aborting sessions"
        );
        tasks.shutdown().await;
    }
    Ok(())
}

/// Answers an over-limit connection with `reply` and closes it, without
/// letting rejections themselves pile up.
fn spawn_reject(
    tasks: &mut JoinSet<()>,
    rejecting: &Arc<Semaphore>,
    mut stream: TcpStream,
    reply: Reply,
) {
    let Ok(permit) = Arc::clone(rejecting).try_acquire_owned() else {
        return; // Dropping the stream closes it.
    };
    tasks.spawn(async move {
        let _ = tokio::time::timeout(REJECT_TIMEOUT, async {
            stream.write_all(&reply.to_bytes()).await?;
            stream.shutdown().await
        })
        .await;
        drop(permit);
    });
}

/// Concurrent connections per client address (IPv6 grouped by /64).
struct PerIp {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// Releases a [`PerIp`] slot on drop.
struct IpGuard {
    owner: Arc<PerIp>,
    key: IpAddr,
}

impl PerIp {
    fn new(max: usize) -> Self {
        PerIp {
            max,
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn key(ip: IpAddr) -> IpAddr {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            v4 => v4,
        }
    }

    fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<IpGuard> {
        let key = Self::key(ip);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(key).or_insert(0);
        if self.max != 0 && *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpGuard {
            owner: Arc::clone(self),
            key,
        })
    }
}

impl Drop for IpGuard {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Quit,
    ClientClosed,
    Timeout,
    TooManyErrors,
    Shutdown,
}

/// Buffered connection: replies are queued and flushed before a read could block.
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    out: Vec<u8>,
    write_timeout: Duration,
}

impl Conn {
    fn queue(&mut self, reply: &Reply) {
        reply.write_to(&mut self.out);
    }

    async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        match tokio::time::timeout(self.write_timeout, self.writer.write_all(&self.out)).await {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")),
        }
        self.out.clear();
        Ok(())
    }

    /// Flushes unless a complete command is already buffered (RFC 2920 batching).
    async fn flush_if_idle(&mut self) -> io::Result<()> {
        if self.out.len() >= MAX_PENDING_OUTPUT || !self.reader.buffer().contains(&b'\n') {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends pending output, half-closes, and drains input briefly so the
    /// client reads our last reply instead of getting a reset.
    async fn close(mut self) {
        self.write_timeout = self.write_timeout.min(LINGER_TIME);
        let _ = self.flush().await;
        let _ = tokio::time::timeout(self.write_timeout, self.writer.shutdown()).await;
        let mut reader = self.reader.into_inner();
        let _ = tokio::time::timeout(LINGER_TIME, async {
            let mut scratch = [0u8; 4096];
            let mut total = 0usize;
            while total < LINGER_BYTES {
                match reader.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        })
        .await;
    }
}

/// Per-session counters for the final log line.
#[derive(Debug, Default)]
struct Stats {
    accepted: usize,
    rejected: usize,
}

async fn run_session<S: MessageSink>(
    stream: TcpStream,
    peer: SocketAddr,
    config: Arc<SmtpConfig>,
    sink: Arc<S>,
    mut stop: watch::Receiver<bool>,
) {
    let (reader, writer) = stream.into_split();
    let mut conn = Conn {
        reader: BufReader::with_capacity(READ_BUFFER, reader),
        writer,
        out: Vec::with_capacity(512),
        write_timeout: config.command_timeout,
    };
    let mut session = Session::new(Arc::clone(&config), peer);
    let mut stats = Stats::default();
    tracing::debug!("session started");
    let result = session_loop(
        &mut conn,
        &mut session,
        &config,
        &*sink,
        &mut stop,
        &mut stats,
    )
    .await;
    match result {
        Ok(end) => tracing::info!(
            end = ?end,
            accepted = stats.accepted,
            rejected = stats.rejected,
            errors = session.errors(),
            "session closed"
        ),
        Err(e) => tracing::info!(
            error = %e,
            accepted = stats.accepted,
            rejected = stats.rejected,
            errors = session.errors(),
            "session aborted"
        ),
    }
    conn.close().await;
}

async fn session_loop<S: MessageSink>(
    conn: &mut Conn,
    session: &mut Session,
    config: &SmtpConfig,
    sink: &S,
    stop: &mut watch::Receiver<bool>,
    stats: &mut Stats,
) -> io::Result<End> {
    conn.queue(&session.greeting());
    let mut line = Vec::with_capacity(256);
    let mut skip_rest = false;
    loop {
        conn.flush_if_idle().await?;
        line.clear();
        let read = tokio::select! {
            biased;
            _ = stop.wait_for(|stopping| *stopping) => None,
            read = tokio::time::timeout(
                config.command_timeout,
                read_command(&mut conn.reader, &mut line, &mut skip_rest),
            ) => Some(read),
        };
        let step = match read {
            None => {
                conn.queue(&session.shutdown_reply());
                return Ok(End::Shutdown);
            }
            Some(Err(_elapsed)) => {
                conn.queue(&session.timeout_reply());
                return Ok(End::Timeout);
            }
            Some(Ok(read)) => match read? {
                LineRead::Eof => return Ok(End::ClientClosed),
                LineRead::TooLong => {
                    skip_rest = true;
                    session.line_too_long()
                }
                LineRead::Line => session.handle_line(&line, |rcpt| sink.accepts_recipient(rcpt)),
            },
        };
        match step {
            Step::Reply(reply) => conn.queue(&reply),
            Step::Close(reply) => {
                conn.queue(&reply);
                return Ok(if reply.code() == 221 {
                    End::Quit
                } else {
                    End::TooManyErrors
                });
            }
            Step::StartData(reply) => {
                conn.queue(&reply);
                conn.flush().await?;
                let mut decoder = DataDecoder::new(config.max_message_bytes);
                match read_data(&mut conn.reader, &mut decoder, config.data_timeout).await? {
                    DataRead::Done => {}
                    DataRead::Eof => return Ok(End::ClientClosed),
                    DataRead::Timeout => {
                        conn.queue(&session.timeout_reply());
                        return Ok(End::Timeout);
                    }
                }
                let reply = match decoder.finish() {
                    Ok(data) => {
                        let envelope = session.finish_data(data);
                        let (size, rcpts) = (envelope.data.len(), envelope.rcpt_to.len());
                        let delivery = sink.deliver(envelope).await;
                        match &delivery {
                            Delivery::Accepted { id } => {
                                stats.accepted += 1;
                                tracing::info!(size, rcpts, id = %id, "message accepted");
                            }
                            Delivery::TempFail(reason) => {
                                stats.rejected += 1;
                                tracing::warn!(size, rcpts, reason = %reason, "message temporarily rejected");
                            }
                            Delivery::PermFail(reason) => {
                                stats.rejected += 1;
                                tracing::info!(size, rcpts, reason = %reason, "message rejected");
                            }
                        }
                        delivery.reply()
                    }
                    Err(too_big) => {
                        stats.rejected += 1;
                        tracing::info!(size = too_big.size, max = too_big.max, "message too big");
                        session.reject_too_big()
                    }
                };
                conn.queue(&reply);
            }
        }
    }
}

async fn read_command<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    skip_rest: &mut bool,
) -> io::Result<LineRead> {
    if *skip_rest {
        if !skip_line(reader).await? {
            return Ok(LineRead::Eof);
        }
        *skip_rest = false;
    }
    read_line_bounded(reader, line, MAX_COMMAND_LINE).await
}

/// How the DATA phase ended.
enum DataRead {
    Done,
    Eof,
    Timeout,
}

/// Feeds the decoder until the end-of-data line; each read gets `timeout`.
async fn read_data<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    decoder: &mut DataDecoder,
    timeout: Duration,
) -> io::Result<DataRead> {
    while !decoder.is_done() {
        let fed = tokio::time::timeout(timeout, async {
            let buf = reader.fill_buf().await?;
            Ok::<_, io::Error>(if buf.is_empty() {
                None
            } else {
                Some(decoder.feed(buf))
            })
        })
        .await;
        match fed {
            Err(_elapsed) => return Ok(DataRead::Timeout),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(None)) => return Ok(DataRead::Eof),
            Ok(Ok(Some(consumed))) => reader.consume(consumed),
        }
    }
    Ok(DataRead::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_limits_and_releases() {
        let per_ip = Arc::new(PerIp::new(2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let g1 = per_ip.try_acquire(a).unwrap();
        let _g2 = per_ip.try_acquire(a).unwrap();
        assert!(per_ip.try_acquire(a).is_none());
        assert!(per_ip.try_acquire(b).is_some());
        drop(g1);
        assert!(per_ip.try_acquire(a).is_some());
    }

    #[test]
    fn per_ip_groups_ipv6_by_64_and_maps_v4() {
        let per_ip = Arc::new(PerIp::new(1));
        let _g = per_ip
            .try_acquire("2001:db8:1:2::1".parse().unwrap())
            .unwrap();
        assert!(
            per_ip
                .try_acquire("2001:db8:1:2:ffff::9".parse().unwrap())
                .is_none()
        );
        assert!(
            per_ip
                .try_acquire("2001:db8:1:3::1".parse().unwrap())
                .is_some()
        );
        let _v4 = per_ip.try_acquire("192.0.2.1".parse().unwrap()).unwrap();
        assert!(
            per_ip
                .try_acquire("::ffff:192.0.2.1".parse().unwrap())
                .is_none()
        );
    }

    #[test]
    fn per_ip_zero_means_unlimited() {
        let per_ip = Arc::new(PerIp::new(0));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let guards: Vec<_> = (0..1000).map(|_| per_ip.try_acquire(ip).unwrap()).collect();
        drop(guards);
        assert!(per_ip.counts.lock().unwrap().is_empty());
    }
}
