//! Generation end to end: resume, shards + merge, failures recorded, bad files rejected.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use almost_sim::design::DesignConfig;
use almost_sim::domain::BoxOverrides;
use almost_sim::{
    Dataset, DesignKind, DeviceModel, DeviceSpec, FailureKind, GenerateConfig, GenerateOptions, Job, OdeDevice,
    OdeSystem, Quantity, Result, SolverMethod, SolverSettings, generate, merge,
};

fn diode_job(samples: u64) -> Job {
    let text = format!(
        "name = \"d\"\n[device]\nkind = \"diode-node\"\nfan_in = 2\n[design]\nkind = \"sobol\"\nsamples = {samples}\nseed = 5\n[output]\nshard_size = 16\n"
    );
    let cfg: GenerateConfig = toml::from_str(&text).unwrap();
    cfg.resolve("test").unwrap()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn interrupted_run_resumes_to_identical_arrays() {
    let job = diode_job(100);
    let full = tempfile::tempdir().unwrap();
    let out = generate(&job, full.path(), &GenerateOptions::default()).unwrap();
    assert_eq!(out.shards_generated, 7);
    let manifest = out.manifest.unwrap();
    assert_eq!((manifest.samples, manifest.ok), (100, 100));

    let cut = tempfile::tempdir().unwrap();
    let first = generate(&job, cut.path(), &GenerateOptions { max_new_shards: Some(3), ..Default::default() }).unwrap();
    assert!(first.manifest.is_none());
    assert!(Dataset::load(cut.path()).unwrap_err().to_string().contains("generation has not finished"));
    // what a kill during a shard write leaves behind
    std::fs::write(cut.path().join("shards/.shard-000003.npz.tmp-999"), b"torn").unwrap();
    let second = generate(&job, cut.path(), &GenerateOptions { threads: Some(1), ..Default::default() }).unwrap();
    assert_eq!((second.shards_skipped, second.shards_generated), (3, 4));
    assert_eq!(read(&full.path().join("data.npz")), read(&cut.path().join("data.npz")));
    assert_eq!(read(&full.path().join("manifest.json")), read(&cut.path().join("manifest.json")));
    assert!(!cut.path().join("shards/.shard-000003.npz.tmp-999").exists());
}

#[test]
fn shards_on_several_workers_merge_to_the_single_run() {
    let job = diode_job(50);
    let full = tempfile::tempdir().unwrap();
    generate(&job, full.path(), &GenerateOptions::default()).unwrap();
    let workers: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (k, w) in workers.iter().enumerate() {
        let shard = Some(format!("{k}/3").parse().unwrap());
        let out = generate(&job, w.path(), &GenerateOptions { shard, ..Default::default() }).unwrap();
        assert!(out.manifest.is_none());
    }
    let merged = tempfile::tempdir().unwrap();
    let err = merge(merged.path(), &[workers[0].path().into(), workers[1].path().into()]).unwrap_err().to_string();
    assert!(err.contains("shards are missing"), "{err}");
    let inputs: Vec<_> = workers.iter().map(|w| w.path().to_path_buf()).collect();
    merge(merged.path(), &inputs).unwrap();
    assert_eq!(read(&full.path().join("data.npz")), read(&merged.path().join("data.npz")));
}

#[test]
fn another_plan_in_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    generate(&diode_job(20), dir.path(), &GenerateOptions::default()).unwrap();
    let err = generate(&diode_job(21), dir.path(), &GenerateOptions::default()).unwrap_err().to_string();
    assert!(err.contains("another configuration"), "{err}");
}

/// du/dt = A u^2, u(0) = x: blows up at t = 1/(A x), inside the window when A x > 1.
struct BlowUp(DeviceSpec);

impl OdeSystem for BlowUp {
    fn spec(&self) -> &DeviceSpec {
        &self.0
    }
    fn n_states(&self) -> usize {
        1
    }
    fn init(&self, p: &[f64], u0: &mut [f64]) {
        u0[0] = p[0];
    }
    fn rhs(&self, u: &[f64], p: &[f64], _t: f64, du: &mut [f64]) {
        du[0] = p[1] * u[0] * u[0];
    }
    fn jac_mul(&self, u: &[f64], p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]) {
        jv[0] = 2.0 * p[1] * u[0] * v[0];
    }
    fn sample_times(&self) -> Vec<f64> {
        vec![1.0]
    }
    fn observe(&self, states: &[Vec<f64>], _p: &[f64], y: &mut [f64]) {
        y[0] = states[0][0];
    }
    fn default_solver(&self) -> SolverSettings {
        SolverSettings { max_steps: 2000, ..SolverSettings::new(SolverMethod::Tsit45, 1e-8, 1e-10) }
    }
}

fn spec(kind: &str, x: (f64, f64), a: (f64, f64)) -> DeviceSpec {
    DeviceSpec {
        kind: kind.into(),
        summary: "test device".into(),
        inputs: vec![Quantity::new("x", "1", x.0, x.1)],
        params: vec![Quantity::new("A", "1", a.0, a.1)],
        outputs: vec![Quantity::new("y", "1", 0.0, 10.0)],
        constants: Default::default(),
        source: String::new(),
    }
}

/// Panics for x > 0.8, returns NaN for x < -0.8, else x A.
struct Unruly(DeviceSpec);

impl DeviceModel for Unruly {
    fn spec(&self) -> &DeviceSpec {
        &self.0
    }
    fn respond(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>> {
        assert!(x[0] <= 0.8, "x too large");
        Ok(vec![if x[0] < -0.8 { f64::NAN } else { x[0] * a[0] }])
    }
}

/// A plain Latin hypercube (no boundary share): the tests count rows per stratum.
fn design(samples: u64) -> DesignConfig {
    DesignConfig { kind: DesignKind::Lhs, samples, seed: 3, levels: None, boundary: Some(0.0) }
}

#[test]
fn blow_up_in_part_of_the_box_is_recorded_not_fatal() {
    let device = Arc::new(OdeDevice::new(BlowUp(spec("blow-up", (0.0, 1.0), (0.0, 2.0)))));
    let job = Job::for_device("blow", device, &design(200), &BoxOverrides::default(), 64).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = generate(&job, dir.path(), &GenerateOptions::default()).unwrap().manifest.unwrap();
    let ds = Dataset::load(dir.path()).unwrap();
    let t = &ds.table;
    let mut wrong = 0;
    for i in 0..t.len() {
        let (x, a) = (t.x_row(i)[0], t.a_row(i)[0]);
        let margin = (a * x - 1.0).abs() > 0.05;
        if margin && (a * x > 1.0) != (t.status[i] != 0) {
            wrong += 1;
        }
        if t.status[i] == 0 {
            let exact = x / (1.0 - a * x);
            assert!((t.y_row(i)[0] - exact).abs() < 1e-4 * exact.abs().max(1.0), "row {i}");
        }
    }
    assert_eq!(wrong, 0);
    assert!(manifest.failed > 20 && manifest.ok > 20, "{manifest:?}");
    assert_eq!(manifest.failures_by_reason.values().sum::<u64>(), manifest.failed);
    assert!(!manifest.failure_examples.is_empty());
}

#[test]
fn panics_and_nan_outputs_are_recorded_with_their_reason() {
    let device = Arc::new(Unruly(spec("unruly", (-1.0, 1.0), (-1.0, 1.0))));
    let job = Job::for_device("unruly", device, &design(100), &BoxOverrides::default(), 32).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let manifest = generate(&job, dir.path(), &GenerateOptions::default()).unwrap().manifest.unwrap();
    std::panic::set_hook(prev);
    let t = Dataset::load(dir.path()).unwrap().table;
    for i in 0..t.len() {
        let x = t.x_row(i)[0];
        let expected = if x > 0.8 {
            FailureKind::Panic.code()
        } else if x < -0.8 {
            FailureKind::NonFinite.code()
        } else {
            0
        };
        assert_eq!(t.status[i], expected, "row {i}, x = {x}");
    }
    assert_eq!(manifest.failures_by_reason["panic"], 10);
    assert_eq!(manifest.failures_by_reason["non-finite"], 10);
    assert!(manifest.failure_examples.iter().any(|f| f.message.contains("x too large")));
}

#[test]
fn damaged_dataset_files_are_rejected_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    generate(&diode_job(40), dir.path(), &GenerateOptions::default()).unwrap();
    let data = dir.path().join("data.npz");
    let bytes = read(&data);
    std::fs::write(&data, &bytes[..bytes.len() - 100]).unwrap();
    let err = Dataset::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("data.npz") && err.contains("does not match the hash"), "{err}");
    std::fs::remove_file(dir.path().join("manifest.json")).unwrap();
    let err = Dataset::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("manifest.json") && err.contains("missing"), "{err}");
    let err = Dataset::load(&dir.path().join("nope")).unwrap_err().to_string();
    assert!(err.contains("no such dataset folder"), "{err}");
}
