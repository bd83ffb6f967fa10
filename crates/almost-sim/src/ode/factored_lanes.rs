//! Forward sensitivities of a device whose parameter derivative factors into a few columns,
//! `df/dp_j = sum_r g_r(u, t) K_rj(p)` ([`OdeSystem::n_dp_factors`]), as lanes.
//!
//! A lane carries the states `u` and one sensitivity `S_r` per factor, `S_r' = J S_r + g_r`,
//! `S_r(0) = 0`. Where the initial state does not depend on p, each parameter's sensitivity
//! is `s_j = sum_r K_rj S_r` by linearity, and so is every Tsitouras stage of it: the error
//! norm is taken over the rebuilt columns, the states' and each `s_j`'s mean square as in
//! [`super::sens_lanes`], so a lane takes the steps of the full solve and its answer agrees
//! with it to rounding. The diode node at fan-in 16 integrates 3 values a lane instead of 33.

use std::cell::RefCell;

use crate::error::{Result, SimError};
use crate::ode::lanes::{LaneEquations, Slots, each_lane, each_norm, mean_square, sensitivity_rhs};
use crate::ode_system::{OdeSystem, Trajectory};

/// The states and factor sensitivities of every lane.
pub(super) struct Factored<'a, S: ?Sized> {
    system: &'a S,
    ps: &'a [&'a [f64]],
    /// Prepared constants, `m` per lane.
    qs: Vec<f64>,
    m: usize,
    n: usize,
    /// Factors.
    r: usize,
    np: usize,
    /// Coefficients of every lane, `r` rows of `np`.
    ks: Vec<f64>,
    /// The Jacobian (column after column) and the factors, reused by every call.
    scratch: RefCell<(Vec<f64>, Vec<f64>)>,
    /// The rebuilt columns' errors and values of a step, reused by every norm.
    columns: RefCell<(Vec<f64>, Vec<f64>)>,
}

impl<'a, S: OdeSystem + ?Sized> Factored<'a, S> {
    /// The factored equations of `ps` (prepared constants `qs`, `m` per lane), or `None`
    /// where the device declares no factors or the initial state of a lane depends on p;
    /// [`SimError::DpFactors`] where the factoring disagrees with [`OdeSystem::rhs_dp`]
    /// (checked at the start and at a time inside the first of the sample `times`).
    pub(super) fn new(
        system: &'a S,
        ps: &'a [&'a [f64]],
        qs: Vec<f64>,
        m: usize,
        times: &[f64],
    ) -> Result<Option<Self>> {
        let (n, r) = (system.n_states(), system.n_dp_factors());
        let np = ps.first().map_or(0, |p| p.len());
        if r == 0 || np == 0 {
            return Ok(None);
        }
        let t1 = 0.37 * times.first().copied().unwrap_or(1.0);
        let mut ks = vec![0.0; ps.len() * r * np];
        let (mut v, mut col) = (vec![0.0; np], vec![0.0; n]);
        for (l, (p, k)) in ps.iter().zip(ks.chunks_exact_mut(r * np)).enumerate() {
            for j in 0..np {
                v[j] = 1.0;
                system.init_dp_mul(p, &v, &mut col);
                v[j] = 0.0;
                if col.iter().any(|&c| c != 0.0) {
                    return Ok(None);
                }
            }
            system.dp_coefficients(p, k);
            check(system, p, &qs[l * m..(l + 1) * m], k, r, t1)?;
        }
        let scratch = RefCell::new((vec![0.0; n * n], vec![0.0; n * r]));
        let columns = RefCell::new((vec![0.0; n * np], vec![0.0; n * np]));
        Ok(Some(Self { system, ps, qs, m, n, r, np, ks, scratch, columns }))
    }

    /// Each lane's states and rebuilt sensitivity columns from the marched values `flat`.
    pub(super) fn trajectories(&self, flat: &[Vec<f64>]) -> Vec<Trajectory> {
        let (n, r, np, width) = (self.n, self.r, self.np, self.width());
        (0..self.ps.len())
            .map(|l| {
                let k = &self.ks[l * r * np..(l + 1) * r * np];
                let at = |t: usize| &flat[t][l * width..(l + 1) * width];
                let states = (0..flat.len()).map(|t| at(t)[..n].to_vec()).collect();
                let sens = (0..flat.len())
                    .map(|t| {
                        let factors = &at(t)[n..];
                        (0..np)
                            .map(|j| (0..n).map(|s| (0..r).map(|f| k[f * np + j] * factors[f * n + s]).sum()).collect())
                            .collect()
                    })
                    .collect();
                (states, sens)
            })
            .collect()
    }
}

/// Compares the factoring with `rhs_dp` at the initial state and at a state away from it
/// (at the start and at `t1`).
fn check<S: OdeSystem + ?Sized>(system: &S, p: &[f64], q: &[f64], k: &[f64], r: usize, t1: f64) -> Result<()> {
    let (n, np) = (system.n_states(), p.len());
    let mut u0 = vec![0.0; n];
    system.init(p, &mut u0);
    let away: Vec<f64> = u0.iter().map(|u| u + 0.25 * (1.0 + u.abs())).collect();
    let (mut direct, mut g) = (vec![0.0; n * np], vec![0.0; n * r]);
    for (u, t) in [(&u0, 0.0), (&away, t1)] {
        system.rhs_dp(u, p, t, &mut direct);
        system.dp_factors(u, q, p, t, &mut g);
        let factored = |j: usize, s: usize| (0..r).map(|f| k[f * np + j] * g[f * n + s]).sum::<f64>();
        let scale = direct.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        for j in 0..np {
            for s in 0..n {
                let (fac, dir) = (factored(j, s), direct[j * n + s]);
                if !fac.is_finite() || (fac - dir).abs() > 1e-9 * scale {
                    let device = system.spec().kind.clone();
                    return Err(SimError::DpFactors { device, parameter: j, state: s, factored: fac, direct: dir });
                }
            }
        }
    }
    Ok(())
}

impl<S: OdeSystem + ?Sized> LaneEquations for Factored<'_, S> {
    fn width(&self) -> usize {
        self.n * (1 + self.r)
    }

    fn states(&self) -> usize {
        self.n
    }

    fn init(&self, lane: usize, y: &mut [f64]) {
        let (u, s) = y.split_at_mut(self.n);
        self.system.init(self.ps[lane], u);
        s.fill(0.0);
    }

    fn rhs(&self, at: &Slots, y: &[f64], t: &[f64], dy: &mut [f64]) {
        each_lane(self.width(), at, y, t, dy, |lane, y, t, dy| self.rhs_lane(lane, y, t, dy));
    }

    fn norms(&self, at: &Slots, err: &[f64], y: &[f64], (rtol, atol): (f64, f64), out: &mut [f64]) {
        each_norm(self.width(), at, err, y, out, |lane, err, y| self.norm_lane(lane, err, y, rtol, atol));
    }
}

impl<S: OdeSystem + ?Sized> Factored<'_, S> {
    /// Lane `lane`'s right-hand side: the states' and every factor sensitivity's.
    fn rhs_lane(&self, lane: usize, y: &[f64], t: f64, dy: &mut [f64]) {
        let (n, p) = (self.n, self.ps[lane]);
        let q = &self.qs[lane * self.m..(lane + 1) * self.m];
        let (u, s) = y.split_at(n);
        let (du, ds) = dy.split_at_mut(n);
        let mut scratch = self.scratch.borrow_mut();
        let (jac, g) = &mut *scratch;
        self.system.rhs_jacobian_prepared(u, q, p, t, du, jac);
        self.system.dp_factors(u, q, p, t, g);
        sensitivity_rhs(n, jac, s, g, ds);
    }

    /// The largest of the states' mean square and each rebuilt column's, as the full solve
    /// (the same sums in the same order), the columns' weighted errors in flat loops.
    fn norm_lane(&self, lane: usize, err: &[f64], y: &[f64], rtol: f64, atol: f64) -> f64 {
        let (n, r, np) = (self.n, self.r, self.np);
        let k = &self.ks[lane * r * np..(lane + 1) * r * np];
        let (ef, yf) = (&err[n..], &y[n..]);
        let mut columns = self.columns.borrow_mut();
        let (e, v) = &mut *columns;
        // e[s * np + j], v[s * np + j]: state s of column j's error and value; the first
        // factor's products are stored (0 + x is x, and a zero's sign does not reach the norm)
        for (f, (kf, (ef, yf))) in k.chunks_exact(np).zip(ef.chunks_exact(n).zip(yf.chunks_exact(n))).enumerate() {
            for ((es, vs), (&ec, &yc)) in e.chunks_exact_mut(np).zip(v.chunks_exact_mut(np)).zip(ef.iter().zip(yf)) {
                if f == 0 {
                    for ((e, v), &kj) in es.iter_mut().zip(vs.iter_mut()).zip(kf) {
                        *e = kj * ec;
                        *v = kj * yc;
                    }
                } else {
                    for ((e, v), &kj) in es.iter_mut().zip(vs.iter_mut()).zip(kf) {
                        *e += kj * ec;
                        *v += kj * yc;
                    }
                }
            }
        }
        // the weighted squares, in place of the errors
        for (e, &v) in e.iter_mut().zip(v.iter()) {
            let w = *e / (v.abs() * rtol + atol);
            *e = w * w;
        }
        let worst = mean_square(&err[..n], &y[..n], rtol, atol);
        if n == 1 {
            return largest(worst, e);
        }
        (0..np).fold(worst, |m, j| m.max((0..n).fold(0.0, |sum, s| sum + e[s * np + j]) / n as f64))
    }
}

/// The largest of `init` and `values` as a fold of `f64::max` gives it (NaNs ignored), in
/// four independent chains: `max` is exact, so the grouping does not change the answer.
pub(super) fn largest(init: f64, values: &[f64]) -> f64 {
    let mut m = [init; 4];
    let chunks = values.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for (m, &x) in m.iter_mut().zip(c) {
            *m = m.max(x);
        }
    }
    let tail = rest.iter().fold(m[0], |m, &x| m.max(x));
    tail.max(m[1]).max(m[2].max(m[3]))
}
