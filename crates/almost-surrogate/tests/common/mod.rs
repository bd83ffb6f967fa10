//! Fixtures shared by the surrogate tests.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;

use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};

/// A Sobol dataset of the analytic device with fan-in 2 (seed 3) in `dir`.
pub fn analytic_dataset(dir: &Path, samples: u64) -> Dataset {
    let text = format!(
        "name = \"analytic\"\n[device]\nkind = \"analytic\"\nfan_in = 2\n[design]\nkind = \"sobol\"\nsamples = {samples}\nseed = 3\n"
    );
    let cfg: GenerateConfig = toml::from_str(&text).unwrap();
    generate(&cfg.resolve("test").unwrap(), dir, &GenerateOptions::default()).unwrap();
    Dataset::load(dir).unwrap()
}
