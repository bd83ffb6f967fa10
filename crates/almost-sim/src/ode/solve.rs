//! The guarded solve of an [`OdeSystem`], alone or as the lanes of a batch: Tsitouras 5(4)
//! lanes that each take their own steps ([`super::lanes`]), or diffsol's batched implicit
//! solvers.

use diffsol::{Context, NalgebraContext, NalgebraLU, NalgebraMat, OdeBuilder};

use crate::error::{Result, SimError};
use crate::ode::lane_march::march_lanes;
use crate::ode::lanes::Plain;
use crate::ode::march::{first_step, march};
use crate::ode::rodas4::solve_rodas4;
use crate::ode_system::OdeSystem;
use crate::solver::{SolverMethod, SolverSettings};

type M = NalgebraMat<f64>;

/// Solves `system` for parameters `p` and returns the states at its sample times.
///
/// With `guarded = true` (what the generator uses) every accepted step is checked: the state
/// must stay finite and the step and wall-clock budgets of `settings` hold. With `guarded =
/// false` this is the bare diffsol loop the benchmark compares against.
pub fn solve<S: OdeSystem + ?Sized>(
    system: &S,
    p: &[f64],
    settings: &SolverSettings,
    guarded: bool,
) -> Result<Vec<Vec<f64>>> {
    let mut lanes = solve_lanes(system, &[p], settings, guarded)?;
    Ok(lanes.pop().unwrap_or_default())
}

/// Solves `system` once per parameter vector of `ps`, all of them together, and returns each
/// lane's states at the sample times (`[lane][time][state]`).
///
/// With Tsitouras 5(4) every lane takes its own steps ([`super::lanes`]: diffsol's solo algorithm,
/// step for step, with the work between right-hand sides shared), so a lane's answer is its
/// solo solve's up to the order of floating-point sums; [`OdeSystem::batch_lanes`] of them
/// go at a time, and a waiting lane takes the slot of one that finished. With an implicit method the lanes
/// are diffsol's batched lanes: they share their time steps, and a step is accepted only
/// where every lane's local error is within its tolerances (the maximum of the lanes'
/// norms), so each lane is solved at least as accurately as alone but its last digits depend
/// on its companions; the callers batch in a fixed order, so results stay reproducible. One
/// failing lane (non-finite state, a budget exceeded) fails the whole batch.
pub fn solve_lanes<S: OdeSystem + ?Sized>(
    system: &S,
    ps: &[&[f64]],
    settings: &SolverSettings,
    guarded: bool,
) -> Result<Vec<Vec<Vec<f64>>>> {
    let n = system.n_states();
    let lanes = ps.len();
    if lanes == 0 {
        return Ok(Vec::new());
    }
    let times = system.sample_times();
    let solver_err = |e: diffsol::DiffsolError| SimError::Solver { time: 0.0, message: e.to_string() };
    let context = NalgebraContext::default()
        .clone_with_nbatch(lanes)
        .map_err(|e| SimError::Solver { time: 0.0, message: format!("a batch of {lanes} lanes: {e}") })?;
    // each lane's parameter block is [q, p]: the prepared constants, then p itself
    let m = system.n_prepared();
    let mut blocks = Vec::with_capacity(lanes * (m + ps.first().map_or(0, |p| p.len())));
    for p in ps {
        let start = blocks.len();
        blocks.resize(start + m, 0.0);
        system.prepare(p, &mut blocks[start..]);
        blocks.extend_from_slice(p);
    }
    if settings.method == SolverMethod::Rodas4 {
        // almost's own stiff lanes: no diffsol problem to build
        return solve_rodas4(system, &blocks, (lanes, m), &times, settings, guarded);
    }
    if lanes > 1 && settings.method == SolverMethod::Tsit45 {
        let eq = Plain { system, blocks: &blocks, m, block: blocks.len() / lanes };
        let flat = march_lanes(&eq, lanes, system.batch_lanes(), &times, settings, guarded)?;
        return Ok(unflatten(&flat, lanes, n));
    }
    let problem = OdeBuilder::<M>::new()
        .context(context)
        .rtol(settings.rtol)
        .atol([settings.atol])
        .p(blocks.iter().copied())
        .h0(first_step(&times))
        .rhs_implicit(
            |u: &[f64], qp: &[f64], t: f64, du: &mut [f64]| {
                let (q, p) = qp.split_at(m);
                system.rhs_prepared(u, q, p, t, du);
            },
            |u: &[f64], qp: &[f64], t: f64, v: &[f64], jv: &mut [f64]| {
                let (q, p) = qp.split_at(m);
                system.jac_mul_prepared(u, q, p, t, v, jv);
            },
        )
        .init(|qp: &[f64], _t: f64, u0: &mut [f64]| system.init(&qp[m..], u0), n)
        .build()
        .map_err(solver_err)?;
    let flat = match settings.method {
        SolverMethod::Tsit45 => march(problem.tsit45().map_err(solver_err)?, &times, settings, guarded)?,
        SolverMethod::Bdf => march(problem.bdf::<NalgebraLU<f64>>().map_err(solver_err)?, &times, settings, guarded)?,
        SolverMethod::Esdirk34 => {
            march(problem.esdirk34::<NalgebraLU<f64>>().map_err(solver_err)?, &times, settings, guarded)?
        }
        SolverMethod::Rodas4 => return solve_rodas4(system, &blocks, (lanes, m), &times, settings, guarded),
    };
    Ok(unflatten(&flat, lanes, n))
}

/// `[lane][time][state]` from each time's states lane after lane.
fn unflatten(flat: &[Vec<f64>], lanes: usize, n: usize) -> Vec<Vec<Vec<f64>>> {
    (0..lanes).map(|b| flat.iter().map(|y| y[b * n..(b + 1) * n].to_vec()).collect()).collect()
}
