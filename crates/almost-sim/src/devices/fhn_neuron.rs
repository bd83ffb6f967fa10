//! `fhn-neuron`: a FitzHugh-Nagumo neuron driven by conductance-based synapses.
//!
//! ```text
//! dv/dt = v - v^3/3 - w + g_max sum_i |A_i| x_i (E_i - v),    E_i = E_exc if A_i >= 0 else E_inh,
//! dw/dt = phi (v + a - b w),
//! dq/dt = v                                                  (quadrature state),
//! y = (q(T) - q(T/2)) / (T/2)    = time average of v over the second half of the window.
//! ```
//! Constants (dimensionless FHN units): a = 0.7, b = 0.8, phi = 0.08 (FitzHugh 1961,
//! Biophys. J. 1:445; Izhikevich, *Dynamical Systems in Neuroscience*, sec. 4.1.3),
//! E_exc = 2, E_inh = -2 (reversal potentials above the spike peak and below rest),
//! g_max = 1, T = 300 (about eight spike periods). Inputs x_i in [0, 1] are presynaptic
//! activities (a conductance cannot be negative), A_i in [-1, 1] synaptic weights whose sign
//! picks the reversal potential. The neuron starts at its resting point (v*, w*), the real
//! root of v - v^3/3 - (v + a)/b = 0. The averaged membrane potential rises with the spike
//! rate, so y is a smooth, rate-like output. The tests check that with no synaptic drive y
//! equals v* exactly, and that a weak constant drive settles at the shifted fixed point.

use std::collections::BTreeMap;

use crate::devices::constants::{ConstantDef, OdeDeviceConfig, check_fan_in, require_positive, resolve};
use crate::error::Result;
use crate::ode::OdeSystem;
use crate::solver::{SolverMethod, SolverSettings};
use crate::spec::{DeviceSpec, Quantity};

/// Default constants of the FHN neuron.
pub const FHN_CONSTANTS: [ConstantDef; 7] = [
    ("a", 0.7, "recovery offset a"),
    ("b", 0.8, "recovery coupling b"),
    ("phi", 0.08, "recovery rate phi = 1/tau_w"),
    ("e_exc", 2.0, "excitatory reversal potential E_exc"),
    ("e_inh", -2.0, "inhibitory reversal potential E_inh"),
    ("g_max", 1.0, "synaptic conductance scale g_max"),
    ("t_end", 300.0, "observation window T"),
];

/// FitzHugh-Nagumo neuron with conductance synapses.
#[derive(Clone, Debug)]
pub struct FhnNeuron {
    spec: DeviceSpec,
    n: usize,
    a: f64,
    b: f64,
    phi: f64,
    e_exc: f64,
    e_inh: f64,
    g_max: f64,
    t_end: f64,
    v_rest: f64,
}

/// Fixed point of the FHN neuron under a synaptic drive I(v) = g (E - v):
/// the root of v - v^3/3 - (v + a)/b + g (E - v) = 0 (unique for b < 1), by Newton's method.
pub fn fhn_fixed_point(a: f64, b: f64, g: f64, e: f64) -> f64 {
    let mut v = -1.0;
    for _ in 0..100 {
        let f = v - v * v * v / 3.0 - (v + a) / b + g * (e - v);
        let df = 1.0 - v * v - 1.0 / b - g;
        let step = f / df;
        v -= step;
        if step.abs() < 1e-15 {
            break;
        }
    }
    v
}

impl FhnNeuron {
    /// Builds the neuron from its config (fan-in and constant overrides).
    pub fn new(config: &OdeDeviceConfig) -> Result<Self> {
        check_fan_in("fhn-neuron", config.fan_in)?;
        let k: BTreeMap<String, f64> = resolve("fhn-neuron", &FHN_CONSTANTS, &config.constants)?;
        require_positive("fhn-neuron", &k, &["b", "phi", "t_end"])?;
        let n = config.fan_in;
        let spec = DeviceSpec {
            kind: "fhn-neuron".into(),
            summary: "FitzHugh-Nagumo neuron with conductance synapses; y = mean v over [T/2, T]".into(),
            inputs: Quantity::family("x", "1", 0.0, 1.0, n),
            params: Quantity::family("A", "1", -1.0, 1.0, n),
            outputs: vec![Quantity::new("v_mean", "1", -2.0, 2.0)],
            constants: k.clone(),
            source: String::new(),
        };
        Ok(Self {
            spec,
            n,
            a: k["a"],
            b: k["b"],
            phi: k["phi"],
            e_exc: k["e_exc"],
            e_inh: k["e_inh"],
            g_max: k["g_max"],
            t_end: k["t_end"],
            v_rest: fhn_fixed_point(k["a"], k["b"], 0.0, 0.0),
        })
    }

    /// Synaptic (conductance sum, conductance-weighted reversal sum) for p = [x, A].
    fn synapses(&self, p: &[f64]) -> (f64, f64) {
        let (x, a) = p.split_at(self.n);
        let (mut g, mut ge) = (0.0, 0.0);
        for (&x, &a) in x.iter().zip(a) {
            let gi = self.g_max * a.abs() * x;
            g += gi;
            ge += gi * if a >= 0.0 { self.e_exc } else { self.e_inh };
        }
        (g, ge)
    }

    /// (dv/dt, dw/dt) at (v, w) given the synaptic sums (g, ge).
    #[inline(always)]
    fn field(&self, v: f64, w: f64, g: f64, ge: f64) -> (f64, f64) {
        (v - v * v * v / 3.0 - w + ge - g * v, self.phi * (v + self.a - self.b * w))
    }
}

impl OdeSystem for FhnNeuron {
    fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    fn n_states(&self) -> usize {
        3
    }

    fn init(&self, _p: &[f64], u0: &mut [f64]) {
        u0[0] = self.v_rest;
        u0[1] = (self.v_rest + self.a) / self.b;
        u0[2] = 0.0;
    }

    fn rhs(&self, u: &[f64], p: &[f64], t: f64, du: &mut [f64]) {
        let (g, ge) = self.synapses(p);
        self.rhs_prepared(u, &[g, ge], p, t, du);
    }

    fn jac_mul(&self, u: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]) {
        let (g, ge) = self.synapses(p);
        self.jac_mul_prepared(u, &[g, ge], p, t, v, jv);
    }

    /// The synaptic sums: constant for the whole solve.
    fn n_prepared(&self) -> usize {
        2
    }

    fn prepare(&self, p: &[f64], q: &mut [f64]) {
        (q[0], q[1]) = self.synapses(p);
    }

    /// `q = [g, ge]` of [`FhnNeuron::synapses`].
    #[inline]
    fn rhs_prepared(&self, u: &[f64], q: &[f64], _p: &[f64], _t: f64, du: &mut [f64]) {
        (du[0], du[1]) = self.field(u[0], u[1], q[0], q[1]);
        du[2] = u[0];
    }

    /// [`FhnNeuron::field`] over every solve, in loops the compiler vectorises.
    #[inline]
    fn rhs_lanes(&self, lanes: usize, stride: usize, u: &[f64], q: &[f64], _p: &[f64], _t: &[f64], du: &mut [f64]) {
        let (v, w) = (&u[..lanes], &u[stride..stride + lanes]);
        let (g, ge) = (&q[..lanes], &q[stride..stride + lanes]);
        let (dv, rest) = du.split_at_mut(stride);
        let (dw, di) = rest.split_at_mut(stride);
        for l in 0..lanes {
            (dv[l], dw[l]) = self.field(v[l], w[l], g[l], ge[l]);
        }
        di[..lanes].copy_from_slice(v);
    }

    #[inline]
    fn jac_mul_prepared(&self, u: &[f64], q: &[f64], _p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]) {
        let g = q[0];
        let vm = u[0];
        jv[0] = (1.0 - vm * vm - g) * v[0] - v[1];
        jv[1] = self.phi * (v[0] - self.b * v[1]);
        jv[2] = v[0];
    }

    fn sample_times(&self) -> Vec<f64> {
        vec![self.t_end / 2.0, self.t_end]
    }

    fn observe(&self, states: &[Vec<f64>], _p: &[f64], y: &mut [f64]) {
        y[0] = (states[1][2] - states[0][2]) / (self.t_end / 2.0);
    }

    fn default_solver(&self) -> SolverSettings {
        SolverSettings::new(SolverMethod::Tsit45, 1e-7, 1e-9)
    }

    fn has_sensitivities(&self) -> bool {
        true
    }

    /// df/dp factors into `(1, 0, 0)` and `(v, 0, 0)`: p enters through the synaptic
    /// current `sum_i g |A_i| x_i (E_i - v)` alone.
    fn n_dp_factors(&self) -> usize {
        2
    }

    #[inline]
    fn dp_factors(&self, u: &[f64], _q: &[f64], _p: &[f64], _t: f64, g: &mut [f64]) {
        g.fill(0.0);
        g[0] = 1.0;
        g[3] = u[0];
    }

    fn dp_coefficients(&self, p: &[f64], k: &mut [f64]) {
        let (x, a) = p.split_at(self.n);
        let (ones, volts) = k.split_at_mut(2 * self.n);
        for i in 0..self.n {
            let e = if a[i] >= 0.0 { self.e_exc } else { self.e_inh };
            let sign = if a[i] == 0.0 { 0.0 } else { a[i].signum() };
            let (dx, da) = (self.g_max * a[i].abs(), self.g_max * sign * x[i]);
            ones[i] = dx * e;
            ones[self.n + i] = da * e;
            volts[i] = -dx;
            volts[self.n + i] = -da;
        }
    }

    /// d(dv/dt)/dx_i = g |A_i| (E_i - v),  d(dv/dt)/dA_i = g sign(A_i) x_i (E_i - v).
    fn rhs_dp_mul(&self, u: &[f64], p: &[f64], _t: f64, v: &[f64], out: &mut [f64]) {
        let (x, a) = p.split_at(self.n);
        let (vx, va) = v.split_at(self.n);
        let mut s = 0.0;
        for i in 0..self.n {
            let e = if a[i] >= 0.0 { self.e_exc } else { self.e_inh };
            let sign = if a[i] == 0.0 { 0.0 } else { a[i].signum() };
            s += self.g_max * (e - u[0]) * (a[i].abs() * vx[i] + sign * x[i] * va[i]);
        }
        out[0] = s;
        out[1] = 0.0;
        out[2] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeviceModel;
    use crate::ode::OdeDevice;

    fn neuron(n: usize) -> OdeDevice<FhnNeuron> {
        OdeDevice::new(FhnNeuron::new(&OdeDeviceConfig { fan_in: n, constants: BTreeMap::new() }).unwrap())
    }

    #[test]
    fn no_drive_stays_at_rest() {
        let d = neuron(2);
        let v_rest = fhn_fixed_point(0.7, 0.8, 0.0, 0.0);
        assert!((v_rest - (-1.199_408)).abs() < 1e-5, "{v_rest}");
        let y = d.respond(&[0.0, 0.0], &[0.5, -0.5]).unwrap()[0];
        assert!((y - v_rest).abs() < 1e-7, "{y} vs {v_rest}");
    }

    #[test]
    fn weak_drive_settles_at_shifted_fixed_point() {
        // one excitatory synapse with g = 0.05: subthreshold, v -> root of the driven cubic
        let d = neuron(1);
        let y = d.respond(&[0.5], &[0.1]).unwrap()[0];
        let v_star = fhn_fixed_point(0.7, 0.8, 0.05, 2.0);
        assert!((y - v_star).abs() < 1e-4, "{y} vs {v_star}");
        assert!(v_star > fhn_fixed_point(0.7, 0.8, 0.0, 0.0));
    }

    #[test]
    fn strong_excitation_spikes_and_inhibition_hyperpolarises() {
        let d = neuron(1);
        let rest = fhn_fixed_point(0.7, 0.8, 0.0, 0.0);
        let spiking = d.respond(&[1.0], &[0.6]).unwrap()[0];
        let inhibited = d.respond(&[1.0], &[-0.6]).unwrap()[0];
        assert!(spiking > rest + 0.3, "spiking mean {spiking}");
        assert!(inhibited < rest, "inhibited mean {inhibited}");
    }
}
