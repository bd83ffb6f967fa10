//! A device researcher's own device, from equations to a trusted surrogate, in Rust.
//!
//! The device: a photodetector-driven RC integrator with a saturating (tanh) transimpedance
//! stage. Each input x_i is a light intensity in [0, 1], each parameter A_i in [-1, 1] is the
//! signed responsivity of its photodiode, and the node obeys
//!
//!   tau dV/dt = sum_i A_i x_i - V,        V(0) = 0,       y = tanh(2 V(T)),   T = 2 tau.
//!
//! With tau = 1 the solution is V(T) = s (1 - e^{-2}), s = sum_i A_i x_i, which the example
//! checks before it simulates a dataset, fits a surrogate and prints its held-out report.
//!
//! Run: `cargo run --release --example own_device`

use std::sync::Arc;

use almost::sim::design::DesignConfig;
use almost::sim::domain::BoxOverrides;
use almost::sim::{
    Dataset, DesignKind, DeviceModel, DeviceSpec, GenerateOptions, Job, OdeDevice, OdeSystem, Quantity, SolverMethod,
    SolverSettings, generate,
};
use almost::surrogate::{FitConfig, FitOptions, SurrogateMeta, fit, save};

/// The photodetector integrator with fan-in `n`.
struct Photodetector {
    spec: DeviceSpec,
    n: usize,
}

impl Photodetector {
    fn new(n: usize) -> Self {
        let spec = DeviceSpec {
            kind: "photodetector-rc".into(),
            summary: "RC integrator of photocurrents A_i x_i with a tanh transimpedance stage".into(),
            inputs: Quantity::family("x", "W/m^2 (normalised)", 0.0, 1.0, n),
            params: Quantity::family("A", "A/W (normalised)", -1.0, 1.0, n),
            outputs: vec![Quantity::new("y", "V", -1.0, 1.0)],
            constants: [("tau".to_string(), 1.0), ("t_end".to_string(), 2.0), ("gain".to_string(), 2.0)].into(),
            source: String::new(),
        };
        Self { spec, n }
    }
}

impl OdeSystem for Photodetector {
    fn spec(&self) -> &DeviceSpec {
        &self.spec
    }
    fn n_states(&self) -> usize {
        1
    }
    fn init(&self, _p: &[f64], u0: &mut [f64]) {
        u0[0] = 0.0;
    }
    fn rhs(&self, u: &[f64], p: &[f64], _t: f64, du: &mut [f64]) {
        let (x, a) = p.split_at(self.n);
        du[0] = x.iter().zip(a).map(|(x, a)| a * x).sum::<f64>() - u[0];
    }
    fn jac_mul(&self, _u: &[f64], _p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]) {
        jv[0] = -v[0];
    }
    fn sample_times(&self) -> Vec<f64> {
        vec![2.0]
    }
    fn observe(&self, states: &[Vec<f64>], _p: &[f64], y: &mut [f64]) {
        y[0] = (2.0 * states[0][0]).tanh();
    }
    fn default_solver(&self) -> SolverSettings {
        SolverSettings::new(SolverMethod::Tsit45, 1e-8, 1e-10)
    }
}

fn main() -> anyhow::Result<()> {
    let n = 4;
    let device = Arc::new(OdeDevice::new(Photodetector::new(n)));

    // 1. check the device against its closed form
    let (x, a) = ([0.2, 0.9, 0.5, 0.1], [0.7, -0.3, 0.4, 1.0]);
    let s: f64 = x.iter().zip(&a).map(|(x, a)| x * a).sum();
    let exact = (2.0 * s * (1.0 - (-2.0f64).exp())).tanh();
    let y = device.respond(&x, &a)?[0];
    println!("closed form {exact:.9}, ODE {y:.9}");
    anyhow::ensure!((y - exact).abs() < 1e-6, "the ODE disagrees with the closed form");

    // 2. simulate a dataset (Latin hypercube over the device's own box)
    let design = DesignConfig { kind: DesignKind::Lhs, samples: 4000, seed: 1, levels: None, boundary: None };
    let job = Job::for_device("photodetector", device.clone(), &design, &BoxOverrides::default(), 1000)?;
    let dir = std::env::temp_dir().join("almost-example-photodetector");
    let _ = std::fs::remove_dir_all(&dir);
    generate(&job, &dir.join("data"), &GenerateOptions { progress: true, ..Default::default() })?;
    let dataset = Dataset::load(&dir.join("data"))?;
    println!("{} samples simulated, {} failed", dataset.manifest.samples, dataset.manifest.failed);

    // 3. fit, report (gradients checked against this device) and save the frozen surrogate
    let mut config = FitConfig::default();
    config.training.max_epochs = 200;
    let fitted = fit(&dataset, &config, Some(device.as_ref()), &FitOptions::with_progress())?;
    print!("{}", fitted.report.table());
    save(&dir.join("model"), &fitted.surrogate, SurrogateMeta::for_fit(&fitted, &dataset, &config))?;
    println!("surrogate saved in {}", dir.join("model").display());
    Ok(())
}
