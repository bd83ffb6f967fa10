//! Training a device network: only A moves, by Adam on the surrogates' gradients.

use std::path::{Path, PathBuf};
use std::time::Instant;

use almost_sim::fsutil::{write_atomic, write_json_atomic};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{DType, Device, Int, Tensor};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use almost_surrogate::SurrogateMeta;

use crate::batch;
use crate::checkpoint;
use crate::config::NetConfig;
use crate::error::{NetError, Result};
use crate::history::{EpochMetrics, write_csv, write_curves};
use crate::images::{ImageSet, load};
use crate::network::{DeviceNetwork, build};
use crate::wiring::MapShape;

/// Options of a training run that are not part of the config.
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Stop after this many epochs of this invocation (the run can be resumed later).
    pub stop_after: Option<usize>,
}

/// `network.json` of a finished or interrupted run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The network config.
    pub config: NetConfig,
    /// Surrogate folders and their weight hashes, per layer.
    pub surrogates: Vec<(String, String)>,
    /// Devices per layer.
    pub devices: Vec<usize>,
    /// Trained parameters A (all layers).
    pub trained_parameters: usize,
    /// Epochs completed.
    pub epochs: usize,
    /// Test accuracy on the surrogates after the last epoch.
    pub test_accuracy_surrogate: f64,
    /// Metrics per epoch.
    pub history: Vec<EpochMetrics>,
}

/// What a training invocation produced.
pub struct Trained {
    /// The trained network (on the autodiff device).
    pub network: DeviceNetwork,
    /// Metadata of each layer's surrogate.
    pub metas: Vec<SurrogateMeta>,
    /// Metrics per epoch (including resumed ones).
    pub history: Vec<EpochMetrics>,
    /// Epoch the run was resumed from, if it was.
    pub resumed_from: Option<usize>,
    /// The test images.
    pub test: ImageSet,
}

/// Cross-entropy of logits against labels and the number of correct predictions.
///
/// # Shapes
/// - logits: `[batch, classes]`
/// - labels: `[batch]`
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> (Tensor<1>, Tensor<1, Int>) {
    let correct = logits.clone().argmax(1).squeeze_dim::<1>(1).equal(labels.clone()).int().sum();
    let picked = log_softmax(logits, 1).gather(1, labels.unsqueeze_dim(1));
    (picked.mean().neg(), correct)
}

/// Loss, correct count and A-gradients of one batch, computed on `threads` threads, each
/// running forward and backward on a slice of the batch; the gradients of the slices are
/// summed in a fixed order, so the result does not depend on scheduling.
///
/// # Shapes
/// - x: `[batch, pixels]`, y: `[batch]`
pub fn data_parallel_step(
    network: &DeviceNetwork,
    x: Tensor<2>,
    y: Tensor<1, Int>,
    threads: usize,
) -> (Tensor<1>, Tensor<1, Int>, GradientsParams) {
    let [batch, width] = x.dims();
    let parts = threads.clamp(1, batch.max(1));
    let bounds: Vec<(usize, usize)> =
        (0..parts).map(|p| (p * batch / parts, (p + 1) * batch / parts)).filter(|(a, b)| b > a).collect();
    let results: Vec<(Tensor<1>, Tensor<1, Int>, GradientsParams)> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .iter()
            .map(|&(a, b)| {
                let (xs, ys, net) = (x.clone().slice([a..b, 0..width]), y.clone().slice(a..b), network.clone());
                scope.spawn(move || {
                    let (loss, correct) = cross_entropy(net.forward(xs), ys);
                    // the slice's share of the batch mean: the shares sum to the batch loss
                    let scaled = loss * ((b - a) as f64 / batch as f64);
                    let grads = GradientsParams::from_grads(scaled.backward(), &net);
                    (scaled.detach(), correct, grads)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut iter = results.into_iter();
    let (mut loss, mut correct, mut grads) = match iter.next() {
        Some(r) => r,
        None => return (Tensor::zeros([1], &x.device()), Tensor::zeros([1], &x.device()), GradientsParams::new()),
    };
    for (l, c, mut g) in iter {
        loss = loss + l;
        correct = correct + c;
        for layer in &network.layers {
            let id = layer.a.id;
            match (grads.remove::<2>(id), g.remove::<2>(id)) {
                (Some(p), Some(q)) => grads.register(id, p + q),
                (Some(p), None) | (None, Some(p)) => grads.register(id, p),
                (None, None) => {}
            }
        }
    }
    (loss, correct, grads)
}

/// Test accuracy of `network` (any device) on the first `limit` images of `set` (0 = all).
pub fn accuracy(network: &DeviceNetwork, set: &ImageSet, limit: usize, dtype: DType, device: &Device) -> f64 {
    let n = if limit == 0 { set.len() } else { limit.min(set.len()) };
    let idx: Vec<usize> = (0..n).collect();
    let mut correct = 0i64;
    for chunk in idx.chunks(500) {
        let x = batch::images(set, chunk, None, dtype, device);
        let y = batch::labels(set, chunk, device);
        let (_, c) = cross_entropy(network.forward(x), y);
        correct += c.into_scalar::<i64>();
    }
    correct as f64 / n.max(1) as f64
}

fn progress(total: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(s) = ProgressStyle::with_template("{bar:30} epoch {msg} [{elapsed}<{eta}]") {
        bar.set_style(s);
    }
    bar
}

/// Trains the network of `cfg` into `run` (resuming from its checkpoint if there is one).
pub fn train(cfg: &NetConfig, run: &Path, options: &TrainOptions) -> Result<Trained> {
    cfg.validate("network config")?;
    let (train_set, test_set) = load(&cfg.data)?;
    let t = &cfg.training;
    let device = Device::flex().autodiff();
    device.seed(t.seed);
    let dtype = DType::F32;
    let input = MapShape { height: train_set.rows, width: train_set.cols, channels: 1 };
    let (mut network, metas) = build(cfg, input, dtype, &device)?;
    std::fs::create_dir_all(run).map_err(|e| NetError::io(run, e))?;
    write_json_atomic(&run.join("config.json"), cfg)?;
    let hash = cfg.hash();
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let mut history = Vec::new();
    let mut start_epoch = 1;
    let mut resumed_from = None;
    if let Some(r) = checkpoint::load(run, &hash, network.clone(), optim.clone())? {
        network = r.network;
        optim = r.optim;
        history = r.checkpoint.history;
        start_epoch = r.checkpoint.epoch + 1;
        resumed_from = Some(r.checkpoint.epoch);
    }
    let per_epoch = train_set.len().div_ceil(t.batch_size);
    let total_steps = (t.epochs * per_epoch) as f64;
    let end_epoch = options.stop_after.map_or(t.epochs, |n| (start_epoch + n - 1).min(t.epochs));
    let bar = progress(((end_epoch + 1).saturating_sub(start_epoch) * per_epoch) as u64, options.progress);
    let inner = device.clone().inner();
    for epoch in start_epoch..=end_epoch {
        let started = Instant::now();
        // the batch order and shifts of epoch e depend only on (seed, e): resuming replays them
        let mut rng = ChaCha8Rng::seed_from_u64(t.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64));
        let mut order: Vec<usize> = (0..train_set.len()).collect();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct_sum): (Option<Tensor<1>>, Option<Tensor<1, Int>>) = (None, None);
        let mut lr = t.learning_rate;
        for (b, chunk) in order.chunks(t.batch_size).enumerate() {
            let step = ((epoch - 1) * per_epoch + b) as f64;
            lr = t.learning_rate * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * step / total_steps).cos()));
            let x = batch::images(&train_set, chunk, Some((&mut rng, t.max_shift)), dtype, &device);
            let y = batch::labels(&train_set, chunk, &device);
            let (loss, correct, grads) = data_parallel_step(&network, x, y, t.threads);
            let weighted = loss * chunk.len() as f64;
            loss_sum = Some(loss_sum.map_or(weighted.clone(), |s| s + weighted));
            correct_sum = Some(correct_sum.map_or(correct.clone(), |s| s + correct));
            network = optim.step(lr, network, grads).project();
            bar.inc(1);
            bar.set_message(format!("{epoch}/{}  lr {lr:.2e}", t.epochs));
        }
        let n = train_set.len() as f64;
        let train_loss = loss_sum.map_or(f64::NAN, |s| s.into_scalar::<f64>()) / n;
        let train_accuracy = correct_sum.map_or(0, |s| s.into_scalar::<i64>()) as f64 / n;
        let test_accuracy = accuracy(&network.valid(), &test_set, t.eval_images, dtype, &inner);
        history.push(EpochMetrics {
            epoch,
            train_loss,
            train_accuracy,
            test_accuracy,
            learning_rate: lr,
            seconds: started.elapsed().as_secs_f64(),
        });
        bar.println(format!(
            "epoch {epoch:>3}: loss {train_loss:.4}  train {:.2}%  test (surrogate) {:.2}%  {:.1} s",
            100.0 * train_accuracy,
            100.0 * test_accuracy,
            started.elapsed().as_secs_f64()
        ));
        checkpoint::save(run, epoch, &hash, &network, &optim, &history)?;
        write_csv(&run.join("metrics.csv"), &history)?;
        write_curves(&run.join("curves.svg"), &cfg.name, &history)?;
    }
    bar.finish_and_clear();
    save_run(run, cfg, &network, &metas, &history)?;
    Ok(Trained { network, metas, history, resumed_from, test: test_set })
}

/// Writes the final network (`network.bpk`), its A values (`a.npz`, for numpy) and `network.json`.
pub fn save_run(
    run: &Path,
    cfg: &NetConfig,
    network: &DeviceNetwork,
    metas: &[SurrogateMeta],
    history: &[EpochMetrics],
) -> Result<()> {
    let bytes = network
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| NetError::BadRun { path: run.join("network.bpk"), message: e.to_string() })?;
    write_atomic(&run.join("network.bpk"), &bytes)?;
    let a = network.a_values();
    let arrays: Vec<(String, almost_sim::npz::NpyArray)> = network
        .layers
        .iter()
        .zip(&a)
        .enumerate()
        .map(|(l, (layer, v))| {
            (
                format!("layer{l}"),
                almost_sim::npz::NpyArray::f64_2d(layer.devices(), v.len() / layer.devices(), v.clone()),
            )
        })
        .collect();
    let refs: Vec<(&str, &almost_sim::npz::NpyArray)> = arrays.iter().map(|(n, a)| (n.as_str(), a)).collect();
    almost_sim::npz::write_npz(&run.join("a.npz"), &refs)?;
    let summary = RunSummary {
        config: cfg.clone(),
        surrogates: cfg
            .layers
            .iter()
            .zip(metas)
            .map(|(l, m)| (l.surrogate.display().to_string(), m.weights_sha256.clone()))
            .collect(),
        devices: network.layers.iter().map(|l| l.devices()).collect(),
        trained_parameters: a.iter().map(Vec::len).sum(),
        epochs: history.len(),
        test_accuracy_surrogate: history.last().map_or(f64::NAN, |h| h.test_accuracy),
        history: history.to_vec(),
    };
    write_json_atomic(&run.join("network.json"), &summary)?;
    Ok(())
}

/// Loads a finished run: its config, and the network with the trained A on `device`.
pub fn load_run(run: &Path, dtype: DType, device: &Device) -> Result<(NetConfig, DeviceNetwork, Vec<SurrogateMeta>)> {
    let summary_path: PathBuf = run.join("network.json");
    if !summary_path.exists() {
        return Err(NetError::BadRun {
            path: summary_path,
            message: "missing: train the network first (almost-train network)".into(),
        });
    }
    let summary: RunSummary = almost_sim::fsutil::read_json(&summary_path)?;
    let cfg = summary.config;
    let input = MapShape { height: 28, width: 28, channels: 1 };
    let input = match crate::images::load(&cfg.data) {
        Ok((train, _)) => MapShape { height: train.rows, width: train.cols, channels: 1 },
        Err(_) => input,
    };
    let (skeleton, metas) = build(&cfg, input, dtype, device)?;
    for ((dir, sha), meta) in summary.surrogates.iter().zip(&metas) {
        if &meta.weights_sha256 != sha {
            return Err(NetError::BadRun {
                path: dir.into(),
                message: "surrogate changed since the network was trained".into(),
            });
        }
    }
    let path = run.join("network.bpk");
    let bytes = std::fs::read(&path).map_err(|e| NetError::io(&path, e))?;
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| NetError::BadRun { path: path.clone(), message: e.to_string() })?;
    let network = skeleton.try_load_record(record).map_err(|e| NetError::BadRun { path, message: e.to_string() })?;
    Ok((cfg, network, metas))
}
