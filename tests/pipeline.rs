//! The whole pipeline across the three crates, on small problems: simulate a device, fit its
//! surrogate, train a device network on synthetic images, evaluate it on the physics.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use almost::net::data::idx::{IdxImages, encode_images, encode_labels};
use almost::net::data::images::DataConfig;
use almost::net::network::config::{LayerConfig, NetConfig, NetTrainingConfig, ReadoutConfig};
use almost::net::network::wiring::WiringConfig;
use almost::net::{NominalHardware, TrainOptions, evaluate, load_run, train};
use almost::sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost::surrogate::{Activation, Architecture, FitConfig, FitOptions, SurrogateMeta, fit, rebuild_device, save};
use burn::tensor::{DType, Device};

/// Images of two classes on a 6x6 grid: ink in the left half or in the right half.
fn halves(dir: &Path, count: usize) {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for i in 0..count {
        let class = (i % 2) as u8;
        for r in 0..6 {
            for c in 0..6 {
                let left = c < 3;
                let ink = (left == (class == 0)) && (r + c + i) % 3 != 0;
                pixels.push(if ink { 230 } else { 10 });
            }
        }
        labels.push(class);
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("images-idx3-ubyte"), encode_images(&IdxImages { count, rows: 6, cols: 6, pixels }))
        .unwrap();
    std::fs::write(dir.join("labels-idx1-ubyte"), encode_labels(&labels)).unwrap();
}

#[test]
fn diode_node_from_simulation_to_physics() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();

    // simulate: diode node with three inputs, one of them the reference line
    let cfg: GenerateConfig = toml::from_str(
        "name = \"d\"\n[device]\nkind = \"diode-node\"\nfan_in = 3\n[design]\nkind = \"sobol\"\nsamples = 3000\nseed = 1\n[box]\nx = [-2.0, 2.0]\n",
    )
    .unwrap();
    generate(&cfg.resolve("test").unwrap(), &root.join("data"), &GenerateOptions::default()).unwrap();
    let ds = Dataset::load(&root.join("data")).unwrap();
    assert_eq!(ds.manifest.failed, 0);

    // fit and save
    let mut fc = FitConfig {
        architecture: Architecture::Mlp {
            hidden: vec![24, 24],
            activation: Activation::Softsign,
            pair_products: true,
            square_products: false,
        },
        ..Default::default()
    };
    fc.training.max_epochs = 150;
    fc.report.gradient_points = 16;
    let device = rebuild_device(&ds).unwrap();
    let fitted = fit(&ds, &fc, Some(device.as_ref()), &FitOptions::default()).unwrap();
    assert!(fitted.report.outputs[0].relative_rmse < 0.03, "{}", fitted.report.table());
    save(&root.join("model"), &fitted.surrogate, SurrogateMeta::for_fit(&fitted, &ds, &fc)).unwrap();

    // a network of diode nodes: 2x1 pixel pairs + reference, then a random readout layer
    halves(&root.join("images"), 120);
    let layer =
        |wiring| LayerConfig { surrogate: root.join("model"), wiring, output: 0, init_fraction: 0.5, reference: true };
    let net = NetConfig {
        name: "halves".into(),
        data: DataConfig { dir: root.join("images"), train: 80, test: 40, seed: 1, classes: 2 },
        layers: vec![
            layer(WiringConfig::Random { devices: 12, fan_in: 2, seed: 1 }),
            layer(WiringConfig::Random { devices: 4, fan_in: 2, seed: 2 }),
        ],
        readout: ReadoutConfig {
            classes: 2,
            per_class: 2,
            scale: Some(4.0),
            auto: Default::default(),
            order: Default::default(),
        },
        training: NetTrainingConfig { epochs: 8, batch_size: 16, learning_rate: 0.05, ..Default::default() },
        hardware: Default::default(),
    };
    let run = root.join("run");
    let trained = train(&net, &run, &TrainOptions::default()).unwrap();
    let last = trained.history.last().unwrap();
    assert!(last.test_accuracy >= 0.9, "surrogate accuracy {}", last.test_accuracy);

    // evaluate on physics: accuracy holds and the per-layer gaps are small
    let loaded = load_run(&run, DType::F32, &Device::flex()).unwrap();
    let network = loaded.network;
    let metas = network.metas().unwrap();
    assert_eq!(network.a_values(), trained.network.a_values());
    let hw = NominalHardware::from_metas(&metas).unwrap();
    let report = evaluate(&network, &hw, &trained.test, 0, 0, false);
    assert_eq!(report.solves, 40 * 16);
    assert!(report.accuracy_physics >= 0.9, "{}", report.table());
    for g in &report.layers {
        assert_eq!(g.failed, 0);
        assert!(g.rms_local_error < 0.05, "{}", report.table());
    }
}
