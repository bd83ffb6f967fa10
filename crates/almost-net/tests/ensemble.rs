//! `almost-train ensemble`: runs read out together. One run alone, or one run twice, gives
//! that run's own accuracies (on the surrogates as its training reported, on the physics as
//! its own check measured); two runs add their devices; runs of other test images are
//! refused.

#![allow(clippy::unwrap_used)]

mod common;

use almost_net::training::run::RunSummary;
use almost_net::training::train::{TrainOptions, train};

#[test]
fn runs_read_out_together_keep_each_runs_own_accuracies() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = common::quick_bars_config(tmp.path());
    let all = TrainOptions { physics_all: true, ..Default::default() };
    let runs: Vec<_> = [1, 2].iter().map(|s| tmp.path().join(format!("s{s}"))).collect();
    for (seed, run) in [1, 2].into_iter().zip(&runs) {
        cfg.training.seed = seed;
        train(&cfg, run, &all).unwrap();
    }
    let device = burn::tensor::Device::flex();
    let summary: RunSummary = almost_sim::fsutil::read_json(&runs[0].join("network.json")).unwrap();
    let check = summary.physics_check.as_ref().unwrap().checked().unwrap().report.clone();

    // one run, and the same run twice (its scores doubled: the same argmax)
    for branches in [vec![runs[0].clone()], vec![runs[0].clone(), runs[0].clone()]] {
        let r = almost_net::ensemble(&branches, 0, true, &device).unwrap();
        assert_eq!(r.images, check.images);
        assert!((r.accuracy_surrogate - summary.test_accuracy_surrogate).abs() < 1e-12, "{r:?}");
        assert!((r.accuracy_physics.unwrap() - check.accuracy_physics).abs() < 1e-12, "{r:?}");
        assert_eq!(r.devices, branches.len() * summary.devices.iter().sum::<usize>());
        assert!(r.stderr_physics.unwrap() > 0.0);
    }

    // two trained runs: each branch its own, the devices added, the table names the whole
    let r = almost_net::ensemble(&runs, 20, true, &device).unwrap();
    assert_eq!((r.images, r.branches.len()), (20, 2));
    assert_eq!(r.devices, r.branches.iter().map(|b| b.devices).sum::<usize>());
    assert!(r.table().contains("together"), "{}", r.table());
    let on_surrogates = almost_net::ensemble(&runs, 20, false, &device).unwrap();
    assert_eq!(on_surrogates.accuracy_surrogate, r.accuracy_surrogate);
    assert!(on_surrogates.accuracy_physics.is_none());

    // a run whose test images differ is refused, naming the first run
    cfg.data.seed = 2;
    let other = tmp.path().join("other");
    train(&cfg, &other, &TrainOptions::default()).unwrap();
    let e = almost_net::ensemble(&[runs[0].clone(), other], 0, false, &device).unwrap_err().to_string();
    assert!(e.contains("test images are not those of"), "{e}");
}
