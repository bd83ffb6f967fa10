use super::*;
use crate::devices::{DiodeNode, FhnNeuron, OdeDeviceConfig};
use crate::ode::factored_tests::Masked;

fn points(np: usize) -> Vec<Vec<f64>> {
    (0..5).map(|i| (0..np).map(|j| ((i * 7 + j * 3) % 11) as f64 / 5.5 - 1.0).collect()).collect()
}

/// The diode node and FitzHugh-Nagumo (both factor their df/dp; masked, they do not).
fn devices() -> (DiodeNode, FhnNeuron) {
    let config = OdeDeviceConfig { fan_in: 2, constants: Default::default() };
    (DiodeNode::new(&config).unwrap(), FhnNeuron::new(&config).unwrap())
}

#[test]
fn counting_sensitivity_evaluations_changes_nothing_and_prices_them() {
    let (diode, fhn) = devices();
    let unfactored = Masked { inner: &fhn, factors: 0, spoil: 1.0 };
    let systems: [(&dyn OdeSystem, bool); 3] = [(&diode, true), (&fhn, true), (&unfactored, false)];
    for (system, factors) in systems {
        let settings = system.default_solver();
        let pts = points(system.spec().inputs.len() + system.spec().params.len());
        let p: [&[f64]; 1] = [&pts[0]];
        let times = system.sample_times();
        let eq = sens_equations(system, &p, &times).unwrap();
        assert_eq!(matches!(eq, SensEquations::Factored(_)), factors);
        let counting = Counting { inner: eq.lanes(), log: RefCell::new(Vec::new()) };
        let counted = march_lanes(&counting, 1, 1, &times, &settings, false).unwrap();
        assert_eq!(counted, march_lanes(eq.lanes(), 1, 1, &times, &settings, false).unwrap());
        // the Tsitouras march asks at least 2 (the first step) + 6 (a step) evaluations
        let evaluations = counting.log.borrow().len();
        assert!(evaluations >= 8, "{evaluations}");
        let f = measure_sens(system, &settings, &pts, 1).unwrap();
        assert!(f.rhs_per_solve >= 8.0 && f.rhs_ns > 0.0 && f.solve_us > 0.0 && f.batch_us > 0.0, "{f:?}");
        assert_eq!(f.jac_per_solve, 0.0);
    }
}

#[test]
fn a_replayed_evaluation_is_the_one_the_lanes_computed() {
    // what is priced is the work the march needs: the device's calls give its right-hand
    // sides bit for bit, in a batch of two lanes as well
    let (diode, fhn) = devices();
    let unfactored = Masked { inner: &fhn, factors: 0, spoil: 1.0 };
    let systems: [&dyn OdeSystem; 3] = [&diode, &fhn, &unfactored];
    for system in systems {
        let pts = points(4);
        for lanes in [1, 2] {
            let ps: Vec<&[f64]> = pts[1..1 + lanes].iter().map(Vec::as_slice).collect();
            let times = system.sample_times();
            let eq = sens_equations(system, &ps, &times).unwrap();
            let factored = matches!(eq, SensEquations::Factored(_));
            let counting = Counting { inner: eq.lanes(), log: RefCell::new(Vec::new()) };
            march_lanes(&counting, lanes, lanes, &times, &system.default_solver(), false).unwrap();
            let log = counting.log.into_inner();
            let mut replay = Replay::new(system, ps[0], factored);
            let mut dy = vec![0.0; eq.lanes().width()];
            // with two lanes, the first lane's evaluations among both lanes'
            let first: Vec<&Evaluation> = log.iter().filter(|e| e.lane == 0).collect();
            for e in first {
                replay.evaluate(&e.y, e.t, &mut dy);
                assert_eq!(dy, e.dy, "{} lanes at t = {}", lanes, e.t);
            }
        }
    }
}

#[test]
fn a_device_model_prices_its_sensitivity_solves_where_it_can() {
    use crate::devices::DeviceConfig;
    use crate::model::DeviceModel;
    use crate::ode::OdeDevice;
    use crate::solver::SolverMethod;
    let (diode, _) = devices();
    let device = OdeDevice::new(diode);
    let pts = points(4);
    let f = device.sens_floor(&pts, 1).expect("an explicit ODE device has one").unwrap();
    let direct = measure_sens(device.system(), &device.system().default_solver(), &pts, 1).unwrap();
    assert_eq!(f.rhs_per_solve, direct.rhs_per_solve);
    // a sensitivity solve evaluates at least as often as the plain solve of its states
    let plain = device.solve_floor(&pts, 1).unwrap().unwrap();
    assert!(f.rhs_per_solve >= plain.rhs_per_solve, "{f:?} {plain:?}");
    // the exact mode solves an implicit method alone with diffsol: not priced here
    let (diode, _) = devices();
    let implicit = OdeDevice::new(diode).with_solver(SolverSettings::new(SolverMethod::Bdf, 1e-6, 1e-9));
    assert!(implicit.sens_floor(&pts, 1).is_none());
    let analytic = DeviceConfig::builtin("analytic", 2).unwrap().build(&Default::default()).unwrap();
    assert!(analytic.sens_floor(&pts, 1).is_none());
}
