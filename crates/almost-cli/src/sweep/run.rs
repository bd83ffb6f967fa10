//! Running a sweep: at each value of the constant, generate (same design seed), fit the
//! surrogate with the defaults, train the network with the defaults for each seed, and
//! check it on the physics. Each value is a folder of its own (`value-00`, ...) and every
//! stage resumes (shards, a reusable surrogate, training checkpoints, finished runs), so a
//! killed sweep picks up where it stopped; `only` runs one value (a Slurm array task).
//! `sweep.csv` and `sweep.svg` are rebuilt from the folders after every value, from
//! recorded results only: a resumed sweep writes the same file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use almost_net::training::run::RunSummary;
use almost_net::{NetConfig, NetError, PhysicsVerdict, TrainOptions, train};
use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost_surrogate::{FitOptions, SurrogateMeta, fit_and_save, reusable};

use crate::sweep::config::SweepConfig;
use crate::sweep::row::{SweepRow, csv};

/// Options of a sweep invocation.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// Run only the value with this index (0-based; a Slurm array task).
    pub only: Option<usize>,
    /// Check every run on all test images (not the default subsample).
    pub physics_all: bool,
    /// Progress bars.
    pub progress: bool,
    /// Threads sharing each training batch (overrides the network config's training.threads).
    pub threads: Option<usize>,
}

/// The folder of value `k`.
pub fn value_dir(out: &Path, k: usize) -> PathBuf {
    out.join(format!("value-{k:02}"))
}

/// Runs (or resumes) the sweep into `out` and returns every finished row.
pub fn run(cfg: &SweepConfig, out: &Path, options: &SweepOptions) -> Result<Vec<SweepRow>> {
    let values = cfg.values();
    if let Some(k) = options.only
        && k >= values.len()
    {
        anyhow::bail!("--value {k}: the sweep has {} values (0 to {})", values.len(), values.len() - 1);
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    almost_sim::fsutil::write_json_atomic(&out.join("sweep.json"), cfg)?;
    for (k, &v) in values.iter().enumerate() {
        if options.only.is_some_and(|o| o != k) {
            continue;
        }
        eprintln!("[value {}/{}] {} = {v}", k + 1, values.len(), cfg.constant);
        run_value(cfg, v, &value_dir(out, k), options).with_context(|| format!("{} = {v}", cfg.constant))?;
        write_outputs(cfg, out)?;
    }
    write_outputs(cfg, out)
}

/// Rebuilds `sweep.csv` and `sweep.svg` from the finished folders.
pub fn write_outputs(cfg: &SweepConfig, out: &Path) -> Result<Vec<SweepRow>> {
    let rows = collect(cfg, out)?;
    almost_sim::fsutil::write_atomic(&out.join("sweep.csv"), csv(&cfg.constant, &rows).as_bytes())?;
    if !rows.is_empty() {
        crate::sweep::plot::draw(&out.join("sweep.svg"), cfg, &rows)?;
    }
    Ok(rows)
}

fn run_value(cfg: &SweepConfig, value: f64, dir: &Path, options: &SweepOptions) -> Result<()> {
    let mut sim = GenerateConfig::load(&cfg.simulation)?;
    sim.device = sim.device.with_constants(&BTreeMap::from([(cfg.constant.clone(), value)]))?;
    if let Some(n) = cfg.samples {
        sim.design.samples = n;
    }
    let job = sim.resolve(&cfg.simulation.display().to_string())?;
    let data = dir.join("dataset");
    generate(&job, &data, &GenerateOptions { progress: options.progress, ..Default::default() })?;
    let dataset = Dataset::load(&data)?;
    let fit_cfg = crate::train::fit_config(cfg.fit.as_deref(), &dataset)?;
    let model = dir.join("surrogate");
    if reusable(&model, &dataset, &fit_cfg).is_none() {
        let fit_options = if options.progress { FitOptions::with_progress() } else { FitOptions::default() };
        let outcome = fit_and_save(&dataset, &model, &fit_cfg, false, &fit_options)?;
        for w in &outcome.warnings {
            eprintln!("{w}");
        }
    }
    for &seed in &cfg.seeds {
        let run = dir.join(format!("seed-{seed}"));
        if run.join("network.json").exists() || run.join(REFUSED).exists() {
            continue;
        }
        let mut net = NetConfig::load(&cfg.network)?;
        net.name = format!(
            "{}-{}-{seed}",
            cfg.name,
            dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        for layer in &mut net.layers {
            layer.surrogate = model.clone();
        }
        net.training.seed = seed;
        if let Some(e) = cfg.epochs {
            net.training.epochs = e;
        }
        if let Some(t) = options.threads {
            net.training.threads = t;
        }
        let train_options =
            TrainOptions { progress: options.progress, physics_all: options.physics_all, ..Default::default() };
        match train(&net, &run, &train_options) {
            Ok(trained) => eprintln!("{}", trained.physics.summary()),
            // a surrogate too far from its device is a result of the sweep, not its end
            Err(e @ NetError::PoorSurrogate { .. }) => {
                eprintln!("refused: {e}");
                std::fs::create_dir_all(&run)?;
                almost_sim::fsutil::write_atomic(&run.join(REFUSED), e.to_string().as_bytes())?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Marker of a run that training refused (its surrogate's error is above the threshold).
const REFUSED: &str = "refused.txt";

fn collect(cfg: &SweepConfig, out: &Path) -> Result<Vec<SweepRow>> {
    let mut rows = Vec::new();
    for (k, &value) in cfg.values().iter().enumerate() {
        let dir = value_dir(out, k);
        let Ok(meta) = almost_sim::fsutil::read_json::<SurrogateMeta>(&dir.join("surrogate").join("surrogate.json"))
        else {
            continue;
        };
        let rmse = 100.0 * meta.metrics.iter().map(|m| m.relative_rmse).fold(0.0, f64::max);
        for &seed in &cfg.seeds {
            let run = dir.join(format!("seed-{seed}"));
            let mut row = SweepRow {
                value,
                seed,
                surrogate_rmse_percent: rmse,
                accuracy_surrogates: f64::NAN,
                accuracy_physics: f64::NAN,
                accuracy_surrogates_checked: f64::NAN,
                physics_images: 0,
                physics_stderr: f64::NAN,
                flagged: false,
                box_exits: f64::NAN,
                operating_error_percent: f64::NAN,
                status: String::new(),
            };
            if run.join(REFUSED).exists() {
                row.status = "refused: surrogate error above max_surrogate_error".into();
                rows.push(row);
                continue;
            }
            let Ok(summary) = almost_sim::fsutil::read_json::<RunSummary>(&run.join("network.json")) else {
                continue;
            };
            row.accuracy_surrogates = summary.test_accuracy_surrogate;
            if let Some(last) = summary.history.last() {
                row.box_exits = last.health.iter().map(|h| h.outside_box).fold(f64::NAN, f64::max);
                row.operating_error_percent =
                    100.0 * last.health.iter().map(|h| h.operating_error).fold(f64::NAN, f64::max);
            }
            match &summary.physics_check {
                Some(PhysicsVerdict::Checked(c)) => {
                    row.accuracy_physics = c.report.accuracy_physics;
                    row.accuracy_surrogates_checked = c.report.accuracy_surrogate;
                    row.physics_images = c.report.images;
                    row.physics_stderr = c.stderr_physics;
                    row.flagged = c.flagged;
                    row.status = "trained".into();
                }
                Some(PhysicsVerdict::NotChecked { reason }) => row.status = format!("not checked on physics: {reason}"),
                None => row.status = "not checked on physics".into(),
            }
            rows.push(row);
        }
    }
    Ok(rows)
}
