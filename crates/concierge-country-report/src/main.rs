//! `concierge-country-report`: how well Concierge places writers in their
//! country, measured on the labelled set; `--fit` refits the weights.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use concierge_core::country::model::{self, Weights};
use concierge_country_report::{
    calibrate, cross_validate, default_fixtures, default_weights_path, evaluate, features_of, fit,
    load, misses, prior, render, timing,
};

/// Country inference on the labelled set: right, wrong and triaged per
/// language and evidence kind, the calibration table, and timings.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Folder of `*.jsonl` labelled messages.
    #[arg(long, default_value_os_t = default_fixtures())]
    fixtures: PathBuf,
    /// Refit the weights and the threshold, write them to `--weights`, and
    /// report under the new weights.
    #[arg(long)]
    fit: bool,
    /// Where `--fit` writes the weights (the file compiled into the binary).
    #[arg(long, default_value_os_t = default_weights_path())]
    weights: PathBuf,
    /// Also run 5-fold cross-validation (fit on four fifths, test on one).
    #[arg(long)]
    cross_validate: bool,
    /// List every triaged or wrong message with its evidence.
    #[arg(long)]
    misses: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = std::time::Instant::now();
    concierge_core::country::warm_up();
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let set = load(&args.fixtures)?;
    let feats: Vec<_> = set.iter().map(features_of).collect();
    let mut w: Weights = model::weights().clone();
    if args.fit {
        w = fit(&set, &feats, &prior());
        w.threshold = calibrate(&w, &set, &feats);
        let header = format!(
            "Fitted by `concierge-country-report --fit` on {} labelled messages in\n\
             tests/fixtures/country/ (softmax log-likelihood, L2); the threshold is\n\
             just above the most confident wrong guess on that set. Do not edit by hand.",
            set.len()
        );
        std::fs::write(&args.weights, w.to_tsv(&header))
            .with_context(|| format!("writing {}", args.weights.display()))?;
        eprintln!("wrote {}", args.weights.display());
    }
    let r = evaluate(&w, w.threshold, &set, &feats);
    print!("{}", render(&set, &r, &w));
    if args.cross_validate {
        let (p, u) = cross_validate(&set, &feats, &prior(), 5);
        println!(
            "\n5-fold cross-validation (each fold fitted and calibrated on the other four):\n  \
             with a country: {} right, {} wrong, {} triage of {}\n  unknown: {} triaged (right), {} placed (wrong)",
            p.right,
            p.wrong,
            p.triage,
            p.total(),
            u.right,
            u.wrong
        );
    }
    let (mean, p99) = timing(&set);
    println!(
        "\nTiming (this build, one thread): gazetteer load {load_ms:.0} ms once; \
         parse + inference per message mean {mean:.0} µs, p99 {p99:.0} µs"
    );
    if args.misses {
        print!("\n{}", misses(&set, &r));
    }
    Ok(())
}
