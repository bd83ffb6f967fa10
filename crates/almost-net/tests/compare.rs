//! `almost-train compare`: runs of one network with different training seeds become one
//! entry with the mean and spread of their own physics checks; another network is another
//! entry (paths spelt with `.` components or without are one network); a run not checked
//! on its whole test set is counted out of the physics figures, unless its `evaluate --physics`
//! report covers the whole test set on the nominal devices with its present A.

#![allow(clippy::unwrap_used)]

mod common;

use almost_net::compare::{Published, gather, plot::plot, table, write_csv};
use almost_net::training::train::{TrainOptions, train};

#[test]
fn seeds_are_grouped_and_their_physics_checks_averaged() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = common::quick_bars_config(tmp.path());
    let all = TrainOptions { physics_all: true, ..Default::default() };
    let mut runs = Vec::new();
    let (dir, surrogate) = (cfg.data.dir.clone(), cfg.layers[0].surrogate.clone());
    // `a/./b` is `a/b`: the second seed names its paths with `.` components, as the pipeline does
    let dotted = |p: &std::path::Path| p.parent().unwrap().join(".").join(p.file_name().unwrap());
    for seed in [1, 2] {
        cfg.name = format!("bars-s{seed}");
        cfg.training.seed = seed;
        if seed == 2 {
            cfg.data.dir = dotted(&dir);
            for layer in &mut cfg.layers {
                layer.surrogate = dotted(&surrogate);
            }
        }
        runs.push(tmp.path().join(format!("s{seed}")));
        train(&cfg, runs.last().unwrap(), &all).unwrap();
    }
    assert!(cfg.data.dir.to_string_lossy().contains("/./"), "{}", cfg.data.dir.display());
    // another network: a wider last layer, checked on part of the test set only
    cfg.name = "bars-wide".into();
    cfg.layers[1].wiring = almost_net::WiringConfig::Random { devices: 12, fan_in: 4, seed: 3 };
    cfg.readout.per_class = 4;
    cfg.training.physics_check_images = 10;
    runs.push(tmp.path().join("wide"));
    train(&cfg, runs.last().unwrap(), &TrainOptions::default()).unwrap();

    let groups = gather(&runs).unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].name, "bars");
    assert_eq!(groups[0].runs.len(), 2);
    assert_eq!(groups[0].devices(), groups[0].runs[1].devices);
    let own: Vec<f64> = runs[..2]
        .iter()
        .map(|r| {
            let s: almost_net::training::run::RunSummary =
                almost_sim::fsutil::read_json(&r.join("network.json")).unwrap();
            s.physics_check.unwrap().checked().unwrap().report.accuracy_physics
        })
        .collect();
    let (mean, sd) = groups[0].physics_mean_sd().unwrap();
    assert!((mean - (own[0] + own[1]) / 2.0).abs() < 1e-12);
    assert!((sd - (own[0] - own[1]).abs() / 2f64.sqrt()).abs() < 1e-12);
    // the partial check is not a figure of the whole test set
    assert_eq!(groups[1].name, "bars-wide");
    assert!(groups[1].devices() > groups[0].devices());
    assert!(groups[1].physics_full().is_empty());
    let text = table(&groups);
    assert!(text.contains("not checked on the whole test set"), "{text}");

    let out = tmp.path().join("compare");
    write_csv(&out.join("compare.csv"), &groups).unwrap();
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let published: Published = "bars=0.9=a published line".parse().unwrap();
    plot(&out.join("compare.svg"), &groups, &[published]).unwrap();
    let svg = std::fs::read_to_string(out.join("compare.svg")).unwrap();
    assert!(svg.contains("bars (2 seeds)") && svg.contains("a published line"), "labels drawn");
    // nothing checked on a whole test set: no figure, and it says why
    let e = plot(&out.join("none.svg"), &groups[1..], &[]).unwrap_err().to_string();
    assert!(e.contains("--physics"), "{e}");

    // the partly checked run evaluated on its whole test set afterwards (`evaluate --physics`)
    // counts; on perturbed hardware, on part of the test set, or with A changed since, not
    let (wide, device) = (runs[2].clone(), burn::tensor::Device::flex());
    let nominal = almost_net::HardwareOverrides::default();
    let whole = almost_net::evaluate_run(&wide, true, 0, &nominal, &device).unwrap().physics.unwrap();
    assert_eq!(gather(&runs).unwrap()[1].physics_full(), vec![whole.accuracy_physics]);
    let noisy = almost_net::HardwareOverrides { read_noise: Some(0.01), ..Default::default() };
    almost_net::evaluate_run(&wide, true, 0, &noisy, &device).unwrap();
    assert!(gather(&runs).unwrap()[1].physics_full().is_empty());
    almost_net::evaluate_run(&wide, true, 5, &nominal, &device).unwrap();
    assert!(gather(&runs).unwrap()[1].physics_full().is_empty());
    almost_net::evaluate_run(&wide, true, 0, &nominal, &device).unwrap();
    assert_eq!(gather(&runs).unwrap()[1].physics_full().len(), 1);
    std::fs::copy(runs[0].join("a.npz"), wide.join("a.npz")).unwrap();
    assert!(gather(&runs).unwrap()[1].physics_full().is_empty());
}
