//! Shared support of the benchmark binaries (`concierge-bench`,
//! `concierge-load`): throwaway databases, the `concierge` binary next to
//! the tool, percentiles.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The `concierge` binary next to the running tool (`tool` names the tool
/// in error messages).
pub fn concierge_binary(tool: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().with_context(|| format!("locating the {tool} executable"))?;
    let bin = exe.with_file_name(format!("concierge{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        bail!(
            "{} not found: build every binary first with \
             `SQLX_OFFLINE=true cargo build --release --workspace --bins` and run \
             target/release/{tool}",
            bin.display()
        );
    }
    Ok(bin)
}

/// `url` with its database replaced by `db` (query parameters kept).
pub fn with_database(url: &str, db: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (_, rest) = base
        .split_once("://")
        .with_context(|| format!("{url:?} is not a postgres:// URL"))?;
    let server = if rest.contains('/') {
        base.rsplit_once('/').map_or(base, |(s, _)| s)
    } else {
        base
    };
    Ok(match query {
        Some(q) => format!("{server}/{db}?{q}"),
        None => format!("{server}/{db}"),
    })
}

/// Creates database `db_name` through the server at `server_url`.
pub async fn create_database(server_url: &str, db_name: &str) -> Result<()> {
    let mut admin = PgConnection::connect(server_url)
        .await
        .context("connecting to --database-url")?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{db_name}\"")))
        .execute(&mut admin)
        .await
        .with_context(|| format!("creating database {db_name}"))?;
    let _ = admin.close().await;
    eprintln!("created database {db_name}");
    Ok(())
}

/// Drops database `db_name`, ending its connections.
pub async fn drop_database(server_url: &str, db_name: &str) -> Result<()> {
    let mut admin = PgConnection::connect(server_url).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{db_name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    let _ = admin.close().await;
    Ok(())
}

/// A free loopback port (bound, then released) for a server the tool starts.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_and_percentiles() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "b").unwrap(),
            "postgres://u@h:5432/b?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h", "b").unwrap(),
            "postgres://u@h/b"
        );
        assert!(with_database("nonsense", "b").is_err());
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
