//! No figure on surrogates without the truth: poor surrogates are refused, every run ends on
//! the physics, and the closing check is the same figure as an evaluation on physics.

#![allow(clippy::unwrap_used)]

mod common;

use almost_net::training::train::{TrainOptions, train};
use almost_net::{NetError, NominalHardware, PhysicsVerdict, evaluate, load_run};
use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost_surrogate::{Activation, Architecture, FitConfig, FitOptions, SurrogateMeta, fit, save};
use burn::tensor::{DType, Device};

/// A surrogate of the analytic device fitted for a handful of epochs only: far from its device.
fn poor_surrogate(dir: &std::path::Path) -> std::path::PathBuf {
    let text = "name = \"p\"\n[device]\nkind = \"analytic\"\nfan_in = 4\n[design]\nkind = \"sobol\"\nsamples = 600\nseed = 3\n";
    let cfg: GenerateConfig = toml::from_str(text).unwrap();
    generate(&cfg.resolve("test").unwrap(), &dir.join("poor-data"), &GenerateOptions::default()).unwrap();
    let ds = Dataset::load(&dir.join("poor-data")).unwrap();
    let mut fc = FitConfig {
        architecture: Architecture::Mlp {
            hidden: vec![4],
            activation: Activation::Tanh,
            pair_products: false,
            square_products: false,
        },
        ..Default::default()
    };
    fc.training.max_epochs = 2;
    fc.training.learning_rate = 1e-4;
    fc.report.gradient_points = 0;
    let fitted = fit(&ds, &fc, None, &FitOptions::default()).unwrap();
    assert!(fitted.report.outputs[0].relative_rmse > 0.05, "{}", fitted.report.table());
    let out = dir.join("poor-model");
    save(&out, &fitted.surrogate, SurrogateMeta::for_fit(&fitted, &ds, &fc)).unwrap();
    out
}

#[test]
fn a_poor_surrogate_is_refused_with_its_figure_and_accepted_when_overridden() {
    let tmp = tempfile::tempdir().unwrap();
    let sur = poor_surrogate(tmp.path());
    let mut cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    cfg.training.epochs = 1;
    cfg.training.max_surrogate_error = 0.02; // the default
    let run = tmp.path().join("run");
    let err = train(&cfg, &run, &TrainOptions::default()).err().unwrap();
    match &err {
        NetError::PoorSurrogate { layer, rmse_percent, threshold_percent, .. } => {
            assert_eq!(*layer, 0);
            assert!(*rmse_percent > 5.0 && *threshold_percent == 2.0, "{err}");
        }
        other => panic!("expected a refusal, got {other}"),
    }
    assert!(!run.join("network.json").exists(), "a refused run trains nothing");
    // accepted knowingly: the run trains and ends on the physics
    cfg.training.max_surrogate_error = 1.0;
    let trained = train(&cfg, &run, &TrainOptions::default()).unwrap();
    let check = trained.physics.checked().unwrap();
    assert_eq!(check.report.images, 48);
    // the probe measured the surrogate against its device where the network operates
    let health = &trained.history[0].health;
    assert_eq!(health.len(), 2);
    assert!(health.iter().all(|h| h.sampled > 0 && h.operating_error > 0.02), "{health:?}");
}

#[test]
fn the_closing_check_equals_an_evaluation_on_physics_of_the_same_images() {
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::analytic_surrogate(tmp.path(), 4);
    let mut cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    cfg.training.max_surrogate_error = 1.0;
    cfg.training.physics_check_images = 30;
    let run = tmp.path().join("run");
    let trained = train(&cfg, &run, &TrainOptions::default()).unwrap();
    let check = trained.physics.checked().unwrap().clone();
    assert_eq!(check.report.images, 30);
    assert_eq!(check.test_images, 48);
    let loaded = load_run(&run, DType::F32, &Device::flex()).unwrap();
    let hw = NominalHardware::from_metas(&loaded.network.metas().unwrap()).unwrap();
    let report = evaluate(&loaded.network, &hw, &loaded.test, 30, 0, false);
    assert_eq!(report.accuracy_physics, check.report.accuracy_physics);
    assert_eq!(report.accuracy_surrogate, check.report.accuracy_surrogate);
    assert_eq!(report.agreement, check.report.agreement);
    // the run's summary and metrics.csv carry the check
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("network.json")).unwrap()).unwrap();
    assert_eq!(summary["physics_check"]["status"], "checked");
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let last = csv.lines().last().unwrap();
    assert!(last.contains(&check.report.accuracy_physics.to_string()), "{last}");
    // with a budget below one image the run says it was not checked
    cfg.training.physics_check_solves = 1;
    cfg.name = "unchecked".into();
    let trained = train(&cfg, &tmp.path().join("run2"), &TrainOptions::default()).unwrap();
    assert!(matches!(trained.physics, PhysicsVerdict::NotChecked { .. }));
    assert!(trained.physics.summary().starts_with("not checked on physics"));
}
