//! Tests of the diode node: its linear limit against the RC closed form, tolerance
//! convergence, sensitivities, the fused and lane forms, the solver choice and the clamp.

use super::*;
use crate::model::DeviceModel;
use crate::ode::OdeDevice;

fn node(n: usize, i_s: f64, method: SolverMethod, rtol: f64) -> OdeDevice<DiodeNode> {
    let cfg = OdeDeviceConfig { fan_in: n, constants: BTreeMap::from([("i_s".to_string(), i_s)]) };
    OdeDevice::new(DiodeNode::new(&cfg).unwrap()).with_solver(SolverSettings::new(method, rtol, rtol * 1e-2))
}

/// Closed form of the linear RC node (I_s = 0).
fn rc_closed_form(x: &[f64], a: &[f64]) -> f64 {
    let (g_max, g_l, c, t) = (1e-4, 1e-5, 1e-9, 1e-5);
    let current: f64 = x.iter().zip(a).map(|(x, a)| g_max * a * x).sum();
    let g_tot: f64 = g_l + a.iter().map(|a| g_max * a.abs()).sum::<f64>();
    current / g_tot * (1.0 - (-g_tot * t / c).exp())
}

#[test]
fn linear_limit_matches_rc_closed_form_for_every_solver() {
    let (x, a) = ([0.7, -0.4, 0.9], [0.05, -0.3, 0.02]);
    let exact = rc_closed_form(&x, &a);
    for method in [SolverMethod::Tsit45, SolverMethod::Bdf, SolverMethod::Esdirk34, SolverMethod::Rodas4] {
        let y = node(3, 0.0, method, 1e-9).respond(&x, &a).unwrap()[0];
        assert!((y - exact).abs() < 1e-6, "{method:?}: {y} vs {exact}");
    }
}

#[test]
fn error_shrinks_as_rtol_tightens() {
    let (x, a) = ([0.9, 0.8], [0.003, 0.002]); // slow node: the transient matters at T
    let exact = rc_closed_form(&x, &a);
    let err = |rtol| (node(2, 0.0, SolverMethod::Bdf, rtol).respond(&x, &a).unwrap()[0] - exact).abs();
    let (loose, tight) = (err(1e-3), err(1e-8));
    assert!(tight < loose / 10.0, "loose {loose:e}, tight {tight:e}");
    assert!(tight < 1e-7, "tight {tight:e}");
}

#[test]
fn sensitivities_match_finite_differences_of_the_solution() {
    let d = node(3, 1e-9, SolverMethod::Bdf, 1e-10);
    let (x, a) = ([0.9, -0.6, 0.3], [0.7, 0.4, -0.5]);
    let exact = d.sensitivities(&x, &a).unwrap().unwrap();
    let fd = crate::model::finite_difference_jacobian(&d, &x, &a, 1e-4).unwrap();
    for (e, f) in exact.dy_dx[0].iter().chain(&exact.dy_da[0]).zip(fd.dy_dx[0].iter().chain(&fd.dy_da[0])) {
        assert!((e - f).abs() < 1e-5 * (1.0 + f.abs()), "{e} vs {f}");
    }
}

#[test]
fn the_fused_rhs_and_jacobian_and_the_factors_are_the_separate_ones() {
    let d = DiodeNode::new(&OdeDeviceConfig { fan_in: 3, constants: BTreeMap::new() }).unwrap();
    let p = [0.9, -0.6, 0.3, 0.7, 0.4, -0.5];
    let mut q = [0.0; 2];
    d.prepare(&p, &mut q);
    for v in [-0.7, 0.0, 0.35] {
        let (mut du, mut jac, mut du1, mut jv) = ([0.0], [0.0], [0.0], [0.0]);
        d.rhs_jacobian_prepared(&[v], &q, &p, 0.0, &mut du, &mut jac);
        d.rhs_prepared(&[v], &q, &p, 0.0, &mut du1);
        d.jac_mul_prepared(&[v], &q, &p, 0.0, &[1.0], &mut jv);
        assert_eq!((du, jac), (du1, jv));
        // df/dp = 1 K_0 + V K_1
        let (mut direct, mut k, mut g) = ([0.0; 6], [0.0; 12], [0.0; 2]);
        d.rhs_dp(&[v], &p, 0.0, &mut direct);
        d.dp_coefficients(&p, &mut k);
        d.dp_factors(&[v], &q, &p, 0.0, &mut g);
        for (j, &dir) in direct.iter().enumerate() {
            assert!((k[j] * g[0] + k[6 + j] * g[1] - dir).abs() < 1e-12 * (1.0 + dir.abs()));
        }
    }
}

#[test]
fn the_default_solver_follows_the_stiffness() {
    let mild = DiodeNode::new(&OdeDeviceConfig { fan_in: 16, constants: BTreeMap::new() }).unwrap();
    assert!((mild.stiffness_bound() - 1e4 * (16e-4 + 1e-5 + 16e-4 / (1.8 * 0.025852))).abs() < 1e-6);
    assert_eq!(mild.default_solver().method, SolverMethod::Tsit45);
    // a 5x smaller capacitor: 5x stiffer, still explicit; 100x: BDF
    let cfg = OdeDeviceConfig { fan_in: 16, constants: BTreeMap::from([("c".to_string(), 2e-10)]) };
    let five = DiodeNode::new(&cfg).unwrap();
    assert!(five.stiffness_bound() > 1000.0 && five.stiffness_bound() < TSITOURAS_UP_TO);
    assert_eq!(five.default_solver().method, SolverMethod::Tsit45);
    let cfg = OdeDeviceConfig { fan_in: 16, constants: BTreeMap::from([("c".to_string(), 1e-11)]) };
    assert_eq!(DiodeNode::new(&cfg).unwrap().default_solver().method, SolverMethod::Bdf);
}

#[test]
fn diodes_clamp_the_node() {
    let d = node(4, 1e-9, SolverMethod::Bdf, 1e-7);
    let y = d.respond(&[1.0; 4], &[1.0; 4]).unwrap()[0];
    let y_lin = rc_closed_form(&[1.0; 4], &[1.0; 4]);
    assert!(y > 0.3 && y < 0.7 && y < y_lin - 0.2, "clamped {y}, linear {y_lin}");
    // odd symmetry: flipping every input flips the output
    let y_neg = d.respond(&[-1.0; 4], &[1.0; 4]).unwrap()[0];
    assert!((y + y_neg).abs() < 1e-6);
}
