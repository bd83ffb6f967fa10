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
use serde_json::Value;

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

/// Loads the checkpoint of `run`, if any, checking the config hash (of `config`, the
/// config as JSON, which names the keys that differ from the run's `config.json`) and the
/// file hashes.
pub fn load(
    run: &Path,
    (config_hash, config): (&str, &Value),
    skeleton: DeviceNetwork,
    optim: ModuleOptimizer,
) -> Result<Option<Resumed>> {
    let path = run.join("checkpoint.json");
    if !path.exists() {
        return Ok(None);
    }
    let ck: Checkpoint = read_json(&path)?;
    if ck.config_hash != config_hash {
        let differs = read_json::<Value>(&run.join("config.json")).map(|old| differences(&old, config));
        let which = match differs {
            Ok(d) if !d.is_empty() => format!(" ({})", d.join("; ")),
            _ => String::new(),
        };
        return Err(NetError::BadRun {
            path,
            message: format!(
                "belongs to a different network config{which}; resume with the run's settings, use another --out or delete the run folder"
            ),
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

/// The keys (dotted paths, `layers[4].wiring.channels`) whose values differ between the
/// run's config `old` and the config `new`, each with both values; at most five, then a count.
fn differences(old: &Value, new: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    differing(old, new, "", &mut keys);
    let mut said: Vec<String> =
        keys.iter().take(5).map(|(key, old, new)| format!("{key}: {old} in the run, {new} now")).collect();
    if keys.len() > 5 {
        said.push(format!("and {} more", keys.len() - 5));
    }
    said
}

/// Collects `(path, old value, new value)` wherever `a` and `b` differ below `at`.
fn differing(a: &Value, b: &Value, at: &str, out: &mut Vec<(String, String, String)>) {
    let show = |v: Option<&Value>| v.map_or_else(|| "absent".to_string(), Value::to_string);
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => differing(u, v, &path, out),
                    (u, v) => out.push((path, show(u), show(v))),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                differing(u, v, &format!("{at}[{i}]"), out);
            }
        }
        _ if a != b => out.push((at.to_string(), a.to_string(), b.to_string())),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_resume_names_the_keys_that_differ() {
        let old = serde_json::json!({
            "name": "x",
            "layers": [{ "wiring": { "channels": 16 } }, { "wiring": { "channels": 64 } }],
            "training": { "threads": 1, "epochs": 20 }
        });
        let new = serde_json::json!({
            "name": "x",
            "layers": [{ "wiring": { "channels": 16 } }, { "wiring": { "channels": 32 } }],
            "training": { "threads": 2, "epochs": 20, "init": "runs/a" }
        });
        assert_eq!(
            differences(&old, &new),
            vec![
                "layers[1].wiring.channels: 64 in the run, 32 now".to_string(),
                "training.init: absent in the run, \"runs/a\" now".to_string(),
                "training.threads: 1 in the run, 2 now".to_string(),
            ]
        );
        assert!(differences(&old, &old).is_empty());
        // another number of layers: the whole list differs
        let fewer = serde_json::json!({ "name": "x", "layers": [], "training": old["training"].clone() });
        assert_eq!(differences(&old, &fewer).len(), 1);
        let many: Vec<Value> = (0..7).map(|i| serde_json::json!({ "k": i })).collect();
        let other: Vec<Value> = (0..7).map(|i| serde_json::json!({ "k": i + 1 })).collect();
        let said = differences(&Value::Array(many), &Value::Array(other));
        assert_eq!(said.len(), 6);
        assert_eq!(said[5], "and 2 more");
    }
}
