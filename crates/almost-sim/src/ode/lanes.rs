//! Many solves of one explicit device advanced side by side, each lane with its own steps:
//! what a batch of lanes solves ([`LaneEquations`]) and its state-major layout. The march
//! itself is [`super::lane_march`].
//!
//! Every lane runs the algorithm of diffsol's solo Tsitouras 5(4) solve (`problem.tsit45()`):
//! diffsol's own tableau, its first step (Hairer-Norsett-Wanner II.4, two right-hand sides),
//! its error norm (the mean square of the weighted local error against the state at the
//! start of the step), its step factor `0.9 * norm^(-1/10)` clamped to [0.5, 2] (the default
//! integral gain 0.5 over order + 1, no proportional term), at most 40 rejections in a row,
//! steps of at least 1e-13, and its stop-time clamp. One difference: the factor's power is
//! taken by Newton's method in Rust ([`crate::numeric::inverse_tenth_root`], within a few
//! units in the last place; glibc's `pow` was a tenth of a physics evaluation's time, and
//! `libm`'s `powf` a fifth), so a lane's answer differs from its solo solve far below the
//! tolerances (tested: 1e-10 for the diode node and the FitzHugh-Nagumo neuron at rtol
//! 1e-7). A lane's answer does not depend on the lanes it is solved with, and it takes the
//! steps its own equations need: a stiff or spiking lane does not slow the others (finished
//! lanes leave the shared loops).
//!
//! The lanes' values are stored **state-major**: value e of every lane in one row, so that
//! the stage combinations, the step sizes' products, the error norms and (for a device that
//! writes [`OdeSystem::rhs_lanes`]) the equations themselves run as loops over the lanes,
//! which the compiler vectorises. The forward sensitivities of explicit devices run on this
//! march as well ([`super::sens_lanes`]). diffsol stays the engine of every solo and
//! implicit solve, and the reference this path is tested against (`ode/tests.rs`).

use crate::ode_system::OdeSystem;

/// An error `v` weighted against its value `y`, `v / (|y| rtol + atol)`: the term of
/// diffsol's `squared_norm`, which every norm of the lanes squares and sums.
#[inline(always)]
pub(super) fn weighted(v: f64, y: f64, rtol: f64, atol: f64) -> f64 {
    v / (y.abs() * rtol + atol)
}

/// Mean square of `v / (|y| rtol + atol)`: diffsol's `squared_norm`.
pub(super) fn mean_square(v: &[f64], y: &[f64], rtol: f64, atol: f64) -> f64 {
    let sum: f64 = v.iter().zip(y).map(|(&v, &y)| weighted(v, y, rtol, atol).powi(2)).sum();
    sum / v.len() as f64
}

/// The right-hand side of sensitivity columns, `ds_c = g_c + J s_c` for every column c of
/// `n` values (`jac` column after column): what the forward sensitivities' lanes add to the
/// states' right-hand side.
#[inline]
pub(super) fn sensitivity_rhs(n: usize, jac: &[f64], s: &[f64], g: &[f64], ds: &mut [f64]) {
    if n == 1 {
        let j = jac[0];
        for ((d, &s), &g) in ds.iter_mut().zip(s).zip(g) {
            *d = g + j * s;
        }
        return;
    }
    for ((dsc, sc), gc) in ds.chunks_exact_mut(n).zip(s.chunks_exact(n)).zip(g.chunks_exact(n)) {
        dsc.copy_from_slice(gc);
        for (col, &sk) in jac.chunks_exact(n).zip(sc) {
            for (d, &jk) in dsc.iter_mut().zip(col) {
                *d += jk * sk;
            }
        }
    }
}

/// Where the live lanes of a batch stand: slot s (of the `lanes.len()` live ones) solves
/// lane `lanes[s]`. State-major arrays hold value e of slot s at `[e * stride + s]` (the
/// constants `c` too); the blocks `b` are slot after slot, `block` values each.
pub(super) struct Slots<'a> {
    pub lanes: &'a [usize],
    pub stride: usize,
    pub c: &'a [f64],
    pub b: &'a [f64],
}

/// What a batch of lanes solves: `width` values per lane, of which the first `states` are
/// the ODE's states (they alone choose the first step, as in diffsol); per lane, fixed
/// through its solve, `constants` values kept state-major and a `block` of values kept
/// together (the march moves both with their lane).
pub(super) trait LaneEquations {
    /// Values per lane.
    fn width(&self) -> usize;
    /// The leading values of a lane that are the ODE's states.
    fn states(&self) -> usize;
    /// Constants per lane (none by default).
    fn constants(&self) -> usize {
        0
    }
    /// Values of a lane's block (none by default).
    fn block(&self) -> usize {
        0
    }
    /// Lane `lane`'s constants and block.
    fn fill(&self, _lane: usize, _c: &mut [f64], _b: &mut [f64]) {}
    /// Lane `lane`'s initial values.
    fn init(&self, lane: usize, y: &mut [f64]);
    /// Every live slot's right-hand side at its time `t[s]`, `y` and `dy` state-major.
    fn rhs(&self, at: &Slots, y: &[f64], t: &[f64], dy: &mut [f64]);
    /// Every live slot's error norm of its local error `err` against its values `y` at the
    /// start of the step: by default the mean square over the states, as diffsol's
    /// `squared_norm` sums it (in the order of the states).
    fn norms(&self, at: &Slots, err: &[f64], y: &[f64], tolerances: (f64, f64), out: &mut [f64]) {
        states_mean_square(self.states(), at.lanes.len(), at.stride, err, y, tolerances, out);
    }
}

/// `out[s]`: the mean square over the first `n` rows of slot s's weighted error (its error
/// `err` against its values `y`), for the `live` slots of rows of `stride`; diffsol's
/// `squared_norm`, summed in the order of the states.
pub(super) fn states_mean_square(
    n: usize,
    live: usize,
    stride: usize,
    err: &[f64],
    y: &[f64],
    (rtol, atol): (f64, f64),
    out: &mut [f64],
) {
    let out = &mut out[..live];
    out.fill(0.0);
    for e in 0..n {
        let (err, y) = (&err[e * stride..][..live], &y[e * stride..][..live]);
        for ((o, &v), &y) in out.iter_mut().zip(err).zip(y) {
            let w = weighted(v, y, rtol, atol);
            *o += w * w;
        }
    }
    let n = n as f64;
    for o in out {
        *o /= n;
    }
}

/// Calls `f(lane, values, t, out)` for every live slot, its `width` values gathered from the
/// state-major `y` and its `out` scattered into `dy`: how equations written lane by lane
/// take part in the march.
pub(super) fn each_lane(
    width: usize,
    at: &Slots,
    y: &[f64],
    t: &[f64],
    dy: &mut [f64],
    mut f: impl FnMut(usize, &[f64], f64, &mut [f64]),
) {
    let (mut v, mut d) = (vec![0.0; width], vec![0.0; width]);
    for (s, &lane) in at.lanes.iter().enumerate() {
        for (e, v) in v.iter_mut().enumerate() {
            *v = y[e * at.stride + s];
        }
        f(lane, &v, t[s], &mut d);
        for (e, &d) in d.iter().enumerate() {
            dy[e * at.stride + s] = d;
        }
    }
}

/// `out[s] = f(lane, err, y)` for every live slot, its `width` values gathered from the
/// state-major arrays: a norm written lane by lane.
pub(super) fn each_norm(
    width: usize,
    at: &Slots,
    err: &[f64],
    y: &[f64],
    out: &mut [f64],
    mut f: impl FnMut(usize, &[f64], &[f64]) -> f64,
) {
    let (mut ev, mut yv) = (vec![0.0; width], vec![0.0; width]);
    for (s, &lane) in at.lanes.iter().enumerate() {
        for e in 0..width {
            ev[e] = err[e * at.stride + s];
            yv[e] = y[e * at.stride + s];
        }
        out[s] = f(lane, &ev, &yv);
    }
}

/// An [`OdeSystem`]'s lanes: parameter blocks `[q, p]` (`block` values each, the first `m`
/// prepared) end to end in `blocks`; a lane's prepared constants q are its constants, its
/// p its block.
pub(super) struct Plain<'a, S: ?Sized> {
    pub system: &'a S,
    pub blocks: &'a [f64],
    pub m: usize,
    pub block: usize,
}

impl<S: OdeSystem + ?Sized> LaneEquations for Plain<'_, S> {
    fn width(&self) -> usize {
        self.system.n_states()
    }

    fn states(&self) -> usize {
        self.system.n_states()
    }

    fn constants(&self) -> usize {
        self.m
    }

    fn block(&self) -> usize {
        self.block - self.m
    }

    fn fill(&self, lane: usize, c: &mut [f64], b: &mut [f64]) {
        let (q, p) = self.blocks[lane * self.block..(lane + 1) * self.block].split_at(self.m);
        c.copy_from_slice(q);
        b.copy_from_slice(p);
    }

    fn init(&self, lane: usize, y: &mut [f64]) {
        self.system.init(&self.blocks[lane * self.block + self.m..(lane + 1) * self.block], y);
    }

    #[inline]
    fn rhs(&self, at: &Slots, y: &[f64], t: &[f64], dy: &mut [f64]) {
        let live = at.lanes.len();
        let p = &at.b[..live * (self.block - self.m)];
        self.system.rhs_lanes(live, at.stride, y, &at.c[..self.m * at.stride], p, t, dy);
    }
}
