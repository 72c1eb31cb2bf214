//! The embedded default database: a private PostgreSQL cluster in a data
//! folder, started from the installed PostgreSQL binaries when no database
//! URL is configured, and stopped when the process exits.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A running private cluster; stops it on drop when this process started it.
pub struct EmbeddedPostgres {
    bin: PathBuf,
    data_dir: PathBuf,
    /// Connection URL of the `concierge` database.
    pub url: String,
    started_here: bool,
    as_postgres_user: bool,
}

fn find_bin_dir() -> Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, p)| p).context(
        "no PostgreSQL server binaries found (initdb). Install them (Debian: `apt-get install postgresql`) \
         or set DATABASE_URL / database.url to an existing server",
    )
}

fn is_root() -> bool {
    // PostgreSQL refuses to run as root; we then run it as `postgres`.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port for PostgreSQL")?;
    Ok(l.local_addr()?.port())
}

impl EmbeddedPostgres {
    fn cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres_user {
            // PostgreSQL refuses to run as root.
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Starts (or joins) the cluster in `data_dir` and makes sure the
    /// `concierge` database exists.
    pub fn start(data_dir: &Path) -> Result<Self> {
        let bin = find_bin_dir()?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let data_dir = data_dir.canonicalize()?;
        let as_postgres_user = is_root();
        let mut pg = Self {
            bin,
            data_dir,
            url: String::new(),
            started_here: false,
            as_postgres_user,
        };
        if as_postgres_user {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.data_dir)
                .status()
                .context("chown of the data folder to the postgres user")?;
            if !status.success() {
                bail!(
                    "could not give {} to the postgres user (is the postgresql package installed?)",
                    pg.data_dir.display()
                );
            }
        }
        if !pg.data_dir.join("PG_VERSION").exists() {
            tracing::info!(dir = %pg.data_dir.display(), "initialising a private PostgreSQL cluster");
            let out = pg
                .cmd("initdb")
                .arg("-D")
                .arg(&pg.data_dir)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ])
                .output()
                .context("running initdb")?;
            if !out.status.success() {
                bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        let port = match pg.running_port() {
            Some(port) => {
                tracing::info!(
                    port,
                    "joining the private PostgreSQL cluster already running"
                );
                port
            }
            None => {
                let port = free_port()?;
                let log = pg.data_dir.join("postgres.log");
                let out = pg
                    .cmd("pg_ctl")
                    .arg("-D")
                    .arg(&pg.data_dir)
                    .arg("-l")
                    .arg(&log)
                    .arg("-o")
                    .arg(format!(
                        "-p {port} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200",
                        pg.data_dir.display()
                    ))
                    .args(["-w", "-t", "60", "start"])
                    .output()
                    .context("running pg_ctl start")?;
                if !out.status.success() {
                    bail!(
                        "PostgreSQL did not start ({}); see {}",
                        String::from_utf8_lossy(&out.stderr).trim(),
                        log.display()
                    );
                }
                pg.started_here = true;
                tracing::info!(port, dir = %pg.data_dir.display(), "private PostgreSQL cluster started");
                port
            }
        };
        let out = pg
            .cmd("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-tAc",
            ])
            .arg("SELECT 1 FROM pg_database WHERE datname = 'concierge'")
            .output()
            .context("running psql")?;
        if String::from_utf8_lossy(&out.stdout).trim() != "1" {
            let out = pg
                .cmd("createdb")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-U",
                    "postgres",
                    "concierge",
                ])
                .output()
                .context("running createdb")?;
            if !out.status.success() {
                bail!("createdb failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        pg.url = format!("postgres://postgres@127.0.0.1:{port}/concierge");
        Ok(pg)
    }

    /// The port of a cluster already running in the data folder.
    fn running_port(&self) -> Option<u16> {
        let status = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("status")
            .output()
            .ok()?;
        if !status.status.success() {
            return None;
        }
        let pid = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        pid.lines().nth(3)?.trim().parse().ok()
    }

    /// Stops the cluster if this process started it.
    pub fn stop(&mut self) {
        if !self.started_here {
            return;
        }
        self.started_here = false;
        let out = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "stop"])
            .output();
        match out {
            Ok(o) if o.status.success() => tracing::info!("private PostgreSQL cluster stopped"),
            Ok(o) => {
                tracing::warn!(stderr = %String::from_utf8_lossy(&o.stderr), "pg_ctl stop failed")
            }
            Err(e) => tracing::warn!(error = %e, "pg_ctl stop failed"),
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}
