//! The [`OdeSystem`] a researcher writes: states, right-hand side, observables, and
//! optionally the parameter derivatives that forward sensitivities need.
//!
//! The parameter vector handed to every callback is `p = [x_0..x_{n-1}, A_0..A_{m-1}]`.

use crate::solver::SolverSettings;
use crate::spec::DeviceSpec;

/// Points solved together as the lanes of one batched solve by the generator and the
/// physics of a network. 32: the digit network's evaluation on the diode node's physics ran
/// 486,000 solves/s with 16 lanes and 510,000 with 32 (`almost-train evaluate --physics`,
/// 2 cores).
pub const LANES: usize = 32;

/// Points handed to one batched solve by the generator, the physics of a network and the
/// exact mode's sensitivities: with an explicit method at most [`OdeSystem::batch_lanes`]
/// of them are solved at a time, and a waiting point takes the slot of one that finished,
/// so the slots stay full while the points that need many steps are still going (the
/// FitzHugh-Nagumo neuron's steps per solve vary fivefold over its box); an implicit method
/// solves them in batches of `batch_lanes`.
pub const BATCH: usize = 8 * LANES;

/// States and state sensitivities at each sample time: `(states[t][k], sens[t][j][k])` with
/// `sens[t][j][k] = d state_k / d p_j` at sample time t, `p = [x, A]`.
pub type Trajectory = (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>);

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

    /// How many solves of this device are solved together ([`crate::ode::solve_lanes`]) when
    /// many are asked for at once. With Tsitouras 5(4) every lane keeps its own steps and only
    /// the work between right-hand sides is shared, so batching pays for every explicit device;
    /// with an implicit method the lanes share their steps (diffsol's batched lanes), which
    /// pays where they relax alike. Return 1 for a device that should always be solved alone.
    fn batch_lanes(&self) -> usize {
        LANES
    }

    /// Whether the right-hand side is free of t (false, the default, is always safe): the
    /// Rosenbrock solver (`rodas4`) then skips its df/dt, one right-hand side a step.
    fn autonomous(&self) -> bool {
        false
    }

    /// How many constants of one solve [`OdeSystem::prepare`] derives from `p` (0: none, the
    /// default). A device whose right-hand side recomputes the same sums over its inputs at
    /// every evaluation (a weighted input current, a total conductance) computes them once per
    /// solve instead; the solver then calls the `*_prepared` forms.
    fn n_prepared(&self) -> usize {
        0
    }

    /// Fills `q` (`n_prepared()` values) from `p = [x, A]`, once per solve.
    fn prepare(&self, _p: &[f64], _q: &mut [f64]) {}

    /// [`OdeSystem::rhs`] given the prepared constants `q` as well as `p`; must equal it.
    fn rhs_prepared(&self, u: &[f64], _q: &[f64], p: &[f64], t: f64, du: &mut [f64]) {
        self.rhs(u, p, t, du);
    }

    /// [`OdeSystem::rhs_prepared`] of `lanes` solves at once. States and prepared constants
    /// are state-major in rows of `stride` values: state e of solve l at `u[e * stride + l]`
    /// (and so `du`), its prepared constant i at `q[i * stride + l]`; its parameters `p = [x,
    /// A]` are the l-th of `lanes` equal blocks of `p`, its time `t[l]`. The batched
    /// Tsitouras lanes ([`crate::ode::solve_lanes`]) call it at every stage. The default calls
    /// `rhs_prepared` solve by solve; a device overrides it with loops over the solves, which
    /// the compiler vectorises, and must give `rhs_prepared`'s values bit for bit.
    #[allow(clippy::too_many_arguments)]
    fn rhs_lanes(&self, lanes: usize, stride: usize, u: &[f64], q: &[f64], p: &[f64], t: &[f64], du: &mut [f64]) {
        let (n, m, np) = (self.n_states(), self.n_prepared(), p.len() / lanes.max(1));
        each_solve(lanes, stride, (u, n), (q, m), &mut [(du, n)], |l, us, qs, dus| {
            self.rhs_prepared(us, qs, &p[l * np..(l + 1) * np], t[l], dus);
        });
    }

    /// [`OdeSystem::jac_mul`] given the prepared constants `q` as well as `p`; must equal it.
    fn jac_mul_prepared(&self, u: &[f64], _q: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]) {
        self.jac_mul(u, p, t, v, jv);
    }

    /// [`OdeSystem::rhs_prepared`] into `du` and the Jacobian df/du into `jac` (column after
    /// column: `jac[k * n + i] = d f_i / d u_k`) at the same point, as forward sensitivities
    /// need them at every stage. The default calls [`OdeSystem::jac_mul_prepared`] with each
    /// unit vector (held in `du` meanwhile), then `rhs_prepared`; a device whose two share
    /// work (the diode node's exponentials) overrides it, and must give the same values.
    fn rhs_jacobian_prepared(&self, u: &[f64], q: &[f64], p: &[f64], t: f64, du: &mut [f64], jac: &mut [f64]) {
        for (k, col) in jac.chunks_exact_mut(u.len()).enumerate() {
            du.fill(0.0);
            du[k] = 1.0;
            self.jac_mul_prepared(u, q, p, t, du, col);
        }
        self.rhs_prepared(u, q, p, t, du);
    }

    /// Whether [`OdeSystem::rhs_dp_mul`] is implemented, so that forward sensitivities
    /// dy/dx and dy/dA can be solved for (the `exact` training mode needs them).
    fn has_sensitivities(&self) -> bool {
        false
    }

    /// `out = (df/dp) v` for the parameters `p = [x, A]` (`v` has one entry per parameter).
    fn rhs_dp_mul(&self, _u: &[f64], _p: &[f64], _t: f64, _v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
    }

    /// The whole of `df/dp`, column after column: `out[j * n + k] = d f_k / d p_j` for the `n`
    /// states and every parameter `j` of `p = [x, A]`. Defaults to [`OdeSystem::rhs_dp_mul`]
    /// with each unit vector in turn; a device whose columns cost a product each (the diode
    /// node's) overrides it, which batched forward sensitivities then run on.
    fn rhs_dp(&self, u: &[f64], p: &[f64], t: f64, out: &mut [f64]) {
        let n = u.len();
        let mut v = vec![0.0; p.len()];
        for (j, col) in out.chunks_exact_mut(n).enumerate().take(p.len()) {
            v[j] = 1.0;
            self.rhs_dp_mul(u, p, t, &v, col);
            v[j] = 0.0;
        }
    }

    /// How many columns the parameter derivative factors into: `df/dp_j = sum_r g_r(u, t)
    /// K_rj(p)`, the factors `g_r` ([`OdeSystem::dp_factors`]) depending on the states and
    /// the coefficients `K` ([`OdeSystem::dp_coefficients`]) only on p, hence constant over a
    /// solve. 0 (the default): no factoring is declared. A device that takes its inputs
    /// through a weighted sum (a current `sum_i A_i x_i`) factors into a few columns whatever
    /// its fan-in: the diode node's 32 columns at fan-in 16 into 2 (`1` and `V`). Batched
    /// forward sensitivities ([`crate::sens::jacobians`]) then integrate one sensitivity per
    /// factor instead of one per parameter and rebuild each parameter's as `s_j = sum_r K_rj
    /// S_r` (exact, by linearity, where the initial state does not depend on p; elsewhere the
    /// factors are not used). Each batch checks the factoring against [`OdeSystem::rhs_dp`]
    /// at two states of every point and fails with [`crate::SimError::DpFactors`] where they differ.
    fn n_dp_factors(&self) -> usize {
        0
    }

    /// The factors at `u`: `g[r * n + k] = g_r,k(u, t)` for the `n` states, given the prepared
    /// constants `q` ([`OdeSystem::prepare`]) as well as p.
    fn dp_factors(&self, _u: &[f64], _q: &[f64], _p: &[f64], _t: f64, g: &mut [f64]) {
        g.fill(0.0);
    }

    /// [`OdeSystem::rhs_jacobian_prepared`] and [`OdeSystem::dp_factors`] of `lanes` solves
    /// at once, in the layout of [`OdeSystem::rhs_lanes`]: entry e of solve l's `du`, `jac` and
    /// `g` at `[e * stride + l]`. The factored forward sensitivities call it at every stage.
    /// The default calls the two solve by solve; a device overrides it with loops over the
    /// solves (the diode node's exponentials vectorise) and must give their values bit for bit.
    #[allow(clippy::too_many_arguments)]
    fn rhs_jacobian_factors_lanes(
        &self,
        lanes: usize,
        stride: usize,
        u: &[f64],
        q: &[f64],
        p: &[f64],
        t: &[f64],
        (du, jac, g): (&mut [f64], &mut [f64], &mut [f64]),
    ) {
        let (n, m, np, r) = (self.n_states(), self.n_prepared(), p.len() / lanes.max(1), self.n_dp_factors());
        each_solve(lanes, stride, (u, n), (q, m), &mut [(du, n), (jac, n * n), (g, n * r)], |l, us, qs, out| {
            let pl = &p[l * np..(l + 1) * np];
            let (dus, rest) = out.split_at_mut(n);
            let (jacs, gs) = rest.split_at_mut(n * n);
            self.rhs_jacobian_prepared(us, qs, pl, t[l], dus, jacs);
            self.dp_factors(us, qs, pl, t[l], gs);
        });
    }

    /// The coefficients, once per solve: `k[r * np + j] = K_rj(p)` for the `np` parameters
    /// of `p = [x, A]`.
    fn dp_coefficients(&self, _p: &[f64], k: &mut [f64]) {
        k.fill(0.0);
    }

    /// `out = (du0/dp) v`; the default says the initial state does not depend on p.
    fn init_dp_mul(&self, _p: &[f64], _v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
    }
}

/// How the defaults of the `*_lanes` methods run a method written solve by solve: for each of
/// `lanes` solves, its `n` states and `m` prepared constants gathered from the state-major `u`
/// and `q` (rows of `stride`), `f(l, states, constants, values)`, and `values` scattered back
/// in order: its first `outs[0].1` into `outs[0].0` (entry e of solve l at `[e * stride +
/// l]`), the next `outs[1].1` into `outs[1].0`, and so on. No allocation for up to 64 values.
fn each_solve(
    lanes: usize,
    stride: usize,
    (u, n): (&[f64], usize),
    (q, m): (&[f64], usize),
    outs: &mut [(&mut [f64], usize)],
    mut f: impl FnMut(usize, &[f64], &[f64], &mut [f64]),
) {
    let width = n + m + outs.iter().map(|(_, w)| w).sum::<usize>();
    let mut small = [0.0; 64];
    let mut large = Vec::new();
    let buf = if width <= small.len() {
        &mut small[..width]
    } else {
        large.resize(width, 0.0);
        &mut large[..]
    };
    let (us, rest) = buf.split_at_mut(n);
    let (qs, values) = rest.split_at_mut(m);
    for l in 0..lanes {
        for (i, v) in us.iter_mut().enumerate() {
            *v = u[i * stride + l];
        }
        for (i, v) in qs.iter_mut().enumerate() {
            *v = q[i * stride + l];
        }
        f(l, us, qs, values);
        let mut from = 0;
        for (rows, w) in outs.iter_mut() {
            for (e, &v) in values[from..from + *w].iter().enumerate() {
                rows[e * stride + l] = v;
            }
            from += *w;
        }
    }
}
