//! The guarded march of a diffsol solver through the sample times, shared by the solo,
//! and batched (implicit) solves (and the DiffSL devices).

use diffsol::{Context, OdeEquations, OdeSolverMethod, OdeSolverStopReason, Vector, VectorView};

use crate::error::{Result, SimError};
use crate::solver::{SolverSettings, StepGuard};

/// A first step small against the first sample time, so that diffsol's default h0 = 1 does
/// not overshoot devices whose time unit is far from the window.
pub(super) fn first_step(times: &[f64]) -> f64 {
    times.first().map_or(1e-3, |t| (t.abs() * 1e-4).max(1e-12))
}

/// Steps `solver` through `times`, enforcing the budgets; returns the state at each time
/// (of a batched problem: every lane's states, lane after lane).
pub(crate) fn march<'a, Eqn, S>(
    mut solver: S,
    times: &[f64],
    settings: &SolverSettings,
    guarded: bool,
) -> Result<Vec<Vec<f64>>>
where
    Eqn: OdeEquations<T = f64> + 'a,
    S: OdeSolverMethod<'a, Eqn>,
{
    let mut guard = StepGuard::new(settings);
    let mut out = Vec::with_capacity(times.len());
    for &t_stop in times {
        solver
            .set_stop_time(t_stop)
            .map_err(|e| SimError::Solver { time: solver.state().t, message: e.to_string() })?;
        loop {
            let reason =
                solver.step().map_err(|e| SimError::Solver { time: solver.state().t, message: e.to_string() })?;
            if guarded {
                let state = solver.state();
                guard.step(state.t, flatten(state.y).iter().all(|v| v.is_finite()), "state")?;
            }
            if matches!(reason, OdeSolverStopReason::TstopReached) {
                break;
            }
        }
        out.push(flatten(solver.state().y));
    }
    Ok(out)
}

/// Every value of a (possibly batched) state vector, lane after lane.
fn flatten<V: Vector<T = f64>>(y: &V) -> Vec<f64> {
    let lanes = y.context().nbatch();
    if lanes == 1 {
        return (0..y.len()).map(|i| y.get_index(i)).collect();
    }
    (0..lanes).flat_map(|b| (0..y.len()).map(move |i| (b, i))).map(|(b, i)| y.get_batch(b).get_index(i)).collect()
}
