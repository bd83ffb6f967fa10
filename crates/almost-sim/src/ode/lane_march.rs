//! The march of a batch of lanes ([`super::lanes`]): diffsol's solo Tsitouras 5(4)
//! algorithm for every lane, its values state-major, every loop over the live lanes.

use crate::error::{Result, SimError};
use crate::numeric::inverse_tenth_root_in_range;
use crate::ode::lane_start::{Starter, at_stop};
use crate::ode::lanes::{LaneEquations, Slots};
use crate::ode::tsit45::{STAGES, TSIT45, local_error, stage_input};
use crate::solver::SolverSettings;

/// diffsol's defaults: `OdeSolverOptions::max_error_test_failures`, `min_timestep`, the
/// explicit solvers' shrink and growth limits, and the controller's exponent
/// `pi_control_integral / (order + 1)` applied to the mean-square norm.
const MAX_REJECTIONS: usize = 40;
const MIN_STEP: f64 = 1e-13;
const MIN_FACTOR: f64 = 0.5;
const MAX_FACTOR: f64 = 2.0;
const EXPONENT: f64 = 0.5 / 5.0;
// the step factor's power is taken by `numeric::inverse_tenth_root_in_range`
const _: () = assert!(EXPONENT == 0.1);

/// One lane's place in its solve, beside its time and step (kept in rows of their own).
#[derive(Clone, Copy)]
struct Lane {
    /// Index of the next sample time.
    next: usize,
    rejections: usize,
    steps: usize,
}

/// The values of slot `s` of the state-major `rows` (`count` rows of `stride`).
fn column(rows: &[f64], count: usize, stride: usize, s: usize, out: &mut [f64]) {
    for (e, o) in out.iter_mut().enumerate().take(count) {
        *o = rows[e * stride + s];
    }
}

/// Solves `lanes` lanes of `eq` recorded at `times`, at most `slots` of them at a time (a
/// lane starts in the slot of one that finished); returns every sample time's values, lane
/// after lane (`out[time][lane * width + value]`).
pub(super) fn march_lanes<E: LaneEquations + ?Sized>(
    eq: &E,
    lanes: usize,
    slots: usize,
    times: &[f64],
    settings: &SolverSettings,
    guarded: bool,
) -> Result<Vec<Vec<f64>>> {
    let (n, nc, nb) = (eq.width(), eq.constants(), eq.block());
    let (rtol, atol) = (settings.rtol, settings.atol);
    let co = &*TSIT45;
    let slots = slots.clamp(1, lanes.max(1));
    // every array state-major: value e of slot s at [e * stride + s], the rows as long as
    // the slots that are still going
    let (stride, len) = (slots, slots * n);
    let (mut y, mut dy, mut ys, mut fnew) = (vec![0.0; len], vec![0.0; len], vec![0.0; len], vec![0.0; len]);
    let mut err = vec![0.0; len];
    let (mut c, mut b) = (vec![0.0; nc * slots], vec![0.0; nb * slots]);
    let (mut t, mut h, mut ts) = (vec![0.0; slots], vec![0.0; slots], vec![0.0; slots]);
    let (mut norms, mut factors) = (vec![0.0; slots], vec![0.0; slots]);
    // all ones where a lane's step is accepted, the mask its new values are taken through
    let mut accepted = vec![0u64; slots];
    let mut k = vec![0.0; STAGES * len];
    let mut out = vec![vec![0.0; lanes * n]; times.len()];
    let fail = |t: f64, message: String| SimError::Solver { time: t, message };
    let mut starter = Starter::new(n, nc, nb);
    let (mut lane_of, mut state) = (Vec::with_capacity(slots), Vec::with_capacity(slots));
    let mut waiting = 0..if times.is_empty() { 0 } else { lanes };
    for (s, lane) in waiting.by_ref().take(slots).enumerate() {
        h[s] = starter.start(eq, lane, (rtol, atol), co.order, times)?;
        starter.place(s, stride, &mut y, &mut dy, &mut c, &mut b);
        lane_of.push(lane);
        state.push(Lane { next: 0, rejections: 0, steps: 0 });
    }

    // lanes that are still going sit in the slots 0..active (a finished lane trades places
    // with the last active one) and the rows are `active` long, so that every shared loop
    // runs over the live values in one piece
    let mut active = lane_of.len();
    let start = std::time::Instant::now();
    let mut rounds = 0usize;
    let mut finished = Vec::with_capacity(lanes);
    while active > 0 {
        let (stride, len) = (active, active * n);
        rounds += 1;
        if rounds.is_multiple_of(16) && start.elapsed().as_secs_f64() > settings.max_seconds {
            let time = t[..active].iter().copied().fold(f64::INFINITY, f64::min);
            return Err(SimError::TimeBudget { max_seconds: settings.max_seconds, time });
        }
        let at = Slots { lanes: &lane_of[..active], stride, c: &c, b: &b };
        // first stage from the last one of the step before (first same as last)
        times_step(&mut k[..len], &dy[..len], &h[..active]);
        for i in 1..STAGES {
            // every live lane's stage input at once: y + sum_j a_ij k_j
            stage_input(i, &co.a[i], &y[..len], &k, len, &mut ys[..len]);
            for ((ts, &t), &h) in ts[..active].iter_mut().zip(&t[..active]).zip(&h[..active]) {
                *ts = t + co.c[i] * h;
            }
            eq.rhs(&at, &ys, &ts, &mut fnew);
            times_step(&mut k[i * len..(i + 1) * len], &fnew[..len], &h[..active]);
        }
        // ys holds every live lane's y + sum_j b_j k_j (the last stage is the new state) and
        // fnew the right-hand side there; then every live value's local error, every lane's
        // norm and step factor, each in a loop of its own
        local_error(&co.d, &k, len, &mut err[..len]);
        eq.norms(&at, &err, &y, (rtol, atol), &mut norms);
        step_factors(&norms[..active], &mut factors[..active]);
        for (s, lane) in state[..active].iter_mut().enumerate() {
            let (norm, factor) = (norms[s], factors[s]);
            accepted[s] = 0;
            if !norm.is_finite() {
                return Err(SimError::NonFinite { what: "local error".into(), time: t[s] });
            }
            if norm >= 1.0 {
                h[s] *= factor;
                lane.rejections += 1;
                if lane.rejections >= MAX_REJECTIONS {
                    return Err(fail(t[s], format!("{} error test failures in a row", lane.rejections)));
                }
                if h[s].abs() < MIN_STEP {
                    return Err(fail(t[s], "step size too small".into()));
                }
                continue;
            }
            accepted[s] = u64::MAX;
            lane.rejections = 0;
            lane.steps += 1;
            t[s] += h[s];
            h[s] *= factor;
            if guarded {
                if !(0..n).all(|e| ys[e * stride + s].is_finite()) {
                    return Err(SimError::NonFinite { what: "state".into(), time: t[s] });
                }
                if lane.steps > settings.max_steps {
                    return Err(SimError::StepBudget { max_steps: settings.max_steps, time: t[s] });
                }
            }
            if at_stop(t[s], &mut h[s], times[lane.next]) {
                let l = lane_of[s];
                column(&ys, n, stride, s, &mut out[lane.next][l * n..(l + 1) * n]);
                lane.next += 1;
                match times.get(lane.next) {
                    Some(&t_stop) => {
                        at_stop(t[s], &mut h[s], t_stop);
                    }
                    None => finished.push(s),
                }
            }
        }
        // the accepted lanes' new values and right-hand sides
        for e in 0..n {
            let r = e * stride..e * stride + active;
            for ((((y, dy), &ys), &f), &mask) in y[r.clone()]
                .iter_mut()
                .zip(&mut dy[r.clone()])
                .zip(&ys[r.clone()])
                .zip(&fnew[r])
                .zip(&accepted[..active])
            {
                *y = select(mask, ys, *y);
                *dy = select(mask, f, *dy);
            }
        }
        // finished slots in descending order, each traded with the last active slot; then the
        // rows shortened to the lanes still going
        while let Some(s) = finished.pop() {
            if let Some(lane) = waiting.next() {
                // the next waiting lane takes the finished one's slot
                (t[s], h[s]) = (0.0, starter.start(eq, lane, (rtol, atol), co.order, times)?);
                starter.place(s, stride, &mut y, &mut dy, &mut c, &mut b);
                lane_of[s] = lane;
                state[s] = Lane { next: 0, rejections: 0, steps: 0 };
                continue;
            }
            active -= 1;
            if s != active {
                state.swap(s, active);
                lane_of.swap(s, active);
                t.swap(s, active);
                h.swap(s, active);
                for e in 0..n {
                    y.swap(e * stride + s, e * stride + active);
                    dy.swap(e * stride + s, e * stride + active);
                }
                for i in 0..nc {
                    c.swap(i * stride + s, i * stride + active);
                }
                let (lo, hi) = b.split_at_mut(active * nb);
                lo[s * nb..(s + 1) * nb].swap_with_slice(&mut hi[..nb]);
            }
        }
        if active < stride {
            shorten_rows(&mut y, n, stride, active);
            shorten_rows(&mut dy, n, stride, active);
            shorten_rows(&mut c, nc, stride, active);
        }
    }
    Ok(out)
}

/// `k = h f` for every value of the state-major rows `f` (as long as `h`, one step per slot).
fn times_step(k: &mut [f64], f: &[f64], h: &[f64]) {
    for (k, f) in k.chunks_exact_mut(h.len()).zip(f.chunks_exact(h.len())) {
        for ((k, &f), &h) in k.iter_mut().zip(f).zip(h) {
            *k = h * f;
        }
    }
}

/// `new` where `mask` is all ones, `old` where it is zero, bit for bit (a blend the compiler
/// vectorises, where a branch would not).
#[inline(always)]
fn select(mask: u64, new: f64, old: f64) -> f64 {
    f64::from_bits((new.to_bits() & mask) | (old.to_bits() & !mask))
}

/// Rows of `from` values cut to their first `to` (< `from`) and closed up, in place.
fn shorten_rows(v: &mut [f64], rows: usize, from: usize, to: usize) {
    for e in 1..rows {
        // row e lands before the start of row e + 1, which is still to move
        v.copy_within(e * from..e * from + to, e * to);
    }
}

/// diffsol's step factor `0.9 * norm^(-1/10)` clamped to [0.5, 2] for every norm: 2 below
/// the norm where it reaches 2 (0.45^10), where the power is not taken; up to 1e9 the power
/// of [`inverse_tenth_root_in_range`] in a loop without branches (it vectorises), beyond
/// (and for a NaN) `f64::powf`'s, in a pass of its own.
fn step_factors(norms: &[f64], factors: &mut [f64]) {
    const AT_MAX: f64 = 3.405_062_891_601_562_5e-4 * (1.0 - 1e-9);
    const TOP: f64 = 1e9;
    for (factor, &norm) in factors.iter_mut().zip(norms) {
        let power = inverse_tenth_root_in_range(norm.clamp(AT_MAX, TOP));
        let f = (0.9 * power).clamp(MIN_FACTOR, MAX_FACTOR);
        *factor = if norm < AT_MAX { MAX_FACTOR } else { f };
    }
    for (factor, &norm) in factors.iter_mut().zip(norms) {
        if norm > TOP || norm.is_nan() {
            *factor = (0.9 * norm.powf(-EXPONENT)).clamp(MIN_FACTOR, MAX_FACTOR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortened_rows_keep_their_live_values_in_order() {
        // three rows of 4, the first 2 of each live
        let mut v: Vec<f64> = (0..12).map(f64::from).collect();
        shorten_rows(&mut v, 3, 4, 2);
        assert_eq!(v[..6], [0.0, 1.0, 4.0, 5.0, 8.0, 9.0]);
        let mut one: Vec<f64> = (0..6).map(f64::from).collect();
        shorten_rows(&mut one, 2, 3, 1);
        assert_eq!(one[..2], [0.0, 3.0]);
    }

    #[test]
    fn step_factors_are_diffsols_clamped_power() {
        let norms: Vec<f64> =
            (0..400).map(|i| 10f64.powf(-14.0 + 0.06 * i as f64)).chain([0.0, f64::INFINITY, f64::NAN]).collect();
        let mut factors = vec![0.0; norms.len()];
        step_factors(&norms, &mut factors);
        for (&norm, &got) in norms.iter().zip(&factors) {
            let want = (0.9 * norm.powf(-EXPONENT)).clamp(MIN_FACTOR, MAX_FACTOR);
            if norm.is_nan() {
                assert!(got.is_nan());
            } else {
                assert!((got - want).abs() <= 4.0 * f64::EPSILON * want, "norm {norm}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn select_takes_the_new_value_only_through_a_full_mask() {
        assert_eq!(select(u64::MAX, 1.5, -2.0), 1.5);
        assert_eq!(select(0, 1.5, -2.0), -2.0);
        assert!(select(0, f64::NAN, -0.0).to_bits() == (-0.0f64).to_bits());
    }
}
