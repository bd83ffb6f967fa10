//! The floor of a device solve: what its equations alone cost. A solve evaluates the
//! right-hand side and the Jacobian-vector product some number of times; each evaluation,
//! timed on its own at the states the solver visits, has a cost; the floor is their sum.
//! The time of a whole solve against that floor says how much the solver machinery around
//! the equations costs (building the problem, the step control, the linear algebra).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::bench::median;
use crate::error::Result;
use crate::ode::solve;
use crate::ode_system::OdeSystem;
use crate::solver::SolverSettings;
use crate::spec::DeviceSpec;

/// One device's solve against its floor (single thread).
#[derive(Clone, Debug, PartialEq)]
pub struct Floor {
    /// Right-hand-side evaluations per solve (mean over the points).
    pub rhs_per_solve: f64,
    /// Jacobian-vector products per solve (mean).
    pub jac_per_solve: f64,
    /// Cost of one right-hand side, nanoseconds (median of the repeats).
    pub rhs_ns: f64,
    /// Cost of one Jacobian-vector product, nanoseconds (median of the repeats).
    pub jac_ns: f64,
    /// Time of one whole solve, microseconds (median of the repeats).
    pub solve_us: f64,
}

impl Floor {
    /// The floor of one solve, microseconds: evaluations times their cost.
    pub fn floor_us(&self) -> f64 {
        (self.rhs_per_solve * self.rhs_ns + self.jac_per_solve * self.jac_ns) / 1000.0
    }

    /// Time of a solve over its floor (1 = nothing but the equations).
    pub fn ratio(&self) -> f64 {
        self.solve_us / self.floor_us()
    }
}

/// Measures `system` at the parameter vectors `points` (`p = [x, A]`) with `settings`,
/// `repeats` times; medians are reported.
pub fn measure<S: OdeSystem>(
    system: &S,
    settings: &SolverSettings,
    points: &[Vec<f64>],
    repeats: usize,
) -> Result<Floor> {
    let counted = Counted { inner: system, rhs: AtomicUsize::new(0), jac: AtomicUsize::new(0) };
    let mut visited = Vec::with_capacity(points.len());
    for p in points {
        let states = solve(&counted, p, settings, false)?;
        visited.push((p.clone(), states.last().cloned().unwrap_or_else(|| vec![0.0; system.n_states()])));
    }
    let n = points.len().max(1) as f64;
    let (rhs_per_solve, jac_per_solve) =
        (counted.rhs.load(Ordering::Relaxed) as f64 / n, counted.jac.load(Ordering::Relaxed) as f64 / n);
    let mut solve_times = Vec::new();
    let mut rhs_times = Vec::new();
    let mut jac_times = Vec::new();
    let states = system.n_states();
    let (mut du, mut jv, v) = (vec![0.0; states], vec![0.0; states], vec![1.0; states]);
    // enough evaluations per point that the clock's resolution does not matter
    let calls = 64usize;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        for p in points {
            std::hint::black_box(solve(system, std::hint::black_box(p), settings, false)?);
        }
        solve_times.push(t.elapsed().as_secs_f64() * 1e6 / n);
        let t = Instant::now();
        for (p, u) in &visited {
            for k in 0..calls {
                system.rhs(std::hint::black_box(u), p, k as f64 * 1e-9, &mut du);
                std::hint::black_box(&du);
            }
        }
        rhs_times.push(t.elapsed().as_secs_f64() * 1e9 / (n * calls as f64));
        let t = Instant::now();
        for (p, u) in &visited {
            for k in 0..calls {
                system.jac_mul(std::hint::black_box(u), p, k as f64 * 1e-9, &v, &mut jv);
                std::hint::black_box(&jv);
            }
        }
        jac_times.push(t.elapsed().as_secs_f64() * 1e9 / (n * calls as f64));
    }
    Ok(Floor {
        rhs_per_solve,
        jac_per_solve,
        rhs_ns: median(&mut rhs_times),
        jac_ns: median(&mut jac_times),
        solve_us: median(&mut solve_times),
    })
}

/// A system that counts its evaluations and otherwise is the one it wraps.
struct Counted<'a, S> {
    inner: &'a S,
    rhs: AtomicUsize,
    jac: AtomicUsize,
}

impl<S: OdeSystem> OdeSystem for Counted<'_, S> {
    fn spec(&self) -> &DeviceSpec {
        self.inner.spec()
    }
    fn n_states(&self) -> usize {
        self.inner.n_states()
    }
    fn init(&self, p: &[f64], u0: &mut [f64]) {
        self.inner.init(p, u0);
    }
    fn rhs(&self, u: &[f64], p: &[f64], t: f64, du: &mut [f64]) {
        self.rhs.fetch_add(1, Ordering::Relaxed);
        self.inner.rhs(u, p, t, du);
    }
    fn jac_mul(&self, u: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]) {
        self.jac.fetch_add(1, Ordering::Relaxed);
        self.inner.jac_mul(u, p, t, v, jv);
    }
    fn sample_times(&self) -> Vec<f64> {
        self.inner.sample_times()
    }
    fn observe(&self, states: &[Vec<f64>], p: &[f64], y: &mut [f64]) {
        self.inner.observe(states, p, y);
    }
    fn default_solver(&self) -> SolverSettings {
        self.inner.default_solver()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::{DiodeNode, OdeDeviceConfig};

    #[test]
    fn counts_evaluations_and_prices_them() {
        let node = DiodeNode::new(&OdeDeviceConfig { fan_in: 2, constants: Default::default() }).unwrap();
        let settings = node.default_solver();
        let points = vec![vec![0.3, -0.5, 0.8, 0.2], vec![-0.9, 0.4, -0.1, 0.7]];
        let f = measure(&node, &settings, &points, 1).unwrap();
        assert!(f.rhs_per_solve >= 10.0, "{f:?}");
        assert!(f.rhs_ns > 0.0 && f.jac_ns > 0.0 && f.solve_us > 0.0 && f.floor_us() > 0.0, "{f:?}");
        // counting does not change the solution
        let counted = Counted { inner: &node, rhs: AtomicUsize::new(0), jac: AtomicUsize::new(0) };
        assert_eq!(
            solve(&counted, &points[0], &settings, false).unwrap(),
            solve(&node, &points[0], &settings, false).unwrap()
        );
    }
}
