//! Saving and loading a frozen surrogate: `surrogate.safetensors` + `surrogate.json`.
//!
//! The JSON holds everything needed to trust and reuse the weights: architecture, precision,
//! domain box of x and A, normalisation, the device spec and its hash, the device config (to
//! rebuild the real device for physics evaluation), the dataset hash, the held-out metrics and
//! the SHA-256 of the weights file. Loading checks that hash (the two files belong together),
//! every tensor's shape and dtype, and that nothing is missing or left over.

use std::path::{Path, PathBuf};

use almost_sim::devices::DeviceConfig;
use almost_sim::fsutil::{read_json, write_atomic, write_json_atomic};
use almost_sim::spec::hex_sha256;
use almost_sim::{DeviceSpec, DomainBox, SolverSettings};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::arch::Architecture;
use crate::config::Precision;
use crate::error::{Result, SurrogateError};
use crate::gradcheck::GradientCheck;
use crate::metrics::OutputMetrics;
use crate::normalize::Normalization;
use crate::surrogate::Surrogate;

/// Format tag of `surrogate.json`.
pub const SURROGATE_FORMAT: &str = "almost-surrogate/1";
const WEIGHTS: &str = "surrogate.safetensors";
const META: &str = "surrogate.json";

/// `surrogate.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SurrogateMeta {
    /// Format tag.
    pub format: String,
    /// Software that wrote it.
    pub software: String,
    /// Architecture of the body.
    pub architecture: Architecture,
    /// Weight precision.
    pub precision: Precision,
    /// Inputs x, parameters A, outputs y.
    pub n_x: usize,
    /// Number of parameters A.
    pub n_a: usize,
    /// Number of outputs.
    pub n_y: usize,
    /// Box of x and A the surrogate was fitted in: outside it, it extrapolates.
    #[serde(rename = "domain_box")]
    pub domain: DomainBox,
    /// Fixed normalisation (also stored in the weights).
    pub normalization: Normalization,
    /// `[min, max]` of each output over the dataset's successful rows: the range a network
    /// maps into the next device's input box.
    pub y_range: Vec<[f64; 2]>,
    /// The device.
    pub device: DeviceSpec,
    /// Hash of the device spec.
    pub device_hash: String,
    /// How to rebuild the real device.
    pub device_config: DeviceConfig,
    /// Solver the dataset was made with.
    pub solver: Option<SolverSettings>,
    /// Dataset folder it was fitted on.
    pub dataset: String,
    /// Hash of the dataset's data file.
    pub dataset_hash: String,
    /// Held-out metrics.
    pub metrics: Vec<OutputMetrics>,
    /// Gradient check against the device.
    pub gradients: Option<GradientCheck>,
    /// File name of the weights.
    pub weights_file: String,
    /// SHA-256 of the weights file.
    pub weights_sha256: String,
    /// Points simulated by active refinement and trained on, beyond the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refined_points: Option<RefinedPoints>,
}

/// The file of points active refinement simulated (`refined.npz`, a dataset-style table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefinedPoints {
    /// File name inside the surrogate folder.
    pub file: String,
    /// Points simulated (ok and failed).
    pub rows: usize,
    /// SHA-256 of the file.
    pub sha256: String,
}

impl SurrogateMeta {
    /// Metadata of a fresh fit of `dataset` with `config` (weight hash filled in by [`save`]).
    pub fn for_fit(
        fitted: &crate::fit::Fitted,
        dataset: &almost_sim::Dataset,
        config: &crate::config::FitConfig,
    ) -> Self {
        let plan = &dataset.manifest.plan;
        Self {
            format: SURROGATE_FORMAT.into(),
            software: format!("almost-surrogate {}", env!("CARGO_PKG_VERSION")),
            architecture: config.architecture.clone(),
            precision: config.training.precision,
            n_x: plan.device.n_inputs(),
            n_a: plan.device.n_params(),
            n_y: plan.device.n_outputs(),
            domain: plan.domain.clone(),
            normalization: fitted.normalization.clone(),
            // the dataset's outputs, widened by any rows refinement added
            y_range: {
                let (lo, hi) = crate::normalize::column_range(&fitted.extra.outputs, dataset.table.ny);
                let range = dataset.table.y_range().into_iter().zip(lo.into_iter().zip(hi));
                range.map(|([l, h], (el, eh))| [l.min(el), h.max(eh)]).collect()
            },
            device: plan.device.clone(),
            device_hash: plan.device_hash.clone(),
            device_config: plan.device_config.clone(),
            solver: plan.solver.clone(),
            dataset: dataset.dir.display().to_string(),
            dataset_hash: dataset.hash().to_string(),
            metrics: fitted.report.outputs.clone(),
            gradients: fitted.report.gradients.clone(),
            weights_file: WEIGHTS.into(),
            weights_sha256: String::new(),
            refined_points: None,
        }
    }
}

/// A loaded surrogate with its metadata.
pub struct SavedSurrogate {
    /// The frozen module.
    pub surrogate: Surrogate,
    /// Its metadata.
    pub meta: SurrogateMeta,
    /// Folder it was loaded from.
    pub dir: PathBuf,
}

impl SavedSurrogate {
    /// Whether (x, A) lies inside the fitted domain box (relative slack `tol`).
    pub fn in_domain(&self, x: &[f64], a: &[f64], tol: f64) -> bool {
        self.meta.domain.contains(x, a, tol)
    }
}

/// Saves `surrogate` with `meta` (whose weight hash fields are filled in) into `dir`, atomically.
pub fn save(dir: &Path, surrogate: &Surrogate, mut meta: SurrogateMeta) -> Result<SurrogateMeta> {
    let weights = dir.join(WEIGHTS);
    // one metadata key only: the store keeps metadata in a hash map, so several keys would be
    // written in a random order and identical weights would not give identical files
    let mut store = SafetensorsStore::from_bytes(None).clear_metadata().metadata("format", SURROGATE_FORMAT);
    surrogate.save_into(&mut store).map_err(|e| SurrogateError::bad_model(&weights, e.to_string()))?;
    let bytes = store.get_bytes().map_err(|e| SurrogateError::bad_model(&weights, e.to_string()))?;
    meta.format = SURROGATE_FORMAT.into();
    meta.weights_file = WEIGHTS.into();
    meta.weights_sha256 = hex_sha256(&bytes);
    write_atomic(&weights, &bytes)?;
    write_json_atomic(&dir.join(META), &meta)?;
    Ok(meta)
}

/// Loads a surrogate from `dir` onto `device`, checking that the JSON and weights belong
/// together and that every tensor has the shape and dtype the JSON implies.
pub fn load(dir: &Path, device: &Device) -> Result<SavedSurrogate> {
    let meta_path = dir.join(META);
    if !meta_path.exists() {
        return Err(SurrogateError::bad_model(
            &meta_path,
            "missing: not a surrogate folder (fit one with almost-train surrogate)",
        ));
    }
    let meta: SurrogateMeta = read_json(&meta_path)?;
    if meta.format != SURROGATE_FORMAT {
        return Err(SurrogateError::bad_model(
            &meta_path,
            format!("format '{}' is not {SURROGATE_FORMAT}", meta.format),
        ));
    }
    let weights = dir.join(&meta.weights_file);
    let bytes = std::fs::read(&weights).map_err(|e| SurrogateError::Io { path: weights.clone(), source: e })?;
    if hex_sha256(&bytes) != meta.weights_sha256 {
        return Err(SurrogateError::bad_model(
            &weights,
            "does not match the weights hash in surrogate.json (corrupted, or from another surrogate)",
        ));
    }
    let d_in = meta.n_x + meta.n_a;
    if meta.normalization.in_shift.len() != d_in
        || meta.normalization.out_shift.len() != meta.n_y
        || meta.y_range.len() != meta.n_y
    {
        return Err(SurrogateError::bad_model(
            &meta_path,
            "normalisation or output-range widths disagree with n_x + n_a and n_y",
        ));
    }
    let mut surrogate =
        Surrogate::new(&meta.architecture, &meta.normalization, meta.n_x, meta.precision.dtype(), device);
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let result = surrogate.load_from(&mut store).map_err(|e| {
        SurrogateError::bad_model(&weights, format!("does not fit the architecture in surrogate.json: {e}"))
    })?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        let detail: Vec<String> = result
            .errors
            .iter()
            .map(|e| e.to_string())
            .chain(result.missing.iter().map(|m| format!("missing tensor {m:?}")))
            .chain(result.unused.iter().map(|u| format!("unexpected tensor {u:?}")))
            .collect();
        return Err(SurrogateError::bad_model(
            &weights,
            format!("does not fit the architecture in surrogate.json: {}", detail.join("; ")),
        ));
    }
    Ok(SavedSurrogate { surrogate: surrogate.no_grad(), meta, dir: dir.to_path_buf() })
}
