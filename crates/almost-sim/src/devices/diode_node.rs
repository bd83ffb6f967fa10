//! `diode-node`: one capacitor node of an analog circuit, clamped by an anti-parallel diode pair.
//!
//! ```text
//! C dV/dt = sum_i g_i (u_i - V) - G_L V - 2 I_s sinh(V / (eta V_T)),   V(0) = 0,
//! g_i = G_max |A_i|,   u_i = sign(A_i) x_i   (an inverting buffer realises the sign),
//! y = V(T).
//! ```
//! Since g_i u_i = G_max A_i x_i, the node sums its inputs like a dot product, relaxes with
//! the time constant C / (G_max sum|A_i| + G_L), and the diodes squash |V| above ~0.5 V:
//! a tanh-like neuron whose gain and time constant both depend on A.
//!
//! Constants (SI): C = 1 nF, G_max = 100 uS, G_L = 10 uS, I_s = 1 nA, eta = 1.8,
//! V_T = kT/q = 25.852 mV (300 K), T = 10 us. Inputs x_i in [-1, 1] V, A_i in [-1, 1].
//! The diode term is the Shockley equation for two diodes in anti-parallel
//! (Sedra & Smith, *Microelectronic Circuits*, ch. 4). The solver works in the scaled time
//! tau = t / T; the node is mildly stiff near the clamp (BDF by default).
//! With I_s = 0 it is a linear RC node with V(T) = V_inf (1 - exp(-G_tot T / C)), which the
//! tests check.

use std::collections::BTreeMap;

use crate::devices::constants::{ConstantDef, OdeDeviceConfig, check_fan_in, require_positive, resolve};
use crate::error::Result;
use crate::numeric::{exp_pair, exp_pair_covers, exp_pair_unguarded};
use crate::ode::OdeSystem;
use crate::solver::{SolverMethod, SolverSettings};
use crate::spec::{DeviceSpec, Quantity};

/// Default constants of the diode node.
pub const DIODE_CONSTANTS: [ConstantDef; 7] = [
    ("c", 1e-9, "node capacitance C, F"),
    ("g_max", 1e-4, "largest input conductance G_max, S"),
    ("g_l", 1e-5, "leak conductance G_L, S"),
    ("i_s", 1e-9, "diode saturation current I_s, A"),
    ("eta", 1.8, "diode ideality factor"),
    ("v_t", 0.025852, "thermal voltage kT/q at 300 K, V"),
    ("t_end", 1e-5, "observation time T, s"),
];

/// The stiffness bound up to which the node is solved by Tsitouras 5(4) lanes by default.
/// Fan-in 16, 256 random points of the box in batches of 32, rtol 1e-7, one thread (G_max
/// raised to stiffen the node), microseconds a solve, Tsitouras lanes against diffsol's BDF:
/// bound 1,080: 2.5 / 13.4; 3,600: 3.4 / 13.8; 10,800: 6.0 / 14.1; 36,000: 15.2 / 14.3;
/// 108,000: 40.8 / 14.4 (both within 6e-8 V of a solve at rtol 1e-11). The crossing lies
/// near 30,000 at random points; a trained network drives many nodes onto the clamp, where
/// the explicit steps are about twice as many, hence 10,000. (It was 1,000 before the lanes.)
const TSITOURAS_UP_TO: f64 = 10_000.0;

/// The diode-clamped capacitor node.
#[derive(Clone, Debug)]
pub struct DiodeNode {
    spec: DeviceSpec,
    n: usize,
    /// T / C, s/F
    t_over_c: f64,
    g_max: f64,
    g_l: f64,
    i_s: f64,
    /// 1 / (eta V_T), 1/V
    inv_nvt: f64,
}

impl DiodeNode {
    /// Builds the node from its config (fan-in and constant overrides).
    pub fn new(config: &OdeDeviceConfig) -> Result<Self> {
        check_fan_in("diode-node", config.fan_in)?;
        let k = resolve("diode-node", &DIODE_CONSTANTS, &config.constants)?;
        require_positive("diode-node", &k, &["c", "g_max", "eta", "v_t", "t_end"])?;
        Ok(Self::from_constants(config.fan_in, k))
    }

    fn from_constants(n: usize, k: BTreeMap<String, f64>) -> Self {
        let spec = DeviceSpec {
            kind: "diode-node".into(),
            summary: "capacitor node fed through conductances G_max|A_i|, anti-parallel diode clamp; y = V(T)".into(),
            inputs: Quantity::family("x", "V", -1.0, 1.0, n),
            params: Quantity::family("A", "1", -1.0, 1.0, n),
            outputs: vec![Quantity::new("V_T", "V", -0.8, 0.8)],
            constants: k.clone(),
            source: String::new(),
        };
        Self {
            spec,
            n,
            t_over_c: k["t_end"] / k["c"],
            g_max: k["g_max"],
            g_l: k["g_l"],
            i_s: k["i_s"],
            inv_nvt: 1.0 / (k["eta"] * k["v_t"]),
        }
    }

    /// A bound on |df/dV| in the scaled time (T/C times the largest conductance the node can
    /// show): the input conductances at |A_i| = 1, the leak, and the diodes at the highest
    /// voltage the inputs can drive them to, where their small-signal conductance is
    /// I / (eta V_T) for the largest input current I = G_max n x 1 V.
    pub fn stiffness_bound(&self) -> f64 {
        let g_in = self.g_max * self.n as f64;
        let g_diode = if self.i_s > 0.0 { g_in * 1.0 * self.inv_nvt } else { 0.0 };
        self.t_over_c * (g_in + self.g_l + g_diode)
    }

    /// (sum_i G_max A_i x_i, G_max sum_i |A_i| + G_L) for p = [x, A].
    fn drive(&self, p: &[f64]) -> (f64, f64) {
        let (x, a) = p.split_at(self.n);
        let mut current = 0.0;
        let mut conductance = self.g_l;
        for (&x, &a) in x.iter().zip(a) {
            current += self.g_max * a * x;
            conductance += self.g_max * a.abs();
        }
        (current, conductance)
    }

    /// dV/dt and its derivative d(dV/dt)/dV at V = v given the drive, both from one [`exp_pair`].
    #[inline(always)]
    fn slope_and_jacobian(&self, v: f64, current: f64, conductance: f64) -> (f64, f64) {
        self.slope_and_jacobian_from(v, current, conductance, exp_pair(v * self.inv_nvt))
    }

    /// [`DiodeNode::slope_and_jacobian`] given `(e^z, e^-z)` at z = v / (n V_T).
    #[inline(always)]
    fn slope_and_jacobian_from(&self, v: f64, current: f64, conductance: f64, (up, down): (f64, f64)) -> (f64, f64) {
        let slope = self.slope_from(v, current, conductance, (up, down));
        (slope, -self.t_over_c * (conductance + self.i_s * self.inv_nvt * (up + down)))
    }

    /// dV/dt (in units of 1/T) at V = v given the drive (`current`, `conductance`).
    #[inline(always)]
    fn slope(&self, v: f64, current: f64, conductance: f64) -> f64 {
        self.slope_from(v, current, conductance, exp_pair(v * self.inv_nvt))
    }

    /// [`DiodeNode::slope`] given `(e^z, e^-z)` at z = v / (n V_T).
    #[inline(always)]
    fn slope_from(&self, v: f64, current: f64, conductance: f64, (up, down): (f64, f64)) -> f64 {
        self.t_over_c * (current - conductance * v - self.i_s * (up - down))
    }

    /// `(e^z, e^-z)` at z = v / (n V_T) with z clamped into [`exp_pair_covers`]' range: the
    /// branch-free form of a loop over many solves, exact wherever the clamp changed nothing
    /// (the lanes outside are recomputed by [`DiodeNode::off_range`]).
    #[inline(always)]
    fn exp_pair_clamped(&self, v: f64) -> (f64, f64) {
        exp_pair_unguarded((v * self.inv_nvt).clamp(-707.0, 707.0))
    }

    /// The lanes (of `u`) whose z lies outside [`exp_pair_covers`]' range, where a clamped
    /// loop's values are wrong: at most a few in a solve that runs away.
    fn off_range(&self, u: &[f64]) -> impl Iterator<Item = usize> {
        u.iter().enumerate().filter(|&(_, &v)| !exp_pair_covers(v * self.inv_nvt)).map(|(s, _)| s)
    }
}

impl OdeSystem for DiodeNode {
    fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    fn n_states(&self) -> usize {
        1
    }

    fn autonomous(&self) -> bool {
        true
    }

    fn init(&self, _p: &[f64], u0: &mut [f64]) {
        u0[0] = 0.0;
    }

    fn rhs(&self, u: &[f64], p: &[f64], t: f64, du: &mut [f64]) {
        let (current, conductance) = self.drive(p);
        self.rhs_prepared(u, &[current, conductance], p, t, du);
    }

    fn jac_mul(&self, u: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]) {
        let (current, conductance) = self.drive(p);
        self.jac_mul_prepared(u, &[current, conductance], p, t, v, jv);
    }

    /// The input current and the total conductance: constant for the whole solve.
    fn n_prepared(&self) -> usize {
        2
    }

    fn prepare(&self, p: &[f64], q: &mut [f64]) {
        (q[0], q[1]) = self.drive(p);
    }

    /// `q = [current, conductance]`. The diode pair's current 2 I_s sinh(z) is formed as
    /// I_s (e^z - e^-z), both from one [`exp_pair`] (inlined, no division): near z = 0 it
    /// loses digits relative to sinh, but its absolute error stays ~1e-16 I_s, far below what
    /// the conductance terms carry.
    #[inline]
    fn rhs_prepared(&self, u: &[f64], q: &[f64], _p: &[f64], _t: f64, du: &mut [f64]) {
        du[0] = self.slope(u[0], q[0], q[1]);
    }

    /// [`DiodeNode::slope`] over every solve in one branch-free loop (it vectorises), then
    /// the rare lane whose z left [`exp_pair_covers`]' range once more by [`DiodeNode::slope`]:
    /// each lane's value is its solo value, bit for bit.
    #[inline]
    fn rhs_lanes(&self, lanes: usize, stride: usize, u: &[f64], q: &[f64], _p: &[f64], _t: &[f64], du: &mut [f64]) {
        let (u, current, conductance) = (&u[..lanes], &q[..lanes], &q[stride..stride + lanes]);
        for (((du, &v), &i), &g) in du[..lanes].iter_mut().zip(u).zip(current).zip(conductance) {
            *du = self.slope_from(v, i, g, self.exp_pair_clamped(v));
        }
        for s in self.off_range(u) {
            du[s] = self.slope(u[s], current[s], conductance[s]);
        }
    }

    #[inline]
    fn jac_mul_prepared(&self, u: &[f64], q: &[f64], _p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]) {
        let (up, down) = exp_pair(u[0] * self.inv_nvt);
        let diode_g = self.i_s * self.inv_nvt * (up + down);
        jv[0] = -self.t_over_c * (q[1] + diode_g) * v[0];
    }

    /// Both from one [`exp_pair`].
    #[inline]
    fn rhs_jacobian_prepared(&self, u: &[f64], q: &[f64], _p: &[f64], _t: f64, du: &mut [f64], jac: &mut [f64]) {
        (du[0], jac[0]) = self.slope_and_jacobian(u[0], q[0], q[1]);
    }

    /// [`DiodeNode::slope_and_jacobian`] and the factors `1` and `V` over every solve in one
    /// branch-free loop, the rare lane outside the range redone (as in `rhs_lanes`).
    #[inline]
    fn rhs_jacobian_factors_lanes(
        &self,
        lanes: usize,
        stride: usize,
        u: &[f64],
        q: &[f64],
        _p: &[f64],
        _t: &[f64],
        (du, jac, g): (&mut [f64], &mut [f64], &mut [f64]),
    ) {
        let (u, current, conductance) = (&u[..lanes], &q[..lanes], &q[stride..stride + lanes]);
        for ((((du, jac), &v), &i), &c) in
            du[..lanes].iter_mut().zip(&mut jac[..lanes]).zip(u).zip(current).zip(conductance)
        {
            (*du, *jac) = self.slope_and_jacobian_from(v, i, c, self.exp_pair_clamped(v));
        }
        for s in self.off_range(u) {
            (du[s], jac[s]) = self.slope_and_jacobian(u[s], current[s], conductance[s]);
        }
        let (ones, volts) = g.split_at_mut(stride);
        ones[..lanes].fill(1.0);
        volts[..lanes].copy_from_slice(u);
    }

    fn sample_times(&self) -> Vec<f64> {
        vec![1.0]
    }

    fn observe(&self, states: &[Vec<f64>], _p: &[f64], y: &mut [f64]) {
        y[0] = states[0][0];
    }

    /// Tsitouras 5(4) (its lanes) up to a stiffness bound of [`TSITOURAS_UP_TO`], BDF beyond.
    /// With the default constants the bound is 180 at fan-in 8 and 360 at fan-in 16.
    fn default_solver(&self) -> SolverSettings {
        let method = if self.stiffness_bound() <= TSITOURAS_UP_TO { SolverMethod::Tsit45 } else { SolverMethod::Bdf };
        SolverSettings::new(method, 1e-7, 1e-9)
    }

    fn has_sensitivities(&self) -> bool {
        true
    }

    /// df/dx_i = (T/C) G_max A_i,   df/dA_i = (T/C) G_max (x_i - sign(A_i) V).
    fn rhs_dp_mul(&self, u: &[f64], p: &[f64], _t: f64, v: &[f64], out: &mut [f64]) {
        let (x, a) = p.split_at(self.n);
        let (vx, va) = v.split_at(self.n);
        let mut s = 0.0;
        for i in 0..self.n {
            let sign = if a[i] == 0.0 { 0.0 } else { a[i].signum() };
            s += a[i] * vx[i] + (x[i] - sign * u[0]) * va[i];
        }
        out[0] = self.t_over_c * self.g_max * s;
    }

    /// df/dp factors into `1` and `V`: df/dx_i = (T/C) G_max A_i 1, df/dA_i = (T/C) G_max
    /// (x_i 1 - sign(A_i) V).
    fn n_dp_factors(&self) -> usize {
        2
    }

    #[inline]
    fn dp_factors(&self, u: &[f64], _q: &[f64], _p: &[f64], _t: f64, g: &mut [f64]) {
        g[0] = 1.0;
        g[1] = u[0];
    }

    fn dp_coefficients(&self, p: &[f64], k: &mut [f64]) {
        let (x, a) = p.split_at(self.n);
        let (ones, volts) = k.split_at_mut(2 * self.n);
        let scale = self.t_over_c * self.g_max;
        for i in 0..self.n {
            let sign = if a[i] == 0.0 { 0.0 } else { a[i].signum() };
            ones[i] = scale * a[i];
            ones[self.n + i] = scale * x[i];
            volts[i] = 0.0;
            volts[self.n + i] = -scale * sign;
        }
    }

    fn rhs_dp(&self, u: &[f64], p: &[f64], _t: f64, out: &mut [f64]) {
        let (x, a) = p.split_at(self.n);
        let (dx, da) = out.split_at_mut(self.n);
        let scale = self.t_over_c * self.g_max;
        for i in 0..self.n {
            let sign = if a[i] == 0.0 { 0.0 } else { a[i].signum() };
            dx[i] = scale * a[i];
            da[i] = scale * (x[i] - sign * u[0]);
        }
    }
}

#[cfg(test)]
#[path = "diode_node_tests.rs"]
mod tests;
