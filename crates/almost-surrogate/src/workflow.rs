//! The whole job behind `almost-train surrogate`: rebuild the dataset's device for the
//! gradient check, fit (or fit and refine, when the config has a `[refine]` section), save
//! the frozen surrogate with its metadata, report and plots; and the decision whether a
//! surrogate already saved can be reused for a dataset.

use std::path::Path;

use almost_sim::{Dataset, DeviceModel};

use crate::config::FitConfig;
use crate::error::Result;
use crate::fit::{FitOptions, fit, rebuild_device, write_artifacts};
use crate::refine::{refine, save_points};
use crate::report::FitReport;
use crate::store::{SurrogateMeta, save};

/// What [`fit_and_save`] did.
pub struct FitOutcome {
    /// The held-out report.
    pub report: FitReport,
    /// Things the user should know (a gradient check that could not run, and why).
    pub warnings: Vec<String>,
}

/// Fits `dataset` with `cfg` (refining when `cfg.refine.rounds > 0`) and saves the surrogate,
/// its report and plots into `out`. With `check_gradients`, the dataset's device is rebuilt
/// to compare gradients; if it cannot be, the fit goes on and a warning says why (refinement
/// needs the device and fails instead).
pub fn fit_and_save(
    dataset: &Dataset,
    out: &Path,
    cfg: &FitConfig,
    check_gradients: bool,
    options: &FitOptions,
) -> Result<FitOutcome> {
    let mut warnings = Vec::new();
    let needs_device = check_gradients || cfg.refine.rounds > 0;
    let device: Option<std::sync::Arc<dyn DeviceModel>> = if needs_device {
        match rebuild_device(dataset) {
            Ok(d) => Some(d),
            Err(e) if cfg.refine.rounds > 0 => return Err(e),
            Err(e) => {
                warnings.push(format!("gradient check skipped: {e}"));
                None
            }
        }
    } else {
        None
    };
    std::fs::create_dir_all(out).map_err(|e| crate::error::SurrogateError::Io { path: out.into(), source: e })?;
    let check = if check_gradients { device.as_deref() } else { None };
    let (fitted, refined_points) = match (cfg.refine.rounds > 0, device.as_deref()) {
        (true, Some(d)) => {
            let refined = refine(dataset, cfg, d, options)?;
            let points = save_points(out, &refined.points)?;
            (refined.fitted, Some(points))
        }
        _ => (fit(dataset, cfg, check, options)?, None),
    };
    let meta = SurrogateMeta { refined_points, ..SurrogateMeta::for_fit(&fitted, dataset, cfg) };
    save(out, &fitted.surrogate, meta)?;
    write_artifacts(&fitted, out, cfg.report.plots)?;
    Ok(FitOutcome { report: fitted.report, warnings })
}

/// The metadata of the surrogate saved in `model`, if it was fitted to exactly this dataset
/// with this architecture (so fitting again would only repeat it).
pub fn reusable(model: &Path, dataset: &Dataset, cfg: &FitConfig) -> Option<SurrogateMeta> {
    almost_sim::fsutil::read_json::<SurrogateMeta>(&model.join("surrogate.json"))
        .ok()
        .filter(|meta| meta.dataset_hash == dataset.hash() && meta.architecture == cfg.architecture)
}
