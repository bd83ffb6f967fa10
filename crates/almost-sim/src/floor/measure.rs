//! Measuring a device's solve against its floor ([`super::Floor`]): the evaluations counted
//! in solo solves, each replayed and timed on its own.

use std::sync::Mutex;
use std::time::Instant;

use crate::error::Result;
use crate::ode::solve::{solve, solve_lanes};
use crate::ode_system::BATCH;
use crate::ode_system::OdeSystem;
use crate::solver::SolverSettings;
use crate::spec::DeviceSpec;
use crate::timing::median;

use super::Floor;

/// One evaluation the solver asked for: the state and the time.
type Call = (Vec<f64>, f64);

/// Measures `system` at the parameter vectors `points` (`p = [x, A]`) with `settings`,
/// `repeats` times; medians are reported. The evaluations are priced by replaying, on their
/// own, exactly the ones each solve asked for (with the device's prepared constants, as the
/// solver calls them).
pub fn measure<S: OdeSystem>(
    system: &S,
    settings: &SolverSettings,
    points: &[Vec<f64>],
    repeats: usize,
) -> Result<Floor> {
    let counted = Counted { inner: system, rhs: Mutex::new(Vec::new()), jac: Mutex::new(Vec::new()) };
    let mut visited = Vec::with_capacity(points.len());
    for p in points {
        solve(&counted, p, settings, false)?;
        let rhs = std::mem::take(&mut *counted.rhs.lock().unwrap_or_else(|e| e.into_inner()));
        let jac = std::mem::take(&mut *counted.jac.lock().unwrap_or_else(|e| e.into_inner()));
        let mut q = vec![0.0; system.n_prepared()];
        system.prepare(p, &mut q);
        visited.push((p.as_slice(), q, rhs, jac));
    }
    let n = points.len().max(1) as f64;
    let rhs_total: usize = visited.iter().map(|v| v.2.len()).sum();
    let jac_total: usize = visited.iter().map(|v| v.3.len()).sum();
    let states = system.n_states();
    let (mut du, mut jv, v) = (vec![0.0; states], vec![0.0; states], vec![1.0; states]);
    let refs: Vec<&[f64]> = points.iter().map(Vec::as_slice).collect();
    let (mut solve_times, mut batch_times, mut rhs_times, mut jac_times) = (vec![], vec![], vec![], vec![]);
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        for p in points {
            std::hint::black_box(solve(system, std::hint::black_box(p), settings, false)?);
        }
        solve_times.push(t.elapsed().as_secs_f64() * 1e6 / n);
        let t = Instant::now();
        for lanes in refs.chunks(BATCH) {
            std::hint::black_box(solve_lanes(system, std::hint::black_box(lanes), settings, false)?);
        }
        batch_times.push(t.elapsed().as_secs_f64() * 1e6 / n);
        // each evaluation replayed 8 times, so that the clock's resolution does not matter
        let t = Instant::now();
        for _ in 0..8 {
            for (p, q, rhs, _) in &visited {
                for (u, time) in rhs {
                    system.rhs_prepared(std::hint::black_box(u), q, p, *time, &mut du);
                    std::hint::black_box(&du);
                }
            }
        }
        rhs_times.push(t.elapsed().as_secs_f64() * 1e9 / (8 * rhs_total.max(1)) as f64);
        let t = Instant::now();
        for _ in 0..8 {
            for (p, q, _, jac) in &visited {
                for (u, time) in jac {
                    system.jac_mul_prepared(std::hint::black_box(u), q, p, *time, &v, &mut jv);
                    std::hint::black_box(&jv);
                }
            }
        }
        // no products asked for (an explicit method): nothing to price
        jac_times.push(if jac_total == 0 { 0.0 } else { t.elapsed().as_secs_f64() * 1e9 / (8 * jac_total) as f64 });
    }
    Ok(Floor {
        rhs_per_solve: rhs_total as f64 / n,
        jac_per_solve: jac_total as f64 / n,
        rhs_ns: median(&mut rhs_times),
        jac_ns: median(&mut jac_times),
        solve_us: median(&mut solve_times),
        batch_us: median(&mut batch_times),
    })
}

/// A system that records the evaluations asked of it and otherwise is the one it wraps.
struct Counted<'a, S> {
    inner: &'a S,
    rhs: Mutex<Vec<Call>>,
    jac: Mutex<Vec<Call>>,
}

impl<S: OdeSystem> Counted<'_, S> {
    fn record(log: &Mutex<Vec<Call>>, u: &[f64], t: f64) {
        log.lock().unwrap_or_else(|e| e.into_inner()).push((u.to_vec(), t));
    }
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
        Self::record(&self.rhs, u, t);
        self.inner.rhs(u, p, t, du);
    }
    fn jac_mul(&self, u: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]) {
        Self::record(&self.jac, u, t);
        self.inner.jac_mul(u, p, t, v, jv);
    }
    fn n_prepared(&self) -> usize {
        self.inner.n_prepared()
    }
    fn prepare(&self, p: &[f64], q: &mut [f64]) {
        self.inner.prepare(p, q);
    }
    fn rhs_prepared(&self, u: &[f64], q: &[f64], p: &[f64], t: f64, du: &mut [f64]) {
        Self::record(&self.rhs, u, t);
        self.inner.rhs_prepared(u, q, p, t, du);
    }
    fn jac_mul_prepared(&self, u: &[f64], q: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]) {
        Self::record(&self.jac, u, t);
        self.inner.jac_mul_prepared(u, q, p, t, v, jv);
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
        assert!(f.rhs_ns > 0.0 && f.solve_us > 0.0 && f.batch_us > 0.0 && f.floor_us() > 0.0, "{f:?}");
        // counting does not change the solution
        let counted = Counted { inner: &node, rhs: Mutex::new(Vec::new()), jac: Mutex::new(Vec::new()) };
        assert_eq!(
            solve(&counted, &points[0], &settings, false).unwrap(),
            solve(&node, &points[0], &settings, false).unwrap()
        );
    }

    #[test]
    fn a_device_model_prices_its_solves_where_it_can() {
        use crate::devices::DeviceConfig;
        use crate::model::DeviceModel;
        use crate::ode::OdeDevice;
        let config = OdeDeviceConfig { fan_in: 2, constants: Default::default() };
        let device = OdeDevice::new(DiodeNode::new(&config).unwrap());
        let points = vec![vec![0.3, -0.5, 0.8, 0.2], vec![-0.9, 0.4, -0.1, 0.7], vec![0.1, 0.1, -0.6, 0.9]];
        let f = device.solve_floor(&points, 1).expect("an ODE device has a floor").unwrap();
        // the same count as the system measured directly: the device's own solver settings
        let direct = measure(device.system(), &device.system().default_solver(), &points, 1).unwrap();
        assert_eq!(f.rhs_per_solve, direct.rhs_per_solve);
        assert!(f.floor_us() > 0.0 && f.batch_us > 0.0, "{f:?}");
        // a closed-form device has no solve to price
        let analytic = DeviceConfig::builtin("analytic", 2).unwrap().build(&Default::default()).unwrap();
        assert!(analytic.solve_floor(&points, 1).is_none());
    }
}
