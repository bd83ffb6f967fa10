//! Growing a finished dataset to more samples of the same design, without solving again
//! what it already holds.
//!
//! Point i of a Sobol or uniform design is a function of the seed and i alone (not of the
//! number of points), so the first N points of a design of 2N are the N points already
//! solved: growing rewrites the plan with the new size, drops the last shard if it was
//! partial, and lets the generator solve the missing shards. A killed growth resumes with
//! the same call (or the generator's own resume). Latin hypercubes and grids depend on their
//! size and cannot grow.

use std::path::Path;

use crate::config::{Job, Plan};
use crate::dataset::Layout;
use crate::design::{Design, DesignKind};
use crate::devices::variation::rebuild_recorded;
use crate::error::{Result, SimError};
use crate::fsutil::{read_json, write_json_atomic};
use crate::generate::{GenerateOptions, GenerateOutcome, generate};

/// Grows the dataset in `dir` to `samples` points of its own design (solving only the new
/// ones) and finalises it. `samples` equal to the current size resumes an interrupted growth.
pub fn grow(dir: &Path, samples: u64, options: &GenerateOptions) -> Result<GenerateOutcome> {
    let layout = Layout::new(dir);
    let origin = layout.plan().display().to_string();
    if !layout.plan().exists() {
        return Err(SimError::bad_file(dir, "not a dataset folder (no plan.json): generate it first"));
    }
    let old: Plan = read_json(&layout.plan())?;
    let current = old.design.samples;
    if !matches!(old.design.kind, DesignKind::Sobol | DesignKind::Uniform) {
        return Err(SimError::config(
            &origin,
            format!(
                "a {:?} design depends on its size: only Sobol and uniform designs can grow (generate a new dataset)",
                old.design.kind
            ),
        ));
    }
    if samples < current {
        return Err(SimError::config(&origin, format!("cannot shrink a dataset of {current} samples to {samples}")));
    }
    let device = rebuild_recorded(&old.device_config, old.solver.as_ref(), &old.device_hash)?;
    let mut plan = old.clone();
    plan.design.samples = samples;
    let design = Design::new(&plan.design, old.domain.dim(), &origin)?;
    if samples > current {
        // the last shard of the old size was partial: under the new size it holds more points
        if !current.is_multiple_of(old.shard_size) {
            let partial = layout.shard(current / old.shard_size);
            if partial.exists() {
                std::fs::remove_file(&partial).map_err(|e| SimError::io(&partial, e))?;
            }
        }
        // the old manifest no longer describes the folder: drop it before the plan changes
        for stale in [layout.manifest(), layout.data()] {
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|e| SimError::io(&stale, e))?;
            }
        }
        write_json_atomic(&layout.plan(), &plan)?;
    }
    let job = Job { device, design, domain: old.domain.clone(), plan };
    generate(&job, dir, options)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::config::GenerateConfig;
    use crate::dataset::Dataset;

    fn config(samples: u64, kind: &str) -> GenerateConfig {
        toml::from_str(&format!(
            "name = \"g\"\n[device]\nkind = \"analytic\"\nfan_in = 2\n[design]\nkind = \"{kind}\"\nsamples = {samples}\nseed = 4\n[output]\nshard_size = 64\n"
        ))
        .unwrap()
    }

    #[test]
    fn a_grown_dataset_equals_one_generated_at_the_larger_size() {
        let tmp = tempfile::tempdir().unwrap();
        let (small, big) = (tmp.path().join("small"), tmp.path().join("big"));
        let quiet = GenerateOptions::default();
        generate(&config(100, "sobol").resolve("t").unwrap(), &small, &quiet).unwrap();
        let outcome = grow(&small, 300, &quiet).unwrap();
        // 100 = one full shard of 64 + a partial one: the partial shard is solved again
        assert_eq!(outcome.samples_solved, 300 - 64);
        generate(&config(300, "sobol").resolve("t").unwrap(), &big, &quiet).unwrap();
        let (a, b) = (Dataset::load(&small).unwrap(), Dataset::load(&big).unwrap());
        assert_eq!(a.manifest.samples, 300);
        assert_eq!(a.table.x, b.table.x);
        assert_eq!(a.table.a, b.table.a);
        assert_eq!(a.table.y, b.table.y);
        assert_eq!(a.manifest.plan.hash(), b.manifest.plan.hash());
        // growing to the same size again solves nothing
        assert_eq!(grow(&small, 300, &quiet).unwrap().samples_solved, 0);
    }

    #[test]
    fn size_dependent_designs_and_shrinking_are_refused_with_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("lhs");
        let quiet = GenerateOptions::default();
        generate(&config(50, "lhs").resolve("t").unwrap(), &dir, &quiet).unwrap();
        let err = grow(&dir, 100, &quiet).unwrap_err().to_string();
        assert!(err.contains("plan.json") && err.contains("Lhs"), "{err}");
        let sobol = tmp.path().join("sobol");
        generate(&config(50, "sobol").resolve("t").unwrap(), &sobol, &quiet).unwrap();
        let err = grow(&sobol, 10, &quiet).unwrap_err().to_string();
        assert!(err.contains("shrink"), "{err}");
    }
}
