//! Rodas4, a stiff solver without Newton iterations, for many solves of one device side by
//! side: Hairer and Wanner's Rosenbrock method of order 4 with an embedded order-3 error
//! estimate, L-stable and stiffly accurate (*Solving Ordinary Differential Equations II*,
//! IV.7; the coefficients of their `rodas.f`). A step factors `I / (h gamma) - J` once (J =
//! df/du at the step's start) and solves six linear systems with it, one right-hand side
//! each; where the device depends on time ([`OdeSystem::autonomous`]), df/dt at the step's
//! start costs one more (a forward difference).
//!
//! Why it is here: a device driven hard into a fast relaxation (the diode node on its clamp)
//! is stiff, and an explicit step is then limited by stability, not accuracy, so loosening
//! the Tsitouras tolerance does not make its solves cheaper; Rodas4's steps grow with the
//! tolerance wherever the device sits. The physics-aware training mode solves its forward
//! passes with it at a loose tolerance (`training.physics_solver`); evaluation on the physics
//! keeps the dataset's solver.
//!
//! Every lane takes its own steps (the controller of `rodas.f` on diffsol's mean-square norm
//! against the state at the step's start: factor `0.9 * norm^(-1/8)` clamped to [0.2, 5], no
//! growth right after a rejection, at most 40 rejections in a row, steps of at least 1e-13,
//! diffsol's first step for an order-3 estimate), so a lane's answer does not depend on its
//! companions; the values are state-major (value e of slot s at `[e * stride + s]`) so that
//! the stage arithmetic and the device's [`OdeSystem::rhs_lanes`] run as loops over the
//! slots. A finished lane leaves the loops (the last live slot moves into its place).

use crate::error::{Result, SimError};
use crate::ode::lane_start::at_stop;
use crate::ode_system::OdeSystem;
use crate::solver::SolverSettings;

mod linear;
mod tableau;

use linear::Factored;
use tableau::{A, ALPHA, C, D, GAMMA};

const MAX_REJECTIONS: usize = 40;
const MIN_STEP: f64 = 1e-13;
const MIN_FACTOR: f64 = 0.2;
const MAX_FACTOR: f64 = 6.0;

/// Where one live slot stands (its counts of steps and of rejections in a row are rows of
/// their own, beside its time and step).
#[derive(Clone, Copy)]
struct Lane {
    /// Which of the batch's lanes the slot solves.
    lane: usize,
    /// Index of the next sample time.
    next: usize,
}

/// Solves the `lanes` parameter blocks of `blocks` (`[q, p]`, `m` prepared values each) of
/// `system` at `times`; the states of every lane at every time (`[lane][time][state]`).
/// Never inlined: in the caller it changed how the Tsitouras lanes beside it compiled (the
/// digit network's physics 1.5x slower).
#[inline(never)]
pub(super) fn solve_rodas4<S: OdeSystem + ?Sized>(
    system: &S,
    blocks: &[f64],
    (lanes, m): (usize, usize),
    times: &[f64],
    settings: &SolverSettings,
    guarded: bool,
) -> Result<Vec<Vec<Vec<f64>>>> {
    let n = system.n_states();
    let block = blocks.len() / lanes.max(1);
    let np = block - m;
    let (rtol, atol) = (settings.rtol, settings.atol);
    let stride = lanes;
    let rows = |count: usize| vec![0.0; count * stride];
    let (mut y, mut u, mut f, mut f0, mut ft) = (rows(n), rows(n), rows(n), rows(n), rows(n));
    let (mut k, mut jac, mut g) = (rows(6 * n), rows(n * n), rows(n * system.n_dp_factors()));
    let (mut q, mut p) = (rows(m), vec![0.0; np * lanes]);
    let (mut t, mut h, mut ts, mut inv_h) = (rows(1), rows(1), rows(1), rows(1));
    let (mut norms, mut factors) = (rows(1), rows(1));
    // accepted steps and rejections in a row, counted in f64 (exact) so that their updates vectorise
    let (mut steps, mut rejections) = (rows(1), rows(1));
    let mut w = Factored::new(n, stride);
    let mut out = vec![vec![vec![0.0; n]; times.len()]; lanes];
    let mut live: Vec<Lane> = Vec::with_capacity(lanes);
    let started = std::time::Instant::now();
    let mut y0 = vec![0.0; n];
    for (s, qp) in blocks.chunks_exact(block.max(1)).enumerate() {
        let (qs, ps) = qp.split_at(m);
        for (i, &v) in qs.iter().enumerate() {
            q[i * stride + s] = v;
        }
        p[s * np..(s + 1) * np].copy_from_slice(ps);
        system.init(ps, &mut y0);
        for (e, &v) in y0.iter().enumerate() {
            y[e * stride + s] = v;
        }
        live.push(Lane { lane: s, next: 0 });
    }
    first_steps(system, lanes, stride, (&y, &q, &p), (rtol, atol), (&mut f0, &mut f, &mut u), &mut h);
    let mut steps_taken = 0usize;
    while !live.is_empty() {
        // slots on a sample time record it (and leave when it was the last); the rest clip
        // their step so as not to pass it
        let mut s = 0;
        while s < live.len() {
            let lane = &mut live[s];
            if at_stop(t[s], &mut h[s], times[lane.next]) {
                for e in 0..n {
                    out[lane.lane][lane.next][e] = y[e * stride + s];
                }
                lane.next += 1;
                if lane.next == times.len() {
                    let last = live.len() - 1;
                    swap_slots(
                        s,
                        last,
                        stride,
                        &mut [&mut y, &mut q, &mut t, &mut h, &mut steps, &mut rejections],
                        (&mut p, np),
                    );
                    live.swap_remove(s);
                    continue;
                }
                continue;
            }
            if h[s] < MIN_STEP {
                return Err(SimError::Solver {
                    time: t[s],
                    message: format!("rodas4: step {:e} below {MIN_STEP:e}", h[s]),
                });
            }
            s += 1;
        }
        let nl = live.len();
        if nl == 0 {
            break;
        }
        system.rhs_jacobian_factors_lanes(nl, stride, &y, &q, &p[..nl * np], &t, (&mut f0, &mut jac, &mut g));
        if system.autonomous() {
            ft.fill(0.0);
        } else {
            time_derivative(system, nl, stride, (&y, &q, &p[..nl * np]), (&t, &mut ts), (&f0, &mut f, &mut ft));
        }
        for (inv, &h) in inv_h[..nl].iter_mut().zip(&h[..nl]) {
            *inv = 1.0 / h;
        }
        w.factor(nl, &jac, &h, GAMMA);
        for i in 0..6 {
            if i > 0 {
                stage_input(i, n, nl, stride, &y, &k, &mut u);
                for ((ts, &t), &h) in ts[..nl].iter_mut().zip(&t[..nl]).zip(&h[..nl]) {
                    *ts = t + ALPHA[i] * h;
                }
                system.rhs_lanes(nl, stride, &u, &q, &p[..nl * np], &ts, &mut f);
            }
            let fi = if i == 0 { &f0 } else { &f };
            stage_rhs(i, n, nl, stride, (fi, &ft), (&h, &inv_h), &mut k);
            w.solve(nl, &mut k[i * n * stride..(i + 1) * n * stride]);
        }
        // the answer (stiffly accurate: the last stage's input plus k6) and its error k6
        norms[..nl].fill(0.0);
        for e in 0..n {
            let (k6, ue, ye) = (&k[(5 * n + e) * stride..][..nl], &mut u[e * stride..][..nl], &y[e * stride..][..nl]);
            for (((u, &k6), &y), norm) in ue.iter_mut().zip(k6).zip(ye).zip(&mut norms[..nl]) {
                *u += k6;
                let v = k6 / (y.abs() * rtol + atol);
                *norm += v * v;
            }
        }
        // every slot's step factor in one loop that vectorises (a non-finite answer shrinks
        // the step as a non-finite norm does)
        for e in 0..n {
            for (norm, &v) in norms[..nl].iter_mut().zip(&u[e * stride..][..nl]) {
                if !v.is_finite() {
                    *norm = f64::INFINITY;
                }
            }
        }
        // branch-free (selects), so that it vectorises: a NaN norm gives the smallest factor
        // and a rejection
        let inv_n = 1.0 / n as f64;
        for (factor, &norm) in factors[..nl].iter_mut().zip(&norms[..nl]) {
            let norm = norm * inv_n;
            let f = 0.9 / norm.sqrt().sqrt().sqrt();
            let f = if f.is_nan() { MIN_FACTOR } else { f.clamp(MIN_FACTOR, MAX_FACTOR) };
            // a rejected step keeps its factor with a minus sign
            *factor = if norm <= 1.0 { f } else { -f };
        }
        for e in 0..n {
            let (ye, ue) = (&mut y[e * stride..][..nl], &u[e * stride..][..nl]);
            for ((y, &u), &f) in ye.iter_mut().zip(ue).zip(&factors[..nl]) {
                *y = if f > 0.0 { u } else { *y };
            }
        }
        let slots = t[..nl].iter_mut().zip(&mut h[..nl]).zip(&mut steps[..nl]).zip(&mut rejections[..nl]);
        for ((((t, h), steps), rejections), &factor) in slots.zip(&factors[..nl]) {
            let (f, accepted) = (factor.abs(), factor > 0.0);
            *t += if accepted { *h } else { 0.0 };
            // no growth right after a rejection
            *h *= if accepted && *rejections > 0.0 { f.min(1.0) } else { f };
            *steps += if accepted { 1.0 } else { 0.0 };
            *rejections = if accepted { 0.0 } else { *rejections + 1.0 };
        }
        if let Some(s) = (0..nl).find(|&s| rejections[s] > MAX_REJECTIONS as f64) {
            return Err(SimError::Solver {
                time: t[s],
                message: format!("rodas4: {MAX_REJECTIONS} rejected steps in a row"),
            });
        }
        if guarded && let Some(s) = (0..nl).find(|&s| steps[s] > settings.max_steps as f64) {
            return Err(SimError::StepBudget { max_steps: settings.max_steps, time: t[s] });
        }
        steps_taken += 1;
        if guarded && steps_taken.is_multiple_of(16) && started.elapsed().as_secs_f64() > settings.max_seconds {
            return Err(SimError::TimeBudget { max_seconds: settings.max_seconds, time: t[0] });
        }
    }
    Ok(out)
}

/// `u = y + sum_j A[i][j] k_j` for the `nl` live slots.
#[inline]
fn stage_input(i: usize, n: usize, nl: usize, stride: usize, y: &[f64], k: &[f64], u: &mut [f64]) {
    for e in 0..n {
        let ue = &mut u[e * stride..][..nl];
        ue.copy_from_slice(&y[e * stride..][..nl]);
        for (j, &a) in A[i][..i].iter().enumerate() {
            let kj = &k[(j * n + e) * stride..][..nl];
            for (u, &kj) in ue.iter_mut().zip(kj) {
                *u += a * kj;
            }
        }
    }
}

/// Stage i's right-hand side `f + sum_j C[i][j] k_j / h + D[i] h df/dt`, into `k_i`.
#[inline]
fn stage_rhs(
    i: usize,
    n: usize,
    nl: usize,
    stride: usize,
    (f, ft): (&[f64], &[f64]),
    (h, inv_h): (&[f64], &[f64]),
    k: &mut [f64],
) {
    let (done, rest) = k.split_at_mut(i * n * stride);
    for e in 0..n {
        let ki = &mut rest[e * stride..][..nl];
        let (fe, fte) = (&f[e * stride..][..nl], &ft[e * stride..][..nl]);
        // the couplings first, then f: sum_j C k_j / h + f + D h ft
        ki.fill(0.0);
        for (j, &c) in C[i][..i].iter().enumerate() {
            let kj = &done[(j * n + e) * stride..][..nl];
            for (k, &kj) in ki.iter_mut().zip(kj) {
                *k += c * kj;
            }
        }
        for ((((k, &f), &ft), &inv_h), &h) in ki.iter_mut().zip(fe).zip(fte).zip(&inv_h[..nl]).zip(&h[..nl]) {
            *k = f + *k * inv_h + D[i] * h * ft;
        }
    }
}

/// df/dt at every live slot's (t, y) by a forward difference, into `ft` (`f` and `ts` scratch).
fn time_derivative<S: OdeSystem + ?Sized>(
    system: &S,
    nl: usize,
    stride: usize,
    (y, q, p): (&[f64], &[f64], &[f64]),
    (t, ts): (&[f64], &mut [f64]),
    (f0, f, ft): (&[f64], &mut [f64], &mut [f64]),
) {
    for s in 0..nl {
        ts[s] = t[s] + f64::EPSILON.sqrt() * t[s].abs().max(1e-5);
    }
    system.rhs_lanes(nl, stride, y, q, p, ts, f);
    for e in 0..system.n_states() {
        for s in 0..nl {
            let i = e * stride + s;
            ft[i] = (f[i] - f0[i]) / (ts[s] - t[s]);
        }
    }
}

/// Moves slot `from`'s values into slot `to` (state-major `rows`, and the `np`-value blocks of `p`).
fn swap_slots(to: usize, from: usize, stride: usize, rows: &mut [&mut Vec<f64>], (p, np): (&mut [f64], usize)) {
    if to == from {
        return;
    }
    for r in rows.iter_mut() {
        for row in r.chunks_exact_mut(stride) {
            row.swap(to, from);
        }
    }
    for j in 0..np {
        p.swap(to * np + j, from * np + j);
    }
}

/// diffsol's first step (Hairer-Norsett-Wanner II.4) for an order-3 estimate, for every
/// lane from its initial values `y` (two right-hand sides, in lanes), into `h`; `f0`, `f1`
/// and `y1` scratch rows.
fn first_steps<S: OdeSystem + ?Sized>(
    system: &S,
    lanes: usize,
    stride: usize,
    (y, q, p): (&[f64], &[f64], &[f64]),
    (rtol, atol): (f64, f64),
    (f0, f1, y1): (&mut [f64], &mut [f64], &mut [f64]),
    h: &mut [f64],
) {
    let n = system.n_states();
    let (mut ts, mut d) = (vec![0.0; lanes], vec![0.0; lanes]);
    let ms = |v: &[f64], s: usize| {
        let sum: f64 = (0..n).map(|e| (v[e * stride + s] / (y[e * stride + s].abs() * rtol + atol)).powi(2)).sum();
        (sum / n as f64).sqrt()
    };
    ts[..lanes].fill(0.0);
    system.rhs_lanes(lanes, stride, y, q, p, &ts, f0);
    for s in 0..lanes {
        let (d0, d1) = (ms(y, s), ms(f0, s));
        d[s] = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * (d0 / d1) };
        ts[s] = d[s];
        for e in 0..n {
            y1[e * stride + s] = y[e * stride + s] + d[s] * f0[e * stride + s];
        }
    }
    system.rhs_lanes(lanes, stride, y1, q, p, &ts, f1);
    for s in 0..lanes {
        for e in 0..n {
            y1[e * stride + s] = f1[e * stride + s] - f0[e * stride + s];
        }
        let h0 = d[s];
        let max_d = ms(f0, s).max(ms(y1, s) / h0);
        let h1 = if max_d < 1e-15 { (h0 * 1e-3).max(1e-6) } else { (0.01 / max_d).powf(0.25) };
        h[s] = (100.0 * h0).min(h1);
    }
}

#[cfg(test)]
#[path = "rodas4_tests.rs"]
mod tests;
