//! The fit report: what a user reads before trusting a surrogate (`report.json` + a table).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::gradcheck::GradientCheck;
use crate::metrics::OutputMetrics;

/// One epoch of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Mean training loss (normalised MSE).
    pub train_loss: f64,
    /// Validation loss (normalised MSE).
    pub val_loss: f64,
    /// Learning rate used.
    pub learning_rate: f64,
}

/// Everything measured while fitting and testing a surrogate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Dataset folder.
    pub dataset: String,
    /// Hash of the dataset's data file.
    pub dataset_hash: String,
    /// Device kind.
    pub device: String,
    /// Hash of the device spec.
    pub device_hash: String,
    /// Architecture, in words.
    pub architecture: String,
    /// Number of trainable weights B.
    pub weights: usize,
    /// Rows in the train / validation / test splits.
    pub rows: [usize; 3],
    /// Epochs run.
    pub epochs: usize,
    /// Epoch whose weights were kept (best validation loss).
    pub best_epoch: usize,
    /// Why training stopped.
    pub stop_reason: String,
    /// Wall-clock seconds of the training loop.
    pub train_seconds: f64,
    /// Held-out (test split) errors per output.
    pub outputs: Vec<OutputMetrics>,
    /// Gradient comparison with the device, if a device was available.
    pub gradients: Option<GradientCheck>,
    /// Loss curve.
    pub history: Vec<EpochRecord>,
    /// Active refinement, round by round (empty without refinement).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refinement: Vec<RefineRound>,
}

impl FitReport {
    /// The table printed after a fit.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "surrogate of {} ({}, {} weights), rows train/val/test {}/{}/{}",
            self.device, self.architecture, self.weights, self.rows[0], self.rows[1], self.rows[2]
        );
        let _ = writeln!(
            s,
            "{} epochs in {:.1} s, kept epoch {} ({})",
            self.epochs, self.train_seconds, self.best_epoch, self.stop_reason
        );
        let _ = writeln!(
            s,
            "\nheld-out test split\n{:<10} {:>5} {:>11} {:>11} {:>9} {:>11} {:>18} {:>18}",
            "output", "unit", "RMSE", "max|err|", "R^2", "RMSE/range", "outer RMSE (rows)", "inner RMSE (rows)"
        );
        for m in &self.outputs {
            let _ = writeln!(
                s,
                "{:<10} {:>5} {:>11.3e} {:>11.3e} {:>9.6} {:>10.3}% {:>11.3e} ({:>4}) {:>11.3e} ({:>4})",
                m.name,
                m.unit,
                m.rmse,
                m.max_abs_error,
                m.r2,
                100.0 * m.relative_rmse,
                m.rmse_outer,
                m.rows_outer,
                m.rmse_interior,
                m.rows_interior
            );
        }
        match &self.gradients {
            Some(g) => {
                let _ = writeln!(
                    s,
                    "\ngradients vs device finite differences ({} held-out points, step {:e} of range{})",
                    g.points,
                    g.fd_step,
                    if g.failed_points > 0 { format!(", {} failed", g.failed_points) } else { String::new() }
                );
                let (x, a) = (&g.scaled_error_dx, &g.scaled_error_da);
                let _ = writeln!(
                    s,
                    "  error / device's RMS gradient over the box: dy/dx median {:.4}, p90 {:.4}; dy/dA median {:.4}, p90 {:.4}",
                    x.median, x.p90, a.median, a.p90
                );
                let flat = if g.flat_share > 0.0 {
                    format!("; flat: dy/dx {:.4}, dy/dA {:.4}", x.median_flat, a.median_flat)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    s,
                    "  device flat at {:.0}% of the points; responsive: dy/dx {:.4}, dy/dA {:.4}{flat}",
                    100.0 * g.flat_share,
                    x.median_responsive,
                    a.median_responsive
                );
                let _ =
                    writeln!(s, "  cosine(surrogate, device) where the device responds: median {:.5}", g.median_cosine);
                if g.mostly_flat() {
                    let _ = writeln!(
                        s,
                        "  WARNING: the device is flat (no gradient) at {:.0}% of the sampled box: a network of it learns \
                         only where its devices respond; look at the response (flat regions, threshold) before building one",
                        100.0 * g.flat_share
                    );
                }
            }
            None => {
                let _ = writeln!(s, "\ngradients: not checked (no device model available)");
            }
        }
        if !self.refinement.is_empty() {
            let _ = writeln!(
                s,
                "\nactive refinement (test split of the dataset after each refit; probe = fresh points before it)\n{:>5} {:>11} {:>13} {:>7} {:>16} {:>16} {:>9}",
                "round", "solves", "training rows", "failed", "probe RMSE/range", "test RMSE/range", "seconds"
            );
            for r in &self.refinement {
                let probe = r.probe_relative_rmse.map_or("-".to_string(), |p| format!("{:.3}%", 100.0 * p));
                let _ = writeln!(
                    s,
                    "{:>5} {:>11} {:>13} {:>7} {:>16} {:>15.3}% {:>9.1}",
                    r.round,
                    r.simulations,
                    r.training_rows,
                    r.failed,
                    probe,
                    100.0 * r.test_relative_rmse,
                    r.seconds
                );
            }
        }
        s
    }
}

/// One round of refinement, as reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefineRound {
    /// 0 = the plain fit.
    pub round: usize,
    /// Device solves so far: the dataset's samples plus every probe and neighbour point.
    pub simulations: u64,
    /// Rows in the training split of this round's fit.
    pub training_rows: usize,
    /// Solves of this round that failed (recorded in the points file with their status).
    pub failed: usize,
    /// RMSE / output range of the previous round's surrogate on this round's fresh probe
    /// (worst output); `None` for round 0.
    pub probe_relative_rmse: Option<f64>,
    /// Held-out test RMSE / output range after this round's fit (worst output).
    pub test_relative_rmse: f64,
    /// Held-out test max |error| after this round's fit (worst output, physical units).
    pub test_max_abs_error: f64,
    /// Wall-clock seconds of the round (simulation and fit).
    pub seconds: f64,
}
