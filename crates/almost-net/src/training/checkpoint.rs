//! Checkpoints of a training run: network and optimiser state after an epoch, resumable.
//!
//! ```text
//! runs/<name>/checkpoint.json              epoch, config hash, file hashes, history (written last)
//! runs/<name>/checkpoints/epoch-0007.network.bpk
//! runs/<name>/checkpoints/epoch-0007.optim.bpk
//! ```
//! The burnpack files keep parameter ids, so the optimiser's moments find their parameters
//! again after a restart. `checkpoint.json` is replaced atomically after both files are
//! complete; a crash at any moment leaves the previous checkpoint usable.

use std::path::{Path, PathBuf};

use almost_sim::fsutil::{read_json, write_atomic, write_json_atomic};
use almost_sim::spec::hex_sha256;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::optim::record::OptimizerRecord;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::network::chain::DeviceNetwork;
use crate::training::history::EpochMetrics;

/// `checkpoint.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Last completed epoch.
    pub epoch: usize,
    /// Hash of the network config the run belongs to.
    pub config_hash: String,
    /// Network file (relative to the run folder).
    pub network_file: String,
    /// Its SHA-256.
    pub network_sha256: String,
    /// Optimiser file (relative to the run folder).
    pub optim_file: String,
    /// Its SHA-256.
    pub optim_sha256: String,
    /// Metrics of every completed epoch.
    pub history: Vec<EpochMetrics>,
}

fn rec_err(path: &Path, e: impl std::fmt::Display) -> NetError {
    NetError::BadRun { path: path.into(), message: e.to_string() }
}

/// Saves a checkpoint after `epoch` into `run`.
pub fn save(
    run: &Path,
    epoch: usize,
    config_hash: &str,
    network: &DeviceNetwork,
    optim: &ModuleOptimizer,
    history: &[EpochMetrics],
) -> Result<()> {
    let net_rel = format!("checkpoints/epoch-{epoch:04}.network.bpk");
    let opt_rel = format!("checkpoints/epoch-{epoch:04}.optim.bpk");
    let net_bytes = network.clone().into_record().into_bytes().map_err(|e| rec_err(&run.join(&net_rel), e))?;
    let opt_bytes = optim.to_record().into_bytes().map_err(|e| rec_err(&run.join(&opt_rel), e))?;
    write_atomic(&run.join(&net_rel), &net_bytes)?;
    write_atomic(&run.join(&opt_rel), &opt_bytes)?;
    let previous: Option<Checkpoint> = read_json(&run.join("checkpoint.json")).ok();
    let ck = Checkpoint {
        epoch,
        config_hash: config_hash.into(),
        network_sha256: hex_sha256(&net_bytes),
        optim_sha256: hex_sha256(&opt_bytes),
        network_file: net_rel,
        optim_file: opt_rel,
        history: history.to_vec(),
    };
    write_json_atomic(&run.join("checkpoint.json"), &ck)?;
    if let Some(p) = previous.filter(|p| p.epoch != epoch) {
        let _ = std::fs::remove_file(run.join(p.network_file));
        let _ = std::fs::remove_file(run.join(p.optim_file));
    }
    Ok(())
}

/// A loaded checkpoint: the network (onto the given skeleton) and the optimiser.
pub struct Resumed {
    /// The checkpoint metadata.
    pub checkpoint: Checkpoint,
    /// The network with the checkpoint's parameters and ids.
    pub network: DeviceNetwork,
    /// The optimiser with its moments.
    pub optim: ModuleOptimizer,
}

/// Loads the checkpoint of `run`, if any, checking the config hash and file hashes.
pub fn load(run: &Path, config_hash: &str, skeleton: DeviceNetwork, optim: ModuleOptimizer) -> Result<Option<Resumed>> {
    let path = run.join("checkpoint.json");
    if !path.exists() {
        return Ok(None);
    }
    let ck: Checkpoint = read_json(&path)?;
    if ck.config_hash != config_hash {
        return Err(NetError::BadRun {
            path,
            message: "belongs to a different network config; use another --out or delete the run folder".into(),
        });
    }
    let read = |rel: &str, sha: &str| -> Result<Vec<u8>> {
        let p: PathBuf = run.join(rel);
        let bytes = std::fs::read(&p).map_err(|e| NetError::io(&p, e))?;
        if hex_sha256(&bytes) != sha {
            return Err(NetError::BadRun { path: p, message: "does not match the hash in checkpoint.json".into() });
        }
        Ok(bytes)
    };
    let net_bytes = read(&ck.network_file, &ck.network_sha256)?;
    let opt_bytes = read(&ck.optim_file, &ck.optim_sha256)?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(net_bytes))
        .map_err(|e| rec_err(&run.join(&ck.network_file), e))?;
    let network = skeleton.try_load_record(record).map_err(|e| rec_err(&run.join(&ck.network_file), e))?;
    let opt_record = OptimizerRecord::from_bytes(Bytes::from_bytes_vec(opt_bytes))
        .map_err(|e| rec_err(&run.join(&ck.optim_file), e))?;
    let optim = optim.load_record(opt_record);
    Ok(Some(Resumed { checkpoint: ck, network, optim }))
}
