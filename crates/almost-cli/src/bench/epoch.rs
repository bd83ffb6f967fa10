//! `almost-train bench epoch`: one surrogate-mode training epoch of a network against its
//! floor, the multiply-adds it must do at the rate this machine's backend reaches on a large
//! matrix product.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use burn::tensor::{DType, Device, Distribution, Tensor, TensorCreationOptions};

use almost_net::data::images::ImageSet;
use almost_net::training::train::host_threads;
use almost_net::{DeviceNetwork, Mode, NetConfig, TrainOptions, train};
use almost_sim::timing::median;

/// Side of the square matrices whose product measures the machine's multiply-add rate.
const PEAK_SIDE: usize = 1024;

/// The multiply-adds one epoch of `cfg` needs, from its layers' surrogate architectures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochWork {
    /// Forward multiply-adds per image (every device's surrogate, per-sample part).
    pub forward_per_image: f64,
    /// Forward multiply-adds per optimiser step that do not grow with the batch (each device's
    /// parameter half of the first layer).
    pub forward_per_step: f64,
    /// Multiply-adds of one epoch over `images` images: forward, and twice that backward.
    pub epoch: f64,
}

/// Counts the work of one surrogate-mode epoch of `network` over `images` training images in
/// batches of `batch_size`.
pub fn epoch_work(network: &DeviceNetwork, images: usize, batch_size: usize) -> EpochWork {
    let (mut per_image, mut per_step) = (0.0, 0.0);
    for layer in &network.layers {
        let Some(meta) = &layer.meta else { continue };
        let (sample, device) = meta.architecture.multiply_adds(meta.n_x, meta.n_a, meta.n_y);
        per_image += (layer.devices() * sample) as f64;
        per_step += (layer.devices() * device) as f64;
    }
    let steps = images.div_ceil(batch_size.max(1));
    EpochWork {
        forward_per_image: per_image,
        forward_per_step: per_step,
        epoch: 3.0 * (per_image * images as f64 + per_step * steps as f64),
    }
}

/// Multiply-adds per second of `threads` threads each multiplying two `side` x `side` f32
/// matrices on `device`, the one the network trains on (the median of `repeats` timings).
pub fn matmul_rate(threads: usize, side: usize, repeats: usize, device: &Device) -> f64 {
    let one = || {
        let options = TensorCreationOptions::new(device.clone()).with_dtype(DType::F32);
        let draw = || Tensor::<2>::random([side, side], Distribution::Uniform(-1.0, 1.0), options.clone());
        let _ = draw().matmul(draw()).into_data(); // warm-up (and a GPU backend's autotuning)
        // fresh operands, on the device before the clock starts; the product read back
        let (a, b) = (draw(), draw());
        let _ = device.sync();
        let t = Instant::now();
        let _ = a.matmul(b).into_data();
        t.elapsed().as_secs_f64()
    };
    almost_surrogate::kernel::rate::rate_of(threads, side, repeats, one)
}

/// Seconds (median of `repeats`) to run `network` over every image of `test` on the
/// surrogates (on `device`), in chunks of 500 images, without gradients: what evaluation on
/// the surrogates runs ([`almost_net::training::loss::accuracy`]).
pub fn test_forward(network: &DeviceNetwork, test: &ImageSet, repeats: usize, device: &Device) -> f64 {
    let pass = || {
        let t = Instant::now();
        let _ = almost_net::training::loss::accuracy(network, test, 0, DType::F32, device);
        t.elapsed().as_secs_f64()
    };
    pass(); // warm-up
    let mut times: Vec<f64> = (0..repeats.max(1)).map(|_| pass()).collect();
    median(&mut times)
}

/// Times `repeats` surrogate-mode epochs of `images` training images (median), extrapolates to
/// the whole training set and prints them against the floor; with `export`, first writes the
/// network's twin there ([`crate::bench::twin`]). Everything runs on `device` (a GPU backend:
/// one thread, no data-parallel split).
pub fn run(
    config: &Path,
    images: usize,
    repeats: usize,
    export: Option<&Path>,
    work: &Path,
    device: &Device,
) -> Result<()> {
    let base = NetConfig::load(config)?;
    let (train_set, test_set) = almost_net::data::images::load(&base.data)?;
    let input = almost_net::MapShape { height: train_set.rows, width: train_set.cols, channels: 1 };
    let network = almost_net::build(&base, input, DType::F32, device)?;
    if let Some(dir) = export {
        crate::bench::twin::export(&base, &network, &train_set, &test_set, dir)?;
        println!("twin             {}", dir.join("twin.npz").display());
    }
    let full = train_set.len();
    let threads = if host_threads(device) { base.training.threads.max(1) } else { 1 };
    let measured = images.min(full).max(1);
    let mut times = Vec::new();
    for r in 0..repeats.max(1) {
        let mut cfg = base.clone();
        cfg.training.mode = Mode::Surrogate;
        cfg.training.epochs = 1;
        cfg.training.train_images = if measured == full { 0 } else { measured };
        cfg.training.eval_images = 1;
        cfg.training.probe_images = 0;
        cfg.training.alive_start = false;
        let run = work.join(format!("bench-epoch-{r}"));
        let _ = std::fs::remove_dir_all(&run);
        let trained = train(
            &cfg,
            &run,
            &TrainOptions { skip_physics_check: true, device: device.clone(), ..Default::default() },
        )?;
        times.push(trained.history.last().map_or(f64::NAN, |h| h.seconds));
        let _ = std::fs::remove_dir_all(&run);
    }
    let seconds = median(&mut times) / measured as f64 * full as f64;
    let work_full = epoch_work(&network, full, base.training.batch_size);
    println!("network          {}", config.display());
    println!("backend          {}", almost_surrogate::backend::describe(device));
    println!(
        "work             {:.3e} multiply-adds per image forward (+ {:.3e} per step), {:.3e} per epoch of {full} images \
         (forward + 2x backward)",
        work_full.forward_per_image, work_full.forward_per_step, work_full.epoch
    );
    println!(
        "epoch            {seconds:.2} s (median of {} epochs of {measured} images, scaled to {full}; includes the \
         per-epoch test pass over 1 image)",
        times.len()
    );
    if host_threads(device) {
        // the faster of burn's product and the host kernel's: the floor is what this machine
        // can do, not what one library reaches
        let burn_rate = matmul_rate(threads, PEAK_SIDE, 5, device);
        let kernel_rate = almost_surrogate::kernel::product_rate(threads, PEAK_SIDE, 5);
        let rate = burn_rate.max(kernel_rate);
        let floor = work_full.epoch / rate;
        println!(
            "machine          {:.1} G multiply-adds/s: {threads} thread(s), each an f32 {PEAK_SIDE}x{PEAK_SIDE} matrix product \
             (median of 5; the host kernel's product {:.1}, burn's {:.1})",
            rate / 1e9,
            kernel_rate / 1e9,
            burn_rate / 1e9
        );
        println!("floor            {floor:.2} s = work / rate");
        println!("epoch / floor    {:.2}", seconds / floor);
    } else {
        // a timed product on a GPU backend read back rates no device has (lavapipe: 4.8 T
        // multiply-adds/s on 2 cores): no floor is printed from it
        println!("floor            not measured on a GPU backend (its timed matrix product is not trustworthy here)");
    }
    let forward = test_forward(&network, &test_set, repeats, device);
    println!(
        "test forward     {forward:.2} s (every test image on the surrogates, chunks of 500, median of {})",
        repeats.max(1)
    );
    Ok(())
}
