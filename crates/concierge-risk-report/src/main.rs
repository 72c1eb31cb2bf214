//! `concierge-risk-report`: how well risk assessment (issue 13) finds
//! imminent risk and avoids false alarms, on the labelled set.

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use concierge_core::risk::RiskRules;
use concierge_risk_report::{default_fixtures, evaluate, load, misses, render};

/// Risk assessment on the labelled set: per language recall and precision
/// on imminent, concern recall, false alarms on traps, and timings.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Folder of `*.jsonl` labelled messages (its `holdout/` subfolder is
    /// the holdout set).
    #[arg(long, default_value_os_t = default_fixtures())]
    fixtures: PathBuf,
    /// Also report the holdout set (`<fixtures>/holdout`).
    #[arg(long)]
    holdout: bool,
    /// Rules folder to use instead of the built-in `config/risk/`.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Print each wrong case with its evidence.
    #[arg(long)]
    misses: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let owned;
    let rules = match &args.rules {
        Some(dir) => {
            owned = RiskRules::from_dir(dir)?;
            &owned
        }
        None => RiskRules::builtin(),
    };
    let mut sets = vec![("main set", args.fixtures.clone())];
    if args.holdout {
        sets.push(("holdout", args.fixtures.join("holdout")));
    }
    for (i, (name, dir)) in sets.iter().enumerate() {
        let set = load(dir)?;
        let r = evaluate(&set, rules);
        if i > 0 {
            println!();
        }
        print!(
            "{}",
            render(
                &format!("{name} ({} messages, {})", set.len(), dir.display()),
                &r
            )
        );
        let (mean, p99) = r.timing();
        println!(
            "time per assessment ({} languages, {} rules, one thread): mean {mean:.1} µs, p99 {p99:.1} µs",
            rules.languages().count(),
            rules.rule_count()
        );
        if args.misses {
            let m = misses(&set, &r);
            if !m.is_empty() {
                println!("\nwrong cases ({name}):\n{m}");
            }
        }
    }
    Ok(())
}
