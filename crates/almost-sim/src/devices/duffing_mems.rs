//! `duffing-mems`: a driven, damped Duffing resonator (a MEMS beam with a hardening spring).
//!
//! ```text
//! z'' + c z' + k z + beta z^3 = F(t),     F(t) = f0 sum_i A_i x_i cos(omega_i t),
//! omega_i = omega_lo + (omega_hi - omega_lo) i / (n - 1)    (omega = (lo + hi) / 2 when n = 1),
//! dq/dt = z^2                                              (quadrature state),
//! y = (q(T_s + W) - q(T_s)) / W,   W = 2 pi P / sqrt(k)      (mean-square displacement).
//! ```
//! Each input drives its own tone, whose amplitude A_i x_i is set by the input and the
//! device parameter together; the resonator filters the tones by their distance from
//! resonance and mixes them through the cubic spring, so the response is not a function of
//! a dot product. The output is the mean-square displacement over P fundamental periods
//! after a settling time T_s (a power, smooth where the drive vanishes, unlike the RMS).
//!
//! Dimensionless constants (time in 1/omega_0 of the unit-stiffness beam): c = 0.4 (Q = 2.5),
//! k = 1, beta = 1, f0 = 0.25, omega_lo = 0.6, omega_hi = 1.4, T_s = 60 (transients decay
//! as e^{-c T_s / 2} = 6e-6), P = 8. x_i in [-1, 1], A_i in [-1, 1]
//! (Nayfeh & Mook, *Nonlinear Oscillations*, ch. 4; Kovacic & Brennan, *The Duffing Equation*).
//! The tests check the linear limit (beta = 0, one tone): y = F^2 / (2 ((k - w^2)^2 + (c w)^2)).

use std::collections::BTreeMap;
use std::f64::consts::PI;

use crate::devices::constants::{ConstantDef, OdeDeviceConfig, check_fan_in, require_positive, resolve};
use crate::error::Result;
use crate::ode::OdeSystem;
use crate::solver::{SolverMethod, SolverSettings};
use crate::spec::{DeviceSpec, Quantity};

/// Default constants of the Duffing resonator.
pub const DUFFING_CONSTANTS: [ConstantDef; 8] = [
    ("c", 0.4, "damping c"),
    ("k", 1.0, "linear stiffness k"),
    ("beta", 1.0, "cubic stiffness beta"),
    ("f0", 0.25, "drive amplitude per unit A_i x_i"),
    ("omega_lo", 0.6, "lowest tone frequency"),
    ("omega_hi", 1.4, "highest tone frequency"),
    ("t_settle", 60.0, "settling time T_s before averaging"),
    ("periods", 8.0, "averaging window in fundamental periods P"),
];

/// The multi-tone Duffing resonator.
#[derive(Clone, Debug)]
pub struct DuffingMems {
    spec: DeviceSpec,
    n: usize,
    c: f64,
    k: f64,
    beta: f64,
    f0: f64,
    omegas: Vec<f64>,
    t_settle: f64,
    window: f64,
}

impl DuffingMems {
    /// Builds the resonator from its config (fan-in and constant overrides).
    pub fn new(config: &OdeDeviceConfig) -> Result<Self> {
        check_fan_in("duffing-mems", config.fan_in)?;
        let kc: BTreeMap<String, f64> = resolve("duffing-mems", &DUFFING_CONSTANTS, &config.constants)?;
        require_positive("duffing-mems", &kc, &["k", "omega_lo", "omega_hi", "t_settle", "periods"])?;
        let n = config.fan_in;
        let (lo, hi) = (kc["omega_lo"], kc["omega_hi"]);
        let omegas = if n == 1 {
            vec![0.5 * (lo + hi)]
        } else {
            (0..n).map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64).collect()
        };
        let spec = DeviceSpec {
            kind: "duffing-mems".into(),
            summary: "Duffing resonator, input i drives tone omega_i with amplitude f0 A_i x_i; y = mean z^2".into(),
            inputs: Quantity::family("x", "1", -1.0, 1.0, n),
            params: Quantity::family("A", "1", -1.0, 1.0, n),
            outputs: vec![Quantity::new("z2_mean", "1", 0.0, 2.0)],
            constants: kc.clone(),
            source: String::new(),
        };
        Ok(Self {
            spec,
            n,
            c: kc["c"],
            k: kc["k"],
            beta: kc["beta"],
            f0: kc["f0"],
            omegas,
            t_settle: kc["t_settle"],
            window: 2.0 * PI * kc["periods"] / kc["k"].sqrt(),
        })
    }

    /// Tone frequencies omega_i.
    pub fn omegas(&self) -> &[f64] {
        &self.omegas
    }

    fn force(&self, p: &[f64], t: f64) -> f64 {
        let (x, a) = p.split_at(self.n);
        let mut f = 0.0;
        for ((&x, &a), &w) in x.iter().zip(a).zip(&self.omegas) {
            f += a * x * (w * t).cos();
        }
        self.f0 * f
    }
}

impl OdeSystem for DuffingMems {
    fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    fn n_states(&self) -> usize {
        3
    }

    fn init(&self, _p: &[f64], u0: &mut [f64]) {
        u0.fill(0.0);
    }

    fn rhs(&self, u: &[f64], p: &[f64], t: f64, du: &mut [f64]) {
        let (z, v) = (u[0], u[1]);
        du[0] = v;
        du[1] = self.force(p, t) - self.c * v - self.k * z - self.beta * z * z * z;
        du[2] = z * z;
    }

    fn jac_mul(&self, u: &[f64], _p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]) {
        let z = u[0];
        jv[0] = v[1];
        jv[1] = -(self.k + 3.0 * self.beta * z * z) * v[0] - self.c * v[1];
        jv[2] = 2.0 * z * v[0];
    }

    fn sample_times(&self) -> Vec<f64> {
        vec![self.t_settle, self.t_settle + self.window]
    }

    fn observe(&self, states: &[Vec<f64>], _p: &[f64], y: &mut [f64]) {
        y[0] = (states[1][2] - states[0][2]) / self.window;
    }

    fn default_solver(&self) -> SolverSettings {
        SolverSettings::new(SolverMethod::Tsit45, 1e-7, 1e-9)
    }

    fn has_sensitivities(&self) -> bool {
        true
    }

    /// df/dp factors into one column per tone, `(0, cos(w_i t), 0)`.
    fn n_dp_factors(&self) -> usize {
        self.n
    }

    #[inline]
    fn dp_factors(&self, _u: &[f64], _q: &[f64], _p: &[f64], t: f64, g: &mut [f64]) {
        for (tone, w) in g.chunks_exact_mut(3).zip(&self.omegas) {
            tone[0] = 0.0;
            tone[1] = (w * t).cos();
            tone[2] = 0.0;
        }
    }

    fn dp_coefficients(&self, p: &[f64], k: &mut [f64]) {
        let (x, a) = p.split_at(self.n);
        k.fill(0.0);
        for (i, row) in k.chunks_exact_mut(2 * self.n).enumerate() {
            row[i] = self.f0 * a[i];
            row[self.n + i] = self.f0 * x[i];
        }
    }

    /// The drive is the only place p enters: dF/dx_i = f0 A_i cos(w_i t), dF/dA_i = f0 x_i cos(w_i t).
    fn rhs_dp_mul(&self, _u: &[f64], p: &[f64], t: f64, v: &[f64], out: &mut [f64]) {
        let (x, a) = p.split_at(self.n);
        let (vx, va) = v.split_at(self.n);
        let mut s = 0.0;
        for i in 0..self.n {
            s += (a[i] * vx[i] + x[i] * va[i]) * (self.omegas[i] * t).cos();
        }
        out[0] = 0.0;
        out[1] = self.f0 * s;
        out[2] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeviceModel;
    use crate::ode::OdeDevice;

    fn resonator(n: usize, beta: f64) -> OdeDevice<DuffingMems> {
        let constants = BTreeMap::from([("beta".to_string(), beta)]);
        OdeDevice::new(DuffingMems::new(&OdeDeviceConfig { fan_in: n, constants }).unwrap())
    }

    #[test]
    fn linear_single_tone_matches_steady_state_power() {
        let d = resonator(1, 0.0);
        let (x, a) = (0.8, 0.9);
        let w = d.system().omegas()[0];
        assert!((w - 1.0).abs() < 1e-15);
        let f = 0.25 * a * x;
        let exact = f * f / (2.0 * ((1.0 - w * w).powi(2) + (0.4 * w).powi(2)));
        let y = d.respond(&[x], &[a]).unwrap()[0];
        assert!((y - exact).abs() < 1e-5 * exact, "{y} vs {exact}");
    }

    #[test]
    fn hardening_spring_lowers_resonant_power_and_zero_drive_is_silent() {
        let lin = resonator(1, 0.0).respond(&[1.0], &[1.0]).unwrap()[0];
        let hard = resonator(1, 1.0).respond(&[1.0], &[1.0]).unwrap()[0];
        assert!(hard < lin, "hardening {hard} vs linear {lin}");
        let silent = resonator(3, 1.0).respond(&[0.0, 0.5, -0.5], &[0.7, 0.0, 0.0]).unwrap()[0];
        assert!(silent.abs() < 1e-12, "{silent}");
    }
}
