//! Fixtures shared by the surrogate tests.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;

use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};

/// A plain Sobol dataset of the analytic device with fan-in 2 (seed 3) in `dir`: no boundary
/// share, the space-filling design the fixtures' tolerances were set on (the one-layer cubic
/// form stops at 0.48 % of range instead of below 0.2 % with 10 % of the points on the faces).
pub fn analytic_dataset(dir: &Path, samples: u64) -> Dataset {
    let text = format!(
        "name = \"analytic\"\n[device]\nkind = \"analytic\"\nfan_in = 2\n[design]\nkind = \"sobol\"\nsamples = {samples}\nseed = 3\nboundary = 0.0\n"
    );
    let cfg: GenerateConfig = toml::from_str(&text).unwrap();
    generate(&cfg.resolve("test").unwrap(), dir, &GenerateOptions::default()).unwrap();
    Dataset::load(dir).unwrap()
}
