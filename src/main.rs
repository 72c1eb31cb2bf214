//! `concierge`: the command-line entry point.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use concierge::app::{self, App};
use concierge::config::Settings;
use concierge::embedded::EmbeddedPostgres;
use concierge_inbound::{Delivery, IngestError};
use concierge_store::{InboundSource, Store};

/// sysexits.h codes for the MTA pipe.
mod sysexits {
    pub const DATAERR: u8 = 65;
    pub const SOFTWARE: u8 = 70;
    pub const IOERR: u8 = 74;
    pub const TEMPFAIL: u8 = 75;
    pub const CONFIG: u8 = 78;
}

/// Support-request ticketing for a music-industry mental-health concierge.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// A TOML file overriding config/default.toml (then CONCIERGE__SECTION__KEY
    /// environment variables and DATABASE_URL override it).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the service: SMTP listener, HTTP API and dashboard. Migrates first.
    Serve {
        /// Load demo data into an empty database and print a demo API token.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Store one message read from standard input (for an MTA pipe).
    ///
    /// Exit codes (sysexits): 0 stored (or already stored), 65 unusable
    /// input, 75 temporary failure (the MTA should retry), 78 bad
    /// configuration.
    Ingest {
        /// Envelope sender (Postfix: ${sender}); empty for the null sender.
        #[arg(long, short = 'f')]
        sender: Option<String>,
        /// Envelope recipient (Postfix: ${recipient}); repeatable.
        #[arg(long, short = 'r')]
        recipient: Vec<String>,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token and print it once (only its digest is stored).
    Create {
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
    },
    /// Revoke every token with this name.
    Revoke {
        /// The token's name.
        #[arg(long)]
        name: String,
    },
}

fn init_tracing(settings: Option<&Settings>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.is_some_and(|s| s.log.format == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Connects to the configured database, or starts the embedded one.
fn database(settings: &mut Settings) -> Result<(Store, Option<EmbeddedPostgres>)> {
    let embedded = if settings.database.url.is_empty() {
        let pg = EmbeddedPostgres::start(&settings.embedded.data_dir)?;
        settings.database.url = pg.url.clone();
        Some(pg)
    } else {
        None
    };
    tracing::info!(database = %settings.redacted_database_url(), "using database");
    let store = Store::connect_lazy(&settings.database.url, settings.database.max_connections)?;
    Ok((store, embedded))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

async fn serve(mut settings: Settings, demo: bool) -> Result<()> {
    let (store, mut embedded) = database(&mut settings)?;
    store.migrate().await.context("migrating the database")?;
    let inbound = app::inbound(&settings, &store).await?;
    if demo {
        concierge::demo::load(&inbound).await?;
        let token = store.create_api_token("demo").await?;
        println!("Demo API token (shown once): {token}");
    }
    let app = App::bind(settings, inbound).await?;
    println!(
        "Concierge is running: http://{}  smtp://{}",
        app.http_addr(),
        app.smtp_addr()
    );
    let result = app.run(shutdown_signal()).await;
    if let Some(pg) = embedded.as_mut() {
        pg.stop();
    }
    result
}

async fn ingest(
    mut settings: Settings,
    sender: Option<String>,
    recipient: Vec<String>,
) -> ExitCode {
    let max = settings.mail.max_message_bytes;
    let mut raw = Vec::new();
    // Read one byte past the limit to tell "too large" from "exactly the limit".
    if let Err(e) = std::io::stdin()
        .lock()
        .take(max as u64 + 1)
        .read_to_end(&mut raw)
    {
        eprintln!("concierge ingest: reading standard input: {e}");
        return ExitCode::from(sysexits::IOERR);
    }
    let tempfail = |e: anyhow::Error| {
        eprintln!("concierge ingest: {e:#} (temporary failure; the MTA should retry)");
        ExitCode::from(sysexits::TEMPFAIL)
    };
    let (store, _embedded) = match database(&mut settings) {
        Ok(x) => x,
        Err(e) => return tempfail(e),
    };
    let inbound = match app::inbound(&settings, &store).await {
        Ok(i) => i,
        Err(e) => return tempfail(e),
    };
    let delivery = Delivery {
        source: InboundSource::Pipe,
        envelope_from: sender,
        envelope_to: recipient,
        raw,
    };
    match inbound.ingest(delivery).await {
        Ok(outcome) => {
            println!("{}", outcome.reference());
            ExitCode::SUCCESS
        }
        Err(e @ IngestError::Store(_)) => {
            eprintln!("concierge ingest: {e} (temporary failure; the MTA should retry)");
            ExitCode::from(sysexits::TEMPFAIL)
        }
        Err(e) => {
            eprintln!("concierge ingest: {e}");
            ExitCode::from(sysexits::DATAERR)
        }
    }
}

async fn run(cli: Cli, mut settings: Settings) -> Result<ExitCode> {
    match cli.command {
        Cmd::Serve { demo } => serve(settings, demo).await.map(|()| ExitCode::SUCCESS),
        Cmd::Ingest { sender, recipient } => Ok(ingest(settings, sender, recipient).await),
        Cmd::Migrate => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Token { command } => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            match command {
                TokenCmd::Create { name } => {
                    let token = store.create_api_token(&name).await?;
                    println!("{token}");
                }
                TokenCmd::Revoke { name } => {
                    let n = store.revoke_api_tokens(&name).await?;
                    println!("revoked {n} token(s) named {name:?}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            init_tracing(None);
            eprintln!("concierge: {e}");
            return ExitCode::from(sysexits::CONFIG);
        }
    };
    init_tracing(Some(&settings));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("concierge: starting the runtime: {e}");
            return ExitCode::from(sysexits::SOFTWARE);
        }
    };
    match runtime.block_on(run(cli, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("concierge: {e:#}");
            ExitCode::FAILURE
        }
    }
}
