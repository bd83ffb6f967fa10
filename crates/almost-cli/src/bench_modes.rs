//! `almost-train bench modes`: cost of one training epoch in each mode on the same network.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use almost_net::{Mode, NetConfig, TrainOptions, train};

/// Trains `images` images (one epoch of that size) in each mode and prints seconds per image
/// and the extrapolated cost of an epoch over the whole training set.
pub fn run(config: &Path, init: Option<&Path>, images: usize, work: &Path) -> Result<()> {
    let base = NetConfig::load(config)?;
    let full = almost_net::images::load(&base.data)?.0.len();
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
        let run = work.join(format!("bench-mode-{mode}"));
        let _ = std::fs::remove_dir_all(&run);
        let t = Instant::now();
        let trained = train(&cfg, &run, &TrainOptions { progress: true, stop_after: None })?;
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
    Ok(())
}
