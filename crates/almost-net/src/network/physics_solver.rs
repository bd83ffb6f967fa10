//! The `[training.physics_solver]` table: how the physics-aware mode solves its forward
//! passes. Evaluation on the physics, the probes and the check that ends a run keep the
//! dataset's solver.

use serde::{Deserialize, Serialize};

use almost_sim::{SolverMethod, SolverSettings};

use crate::error::{NetError, Result};

/// Which solver the physics-aware forward passes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhysicsMethod {
    /// The dataset's own solver and tolerances.
    Dataset,
    /// Rodas4 (stiff, cheap at loose tolerances; Rust devices only).
    Rodas4,
    /// Tsitouras 5(4).
    Tsit45,
    /// diffsol's BDF.
    Bdf,
    /// diffsol's ESDIRK 3(4).
    Esdirk34,
}

/// The `[training.physics_solver]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhysicsSolver {
    /// The method (`dataset`: the dataset's solver, tolerances included).
    pub method: PhysicsMethod,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance (the device's output units).
    pub atol: f64,
    /// The largest difference from the dataset's solver allowed at the start of a run, as a
    /// share of each layer's held-out surrogate error: above it the run falls back to the
    /// dataset's solver, with a line saying so.
    pub max_deviation: f64,
}

impl Default for PhysicsSolver {
    fn default() -> Self {
        Self { method: PhysicsMethod::Rodas4, rtol: 1e-3, atol: 1e-5, max_deviation: 0.1 }
    }
}

impl PhysicsSolver {
    /// Whether this is the default (left out of a saved config, so that the hashes of runs
    /// made before the table existed stay the same).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The settings that replace the dataset's `base` (its budgets kept); `None`: the dataset's.
    pub fn settings(&self, base: &SolverSettings) -> Option<SolverSettings> {
        let method = match self.method {
            PhysicsMethod::Dataset => return None,
            PhysicsMethod::Rodas4 => SolverMethod::Rodas4,
            PhysicsMethod::Tsit45 => SolverMethod::Tsit45,
            PhysicsMethod::Bdf => SolverMethod::Bdf,
            PhysicsMethod::Esdirk34 => SolverMethod::Esdirk34,
        };
        Some(SolverSettings { method, rtol: self.rtol, atol: self.atol, ..base.clone() })
    }

    /// A line naming the solver.
    pub fn describe(&self) -> String {
        match self.method {
            PhysicsMethod::Dataset => "the dataset's solver".into(),
            _ => format!("{} at rtol {:e} / atol {:e}", self.settings_name(), self.rtol, self.atol),
        }
    }

    fn settings_name(&self) -> &'static str {
        match self.method {
            PhysicsMethod::Dataset => "dataset",
            PhysicsMethod::Rodas4 => "rodas4",
            PhysicsMethod::Tsit45 => "tsit45",
            PhysicsMethod::Bdf => "bdf",
            PhysicsMethod::Esdirk34 => "esdirk34",
        }
    }

    /// Checks the values.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let tolerances = self.rtol > 0.0 && self.rtol < 1.0 && self.atol > 0.0 && self.atol.is_finite();
        if !tolerances {
            return Err(NetError::config(
                origin,
                "training.physics_solver.rtol must lie in (0, 1) and atol be positive",
            ));
        }
        if !(self.max_deviation.is_finite() && self.max_deviation > 0.0) {
            return Err(NetError::config(origin, "training.physics_solver.max_deviation must be positive"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_maps_and_is_checked() {
        let solver: PhysicsSolver = toml::from_str("method = \"bdf\"\nrtol = 1e-4\n").unwrap();
        let base = SolverSettings::new(SolverMethod::Tsit45, 1e-7, 1e-9);
        let settings = solver.settings(&base).unwrap();
        assert_eq!((settings.method, settings.rtol, settings.atol), (SolverMethod::Bdf, 1e-4, 1e-5));
        assert_eq!(settings.max_steps, base.max_steps);
        let dataset: PhysicsSolver = toml::from_str("method = \"dataset\"").unwrap();
        assert!(dataset.settings(&base).is_none());
        assert!(PhysicsSolver::default().is_default() && !solver.is_default());
        assert!(PhysicsSolver::default().validate("t").is_ok());
        let err = PhysicsSolver { rtol: 0.0, ..Default::default() }.validate("t").unwrap_err().to_string();
        assert!(err.contains("physics_solver.rtol"), "{err}");
        assert!(PhysicsSolver { max_deviation: 0.0, ..Default::default() }.validate("t").is_err());
        assert!(toml::from_str::<PhysicsSolver>("methd = \"bdf\"").is_err());
    }

    #[test]
    fn a_config_without_the_table_keeps_its_hash() {
        // the default is left out of a saved config: runs made before the table resume
        let cfg = crate::network::config::NetTrainingConfig::default();
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(!json.contains("physics_solver"), "{json}");
    }
}
