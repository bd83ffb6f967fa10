//! A finished run evaluated again: on the surrogates, or on the physics of its devices
//! (`physics.json`, or one shard of it), or swept over imperfect hardware (`robustness.json`,
//! `robustness.svg`).

use std::path::{Path, PathBuf};

use almost_sim::ShardSelection;

use burn::tensor::{DType, Device};

use crate::check::NOT_CHECKED;
use crate::error::Result;
use crate::network::hardware_config::{HardwareConfig, HardwareOverrides};
use crate::physics::evaluate::{PhysicsReport, evaluate, evaluate_images};
use crate::physics::robustness::{Sweep, plot, sweep, table};
use crate::physics::run_physics::write_run_physics;
use crate::physics::select::hardware_for;
use crate::physics::shard::{save_shard, shard_images};
use crate::training::loss::accuracy;
use crate::training::run::{LoadedRun, load_run};

/// What [`evaluate_run`] measured: the text to print, and the physics report if it ran one.
pub struct RunEvaluation {
    /// The text to print.
    pub text: String,
    /// The physics report (also written to `physics.json`).
    pub physics: Option<PhysicsReport>,
}

/// Evaluates a trained run on its first `samples` test images (0 = all) on `device`: on the
/// surrogates only (said plainly), or with `physics` on the devices too (then `physics.json`
/// is written into the run folder), on the run's own `[hardware]` with `hardware` overrides.
pub fn evaluate_run(
    run: &Path,
    physics: bool,
    samples: usize,
    hardware: &HardwareOverrides,
    device: &Device,
) -> Result<RunEvaluation> {
    let LoadedRun { config: cfg, network, test, .. } = load_run(run, DType::F32, device)?;
    if !physics {
        let acc = accuracy(&network, &test, samples, DType::F32, device);
        let n = if samples == 0 { test.len() } else { samples.min(test.len()) };
        return Ok(RunEvaluation {
            text: format!(
                "{n} test images: accuracy on surrogates {:.2}% ({NOT_CHECKED}: add --physics)\n",
                100.0 * acc
            ),
            physics: None,
        });
    }
    let hw_cfg = hardware.apply(&cfg.hardware);
    let hw = hardware_for(&network, &hw_cfg)?;
    let report = evaluate(&network, hw.as_ref(), &test, samples, hw_cfg.bits, true);
    write_run_physics(run, &report, &hw_cfg, test.len())?;
    Ok(RunEvaluation { text: report.table(), physics: Some(report) })
}

/// Evaluates shard `shard` of a trained run's first `samples` test images (0 = all) on its
/// physics ([`crate::physics::shard`]) and writes the shard's report into the run folder
/// (returned with its path); `physics.json` is written by merging the shards.
pub fn evaluate_run_shard(
    run: &Path,
    samples: usize,
    shard: ShardSelection,
    hardware: &HardwareOverrides,
    device: &Device,
) -> Result<(PhysicsReport, PathBuf)> {
    let LoadedRun { config: cfg, network, test, .. } = load_run(run, DType::F32, device)?;
    let n = if samples == 0 { test.len() } else { samples.min(test.len()) };
    let hw_cfg = hardware.apply(&cfg.hardware);
    let hw = hardware_for(&network, &hw_cfg)?;
    let report = evaluate_images(&network, hw.as_ref(), &test, &shard_images(shard, n), hw_cfg.bits, true);
    let path = save_shard(run, shard, (n, test.len()), &report, &hw_cfg)?;
    Ok((report, path))
}

/// Sweeps imperfections of the hardware for a trained run; writes `robustness.json` and
/// `robustness.svg` into the run folder and returns the table.
pub fn robustness_run(run: &Path, samples: usize, sweeps: &Sweep, device: &Device) -> Result<String> {
    let LoadedRun { config: cfg, network, test, .. } = load_run(run, DType::F32, device)?;
    let base = HardwareConfig { seed: cfg.hardware.seed, ..Default::default() };
    let points = sweep(&network, &test, samples, &base, sweeps)?;
    almost_sim::fsutil::write_json_atomic(&run.join("robustness.json"), &points)?;
    plot(&run.join("robustness.svg"), &cfg.name, &points)?;
    Ok(table(&points))
}
