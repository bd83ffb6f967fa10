//! Factored forward sensitivities ([`super::factored_lanes`]) against the full columns, and a
//! wrong factoring caught.

use std::collections::BTreeMap;

use crate::devices::{DiodeNode, DuffingMems, FhnNeuron, OdeDeviceConfig};
use crate::error::SimError;
use crate::model::Jacobian;
use crate::ode_system::OdeSystem;
use crate::sens::jacobians;
use crate::solver::SolverSettings;
use crate::spec::DeviceSpec;

/// A device with its factoring hidden (`factors` 0) or its coefficients spoiled (`spoil` != 1).
pub(super) struct Masked<'a> {
    pub inner: &'a dyn OdeSystem,
    pub factors: usize,
    pub spoil: f64,
}

impl OdeSystem for Masked<'_> {
    fn spec(&self) -> &DeviceSpec {
        self.inner.spec()
    }
    fn n_states(&self) -> usize {
        self.inner.n_states()
    }
    fn init(&self, p: &[f64], u0: &mut [f64]) {
        self.inner.init(p, u0)
    }
    fn rhs(&self, u: &[f64], p: &[f64], t: f64, du: &mut [f64]) {
        self.inner.rhs(u, p, t, du)
    }
    fn jac_mul(&self, u: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]) {
        self.inner.jac_mul(u, p, t, v, jv)
    }
    fn sample_times(&self) -> Vec<f64> {
        self.inner.sample_times()
    }
    fn observe(&self, states: &[Vec<f64>], p: &[f64], y: &mut [f64]) {
        self.inner.observe(states, p, y)
    }
    fn default_solver(&self) -> SolverSettings {
        self.inner.default_solver()
    }
    fn n_prepared(&self) -> usize {
        self.inner.n_prepared()
    }
    fn prepare(&self, p: &[f64], q: &mut [f64]) {
        self.inner.prepare(p, q)
    }
    fn rhs_prepared(&self, u: &[f64], q: &[f64], p: &[f64], t: f64, du: &mut [f64]) {
        self.inner.rhs_prepared(u, q, p, t, du)
    }
    fn jac_mul_prepared(&self, u: &[f64], q: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]) {
        self.inner.jac_mul_prepared(u, q, p, t, v, jv)
    }
    fn has_sensitivities(&self) -> bool {
        true
    }
    fn rhs_dp_mul(&self, u: &[f64], p: &[f64], t: f64, v: &[f64], out: &mut [f64]) {
        self.inner.rhs_dp_mul(u, p, t, v, out)
    }
    fn rhs_dp(&self, u: &[f64], p: &[f64], t: f64, out: &mut [f64]) {
        self.inner.rhs_dp(u, p, t, out)
    }
    fn n_dp_factors(&self) -> usize {
        self.factors
    }
    fn dp_factors(&self, u: &[f64], q: &[f64], p: &[f64], t: f64, g: &mut [f64]) {
        self.inner.dp_factors(u, q, p, t, g)
    }
    fn dp_coefficients(&self, p: &[f64], k: &mut [f64]) {
        self.inner.dp_coefficients(p, k);
        k[0] *= self.spoil;
    }
}

fn points(n: usize, count: usize) -> Vec<Vec<f64>> {
    (0..count).map(|i| (0..2 * n).map(|j| ((i * 2 * n + j) as f64 * 0.61).sin() * 0.9).collect()).collect()
}

fn batched(system: &dyn OdeSystem, ps: &[Vec<f64>], n: usize) -> Vec<Jacobian> {
    let refs: Vec<(&[f64], &[f64])> = ps.iter().map(|p| p.split_at(n)).collect();
    jacobians(system, &refs, &system.default_solver()).into_iter().map(|j| j.unwrap()).collect()
}

#[test]
fn factored_sensitivities_are_the_full_columns_ones() {
    // the diode node (one state, 2 factors), FitzHugh-Nagumo (three states, 2 factors) and the
    // Duffing resonator (three states, a time-dependent factor per tone) at their default
    // tolerances; the factored lanes take the full lanes' steps, so the two agree to rounding
    let cfg = |n| OdeDeviceConfig { fan_in: n, constants: BTreeMap::new() };
    let diode = DiodeNode::new(&cfg(4)).unwrap();
    let fhn = FhnNeuron::new(&cfg(4)).unwrap();
    let duffing = DuffingMems::new(&cfg(2)).unwrap();
    let cases: [(&dyn OdeSystem, usize, usize, usize); 3] = [(&diode, 4, 2, 9), (&fhn, 4, 2, 9), (&duffing, 2, 2, 3)];
    for (system, n, factors, count) in cases {
        assert_eq!(system.n_dp_factors(), factors, "{}", system.spec().kind);
        let ps = points(n, count);
        let factored = batched(system, &ps, n);
        let full = batched(&Masked { inner: system, factors: 0, spoil: 1.0 }, &ps, n);
        for (f, g) in factored.iter().zip(&full) {
            let scale = g.dy_dx[0].iter().chain(&g.dy_da[0]).fold(1e-3f64, |m, v| m.max(v.abs()));
            assert!((f.y[0] - g.y[0]).abs() < 1e-10 * (1.0 + g.y[0].abs()), "{}", system.spec().kind);
            for (a, b) in f.dy_dx[0].iter().chain(&f.dy_da[0]).zip(g.dy_dx[0].iter().chain(&g.dy_da[0])) {
                assert!((a - b).abs() < 1e-10 * scale, "{}: factored {a} full {b}", system.spec().kind);
            }
        }
    }
}

#[test]
fn a_wrong_factoring_is_an_error_that_names_the_device() {
    let diode = DiodeNode::new(&OdeDeviceConfig { fan_in: 3, constants: BTreeMap::new() }).unwrap();
    let spoiled = Masked { inner: &diode, factors: 2, spoil: 2.0 };
    let ps = points(3, 4);
    let refs: Vec<(&[f64], &[f64])> = ps.iter().map(|p| p.split_at(3)).collect();
    for result in jacobians(&spoiled, &refs, &diode.default_solver()) {
        match result {
            Err(e @ SimError::DpFactors { parameter: 0, state: 0, .. }) => {
                assert!(e.to_string().contains("device 'diode-node'"), "{e}");
            }
            other => panic!("expected a DpFactors error, got {other:?}"),
        }
    }
}

/// The state-major norm of every slot is the full solve's norm of its rebuilt columns (the
/// largest of the states' and each column's mean square), bit for bit, NaNs included.
#[test]
fn the_norm_over_the_slots_is_each_lanes_full_norm() {
    use super::lanes::{LaneEquations, Slots, mean_square};
    let n = 5;
    let config = OdeDeviceConfig { fan_in: n, constants: BTreeMap::new() };
    let systems: Vec<Box<dyn OdeSystem>> = vec![
        Box::new(DiodeNode::new(&config).unwrap()),
        Box::new(FhnNeuron::new(&config).unwrap()),
        Box::new(DuffingMems::new(&config).unwrap()),
    ];
    let (lanes, stride, tol) = (11, 11, (1e-6, 1e-9));
    let ps = points(n, lanes);
    let refs: Vec<&[f64]> = ps.iter().map(Vec::as_slice).collect();
    for system in &systems {
        let m = system.n_prepared();
        let mut qs = vec![0.0; lanes * m];
        for (p, q) in ps.iter().zip(qs.chunks_exact_mut(m.max(1))) {
            system.prepare(p, &mut q[..m]);
        }
        let eq =
            super::factored_lanes::Factored::new(&**system, &refs, qs, m, &system.sample_times()).unwrap().unwrap();
        let (width, ns, nc, np) = (eq.width(), eq.states(), eq.constants(), eq.block());
        let (mut c, mut b, mut one) = (vec![0.0; nc * stride], vec![0.0; np * lanes], vec![0.0; nc]);
        for l in 0..lanes {
            eq.fill(l, &mut one, &mut b[l * np..(l + 1) * np]);
            for (i, &v) in one.iter().enumerate() {
                c[i * stride + l] = v;
            }
        }
        let value = |i: usize| ((i * 37 % 101) as f64 * 0.173).sin() * 10f64.powi((i % 7) as i32 - 4);
        let mut err: Vec<f64> = (0..width * stride).map(value).collect();
        let y: Vec<f64> = (0..width * stride).map(|i| value(i + 5) * 3.0).collect();
        // a NaN in a slot of the chunked pass and in one of the slots taken one by one
        err[(width - 1) * stride + 3] = f64::NAN;
        err[(width - 1) * stride + 9] = f64::NAN;
        let lane_of: Vec<usize> = (0..lanes).collect();
        let mut got = vec![0.0; lanes];
        eq.norms(&Slots { lanes: &lane_of, stride, c: &c, b: &b }, &err, &y, tol, &mut got);
        let r = width / ns - 1;
        for (l, &got) in got.iter().enumerate() {
            let at = |v: &[f64], e: usize| v[e * stride + l];
            let k = |f: usize, j: usize| c[(m + f * np + j) * stride + l];
            let states: Vec<(f64, f64)> = (0..ns).map(|e| (at(&err, e), at(&y, e))).collect();
            let (e, v): (Vec<f64>, Vec<f64>) = states.into_iter().unzip();
            let mut want = mean_square(&e, &v, tol.0, tol.1);
            for j in 0..np {
                let column = |a: &[f64]| -> Vec<f64> {
                    (0..ns)
                        .map(|i| (1..r).fold(k(0, j) * at(a, ns + i), |sum, f| sum + k(f, j) * at(a, ns + f * ns + i)))
                        .collect()
                };
                want = want.max(mean_square(&column(&err), &column(&y), tol.0, tol.1));
            }
            assert!(got.to_bits() == want.to_bits(), "{} lane {l}: {got} vs {want}", system.spec().kind);
        }
    }
}
