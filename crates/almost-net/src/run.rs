//! A run folder: the trained network (`network.bpk`), its A (`a.npz`) and `network.json`.

use std::path::{Path, PathBuf};

use almost_sim::fsutil::{write_atomic, write_json_atomic};
use burn::module::Module;
use burn::tensor::{DType, Device};
use serde::{Deserialize, Serialize};

use almost_surrogate::SurrogateMeta;

use crate::config::NetConfig;
use crate::error::{NetError, Result};
use crate::history::EpochMetrics;
use crate::network::{DeviceNetwork, build};
use crate::wiring::MapShape;

/// `network.json` of a finished or interrupted run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The network config.
    pub config: NetConfig,
    /// Surrogate folders and their weight hashes, per layer.
    pub surrogates: Vec<(String, String)>,
    /// Devices per layer.
    pub devices: Vec<usize>,
    /// Trained parameters A (all layers).
    pub trained_parameters: usize,
    /// Epochs completed.
    pub epochs: usize,
    /// Test accuracy on the surrogates after the last epoch.
    pub test_accuracy_surrogate: f64,
    /// Metrics per epoch.
    pub history: Vec<EpochMetrics>,
}

/// Writes the final network (`network.bpk`), its A values (`a.npz`, for numpy) and `network.json`.
pub fn save_run(
    run: &Path,
    cfg: &NetConfig,
    network: &DeviceNetwork,
    metas: &[SurrogateMeta],
    history: &[EpochMetrics],
) -> Result<()> {
    let bytes = network
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| NetError::BadRun { path: run.join("network.bpk"), message: e.to_string() })?;
    write_atomic(&run.join("network.bpk"), &bytes)?;
    let a = network.a_values();
    let arrays: Vec<(String, almost_sim::npz::NpyArray)> = network
        .layers
        .iter()
        .zip(&a)
        .enumerate()
        .map(|(l, (layer, v))| {
            (
                format!("layer{l}"),
                almost_sim::npz::NpyArray::f64_2d(layer.devices(), v.len() / layer.devices(), v.clone()),
            )
        })
        .collect();
    let refs: Vec<(&str, &almost_sim::npz::NpyArray)> = arrays.iter().map(|(n, a)| (n.as_str(), a)).collect();
    almost_sim::npz::write_npz(&run.join("a.npz"), &refs)?;
    let summary = RunSummary {
        config: cfg.clone(),
        surrogates: cfg
            .layers
            .iter()
            .zip(metas)
            .map(|(l, m)| (l.surrogate.display().to_string(), m.weights_sha256.clone()))
            .collect(),
        devices: network.layers.iter().map(|l| l.devices()).collect(),
        trained_parameters: a.iter().map(Vec::len).sum(),
        epochs: history.len(),
        test_accuracy_surrogate: history.last().map_or(f64::NAN, |h| h.test_accuracy),
        history: history.to_vec(),
    };
    write_json_atomic(&run.join("network.json"), &summary)?;
    Ok(())
}

/// Loads a finished run: its config, and the network with the trained A on `device`.
pub fn load_run(run: &Path, dtype: DType, device: &Device) -> Result<(NetConfig, DeviceNetwork, Vec<SurrogateMeta>)> {
    let summary_path: PathBuf = run.join("network.json");
    if !summary_path.exists() {
        return Err(NetError::BadRun {
            path: summary_path,
            message: "missing: train the network first (almost-train network)".into(),
        });
    }
    let summary: RunSummary = almost_sim::fsutil::read_json(&summary_path)?;
    let cfg = summary.config;
    let input = MapShape { height: 28, width: 28, channels: 1 };
    let input = match crate::images::load(&cfg.data) {
        Ok((train, _)) => MapShape { height: train.rows, width: train.cols, channels: 1 },
        Err(_) => input,
    };
    let (skeleton, metas) = build(&cfg, input, dtype, device)?;
    for ((dir, sha), meta) in summary.surrogates.iter().zip(&metas) {
        if &meta.weights_sha256 != sha {
            return Err(NetError::BadRun {
                path: dir.into(),
                message: "surrogate changed since the network was trained".into(),
            });
        }
    }
    let path = run.join("network.bpk");
    let bytes = std::fs::read(&path).map_err(|e| NetError::io(&path, e))?;
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| NetError::BadRun { path: path.clone(), message: e.to_string() })?;
    let network = skeleton.try_load_record(record).map_err(|e| NetError::BadRun { path, message: e.to_string() })?;
    Ok((cfg, network, metas))
}

/// Loads the trained A (and everything else) of the run folder `init` into `network`, which
/// must have the same layers (fine-tuning starts from it).
pub fn load_a_from(init: &Path, network: DeviceNetwork) -> Result<DeviceNetwork> {
    let path = init.join("network.bpk");
    let bytes = std::fs::read(&path).map_err(|e| NetError::io(&path, e))?;
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| NetError::BadRun { path: path.clone(), message: e.to_string() })?;
    network
        .try_load_record(record)
        .map_err(|e| NetError::BadRun { path, message: format!("does not fit this network's layers: {e}") })
}
