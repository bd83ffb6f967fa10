//! The floor of a DiffSL device's solve: its JIT-compiled right-hand side priced on its own.
//!
//! diffsol counts a solver's steps and rejected steps, not the evaluations of a compiled
//! model, so for an explicit method (Tsitouras 5(4): six new evaluations per attempted step,
//! the seventh reused) the evaluations are counted from the steps; each is priced at the
//! states the solve ends in. An implicit method (Newton iterations, Jacobians) is not priced.

use std::time::Instant;

use diffsol::{NalgebraVec, NonLinearOp, OdeEquations, OdeSolverMethod, OdeSolverStopReason, Op, Vector};

use super::diffsl::DiffSlDevice;
use crate::error::{Result, SimError};
use crate::floor::Floor;
use crate::model::DeviceModel;
use crate::solver::SolverMethod;
use crate::timing::median;

impl DiffSlDevice {
    /// Measures the device at the points `p = [x, A]` against its floor (one thread,
    /// medians of `repeats`); `None` for an implicit method.
    pub fn floor(&self, points: &[Vec<f64>], repeats: usize) -> Result<Option<Floor>> {
        if self.settings().method != SolverMethod::Tsit45 {
            return Ok(None);
        }
        let n_x = self.spec().n_inputs();
        let err = |e: diffsol::DiffsolError| SimError::Solver { time: 0.0, message: e.to_string() };
        let (mut attempts, mut ends) = (0usize, Vec::with_capacity(points.len()));
        for p in points {
            self.with_problem(|problem| {
                problem.rtol = self.settings().rtol;
                problem.atol.fill(self.settings().atol);
                problem.eqn.set_params(&NalgebraVec::from_vec(p.clone(), *problem.context()));
                let mut solver = problem.tsit45().map_err(err)?;
                solver.set_stop_time(self.t_end()).map_err(err)?;
                while !matches!(solver.step().map_err(err)?, OdeSolverStopReason::TstopReached) {}
                let stats = solver.get_statistics();
                attempts += stats.number_of_steps + stats.number_of_error_test_failures;
                ends.push((p.clone(), solver.state().y.clone()));
                Ok(())
            })?;
        }
        let n = points.len().max(1) as f64;
        let (mut solve_times, mut rhs_times) = (Vec::new(), Vec::new());
        for _ in 0..repeats.max(1) {
            let t = Instant::now();
            for p in points {
                std::hint::black_box(self.respond(&p[..n_x], &p[n_x..])?);
            }
            solve_times.push(t.elapsed().as_secs_f64() * 1e6 / n);
            let calls = 64;
            let t = Instant::now();
            self.with_problem(|problem| {
                for (p, y) in &ends {
                    problem.eqn.set_params(&NalgebraVec::from_vec(p.clone(), *problem.context()));
                    let rhs = problem.eqn.rhs();
                    let mut dy = NalgebraVec::zeros(rhs.nout(), *problem.context());
                    for k in 0..calls {
                        rhs.call_inplace(std::hint::black_box(y), k as f64 * 1e-9, &mut dy);
                        std::hint::black_box(&dy);
                    }
                }
                Ok(())
            })?;
            rhs_times.push(t.elapsed().as_secs_f64() * 1e9 / (n * calls as f64));
        }
        let solve_us = median(&mut solve_times);
        Ok(Some(Floor {
            rhs_per_solve: 6.0 * attempts as f64 / n + 1.0,
            jac_per_solve: 0.0,
            rhs_ns: median(&mut rhs_times),
            jac_ns: 0.0,
            solve_us,
            // a DiffSL device is solved one point at a time
            batch_us: solve_us,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::devices::DiffSlDescription;
    use crate::solver::{SolverOverrides, SolverSettings};
    use crate::spec::Quantity;

    fn decay(method: SolverMethod) -> DiffSlDevice {
        let desc = DiffSlDescription {
            summary: "decay".into(),
            model: "m.ds".into(),
            t_end: 2.0,
            inputs: vec![Quantity::new("x0", "1", 0.0, 1.0)],
            params: vec![Quantity::new("k", "1", 0.1, 1.0)],
            outputs: vec![Quantity::new("y", "1", 0.0, 1.0)],
            solver: SolverOverrides::default(),
            constants: BTreeMap::new(),
            vary: None,
        };
        let code = "in_i { x0 = 1, k = 0.5 }\nu_i { y = x0 }\nF_i { -k * y }\nout_i { y }\n".to_string();
        DiffSlDevice::from_parts("decay", desc, code, PathBuf::from("m.ds"))
            .unwrap()
            .with_solver(SolverSettings::new(method, 1e-8, 1e-10))
    }

    #[test]
    fn counts_and_prices_a_compiled_model() {
        let points = vec![vec![0.5, 0.3], vec![1.0, 0.9]];
        let f = decay(SolverMethod::Tsit45).floor(&points, 1).unwrap().unwrap();
        // at least a few Tsitouras steps of six evaluations each
        assert!(f.rhs_per_solve > 12.0, "{f:?}");
        assert!(f.rhs_ns > 0.0 && f.solve_us > 0.0 && f.floor_us() > 0.0 && f.floor_us() < f.solve_us, "{f:?}");
        assert!(decay(SolverMethod::Bdf).floor(&points, 1).unwrap().is_none());
    }
}
