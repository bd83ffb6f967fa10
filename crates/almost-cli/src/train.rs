//! The steps behind `almost-train` subcommands that the pipeline shares: thin calls into the
//! libraries, plus what is printed.

use std::path::Path;

use anyhow::Result;

use almost_sim::Dataset;
use almost_surrogate::{FitConfig, FitOptions, FitReport, fit_and_save};
use burn::tensor::Device;

/// Fits, saves and reports a surrogate of the dataset in `data` into `out`, on `device`.
pub fn surrogate(
    data: &Path,
    out: &Path,
    config: Option<&Path>,
    check_gradients: bool,
    device: &Device,
) -> Result<FitReport> {
    let dataset = Dataset::load(data)?;
    let cfg = fit_config(config, &dataset, device)?;
    surrogate_with(&dataset, out, &cfg, check_gradients, device)
}

/// The fit config of `config`, or the trainer's default for the dataset's device: the
/// candidates for its shape each fitted once, the lowest validation loss kept (printed).
pub fn fit_config(config: Option<&Path>, dataset: &Dataset, device: &Device) -> Result<FitConfig> {
    choose_fit(dataset, &fit_candidates(config, dataset)?, device)
}

/// The best of `candidates` on validation ([`almost_surrogate::choose::choose`]; one
/// candidate, a given config, is returned untried), with the trials printed.
pub fn choose_fit(dataset: &Dataset, candidates: &[FitConfig], device: &Device) -> Result<FitConfig> {
    let options = FitOptions { progress: false, device: device.clone() };
    let (chosen, trials) = almost_surrogate::choose::choose(dataset, candidates, &options)?;
    for t in &trials {
        eprintln!("default fit, trying {}: best validation loss {:.3e}", t.architecture, t.val_loss);
    }
    if trials.len() > 1 {
        eprintln!(
            "default fit: {} (lowest validation loss; the test split is not used)",
            chosen.architecture.describe()
        );
    }
    Ok(chosen)
}

/// The fit configs a saved surrogate may have been fitted with: `config`, or every default
/// candidate for the dataset's device shape (to reuse a saved default fit without trying again).
pub fn fit_candidates(config: Option<&Path>, dataset: &Dataset) -> Result<Vec<FitConfig>> {
    let spec = &dataset.manifest.plan.device;
    Ok(match config {
        Some(p) => vec![FitConfig::load(p)?],
        None => FitConfig::candidates(spec.n_inputs(), spec.n_params()),
    })
}

/// Fits a surrogate to a loaded dataset (the library's fit-or-refine workflow) and says on
/// stderr what the user should know: warnings, and whether network training will accept it.
pub fn surrogate_with(
    dataset: &Dataset,
    out: &Path,
    cfg: &FitConfig,
    check_gradients: bool,
    device: &Device,
) -> Result<FitReport> {
    eprintln!(
        "fitting {} on {} rows of {} ({})",
        cfg.architecture.describe(),
        dataset.manifest.ok,
        dataset.manifest.plan.device.kind,
        dataset.dir.display()
    );
    if cfg.refine.rounds > 0 {
        eprintln!("active refinement: {} rounds against the device's own solver", cfg.refine.rounds);
    }
    let options = FitOptions { progress: true, device: device.clone() };
    let outcome = fit_and_save(dataset, out, cfg, check_gradients, &options)?;
    for w in &outcome.warnings {
        eprintln!("{w}");
    }
    // say now what training would refuse later, with the same default threshold
    let limit = almost_net::NetTrainingConfig::default().max_surrogate_error;
    for o in &outcome.report.outputs {
        match almost_net::check::quality::usable_relative_rmse(o) {
            None => eprintln!(
                "WARNING: output {}: the output range is {}: a relative error is meaningless and training will refuse this surrogate",
                o.name, o.output_range
            ),
            Some(e) if e > limit => eprintln!(
                "WARNING: output {}: held-out RMSE {:.2}% of range is above the {:.1}% that network training accepts \
                 (more samples, or a larger fit config such as simulations/surrogates/diode-node.toml)",
                o.name,
                100.0 * e,
                100.0 * limit
            ),
            Some(_) => {}
        }
    }
    Ok(outcome.report)
}

/// The worst held-out RMSE of a fit over its outputs, as a share of each output's range.
fn worst_relative_rmse(report: &FitReport) -> f64 {
    report.outputs.iter().map(|o| o.relative_rmse).fold(0.0, f64::max)
}

/// Fits, and while the held-out RMSE is above `target` (a share of the output range) doubles
/// the dataset through the generator (its own design and solver, only the new points solved)
/// and fits again, until the target or the `budget` of samples is reached. Prints RMSE
/// against samples; the last fit is the one saved in `out`.
pub fn surrogate_to_target(
    data: &Path,
    out: &Path,
    config: Option<&Path>,
    target: f64,
    budget: u64,
    check_gradients: bool,
    device: &Device,
) -> Result<FitReport> {
    let mut rows: Vec<(u64, f64)> = Vec::new();
    loop {
        let dataset = Dataset::load(data)?;
        let samples = dataset.manifest.samples;
        let cfg = fit_config(config, &dataset, device)?;
        let report = surrogate_with(&dataset, out, &cfg, check_gradients, device)?;
        let rmse = worst_relative_rmse(&report);
        rows.push((samples, rmse));
        eprintln!(
            "target {:.3}%: {samples} samples give a held-out RMSE of {:.3}% of range",
            100.0 * target,
            100.0 * rmse
        );
        let next = samples.saturating_mul(2);
        if rmse <= target || next > budget {
            if rmse > target {
                eprintln!(
                    "WARNING: the target {:.3}% was not reached within the budget of {budget} samples (--budget)",
                    100.0 * target
                );
            }
            eprintln!("samples      held-out RMSE (% of range)");
            for (n, e) in &rows {
                eprintln!("{n:>9}    {:.4}", 100.0 * e);
            }
            return Ok(report);
        }
        eprintln!("growing {} to {next} samples", data.display());
        let grown =
            almost_sim::grow(data, next, &almost_sim::GenerateOptions { progress: true, ..Default::default() })?;
        eprintln!("solved {} new samples in {:.1} s", grown.samples_solved, grown.seconds);
    }
}
