//! Forward sensitivities: the exact derivatives dy/dx and dy/dA of an ODE device, solved
//! alongside the state by diffsol (`*_sens` solvers), with the same step guards as a plain
//! solve; many points of an explicit device at once as lanes ([`jacobians`]).

use diffsol::{
    NalgebraLU, NalgebraMat, OdeBuilder, OdeEquationsImplicitSens, OdeSolverStopReason, SensitivitiesOdeSolverMethod,
    Vector, VectorView,
};

use crate::error::{Result, SimError};
use crate::model::Jacobian;
use crate::ode_system::OdeSystem;
use crate::solver::{SolverMethod, SolverSettings, StepGuard};

type M = NalgebraMat<f64>;

pub use crate::ode_system::Trajectory;

/// Solves the system and its forward sensitivities with respect to every parameter.
pub fn solve_sens<S: OdeSystem + ?Sized>(system: &S, p: &[f64], settings: &SolverSettings) -> Result<Trajectory> {
    let n = system.n_states();
    let times = system.sample_times();
    let err = |e: diffsol::DiffsolError| SimError::Solver { time: 0.0, message: e.to_string() };
    let problem = OdeBuilder::<M>::new()
        .rtol(settings.rtol)
        .atol([settings.atol])
        .sens_rtol(settings.rtol)
        .sens_atol([settings.atol])
        .p(p.iter().copied())
        .h0(times.first().map_or(1e-3, |t| (t.abs() * 1e-4).max(1e-12)))
        .rhs_sens_implicit(
            |u: &[f64], p: &[f64], t: f64, du: &mut [f64]| system.rhs(u, p, t, du),
            |u: &[f64], p: &[f64], t: f64, v: &[f64], jv: &mut [f64]| system.jac_mul(u, p, t, v, jv),
            |u: &[f64], p: &[f64], t: f64, v: &[f64], out: &mut [f64]| system.rhs_dp_mul(u, p, t, v, out),
        )
        .init_sens(
            |p: &[f64], _t: f64, u0: &mut [f64]| system.init(p, u0),
            |p: &[f64], _t: f64, v: &[f64], out: &mut [f64]| system.init_dp_mul(p, v, out),
            n,
        )
        .build()
        .map_err(err)?;
    let np = p.len();
    match settings.method {
        SolverMethod::Tsit45 => march_sens(problem.tsit45_sens().map_err(err)?, &times, n, np, settings),
        SolverMethod::Bdf => march_sens(problem.bdf_sens::<NalgebraLU<f64>>().map_err(err)?, &times, n, np, settings),
        SolverMethod::Esdirk34 => {
            march_sens(problem.esdirk34_sens::<NalgebraLU<f64>>().map_err(err)?, &times, n, np, settings)
        }
        SolverMethod::Rodas4 => Err(SimError::config(
            "solver.method",
            "rodas4 has no forward sensitivities: solve them with tsit45, bdf or esdirk34",
        )),
    }
}

fn march_sens<'a, Eqn, S>(
    mut solver: S,
    times: &[f64],
    n: usize,
    np: usize,
    settings: &SolverSettings,
) -> Result<Trajectory>
where
    Eqn: OdeEquationsImplicitSens<T = f64> + 'a,
    S: SensitivitiesOdeSolverMethod<'a, Eqn>,
{
    let mut guard = StepGuard::new(settings);
    let (mut states, mut sens) = (Vec::new(), Vec::new());
    for &t_stop in times {
        solver
            .set_stop_time(t_stop)
            .map_err(|e| SimError::Solver { time: solver.state().t, message: e.to_string() })?;
        loop {
            let reason =
                solver.step().map_err(|e| SimError::Solver { time: solver.state().t, message: e.to_string() })?;
            let st = solver.state();
            // lane by lane: no copy of the sensitivities on every step
            let finite = (0..n).all(|k| st.y.get_index(k).is_finite())
                && (0..np).all(|j| {
                    let lane = st.s.get_batch(j);
                    (0..n).all(|k| lane.get_index(k).is_finite())
                });
            guard.step(st.t, finite, "state or sensitivity")?;
            if matches!(reason, OdeSolverStopReason::TstopReached) {
                break;
            }
        }
        let st = solver.state();
        states.push((0..n).map(|k| st.y.get_index(k)).collect());
        // the sensitivity vector holds one lane of n states per parameter
        sens.push(
            (0..np)
                .map(|j| {
                    let lane = st.s.get_batch(j);
                    (0..n).map(|k| lane.get_index(k)).collect()
                })
                .collect(),
        );
    }
    Ok((states, sens))
}

/// dy/dx and dy/dA of an ODE device at (x, A) from forward sensitivities; the observable's
/// own derivatives (with respect to the recorded states and to p) are taken by central
/// differences of [`OdeSystem::observe`], which needs no further solve.
pub fn jacobian<S: OdeSystem + ?Sized>(
    system: &S,
    x: &[f64],
    a: &[f64],
    settings: &SolverSettings,
) -> Result<Jacobian> {
    system.spec().check_dims(x, a)?;
    let p: Vec<f64> = x.iter().chain(a).copied().collect();
    let trajectory = solve_sens(system, &p, settings)?;
    observed(system, &p, x.len(), &trajectory)
}

/// [`jacobian`] at many points `(x, A)`, in order. With Tsitouras 5(4) the points are solved
/// in batches of [`crate::ode::BATCH`], [`OdeSystem::batch_lanes`] lanes at a time, each lane on its own steps with
/// diffsol's step control (the answers agree with [`jacobian`]'s far below the tolerances,
/// tested); where a batch fails, every point of it is solved alone, so that each failure
/// is the point's own.
pub fn jacobians<S: OdeSystem + ?Sized>(
    system: &S,
    points: &[(&[f64], &[f64])],
    settings: &SolverSettings,
) -> Vec<Result<Jacobian>> {
    let alone = |(x, a): &(&[f64], &[f64])| jacobian(system, x, a, settings);
    if !in_lanes(system, settings)
        || points.len() < 2
        || points.iter().any(|(x, a)| system.spec().check_dims(x, a).is_err())
    {
        return points.iter().map(alone).collect();
    }
    points
        .chunks(crate::ode::BATCH)
        .flat_map(|chunk| {
            let ps: Vec<Vec<f64>> = chunk.iter().map(|(x, a)| x.iter().chain(*a).copied().collect()).collect();
            let refs: Vec<&[f64]> = ps.iter().map(Vec::as_slice).collect();
            // the wall-clock budget is per point: a batch has one per lane
            let budget = SolverSettings { max_seconds: settings.max_seconds * chunk.len() as f64, ..settings.clone() };
            match crate::ode::sens_lanes::solve_sens_lanes(system, &refs, &budget) {
                Ok(trajectories) => trajectories
                    .iter()
                    .zip(&ps)
                    .zip(chunk)
                    .map(|((trajectory, p), (x, _))| observed(system, p, x.len(), trajectory))
                    .collect::<Vec<_>>(),
                // a wrong factoring of df/dp is the device's bug: said, not hidden by solo solves
                Err(SimError::DpFactors { device, parameter, state, factored, direct }) => chunk
                    .iter()
                    .map(|_| Err(SimError::DpFactors { device: device.clone(), parameter, state, factored, direct }))
                    .collect(),
                Err(_) => chunk.iter().map(alone).collect(),
            }
        })
        .collect()
}

/// Whether [`jacobians`] solves `system` with `settings` as lanes of batched sensitivity
/// solves (an explicit method and a device that batches), rather than point by point.
pub(crate) fn in_lanes<S: OdeSystem + ?Sized>(system: &S, settings: &SolverSettings) -> bool {
    settings.method == SolverMethod::Tsit45 && system.batch_lanes() >= 2
}

/// The outputs and dy/dp of `system` at `p` (its first `nx` entries x) from a solved
/// trajectory with its sensitivities.
fn observed<S: OdeSystem + ?Sized>(system: &S, p: &[f64], nx: usize, trajectory: &Trajectory) -> Result<Jacobian> {
    let (states, sens) = trajectory;
    let ny = system.spec().n_outputs();
    let observe = |st: &[Vec<f64>], p: &[f64]| {
        let mut y = vec![0.0; ny];
        system.observe(st, p, &mut y);
        y
    };
    let y = observe(states, p);
    let mut dy_dp = vec![vec![0.0; p.len()]; ny];
    // through the states
    for t in 0..states.len() {
        for k in 0..states[t].len() {
            let h = 1e-6 * (1.0 + states[t][k].abs());
            let mut up = states.clone();
            up[t][k] += h;
            let mut dn = states.clone();
            dn[t][k] -= h;
            let (yu, yd) = (observe(&up, p), observe(&dn, p));
            for o in 0..ny {
                let dy_ds = (yu[o] - yd[o]) / (2.0 * h);
                if dy_ds != 0.0 {
                    for (j, d) in dy_dp[o].iter_mut().enumerate() {
                        *d += dy_ds * sens[t][j][k];
                    }
                }
            }
        }
    }
    // directly through p
    let mut pu = p.to_vec();
    for j in 0..p.len() {
        let h = 1e-6 * (1.0 + p[j].abs());
        pu[j] = p[j] + h;
        let yu = observe(states, &pu);
        pu[j] = p[j] - h;
        let yd = observe(states, &pu);
        pu[j] = p[j];
        for o in 0..ny {
            dy_dp[o][j] += (yu[o] - yd[o]) / (2.0 * h);
        }
    }
    if let Some((o, j)) =
        (0..ny).flat_map(|o| (0..p.len()).map(move |j| (o, j))).find(|&(o, j)| !dy_dp[o][j].is_finite())
    {
        return Err(SimError::NonFinite { what: format!("dy{o}/dp{j}"), time: f64::NAN });
    }
    Ok(Jacobian {
        y,
        dy_dx: dy_dp.iter().map(|r| r[..nx].to_vec()).collect(),
        dy_da: dy_dp.iter().map(|r| r[nx..].to_vec()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::devices::{AnalyticConfig, AnalyticNeuron, DuffingMems, FhnNeuron, OdeDeviceConfig};
    use crate::model::{DeviceModel, finite_difference_jacobian};
    use crate::ode::OdeDevice;
    use crate::solver::{SolverMethod, SolverSettings};

    fn close(model: &dyn DeviceModel, x: &[f64], a: &[f64], tol: f64) {
        let exact = model.sensitivities(x, a).unwrap().unwrap();
        let fd = finite_difference_jacobian(model, x, a, 1e-4).unwrap();
        assert!((exact.y[0] - fd.y[0]).abs() < 1e-12);
        let pairs = exact.dy_dx[0].iter().chain(&exact.dy_da[0]).zip(fd.dy_dx[0].iter().chain(&fd.dy_da[0]));
        let scale = fd.dy_dx[0].iter().chain(&fd.dy_da[0]).fold(0.0f64, |m, v| m.max(v.abs()));
        for (e, f) in pairs {
            assert!((e - f).abs() < tol * scale.max(1e-3), "{}: {e} vs {f} (scale {scale})", model.spec().kind);
        }
    }

    #[test]
    fn batched_sensitivities_are_each_points_solo_ones() {
        // the diode node and FitzHugh-Nagumo (both through their factored columns) at their
        // default tolerances, 9 points (agreement measured with the full columns and the f32
        // step factor of an earlier version: 1e-12 and 7e-11 of the largest derivative)
        let cfg = OdeDeviceConfig { fan_in: 4, constants: BTreeMap::new() };
        let diode = crate::devices::DiodeNode::new(&cfg).unwrap();
        let fhn = FhnNeuron::new(&cfg).unwrap();
        let systems: [&dyn crate::ode::OdeSystem; 2] = [&diode, &fhn];
        for system in systems {
            let settings = system.default_solver();
            assert_eq!(settings.method, SolverMethod::Tsit45);
            let ps: Vec<Vec<f64>> =
                (0..9).map(|i| (0..8).map(|j| ((i * 8 + j) as f64 * 0.73).sin() * 0.9).collect()).collect();
            let points: Vec<(&[f64], &[f64])> = ps.iter().map(|p| p.split_at(4)).collect();
            let batched = super::jacobians(system, &points, &settings);
            for ((x, a), b) in points.iter().zip(&batched) {
                let b = b.as_ref().unwrap();
                let solo = super::jacobian(system, x, a, &settings).unwrap();
                let scale = solo.dy_dx[0].iter().chain(&solo.dy_da[0]).fold(1e-3f64, |m, v| m.max(v.abs()));
                assert!((b.y[0] - solo.y[0]).abs() < 1e-9, "{}", system.spec().kind);
                for (e, f) in b.dy_dx[0].iter().chain(&b.dy_da[0]).zip(solo.dy_dx[0].iter().chain(&solo.dy_da[0])) {
                    assert!((e - f).abs() < 1e-9 * scale, "{}: {e} vs {f}", system.spec().kind);
                }
            }
            // a point's answer does not depend on its companions
            let alone_in_pair = super::jacobians(system, &[points[4], points[0]], &settings);
            assert_eq!(alone_in_pair[0].as_ref().unwrap().dy_da, batched[4].as_ref().unwrap().dy_da);
        }
    }

    #[test]
    fn forward_sensitivities_of_every_ode_device_match_finite_differences() {
        let cfg = OdeDeviceConfig { fan_in: 2, constants: BTreeMap::new() };
        let tight = SolverSettings::new(SolverMethod::Tsit45, 1e-11, 1e-13);
        let fhn = OdeDevice::new(FhnNeuron::new(&cfg).unwrap()).with_solver(tight.clone());
        close(&fhn, &[0.3, 0.8], &[0.12, -0.2], 1e-4);
        let duff = OdeDevice::new(DuffingMems::new(&cfg).unwrap()).with_solver(tight);
        close(&duff, &[0.5, -0.7], &[0.8, 0.4], 1e-4);
        let an = AnalyticNeuron::new(&AnalyticConfig { fan_in: 3, activation: Default::default(), eps: 0.1 }).unwrap();
        close(&an, &[0.2, -0.4, 0.9], &[0.5, 0.1, -0.7], 1e-6);
    }
}
