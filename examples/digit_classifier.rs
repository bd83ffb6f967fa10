//! A digit classifier built only of devices, from the library: load the network config,
//! train only the device parameters A through the frozen surrogates, and run the trained
//! network on the real physics.
//!
//! Needs the digits and the diode-node surrogate the main pipeline makes
//! (`cargo run --release -p almost-cli --bin almost-train -- pipeline`, or `datasets/fetch`
//! plus `almost-simulate generate` and `almost-train surrogate`).
//!
//! Run: `cargo run --release --example digit_classifier [-- EPOCHS]`

use std::path::Path;

use almost::net::{NetConfig, NominalHardware, TrainOptions, evaluate, train};

fn main() -> anyhow::Result<()> {
    let epochs: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(3);
    let mut cfg = NetConfig::load(Path::new("simulations/networks/digits-diode.toml"))?;
    cfg.training.epochs = epochs;
    let run = Path::new("runs/digit-classifier-example");
    // a fresh run each time (train resumes from a checkpoint of the same config otherwise)
    let _ = std::fs::remove_dir_all(run);
    let trained = train(&cfg, run, &TrainOptions { progress: true, ..Default::default() })?;
    for h in &trained.history {
        println!("epoch {}: test accuracy on surrogates {:.2}%", h.epoch, 100.0 * h.test_accuracy);
    }
    // every run ends with a check on the physics (a subsample of the test set)
    println!("{}", trained.physics.summary());
    let parameters: usize = trained.network.a_values().iter().map(Vec::len).sum();
    println!("{parameters} trained numbers, all device parameters A");

    // the same network on the diode-node physics, on more images: one ODE solve per device and image
    let hardware = NominalHardware::from_metas(&trained.network.metas()?)?;
    let inner = burn::module::Module::valid(&trained.network);
    let report = evaluate(&inner, &hardware, &trained.test, 500, 0, true);
    print!("{}", report.table());
    Ok(())
}
