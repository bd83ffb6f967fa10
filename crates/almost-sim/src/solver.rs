//! Solver choice and budgets: what the config's `[solver]` table turns into.

use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};

/// Which diffsol integrator to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SolverMethod {
    /// Tsitouras 5(4) explicit Runge-Kutta: cheapest for non-stiff devices.
    Tsit45,
    /// Variable-order BDF with a dense LU: robust for stiff devices.
    Bdf,
    /// ESDIRK 3(4) singly-diagonally implicit Runge-Kutta: stiff, few stages.
    Esdirk34,
    /// Rodas4, a Rosenbrock method (stiff, linearly implicit: no Newton iterations, one
    /// Jacobian a step): cheap at loose tolerances where a device is stiff. almost's own
    /// (`ode::rodas4`), not diffsol's; no forward sensitivities, no DiffSL devices.
    Rodas4,
}

impl SolverMethod {
    /// Name as written in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tsit45 => "tsit45",
            Self::Bdf => "bdf",
            Self::Esdirk34 => "esdirk34",
            Self::Rodas4 => "rodas4",
        }
    }
}

/// Integrator, tolerances and the per-sample budget.
///
/// diffsol 0.18 has no step limit of its own, so `max_steps` and `max_seconds` are enforced
/// by [`crate::ode::solve`] between steps; a sample that exceeds either is recorded as failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSettings {
    /// Integrator.
    pub method: SolverMethod,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance (state units, the same for every state).
    pub atol: f64,
    /// Maximum number of accepted steps per sample.
    pub max_steps: usize,
    /// Maximum wall-clock seconds per sample (not reproducible across machines: keep it a
    /// safety net well above the typical solve time).
    pub max_seconds: f64,
}

impl SolverSettings {
    /// Settings with the given method and tolerances and generous default budgets.
    pub fn new(method: SolverMethod, rtol: f64, atol: f64) -> Self {
        Self { method, rtol, atol, max_steps: 200_000, max_seconds: 30.0 }
    }

    /// Rejects non-positive or non-finite tolerances and zero budgets.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let bad = |m: String| Err(SimError::config(origin, m));
        if !(self.rtol.is_finite() && self.rtol > 0.0 && self.rtol < 1.0) {
            return bad(format!("solver.rtol = {} must lie in (0, 1)", self.rtol));
        }
        if !(self.atol.is_finite() && self.atol > 0.0) {
            return bad(format!("solver.atol = {} must be positive", self.atol));
        }
        if self.max_steps == 0 {
            return bad("solver.max_steps must be at least 1".into());
        }
        if !(self.max_seconds.is_finite() && self.max_seconds > 0.0) {
            return bad(format!("solver.max_seconds = {} must be positive", self.max_seconds));
        }
        Ok(())
    }
}

/// The per-sample budget, checked after every accepted step (diffsol has no limit of its own).
pub struct StepGuard<'a> {
    settings: &'a SolverSettings,
    start: std::time::Instant,
    steps: usize,
}

impl<'a> StepGuard<'a> {
    /// Starts the clock.
    pub fn new(settings: &'a SolverSettings) -> Self {
        Self { settings, start: std::time::Instant::now(), steps: 0 }
    }

    /// Counts one step at time `t`; `finite` says whether the new state is finite.
    pub fn step(&mut self, t: f64, finite: bool, what: &str) -> Result<()> {
        self.steps += 1;
        if !finite {
            return Err(SimError::NonFinite { what: what.into(), time: t });
        }
        if self.steps > self.settings.max_steps {
            return Err(SimError::StepBudget { max_steps: self.settings.max_steps, time: t });
        }
        // reading the clock costs as much as a cheap step: look every 16 steps
        if self.steps.is_multiple_of(16) && self.start.elapsed().as_secs_f64() > self.settings.max_seconds {
            return Err(SimError::TimeBudget { max_seconds: self.settings.max_seconds, time: t });
        }
        Ok(())
    }
}

/// Optional overrides of a device's default solver settings (the `[solver]` config table).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverOverrides {
    /// Integrator.
    pub method: Option<SolverMethod>,
    /// Relative tolerance.
    pub rtol: Option<f64>,
    /// Absolute tolerance.
    pub atol: Option<f64>,
    /// Step budget per sample.
    pub max_steps: Option<usize>,
    /// Wall-clock budget per sample, seconds.
    pub max_seconds: Option<f64>,
}

impl From<&SolverSettings> for SolverOverrides {
    /// Overrides that reproduce `settings` exactly.
    fn from(s: &SolverSettings) -> Self {
        Self {
            method: Some(s.method),
            rtol: Some(s.rtol),
            atol: Some(s.atol),
            max_steps: Some(s.max_steps),
            max_seconds: Some(s.max_seconds),
        }
    }
}

impl SolverOverrides {
    /// Applies the overrides on top of `base`.
    pub fn apply(&self, base: &SolverSettings) -> SolverSettings {
        SolverSettings {
            method: self.method.unwrap_or(base.method),
            rtol: self.rtol.unwrap_or(base.rtol),
            atol: self.atol.unwrap_or(base.atol),
            max_steps: self.max_steps.unwrap_or(base.max_steps),
            max_seconds: self.max_seconds.unwrap_or(base.max_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_validate() {
        let base = SolverSettings::new(SolverMethod::Tsit45, 1e-6, 1e-8);
        let o = SolverOverrides { method: Some(SolverMethod::Bdf), rtol: Some(0.0), ..Default::default() };
        let s = o.apply(&base);
        assert_eq!(s.method, SolverMethod::Bdf);
        assert!(s.validate("cfg").unwrap_err().to_string().contains("rtol"));
        assert!(base.validate("cfg").is_ok());
    }
}
