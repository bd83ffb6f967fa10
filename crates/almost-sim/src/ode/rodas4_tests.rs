//! Rodas4 against closed forms and tight Tsitouras solves: a one-state device (the diode
//! node, stiff on its clamp), a two-state one (the FitzHugh-Nagumo neuron: the linear
//! solve with pivoting), a driven one (the Duffing resonator: df/dt), and its order.

use super::*;
use crate::devices::{DiodeNode, DuffingMems, FhnNeuron, OdeDeviceConfig};
use crate::ode::solve_lanes;
use crate::ode::tests::points;
use crate::solver::SolverMethod;

fn config(n: usize) -> OdeDeviceConfig {
    OdeDeviceConfig { fan_in: n, constants: Default::default() }
}

/// The largest difference over `count` points between Rodas4 at `rtol` (atol = rtol / 100)
/// and Tsitouras at rtol 1e-11, over every state at every sample time.
fn worst<S: OdeSystem>(system: &S, n: usize, count: usize, rtol: f64) -> f64 {
    let ps = points(n, count, 5);
    let refs: Vec<&[f64]> = ps.iter().map(Vec::as_slice).collect();
    let tight = solve_lanes(system, &refs, &SolverSettings::new(SolverMethod::Tsit45, 1e-11, 1e-13), true).unwrap();
    let rodas =
        solve_lanes(system, &refs, &SolverSettings::new(SolverMethod::Rodas4, rtol, rtol * 1e-2), true).unwrap();
    let mut worst: f64 = 0.0;
    for (a, b) in tight.iter().flatten().flatten().zip(rodas.iter().flatten().flatten()) {
        worst = worst.max((a - b).abs());
    }
    worst
}

#[test]
fn the_diode_node_agrees_with_a_tight_explicit_solve_and_converges() {
    let d = DiodeNode::new(&config(16)).unwrap();
    let (loose, tight) = (worst(&d, 16, 40, 1e-3), worst(&d, 16, 40, 1e-8));
    // |V| < 0.8 V: within the tolerances, and tighter where asked
    assert!(loose < 1e-4, "rtol 1e-3: {loose:e} V");
    assert!(tight < 1e-7, "rtol 1e-8: {tight:e} V");
    assert!(tight < loose, "{tight:e} vs {loose:e}");
}

#[test]
fn driven_onto_the_clamp_the_diode_node_takes_few_steps() {
    // each input at its weight's sign: the node sits on the diode clamp, stiff
    let d = DiodeNode::new(&config(16)).unwrap();
    let mut p = vec![0.0_f64; 32];
    for i in 0..16 {
        p[16 + i] = if i % 2 == 0 { 0.9 } else { -0.7 };
        p[i] = p[16 + i].signum();
    }
    let settings = SolverSettings::new(SolverMethod::Rodas4, 1e-3, 1e-5);
    let y = solve_lanes(&d, &[&p], &settings, true).unwrap()[0][0][0];
    let exact =
        solve_lanes(&d, &[&p], &SolverSettings::new(SolverMethod::Tsit45, 1e-11, 1e-13), true).unwrap()[0][0][0];
    assert!((y - exact).abs() < 1e-5, "{y} vs {exact}");
    assert!(y > 0.4, "on the clamp: {y} V");
    let steps = SolverSettings { max_steps: 40, ..settings };
    assert!(solve_lanes(&d, &[&p], &steps, true).is_ok(), "more than 40 steps on the clamp");
}

#[test]
fn two_and_three_state_devices_and_a_driven_one_agree() {
    let fhn = FhnNeuron::new(&config(4)).unwrap();
    let e = worst(&fhn, 4, 12, 1e-8);
    assert!(e < 5e-6, "FitzHugh-Nagumo: {e:e}");
    let duffing = DuffingMems::new(&config(3)).unwrap();
    assert!(!duffing.autonomous());
    let e = worst(&duffing, 3, 6, 1e-8);
    assert!(e < 1e-6, "Duffing: {e:e}");
}

#[test]
fn a_step_budget_is_a_failure_not_an_answer() {
    let d = DiodeNode::new(&config(4)).unwrap();
    let ps = points(4, 3, 9);
    let refs: Vec<&[f64]> = ps.iter().map(Vec::as_slice).collect();
    let settings = SolverSettings { max_steps: 1, ..SolverSettings::new(SolverMethod::Rodas4, 1e-10, 1e-12) };
    let err = solve_lanes(&d, &refs, &settings, true).unwrap_err();
    assert!(err.to_string().contains("step"), "{err}");
}

#[test]
fn a_lane_is_the_same_alone_and_in_a_batch() {
    // each lane keeps its own steps: bit for bit, one state or two
    let d = DiodeNode::new(&config(8)).unwrap();
    let fhn = FhnNeuron::new(&config(3)).unwrap();
    let settings = SolverSettings::new(SolverMethod::Rodas4, 1e-5, 1e-7);
    let check = |system: &dyn OdeSystem, n: usize| {
        let ps = points(n, 9, 13);
        let refs: Vec<&[f64]> = ps.iter().map(Vec::as_slice).collect();
        let batch = solve_lanes(system, &refs, &settings, true).unwrap();
        for (p, lane) in refs.iter().zip(&batch) {
            assert_eq!(&solve_lanes(system, &[p], &settings, true).unwrap()[0], lane);
        }
    };
    check(&d, 8);
    check(&fhn, 3);
}

#[test]
fn rodas4_has_no_sensitivities_and_says_so() {
    let d = DiodeNode::new(&config(2)).unwrap();
    let settings = SolverSettings::new(SolverMethod::Rodas4, 1e-6, 1e-8);
    let err = crate::sens::solve_sens(&d, &[0.5, 0.5, 0.3, -0.2], &settings).unwrap_err();
    assert!(err.to_string().contains("rodas4 has no forward sensitivities"), "{err}");
}
