//! The steps behind `almost-train` subcommands, shared with the pipeline command.

use std::path::Path;

use anyhow::Result;

use almost_sim::Dataset;
use almost_surrogate::{FitConfig, FitReport, SurrogateMeta, fit, rebuild_device, refine, save, write_artifacts};

/// Fits, saves and reports a surrogate of the dataset in `data` into `out`.
pub fn surrogate(data: &Path, out: &Path, config: Option<&Path>, check_gradients: bool) -> Result<FitReport> {
    let dataset = Dataset::load(data)?;
    let cfg = match config {
        Some(p) => FitConfig::load(p)?,
        None => FitConfig::default(),
    };
    let device = if check_gradients {
        match rebuild_device(&dataset) {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("gradient check skipped: {e}");
                None
            }
        }
    } else {
        None
    };
    fit_and_save(&dataset, out, &cfg, device.as_deref())
}

/// Fits a surrogate to a loaded dataset, checking gradients against its rebuilt device.
pub fn surrogate_with(dataset: &Dataset, out: &Path, cfg: &FitConfig, check_gradients: bool) -> Result<FitReport> {
    let device = if check_gradients { rebuild_device(dataset).ok() } else { None };
    fit_and_save(dataset, out, cfg, device.as_deref())
}

fn fit_and_save(
    dataset: &Dataset,
    out: &Path,
    cfg: &FitConfig,
    device: Option<&dyn almost_sim::DeviceModel>,
) -> Result<FitReport> {
    eprintln!(
        "fitting {} on {} rows of {} ({})",
        cfg.architecture.describe(),
        dataset.manifest.ok,
        dataset.manifest.plan.device.kind,
        dataset.dir.display()
    );
    std::fs::create_dir_all(out)?;
    let (fitted, refined_points) = if cfg.refine.rounds > 0 {
        let rebuilt;
        let device = match device {
            Some(d) => d,
            None => {
                rebuilt = rebuild_device(dataset)?;
                rebuilt.as_ref()
            }
        };
        eprintln!("active refinement: {} rounds against the device's own solver", cfg.refine.rounds);
        let refined = refine(dataset, cfg, device, true)?;
        let points = almost_surrogate::refine::save_points(out, &refined.points)?;
        (refined.fitted, Some(points))
    } else {
        (fit(dataset, cfg, device, true)?, None)
    };
    let meta = SurrogateMeta { refined_points, ..SurrogateMeta::for_fit(&fitted, dataset, cfg) };
    save(out, &fitted.surrogate, meta)?;
    write_artifacts(&fitted, out, cfg.report.plots)?;
    // say now what training would refuse later, with the same default threshold
    let limit = almost_net::NetTrainingConfig::default().max_surrogate_error;
    for o in &fitted.report.outputs {
        if !(o.output_range > 0.0 && o.relative_rmse.is_finite()) {
            eprintln!(
                "WARNING: output {}: the output range is {}: a relative error is meaningless and training will refuse this surrogate",
                o.name, o.output_range
            );
        } else if o.relative_rmse > limit {
            eprintln!(
                "WARNING: output {}: held-out RMSE {:.2}% of range is above the {:.1}% that network training accepts \
                 (more samples, or a larger fit config such as simulations/surrogates/diode-node.toml)",
                o.name,
                100.0 * o.relative_rmse,
                100.0 * limit
            );
        }
    }
    Ok(fitted.report)
}

/// What [`evaluate`] measured: the printed text, and the physics report if it ran one.
pub struct Evaluation {
    /// The text to print.
    pub text: String,
    /// The physics report (also written to `physics.json`).
    pub physics: Option<almost_net::PhysicsReport>,
}

/// Evaluates a trained run on its test set: surrogates only, or surrogates and physics
/// (then `physics.json` is written into the run folder) on the run's own `[hardware]` with
/// `hardware` overrides.
pub fn evaluate(
    run: &Path,
    physics: bool,
    samples: usize,
    hardware: &almost_net::HardwareOverrides,
) -> Result<Evaluation> {
    let device = burn::tensor::Device::flex();
    let almost_net::LoadedRun { config: cfg, network, metas, test, .. } =
        almost_net::load_run(run, burn::tensor::DType::F32, &device)?;
    if !physics {
        let acc = almost_net::training::train::accuracy(&network, &test, samples, burn::tensor::DType::F32, &device);
        let n = if samples == 0 { test.len() } else { samples.min(test.len()) };
        return Ok(Evaluation {
            text: format!(
                "{n} test images: accuracy on surrogates {:.2}% ({}: add --physics)\n",
                100.0 * acc,
                almost_net::check::NOT_CHECKED
            ),
            physics: None,
        });
    }
    let hw_cfg = hardware.apply(&cfg.hardware);
    let hw = almost_net::hardware_for(&metas, &network, &hw_cfg)?;
    let report = almost_net::evaluate(&network, &metas, hw.as_ref(), &test, samples, hw_cfg.bits, true);
    almost_sim::fsutil::write_json_atomic(&run.join("physics.json"), &report)?;
    Ok(Evaluation { text: report.table(), physics: Some(report) })
}

/// Sweeps imperfections of the hardware for a trained run; writes `robustness.json` and
/// `robustness.svg` into the run folder and returns the table.
pub fn robustness(run: &Path, samples: usize, sweep: &almost_net::physics::robustness::Sweep) -> Result<String> {
    let device = burn::tensor::Device::flex();
    let almost_net::LoadedRun { config: cfg, network, metas, test, .. } =
        almost_net::load_run(run, burn::tensor::DType::F32, &device)?;
    let base = almost_net::HardwareConfig { seed: cfg.hardware.seed, ..Default::default() };
    let points = almost_net::physics::robustness::sweep(&network, &metas, &test, samples, &base, sweep)?;
    almost_sim::fsutil::write_json_atomic(&run.join("robustness.json"), &points)?;
    almost_net::physics::robustness::plot(&run.join("robustness.svg"), &cfg.name, &points)?;
    Ok(almost_net::physics::robustness::table(&points))
}
