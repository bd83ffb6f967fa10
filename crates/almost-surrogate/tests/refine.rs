//! Active refinement on the analytic device: it spends the simulations it says, lowers the
//! held-out error, never touches the test split, keeps failed solves, and is reproducible.

#![allow(clippy::unwrap_used)]

mod common;

use almost_sim::{DeviceModel, DeviceSpec, GenerateConfig, SimError};
use almost_surrogate::refine::save_points;
use almost_surrogate::{Activation, Architecture, FitConfig, FitOptions, RefineConfig, rebuild_device, refine};

fn config(rounds: usize) -> FitConfig {
    let mut cfg = FitConfig {
        architecture: Architecture::Mlp {
            hidden: vec![16, 16],
            activation: Activation::Tanh,
            pair_products: false,
            square_products: false,
        },
        refine: RefineConfig { rounds, probe: 300, worst: 40, per_point: 5, radius: 0.05, seed: 4 },
        ..Default::default()
    };
    cfg.training.max_epochs = 200;
    cfg.training.batch_size = 64;
    cfg.report.gradient_points = 0;
    cfg
}

/// The analytic device, except that it returns NaN where x_1 > 0.8.
struct Holey(std::sync::Arc<dyn DeviceModel>);

impl DeviceModel for Holey {
    fn spec(&self) -> &DeviceSpec {
        self.0.spec()
    }

    fn respond(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>, SimError> {
        if x[0] > 0.8 { Ok(vec![f64::NAN]) } else { self.0.respond(x, a) }
    }
}

#[test]
fn refinement_spends_what_it_reports_and_lowers_the_held_out_error() {
    let _serial = rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let ds = common::analytic_dataset(&tmp.path().join("data"), 300);
    let device = rebuild_device(&ds).unwrap();
    let refined = refine(&ds, &config(2), device.as_ref(), &FitOptions::default()).unwrap();
    let r = &refined.rounds;
    println!("{}", refined.fitted.report.table());
    assert_eq!(r.len(), 3);
    assert_eq!(r.iter().map(|r| r.simulations).collect::<Vec<_>>(), [300, 800, 1300]);
    assert_eq!(refined.points.len(), 1000);
    assert!(r.iter().all(|r| r.failed == 0));
    assert_eq!(r[2].training_rows, r[0].training_rows + 1000);
    assert_eq!(refined.fitted.report.rows[2], 30, "the test split is the dataset's own");
    let (first, last) = (r[0].test_relative_rmse, r[2].test_relative_rmse);
    assert!(last < 0.8 * first, "refinement did not help: {first} -> {last}\n{}", refined.fitted.report.table());
    assert!(r[1].probe_relative_rmse.unwrap() > 0.0);
    assert_eq!(refined.fitted.report.refinement, *r);
    assert!(refined.fitted.report.table().contains("active refinement"));
    // every point inside the box; neighbours sit near their centres
    let spec_box = &ds.manifest.plan.domain;
    for i in 0..refined.points.len() {
        assert!(spec_box.contains(refined.points.x_row(i), refined.points.a_row(i), 0.0));
    }
    // the same seeds give the same points; the saved file names them with a hash
    let again = refine(&ds, &config(2), device.as_ref(), &FitOptions::default()).unwrap();
    assert_eq!(again.points.x, refined.points.x);
    let saved = save_points(tmp.path(), &refined.points).unwrap();
    assert_eq!(saved.rows, 1000);
    let back = almost_sim::Table::read(&tmp.path().join(&saved.file), 2, 2, 1).unwrap();
    assert_eq!(back.y, refined.points.y);
}

#[test]
fn failed_solves_are_counted_and_kept_not_fatal() {
    let _serial = rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let ds = common::analytic_dataset(&tmp.path().join("data"), 300);
    let holey = Holey(rebuild_device(&ds).unwrap());
    let refined = refine(&ds, &config(1), &holey, &FitOptions::default()).unwrap();
    let failed = refined.rounds[1].failed;
    let bad_rows = (0..refined.points.len()).filter(|&i| refined.points.status[i] != 0).count();
    assert!(failed > 0 && failed == bad_rows, "failed {failed}, rows with a failure status {bad_rows}");
    assert!((0..refined.points.len()).all(|i| (refined.points.status[i] != 0) == (refined.points.x_row(i)[0] > 0.8)));
    assert_eq!(refined.rounds[1].training_rows, refined.rounds[0].training_rows + refined.points.len() - failed);
}

#[test]
fn a_device_of_another_spec_is_refused() {
    let _serial = rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let ds = common::analytic_dataset(&tmp.path().join("data"), 300);
    let cfg: GenerateConfig = toml::from_str(
        "name = \"n\"\n[device]\nkind = \"analytic\"\nfan_in = 3\n[design]\nkind = \"sobol\"\nsamples = 30\n",
    )
    .unwrap();
    let three = cfg.resolve("t").unwrap().device;
    let err = refine(&ds, &config(1), three.as_ref(), &FitOptions::default()).err().unwrap().to_string();
    assert!(err.contains("does not match the dataset's device spec"), "{err}");
}

/// burn-flex keeps one random generator for the whole process (the fit seeds it): tests that
/// fit at the same time would interleave their draws, and the reproducibility check above
/// compares two fits, so every test here holds this lock.
fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
