//! The fit config (`fit.toml`): architecture, training schedule, report settings.
//!
//! ```toml
//! [architecture]
//! kind = "mlp"
//! hidden = [64, 64]
//! activation = "tanh"
//!
//! [training]
//! seed = 1
//! split = [0.8, 0.1, 0.1]     # train / validation / test fractions (test never steers)
//! batch_size = 256
//! max_epochs = 400
//! learning_rate = 3e-3        # Adam; halved when validation stalls for lr_patience epochs
//! early_stop_patience = 30
//! precision = "f32"           # f32 | f64
//! kernel = "fused"            # fused (the host kernel: f32 MLP on the CPU) | reference (burn)
//!
//! [report]
//! gradient_points = 64        # held-out points where dy/dx, dy/dA are checked against the device
//! plots = true
//!
//! [refine]                    # active refinement (crate::refine); rounds = 0 is off
//! rounds = 3
//! probe = 2000                # fresh uniform points simulated and scored per round
//! worst = 200                 # the worst-predicted points (probe + validation) ...
//! per_point = 10              # ... each get this many new simulated neighbours
//! radius = 0.05               # neighbour spread, fraction of each coordinate's range
//! ```
//! Every key is optional; unknown keys are errors.

use std::path::Path;

use burn::tensor::DType;
use serde::{Deserialize, Serialize};

use crate::arch::Architecture;
use crate::error::{Result, SurrogateError};
use crate::kernel::Kernel;

/// Floating-point precision of the surrogate's weights and arithmetic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// 32-bit floats (fast).
    #[default]
    F32,
    /// 64-bit floats (for gradient checks).
    F64,
}

impl Precision {
    /// The burn dtype.
    pub fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::F64 => DType::F64,
        }
    }
}

/// Hyperparameters of the training loop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Seed of the split, the initial weights and the batch order.
    pub seed: u64,
    /// Train / validation / test fractions.
    pub split: [f64; 3],
    /// Rows per Adam step.
    pub batch_size: usize,
    /// Upper bound on epochs.
    pub max_epochs: usize,
    /// Initial Adam learning rate.
    pub learning_rate: f64,
    /// Factor applied to the learning rate when validation stalls.
    pub lr_decay: f64,
    /// Epochs without validation improvement before the learning rate decays.
    pub lr_patience: usize,
    /// Smallest learning rate; training stops when it would go below.
    pub min_learning_rate: f64,
    /// Epochs without validation improvement before training stops.
    pub early_stop_patience: usize,
    /// Stop as soon as the validation RMSE relative to the output range is below this (0 = off).
    pub target_relative_rmse: f64,
    /// Use at most this many training rows (0 = all), e.g. for sample-efficiency studies.
    pub max_train_rows: usize,
    /// Weight precision.
    pub precision: Precision,
    /// Where each step's forward and backward passes run: `fused` (the host kernel, for an
    /// f32 MLP on the CPU backend; anything else falls back) or `reference` (burn's graph).
    #[serde(skip_serializing_if = "Kernel::is_fused")]
    pub kernel: Kernel,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            split: [0.8, 0.1, 0.1],
            batch_size: 256,
            max_epochs: 400,
            learning_rate: 3e-3,
            lr_decay: 0.5,
            lr_patience: 8,
            min_learning_rate: 1e-5,
            early_stop_patience: 30,
            target_relative_rmse: 0.0,
            max_train_rows: 0,
            precision: Precision::F32,
            kernel: Kernel::Fused,
        }
    }
}

/// What the report computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Held-out points at which gradients are compared with the device's finite differences.
    pub gradient_points: usize,
    /// Finite-difference step, relative to each coordinate's range.
    pub fd_step: f64,
    /// Write parity and error-histogram SVGs.
    pub plots: bool,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self { gradient_points: 64, fd_step: 1e-3, plots: true }
    }
}

/// A whole fit config.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitConfig {
    /// The model.
    pub architecture: Architecture,
    /// The training loop.
    pub training: TrainingConfig,
    /// The report.
    pub report: ReportConfig,
    /// Active refinement (off unless `rounds` > 0).
    pub refine: RefineConfig,
}

impl FitConfig {
    /// The first of the fits tried when none is given ([`FitConfig::candidates`]): an MLP
    /// [64, 64] of softsign and, where every input has its own parameter, the products
    /// x_i * A_i as features (the shipped diode-node config, which fits the closed-form tanh
    /// neuron at fan-in 16 to 0.05 % of range where tanh without products stays at 15 %).
    /// Parameters beyond the inputs' own (a conditioned device's constant) enter plainly.
    pub fn for_device(n_x: usize, n_a: usize) -> Self {
        Self::mlp_with(n_a >= n_x, false)
    }

    /// The fits tried when none is given, best validation loss kept
    /// ([`crate::choose::choose_default`]): [`FitConfig::for_device`], and where every input
    /// has its own parameter the same with x_i^2 * A_i products too (each input line's second
    /// order: the closed-form almost neuron tanh(sum A_i x_i - eps sum A_i x_i^2) at fan-in 16
    /// fits to 0.07-0.24 % of range for eps 0.1-2 with them, 2.4-25 % without; the ODE devices
    /// measured fit better without: the diode node 0.36 % against 0.43 %).
    pub fn candidates(n_x: usize, n_a: usize) -> Vec<Self> {
        if n_a >= n_x {
            vec![Self::mlp_with(true, false), Self::mlp_with(true, true)]
        } else {
            vec![Self::for_device(n_x, n_a)]
        }
    }

    fn mlp_with(pair_products: bool, square_products: bool) -> Self {
        Self {
            architecture: Architecture::Mlp {
                hidden: vec![64, 64],
                activation: crate::activation::Activation::Softsign,
                pair_products,
                square_products,
            },
            ..Default::default()
        }
    }

    /// Reads a TOML fit config.
    pub fn load(path: &Path) -> Result<Self> {
        let cfg: Self = almost_sim::fsutil::read_toml(path)?;
        cfg.validate(&path.display().to_string())?;
        Ok(cfg)
    }

    /// Checks every value once, at the boundary.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let t = &self.training;
        let bad = |m: String| Err(SurrogateError::config(origin, m));
        if t.split.iter().any(|f| !(f.is_finite() && *f > 0.0)) || (t.split.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            return bad(format!("training.split = {:?} must be three positive fractions summing to 1", t.split));
        }
        if t.batch_size == 0 || t.max_epochs == 0 {
            return bad("training.batch_size and training.max_epochs must be at least 1".into());
        }
        if !(t.learning_rate > 0.0 && t.learning_rate.is_finite() && t.lr_decay > 0.0 && t.lr_decay < 1.0) {
            return bad("training.learning_rate must be positive and training.lr_decay lie in (0, 1)".into());
        }
        if !(self.report.fd_step > 0.0 && self.report.fd_step < 0.1) {
            return bad(format!("report.fd_step = {} must lie in (0, 0.1)", self.report.fd_step));
        }
        self.refine.validate(origin)
    }
}

/// Active refinement settings (`[refine]` of a fit config; `rounds = 0` switches it off).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RefineConfig {
    /// Refinement rounds after the first fit.
    pub rounds: usize,
    /// Fresh uniform points simulated and scored per round (then trained on).
    pub probe: usize,
    /// Points (probe + validation) with the largest error that get new neighbours.
    pub worst: usize,
    /// New simulations around each of the worst points.
    pub per_point: usize,
    /// Standard deviation of a neighbour's offset, as a fraction of each coordinate's range.
    pub radius: f64,
    /// Seed of the probe and neighbour points.
    pub seed: u64,
}

impl Default for RefineConfig {
    fn default() -> Self {
        Self { rounds: 0, probe: 2000, worst: 200, per_point: 10, radius: 0.05, seed: 1 }
    }
}

impl RefineConfig {
    /// Checks the values; `origin` names the config in the error.
    pub fn validate(&self, origin: &str) -> Result<()> {
        if self.rounds > 0 && (self.probe == 0 || self.worst == 0 || self.per_point == 0) {
            return Err(SurrogateError::config(origin, "refine.probe, refine.worst and refine.per_point must be >= 1"));
        }
        if !(self.radius > 0.0 && self.radius <= 1.0) {
            return Err(SurrogateError::config(origin, format!("refine.radius = {} must lie in (0, 1]", self.radius)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fit.toml");
        std::fs::write(&p, "[training]\nbatchsize = 3\n").unwrap();
        assert!(FitConfig::load(&p).unwrap_err().to_string().contains("batchsize"));
        std::fs::write(&p, "[training]\nsplit = [0.5, 0.5, 0.5]\n").unwrap();
        assert!(FitConfig::load(&p).unwrap_err().to_string().contains("training.split"));
        std::fs::write(&p, "[architecture]\nkind = \"one-layer\"\ndegree = 2\n").unwrap();
        assert!(FitConfig::load(&p).is_ok());
        std::fs::write(&p, "[refine]\nrounds = 2\nradius = 0\n").unwrap();
        assert!(FitConfig::load(&p).unwrap_err().to_string().contains("refine.radius"));
        std::fs::write(&p, "[refine]\nrounds = 2\nworst = 0\n").unwrap();
        assert!(FitConfig::load(&p).unwrap_err().to_string().contains("refine.worst"));
        std::fs::write(&p, "[refine]\nround = 2\n").unwrap();
        assert!(FitConfig::load(&p).unwrap_err().to_string().contains("round"));
    }
}
