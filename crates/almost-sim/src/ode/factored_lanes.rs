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
use crate::ode::lanes::{LaneEquations, Slots, states_mean_square, weighted};
use crate::ode_system::{OdeSystem, Trajectory};

/// Slots of a norm's chunk: what one pass keeps in registers.
const CHUNK: usize = 8;

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
    /// Every live slot's Jacobian (column after column) and factors, state-major, reused by
    /// every right-hand side.
    rows: RefCell<Vec<f64>>,
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
        let lanes = ps.len();
        let rows = RefCell::new(vec![0.0; (n * n + n * r) * lanes]);
        Ok(Some(Self { system, ps, qs, m, n, r, np, ks, rows }))
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

    /// The prepared constants q, then the coefficients `K_rj`: both fixed through a solve.
    fn constants(&self) -> usize {
        self.m + self.r * self.np
    }

    /// p, for a device whose right-hand side reads it.
    fn block(&self) -> usize {
        self.np
    }

    fn fill(&self, lane: usize, c: &mut [f64], b: &mut [f64]) {
        let (q, k) = c.split_at_mut(self.m);
        q.copy_from_slice(&self.qs[lane * self.m..(lane + 1) * self.m]);
        k.copy_from_slice(&self.ks[lane * self.r * self.np..(lane + 1) * self.r * self.np]);
        b.copy_from_slice(self.ps[lane]);
    }

    fn init(&self, lane: usize, y: &mut [f64]) {
        let (u, s) = y.split_at_mut(self.n);
        self.system.init(self.ps[lane], u);
        s.fill(0.0);
    }

    /// The states' right-hand side, Jacobian and factors of every live slot from the device
    /// ([`OdeSystem::rhs_jacobian_factors_lanes`]), then every factor sensitivity's `g + J S`
    /// in loops over the slots (the sums in the order of `sensitivity_rhs`).
    fn rhs(&self, at: &Slots, y: &[f64], t: &[f64], dy: &mut [f64]) {
        let (n, r, m, live, stride) = (self.n, self.r, self.m, at.lanes.len(), at.stride);
        let mut rows = self.rows.borrow_mut();
        let (jac, g) = rows[..(n * n + n * r) * stride].split_at_mut(n * n * stride);
        let (du, ds) = dy.split_at_mut(n * stride);
        let (u, s) = y.split_at(n * stride);
        let (q, p) = (&at.c[..m * stride], &at.b[..live * self.np]);
        self.system.rhs_jacobian_factors_lanes(live, stride, u, q, p, &t[..live], (du, jac, g));
        let row = |v, e| row(v, e, stride, live);
        for f in 0..r {
            for i in 0..n {
                let d = &mut ds[(f * n + i) * stride..(f * n + i) * stride + live];
                let gr = row(g, f * n + i);
                if n == 1 {
                    for (((d, &g), &j), &s) in d.iter_mut().zip(gr).zip(row(jac, 0)).zip(row(s, f)) {
                        *d = g + j * s;
                    }
                    continue;
                }
                d.copy_from_slice(gr);
                for k in 0..n {
                    for ((d, &j), &s) in d.iter_mut().zip(row(jac, k * n + i)).zip(row(s, f * n + k)) {
                        *d += j * s;
                    }
                }
            }
        }
    }

    /// The largest of the states' mean square and each rebuilt column's `s_j = sum_r K_rj
    /// S_r`, as the full solve takes it (the same sums in the same order): the slots in
    /// chunks of [`CHUNK`], every column's error, value, weight and square for a chunk in
    /// registers (one pass over the constants, no rows written), the rest one by one.
    fn norms(&self, at: &Slots, err: &[f64], y: &[f64], tolerances: (f64, f64), out: &mut [f64]) {
        let live = at.lanes.len();
        states_mean_square(self.n, live, at.stride, err, y, tolerances, out);
        let whole = live - live % CHUNK;
        for (s0, o) in (0..whole).step_by(CHUNK).zip(out[..whole].chunks_exact_mut(CHUNK)) {
            self.column_norms::<CHUNK>(at, err, y, tolerances, s0, o);
        }
        for (s0, o) in (whole..live).zip(out[whole..live].chunks_exact_mut(1)) {
            self.column_norms::<1>(at, err, y, tolerances, s0, o);
        }
    }
}

impl<S: OdeSystem + ?Sized> Factored<'_, S> {
    /// `out[w] = max(out[w], largest column mean square)` of the `W` slots from `s0`: each
    /// column's error and value summed factor after factor (the first factor's products
    /// stored: 0 + x is x, and a zero's sign does not reach the norm), weighted and squared
    /// state after state. The division by the states' count is taken once, after the largest
    /// column's sum: dividing by a positive number is monotone, so the largest quotient is
    /// the quotient of the largest sum, bit for bit (and `max` ignores NaNs either way).
    #[inline(always)]
    fn column_norms<const W: usize>(
        &self,
        at: &Slots,
        err: &[f64],
        y: &[f64],
        (rtol, atol): (f64, f64),
        s0: usize,
        out: &mut [f64],
    ) {
        let (n, r, m, np, stride) = (self.n, self.r, self.m, self.np, at.stride);
        // value e of the W slots from s0, in registers
        let chunk = |v: &'_ [f64], e: usize| -> [f64; W] {
            let mut a = [0.0; W];
            a.copy_from_slice(&row(v, e, stride, s0 + W)[s0..]);
            a
        };
        // NaN: `max` takes any number over it, so a NaN stays only where every column is NaN
        let mut largest = [f64::NAN; W];
        for j in 0..np {
            let mut sum = [0.0; W];
            for i in 0..n {
                let terms =
                    |f: usize| (chunk(at.c, m + f * np + j), chunk(err, n + f * n + i), chunk(y, n + f * n + i));
                let (k, ec, yc) = terms(0);
                let (mut e, mut v): ([f64; W], [f64; W]) =
                    (std::array::from_fn(|w| k[w] * ec[w]), std::array::from_fn(|w| k[w] * yc[w]));
                for f in 1..r {
                    let (k, ec, yc) = terms(f);
                    for w in 0..W {
                        e[w] += k[w] * ec[w];
                        v[w] += k[w] * yc[w];
                    }
                }
                for w in 0..W {
                    let q = weighted(e[w], v[w], rtol, atol);
                    sum[w] += q * q;
                }
            }
            // `max` ignores NaNs and is exact, so the order of the columns does not matter
            for w in 0..W {
                largest[w] = largest[w].max(sum[w]);
            }
        }
        let n = n as f64;
        for (o, &l) in out.iter_mut().zip(&largest) {
            *o = o.max(l / n);
        }
    }
}

/// Row `e` of the state-major `v` (rows of `stride`), its first `live` values.
#[inline(always)]
fn row(v: &[f64], e: usize, stride: usize, live: usize) -> &[f64] {
    &v[e * stride..e * stride + live]
}
