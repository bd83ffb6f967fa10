//! Networks that start alive: a network of thresholded devices fed mostly-background images
//! starts dead with the plain initialisation, and the data-driven start revives it; the
//! chosen input maps travel with the run.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use almost_net::training::start::{ALIVE, START_FILE, StartReport, start_alive};
use almost_net::training::train::{TrainOptions, train};
use almost_net::{build, load_run};
use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost_surrogate::{Activation, Architecture, FitConfig, FitOptions, SurrogateMeta, fit, save};
use burn::tensor::{DType, Device};

/// The shipped thresholded node (DiffSL, fan-in 4): zero output below its threshold.
fn threshold_surrogate(dir: &Path) -> PathBuf {
    let device = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulations/devices/threshold-node.toml");
    let text = format!(
        "name = \"t\"\n[device]\nkind = \"diffsl\"\nfile = \"{}\"\n[design]\nkind = \"sobol\"\nsamples = 3000\nseed = 2\n",
        device.display()
    );
    let cfg: GenerateConfig = toml::from_str(&text).unwrap();
    let data = dir.join("thr-data");
    generate(&cfg.resolve("test").unwrap(), &data, &GenerateOptions::default()).unwrap();
    let ds = Dataset::load(&data).unwrap();
    let mut fc = FitConfig {
        architecture: Architecture::Mlp {
            hidden: vec![32, 32],
            activation: Activation::Softsign,
            pair_products: true,
            square_products: false,
        },
        ..Default::default()
    };
    fc.training.max_epochs = 300;
    fc.report.gradient_points = 0;
    let fitted = fit(&ds, &fc, None, &FitOptions::default()).unwrap();
    assert!(fitted.report.outputs[0].relative_rmse < 0.02, "{}", fitted.report.table());
    let out = dir.join("thr-model");
    save(&out, &fitted.surrogate, SurrogateMeta::for_fit(&fitted, &ds, &fc)).unwrap();
    out
}

#[test]
fn a_dead_thresholded_network_starts_alive_and_its_maps_travel_with_the_run() {
    let _rng = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let sur = threshold_surrogate(tmp.path());
    let mut cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    cfg.training.epochs = 1;
    cfg.training.max_surrogate_error = 1.0; // a quick fit: this test is about the start
    let device = Device::flex();
    device.seed(1);
    let net = build(&cfg, common::input(), DType::F32, &device).unwrap();
    let (train_set, _) = almost_net::data::images::load(&cfg.data).unwrap();
    let (started, report) = start_alive(net.clone(), &train_set, 64, 1, false).unwrap();
    // the second layer reads the first one's outputs: near zero (below threshold) for most of
    // the background, mapped onto the bottom of its input box; with A around 0 it stays dead
    let deep = &report.layers[1];
    assert!(deep.plain.responsive < 0.3 && deep.plain.dead_devices >= 0.5, "{:?}", report.lines());
    // revived: the first start from the plainest outward that is alive (score >= one half)
    let alive = deep.chosen.responsive * (deep.chosen.spread / 0.05).min(1.0);
    assert!(deep.moved && alive >= ALIVE && deep.chosen.dead_devices < 0.1, "{:?}", report.lines());
    assert!(deep.chosen.spread > 10.0 * deep.plain.spread, "{:?}", report.lines());
    assert!(report.layers.iter().all(|l| l.chosen.responsive >= l.plain.responsive), "{:?}", report.lines());
    // the chosen start is in the network: its maps and its A, inside the bounds
    for (l, s) in report.layers.iter().enumerate() {
        assert_eq!((started.layers[l].gain, started.layers[l].offset), (s.gain, s.offset));
    }
    let a = started.a_values();
    assert_ne!(a[1], net.a_values()[1]);
    assert!(a.iter().flatten().all(|v| (-1.0..=1.0).contains(v)));
    assert!(report.warnings().is_empty(), "{:?}", report.warnings());

    // training starts alive by default, records the start, and a loaded run applies it
    let run = tmp.path().join("run");
    train(&cfg, &run, &TrainOptions::default()).unwrap();
    let saved = StartReport::load(&run).unwrap().unwrap();
    assert!(saved.layers[1].moved);
    let loaded = load_run(&run, DType::F32, &device).unwrap();
    for (layer, s) in loaded.network.layers.iter().zip(&saved.layers) {
        assert_eq!((layer.gain, layer.offset), (s.gain, s.offset));
    }
    // no measured gain unless asked for: the configured (here explicit) gain stays
    assert!(saved.readout.is_none());
    let scale_of = |n: &almost_net::DeviceNetwork| match &n.head {
        almost_net::network::chain::Head::Classes(r) => r.scale,
        almost_net::network::chain::Head::Outputs => f64::NAN,
    };
    assert_eq!(scale_of(&loaded.network), 2.0);
    // the readout gain measured at the start: an image's class scores then spread by the set
    // amount across classes, and a loaded run has the same gain
    cfg.readout.scale = None;
    cfg.readout.auto = almost_net::network::config::AutoGain::Start;
    let gain_net = build(&cfg, common::input(), DType::F32, &device).unwrap();
    let (started, report) = start_alive(gain_net, &train_set, 64, 1, true).unwrap();
    let measured = report.readout.unwrap();
    assert_eq!(scale_of(&started), measured.scale);
    assert!((measured.scale - almost_net::network::config::START_LOGIT_SPREAD / measured.spread).abs() < 1e-12);
    let idx: Vec<usize> = (0..64).collect();
    let x = almost_net::data::batch::images(&train_set, &idx, None, DType::F32, &device);
    let logits = almost_surrogate::tensor_io::to_vec(started.forward(x));
    let spread = logits
        .chunks(3)
        .map(|row| {
            let m = row.iter().sum::<f64>() / 3.0;
            (row.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 3.0).sqrt()
        })
        .sum::<f64>()
        / 64.0;
    assert!((spread - almost_net::network::config::START_LOGIT_SPREAD).abs() < 1e-3, "{spread}");
    assert!(report.lines().iter().any(|l| l.starts_with("start, readout: gain")), "{:?}", report.lines());
    let gained = tmp.path().join("gained");
    train(&cfg, &gained, &TrainOptions::default()).unwrap();
    let recorded = StartReport::load(&gained).unwrap().unwrap().readout.unwrap().scale;
    assert_eq!(scale_of(&load_run(&gained, DType::F32, &device).unwrap().network), recorded);
    cfg.readout.auto = Default::default();
    cfg.readout.scale = Some(2.0);
    // with the search off the configured maps are used and no record is left behind
    cfg.training.alive_start = false;
    let plain_run = tmp.path().join("plain");
    train(&cfg, &plain_run, &TrainOptions::default()).unwrap();
    assert!(!plain_run.join(START_FILE).exists());
    let loaded = load_run(&plain_run, DType::F32, &device).unwrap();
    assert_eq!(
        (loaded.network.layers[0].gain, loaded.network.layers[0].offset),
        (net.layers[0].gain, net.layers[0].offset)
    );
}
