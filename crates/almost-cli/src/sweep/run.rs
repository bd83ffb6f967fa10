//! Running a sweep: at each value of the constant, generate (same design seed), fit the
//! surrogate with the defaults, train the network with the defaults for each seed, and
//! check it on the physics. Each value is a folder of its own (`value-00`, ...) and every
//! stage resumes (shards, a reusable surrogate, training checkpoints, finished runs), so a
//! killed sweep picks up where it stopped; `only` runs one value (a Slurm array task).
//! `sweep.csv` and `sweep.svg` are rebuilt from the folders after every value, from
//! recorded results only: a resumed sweep writes the same file.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use almost_sim::GenerateConfig;

use crate::sweep::config::SweepConfig;
use crate::sweep::outputs::write_outputs;
use crate::sweep::row::SweepRow;

pub use crate::sweep::common::{SweepOptions, value_dir};
use crate::sweep::common::{generate_and_fit, train_seeds};

/// Runs (or resumes) the sweep into `out` and returns every finished row.
pub fn run(cfg: &SweepConfig, out: &Path, options: &SweepOptions) -> Result<Vec<SweepRow>> {
    let values = cfg.values();
    if let Some(k) = options.only
        && k >= values.len()
    {
        anyhow::bail!("--value {k}: the sweep has {} values (0 to {})", values.len(), values.len() - 1);
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    check_same_values(cfg, out)?;
    almost_sim::fsutil::write_json_atomic(&out.join("sweep.json"), cfg)?;
    for (k, &v) in values.iter().enumerate() {
        if options.only.is_some_and(|o| o != k) {
            continue;
        }
        eprintln!("[value {}/{}] {} = {}", k + 1, values.len(), cfg.constant, crate::sweep::config::show(v));
        run_value(cfg, v, &value_dir(out, k), options).with_context(|| format!("{} = {v}", cfg.constant))?;
        write_outputs(cfg, out)?;
    }
    Ok(write_outputs(cfg, out)?.0)
}

/// Value folders are numbered: a folder that holds a sweep over other values (or another
/// constant) would mix their results, so it is refused.
fn check_same_values(cfg: &SweepConfig, out: &Path) -> Result<()> {
    let path = out.join("sweep.json");
    let Ok(before) = almost_sim::fsutil::read_json::<SweepConfig>(&path) else { return Ok(()) };
    if before.constant != cfg.constant || before.values() != cfg.values() {
        anyhow::bail!(
            "{} holds a sweep of {} over {:?}, this one sweeps {} over {:?}: its value folders would mix; choose \
             another --out or remove the folder",
            out.display(),
            before.constant,
            before.values(),
            cfg.constant,
            cfg.values()
        );
    }
    Ok(())
}

fn run_value(cfg: &SweepConfig, value: f64, dir: &Path, options: &SweepOptions) -> Result<()> {
    let mut sim = GenerateConfig::load(&cfg.simulation)?;
    sim.device = sim.device.with_constants(&BTreeMap::from([(cfg.constant.clone(), value)]))?;
    if let Some(n) = cfg.samples {
        sim.design.samples = n;
    }
    let model = generate_and_fit(cfg, &sim, dir, options)?;
    let label = dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    train_seeds(cfg, &model, dir, &label, options)
}
