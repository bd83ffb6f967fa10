//! Forward sensitivities of many solves of one explicit device, as lanes that each take
//! their own steps ([`super::lanes`]).
//!
//! A lane holds the states `u` and one sensitivity column `s_j = du/dp_j` per parameter of
//! `p = [x, A]`, integrated together by the same Tsitouras 5(4) stages: `s_j' = J s_j +
//! df/dp_j`, with the Jacobian `J` taken at each stage's states. That is what diffsol's
//! `tsit45_sens` does; its step control is copied too: the first step chosen from the states
//! alone, and the error norm the largest of the states' and each column's mean squares.

use std::cell::RefCell;

use crate::error::Result;
use crate::ode::factored_lanes::Factored;
use crate::ode::lane_march::march_lanes;
use crate::ode::lanes::{LaneEquations, Slots, each_lane, each_norm, mean_square, sensitivity_rhs};
use crate::ode_system::{OdeSystem, Trajectory};
use crate::solver::SolverSettings;

/// The states and their sensitivity columns of every lane.
pub(super) struct Sensitivities<'a, S: ?Sized> {
    system: &'a S,
    ps: &'a [&'a [f64]],
    /// Prepared constants, `m` per lane.
    qs: Vec<f64>,
    m: usize,
    n: usize,
    np: usize,
    /// The Jacobian (column after column) and df/dp, reused by every call.
    scratch: RefCell<(Vec<f64>, Vec<f64>)>,
}

impl<S: OdeSystem + ?Sized> LaneEquations for Sensitivities<'_, S> {
    fn width(&self) -> usize {
        self.n * (1 + self.np)
    }

    fn states(&self) -> usize {
        self.n
    }

    fn init(&self, lane: usize, y: &mut [f64]) {
        let p = self.ps[lane];
        let (u, s) = y.split_at_mut(self.n);
        self.system.init(p, u);
        let mut v = vec![0.0; self.np];
        for (j, col) in s.chunks_exact_mut(self.n).enumerate() {
            v[j] = 1.0;
            self.system.init_dp_mul(p, &v, col);
            v[j] = 0.0;
        }
    }

    fn rhs(&self, at: &Slots, y: &[f64], t: &[f64], dy: &mut [f64]) {
        each_lane(self.width(), at, y, t, dy, |lane, y, t, dy| self.rhs_lane(lane, y, t, dy));
    }

    /// The largest of the states' and each column's mean square.
    fn norms(&self, at: &Slots, err: &[f64], y: &[f64], (rtol, atol): (f64, f64), out: &mut [f64]) {
        let n = self.n;
        each_norm(self.width(), at, err, y, out, |_, err, y| {
            err.chunks_exact(n)
                .zip(y.chunks_exact(n))
                .fold(0.0, |worst, (e, y)| worst.max(mean_square(e, y, rtol, atol)))
        });
    }
}

impl<'a, S: OdeSystem + ?Sized> Sensitivities<'a, S> {
    /// The unfactored equations of `ps` (prepared constants `qs`, `m` per lane).
    fn new(system: &'a S, ps: &'a [&'a [f64]], qs: Vec<f64>, m: usize) -> Self {
        let (n, np) = (system.n_states(), ps.first().map_or(0, |p| p.len()));
        let scratch = RefCell::new((vec![0.0; n * n], vec![0.0; n * np]));
        Self { system, ps, qs, m, n, np, scratch }
    }

    /// Each lane's states and sensitivity columns at the `times` sample times from the
    /// marched values `flat`.
    fn trajectories(&self, flat: &[Vec<f64>], times: usize) -> Vec<Trajectory> {
        let (n, width) = (self.n, self.width());
        (0..self.ps.len())
            .map(|l| {
                let at = |t: usize| &flat[t][l * width..(l + 1) * width];
                let states = (0..times).map(|t| at(t)[..n].to_vec()).collect();
                let sens = (0..times).map(|t| at(t)[n..].chunks_exact(n).map(<[f64]>::to_vec).collect()).collect();
                (states, sens)
            })
            .collect()
    }

    /// Lane `lane`'s right-hand side: the states' and every column's.
    fn rhs_lane(&self, lane: usize, y: &[f64], t: f64, dy: &mut [f64]) {
        let (n, p) = (self.n, self.ps[lane]);
        let q = &self.qs[lane * self.m..(lane + 1) * self.m];
        let (u, s) = y.split_at(n);
        let (du, ds) = dy.split_at_mut(n);
        let mut scratch = self.scratch.borrow_mut();
        let (jac, dfdp) = &mut *scratch;
        self.system.rhs_jacobian_prepared(u, q, p, t, du, jac);
        self.system.rhs_dp(u, p, t, dfdp);
        sensitivity_rhs(n, jac, s, dfdp, ds);
    }
}

/// Solves `system` and its forward sensitivities for every parameter vector of `ps` (all of
/// the same length) as lanes of one batch with Tsitouras 5(4); one failing lane fails the
/// batch. A device that factors its df/dp ([`OdeSystem::n_dp_factors`]) integrates one
/// sensitivity per factor ([`super::factored_lanes`]).
pub(crate) fn solve_sens_lanes<S: OdeSystem + ?Sized>(
    system: &S,
    ps: &[&[f64]],
    settings: &SolverSettings,
) -> Result<Vec<Trajectory>> {
    let times = system.sample_times();
    Ok(match sens_equations(system, ps, &times)? {
        SensEquations::Factored(eq) => {
            eq.trajectories(&march_lanes(&eq, ps.len(), system.batch_lanes(), &times, settings, true)?)
        }
        SensEquations::Full(eq) => {
            eq.trajectories(&march_lanes(&eq, ps.len(), system.batch_lanes(), &times, settings, true)?, times.len())
        }
    })
}

/// Every lane's prepared constants, `m` a lane, and `m`.
fn prepared<S: OdeSystem + ?Sized>(system: &S, ps: &[&[f64]]) -> (Vec<f64>, usize) {
    let m = system.n_prepared();
    let mut qs = vec![0.0; ps.len() * m];
    for (p, q) in ps.iter().zip(qs.chunks_exact_mut(m.max(1))) {
        system.prepare(p, &mut q[..m]);
    }
    (qs, m)
}

/// The equations [`solve_sens_lanes`] marches: factored where the device factors its df/dp.
pub(super) enum SensEquations<'a, S: ?Sized> {
    /// One sensitivity per factor ([`super::factored_lanes`]).
    Factored(Factored<'a, S>),
    /// One sensitivity per parameter.
    Full(Sensitivities<'a, S>),
}

impl<S: OdeSystem + ?Sized> SensEquations<'_, S> {
    /// The equations, to be counted and priced ([`super::sens_floor`]).
    pub(super) fn lanes(&self) -> &dyn LaneEquations {
        match self {
            Self::Factored(eq) => eq,
            Self::Full(eq) => eq,
        }
    }
}

/// The equations of `ps` (prepared here), sampled at `times`.
pub(super) fn sens_equations<'a, S: OdeSystem + ?Sized>(
    system: &'a S,
    ps: &'a [&'a [f64]],
    times: &[f64],
) -> Result<SensEquations<'a, S>> {
    let (qs, m) = prepared(system, ps);
    Ok(match Factored::new(system, ps, qs.clone(), m, times)? {
        Some(eq) => SensEquations::Factored(eq),
        None => SensEquations::Full(Sensitivities::new(system, ps, qs, m)),
    })
}
