//! A run folder: the trained network (`network.bpk`), its A (`a.npz`) and `network.json`.

use std::path::{Path, PathBuf};

use almost_sim::fsutil::{write_atomic, write_json_atomic};
use burn::module::Module;
use burn::tensor::{DType, Device};
use serde::{Deserialize, Serialize};

use crate::check::PhysicsVerdict;
use crate::data::images::ImageSet;
use crate::error::{NetError, Result};
use crate::network::chain::{DeviceNetwork, build};
use crate::network::config::NetConfig;
use crate::network::wiring::MapShape;
use crate::training::history::EpochMetrics;

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
    /// The check on the physics that ended the run.
    #[serde(default)]
    pub physics_check: Option<PhysicsVerdict>,
    /// Constants the devices share and training chose (design by gradient: a conditioned
    /// device's last parameter), by name; empty otherwise.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub constants: std::collections::BTreeMap<String, f64>,
}

/// Writes the final network (`network.bpk`), its A values (`a.npz`, for numpy) and `network.json`.
pub fn save_run(
    run: &Path,
    cfg: &NetConfig,
    network: &DeviceNetwork,
    history: &[EpochMetrics],
    physics: &PhysicsVerdict,
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
            .zip(&network.layers)
            .map(|(l, layer)| {
                let sha = layer.meta.as_ref().map_or_else(String::new, |m| m.weights_sha256.clone());
                (l.surrogate.display().to_string(), sha)
            })
            .collect(),
        devices: network.layers.iter().map(|l| l.devices()).collect(),
        trained_parameters: a.iter().map(Vec::len).sum(),
        epochs: history.len(),
        test_accuracy_surrogate: history.last().map_or(f64::NAN, |h| h.test_accuracy),
        history: history.to_vec(),
        physics_check: Some(physics.clone()),
        constants: network.tied_values(),
    };
    write_json_atomic(&run.join("network.json"), &summary)?;
    Ok(())
}

/// A finished run, loaded: its config, the network with the trained A, the layers'
/// surrogate metadata, and the images it was trained and tested on.
pub struct LoadedRun {
    /// The network config.
    pub config: NetConfig,
    /// The trained network.
    pub network: DeviceNetwork,
    /// The training images.
    pub train: ImageSet,
    /// The test images.
    pub test: ImageSet,
}

/// Loads a finished run onto `device`: config, trained network, and its data (read once).
pub fn load_run(run: &Path, dtype: DType, device: &Device) -> Result<LoadedRun> {
    let summary_path: PathBuf = run.join("network.json");
    if !summary_path.exists() {
        return Err(NetError::BadRun {
            path: summary_path,
            message: "missing: train the network first (almost-train network)".into(),
        });
    }
    let summary: RunSummary = almost_sim::fsutil::read_json(&summary_path)?;
    let config = summary.config;
    let (train, test) = crate::data::images::load(&config.data)?;
    let input = MapShape { height: train.rows, width: train.cols, channels: 1 };
    let skeleton = build(&config, input, dtype, device)?;
    for ((dir, sha), meta) in summary.surrogates.iter().zip(skeleton.metas()?) {
        if &meta.weights_sha256 != sha {
            return Err(NetError::BadRun {
                path: dir.into(),
                message: "surrogate changed since the network was trained".into(),
            });
        }
    }
    let network = crate::training::start::with_recorded_maps(load_a_from(run, skeleton)?, run)?;
    Ok(LoadedRun { config, network, train, test })
}

/// Loads the trained A (and everything else) of the run folder `init` into `network`, which
/// must have the same layers (fine-tuning starts from it).
pub fn load_a_from(init: &Path, network: DeviceNetwork) -> Result<DeviceNetwork> {
    let path = init.join("network.bpk");
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => NetError::BadRun {
            path: init.into(),
            message: "is not a trained run (no network.bpk): train the run it names first, or name another \
                      with --init"
                .into(),
        },
        _ => NetError::io(&path, e),
    })?;
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| NetError::BadRun { path: path.clone(), message: e.to_string() })?;
    network
        .try_load_record(record)
        .map_err(|e| NetError::BadRun { path, message: format!("does not fit this network's layers: {e}") })
}
