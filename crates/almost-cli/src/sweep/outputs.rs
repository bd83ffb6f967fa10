//! The sweep's files, rebuilt from its folders after every stage: `sweep.csv` (plain
//! values), `gradient/gradient.csv` (design by gradient, when run) and `sweep.svg` (both).

use std::path::Path;

use anyhow::Result;

use crate::sweep::common::gradient_dir;
use crate::sweep::config::SweepConfig;
use crate::sweep::row::{SweepRow, csv};

/// Rewrites the sweep's files and returns the plain rows and the design-by-gradient rows.
pub fn write_outputs(cfg: &SweepConfig, out: &Path) -> Result<(Vec<SweepRow>, Vec<SweepRow>)> {
    let rows = crate::sweep::collect::plain(cfg, out);
    let found = crate::sweep::collect::gradient(cfg, out);
    almost_sim::fsutil::write_atomic(&out.join("sweep.csv"), csv(&cfg.constant, &rows).as_bytes())?;
    if gradient_dir(out).exists() {
        almost_sim::fsutil::write_atomic(
            &gradient_dir(out).join("gradient.csv"),
            csv(&cfg.constant, &found).as_bytes(),
        )?;
    }
    if !rows.is_empty() || !found.is_empty() {
        crate::sweep::plot::draw(&out.join("sweep.svg"), cfg, &rows, &found)?;
    }
    Ok((rows, found))
}
