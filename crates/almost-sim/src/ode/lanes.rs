//! Many solves of one explicit device advanced side by side, each lane with its own steps.
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
//! tolerances (tested: 1e-10 for the diode node and the FitzHugh-Nagumo neuron at rtol 1e-7). A lane's answer does not depend on the lanes it is solved with, and
//! it takes the steps its own equations need: a stiff or spiking lane does not slow the
//! others (finished lanes leave the shared loops).
//!
//! What the lanes share is the work between right-hand sides: the stage combinations run as
//! flat loops over the live lanes' states at once, the rest of a step costs a lane a few
//! scalars. The forward sensitivities of explicit devices run on this march as well
//! ([`super::sens_lanes`]). diffsol stays the engine of every solo and implicit solve, and the
//! reference this path is tested against (`ode/tests.rs`).

use crate::error::{Result, SimError};
use crate::ode::tsit45::{STAGES, TSIT45, local_error, stage_input};
use crate::ode_system::OdeSystem;
use crate::solver::SolverSettings;

/// diffsol's defaults: `OdeSolverOptions::max_error_test_failures`, `min_timestep`, the
/// explicit solvers' shrink and growth limits, and the controller's exponent
/// `pi_control_integral / (order + 1)` applied to the mean-square norm.
const MAX_REJECTIONS: usize = 40;
const MIN_STEP: f64 = 1e-13;
const MIN_FACTOR: f64 = 0.5;
const MAX_FACTOR: f64 = 2.0;
const EXPONENT: f64 = 0.5 / 5.0;
// the step factor's power is taken by `numeric::inverse_tenth_root`
const _: () = assert!(EXPONENT == 0.1);

/// Mean square of `v / (|y| rtol + atol)`: diffsol's `squared_norm`.
pub(super) fn mean_square(v: &[f64], y: &[f64], rtol: f64, atol: f64) -> f64 {
    let sum: f64 = v.iter().zip(y).map(|(&v, &y)| (v / (y.abs() * rtol + atol)).powi(2)).sum();
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

/// One lane's place in its solve.
#[derive(Clone, Copy)]
struct Lane {
    t: f64,
    h: f64,
    /// Index of the next sample time.
    next: usize,
    rejections: usize,
    steps: usize,
}

impl Lane {
    /// diffsol's `handle_tstop`: whether the lane sits on `t_stop`; else the step is clipped
    /// so as not to pass it.
    fn at_stop(&mut self, t_stop: f64) -> bool {
        let roundoff = 100.0 * f64::EPSILON * (self.t.abs() + self.h.abs());
        if (self.t - t_stop).abs() <= roundoff {
            return true;
        }
        if self.t + self.h > t_stop + roundoff {
            self.h *= (t_stop - self.t) / self.h;
        }
        false
    }
}

/// What a batch of lanes solves: `width` values per lane, of which the first `states` are
/// the ODE's states (they alone choose the first step, as in diffsol).
pub(super) trait LaneEquations {
    /// Values per lane.
    fn width(&self) -> usize;
    /// The leading values of a lane that are the ODE's states.
    fn states(&self) -> usize;
    /// Lane `lane`'s initial values.
    fn init(&self, lane: usize, y: &mut [f64]);
    /// Lane `lane`'s right-hand side.
    fn rhs(&self, lane: usize, y: &[f64], t: f64, dy: &mut [f64]);
    /// The error norm of lane `lane`'s local error `err` against its values `y` at the start
    /// of the step.
    fn norm(&self, _lane: usize, err: &[f64], y: &[f64], rtol: f64, atol: f64) -> f64 {
        mean_square(err, y, rtol, atol)
    }
}

/// An [`OdeSystem`]'s lanes: parameter blocks `[q, p]` (`block` values each, the first `m`
/// prepared) end to end in `blocks`.
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

    fn init(&self, lane: usize, y: &mut [f64]) {
        self.system.init(&self.blocks[lane * self.block + self.m..(lane + 1) * self.block], y);
    }

    fn rhs(&self, lane: usize, y: &[f64], t: f64, dy: &mut [f64]) {
        let (q, p) = self.blocks[lane * self.block..(lane + 1) * self.block].split_at(self.m);
        self.system.rhs_prepared(y, q, p, t, dy);
    }
}

/// Solves `lanes` lanes of `eq` recorded at `times`; returns every sample time's values,
/// lane after lane.
pub(super) fn march_lanes<E: LaneEquations>(
    eq: &E,
    lanes: usize,
    times: &[f64],
    settings: &SolverSettings,
    guarded: bool,
) -> Result<Vec<Vec<f64>>> {
    let (n, ns) = (eq.width(), eq.states());
    let (rtol, atol) = (settings.rtol, settings.atol);
    let co = &*TSIT45;
    let len = lanes * n;
    let (mut y, mut dy, mut ys, mut fnew) = (vec![0.0; len], vec![0.0; len], vec![0.0; len], vec![0.0; len]);
    let mut err = vec![0.0; len];
    let (mut norms, mut factors) = (vec![0.0; lanes], vec![0.0; lanes]);
    let mut k = vec![0.0; STAGES * len];
    let mut out = vec![vec![0.0; len]; times.len()];
    let fail = |t: f64, message: String| SimError::Solver { time: t, message };

    // the first step, lane by lane, as diffsol's `set_step_size` picks it (from the states)
    let mut state = Vec::with_capacity(lanes);
    for l in 0..lanes {
        let r = l * n..(l + 1) * n;
        eq.init(l, &mut y[r.clone()]);
        eq.rhs(l, &y[r.clone()], 0.0, &mut dy[r.clone()]);
        let (y0, f0) = (&y[r.clone()], &dy[r.clone()]);
        let d0 = mean_square(&y0[..ns], &y0[..ns], rtol, atol).sqrt();
        let d1 = mean_square(&f0[..ns], &y0[..ns], rtol, atol).sqrt();
        let h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * (d0 / d1) };
        for (s, (&y, &f)) in ys[r.clone()].iter_mut().zip(y0.iter().zip(f0)) {
            *s = y + h0 * f;
        }
        eq.rhs(l, &ys[r.clone()], h0, &mut fnew[r.clone()]);
        for (s, (&f1, &f)) in ys[r.clone()].iter_mut().zip(fnew[r.clone()].iter().zip(f0)) {
            *s = f1 - f;
        }
        let d2 = mean_square(&ys[l * n..l * n + ns], &y0[..ns], rtol, atol).sqrt() / h0;
        let max_d = d1.max(d2);
        let h1 = if max_d < 1e-15 { (h0 * 1e-3).max(1e-6) } else { (0.01 / max_d).powf(1.0 / (1.0 + co.order as f64)) };
        let mut lane = Lane { t: 0.0, h: (100.0 * h0).min(h1), next: 0, rejections: 0, steps: 0 };
        if let Some(&t_stop) = times.first()
            && lane.at_stop(t_stop)
        {
            return Err(fail(0.0, "the first sample time is the start time".into()));
        }
        state.push(lane);
    }

    // lanes that are still going sit in the slots 0..active of every array (a finished lane
    // trades places with the last active one), so the shared loops run over live lanes only
    let mut lane_of: Vec<usize> = (0..lanes).collect();
    let mut active = if times.is_empty() { 0 } else { lanes };
    let start = std::time::Instant::now();
    let mut rounds = 0usize;
    let mut finished = Vec::with_capacity(lanes);
    while active > 0 {
        rounds += 1;
        if rounds.is_multiple_of(16) && start.elapsed().as_secs_f64() > settings.max_seconds {
            let t = state[..active].iter().map(|s| s.t).fold(f64::INFINITY, f64::min);
            return Err(SimError::TimeBudget { max_seconds: settings.max_seconds, time: t });
        }
        let live = active * n;
        // first stage from the last one of the step before (first same as last)
        for (slot, lane) in state[..active].iter().enumerate() {
            for e in slot * n..(slot + 1) * n {
                k[e] = lane.h * dy[e];
            }
        }
        for i in 1..STAGES {
            // every live lane's stage input at once: y + sum_j a_ij k_j
            stage_input(i, &co.a[i], &y[..live], &k, len, &mut ys[..live]);
            let ki = &mut k[i * len..(i + 1) * len];
            for (slot, lane) in state[..active].iter().enumerate() {
                let r = slot * n..(slot + 1) * n;
                eq.rhs(lane_of[slot], &ys[r.clone()], lane.t + co.c[i] * lane.h, &mut fnew[r.clone()]);
                for e in r {
                    ki[e] = lane.h * fnew[e];
                }
            }
        }
        // ys holds every live lane's y + sum_j b_j k_j (the last stage is the new state) and
        // fnew the right-hand side there
        // every live value's local error, then every lane's norm and step factor, each in a
        // loop of its own (the lanes' factors are independent chains the core overlaps)
        local_error(&co.d, &k, len, &mut err[..live]);
        for (slot, norm) in norms[..active].iter_mut().enumerate() {
            let r = slot * n..(slot + 1) * n;
            *norm = eq.norm(lane_of[slot], &err[r.clone()], &y[r], rtol, atol);
        }
        for (factor, &norm) in factors[..active].iter_mut().zip(&norms[..active]) {
            *factor = step_factor(norm);
        }
        for (slot, lane) in state[..active].iter_mut().enumerate() {
            let r = slot * n..(slot + 1) * n;
            let (norm, factor) = (norms[slot], factors[slot]);
            if !norm.is_finite() {
                return Err(SimError::NonFinite { what: "local error".into(), time: lane.t });
            }
            if norm >= 1.0 {
                lane.h *= factor;
                lane.rejections += 1;
                if lane.rejections >= MAX_REJECTIONS {
                    return Err(fail(lane.t, format!("{} error test failures in a row", lane.rejections)));
                }
                if lane.h.abs() < MIN_STEP {
                    return Err(fail(lane.t, "step size too small".into()));
                }
                continue;
            }
            lane.rejections = 0;
            lane.steps += 1;
            lane.t += lane.h;
            lane.h *= factor;
            y[r.clone()].copy_from_slice(&ys[r.clone()]);
            dy[r.clone()].copy_from_slice(&fnew[r.clone()]);
            if guarded {
                if !y[r.clone()].iter().all(|v| v.is_finite()) {
                    return Err(SimError::NonFinite { what: "state".into(), time: lane.t });
                }
                if lane.steps > settings.max_steps {
                    return Err(SimError::StepBudget { max_steps: settings.max_steps, time: lane.t });
                }
            }
            if lane.at_stop(times[lane.next]) {
                let l = lane_of[slot];
                out[lane.next][l * n..(l + 1) * n].copy_from_slice(&y[r]);
                lane.next += 1;
                match times.get(lane.next) {
                    Some(&t_stop) => {
                        lane.at_stop(t_stop);
                    }
                    None => finished.push(slot),
                }
            }
        }
        // finished slots in descending order, each traded with the last active slot
        while let Some(slot) = finished.pop() {
            active -= 1;
            if slot != active {
                state.swap(slot, active);
                lane_of.swap(slot, active);
                for e in 0..n {
                    y.swap(slot * n + e, active * n + e);
                    dy.swap(slot * n + e, active * n + e);
                }
            }
        }
    }
    Ok(out)
}

/// diffsol's step factor `0.9 * norm^(-1/10)` clamped to [0.5, 2]; below the norm where it
/// reaches 2 (0.45^10) the power is not taken.
fn step_factor(norm: f64) -> f64 {
    const AT_MAX: f64 = 3.405_062_891_601_562_5e-4 * (1.0 - 1e-9);
    if norm < AT_MAX {
        MAX_FACTOR
    } else {
        (0.9 * crate::numeric::inverse_tenth_root(norm)).clamp(MIN_FACTOR, MAX_FACTOR)
    }
}
