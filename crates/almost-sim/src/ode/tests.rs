//! Batched solves (explicit lanes, implicit batches) against solo ones, prepared constants (a failing lane:
//! `tests/generation.rs`, the blow-up device).

use super::*;
use crate::devices::{DiodeNode, DuffingMems, FhnNeuron, OdeDeviceConfig};
use crate::model::DeviceModel;
use crate::solver::{SolverMethod, SolverSettings};

/// `count` parameter vectors `[x, A]` of fan-in `n`, uniform in [-1, 1] (a fixed generator).
pub(super) fn points(n: usize, count: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut s = seed;
    (0..count)
        .map(|_| {
            (0..2 * n)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
                })
                .collect()
        })
        .collect()
}

fn node(n: usize) -> DiodeNode {
    DiodeNode::new(&OdeDeviceConfig { fan_in: n, constants: Default::default() }).unwrap()
}

#[test]
fn lanes_agree_with_solo_solves_and_one_lane_is_the_solo_solve() {
    let d = node(5);
    for method in [SolverMethod::Tsit45, SolverMethod::Bdf, SolverMethod::Esdirk34] {
        let settings = SolverSettings::new(method, 1e-7, 1e-9);
        let ps = points(5, 7, 3);
        let refs: Vec<&[f64]> = ps.iter().map(Vec::as_slice).collect();
        let lanes = solve_lanes(&d, &refs, &settings, true).unwrap();
        for (p, lane) in ps.iter().zip(&lanes) {
            let alone = solve(&d, p, &settings, true).unwrap();
            let diff = (lane[0][0] - alone[0][0]).abs();
            // explicit lanes run the solo algorithm (the step factor by Newton's method); implicit ones
            // share their steps
            let bound = if method == SolverMethod::Tsit45 { 1e-10 } else { 1e-6 };
            assert!(diff < bound, "{method:?}: batched {} alone {} ({diff:e})", lane[0][0], alone[0][0]);
        }
        let one = solve_lanes(&d, &refs[..1], &settings, true).unwrap();
        assert_eq!(one[0], solve(&d, &ps[0], &settings, true).unwrap());
    }
}

#[test]
fn batched_tsitouras_agrees_with_solo_bdf_the_old_default() {
    // what every diode-node dataset was generated with before the batched solves
    let d = node(16);
    assert_eq!(d.default_solver().method, SolverMethod::Tsit45);
    let device = OdeDevice::new(d.clone());
    let old = SolverSettings::new(SolverMethod::Bdf, 1e-7, 1e-9);
    let ps = points(16, 48, 11);
    let pairs: Vec<(&[f64], &[f64])> = ps.iter().map(|p| p.split_at(16)).collect();
    let batched = device.respond_batch(&pairs);
    let mut worst: f64 = 0.0;
    for (p, y) in ps.iter().zip(batched) {
        let y = y.unwrap()[0];
        let bdf = solve(&d, p, &old, true).unwrap()[0][0];
        worst = worst.max((y - bdf).abs());
    }
    // both within their tolerances of the true V(T) (|V| < 0.8 V, rtol 1e-7)
    assert!(worst < 5e-7, "worst difference {worst:e} V");
}

#[test]
fn prepared_constants_give_the_same_equations() {
    let n = 6;
    let systems: Vec<Box<dyn OdeSystem>> = vec![
        Box::new(node(n)),
        Box::new(FhnNeuron::new(&OdeDeviceConfig { fan_in: n, constants: Default::default() }).unwrap()),
    ];
    for system in &systems {
        let states = system.n_states();
        for p in points(n, 5, 7) {
            let mut q = vec![0.0; system.n_prepared()];
            system.prepare(&p, &mut q);
            let u: Vec<f64> = (0..states).map(|i| 0.3 - 0.2 * i as f64).collect();
            let v: Vec<f64> = (0..states).map(|i| 1.0 + i as f64).collect();
            let (mut a, mut b) = (vec![0.0; states], vec![0.0; states]);
            system.rhs(&u, &p, 0.4, &mut a);
            system.rhs_prepared(&u, &q, &p, 0.4, &mut b);
            assert_eq!(a, b, "{}", system.spec().kind);
            system.jac_mul(&u, &p, 0.4, &v, &mut a);
            system.jac_mul_prepared(&u, &q, &p, 0.4, &v, &mut b);
            assert_eq!(a, b, "{}", system.spec().kind);
        }
    }
}

#[test]
fn lanes_of_a_three_state_neuron_are_their_solo_solves() {
    // FitzHugh-Nagumo: three states, two sample times, spiking and silent lanes together
    let n = 4;
    let system = FhnNeuron::new(&OdeDeviceConfig { fan_in: n, constants: Default::default() }).unwrap();
    let device = OdeDevice::new(system);
    let ps = points(n, 12, 5);
    let pairs: Vec<(&[f64], &[f64])> = ps.iter().map(|p| p.split_at(n)).collect();
    let batched = device.respond_batch(&pairs);
    let mut worst: f64 = 0.0;
    for ((x, a), y) in pairs.iter().zip(batched) {
        let (y, alone) = (y.unwrap()[0], device.respond(x, a).unwrap()[0]);
        worst = worst.max((y - alone).abs());
    }
    // each lane takes its own steps: spiking lanes do not set the silent ones' steps
    assert!(worst < 1e-10, "worst difference {worst:e}");
}

#[test]
fn a_lanes_answer_does_not_depend_on_its_companions() {
    // the same point among spiking companions, among silent ones, and in another slot
    let n = 4;
    let system = FhnNeuron::new(&OdeDeviceConfig { fan_in: n, constants: Default::default() }).unwrap();
    let settings = system.default_solver();
    let (a, b) = (points(n, 9, 5), points(n, 9, 17));
    let first: Vec<&[f64]> = a.iter().map(Vec::as_slice).collect();
    let mut second: Vec<&[f64]> = b.iter().map(Vec::as_slice).collect();
    second[6] = first[0];
    let one = solve_lanes(&system, &first, &settings, true).unwrap();
    let other = solve_lanes(&system, &second, &settings, true).unwrap();
    assert_eq!(one[0], other[6]);
    // every lane in the reverse order: the slots finish in another order, the rows are
    // shortened around other lanes
    let reversed: Vec<&[f64]> = first.iter().rev().copied().collect();
    let back = solve_lanes(&system, &reversed, &settings, true).unwrap();
    for (l, lane) in one.iter().enumerate() {
        assert_eq!(*lane, back[first.len() - 1 - l], "lane {l}");
    }
}

#[test]
fn a_lane_that_waits_for_a_slot_is_solved_as_if_it_had_one() {
    // 40 FitzHugh-Nagumo lanes (their steps per solve vary severalfold) in 6 slots: 34 wait
    // and start in the slots of finished ones; each is bit for bit its answer among 40 slots
    use crate::ode::lane_march::march_lanes;
    use crate::ode::lanes::Plain;
    let n = 4;
    let system = FhnNeuron::new(&OdeDeviceConfig { fan_in: n, constants: Default::default() }).unwrap();
    let (settings, times) = (system.default_solver(), system.sample_times());
    let ps = points(n, 40, 23);
    let m = system.n_prepared();
    let mut blocks = Vec::new();
    for p in &ps {
        let start = blocks.len();
        blocks.resize(start + m, 0.0);
        system.prepare(p, &mut blocks[start..]);
        blocks.extend_from_slice(p);
    }
    let eq = Plain { system: &system, blocks: &blocks, m, block: m + 2 * n };
    let all = march_lanes(&eq, ps.len(), ps.len(), &times, &settings, true).unwrap();
    for slots in [1, 6, 32] {
        assert_eq!(march_lanes(&eq, ps.len(), slots, &times, &settings, true).unwrap(), all, "{slots} slots");
    }
    // and what the device answers, waiting lanes and all, is each point's solo answer
    let device = OdeDevice::new(system.clone());
    let pairs: Vec<(&[f64], &[f64])> = ps.iter().map(|p| p.split_at(n)).collect();
    for ((x, a), y) in pairs.iter().zip(device.respond_batch(&pairs)) {
        let (y, alone) = (y.unwrap()[0], device.respond(x, a).unwrap()[0]);
        assert!((y - alone).abs() < 1e-10, "{y} vs {alone}");
    }
}

/// The same bits, or both NaN.
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn rhs_of_many_solves_at_once_is_each_solves_bit_for_bit() {
    // the diode node and FitzHugh-Nagumo override rhs_lanes; the Duffing resonator (forced:
    // its right-hand side reads p and t) takes the default
    let n = 5;
    let config = OdeDeviceConfig { fan_in: n, constants: Default::default() };
    let systems: Vec<Box<dyn OdeSystem>> = vec![
        Box::new(node(n)),
        Box::new(FhnNeuron::new(&config).unwrap()),
        Box::new(DuffingMems::new(&config).unwrap()),
    ];
    let (lanes, stride) = (6, 9);
    let ps = points(n, lanes, 23);
    for system in &systems {
        let (states, m) = (system.n_states(), system.n_prepared());
        let mut u = vec![f64::NAN; states * stride];
        let mut q = vec![f64::NAN; m * stride];
        let t: Vec<f64> = (0..lanes).map(|l| 0.1 + 0.13 * l as f64).collect();
        let mut expected = vec![f64::NAN; states * stride];
        for (l, p) in ps.iter().enumerate() {
            let mut ql = vec![0.0; m];
            system.prepare(p, &mut ql);
            let ul: Vec<f64> = match l {
                // far out (the diode node's e^z beyond the range of its branch-free loop) and NaN
                2 => vec![40.0; states],
                4 => vec![-40.0; states],
                5 => vec![f64::NAN; states],
                _ => (0..states).map(|i| 0.4 * p[i] - 0.1 * i as f64).collect(),
            };
            let mut du = vec![0.0; states];
            system.rhs_prepared(&ul, &ql, p, t[l], &mut du);
            for i in 0..states {
                u[i * stride + l] = ul[i];
                expected[i * stride + l] = du[i];
            }
            for (i, &v) in ql.iter().enumerate() {
                q[i * stride + l] = v;
            }
        }
        let p: Vec<f64> = ps.concat();
        let mut du = vec![f64::NAN; states * stride];
        system.rhs_lanes(lanes, stride, &u, &q, &p, &t, &mut du);
        for (i, (got, want)) in du.iter().zip(&expected).enumerate() {
            // the slots past the live lanes are left alone
            assert!(same(*got, *want), "{} value {i}: {got} {want}", system.spec().kind);
        }
        // the right-hand side, Jacobian and factors at once: each solve's, as the factored
        // sensitivities need them (the diode node overrides it, the others take the default)
        let r = system.n_dp_factors();
        let (mut jac, mut g) = (vec![f64::NAN; states * states * stride], vec![f64::NAN; states * r * stride]);
        let (mut want_jac, mut want_g) = (jac.clone(), g.clone());
        for (l, p) in ps.iter().enumerate() {
            let ul: Vec<f64> = (0..states).map(|i| u[i * stride + l]).collect();
            let ql: Vec<f64> = (0..m).map(|i| q[i * stride + l]).collect();
            let (mut dul, mut jl, mut gl) = (vec![0.0; states], vec![0.0; states * states], vec![0.0; states * r]);
            system.rhs_jacobian_prepared(&ul, &ql, p, t[l], &mut dul, &mut jl);
            system.dp_factors(&ul, &ql, p, t[l], &mut gl);
            for (e, &v) in jl.iter().enumerate() {
                want_jac[e * stride + l] = v;
            }
            for (e, &v) in gl.iter().enumerate() {
                want_g[e * stride + l] = v;
            }
        }
        du.fill(f64::NAN);
        system.rhs_jacobian_factors_lanes(lanes, stride, &u, &q, &p, &t, (&mut du, &mut jac, &mut g));
        for (what, got, want) in [("du", &du, &expected), ("jacobian", &jac, &want_jac), ("factors", &g, &want_g)] {
            for (i, (got, want)) in got.iter().zip(want).enumerate() {
                assert!(same(*got, *want), "{} {what} {i}: {got} {want}", system.spec().kind);
            }
        }
    }
}
