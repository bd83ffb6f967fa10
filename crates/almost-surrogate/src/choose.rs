//! The default fit of a device nobody wrote a fit config for: each candidate of
//! [`FitConfig::candidates`] is fitted on the training split and the one with the lowest
//! validation loss is kept. The test split plays no part in the choice, so the held-out
//! error the chosen fit reports stays an honest one.

use almost_sim::Dataset;

use crate::config::FitConfig;
use crate::error::Result;
use crate::fit::{FitOptions, fit};

/// One candidate's trial.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// The candidate's architecture, in words.
    pub architecture: String,
    /// Its best validation loss (normalised MSE).
    pub val_loss: f64,
}

/// Picks, among `candidates`, the fit with the lowest best validation loss on `dataset`;
/// returns it with every trial (one candidate: returned untried). The trials run on
/// `options.device`, without a progress bar.
pub fn choose(dataset: &Dataset, candidates: &[FitConfig], options: &FitOptions) -> Result<(FitConfig, Vec<Trial>)> {
    let quiet = FitOptions { progress: false, device: options.device.clone() };
    let mut trials = Vec::with_capacity(candidates.len());
    let mut best: Option<(usize, f64)> = None;
    if candidates.len() > 1 {
        for (k, c) in candidates.iter().enumerate() {
            let mut trial = c.clone();
            trial.report.gradient_points = 0;
            trial.report.plots = false;
            let fitted = fit(dataset, &trial, None, &quiet)?;
            let val = fitted.report.history.iter().map(|h| h.val_loss).fold(f64::INFINITY, f64::min);
            trials.push(Trial { architecture: c.architecture.describe(), val_loss: val });
            if best.is_none_or(|(_, b)| val < b) {
                best = Some((k, val));
            }
        }
    }
    let k = best.map_or(0, |(k, _)| k);
    Ok((candidates.get(k).cloned().unwrap_or_else(|| FitConfig::for_device(0, 0)), trials))
}

/// The default fit for the dataset's device shape: [`choose`] over [`FitConfig::candidates`].
pub fn choose_default(dataset: &Dataset, options: &FitOptions) -> Result<(FitConfig, Vec<Trial>)> {
    let spec = &dataset.manifest.plan.device;
    choose(dataset, &FitConfig::candidates(spec.n_inputs(), spec.n_params()), options)
}
