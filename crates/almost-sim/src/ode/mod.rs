//! ODE devices: the [`OdeSystem`] a researcher writes, and the guarded diffsol solve behind it.
//!
//! The parameter vector handed to every callback is `p = [x_0..x_{n-1}, A_0..A_{m-1}]`, so
//! that diffsol's forward sensitivities with respect to `p` give dy/dx and dy/dA at once.

use diffsol::{Context, NalgebraContext, NalgebraLU, NalgebraMat, OdeBuilder};

use crate::error::{Result, SimError};
use crate::model::{DeviceModel, Jacobian};
use crate::solver::{SolverMethod, SolverSettings};
use crate::spec::DeviceSpec;

type M = NalgebraMat<f64>;

pub use crate::ode_system::{LANES, OdeSystem};

mod factored_lanes;
mod lane_march;
mod lanes;
mod march;
pub(crate) mod sens_lanes;
mod tsit45;

use march::first_step;
pub(crate) use march::march;

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
        points.chunks(lanes).flat_map(|chunk| self.respond_lanes(chunk)).collect()
    }

    fn solver(&self) -> Option<&SolverSettings> {
        Some(&self.settings)
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

/// Solves `system` for parameters `p` and returns the states at its sample times.
///
/// With `guarded = true` (what the generator uses) every accepted step is checked: the state
/// must stay finite and the step and wall-clock budgets of `settings` hold. With `guarded =
/// false` this is the bare diffsol loop the benchmark compares against.
pub fn solve<S: OdeSystem + ?Sized>(
    system: &S,
    p: &[f64],
    settings: &SolverSettings,
    guarded: bool,
) -> Result<Vec<Vec<f64>>> {
    let mut lanes = solve_lanes(system, &[p], settings, guarded)?;
    Ok(lanes.pop().unwrap_or_default())
}

/// Solves `system` once per parameter vector of `ps`, all of them together, and returns each
/// lane's states at the sample times (`[lane][time][state]`).
///
/// With Tsitouras 5(4) every lane takes its own steps ([`lanes`]: diffsol's solo algorithm,
/// step for step, with the work between right-hand sides shared), so a lane's answer is its
/// solo solve's up to the order of floating-point sums. With an implicit method the lanes
/// are diffsol's batched lanes: they share their time steps, and a step is accepted only
/// where every lane's local error is within its tolerances (the maximum of the lanes'
/// norms), so each lane is solved at least as accurately as alone but its last digits depend
/// on its companions; the callers batch in a fixed order, so results stay reproducible. One
/// failing lane (non-finite state, a budget exceeded) fails the whole batch.
pub fn solve_lanes<S: OdeSystem + ?Sized>(
    system: &S,
    ps: &[&[f64]],
    settings: &SolverSettings,
    guarded: bool,
) -> Result<Vec<Vec<Vec<f64>>>> {
    let n = system.n_states();
    let lanes = ps.len();
    if lanes == 0 {
        return Ok(Vec::new());
    }
    let times = system.sample_times();
    let solver_err = |e: diffsol::DiffsolError| SimError::Solver { time: 0.0, message: e.to_string() };
    let context = NalgebraContext::default()
        .clone_with_nbatch(lanes)
        .map_err(|e| SimError::Solver { time: 0.0, message: format!("a batch of {lanes} lanes: {e}") })?;
    // each lane's parameter block is [q, p]: the prepared constants, then p itself
    let m = system.n_prepared();
    let mut blocks = Vec::with_capacity(lanes * (m + ps.first().map_or(0, |p| p.len())));
    for p in ps {
        let start = blocks.len();
        blocks.resize(start + m, 0.0);
        system.prepare(p, &mut blocks[start..]);
        blocks.extend_from_slice(p);
    }
    if lanes > 1 && settings.method == SolverMethod::Tsit45 {
        let eq = lanes::Plain { system, blocks: &blocks, m, block: blocks.len() / lanes };
        let flat = lane_march::march_lanes(&eq, lanes, &times, settings, guarded)?;
        return Ok(unflatten(&flat, lanes, n));
    }
    let problem = OdeBuilder::<M>::new()
        .context(context)
        .rtol(settings.rtol)
        .atol([settings.atol])
        .p(blocks)
        .h0(first_step(&times))
        .rhs_implicit(
            |u: &[f64], qp: &[f64], t: f64, du: &mut [f64]| {
                let (q, p) = qp.split_at(m);
                system.rhs_prepared(u, q, p, t, du);
            },
            |u: &[f64], qp: &[f64], t: f64, v: &[f64], jv: &mut [f64]| {
                let (q, p) = qp.split_at(m);
                system.jac_mul_prepared(u, q, p, t, v, jv);
            },
        )
        .init(|qp: &[f64], _t: f64, u0: &mut [f64]| system.init(&qp[m..], u0), n)
        .build()
        .map_err(solver_err)?;
    let flat = match settings.method {
        SolverMethod::Tsit45 => march(problem.tsit45().map_err(solver_err)?, &times, settings, guarded)?,
        SolverMethod::Bdf => march(problem.bdf::<NalgebraLU<f64>>().map_err(solver_err)?, &times, settings, guarded)?,
        SolverMethod::Esdirk34 => {
            march(problem.esdirk34::<NalgebraLU<f64>>().map_err(solver_err)?, &times, settings, guarded)?
        }
    };
    Ok(unflatten(&flat, lanes, n))
}

/// `[lane][time][state]` from each time's states lane after lane.
fn unflatten(flat: &[Vec<f64>], lanes: usize, n: usize) -> Vec<Vec<Vec<f64>>> {
    (0..lanes).map(|b| flat.iter().map(|y| y[b * n..(b + 1) * n].to_vec()).collect()).collect()
}

#[cfg(test)]
mod factored_tests;
#[cfg(test)]
mod tests;
