//! A finished dataset on disk: `manifest.json` + `data.npz`, and the shard files behind them.
//!
//! ```text
//! datasets/<name>/
//!   plan.json                 what is being generated (written first; resuming checks it)
//!   shards/shard-000000.npz   rows of one shard + report.json (its failures with messages,
//!                             its wall time); written atomically, its presence means "done"
//!   data.npz                  all rows: index, x, a, y, status
//!   manifest.json             plan, counts, failures by reason, hash of data.npz (written last)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{DATASET_FORMAT, Plan};
use crate::error::{FailureKind, Result, SimError};
use crate::fsutil::{read_json, write_json_atomic};
use crate::spec::hex_sha256;
use crate::table::Table;

/// One failed sample, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// Design index of the sample.
    pub index: u64,
    /// Failure class.
    pub reason: FailureKind,
    /// The error message (solver message, time reached, ...).
    pub message: String,
}

/// Per-shard sidecar: failures with messages and the shard's wall time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    /// Shard number.
    pub shard: u64,
    /// Rows in the shard.
    pub rows: u64,
    /// Rows that succeeded.
    pub ok: u64,
    /// Every failure of the shard.
    pub failures: Vec<FailureRecord>,
    /// Wall-clock seconds the shard took (informative; not part of the data).
    pub seconds: f64,
}

/// `manifest.json`: what a dataset is and how it came to be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format tag.
    pub format: String,
    /// Software that wrote it.
    pub software: String,
    /// The plan (device, box, design, solver, shard size).
    pub plan: Plan,
    /// Hash of the plan.
    pub plan_hash: String,
    /// Number of samples (rows).
    pub samples: u64,
    /// Rows with status 0.
    pub ok: u64,
    /// Rows that failed.
    pub failed: u64,
    /// Failed rows per reason.
    pub failures_by_reason: BTreeMap<String, u64>,
    /// The first failures, with messages (all of them are in the shard sidecars).
    pub failure_examples: Vec<FailureRecord>,
    /// File holding the arrays.
    pub data_file: String,
    /// SHA-256 of that file.
    pub data_sha256: String,
}

/// File layout of a dataset folder.
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// Layout rooted at `dir`.
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf() }
    }
    /// `plan.json`.
    pub fn plan(&self) -> PathBuf {
        self.dir.join("plan.json")
    }
    /// `manifest.json`.
    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }
    /// `data.npz`.
    pub fn data(&self) -> PathBuf {
        self.dir.join("data.npz")
    }
    /// Rows of shard `s`.
    pub fn shard(&self, s: u64) -> PathBuf {
        self.dir.join("shards").join(format!("shard-{s:06}.npz"))
    }
}

/// Name of the report entry inside a shard archive.
const REPORT: &str = "report.json";

/// Writes a shard: its rows and its report in one atomic archive.
pub fn write_shard(path: &Path, table: &Table, report: &ShardReport) -> Result<()> {
    let json = serde_json::to_vec(report).map_err(|e| SimError::bad_file(path, e.to_string()))?;
    table.write_with(path, &[(REPORT, &json)])
}

/// Reads and validates a shard written by [`write_shard`].
pub fn read_shard(path: &Path, nx: usize, na: usize, ny: usize) -> Result<(Table, ShardReport)> {
    let (table, extras) = Table::read_with(path, nx, na, ny)?;
    let json = extras.get(REPORT).ok_or_else(|| SimError::bad_file(path, format!("entry '{REPORT}' is missing")))?;
    let report = serde_json::from_slice(json).map_err(|e| SimError::bad_file(path, format!("{REPORT}: {e}")))?;
    Ok((table, report))
}

const EXAMPLES: usize = 20;

/// Joins all shards of `plan` in `dir` into `data.npz` and writes `manifest.json` (last).
pub fn finalize(dir: &Path, plan: &Plan) -> Result<Manifest> {
    let layout = Layout::new(dir);
    let missing: Vec<u64> = (0..plan.n_shards()).filter(|&s| !layout.shard(s).exists()).collect();
    if let Some(&first) = missing.first() {
        return Err(SimError::MissingShards {
            path: dir.to_path_buf(),
            missing: missing.len(),
            total: plan.n_shards() as usize,
            first: first as usize,
        });
    }
    let (nx, na, ny) = (plan.device.n_inputs(), plan.device.n_params(), plan.device.n_outputs());
    let mut all = Table::new(nx, na, ny);
    let mut failures = Vec::new();
    for s in 0..plan.n_shards() {
        let (t, report) = read_shard(&layout.shard(s), nx, na, ny)?;
        let expected: Vec<u64> = plan.shard_range(s).collect();
        if t.index != expected {
            return Err(SimError::bad_file(
                layout.shard(s),
                "rows do not match the plan's sample indices for this shard",
            ));
        }
        all.append(&t);
        failures.extend(report.failures);
    }
    all.write(&layout.data())?;
    let bytes = std::fs::read(layout.data()).map_err(|e| SimError::io(layout.data(), e))?;
    let mut by_reason = BTreeMap::new();
    for f in &failures {
        *by_reason.entry(f.reason.name().to_string()).or_insert(0) += 1;
    }
    let failed = all.status.iter().filter(|&&s| s != 0).count() as u64;
    let manifest = Manifest {
        format: DATASET_FORMAT.into(),
        software: format!("almost-sim {}", env!("CARGO_PKG_VERSION")),
        plan_hash: plan.hash(),
        plan: plan.clone(),
        samples: all.len() as u64,
        ok: all.len() as u64 - failed,
        failed,
        failures_by_reason: by_reason,
        failure_examples: failures.into_iter().take(EXAMPLES).collect(),
        data_file: "data.npz".into(),
        data_sha256: hex_sha256(&bytes),
    };
    write_json_atomic(&layout.manifest(), &manifest)?;
    Ok(manifest)
}

/// A dataset loaded from disk and validated.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Folder it was loaded from.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its rows.
    pub table: Table,
}

impl Dataset {
    /// Loads `dir/manifest.json` and `dir/data.npz`, checking the file hash, shapes, counts
    /// and values (finite x and A everywhere, finite y on every ok row).
    pub fn load(dir: &Path) -> Result<Self> {
        let layout = Layout::new(dir);
        if !dir.is_dir() {
            return Err(SimError::bad_file(dir, "no such dataset folder"));
        }
        if !layout.manifest().exists() {
            let hint = if layout.plan().exists() {
                "generation has not finished: run the same generate command again, or merge the shards"
            } else {
                "not a dataset folder"
            };
            return Err(SimError::bad_file(layout.manifest(), format!("missing ({hint})")));
        }
        let manifest: Manifest = read_json(&layout.manifest())?;
        if manifest.format != DATASET_FORMAT {
            return Err(SimError::bad_file(
                layout.manifest(),
                format!("format '{}' is not {DATASET_FORMAT}", manifest.format),
            ));
        }
        let data = dir.join(&manifest.data_file);
        let bytes = std::fs::read(&data).map_err(|e| SimError::io(&data, e))?;
        if hex_sha256(&bytes) != manifest.data_sha256 {
            return Err(SimError::bad_file(
                &data,
                "content does not match the hash in manifest.json (corrupted or replaced)",
            ));
        }
        let spec = &manifest.plan.device;
        let table = Table::read(&data, spec.n_inputs(), spec.n_params(), spec.n_outputs())?;
        let failed = table.status.iter().filter(|&&s| s != 0).count() as u64;
        if table.len() as u64 != manifest.samples || failed != manifest.failed {
            return Err(SimError::bad_file(
                &data,
                format!(
                    "{} rows / {failed} failed, manifest says {} / {}",
                    table.len(),
                    manifest.samples,
                    manifest.failed
                ),
            ));
        }
        Ok(Self { dir: dir.to_path_buf(), manifest, table })
    }

    /// Hash identifying this dataset (the hash of its data file).
    pub fn hash(&self) -> &str {
        &self.manifest.data_sha256
    }
}
