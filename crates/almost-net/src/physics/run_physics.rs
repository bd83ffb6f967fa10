//! A run's `physics.json` (written by `almost-train evaluate --physics`, or by `--merge` of its
//! shards): the [`PhysicsReport`] and what it was measured on, the trained A (the hash of
//! `a.npz`), the hardware and the size of the test set, so that a reader can tell a figure of
//! the nominal devices on the whole test set from one of perturbed hardware, of a part of it,
//! or of A trained since.

use std::path::Path;

use serde::{Deserialize, Serialize};

use almost_sim::fsutil::{read_json, write_json_atomic};

use crate::error::{NetError, Result};
use crate::network::hardware_config::HardwareConfig;
use crate::physics::evaluate::PhysicsReport;

/// SHA-256 of the run's trained A (`a.npz`).
pub fn a_hash(run: &Path) -> Result<String> {
    let path = run.join("a.npz");
    let bytes = std::fs::read(&path).map_err(|e| NetError::io(&path, e))?;
    Ok(almost_sim::spec::hex_sha256(&bytes))
}

/// `physics.json`: the report's own keys, then its provenance (absent in files written
/// before it was recorded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPhysics {
    /// The evaluation.
    #[serde(flatten)]
    pub report: PhysicsReport,
    /// SHA-256 of the run's `a.npz` when it was evaluated.
    #[serde(default)]
    pub a_sha256: Option<String>,
    /// The hardware it ran on (the run's `[hardware]` with the command's overrides).
    #[serde(default)]
    pub hardware: Option<HardwareConfig>,
    /// Images of the run's test set (the report covers `report.images` of them).
    #[serde(default)]
    pub test_images: Option<usize>,
}

/// Writes `run/physics.json`: `report`, measured on `hardware` over part or all of a test set
/// of `test_images` images, with the hash of the run's `a.npz`.
pub fn write_run_physics(
    run: &Path,
    report: &PhysicsReport,
    hardware: &HardwareConfig,
    test_images: usize,
) -> Result<()> {
    let file = RunPhysics {
        report: report.clone(),
        a_sha256: Some(a_hash(run)?),
        hardware: Some(hardware.clone()),
        test_images: Some(test_images),
    };
    write_json_atomic(&run.join("physics.json"), &file)?;
    Ok(())
}

/// The run's `physics.json` where it is a figure of the nominal devices, on the whole test set,
/// with the run's present A: `(accuracy on the physics, images)`; `None` otherwise (no file,
/// an older file without provenance, perturbed hardware, part of the test set, other A).
pub fn nominal_whole_test_set(run: &Path) -> Option<(f64, usize)> {
    let path = run.join("physics.json");
    if !path.exists() {
        return None;
    }
    let file: RunPhysics = read_json(&path).ok()?;
    let nominal = file.hardware.as_ref().is_some_and(HardwareConfig::is_nominal);
    let whole = file.test_images == Some(file.report.images);
    let same_a = file.a_sha256.is_some() && file.a_sha256 == a_hash(run).ok();
    (nominal && whole && same_a).then_some((file.report.accuracy_physics, file.report.images))
}
