//! The evaluation on physics split over machines: shard `k` of `n` runs the test images `i`
//! with `i % n == k` (a task of a Slurm job array, `simulations/slurm-evaluate.sh`) and
//! writes its report next to the run; [`merge_run`] joins the `n` reports into the one
//! `physics.json` a single machine would have written: the same images, counts and
//! accuracies, the per-layer RMS errors pooled over all solves.
//!
//! A shard's report records the trained A it ran (the hash of `a.npz`) and how many images
//! the whole evaluation covers: shards of different trainings or sizes are refused, as is an
//! incomplete set.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use almost_sim::ShardSelection;
use almost_sim::fsutil::{read_json, write_json_atomic};

use crate::error::{NetError, Result};
use crate::network::hardware_config::HardwareConfig;
use crate::physics::evaluate::{LayerGap, PhysicsReport};
use crate::physics::run_physics::{a_hash, write_run_physics};

/// One shard's evaluation, as written into the run folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    /// This shard's number, `0..count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
    /// Test images the whole evaluation covers (the shards together).
    pub images: usize,
    /// SHA-256 of the run's `a.npz`: the trained A this shard ran.
    pub a_sha256: String,
    /// The shard's own report.
    pub report: PhysicsReport,
    /// The hardware it ran on (absent in shards written before it was recorded).
    #[serde(default)]
    pub hardware: Option<HardwareConfig>,
    /// Images of the run's test set (absent likewise).
    #[serde(default)]
    pub test_images: Option<usize>,
}

/// The test images of shard `s` among the first `n`.
pub fn shard_images(s: ShardSelection, n: usize) -> Vec<usize> {
    (0..n).filter(|i| *i as u64 % s.count == s.index).collect()
}

/// The file shard `s` writes into a run folder.
pub fn shard_file(run: &Path, s: ShardSelection) -> PathBuf {
    run.join(format!("physics.shard-{}-of-{}.json", s.index, s.count))
}

/// Writes shard `s`'s report into `run`: `images` of the run's `test_images` evaluated in all
/// shards together, on `hardware`.
pub fn save_shard(
    run: &Path,
    s: ShardSelection,
    (images, test_images): (usize, usize),
    report: &PhysicsReport,
    hardware: &HardwareConfig,
) -> Result<PathBuf> {
    let path = shard_file(run, s);
    let shard = ShardReport {
        index: s.index as usize,
        count: s.count as usize,
        images,
        a_sha256: a_hash(run)?,
        report: report.clone(),
        hardware: Some(hardware.clone()),
        test_images: Some(test_images),
    };
    write_json_atomic(&path, &shard)?;
    Ok(path)
}

/// Joins the shard reports of `run` (every `physics.shard-K-of-N.json`) into `physics.json`
/// and returns it; refuses a missing shard, shards of another count or size, and shards of
/// another training than the run's `a.npz`.
pub fn merge_run(run: &Path) -> Result<PhysicsReport> {
    let bad = |message: String| NetError::BadRun { path: run.to_path_buf(), message };
    let mut shards: Vec<ShardReport> = Vec::new();
    let entries = std::fs::read_dir(run).map_err(|e| NetError::io(run, e))?;
    for entry in entries {
        let path = entry.map_err(|e| NetError::io(run, e))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with("physics.shard-") && name.ends_with(".json") {
            shards.push(read_json(&path)?);
        }
    }
    let Some(first) = shards.first().cloned() else {
        return Err(bad("no physics.shard-K-of-N.json to merge (run `evaluate --physics --shard K/N` first)".into()));
    };
    let hash = a_hash(run)?;
    for s in &shards {
        if (s.count, s.images) != (first.count, first.images) {
            return Err(bad(format!(
                "shards of different evaluations: {} of {} over {} images next to {} of {} over {} images",
                s.index, s.count, s.images, first.index, first.count, first.images
            )));
        }
        if (&s.hardware, s.test_images) != (&first.hardware, first.test_images) {
            return Err(bad(format!(
                "shard {} of {} ran other hardware (or another test set) than shard {}",
                s.index, s.count, first.index
            )));
        }
        if s.a_sha256 != hash {
            return Err(bad(format!("shard {} of {} ran other trained A than this run's a.npz", s.index, s.count)));
        }
    }
    shards.sort_by_key(|s| s.index);
    shards.dedup_by_key(|s| s.index);
    let missing: Vec<usize> = (0..first.count).filter(|k| !shards.iter().any(|s| s.index == *k)).collect();
    if !missing.is_empty() {
        return Err(bad(format!("shards {missing:?} of {} are missing", first.count)));
    }
    let reports: Vec<PhysicsReport> = shards.into_iter().map(|s| s.report).collect();
    let merged = merge(&reports);
    if merged.images != first.images {
        return Err(bad(format!("the shards cover {} images, not {}", merged.images, first.images)));
    }
    match (&first.hardware, first.test_images) {
        (Some(hardware), Some(test_images)) => write_run_physics(run, &merged, hardware, test_images)?,
        // shards written before their hardware was recorded: the report alone, as then
        _ => write_json_atomic(&run.join("physics.json"), &merged)?,
    }
    Ok(merged)
}

/// The report of the union of disjoint image sets from their reports: counts add up,
/// accuracies are weighted by images, RMS errors pooled over solves, maxima kept; the
/// seconds add up (machine time, not wall time).
pub fn merge(reports: &[PhysicsReport]) -> PhysicsReport {
    let images: usize = reports.iter().map(|r| r.images).sum();
    let weighted = |f: fn(&PhysicsReport) -> f64| {
        reports.iter().map(|r| f(r) * r.images as f64).sum::<f64>() / images.max(1) as f64
    };
    let layers = reports.first().map_or(0, |r| r.layers.len());
    let layers = (0..layers)
        .map(|l| {
            let gaps: Vec<&LayerGap> = reports.iter().filter_map(|r| r.layers.get(l)).collect();
            let solves: usize = gaps.iter().map(|g| g.solves).sum();
            let pooled = |f: fn(&LayerGap) -> f64| {
                (gaps.iter().map(|g| f(g).powi(2) * g.solves as f64).sum::<f64>() / solves.max(1) as f64).sqrt()
            };
            LayerGap {
                devices: gaps.first().map_or(0, |g| g.devices),
                solves,
                distinct_solves: gaps.iter().map(|g| g.distinct_solves).sum(),
                failed: gaps.iter().map(|g| g.failed).sum(),
                rms_local_error: pooled(|g| g.rms_local_error),
                max_local_error: gaps.iter().map(|g| g.max_local_error).fold(0.0, f64::max),
                rms_activation_gap: pooled(|g| g.rms_activation_gap),
                x_outside_box: gaps.iter().map(|g| g.x_outside_box).sum(),
                a_outside_box: gaps.iter().map(|g| g.a_outside_box).sum(),
            }
        })
        .collect();
    let solves: usize = reports.iter().map(|r| r.solves).sum();
    let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
    PhysicsReport {
        images,
        accuracy_surrogate: weighted(|r| r.accuracy_surrogate),
        accuracy_physics: weighted(|r| r.accuracy_physics),
        agreement: weighted(|r| r.agreement),
        physics_only_right: reports.iter().map(|r| r.physics_only_right).sum(),
        surrogate_only_right: reports.iter().map(|r| r.surrogate_only_right).sum(),
        layers,
        solves,
        distinct_solves: reports.iter().map(|r| r.distinct_solves).sum(),
        seconds,
        solves_per_second: solves as f64 / seconds.max(1e-9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_image_once() {
        let n = 103;
        let mut seen: Vec<usize> =
            (0..4).flat_map(|k| shard_images(ShardSelection { index: k, count: 4 }, n)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
    }
}
