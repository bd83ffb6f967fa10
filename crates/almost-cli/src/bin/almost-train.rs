//! `almost-train`: fit device surrogates, train device networks, evaluate them on physics.
//! Thin: arguments -> config -> library call.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// Train "almost neurons": fit a surrogate f(x, A; B) of a simulated device, then build and
/// train networks of such devices in which only the device parameters A are learned.
#[derive(Parser)]
#[command(name = "almost-train", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit a surrogate network to a device dataset, report its held-out error and gradient
    /// fidelity, and save it frozen (surrogate.safetensors + surrogate.json + report + plots).
    Surrogate {
        /// Dataset folder made by almost-simulate (holds manifest.json and data.npz).
        #[arg(long)]
        data: PathBuf,
        /// Output folder for the surrogate.
        #[arg(long)]
        out: PathBuf,
        /// Fit config (TOML: [architecture], [training], [report]); defaults if omitted.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Skip the comparison of gradients with the device's finite differences.
        #[arg(long)]
        no_gradient_check: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Surrogate { data, out, config, no_gradient_check } => {
            let report = almost_cli::train::surrogate(&data, &out, config.as_deref(), !no_gradient_check)
                .with_context(|| format!("fitting a surrogate to {}", data.display()))?;
            print!("{}", report.table());
            eprintln!("saved to {}", out.display());
        }
    }
    Ok(())
}
