//! Reading a sweep's folders back as rows: the plain values (`value-NN/seed-S`) and the
//! design by gradient (`gradient/seed-S`, each row's value the constant it settled on).

use std::path::Path;

use crate::sweep::common::{gradient_dir, row_of, surrogate_rmse_percent, value_dir};
use crate::sweep::config::SweepConfig;
use crate::sweep::row::SweepRow;

/// The finished rows of the plain sweep, in value then seed order.
pub fn plain(cfg: &SweepConfig, out: &Path) -> Vec<SweepRow> {
    let mut rows = Vec::new();
    for (k, &value) in cfg.values().iter().enumerate() {
        let dir = value_dir(out, k);
        let Some(rmse) = surrogate_rmse_percent(&dir) else { continue };
        for &seed in &cfg.seeds {
            rows.extend(row_of(&dir.join(format!("seed-{seed}")), value, seed, rmse, |_| None));
        }
    }
    rows
}

/// The finished rows of the design by gradient (empty when it has not run).
pub fn gradient(cfg: &SweepConfig, out: &Path) -> Vec<SweepRow> {
    let dir = gradient_dir(out);
    let Some(rmse) = surrogate_rmse_percent(&dir) else { return Vec::new() };
    cfg.seeds
        .iter()
        .filter_map(|&seed| {
            row_of(&dir.join(format!("seed-{seed}")), f64::NAN, seed, rmse, |s| s.constants.get(&cfg.constant).copied())
        })
        .collect()
}
