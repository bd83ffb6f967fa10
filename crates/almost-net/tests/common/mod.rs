//! Fixtures: a small analytic-device surrogate and a synthetic image set of bars.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};

use almost_net::data::images;
use almost_net::data::images::DataConfig;
use almost_net::network::config::{LayerConfig, NetConfig, NetTrainingConfig, ReadoutConfig};
use almost_net::network::wiring::MapShape;
use almost_net::network::wiring::WiringConfig;
use almost_net::{DeviceNetwork, build};
use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost_surrogate::tensor_io::to_vec;
use almost_surrogate::{Activation, Architecture, FitConfig, FitOptions, SurrogateMeta, fit, save};
use burn::optim::GradientsParams;
use burn::tensor::{DType, Device, Int, Tensor, TensorCreationOptions, TensorData};

/// Fits and saves a surrogate of the analytic device with fan-in `n` into `dir`.
pub fn analytic_surrogate(dir: &Path, n: usize) -> PathBuf {
    let text = format!(
        "name = \"a\"\n[device]\nkind = \"analytic\"\nfan_in = {n}\n[design]\nkind = \"sobol\"\nsamples = 3000\nseed = 2\n"
    );
    surrogate_of(dir, &text, &format!("{n}"))
}

/// The same device conditioned on its eps in [0, 0.5] (eps is its last parameter).
pub fn conditioned_surrogate(dir: &Path, n: usize) -> PathBuf {
    let text = format!(
        "name = \"c\"\n[device]\nkind = \"conditioned\"\nconstant = \"eps\"\nfrom = 0.0\nto = 0.5\n\
         [device.device]\nkind = \"analytic\"\nfan_in = {n}\n[design]\nkind = \"sobol\"\nsamples = 3000\nseed = 2\n"
    );
    surrogate_of(dir, &text, &format!("c{n}"))
}

fn surrogate_of(dir: &Path, text: &str, tag: &str) -> PathBuf {
    let ds = dataset_of(dir, text, tag);
    let fc = quick_fit();
    let fitted = fit(&ds, &fc, None, &FitOptions::default()).unwrap();
    let out = dir.join(format!("model{tag}"));
    save(&out, &fitted.surrogate, SurrogateMeta::for_fit(&fitted, &ds, &fc)).unwrap();
    out
}

/// The dataset of the generation config `text`, generated into `dir/data<tag>`.
pub fn dataset_of(dir: &Path, text: &str, tag: &str) -> Dataset {
    let cfg: GenerateConfig = toml::from_str(text).unwrap();
    let data = dir.join(format!("data{tag}"));
    generate(&cfg.resolve("test").unwrap(), &data, &GenerateOptions::default()).unwrap();
    Dataset::load(&data).unwrap()
}

/// The fixtures' fit: one hidden layer of 16 tanh units with pair products, 60 epochs, no
/// gradient check (about 2 % of range on the analytic device).
pub fn quick_fit() -> FitConfig {
    let mut fc = FitConfig {
        architecture: Architecture::Mlp {
            hidden: vec![16],
            activation: Activation::Tanh,
            pair_products: true,
            square_products: false,
        },
        ..Default::default()
    };
    fc.training.max_epochs = 60;
    fc.report.gradient_points = 0;
    fc
}

/// 8x8 images of three classes (bars) written as an IDX pool into `dir/bars`.
pub fn bars(dir: &Path, count: usize) -> PathBuf {
    let out = dir.join("bars");
    almost_net::data::synthetic::write_bars(&out, count).unwrap();
    out
}

/// A two-layer network of fan-in-4 devices over the bars.
pub fn net_config(data: &Path, surrogate: &Path) -> NetConfig {
    NetConfig {
        name: "bars".into(),
        data: DataConfig { dir: data.into(), train: 96, test: 48, seed: 1, classes: 3 },
        layers: vec![
            LayerConfig {
                surrogate: surrogate.into(),
                wiring: WiringConfig::Patches { kernel: 2, stride: 2, channels: 2, fan_in: None, seed: 0 },
                output: 0,
                init_fraction: 0.5,
                reference: false,
            },
            LayerConfig {
                surrogate: surrogate.into(),
                wiring: WiringConfig::Random { devices: 6, fan_in: 4, seed: 3 },
                output: 0,
                init_fraction: 0.5,
                reference: false,
            },
        ],
        readout: ReadoutConfig {
            classes: 3,
            per_class: 2,
            scale: Some(2.0),
            auto: Default::default(),
            order: Default::default(),
        },
        // the fixture's surrogate is fitted for 60 epochs (about 2% of range): these tests check
        // the mechanics of training, not its accuracy, so they accept it
        training: NetTrainingConfig {
            epochs: 2,
            batch_size: 16,
            learning_rate: 0.05,
            max_surrogate_error: 0.05,
            ..Default::default()
        },
        hardware: Default::default(),
    }
}

/// [`net_config`] over 150 bars with the fixture's analytic surrogate (fan-in 4), one epoch,
/// any surrogate error accepted: for tests of what is done with finished runs.
pub fn quick_bars_config(dir: &Path) -> NetConfig {
    let sur = analytic_surrogate(dir, 4);
    let mut cfg = net_config(&bars(dir, 150), &sur);
    cfg.training.max_surrogate_error = 1.0;
    cfg.training.epochs = 1;
    cfg
}

/// The 8x8 one-channel input of the bars.
pub fn input() -> MapShape {
    MapShape { height: 8, width: 8, channels: 1 }
}

/// The network of `cfg` built in `dtype` on `device` seeded with `seed`, and the first `n`
/// training images with their labels.
pub fn network_and_batch(
    cfg: &NetConfig,
    dtype: DType,
    device: &Device,
    seed: u64,
    n: usize,
) -> (DeviceNetwork, Tensor<2>, Tensor<1, Int>) {
    device.seed(seed);
    let net = build(cfg, input(), dtype, device).unwrap();
    let (train_set, _) = images::load(&cfg.data).unwrap();
    let idx: Vec<usize> = (0..n).collect();
    let x = almost_net::data::batch::images(&train_set, &idx, None, dtype, device);
    let y = almost_net::data::batch::labels(&train_set, &idx, device);
    (net, x, y)
}

/// A copy of `net` whose layer `l` has the A values `v` (f64).
pub fn with_a(net: &DeviceNetwork, l: usize, v: &[f64], device: &Device) -> DeviceNetwork {
    let dims = net.layers[l].a.val().dims();
    let mut n = net.clone();
    let opts = TensorCreationOptions::new(device.clone()).with_dtype(DType::F64);
    n.layers[l].a = n.layers[l].a.clone().map(|_| Tensor::from_data(TensorData::new(v.to_vec(), dims), opts.clone()));
    n
}

/// Asserts that two gradient sets agree on every A of `net` to 1e-12 (relative to 1 + |g|).
pub fn assert_same_a_grads(net: &DeviceNetwork, mut g1: GradientsParams, mut g2: GradientsParams) {
    for layer in &net.layers {
        let a = to_vec(g1.remove::<2>(layer.a.id).unwrap());
        let b = to_vec(g2.remove::<2>(layer.a.id).unwrap());
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-12 * (1.0 + p.abs()), "{p} vs {q}");
        }
    }
}

/// burn-flex keeps one random generator for the whole process: tests of one binary that seed
/// it and draw initial A at the same time would interleave their draws. Tests that compare
/// two runs hold this lock for their whole length.
pub fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
