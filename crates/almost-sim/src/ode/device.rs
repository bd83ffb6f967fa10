//! [`OdeDevice`]: an [`OdeSystem`] and the solver settings it is solved with, answering as
//! a [`DeviceModel`] (one solve per point, or lanes of a batch).

use crate::error::Result;
use crate::floor::{Floor, measure};
use crate::model::{DeviceModel, Jacobian};
use crate::ode::sens_floor::measure_sens;
use crate::ode::solve::{solve, solve_lanes};
use crate::ode_system::OdeSystem;
use crate::solver::SolverSettings;
use crate::spec::DeviceSpec;

/// An [`OdeSystem`] together with the solver settings it is solved with: a [`DeviceModel`].
pub struct OdeDevice<S> {
    system: S,
    settings: SolverSettings,
}

impl<S: OdeSystem> OdeDevice<S> {
    /// Wraps a system with its default solver settings.
    pub fn new(system: S) -> Self {
        let settings = system.default_solver();
        Self { system, settings }
    }

    /// Replaces the solver settings.
    pub fn with_solver(mut self, settings: SolverSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The wrapped system.
    pub fn system(&self) -> &S {
        &self.system
    }

    /// One batched solve of `points` (dimensions checked by the caller); where it fails,
    /// every point alone, so that each failure is the point's own.
    fn respond_lanes(&self, points: &[(&[f64], &[f64])]) -> Vec<Result<Vec<f64>>> {
        let ps: Vec<Vec<f64>> = points.iter().map(|(x, a)| x.iter().chain(*a).copied().collect()).collect();
        let refs: Vec<&[f64]> = ps.iter().map(Vec::as_slice).collect();
        // the wall-clock budget is per sample: a batch has one per lane
        let settings =
            SolverSettings { max_seconds: self.settings.max_seconds * points.len() as f64, ..self.settings.clone() };
        match solve_lanes(&self.system, &refs, &settings, true) {
            Ok(lanes) => lanes
                .iter()
                .zip(&ps)
                .map(|(states, p)| {
                    let mut y = vec![0.0; self.system.spec().n_outputs()];
                    self.system.observe(states, p, &mut y);
                    Ok(y)
                })
                .collect(),
            Err(_) => points.iter().map(|(x, a)| self.respond(x, a)).collect(),
        }
    }
}

impl<S: OdeSystem> DeviceModel for OdeDevice<S> {
    fn spec(&self) -> &DeviceSpec {
        self.system.spec()
    }

    fn respond(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>> {
        self.system.spec().check_dims(x, a)?;
        let p: Vec<f64> = x.iter().chain(a).copied().collect();
        let states = solve(&self.system, &p, &self.settings, true)?;
        let mut y = vec![0.0; self.system.spec().n_outputs()];
        self.system.observe(&states, &p, &mut y);
        Ok(y)
    }

    fn respond_bare(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>> {
        let p: Vec<f64> = x.iter().chain(a).copied().collect();
        let states = solve(&self.system, &p, &self.settings, false)?;
        let mut y = vec![0.0; self.system.spec().n_outputs()];
        self.system.observe(&states, &p, &mut y);
        Ok(y)
    }

    fn respond_batch(&self, points: &[(&[f64], &[f64])]) -> Vec<Result<Vec<f64>>> {
        let lanes = self.system.batch_lanes();
        if lanes < 2 || points.len() < 2 || points.iter().any(|(x, a)| self.system.spec().check_dims(x, a).is_err()) {
            return points.iter().map(|(x, a)| self.respond(x, a)).collect();
        }
        // explicit lanes keep `lanes` slots full from the whole batch; implicit ones share
        // their steps, `lanes` at a time
        let chunk = if crate::sens::in_lanes(&self.system, &self.settings) { points.len() } else { lanes };
        points.chunks(chunk).flat_map(|chunk| self.respond_lanes(chunk)).collect()
    }

    fn solver(&self) -> Option<&SolverSettings> {
        Some(&self.settings)
    }

    fn solve_floor(&self, points: &[Vec<f64>], repeats: usize) -> Option<Result<Floor>> {
        Some(measure(&self.system, &self.settings, points, repeats))
    }

    fn sens_floor(&self, points: &[Vec<f64>], repeats: usize) -> Option<Result<Floor>> {
        // the exact mode's batched path ([`crate::sens::jacobians`]) only
        let lanes = crate::sens::in_lanes(&self.system, &self.settings);
        (self.system.has_sensitivities() && lanes).then(|| measure_sens(&self.system, &self.settings, points, repeats))
    }

    fn provides_sensitivities(&self) -> bool {
        self.system.has_sensitivities()
    }

    fn sensitivities(&self, x: &[f64], a: &[f64]) -> Option<Result<Jacobian>> {
        self.system.has_sensitivities().then(|| crate::sens::jacobian(&self.system, x, a, &self.settings))
    }

    fn sensitivities_batch(&self, points: &[(&[f64], &[f64])]) -> Vec<Option<Result<Jacobian>>> {
        if !self.system.has_sensitivities() {
            return points.iter().map(|_| None).collect();
        }
        crate::sens::jacobians(&self.system, points, &self.settings).into_iter().map(Some).collect()
    }
}
