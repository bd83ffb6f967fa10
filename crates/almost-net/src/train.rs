//! Training a device network: only A moves, by Adam on the surrogates' gradients.

use std::path::Path;
use std::time::Instant;

use almost_sim::fsutil::write_json_atomic;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{DType, Device, Int, Tensor};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use almost_surrogate::SurrogateMeta;

use crate::batch;
use crate::checkpoint;
use crate::config::{Mode, NetConfig};
use crate::error::{NetError, Result};
use crate::hardware::{Hardware, NominalHardware};
use crate::history::{EpochMetrics, write_csv, write_curves};
use crate::images::{ImageSet, load};
use crate::imperfect::{HardwareConfig, PerturbedHardware};
use crate::modes;
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
                let (xs, ys, mut net) = (x.clone().slice([a..b, 0..width]), y.clone().slice(a..b), network.clone());
                scope.spawn(move || {
                    // each slice gets its own leaves for A (same parameter ids): graphs that
                    // share a leaf are merged by burn's autodiff, and two threads running
                    // backward on a merged graph race ("graph tape has already been consumed")
                    for layer in &mut net.layers {
                        layer.a = layer.a.clone().map(|t| t.detach().require_grad());
                    }
                    let (loss, correct) = cross_entropy(net.forward(xs), ys);
                    // the slice's share of the batch mean: the shares sum to the batch loss
                    let scaled = loss * ((b - a) as f64 / batch as f64);
                    let grads = GradientsParams::from_grads(scaled.backward(), &net);
                    (scaled.detach(), correct, grads)
                })
            })
            .collect();
        // a slice that panicked must not silently drop out of the batch's gradient
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
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

/// The learning rate at `step` of `total`: `base`, cosine-decayed to 1 % of it.
pub fn cosine_lr(base: f64, step: f64, total: f64) -> f64 {
    base * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * step / total.max(1.0)).cos()))
}

fn progress(total: u64, show: bool) -> ProgressBar {
    almost_sim::generate::styled_bar(total, show, "{bar:30} epoch {msg} [{elapsed}<{eta}]")
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
    } else if let Some(init) = &t.init {
        network = crate::run::load_a_from(init, network)?;
    }
    // written only after the checkpoint (if any) was accepted: a refused resume leaves the run as it was
    write_json_atomic(&run.join("config.json"), cfg)?;
    let physics = t.mode != Mode::Surrogate || t.physics_eval_images > 0;
    let hardware = if physics { Some(hardware_for(&metas, &network, &cfg.hardware)?) } else { None };
    let bits = cfg.hardware.bits;
    let images_per_epoch = if t.train_images == 0 { train_set.len() } else { t.train_images.min(train_set.len()) };
    let per_epoch = images_per_epoch.div_ceil(t.batch_size);
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
        order.truncate(images_per_epoch);
        let (mut loss_sum, mut correct_sum) = (0.0, 0usize);
        let mut lr = t.learning_rate;
        for (b, chunk) in order.chunks(t.batch_size).enumerate() {
            let step = ((epoch - 1) * per_epoch + b) as f64;
            lr = cosine_lr(t.learning_rate, step, total_steps);
            let x = batch::images(&train_set, chunk, Some((&mut rng, t.max_shift)), dtype, &device);
            let y = batch::labels(&train_set, chunk, &device);
            let (loss, correct, grads) = match (t.mode, hardware.as_deref()) {
                (Mode::PhysicsAware, Some(hw)) => {
                    let (l, c, g) = modes::physics_aware_step(&network, x, y, hw, bits);
                    (l.into_scalar::<f64>(), c.into_scalar::<i64>() as usize, g)
                }
                (Mode::Exact, Some(hw)) => {
                    let xh = almost_surrogate::tensor_io::to_vec(x);
                    let labels: Vec<usize> = chunk.iter().map(|&i| usize::from(train_set.labels[i])).collect();
                    let s = modes::exact_step(&network, &xh, &labels, hw, bits)?;
                    (s.loss, s.correct, modes::gradients_of(&network, &s.grad_a, &inner))
                }
                _ => {
                    let (l, c, g) = data_parallel_step(&network, x, y, t.threads);
                    (l.into_scalar::<f64>(), c.into_scalar::<i64>() as usize, g)
                }
            };
            loss_sum += loss * chunk.len() as f64;
            correct_sum += correct;
            network = optim.step(lr, network, grads).project();
            bar.inc(1);
            bar.set_message(format!("{epoch}/{}  lr {lr:.2e}", t.epochs));
        }
        let n = images_per_epoch as f64;
        let (train_loss, train_accuracy) = (loss_sum / n, correct_sum as f64 / n);
        let valid = network.valid();
        let test_accuracy = accuracy(&valid, &test_set, t.eval_images, dtype, &inner);
        let test_accuracy_physics = match (&hardware, t.physics_eval_images) {
            (Some(hw), n) if n > 0 => {
                let report = crate::physics::evaluate(&valid, &metas, hw.as_ref(), &test_set, n, bits, false);
                Some(report.accuracy_physics)
            }
            _ => None,
        };
        history.push(EpochMetrics {
            epoch,
            train_loss,
            train_accuracy,
            test_accuracy,
            test_accuracy_physics,
            learning_rate: lr,
            seconds: started.elapsed().as_secs_f64(),
        });
        let line = format!(
            "epoch {epoch:>3}: loss {train_loss:.4}  train {:.2}%  test (surrogate) {:.2}%{}  {:.1} s",
            100.0 * train_accuracy,
            100.0 * test_accuracy,
            test_accuracy_physics.map_or(String::new(), |p| format!("  test (physics) {:.2}%", 100.0 * p)),
            started.elapsed().as_secs_f64()
        );
        if options.progress && bar.is_hidden() {
            // no terminal (a log file): the bar is silent, the epoch lines are not
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
        checkpoint::save(run, epoch, &hash, &network, &optim, &history)?;
        write_csv(&run.join("metrics.csv"), &history)?;
        write_curves(&run.join("curves.svg"), &cfg.name, &history)?;
    }
    bar.finish_and_clear();
    crate::run::save_run(run, cfg, &network, &metas, &history)?;
    Ok(Trained { network, metas, history, resumed_from, test: test_set })
}

/// The hardware described by `cfg` for this network: nominal devices, or perturbed instances.
pub fn hardware_for(
    metas: &[SurrogateMeta],
    network: &DeviceNetwork,
    cfg: &HardwareConfig,
) -> Result<Box<dyn Hardware>> {
    if cfg.variability == 0.0 && cfg.mismatch == 0.0 && cfg.read_noise == 0.0 {
        return Ok(Box::new(NominalHardware::from_metas(metas)?));
    }
    let devices: Vec<usize> = network.layers.iter().map(|l| l.devices()).collect();
    Ok(Box::new(PerturbedHardware::build(metas, &devices, cfg)?))
}
