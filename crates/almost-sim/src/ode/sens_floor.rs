//! The floor of forward-sensitivity solves (what the exact training mode asks of every
//! device). A sensitivity solve evaluates, some number of times, the device's right-hand
//! side with its Jacobian, its parameter derivative (the factors `g_r` where the device
//! factors df/dp, else every column of df/dp) and every sensitivity's `g + J s`; each
//! evaluation, replayed on its own through the device's calls at the values the solve
//! visited, has a cost; the floor is their product. Counted on the lanes' march of
//! [`super::sens_lanes`], one point at a time (a lane's steps do not depend on the lanes
//! beside it).

use std::cell::RefCell;
use std::time::Instant;

use crate::error::Result;
use crate::floor::Floor;
use crate::ode::lane_march::march_lanes;
use crate::ode::lanes::{LaneEquations, Slots, sensitivity_rhs};
use crate::ode::sens_lanes::{SensEquations, sens_equations, solve_sens_lanes};
use crate::ode_system::OdeSystem;
use crate::solver::SolverSettings;
use crate::timing::median;

/// One evaluation a lane asked for: its values (states, then sensitivities) and its time.
struct Evaluation {
    y: Vec<f64>,
    t: f64,
    /// The lane evaluated, for the tests to follow one lane among several.
    #[cfg(test)]
    lane: usize,
    /// The right-hand side the march got back, for the tests to compare a replay with.
    #[cfg(test)]
    dy: Vec<f64>,
}

/// Equations that record every evaluation asked of them and otherwise are the ones they wrap.
struct Counting<'a> {
    inner: &'a dyn LaneEquations,
    log: RefCell<Vec<Evaluation>>,
}

impl LaneEquations for Counting<'_> {
    fn width(&self) -> usize {
        self.inner.width()
    }
    fn states(&self) -> usize {
        self.inner.states()
    }
    fn constants(&self) -> usize {
        self.inner.constants()
    }
    fn block(&self) -> usize {
        self.inner.block()
    }
    fn fill(&self, lane: usize, c: &mut [f64], b: &mut [f64]) {
        self.inner.fill(lane, c, b);
    }
    fn init(&self, lane: usize, y: &mut [f64]) {
        self.inner.init(lane, y);
    }
    fn rhs(&self, at: &Slots, y: &[f64], t: &[f64], dy: &mut [f64]) {
        self.inner.rhs(at, y, t, dy);
        let (width, mut log) = (self.width(), self.log.borrow_mut());
        for s in 0..at.lanes.len() {
            log.push(Evaluation {
                y: (0..width).map(|e| y[e * at.stride + s]).collect(),
                t: t[s],
                #[cfg(test)]
                lane: at.lanes[s],
                #[cfg(test)]
                dy: (0..width).map(|e| dy[e * at.stride + s]).collect(),
            });
        }
    }
    fn norms(&self, at: &Slots, err: &[f64], y: &[f64], tolerances: (f64, f64), out: &mut [f64]) {
        self.inner.norms(at, err, y, tolerances, out);
    }
}

/// One point's sensitivity equations as the device evaluates them: `p`, its prepared
/// constants `q`, whether df/dp is factored, and scratch for the Jacobian and df/dp.
struct Replay<'a, S: ?Sized> {
    system: &'a S,
    p: &'a [f64],
    q: Vec<f64>,
    factored: bool,
    jac: Vec<f64>,
    dfdp: Vec<f64>,
}

impl<'a, S: OdeSystem + ?Sized> Replay<'a, S> {
    fn new(system: &'a S, p: &'a [f64], factored: bool) -> Self {
        let n = system.n_states();
        let mut q = vec![0.0; system.n_prepared()];
        system.prepare(p, &mut q);
        let columns = if factored { system.n_dp_factors() } else { p.len() };
        Self { system, p, q, factored, jac: vec![0.0; n * n], dfdp: vec![0.0; n * columns] }
    }

    /// The states' and every sensitivity's right-hand side at `y` (states, then the
    /// sensitivities) and `t` into `dy`: the device's calls the lanes make for one lane.
    fn evaluate(&mut self, y: &[f64], t: f64, dy: &mut [f64]) {
        let n = self.system.n_states();
        let (u, s) = y.split_at(n);
        let (du, ds) = dy.split_at_mut(n);
        self.system.rhs_jacobian_prepared(u, &self.q, self.p, t, du, &mut self.jac);
        if self.factored {
            self.system.dp_factors(u, &self.q, self.p, t, &mut self.dfdp);
        } else {
            self.system.rhs_dp(u, self.p, t, &mut self.dfdp);
        }
        sensitivity_rhs(n, &self.jac, s, &self.dfdp, ds);
    }
}

/// Measures the forward-sensitivity solves of an explicit (Tsitouras 5(4)) `system` at the
/// parameter vectors `points` (`p = [x, A]`, all of one length) with `settings`, `repeats`
/// times (medians reported). In the [`Floor`] returned, an evaluation is one lane's whole
/// right-hand side through the device's calls (states, Jacobian, df/dp or its factors,
/// every sensitivity's `g + J s`: `rhs_per_solve`, `rhs_ns`; no separate Jacobian
/// products), `solve_us` a point's sensitivity solve alone and `batch_us` per point in
/// batches of the device's lanes, the way the exact mode asks for them.
pub(crate) fn measure_sens<S: OdeSystem + ?Sized>(
    system: &S,
    settings: &SolverSettings,
    points: &[Vec<f64>],
    repeats: usize,
) -> Result<Floor> {
    let times = system.sample_times();
    let mut visited = Vec::with_capacity(points.len());
    for p in points {
        let single: [&[f64]; 1] = [p];
        let eq = sens_equations(system, &single, &times)?;
        let counting = Counting { inner: eq.lanes(), log: RefCell::new(Vec::new()) };
        march_lanes(&counting, 1, 1, &times, settings, false)?;
        let log = counting.log.into_inner();
        let factored = matches!(eq, SensEquations::Factored(_));
        visited.push((Replay::new(system, p, factored), log, eq.lanes().width()));
    }
    let n = points.len().max(1) as f64;
    let total: usize = visited.iter().map(|v| v.1.len()).sum();
    let refs: Vec<&[f64]> = points.iter().map(Vec::as_slice).collect();
    let (mut solve_times, mut batch_times, mut eval_times) = (vec![], vec![], vec![]);
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        for p in &refs {
            std::hint::black_box(solve_sens_lanes(system, std::hint::black_box(&[*p]), settings)?);
        }
        solve_times.push(t.elapsed().as_secs_f64() * 1e6 / n);
        let t = Instant::now();
        for chunk in refs.chunks(crate::ode::BATCH) {
            std::hint::black_box(solve_sens_lanes(system, std::hint::black_box(chunk), settings)?);
        }
        batch_times.push(t.elapsed().as_secs_f64() * 1e6 / n);
        // each evaluation replayed 8 times, so that the clock's resolution does not matter
        let t = Instant::now();
        for _ in 0..8 {
            for (replay, log, width) in &mut visited {
                let mut dy = vec![0.0; *width];
                for e in log.iter() {
                    replay.evaluate(std::hint::black_box(&e.y), e.t, &mut dy);
                    std::hint::black_box(&dy);
                }
            }
        }
        eval_times.push(t.elapsed().as_secs_f64() * 1e9 / (8 * total.max(1)) as f64);
    }
    Ok(Floor {
        rhs_per_solve: total as f64 / n,
        jac_per_solve: 0.0,
        rhs_ns: median(&mut eval_times),
        jac_ns: 0.0,
        solve_us: median(&mut solve_times),
        batch_us: median(&mut batch_times),
    })
}

#[cfg(test)]
#[path = "sens_floor_tests.rs"]
mod tests;
