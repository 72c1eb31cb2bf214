//! `concierge`: the command-line entry point.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use concierge::app::{self, App};
use concierge::config::Settings;
use concierge::embedded::EmbeddedPostgres;
use concierge_core::country::CountryCode;
use concierge_inbound::{Delivery, IngestError};
use concierge_mail::inbound::Limits;
use concierge_store::{InboundSource, Store};

/// sysexits.h codes for the MTA pipe.
mod sysexits {
    pub const DATAERR: u8 = 65;
    pub const SOFTWARE: u8 = 70;
    pub const NOUSER: u8 = 67;
    pub const IOERR: u8 = 74;
    pub const TEMPFAIL: u8 = 75;
    pub const NOPERM: u8 = 77;
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
    /// Run background workers only (routing, SLA sweeps); run as many as you
    /// like beside `serve`, against the same database.
    Worker,
    /// Manage volunteer caseworkers.
    Volunteer {
        #[command(subcommand)]
        command: VolunteerCmd,
    },
    /// Manage dashboard users (admins, coordinators, caseworkers).
    User {
        #[command(subcommand)]
        command: UserCmd,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
    /// Manage the public resource hub.
    Hub {
        #[command(subcommand)]
        command: HubCmd,
    },
    /// Country inference: why a message goes where it goes.
    Country {
        #[command(subcommand)]
        command: CountryCmd,
    },
    /// IMAP mailboxes (`[[imap.mailboxes]]`); `serve` and `worker` poll them.
    Imap {
        #[command(subcommand)]
        command: ImapCmd,
    },
    /// The on-call rota of the crisis lane: who is told at once when a
    /// message shows imminent risk, for which region, when.
    Oncall {
        #[command(subcommand)]
        command: OncallCmd,
    },
    /// Privacy operations: a person's subject access export and erasure,
    /// legal holds, and the retention policy (`[privacy]`).
    Privacy {
        #[command(subcommand)]
        command: PrivacyCmd,
    },
    /// Import existing mail as case history: no acknowledgements, no
    /// caseworker notices, no first-response targets, original dates.
    /// Resumable (run it again after an interrupt) and idempotent.
    Import {
        #[command(subcommand)]
        command: ImportCmd,
    },
}

#[derive(Subcommand)]
enum PrivacyCmd {
    /// Write everything held about a person to one zip archive in DIR:
    /// export.json (cases, messages, internal notes marked as such,
    /// statuses, assignments, who viewed or changed each case) and every
    /// original message and reply as .eml with its attachments. Audited.
    ///
    /// Exit codes: 0 written, 67 nothing is held about that address.
    Export {
        /// The person's address (case-insensitive).
        #[arg(long, value_name = "EMAIL")]
        requester: String,
        /// Directory to write the archive into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Erase everything held about a person: their cases, messages, raw
    /// mail, attachments, search entries, outgoing mail, queued jobs,
    /// notifications and audit entries about them, in one transaction. An
    /// audit entry records that an erasure happened and how many rows, not
    /// who. Cases under legal hold block it.
    ///
    /// Exit codes: 0 erased (or counted, with --dry-run), 67 nothing is held
    /// about that address, 77 a case is under legal hold.
    Erase {
        /// The person's address (case-insensitive).
        #[arg(long, value_name = "EMAIL")]
        requester: String,
        /// Count what would be erased; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Apply the retention policy of `[privacy]` now, in batches (workers
    /// also run it every `retention_every_minutes`).
    Retention {
        /// Count what would go now; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Put a case under legal hold (it cannot be erased or purged), or
    /// release it with --release. Audited.
    Hold {
        /// The case reference, e.g. C-7K2M9X.
        #[arg(long = "case", value_name = "REFERENCE")]
        reference: String,
        /// Why (required to hold; shown when an erasure is refused).
        #[arg(long, required_unless_present = "release")]
        reason: Option<String>,
        /// Release the hold.
        #[arg(long, conflicts_with = "reason")]
        release: bool,
    },
}

#[derive(Subcommand)]
enum OncallCmd {
    /// Put a user on call for a region and a time.
    ///
    /// Example: `concierge oncall add --user ana@charity.org --region BR
    /// --from 2026-12-08T18:00:00Z --hours 12`
    Add {
        /// The user's address (any role; they get the urgent notices).
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// `*` (every case, also those whose country is unknown), a
        /// country code (BR) or a UN M49 sub-region ("South America").
        #[arg(long)]
        region: String,
        /// Start (RFC 3339 or YYYY-MM-DD); default now.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_name = "TIME", conflicts_with = "hours")]
        until: Option<String>,
        /// Length of the shift in hours (instead of --until).
        #[arg(long)]
        hours: Option<u32>,
    },
    /// List shifts that have not ended, soonest first.
    List {
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Remove a shift by its id (from `list`).
    Remove {
        /// The shift's id.
        id: uuid::Uuid,
    },
}

#[derive(Subcommand)]
enum CountryCmd {
    /// Read one message (RFC 5322, e.g. an .eml file) from standard input
    /// and show the country ingest would infer for it, with every piece of
    /// evidence and its weight. Needs no database and no configuration
    /// file; parses exactly as `concierge ingest` does.
    ///
    /// Example: `concierge country explain < message.eml`
    ///
    /// Exit codes (sysexits): 0 explained, 65 not a message (empty, over
    /// mail.max_message_bytes, or none of From, Date, Message-ID and
    /// Subject), 74 standard input
    /// unreadable, 78 bad configuration (--config).
    Explain {
        /// Print one JSON object (country, country_source,
        /// country_confidence, country_suggestion,
        /// country_suggestion_confidence, threshold, evidence, candidates).
        #[arg(long)]
        json: bool,
        /// The country of the requester's earlier cases, as ingest would
        /// look it up (ISO 3166-1 alpha-2, e.g. PT).
        #[arg(long, value_name = "XX", value_parser = parse_country_code)]
        previous_country: Option<CountryCode>,
    },
}

fn parse_country_code(s: &str) -> std::result::Result<CountryCode, String> {
    s.parse::<CountryCode>().map_err(|e| e.to_string())
}

/// `concierge country explain`: no database, no tracing, no runtime.
fn country_explain(
    config: Option<&std::path::Path>,
    json: bool,
    previous_country: Option<CountryCode>,
) -> ExitCode {
    // The configured threshold and size limit when there is a configuration
    // to read; the calibrated threshold otherwise.
    let settings = match Settings::load(config) {
        Ok(s) => Some(s),
        Err(e) if config.is_some() => {
            eprintln!("concierge country explain: {e}");
            return ExitCode::from(sysexits::CONFIG);
        }
        Err(_) => None,
    };
    let threshold = settings
        .as_ref()
        .map_or_else(concierge_core::country::calibrated_threshold, |s| {
            s.routing.country_threshold()
        });
    let max = settings
        .as_ref()
        .map_or(26_214_400, |s| s.mail.max_message_bytes);
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin()
        .lock()
        .take(max as u64 + 1)
        .read_to_end(&mut raw)
    {
        eprintln!("concierge country explain: reading standard input: {e}");
        return ExitCode::from(sysexits::IOERR);
    }
    if raw.len() > max {
        eprintln!("concierge country explain: the message is over {max} bytes");
        return ExitCode::from(sysexits::DATAERR);
    }
    let parsed = match concierge_mail::inbound::parse(&raw, &Limits::default()) {
        // Anything parses; a message has at least one of these.
        Ok(p)
            if p.from.is_some()
                || p.date.is_some()
                || p.message_id.is_some()
                || !p.subject.trim().is_empty() =>
        {
            p
        }
        Ok(_) => {
            eprintln!(
                "concierge country explain: not a message (no From, Date, Message-ID or Subject)"
            );
            return ExitCode::from(sysexits::DATAERR);
        }
        Err(e) => {
            eprintln!("concierge country explain: {e}");
            return ExitCode::from(sysexits::DATAERR);
        }
    };
    let inference = concierge_inbound::country_of(&parsed, previous_country);
    let placed = inference.placed(threshold);
    let suggestion = inference.suggestion(threshold);
    let out = if json {
        let explained = Explained {
            country: placed.map(|g| g.country),
            country_source: placed.map(|g| g.source),
            country_confidence: placed.map(|g| g.confidence),
            country_suggestion: suggestion.map(|g| g.country),
            country_suggestion_source: suggestion.map(|g| g.source),
            country_suggestion_confidence: suggestion.map(|g| g.confidence),
            threshold,
            evidence: &inference.evidence,
            candidates: inference
                .candidates
                .iter()
                .map(|&(country, probability)| Candidate {
                    country,
                    probability,
                })
                .collect(),
        };
        match serde_json::to_string_pretty(&explained) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("concierge country explain: {e}");
                return ExitCode::from(sysexits::SOFTWARE);
            }
        }
    } else {
        explain_table(&inference, threshold)
    };
    print!("{out}");
    ExitCode::SUCCESS
}

/// `country explain --json`: the fields of a case (`country`,
/// `country_source`, …, `evidence` as in the API's `country_evidence`).
#[derive(serde::Serialize)]
struct Explained<'a> {
    country: Option<CountryCode>,
    country_source: Option<concierge_core::country::CountrySource>,
    country_confidence: Option<f32>,
    country_suggestion: Option<CountryCode>,
    country_suggestion_source: Option<concierge_core::country::CountrySource>,
    country_suggestion_confidence: Option<f32>,
    threshold: f32,
    evidence: &'a [concierge_core::country::EvidenceItem],
    candidates: Vec<Candidate>,
}

/// A country the model considered, with its probability.
#[derive(serde::Serialize)]
struct Candidate {
    country: CountryCode,
    probability: f32,
}

/// The readable form of `country explain`.
fn explain_table(i: &concierge_core::country::CountryInference, threshold: f32) -> String {
    use std::fmt::Write as _;
    let name = |c: CountryCode| {
        let n = concierge_core::country::country_name(c);
        n.strip_prefix("The ").unwrap_or(n).to_owned()
    };
    let mut out = String::new();
    match (i.placed(threshold), i.suggestion(threshold)) {
        (Some(g), _) => {
            let _ = writeln!(out, "country:     {} ({})", g.country, name(g.country));
            let _ = writeln!(out, "source:      {}", g.source);
            let _ = writeln!(
                out,
                "confidence:  {:.2} (threshold {threshold:.2})",
                g.confidence
            );
            let _ = writeln!(out, "suggestion:  -");
        }
        (None, Some(g)) => {
            let _ = writeln!(out, "country:     unknown (goes to triage)");
            let _ = writeln!(out, "source:      -");
            let _ = writeln!(out, "confidence:  - (threshold {threshold:.2})");
            let _ = writeln!(
                out,
                "suggestion:  {} ({}), {}, {:.2}",
                g.country,
                name(g.country),
                g.source,
                g.confidence
            );
        }
        (None, None) => {
            let _ = writeln!(out, "country:     unknown (no evidence of a country)");
            let _ = writeln!(out, "source:      -");
            let _ = writeln!(out, "confidence:  - (threshold {threshold:.2})");
            let _ = writeln!(out, "suggestion:  -");
        }
    }
    let _ = writeln!(out);
    if i.evidence.is_empty() {
        let _ = writeln!(out, "no evidence");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<20} {:<7} {:>7}  from the message",
        "evidence", "country", "weight"
    );
    for e in &i.evidence {
        // One line each: the text is the sender's, so no control characters.
        let text: String = e
            .text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let _ = write!(
            out,
            "{:<20} {:<7} {:>+7.2}  {text}",
            e.kind.as_str(),
            e.country.as_str(),
            e.weight
        );
        if let Some(note) = &e.note {
            let _ = write!(out, "  ({note})");
        }
        let _ = writeln!(out);
    }
    out
}

#[derive(Subcommand)]
enum ImapCmd {
    /// Each configured mailbox's state: status, last error, UIDVALIDITY,
    /// highest UID committed, messages taken, which process polls it.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// mbox files (Google Takeout, Thunderbird, mboxrd / mboxo).
    Mbox {
        /// The files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Threads with no message since this date (YYYY-MM-DD or RFC 3339)
        /// are imported resolved; newer ones are open and routed.
        #[arg(long, value_name = "DATE")]
        open_since: Option<String>,
    },
    /// Maildir folders (with cur/ and new/).
    Maildir {
        /// The folders.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// As for `import mbox`.
        #[arg(long, value_name = "DATE")]
        open_since: Option<String>,
    },
}

#[derive(Subcommand)]
enum HubCmd {
    /// Import the hub file: entries are added or updated, and entries no
    /// longer in the file are marked inactive.
    Import {
        /// The hub file [default: hub.file of the configuration].
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum VolunteerCmd {
    /// Add a volunteer; waiting cases they can take are routed at once.
    Add {
        /// Address (login and notifications).
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Countries covered, ISO 3166 alpha-2, comma-separated; `*` = global pool.
        #[arg(long, value_delimiter = ',', required = true)]
        countries: Vec<String>,
        /// Languages spoken, ISO 639-1, comma-separated.
        #[arg(long, value_delimiter = ',')]
        languages: Vec<String>,
        /// Maximum active cases.
        #[arg(long, default_value_t = 5)]
        capacity: i32,
    },
    /// List volunteers with their load.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Change a volunteer.
    Update {
        /// The volunteer's address.
        #[arg(long)]
        email: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New countries (replaces the list).
        #[arg(long, value_delimiter = ',')]
        countries: Option<Vec<String>>,
        /// New languages (replaces the list).
        #[arg(long, value_delimiter = ',')]
        languages: Option<Vec<String>>,
        /// New capacity.
        #[arg(long)]
        capacity: Option<i32>,
        /// Enable (true) or disable (false).
        #[arg(long)]
        active: Option<bool>,
    },
    /// Pause a volunteer until a date (YYYY-MM-DD, UTC) or time (RFC 3339).
    Pause {
        /// The volunteer's address.
        #[arg(long)]
        email: String,
        /// When they are back.
        #[arg(long)]
        until: String,
    },
    /// End a pause now.
    Resume {
        /// The volunteer's address.
        #[arg(long)]
        email: String,
    },
}

/// A volunteer's countries (the rule the JSON API and the admin pages use).
fn countries(list: &[String]) -> Result<Vec<String>> {
    Ok(concierge_core::country::covered_countries(list)?)
}

/// A volunteer's languages (the rule the JSON API and the admin pages use).
fn languages(list: &[String]) -> Result<Vec<String>> {
    Ok(concierge_core::country::spoken_languages(list)?)
}

fn parse_until(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("{s:?} is neither YYYY-MM-DD nor an RFC 3339 time"))?;
    Ok(d.and_hms_opt(0, 0, 0).context("midnight")?.and_utc())
}

async fn oncall(store: &Store, command: OncallCmd) -> Result<()> {
    match command {
        OncallCmd::Add {
            user,
            region,
            from,
            until,
            hours,
        } => {
            let region: concierge_core::routing::OnCallRegion = region
                .parse()
                .map_err(|e| anyhow::anyhow!("--region: {e}"))?;
            let starts = match from {
                Some(f) => parse_until(&f)?,
                None => chrono::Utc::now(),
            };
            let ends = match (until, hours) {
                (Some(u), _) => parse_until(&u)?,
                (None, Some(h)) => starts + chrono::Duration::hours(i64::from(h)),
                (None, None) => anyhow::bail!("give --until TIME or --hours N"),
            };
            anyhow::ensure!(ends > starts, "the shift must end after it starts");
            let id = store
                .add_on_call(&user, &region.to_string(), starts, ends, None)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no enabled user with address {user}"))?;
            println!("{id}");
        }
        OncallCmd::List { json } => {
            for s in store.on_call_rota(chrono::Utc::now()).await? {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "id": s.id, "user": s.email, "role": s.role, "region": s.region,
                            "starts_at": s.starts_at, "ends_at": s.ends_at,
                        })
                    );
                } else {
                    println!(
                        "{}  {:<30} {:<16} {} → {}",
                        s.id,
                        s.email,
                        s.region,
                        s.starts_at.format("%Y-%m-%d %H:%M UTC"),
                        s.ends_at.format("%Y-%m-%d %H:%M UTC")
                    );
                }
            }
        }
        OncallCmd::Remove { id } => {
            anyhow::ensure!(
                store.remove_on_call(id, None).await?,
                "no on-call shift {id}"
            );
            println!("removed {id}");
        }
    }
    Ok(())
}

fn print_erased(label: &str, n: &concierge_store::Erased) {
    println!(
        "{label}: {} case(s), {} message(s), {} raw message(s), {} attachment(s), \
         {} outgoing mail(s), {} job(s), {} notification(s), {} assignment(s), \
         {} audit entr(ies), {} read marker(s), {} dedupe key(s), {} requester(s)",
        n.cases,
        n.messages,
        n.raw_messages,
        n.attachments,
        n.outbox,
        n.jobs,
        n.notifications,
        n.assignments,
        n.audit_entries,
        n.read_markers,
        n.dedupe_keys,
        n.requesters
    );
}

async fn privacy(store: &Store, settings: &Settings, command: PrivacyCmd) -> Result<ExitCode> {
    use concierge_store::EraseError;
    match command {
        PrivacyCmd::Export { requester, out } => {
            let Some(export) = store.export_person(&requester, None).await? else {
                eprintln!("concierge: nothing is held about {requester}");
                return Ok(ExitCode::from(sysexits::NOUSER));
            };
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let now = chrono::Utc::now();
            let path = out.join(format!(
                "concierge-export-{}-{}.zip",
                now.format("%Y%m%dT%H%M%SZ"),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ));
            let file = std::fs::File::create_new(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            let n = concierge_privacy::write_zip(
                &export,
                &now.to_rfc3339(),
                std::io::BufWriter::new(file),
            )?;
            println!(
                "{}: {} case(s), {} message(s) and note(s), {} .eml, {} attachment(s)",
                path.display(),
                n.cases,
                n.messages,
                n.eml,
                n.attachments
            );
        }
        PrivacyCmd::Erase { requester, dry_run } => {
            match store.erase_person(&requester, None, dry_run).await {
                Ok(n) if dry_run => print_erased("would erase (dry run, nothing changed)", &n),
                Ok(n) => print_erased("erased", &n),
                Err(EraseError::NotFound) => {
                    eprintln!("concierge: nothing is held about {requester}");
                    return Ok(ExitCode::from(sysexits::NOUSER));
                }
                Err(e @ EraseError::LegalHold(_)) => {
                    eprintln!(
                        "concierge: not erased: {e}. Release each hold first \
                         (concierge privacy hold --case REFERENCE --release) if the hold has ended."
                    );
                    return Ok(ExitCode::from(sysexits::NOPERM));
                }
                Err(EraseError::Store(e)) => return Err(e.into()),
            }
        }
        PrivacyCmd::Retention { dry_run } => {
            let policy = settings.privacy.policy();
            if dry_run {
                let n = store
                    .retention_preview(&policy.cutoffs(chrono::Utc::now()))
                    .await?;
                print_erased("closed cases past retention", &n.closed_cases);
                println!(
                    "raw MIME past retention: {}; expired sessions: {}; old login attempts: {}; \
                     finished jobs: {} (dry run, nothing changed)",
                    n.raw_mime, n.sessions, n.login_attempts, n.finished_jobs
                );
            } else {
                let started = std::time::Instant::now();
                let n = concierge_jobs::apply_retention(
                    store,
                    &policy,
                    settings.privacy.retention_batch,
                    |t| {
                        eprint!(
                            "\r{} rows removed ({} cases, {} raw MIME) in {:.0} s   ",
                            t.total(),
                            t.closed_cases.cases,
                            t.raw_mime,
                            started.elapsed().as_secs_f64()
                        )
                    },
                )
                .await?;
                if n.total() > 0 {
                    eprintln!();
                }
                print_erased("closed cases erased", &n.closed_cases);
                println!(
                    "raw MIME dropped: {}; expired sessions: {}; old login attempts: {}; \
                     finished jobs: {} ({:.1} s)",
                    n.raw_mime,
                    n.sessions,
                    n.login_attempts,
                    n.finished_jobs,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        PrivacyCmd::Hold {
            reference,
            reason,
            release,
        } => {
            let Some(t) = store.ticket_detail(reference.trim()).await? else {
                eprintln!("concierge: no case {reference}");
                return Ok(ExitCode::from(sysexits::DATAERR));
            };
            let reason = if release { None } else { reason.as_deref() };
            anyhow::ensure!(
                release || reason.is_some_and(|r| !r.trim().is_empty()),
                "give --reason TEXT (why the case is held) or --release"
            );
            store.set_legal_hold(t.ticket.id, reason, None).await?;
            println!(
                "{} {}",
                t.ticket.reference,
                if release { "released" } else { "held" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn volunteer(store: &Store, command: VolunteerCmd) -> Result<()> {
    use concierge_store::VolunteerChange;
    fn not_found(email: &str) -> impl FnOnce(concierge_store::StoreError) -> anyhow::Error + '_ {
        move |e| match e {
            concierge_store::StoreError::NotFound => {
                anyhow::anyhow!("no volunteer with address {email}")
            }
            other => other.into(),
        }
    }
    match command {
        VolunteerCmd::Add {
            email,
            name,
            countries: c,
            languages: l,
            capacity,
        } => {
            let email = concierge_core::message::EmailAddress::parse(&email)
                .map_err(|_| anyhow::anyhow!("{email:?} is not an e-mail address"))?;
            anyhow::ensure!(capacity >= 0, "capacity cannot be negative");
            let id = store
                .add_volunteer(
                    email.as_str(),
                    &name,
                    &countries(&c)?,
                    &languages(&l)?,
                    capacity,
                )
                .await?;
            println!("added volunteer {email} ({id})");
        }
        VolunteerCmd::List { json } => {
            let list = store.list_volunteers().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<36} {:<24} {:<14} {:<10} {:>7}  state",
                    "email", "name", "countries", "languages", "load"
                );
                for v in list {
                    let state = match (v.active, v.paused_until) {
                        (false, _) => "disabled".to_owned(),
                        (true, Some(t)) if t > chrono::Utc::now() => {
                            format!("paused until {}", t.format("%Y-%m-%d %H:%M"))
                        }
                        _ => "active".to_owned(),
                    };
                    println!(
                        "{:<36} {:<24} {:<14} {:<10} {:>3}/{:<3}  {state}",
                        v.email,
                        v.name,
                        v.countries.join(","),
                        v.languages.join(","),
                        v.active_cases,
                        v.capacity
                    );
                }
            }
        }
        VolunteerCmd::Update {
            email,
            name,
            countries: c,
            languages: l,
            capacity,
            active,
        } => {
            let change = VolunteerChange {
                name,
                countries: c.as_deref().map(countries).transpose()?,
                languages: l.as_deref().map(languages).transpose()?,
                capacity,
                active,
                paused_until: None,
            };
            store
                .update_volunteer(&email, &change)
                .await
                .map_err(not_found(&email))?;
            println!("updated {email}");
        }
        VolunteerCmd::Pause { email, until } => {
            let until = parse_until(&until)?;
            let change = VolunteerChange {
                paused_until: Some(Some(until)),
                ..Default::default()
            };
            store
                .update_volunteer(&email, &change)
                .await
                .map_err(not_found(&email))?;
            println!("{email} paused until {until}");
        }
        VolunteerCmd::Resume { email } => {
            let change = VolunteerChange {
                paused_until: Some(None),
                ..Default::default()
            };
            store
                .update_volunteer(&email, &change)
                .await
                .map_err(not_found(&email))?;
            println!("{email} is back");
        }
    }
    Ok(())
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a dashboard user. The password is the first line of standard
    /// input (pipe it in: `printf '%s\n' "$PW" | concierge user add ...`);
    /// without one (a terminal, or empty input) an invitation link is
    /// printed instead: it lets them choose their password, once, within
    /// accounts.invite_valid_hours.
    Add {
        /// Login address.
        #[arg(long)]
        email: String,
        /// admin, coordinator or caseworker.
        #[arg(long)]
        role: concierge_access::Role,
        /// Display name [default: the volunteer's, else empty].
        #[arg(long)]
        name: Option<String>,
        /// The volunteer record (by address) of a caseworker.
        #[arg(long, value_name = "EMAIL")]
        volunteer: Option<String>,
    },
    /// Disable a user and end their sessions at once.
    Disable {
        /// The user's address.
        #[arg(long)]
        email: String,
    },
}

async fn user(store: &Store, settings: &Settings, command: UserCmd) -> Result<()> {
    use std::io::{BufRead, IsTerminal};
    match command {
        UserCmd::Add {
            email,
            role,
            name,
            volunteer,
        } => {
            let email = concierge_core::message::EmailAddress::parse(&email)
                .map_err(|_| anyhow::anyhow!("{email:?} is not an e-mail address"))?;
            let volunteer_id = match &volunteer {
                Some(v) => Some(
                    store
                        .volunteer_id_by_email(v)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no volunteer with address {v}"))?,
                ),
                None => None,
            };
            anyhow::ensure!(
                role != concierge_access::Role::Caseworker || volunteer_id.is_some(),
                "a caseworker needs --volunteer EMAIL (their volunteer record)"
            );
            // A password piped in is used; none (a terminal, or empty
            // input) means an invitation link instead.
            let stdin = std::io::stdin();
            let mut line = String::new();
            if !stdin.is_terminal() {
                stdin.lock().read_line(&mut line)?;
            }
            let password = line.strip_suffix('\n').unwrap_or(&line);
            let password = password.strip_suffix('\r').unwrap_or(password);
            let hash = if password.is_empty() {
                None
            } else {
                Some(concierge_access::hash_password(password)?)
            };
            let name = match (name, &volunteer) {
                (Some(n), _) => n,
                (None, Some(v)) => store
                    .list_volunteers()
                    .await?
                    .into_iter()
                    .find(|x| x.email.eq_ignore_ascii_case(v))
                    .map(|x| x.name)
                    .unwrap_or_default(),
                (None, None) => String::new(),
            };
            let id = store
                .create_user(email.as_str(), &name, role, volunteer_id, hash.as_deref())
                .await?;
            store
                .audit(
                    None,
                    "user.add",
                    None,
                    &serde_json::json!({ "user_id": id, "email": email.as_str(), "role": role, "via": "cli" }),
                )
                .await?;
            println!("added {role} {email} ({id})");
            if hash.is_none() {
                use concierge_store::{LinkPurpose, NewLink};
                let valid_for = settings.accounts.invite_valid_for();
                let link = NewLink::generate(LinkPurpose::Invite, valid_for);
                store.issue_account_link(id, &link, None).await?;
                store
                    .audit(
                        None,
                        "user.link_sent",
                        None,
                        &serde_json::json!({
                            "user_id": id, "email": email.as_str(), "purpose": "invite",
                            "via": "cli", "link_id": link.id
                        }),
                    )
                    .await?;
                println!(
                    "invitation link (works once, for {}; shown only now):\n{}",
                    concierge_outbound::human_duration(valid_for),
                    concierge_outbound::account_link_url(&settings.mail.public_url, &link.token)
                );
            }
        }
        UserCmd::Disable { email } => {
            let id = store.disable_user(&email).await.map_err(|e| match e {
                concierge_store::StoreError::NotFound => {
                    anyhow::anyhow!("no user with address {email}")
                }
                other => other.into(),
            })?;
            store
                .audit(
                    None,
                    "user.disable",
                    None,
                    &serde_json::json!({ "user_id": id, "email": email, "via": "cli" }),
                )
                .await?;
            println!("disabled {email}; their sessions are ended");
        }
    }
    Ok(())
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token and print it once (only its digest is stored).
    Create {
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
        /// The user the token acts as (their address): every request made
        /// with it gets exactly that user's access.
        #[arg(long, value_name = "EMAIL")]
        user: String,
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
    // Colours only for a person at a terminal, never into a log file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
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
    concierge::hub::import_on_start(&store, &settings.hub.file).await;
    if demo && settings.mail.outbound_url.is_empty() {
        let dir = settings.embedded.data_dir.parent().map_or_else(
            || std::path::PathBuf::from(".concierge/sent-mail"),
            |p| p.join("sent-mail"),
        );
        let addr = concierge::demo::start_mail_sink(dir.clone()).await?;
        settings.mail.outbound_url = format!("smtp://{addr}");
        println!("Demo: outgoing mail is written to {}", dir.display());
    }
    let inbound = app::inbound(&settings, &store).await?;
    if demo {
        concierge::demo::load(&inbound).await?;
        let token = demo_api_token(&store).await?;
        println!("Demo API token (admin, shown once): {token}");
        println!("Demo dashboard logins (fresh passwords at every demo start):");
        for l in concierge::demo::logins(&store).await? {
            println!("  {:<12} {:<42} {}", l.role.as_str(), l.email, l.password);
        }
    }
    let mailer = app::mailer(&settings, &store).await?;
    let app = App::bind(settings, inbound, mailer).await?;
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

/// The demo's API token: it acts as a demo admin without a password (no
/// dashboard login), created on first use.
async fn demo_api_token(store: &Store) -> Result<String> {
    const EMAIL: &str = "api-demo@demo.concierge.example.org";
    let id = match store.find_user_by_email(EMAIL).await? {
        Some(u) => u.user.id,
        None => {
            store
                .create_user(EMAIL, "API demo", concierge_access::Role::Admin, None, None)
                .await?
        }
    };
    Ok(store.create_api_token("demo", id).await?)
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
        Cmd::Worker => {
            let (store, mut pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            tracing::info!("worker running; Ctrl-C to stop");
            let mailer = app::mailer(&settings, &store).await?;
            let deps = app::mail_deps(&settings, &mailer)?;
            let inbound = app::inbound(&settings, &store).await?;
            let (tx, _) = tokio::sync::broadcast::channel::<()>(1);
            let (mut rx_jobs, mut rx_imap) = (tx.subscribe(), tx.subscribe());
            let jobs = concierge_jobs::run(
                store,
                settings.worker.config(&settings.risk, &settings.privacy),
                deps,
                async move {
                    let _ = rx_jobs.recv().await;
                },
            );
            let imap = concierge_imap::run(
                inbound,
                settings.imap.mailboxes.clone(),
                settings.imap.poller_settings(),
                async move {
                    let _ = rx_imap.recv().await;
                },
            );
            let trigger = async move {
                shutdown_signal().await;
                let _ = tx.send(());
            };
            let (result, (), ()) = tokio::join!(jobs, imap, trigger);
            if let Some(pg) = pg.as_mut() {
                pg.stop();
            }
            result.map_err(|e| anyhow::anyhow!("workers: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Volunteer { command } => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            volunteer(&store, command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::User { command } => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            user(&store, &settings, command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Token { command } => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            match command {
                TokenCmd::Create { name, user } => {
                    let found = store
                        .find_user_by_email(&user)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no user with address {user}"))?
                        .user;
                    anyhow::ensure!(
                        found.disabled_at.is_none(),
                        "{user} is disabled; a token for them would be refused"
                    );
                    let token = store.create_api_token(&name, found.id).await?;
                    store
                        .audit(
                            None,
                            "token.create",
                            None,
                            &serde_json::json!({
                                "user_id": found.id, "email": found.email, "name": name, "via": "cli"
                            }),
                        )
                        .await?;
                    println!("{token}");
                }
                TokenCmd::Revoke { name } => {
                    let n = store.revoke_api_tokens(&name).await?;
                    println!("revoked {n} token(s) named {name:?}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Country {
            command:
                CountryCmd::Explain {
                    json,
                    previous_country,
                },
        } => Ok(country_explain(
            cli.config.as_deref(),
            json,
            previous_country,
        )),
        Cmd::Privacy { command } => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            privacy(&store, &settings, command).await
        }
        Cmd::Oncall { command } => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            oncall(&store, command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Imap {
            command: ImapCmd::Status { json },
        } => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            imap_status(&store, &settings, json).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Import { command } => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            let inbound = app::inbound(&settings, &store).await?;
            let (kind, paths, open_since) = match command {
                ImportCmd::Mbox { files, open_since } => ("mbox", files, open_since),
                ImportCmd::Maildir { dirs, open_since } => ("maildir", dirs, open_since),
            };
            let opts = concierge_imap::import::Options {
                open_since: open_since.as_deref().map(parse_until).transpose()?,
            };
            let summary = if kind == "mbox" {
                concierge_imap::import::import_mbox(&inbound, &paths, opts).await?
            } else {
                concierge_imap::import::import_maildir(&inbound, &paths, opts).await?
            };
            println!("imported {summary}");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Hub {
            command: HubCmd::Import { file },
        } => {
            let (store, _pg) = database(&mut settings)?;
            store.migrate().await.context("migrating the database")?;
            let file = file.unwrap_or_else(|| settings.hub.file.clone());
            let done = concierge::hub::import(&store, &file).await?;
            println!(
                "imported {} entries from {} ({} changed, {} deactivated, {} changed in the dashboard and kept)",
                done.entries,
                file.display(),
                done.changed,
                done.deactivated,
                done.kept
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `concierge imap status`: configured mailboxes with their recorded state.
async fn imap_status(store: &Store, settings: &Settings, json: bool) -> Result<()> {
    let rows = store.imap_mailboxes().await?;
    let configured: Vec<&str> = settings
        .imap
        .mailboxes
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    if json {
        let list: Vec<serde_json::Value> = configured
            .iter()
            .map(|name| match rows.iter().find(|r| r.name == *name) {
                Some(r) => serde_json::to_value(r).unwrap_or_default(),
                None => serde_json::json!({ "name": name, "status": "never polled" }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if configured.is_empty() {
        println!("no mailboxes configured ([[imap.mailboxes]])");
        return Ok(());
    }
    println!(
        "{:<16} {:<13} {:>12} {:>9} {:>9}  {:<20} detail",
        "mailbox", "status", "uidvalidity", "last uid", "taken", "since"
    );
    for name in configured {
        match rows.iter().find(|r| r.name == name) {
            Some(r) => {
                let held = match (&r.lease_holder, r.lease_expires_at) {
                    (Some(h), Some(t)) if t > chrono::Utc::now() => format!(" [{h}]"),
                    _ => " [no poller]".to_owned(),
                };
                println!(
                    "{:<16} {:<13} {:>12} {:>9} {:>9}  {:<20} {}{held}",
                    r.name,
                    r.status.replace('_', " "),
                    r.uid_validity
                        .map_or_else(|| "-".to_owned(), |v| v.to_string()),
                    r.last_uid,
                    r.imported,
                    r.status_at.format("%Y-%m-%d %H:%M:%S"),
                    r.detail.as_deref().unwrap_or("")
                );
            }
            None => println!("{name:<16} never polled"),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Explaining one message needs no database, runtime or logging.
    if let Cmd::Country {
        command: CountryCmd::Explain {
            json,
            previous_country,
        },
    } = &cli.command
    {
        return country_explain(cli.config.as_deref(), *json, *previous_country);
    }
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
