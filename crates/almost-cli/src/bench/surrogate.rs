//! `almost-train bench surrogate`: samples needed and wall time to reach a held-out RMSE of
//! 1 % of the output range, for each built-in device.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use almost_sim::devices::DeviceConfig;
use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost_surrogate::{Activation, Architecture, FitConfig, FitOptions, fit};

/// One fit of the benchmark.
pub struct Row {
    /// Device kind.
    pub device: String,
    /// Simulated samples used (train + validation + test).
    pub samples: usize,
    /// Held-out RMSE / output range.
    pub relative_rmse: f64,
    /// Coefficient of determination on the test split.
    pub r2: f64,
    /// Epochs run.
    pub epochs: usize,
    /// Seconds of the fit.
    pub fit_seconds: f64,
    /// Seconds the simulation of these samples takes (measured on the full dataset, scaled).
    pub simulate_seconds: f64,
}

/// The first `n` rows of a dataset, as a dataset of its own.
pub fn head(ds: &Dataset, n: usize) -> Dataset {
    let mut out = ds.clone();
    let t = &mut out.table;
    let n = n.min(t.len());
    t.index.truncate(n);
    t.x.truncate(n * t.nx);
    t.a.truncate(n * t.na);
    t.y.truncate(n * t.ny);
    t.status.truncate(n);
    out.manifest.samples = n as u64;
    out
}

/// Runs the benchmark for `devices` at fan-in `fan_in`, over sample counts `sizes`, with
/// datasets kept in `work` (reused when present). Prints as it goes.
pub fn run(devices: &[String], fan_in: usize, sizes: &[usize], target: f64, work: &Path) -> Result<Vec<Row>> {
    let max = sizes.iter().copied().max().unwrap_or(1000);
    let mut rows = Vec::new();
    println!(
        "{:<14} {:>8} {:>12} {:>10} {:>7} {:>10} {:>12}",
        "device", "samples", "RMSE/range", "R^2", "epochs", "fit s", "simulate s"
    );
    for kind in devices {
        let cfg = GenerateConfig::sobol(&format!("bench-{kind}"), DeviceConfig::builtin(kind, fan_in)?, max as u64, 11);
        let dir = work.join(format!("bench-{kind}-{fan_in}-{max}"));
        let t = Instant::now();
        let outcome =
            generate(&cfg.resolve("bench")?, &dir, &GenerateOptions { progress: true, ..Default::default() })?;
        let per_sample = if outcome.samples_solved > 0 {
            t.elapsed().as_secs_f64() / outcome.samples_solved as f64
        } else {
            f64::NAN
        };
        let full = Dataset::load(&dir)?;
        let mut reached = None;
        for &n in sizes {
            let ds = head(&full, n);
            let mut fc = FitConfig {
                architecture: Architecture::Mlp {
                    hidden: vec![64, 64],
                    activation: Activation::Softsign,
                    pair_products: true,
                    square_products: false,
                },
                ..Default::default()
            };
            fc.training.target_relative_rmse = 0.8 * target;
            fc.report.gradient_points = 0;
            fc.report.plots = false;
            let t = Instant::now();
            let fitted = fit(&ds, &fc, None, &FitOptions::default())?;
            let m = &fitted.report.outputs[0];
            let row = Row {
                device: kind.clone(),
                samples: n,
                relative_rmse: m.relative_rmse,
                r2: m.r2,
                epochs: fitted.report.epochs,
                fit_seconds: t.elapsed().as_secs_f64(),
                simulate_seconds: per_sample * n as f64,
            };
            println!(
                "{:<14} {:>8} {:>11.3}% {:>10.6} {:>7} {:>10.1} {:>12.2}",
                row.device,
                row.samples,
                100.0 * row.relative_rmse,
                row.r2,
                row.epochs,
                row.fit_seconds,
                row.simulate_seconds
            );
            let done = row.relative_rmse <= target;
            if done && reached.is_none() {
                reached = Some((n, row.fit_seconds + row.simulate_seconds));
            }
            rows.push(row);
            if done {
                break;
            }
        }
        match reached {
            Some((n, s)) => {
                println!("  -> {kind}: {n} samples reach {:.1}% of range, {s:.1} s simulate + fit\n", 100.0 * target)
            }
            None => println!("  -> {kind}: {:.1}% of range not reached with {max} samples\n", 100.0 * target),
        }
    }
    Ok(rows)
}
