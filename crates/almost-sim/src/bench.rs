//! Throughput of the generator against a bare diffsol loop over the same points.
//!
//! The generator does everything a dataset needs (design, guards against NaN and runaway
//! solves, caught panics, shard files, manifest); the bare loop only solves. Their ratio is
//! the generator's overhead.

use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::config::Job;
use crate::devices::{DeviceConfig, DiodeNode, DuffingMems, FhnNeuron};
use crate::error::{Result, SimError};
use crate::generate::{GenerateOptions, generate};
use crate::model::DeviceModel;
use crate::ode::{OdeSystem, solve};
use crate::solver::SolverOverrides;

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

type Bare = Arc<dyn Fn(&[f64], &[f64]) -> Result<Vec<f64>> + Send + Sync>;

/// The bare solve for a device config: diffsol stepping with no guards, or the closed form.
fn bare_solver(config: &DeviceConfig, solver: &SolverOverrides, device: Arc<dyn DeviceModel>) -> Result<Bare> {
    fn ode<S: OdeSystem + 'static>(system: S, solver: &SolverOverrides) -> Bare {
        let settings = solver.apply(&system.default_solver());
        Arc::new(move |x: &[f64], a: &[f64]| {
            let p: Vec<f64> = x.iter().chain(a).copied().collect();
            let states = solve(&system, &p, &settings, false)?;
            let mut y = vec![0.0; system.spec().n_outputs()];
            system.observe(&states, &p, &mut y);
            Ok(y)
        })
    }
    Ok(match config {
        DeviceConfig::DiodeNode(c) => ode(DiodeNode::new(c)?, solver),
        DeviceConfig::FhnNeuron(c) => ode(FhnNeuron::new(c)?, solver),
        DeviceConfig::DuffingMems(c) => ode(DuffingMems::new(c)?, solver),
        DeviceConfig::Analytic(_) | DeviceConfig::Diffsl(_) | DeviceConfig::Rust(_) => {
            Arc::new(move |x: &[f64], a: &[f64]| device.respond(x, a))
        }
    })
}

/// Measures one job with `threads` workers, `repeats` times each, and reports medians.
pub fn bench_job(job: &Job, solver: &SolverOverrides, threads: usize, repeats: usize) -> Result<BenchRow> {
    let samples = job.plan.design.samples;
    let points: Vec<(Vec<f64>, Vec<f64>)> = (0..samples).map(|i| job.point(i)).collect();
    let bare = bare_solver(&job.plan.device_config, solver, job.device.clone())?;
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

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
