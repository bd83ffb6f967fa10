//! From a dataset's ok rows to seeded train / validation / test splits.

use std::path::Path;

use almost_sim::{Dataset, DeviceSpec, Table};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::TrainingConfig;
use crate::error::{Result, SurrogateError};

/// Rows of one split: row-major inputs `[x, A]` and outputs.
#[derive(Clone, Debug, Default)]
pub struct Split {
    /// Inputs, `len * d_in`.
    pub inputs: Vec<f64>,
    /// Outputs, `len * d_out`.
    pub outputs: Vec<f64>,
}

impl Split {
    /// Number of rows.
    pub fn len(&self, d_in: usize) -> usize {
        self.inputs.len() / d_in.max(1)
    }

    /// Whether the split has no rows.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

/// The three splits of a dataset.
#[derive(Clone, Debug)]
pub struct Splits {
    /// Width of `[x, A]`.
    pub d_in: usize,
    /// Number of outputs.
    pub d_out: usize,
    /// Fits the weights.
    pub train: Split,
    /// Steers early stopping and the learning rate.
    pub val: Split,
    /// Only reported; never used for a decision.
    pub test: Split,
}

/// Splits the ok rows of `table` with a seeded shuffle; refuses non-finite values and
/// columns without spread, naming them.
pub fn split_table(table: &Table, spec: &DeviceSpec, cfg: &TrainingConfig, origin: &Path) -> Result<Splits> {
    let bad = |m: String| SurrogateError::Data { dataset: origin.to_path_buf(), message: m };
    let mut rows = table.ok_rows();
    if rows.len() < 20 {
        return Err(bad(format!("only {} successful rows; at least 20 are needed to fit and test", rows.len())));
    }
    let names: Vec<&str> =
        spec.inputs.iter().chain(&spec.params).chain(&spec.outputs).map(|q| q.name.as_str()).collect();
    for &r in &rows {
        let values = table.x_row(r).iter().chain(table.a_row(r)).chain(table.y_row(r));
        if let Some((j, v)) = values.enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(bad(format!("row {r}: column {} is {v}", names[j])));
        }
    }
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(cfg.seed));
    let n = rows.len();
    let n_test = ((cfg.split[2] * n as f64).round() as usize).max(1);
    let n_val = ((cfg.split[1] * n as f64).round() as usize).max(1);
    let (test_rows, rest) = rows.split_at(n_test);
    let (val_rows, train_rows) = rest.split_at(n_val.min(rest.len() - 1));
    let train_rows = match cfg.max_train_rows {
        0 => train_rows,
        m => &train_rows[..m.min(train_rows.len())],
    };
    let take = |rs: &[usize]| {
        let mut s = Split::default();
        for &r in rs {
            s.inputs.extend_from_slice(table.x_row(r));
            s.inputs.extend_from_slice(table.a_row(r));
            s.outputs.extend_from_slice(table.y_row(r));
        }
        s
    };
    let splits = Splits {
        d_in: table.nx + table.na,
        d_out: table.ny,
        train: take(train_rows),
        val: take(val_rows),
        test: take(test_rows),
    };
    let (in_mean, in_std) = crate::normalize::column_stats(&splits.train.inputs, splits.d_in);
    let (out_mean, out_std) = crate::normalize::column_stats(&splits.train.outputs, splits.d_out);
    let means = in_mean.iter().chain(&out_mean);
    for (j, (s, m)) in in_std.iter().chain(&out_std).zip(means).enumerate() {
        if *s <= 1e-12 * (1.0 + m.abs()) {
            return Err(bad(format!(
                "column {} has zero variance in the training split: nothing to learn from it",
                names[j]
            )));
        }
    }
    Ok(splits)
}

/// Loads a dataset and splits it.
pub fn load_splits(dir: &Path, cfg: &TrainingConfig) -> Result<(Dataset, Splits)> {
    let ds = Dataset::load(dir)?;
    let splits = split_table(&ds.table, &ds.manifest.plan.device, cfg, dir)?;
    Ok((ds, splits))
}
