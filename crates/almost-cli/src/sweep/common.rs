//! What a sweep's plain values and its design by gradient share: the options, the folders,
//! generating and fitting a dataset, training the network for every seed, and reading a
//! finished run back as a row.

use std::path::{Path, PathBuf};

use anyhow::Result;

use almost_net::training::run::RunSummary;
use almost_net::{NetConfig, NetError, PhysicsVerdict, TrainOptions, train};
use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost_surrogate::{FitOptions, SurrogateMeta, fit_and_save, reusable};

use crate::sweep::config::SweepConfig;
use crate::sweep::row::SweepRow;

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
    /// The burn backend the fits and the training run on (the physics on the host).
    pub backend: almost_surrogate::Backend,
}

/// The folder of value `k`.
pub fn value_dir(out: &Path, k: usize) -> PathBuf {
    out.join(format!("value-{k:02}"))
}

/// The folder of the design by gradient inside a sweep's folder.
pub fn gradient_dir(out: &Path) -> PathBuf {
    out.join("gradient")
}

/// Generates `sim` into `dir/dataset` and fits it with the sweep's fit config into
/// `dir/surrogate` (both resume: finished shards and a surrogate that still matches are
/// kept). Returns the surrogate's folder.
pub fn generate_and_fit(
    cfg: &SweepConfig,
    sim: &GenerateConfig,
    dir: &Path,
    options: &SweepOptions,
) -> Result<PathBuf> {
    let job = sim.resolve(&cfg.simulation.display().to_string())?;
    let data = dir.join("dataset");
    generate(&job, &data, &GenerateOptions { progress: options.progress, ..Default::default() })?;
    let dataset = Dataset::load(&data)?;
    let model = dir.join("surrogate");
    let candidates = crate::train::fit_candidates(cfg.fit.as_deref(), &dataset)?;
    if !candidates.iter().any(|c| reusable(&model, &dataset, c).is_some()) {
        let device = options.backend.device()?;
        let fit_cfg = crate::train::choose_fit(&dataset, &candidates, &device)?;
        let fit_options = FitOptions { progress: options.progress, device };
        let outcome = fit_and_save(&dataset, &model, &fit_cfg, false, &fit_options)?;
        for w in &outcome.warnings {
            eprintln!("{w}");
        }
    }
    Ok(model)
}

/// Trains the sweep's network on the surrogate in `model` for every seed into
/// `dir/seed-S` (finished and refused runs are skipped; checkpoints resume).
pub fn train_seeds(cfg: &SweepConfig, model: &Path, dir: &Path, label: &str, options: &SweepOptions) -> Result<()> {
    for &seed in &cfg.seeds {
        let run = dir.join(format!("seed-{seed}"));
        if run.join("network.json").exists() || run.join(REFUSED).exists() {
            continue;
        }
        let mut net = NetConfig::load(&cfg.network)?;
        net.name = format!("{}-{label}-{seed}", cfg.name);
        for layer in &mut net.layers {
            layer.surrogate = model.to_path_buf();
        }
        net.training.seed = seed;
        if let Some(e) = cfg.epochs {
            net.training.epochs = e;
        }
        if let Some(t) = options.threads {
            net.training.threads = t;
        }
        let train_options = TrainOptions {
            progress: options.progress,
            physics_all: options.physics_all,
            device: options.backend.device()?,
            ..Default::default()
        };
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
pub const REFUSED: &str = "refused.txt";

/// The worst held-out RMSE (% of range) of the surrogate in `dir/surrogate`, if fitted.
pub fn surrogate_rmse_percent(dir: &Path) -> Option<f64> {
    let meta = almost_sim::fsutil::read_json::<SurrogateMeta>(&dir.join("surrogate").join("surrogate.json")).ok()?;
    Some(100.0 * meta.metrics.iter().map(|m| m.relative_rmse).fold(0.0, f64::max))
}

/// The row of a finished (or refused) run folder; `value_of` may take the row's value from
/// the run itself (design by gradient: the constant training settled on).
pub fn row_of(
    run: &Path,
    value: f64,
    seed: u64,
    rmse: f64,
    value_of: impl Fn(&RunSummary) -> Option<f64>,
) -> Option<SweepRow> {
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
        return Some(row);
    }
    let summary = almost_sim::fsutil::read_json::<RunSummary>(&run.join("network.json")).ok()?;
    if let Some(v) = value_of(&summary) {
        row.value = v;
    }
    row.accuracy_surrogates = summary.test_accuracy_surrogate;
    if let Some(last) = summary.history.last() {
        row.box_exits = last.health.iter().map(|h| h.outside_box).fold(f64::NAN, f64::max);
        row.operating_error_percent = 100.0 * last.health.iter().map(|h| h.operating_error).fold(f64::NAN, f64::max);
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
    Some(row)
}

/// Wall-clock seconds of a finished run's training epochs (not its closing physics check).
pub fn training_seconds(run: &Path) -> Option<f64> {
    let summary = almost_sim::fsutil::read_json::<RunSummary>(&run.join("network.json")).ok()?;
    Some(summary.history.iter().map(|h| h.seconds).sum())
}
