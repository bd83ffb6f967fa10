//! `almost-train bench modes`: cost of one training epoch in each mode on the same network,
//! and the throughput of evaluating it on the physics (device solves per second).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use almost_net::{Mode, NetConfig, TrainOptions, train};

/// Trains `images` images (one epoch of that size) in each mode and prints seconds per image
/// and the extrapolated cost of an epoch over the whole training set.
pub fn run(config: &Path, init: Option<&Path>, images: usize, work: &Path) -> Result<()> {
    let base = NetConfig::load(config)?;
    let full = almost_net::data::images::load(&base.data)?.0.len();
    println!(
        "{:<14} {:>8} {:>10} {:>14} {:>16}",
        "mode",
        "images",
        "seconds",
        "ms per image",
        "epoch of {full} (s)".replace("{full}", &full.to_string())
    );
    for mode in [Mode::Surrogate, Mode::PhysicsAware, Mode::Exact] {
        let mut cfg = base.clone();
        cfg.training.mode = mode;
        cfg.training.epochs = 1;
        cfg.training.train_images = images;
        cfg.training.eval_images = 1;
        cfg.training.init = init.map(Path::to_path_buf);
        cfg.training.probe_images = 0;
        let run = work.join(format!("bench-mode-{mode}"));
        let _ = std::fs::remove_dir_all(&run);
        let t = Instant::now();
        let trained =
            train(&cfg, &run, &TrainOptions { progress: true, skip_physics_check: true, ..Default::default() })?;
        // the epoch's own time, without building the network and the hardware
        let seconds = trained.history.last().map_or(t.elapsed().as_secs_f64(), |h| h.seconds);
        println!(
            "{:<14} {:>8} {:>10.2} {:>14.2} {:>16.0}",
            mode.to_string(),
            images,
            seconds,
            1e3 * seconds / images as f64,
            seconds / images as f64 * full as f64
        );
        let _ = std::fs::remove_dir_all(&run);
    }
    physics_throughput(&base, init, images)
}

/// Evaluates the network (the `init` run's, else freshly initialised) on the physics of
/// `images` test images and prints the device solves per second.
fn physics_throughput(base: &NetConfig, init: Option<&Path>, images: usize) -> Result<()> {
    let device = burn::tensor::Device::flex();
    let dtype = burn::tensor::DType::F32;
    let (network, test) = match init {
        Some(run) => {
            let loaded = almost_net::load_run(run, dtype, &device)?;
            (loaded.network, loaded.test)
        }
        None => {
            let (train_set, test) = almost_net::data::images::load(&base.data)?;
            let input = almost_net::MapShape { height: train_set.rows, width: train_set.cols, channels: 1 };
            (almost_net::build(base, input, dtype, &device)?, test)
        }
    };
    let hardware = almost_net::hardware_for(&network, &base.hardware)?;
    let report = almost_net::evaluate(&network, hardware.as_ref(), &test, images, base.hardware.bits, true);
    println!(
        "physics evaluation: {} test images, {} device solves in {:.2} s = {:.0} solves/s ({:.1} ms per image)",
        report.images,
        report.solves,
        report.seconds,
        report.solves_per_second,
        1e3 * report.seconds / report.images.max(1) as f64
    );
    Ok(())
}
