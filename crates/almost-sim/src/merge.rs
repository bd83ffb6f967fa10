//! Joining the shards of several workers (`--shard k/n` runs) into one dataset.

use std::path::{Path, PathBuf};

use crate::config::Plan;
use crate::dataset::{Layout, Manifest, finalize};
use crate::error::{Result, SimError};
use crate::fsutil::{read_json, write_atomic, write_json_atomic};

/// Copies every shard found in `inputs` into `out` (which may be one of them) and finalises.
///
/// All inputs must hold the same plan; a shard missing everywhere is an error naming it.
pub fn merge(out: &Path, inputs: &[PathBuf]) -> Result<Manifest> {
    if inputs.is_empty() {
        return Err(SimError::config("merge", "no input folders given"));
    }
    let plans: Vec<(PathBuf, Plan)> = inputs
        .iter()
        .map(|dir| Ok((dir.clone(), read_json::<Plan>(&Layout::new(dir).plan())?)))
        .collect::<Result<_>>()?;
    let (first_dir, plan) = &plans[0];
    for (dir, p) in &plans[1..] {
        if p.hash() != plan.hash() {
            return Err(SimError::PlanMismatch { path: dir.clone(), expected: plan.hash(), found: p.hash() });
        }
    }
    let out_layout = Layout::new(out);
    if out_layout.plan().exists() {
        let existing: Plan = read_json(&out_layout.plan())?;
        if existing.hash() != plan.hash() {
            return Err(SimError::PlanMismatch {
                path: out.to_path_buf(),
                expected: plan.hash(),
                found: existing.hash(),
            });
        }
    } else {
        write_json_atomic(&out_layout.plan(), plan)?;
    }
    for s in 0..plan.n_shards() {
        if out_layout.shard(s).exists() {
            continue;
        }
        if let Some(dir) = inputs.iter().find(|d| Layout::new(d).shard(s).exists()) {
            let src = Layout::new(dir);
            copy_atomic(&src.shard(s), &out_layout.shard(s))?;
        }
    }
    let _ = first_dir;
    finalize(out, plan)
}

fn copy_atomic(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).map_err(|e| SimError::io(from, e))?;
    write_atomic(to, &bytes)
}
