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

/// A device whose response is an observable of the solution of an ODE system `du/dt = f(u, p, t)`.
///
/// # Example
/// A one-state leaky integrator `du/dt = A x - u`, observed at `t = 1`
/// (closed form `u(1) = A x (1 - e^-1)`):
/// ```
/// use almost_sim::{DeviceModel, DeviceSpec, OdeDevice, OdeSystem, Quantity, SolverMethod, SolverSettings};
///
/// struct Leaky(DeviceSpec);
/// impl OdeSystem for Leaky {
///     fn spec(&self) -> &DeviceSpec { &self.0 }
///     fn n_states(&self) -> usize { 1 }
///     fn init(&self, _p: &[f64], u0: &mut [f64]) { u0[0] = 0.0 }
///     fn rhs(&self, u: &[f64], p: &[f64], _t: f64, du: &mut [f64]) { du[0] = p[1] * p[0] - u[0] }
///     fn jac_mul(&self, _u: &[f64], _p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]) { jv[0] = -v[0] }
///     fn sample_times(&self) -> Vec<f64> { vec![1.0] }
///     fn observe(&self, states: &[Vec<f64>], _p: &[f64], y: &mut [f64]) { y[0] = states[0][0] }
///     fn default_solver(&self) -> SolverSettings { SolverSettings::new(SolverMethod::Tsit45, 1e-8, 1e-10) }
/// }
/// let spec = DeviceSpec {
///     kind: "leaky".into(), summary: "leaky integrator".into(),
///     inputs: vec![Quantity::new("x", "1", -1.0, 1.0)],
///     params: vec![Quantity::new("A", "1", -1.0, 1.0)],
///     outputs: vec![Quantity::new("u", "1", -1.0, 1.0)],
///     constants: Default::default(), source: String::new(),
/// };
/// let device = OdeDevice::new(Leaky(spec));
/// let y = device.respond(&[0.5], &[0.8]).unwrap();
/// assert!((y[0] - 0.4 * (1.0 - (-1.0f64).exp())).abs() < 1e-6);
/// ```
pub trait OdeSystem: Send + Sync {
    /// The device's self-description.
    fn spec(&self) -> &DeviceSpec;
    /// Number of ODE states (including any quadrature states).
    fn n_states(&self) -> usize;
    /// Initial state `u(0)` for parameters `p = [x, A]`.
    fn init(&self, p: &[f64], u0: &mut [f64]);
    /// Right-hand side `du = f(u, p, t)`.
    fn rhs(&self, u: &[f64], p: &[f64], t: f64, du: &mut [f64]);
    /// Jacobian-vector product `jv = (df/du) v` (needed by the implicit solvers).
    fn jac_mul(&self, u: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]);
    /// Increasing times at which the state is recorded; the last one ends the solve.
    fn sample_times(&self) -> Vec<f64>;
    /// Outputs `y` from the states recorded at [`OdeSystem::sample_times`].
    fn observe(&self, states: &[Vec<f64>], p: &[f64], y: &mut [f64]);
    /// Integrator and tolerances that suit this device.
    fn default_solver(&self) -> SolverSettings;

    /// Whether [`OdeSystem::rhs_dp_mul`] is implemented, so that forward sensitivities
    /// dy/dx and dy/dA can be solved for (the `exact` training mode needs them).
    fn has_sensitivities(&self) -> bool {
        false
    }

    /// `out = (df/dp) v` for the parameters `p = [x, A]` (`v` has one entry per parameter).
    fn rhs_dp_mul(&self, _u: &[f64], _p: &[f64], _t: f64, _v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
    }

    /// `out = (du0/dp) v`; the default says the initial state does not depend on p.
    fn init_dp_mul(&self, _p: &[f64], _v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
    }
}

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

    fn solver(&self) -> Option<&SolverSettings> {
        Some(&self.settings)
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
