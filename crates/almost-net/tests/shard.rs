//! The evaluation on physics split into shards (tasks of a job array) and merged gives the
//! report one machine gives, and says what it measured; an incomplete set, shards of other
//! hardware or of other trained A are refused.

#![allow(clippy::unwrap_used)]

mod common;

use almost_net::physics::run_physics::{RunPhysics, nominal_whole_test_set};
use almost_net::physics::shard::merge_run;
use almost_net::training::train::{TrainOptions, train};
use almost_net::{evaluate_run, evaluate_run_shard};
use almost_sim::ShardSelection;
use burn::tensor::Device;

#[test]
fn three_shards_merged_equal_one_evaluation_and_bad_sets_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = common::quick_bars_config(tmp.path());
    let run = tmp.path().join("run");
    train(&cfg, &run, &TrainOptions { skip_physics_check: true, ..Default::default() }).unwrap();
    let device = Device::flex();
    let whole = evaluate_run(&run, true, 40, &Default::default(), &device).unwrap().physics.unwrap();
    std::fs::remove_file(run.join("physics.json")).unwrap();
    let shard = |k| ShardSelection { index: k, count: 3 };
    for k in 0..2 {
        let (report, path) = evaluate_run_shard(&run, 40, shard(k), &Default::default(), &device).unwrap();
        assert!(path.ends_with(format!("physics.shard-{k}-of-3.json")));
        assert_eq!(report.images, if k == 0 { 14 } else { 13 });
    }
    // one shard missing: refused, nothing written
    let e = merge_run(&run).unwrap_err().to_string();
    assert!(e.contains("shards [2] of 3 are missing"), "{e}");
    assert!(!run.join("physics.json").exists());
    evaluate_run_shard(&run, 40, shard(2), &Default::default(), &device).unwrap();
    let merged = merge_run(&run).unwrap();
    assert!(run.join("physics.json").exists());
    assert_eq!(merged.images, whole.images);
    assert_eq!(merged.solves, whole.solves);
    for (m, w) in [
        (merged.accuracy_surrogate, whole.accuracy_surrogate),
        (merged.accuracy_physics, whole.accuracy_physics),
        (merged.agreement, whole.agreement),
    ] {
        assert!((m - w).abs() < 1e-12, "{m} vs {w}");
    }
    assert_eq!(merged.physics_only_right, whole.physics_only_right);
    for (m, w) in merged.layers.iter().zip(&whole.layers) {
        assert_eq!(
            (m.solves, m.failed, m.x_outside_box, m.a_outside_box),
            (w.solves, w.failed, w.x_outside_box, w.a_outside_box)
        );
        assert!((m.rms_local_error - w.rms_local_error).abs() <= 1e-9 * w.rms_local_error.max(1e-12), "{m:?} vs {w:?}");
        assert!((m.rms_activation_gap - w.rms_activation_gap).abs() <= 1e-9 * w.rms_activation_gap.max(1e-12));
        assert_eq!(m.max_local_error, w.max_local_error);
    }
    // the merged file says what it measured: 40 of the 48 test images, on the nominal devices
    let file: RunPhysics = almost_sim::fsutil::read_json(&run.join("physics.json")).unwrap();
    assert_eq!((file.test_images, file.hardware.map(|h| h.is_nominal())), (Some(48), Some(true)));
    assert!(nominal_whole_test_set(&run).is_none(), "part of the test set only");
    // a shard on other hardware is refused
    let noisy = almost_net::HardwareOverrides { read_noise: Some(0.01), ..Default::default() };
    evaluate_run_shard(&run, 40, shard(2), &noisy, &device).unwrap();
    let e = merge_run(&run).unwrap_err().to_string();
    assert!(e.contains("ran other hardware"), "{e}");
    evaluate_run_shard(&run, 40, shard(2), &Default::default(), &device).unwrap();
    // the run's A replaced by another training's: the shards no longer belong to it
    cfg.training.seed = 2;
    let other = tmp.path().join("other");
    train(&cfg, &other, &TrainOptions { skip_physics_check: true, ..Default::default() }).unwrap();
    std::fs::copy(other.join("a.npz"), run.join("a.npz")).unwrap();
    let e = merge_run(&run).unwrap_err().to_string();
    assert!(e.contains("ran other trained A"), "{e}");
}
