//! Throughput of the generator against a bare diffsol loop over the same points.
//!
//! The generator does everything a dataset needs (design, guards against NaN and runaway
//! solves, caught panics, shard files, manifest); the bare loop only solves. Their ratio is
//! the generator's overhead.

use std::time::Instant;

use rayon::prelude::*;

use crate::config::Job;
use crate::error::{Result, SimError};
use crate::generate::{GenerateOptions, generate};
use crate::timing::median;

/// One benchmark measurement.
#[derive(Clone, Debug)]
pub struct BenchRow {
    /// Device kind.
    pub device: String,
    /// Worker threads.
    pub threads: usize,
    /// Samples solved.
    pub samples: u64,
    /// Generator throughput, samples per second (median of the repeats).
    pub generator_per_s: f64,
    /// Bare loop throughput, samples per second (median of the repeats).
    pub bare_per_s: f64,
}

impl BenchRow {
    /// Generator throughput divided by bare throughput (1.0 = no overhead).
    pub fn ratio(&self) -> f64 {
        self.generator_per_s / self.bare_per_s
    }
}

/// Measures one job with `threads` workers, `repeats` times each, and reports medians.
pub fn bench_job(job: &Job, threads: usize, repeats: usize) -> Result<BenchRow> {
    let samples = job.plan.design.samples;
    let points: Vec<(Vec<f64>, Vec<f64>)> = (0..samples).map(|i| job.point(i)).collect();
    // the job's own device (its solver settings), solved without the generator's guards
    let bare = |x: &[f64], a: &[f64]| job.device.respond_bare(x, a);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| SimError::config("bench", e.to_string()))?;
    let mut gen_times = Vec::new();
    let mut bare_times = Vec::new();
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let outputs: Vec<Result<Vec<f64>>> = pool.install(|| points.par_iter().map(|(x, a)| bare(x, a)).collect());
        bare_times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(outputs);

        let dir = tempdir()?;
        let options = GenerateOptions { threads: Some(threads), ..Default::default() };
        let t = Instant::now();
        generate(job, &dir, &options)?;
        gen_times.push(t.elapsed().as_secs_f64());
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(BenchRow {
        device: job.plan.device.kind.clone(),
        threads,
        samples,
        generator_per_s: samples as f64 / median(&mut gen_times),
        bare_per_s: samples as f64 / median(&mut bare_times),
    })
}

fn tempdir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "almost-bench-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| SimError::io(&dir, e))?;
    Ok(dir)
}
