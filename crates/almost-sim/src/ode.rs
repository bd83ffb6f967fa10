//! ODE devices: the [`OdeSystem`] a researcher writes, and the guarded diffsol solve behind it.
//!
//! The parameter vector handed to every callback is `p = [x_0..x_{n-1}, A_0..A_{m-1}]`, so
//! that diffsol's forward sensitivities with respect to `p` give dy/dx and dy/dA at once.

use diffsol::{NalgebraLU, NalgebraMat, OdeBuilder, OdeEquations, OdeSolverMethod, OdeSolverStopReason, Vector};

use crate::error::{Result, SimError};
use crate::model::{DeviceModel, Jacobian};
use crate::solver::{SolverMethod, SolverSettings, StepGuard};
use crate::spec::DeviceSpec;

type M = NalgebraMat<f64>;

pub use crate::ode_system::OdeSystem;

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

    fn solver(&self) -> Option<&SolverSettings> {
        Some(&self.settings)
    }

    fn provides_sensitivities(&self) -> bool {
        self.system.has_sensitivities()
    }

    fn sensitivities(&self, x: &[f64], a: &[f64]) -> Option<Result<Jacobian>> {
        self.system.has_sensitivities().then(|| crate::sens::jacobian(&self.system, x, a, &self.settings))
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
    let n = system.n_states();
    let times = system.sample_times();
    let problem = OdeBuilder::<M>::new()
        .rtol(settings.rtol)
        .atol([settings.atol])
        .p(p.iter().copied())
        .h0(first_step(&times))
        .rhs_implicit(
            |u: &[f64], p: &[f64], t: f64, du: &mut [f64]| system.rhs(u, p, t, du),
            |u: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]| system.jac_mul(u, p, t, v, jv),
        )
        .init(|p: &[f64], _t: f64, u0: &mut [f64]| system.init(p, u0), n)
        .build()
        .map_err(|e| SimError::Solver { time: 0.0, message: e.to_string() })?;
    let solver_err = |e: diffsol::DiffsolError| SimError::Solver { time: 0.0, message: e.to_string() };
    match settings.method {
        SolverMethod::Tsit45 => march(problem.tsit45().map_err(solver_err)?, &times, settings, guarded),
        SolverMethod::Bdf => march(problem.bdf::<NalgebraLU<f64>>().map_err(solver_err)?, &times, settings, guarded),
        SolverMethod::Esdirk34 => {
            march(problem.esdirk34::<NalgebraLU<f64>>().map_err(solver_err)?, &times, settings, guarded)
        }
    }
}

/// A first step small against the first sample time, so that diffsol's default h0 = 1 does
/// not overshoot devices whose time unit is far from the window.
fn first_step(times: &[f64]) -> f64 {
    times.first().map_or(1e-3, |t| (t.abs() * 1e-4).max(1e-12))
}

/// Steps `solver` through `times`, enforcing the budgets; returns the state at each time.
pub(crate) fn march<'a, Eqn, S>(
    mut solver: S,
    times: &[f64],
    settings: &SolverSettings,
    guarded: bool,
) -> Result<Vec<Vec<f64>>>
where
    Eqn: OdeEquations<T = f64> + 'a,
    S: OdeSolverMethod<'a, Eqn>,
{
    let mut guard = StepGuard::new(settings);
    let mut out = Vec::with_capacity(times.len());
    for &t_stop in times {
        solver
            .set_stop_time(t_stop)
            .map_err(|e| SimError::Solver { time: solver.state().t, message: e.to_string() })?;
        loop {
            let reason =
                solver.step().map_err(|e| SimError::Solver { time: solver.state().t, message: e.to_string() })?;
            if guarded {
                let state = solver.state();
                guard.step(state.t, (0..state.y.len()).all(|i| state.y.get_index(i).is_finite()), "state")?;
            }
            if matches!(reason, OdeSolverStopReason::TstopReached) {
                break;
            }
        }
        let y = solver.state().y;
        out.push((0..y.len()).map(|i| y.get_index(i)).collect());
    }
    Ok(out)
}
