//! The physics training modes and imperfect hardware on small problems.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use almost_net::data::images;
use almost_net::network::wiring::WiringConfig;
use almost_net::physics::hardware::{Hardware, LayerCall, NominalHardware};
use almost_net::physics::imperfect::{HardwareConfig, PerturbedHardware};
use almost_net::training::exact::exact_step;
use almost_net::training::modes::physics_aware_step;
use almost_net::training::train::data_parallel_step;
use almost_net::{DeviceNetwork, build};
use almost_sim::solver::SolverOverrides;
use almost_sim::{Dataset, DeviceModel, GenerateConfig, GenerateOptions, Jacobian, generate};
use almost_surrogate::tensor_io::to_vec;
use almost_surrogate::{Activation, Architecture, FitConfig, FitOptions, SurrogateMeta, fit, save};
use burn::module::Module;
use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};

use common::input;

/// Hardware whose "physics" is the surrogate itself.
struct SurrogateHardware(DeviceNetwork);

impl Hardware for SurrogateHardware {
    fn respond(&self, _l: usize, _d: usize, _x: &[f64], _a: &[f64]) -> almost_sim::Result<Vec<f64>> {
        unreachable!("respond_layer is overridden")
    }
    fn jacobian(&self, _l: usize, _d: usize, _x: &[f64], _a: &[f64]) -> Option<almost_sim::Result<Jacobian>> {
        None
    }
    fn respond_layer(&self, call: &LayerCall<'_>) -> Vec<Option<f64>> {
        let layer = &self.0.layers[call.layer];
        let (m, batch) = (call.devices(), call.calls() / call.devices());
        let opts = TensorCreationOptions::new(Device::flex()).with_dtype(DType::F64);
        let x = Tensor::<3>::from_data(TensorData::new(call.x.to_vec(), [batch, m, call.fan_in]), opts.clone());
        let a = Tensor::<2>::from_data(TensorData::new(call.a.to_vec(), [m, call.n_a]), opts);
        let y = layer.surrogate.forward_devices(x, a);
        to_vec(y).into_iter().map(Some).collect()
    }
}

#[test]
fn physics_aware_gradient_equals_surrogate_gradient_when_physics_is_the_surrogate() {
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::analytic_surrogate(tmp.path(), 4);
    let cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    let device = Device::flex().autodiff();
    let (net, x, y) = common::network_and_batch(&cfg, DType::F64, &device, 4, 16);
    let (l_sur, _, g_sur) = data_parallel_step(&net, x.clone(), y.clone(), 1).unwrap();
    let hw = SurrogateHardware(net.valid());
    let (l_pa, _, g_pa) = physics_aware_step(&net, x, y, &hw, 0).unwrap();
    assert!((to_vec(l_sur)[0] - l_pa).abs() < 1e-12);
    common::assert_same_a_grads(&net, g_sur, g_pa);
}

/// A diode-node surrogate with fan-in `n` over +-2 V.
fn diode_surrogate(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let text = format!(
        "name = \"d\"\n[device]\nkind = \"diode-node\"\nfan_in = {n}\n[design]\nkind = \"sobol\"\nsamples = 2000\nseed = 2\n[box]\nx = [-2.0, 2.0]\n"
    );
    let cfg: GenerateConfig = toml::from_str(&text).unwrap();
    let data = dir.join("diode-data");
    generate(&cfg.resolve("t").unwrap(), &data, &GenerateOptions::default()).unwrap();
    let ds = Dataset::load(&data).unwrap();
    let mut fc = FitConfig {
        architecture: Architecture::Mlp {
            hidden: vec![16],
            activation: Activation::Softsign,
            pair_products: true,
            square_products: false,
        },
        ..Default::default()
    };
    fc.training.max_epochs = 40;
    fc.report.gradient_points = 0;
    let fitted = fit(&ds, &fc, None, &FitOptions::default()).unwrap();
    let out = dir.join("diode-model");
    save(&out, &fitted.surrogate, SurrogateMeta::for_fit(&fitted, &ds, &fc)).unwrap();
    out
}

/// A two-layer network of fan-in-4 diode nodes (4 and 6 devices) on bar images, its
/// surrogate fitted in `dir`, its A seeded by `seed`.
fn small_diode_network(dir: &std::path::Path, seed: u64) -> (almost_net::NetConfig, DeviceNetwork, Device) {
    let sur = diode_surrogate(dir, 4);
    let mut cfg = common::net_config(&common::bars(dir, 150), &sur);
    cfg.layers[0].wiring = WiringConfig::Random { devices: 4, fan_in: 4, seed: 1 };
    cfg.layers[1].wiring = WiringConfig::Random { devices: 6, fan_in: 4, seed: 2 };
    let device = Device::flex();
    device.seed(seed);
    let net = build(&cfg, input(), DType::F64, &device).unwrap();
    (cfg, net, device)
}

#[test]
fn exact_mode_gradient_matches_finite_differences_of_the_physical_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, net, device) = small_diode_network(tmp.path(), 2);
    let metas = net.metas().unwrap();
    // the physics at tight tolerances, so that finite differences of the loss are meaningful
    let tight = SolverOverrides { rtol: Some(1e-11), atol: Some(1e-13), ..Default::default() };
    let physical: Arc<dyn DeviceModel> = metas[0].device_config.build(&tight).unwrap();
    let hw = NominalHardware { devices: vec![physical.clone(), physical] };
    let (train_set, _) = images::load(&cfg.data).unwrap();
    let idx: Vec<usize> = (0..6).collect();
    let x = to_vec(almost_net::data::batch::images(&train_set, &idx, None, DType::F64, &device));
    let labels: Vec<usize> = idx.iter().map(|&i| usize::from(train_set.labels[i])).collect();
    let step = exact_step(&net, &x, &labels, &hw, 0).unwrap();
    let h = 1e-5;
    let mut worst: f64 = 0.0;
    for l in 0..2 {
        let a = net.a_values()[l].clone();
        for k in (0..a.len()).step_by(5) {
            let loss_at = |delta: f64| {
                let mut v = a.clone();
                v[k] += delta;
                exact_step(&common::with_a(&net, l, &v, &device), &x, &labels, &hw, 0).unwrap().loss
            };
            let fd = (loss_at(h) - loss_at(-h)) / (2.0 * h);
            let g = step.grad_a[l][k];
            worst = worst.max((fd - g).abs() / (1e-4 + fd.abs().max(g.abs())));
        }
    }
    assert!(worst < 1e-4, "worst relative error of exact dLoss/dA: {worst:e}");
}

#[test]
fn variability_makes_reproducible_distinct_instances_and_noise_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let sur = diode_surrogate(tmp.path(), 4);
    let meta: SurrogateMeta = almost_sim::fsutil::read_json(&sur.join("surrogate.json")).unwrap();
    let cfg = HardwareConfig { variability: 0.05, read_noise: 0.0, seed: 3, ..Default::default() };
    let hw = PerturbedHardware::build(std::slice::from_ref(&meta), &[3], &cfg).unwrap();
    let again = PerturbedHardware::build(std::slice::from_ref(&meta), &[3], &cfg).unwrap();
    let (x, a) = ([1.5, -0.5, 0.7, 2.0], [0.6, -0.2, 0.4, 0.9]);
    let ys: Vec<f64> = (0..3).map(|j| hw.respond(0, j, &x, &a).unwrap()[0]).collect();
    assert!(ys[0] != ys[1] && ys[1] != ys[2], "{ys:?}");
    assert_eq!(ys, (0..3).map(|j| again.respond(0, j, &x, &a).unwrap()[0]).collect::<Vec<_>>());
    let nominal = NominalHardware::from_metas(std::slice::from_ref(&meta)).unwrap().respond(0, 0, &x, &a).unwrap()[0];
    for y in &ys {
        assert!((y - nominal).abs() < 0.2 * nominal.abs() && (y - nominal).abs() > 0.0);
    }
    let noisy =
        PerturbedHardware::build(std::slice::from_ref(&meta), &[1], &HardwareConfig { read_noise: 0.01, ..cfg })
            .unwrap();
    let (n1, n2) = (noisy.respond(0, 0, &x, &a).unwrap()[0], noisy.respond(0, 0, &x, &a).unwrap()[0]);
    assert_eq!(n1, n2);
    let err = PerturbedHardware::build(
        std::slice::from_ref(&meta),
        &[1],
        &HardwareConfig { variability: 0.05, vary: vec!["capacitance".into()], ..Default::default() },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("no constant 'capacitance'"), "{err}");
}

#[test]
fn variability_varies_the_declared_constants_of_a_diffsl_device() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // du/dt = a0 x0 - rate u, u(0) = 0: u(1) = a0 x0 (1 - exp(-rate)) / rate
    std::fs::write(
        dir.join("leak.ds"),
        "in_i { x0 = 1, a0 = 0.5 }\nrate { 3 }\nu_i { y = 0 }\nF_i { a0 * x0 - rate * y }\nout_i { y }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("leak.toml"),
        "summary = \"leaky integrator\"\nmodel = \"leak.ds\"\nt_end = 1.0\n\
         inputs = [{ name = \"x0\", unit = \"1\", lo = 0.0, hi = 1.0 }]\n\
         params = [{ name = \"a0\", unit = \"1\", lo = -1.0, hi = 1.0 }]\n\
         outputs = [{ name = \"y\", unit = \"1\", lo = -1.0, hi = 1.0 }]\n[constants]\nrate = 2.0\n",
    )
    .unwrap();
    let text = format!(
        "name = \"leak\"\n[device]\nkind = \"diffsl\"\nfile = \"{}\"\n[design]\nkind = \"sobol\"\nsamples = 200\nseed = 1\n",
        dir.join("leak.toml").display()
    );
    let cfg: GenerateConfig = toml::from_str(&text).unwrap();
    generate(&cfg.resolve("t").unwrap(), &dir.join("data"), &GenerateOptions::default()).unwrap();
    let ds = Dataset::load(&dir.join("data")).unwrap();
    let mut fc = FitConfig::default();
    fc.training.max_epochs = 3;
    fc.report.gradient_points = 0;
    let fitted = fit(&ds, &fc, None, &FitOptions::default()).unwrap();
    save(&dir.join("model"), &fitted.surrogate, SurrogateMeta::for_fit(&fitted, &ds, &fc)).unwrap();
    let meta: SurrogateMeta = almost_sim::fsutil::read_json(&dir.join("model/surrogate.json")).unwrap();
    // the TOML's value, not the model's, is the nominal constant
    assert_eq!(meta.device.constants["rate"], 2.0);
    let hw_cfg = HardwareConfig { variability: 0.1, seed: 5, ..Default::default() };
    let hw = PerturbedHardware::build(std::slice::from_ref(&meta), &[3], &hw_cfg).unwrap();
    let rates: Vec<f64> = hw.instances[0].iter().map(|d| d.spec().constants["rate"]).collect();
    assert!(rates[0] != rates[1] && rates[1] != rates[2] && rates.iter().all(|r| (r - 2.0).abs() < 0.61), "{rates:?}");
    for (j, rate) in rates.iter().enumerate() {
        let y = hw.respond(0, j, &[0.8], &[0.5]).unwrap()[0];
        let exact = 0.4 * (1.0 - (-rate).exp()) / rate;
        assert!((y - exact).abs() < 1e-6, "instance {j}: {y} vs {exact}");
    }
    let err = PerturbedHardware::build(
        std::slice::from_ref(&meta),
        &[1],
        &HardwareConfig { variability: 0.1, vary: vec!["gain".into()], ..Default::default() },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("no constant 'gain'"), "{err}");
    // exact mode on a device without analytic sensitivities: finite differences of its solve
    let nominal = NominalHardware::from_metas(std::slice::from_ref(&meta)).unwrap();
    assert!(matches!(nominal.derivative_source(0), Some(almost_sim::DerivativeSource::FiniteDifference { .. })));
    let j = nominal.jacobian(0, 0, &[0.8], &[0.5]).unwrap().unwrap();
    let g = (1.0 - (-2.0f64).exp()) / 2.0;
    assert!((j.dy_dx[0][0] - 0.5 * g).abs() < 1e-4 && (j.dy_da[0][0] - 0.8 * g).abs() < 1e-4, "{j:?}");
}

#[test]
fn physics_aware_training_solves_with_rodas4_where_it_agrees_and_keeps_the_decision() {
    use almost_net::network::physics_solver::{PhysicsMethod, PhysicsSolver};
    use almost_net::physics::training_solver::{DECISION_FILE, Decision, training_solver_for_run};
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, net, device) = small_diode_network(tmp.path(), 3);
    let (train_set, _) = images::load(&cfg.data).unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let on = (DType::F64, &device);
    let chosen =
        training_solver_for_run(&run, false, &net, &cfg.hardware, &PhysicsSolver::default(), &train_set, on).unwrap();
    assert!(chosen.hardware.is_some(), "{:?}", chosen.lines);
    assert!(chosen.lines[0].contains("rodas4 at rtol 1e-3"), "{:?}", chosen.lines);
    let recorded: Decision = almost_sim::fsutil::read_json(&run.join(DECISION_FILE)).unwrap();
    assert!(recorded.accepted);
    // the devices it answers with are the Rodas4 ones: close to the dataset's solver, not equal
    let tight = NominalHardware::from_metas(&net.metas().unwrap()).unwrap();
    let (x, a) = ([0.9, -0.8, 0.7, 1.5], [0.6, -0.7, 0.8, 0.9]);
    let loose = chosen.hardware.as_ref().unwrap().respond(0, 0, &x, &a).unwrap()[0];
    let exact = tight.respond(0, 0, &x, &a).unwrap()[0];
    assert!((loose - exact).abs() < 1e-3 && loose != exact, "{loose} vs {exact}");
    // a bound no solver meets: refused, with a warning; a resumed run keeps what its start decided
    let strict = PhysicsSolver { max_deviation: 1e-12, ..Default::default() };
    let refused = training_solver_for_run(&run, false, &net, &cfg.hardware, &strict, &train_set, on).unwrap();
    assert!(refused.hardware.is_none() && refused.lines[0].starts_with("WARNING"), "{:?}", refused.lines);
    let resumed = training_solver_for_run(&run, true, &net, &cfg.hardware, &strict, &train_set, on).unwrap();
    assert!(resumed.hardware.is_none() && resumed.lines[0].contains("as decided at the start"), "{:?}", resumed.lines);
    let dataset = PhysicsSolver { method: PhysicsMethod::Dataset, ..Default::default() };
    assert!(
        training_solver_for_run(&run, false, &net, &cfg.hardware, &dataset, &train_set, on).unwrap().hardware.is_none()
    );
}
