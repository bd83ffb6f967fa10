//! Design by gradient (`almost-train sweep CONFIG --gradient`): instead of one dataset, one
//! fit and one training per value, the constant theta becomes the last parameter of a
//! conditioned device (almost-sim's `kind = "conditioned"`) over the sweep's range; one
//! dataset over (x, A, theta), one surrogate f(x, A; theta), and one training per seed in
//! which theta is shared by every device of the network and trained with the A's
//! (almost-net's tied constants). Each run is checked on the physics at the theta it
//! settled on (the conditioned device answers exactly as the plain device there).
//!
//! Folder `<out>/gradient/`: `dataset/`, `surrogate/`, `seed-S/` (each resumes like a sweep
//! value), `gradient.csv` (the sweep's columns, the value being the theta found),
//! `at-theta.toml` (the generation config at the mean theta found) and `at-theta/` (that
//! device simulated on its own with the sweep's design: a plain surrogate can be fitted to it).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use almost_sim::GenerateConfig;
use almost_sim::devices::{ConditionedConfig, DeviceConfig};

use crate::sweep::common::{SweepOptions, generate_and_fit, gradient_dir, train_seeds, training_seconds, value_dir};
use crate::sweep::config::SweepConfig;
use crate::sweep::outputs::write_outputs;
use crate::sweep::row::SweepRow;

/// Runs (or resumes) the design by gradient of `cfg` into `out/gradient` and returns its rows.
pub fn run(cfg: &SweepConfig, out: &Path, options: &SweepOptions) -> Result<Vec<SweepRow>> {
    let dir = gradient_dir(out);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (from, to) = cfg.gradient_range();
    let mut sim = GenerateConfig::load(&cfg.simulation)?;
    let plain_samples = cfg.samples.unwrap_or(sim.design.samples);
    sim.design.samples = cfg.gradient.as_ref().and_then(|g| g.samples).unwrap_or(2 * plain_samples);
    sim.device = DeviceConfig::Conditioned(ConditionedConfig {
        constant: cfg.constant.clone(),
        from,
        to,
        device: Box::new(sim.device.clone()),
    });
    sim.name = format!("{}-{}", sim.name, cfg.constant);
    eprintln!(
        "[design by gradient] {} in [{from}, {to}]: one dataset of {} samples, one fit, {} training seeds",
        cfg.constant,
        sim.design.samples,
        cfg.seeds.len()
    );
    let model = generate_and_fit(cfg, &sim, &dir, options)?;
    train_seeds(cfg, &model, &dir, "gradient", options)?;
    let rows = write_outputs(cfg, out)?.1;
    let found: Vec<f64> = rows.iter().filter(|r| r.status == "trained").map(|r| r.value).collect();
    if !found.is_empty() {
        let theta = found.iter().sum::<f64>() / found.len() as f64;
        let mut at = GenerateConfig::load(&cfg.simulation)?;
        at.device = at.device.with_constants(&BTreeMap::from([(cfg.constant.clone(), theta)]))?;
        at.name = format!("{}-{}-{theta:.6}", at.name, cfg.constant);
        at.output.dir = None;
        if let Some(n) = cfg.samples {
            at.design.samples = n;
        }
        // the chosen device simulated on its own (resumes; a plain surrogate can be fitted to it)
        let job = at.resolve(&cfg.simulation.display().to_string())?;
        almost_sim::generate(
            &job,
            &dir.join("at-theta"),
            &almost_sim::GenerateOptions { progress: options.progress, ..Default::default() },
        )?;
        let text = format!(
            "# The device at the {} design by gradient settled on (mean over {} seeds), from {}.\n{}",
            cfg.constant,
            found.len(),
            cfg.simulation.display(),
            toml::to_string(&at).context("writing at-theta.toml")?
        );
        almost_sim::fsutil::write_atomic(&dir.join("at-theta.toml"), text.as_bytes())?;
    }
    Ok(rows)
}

/// The comparison a researcher asks for: the theta found and its accuracy on the physics
/// next to the best value of the plain sweep, with the training time of both.
pub fn comparison(cfg: &SweepConfig, out: &Path, plain: &[SweepRow], found: &[SweepRow]) -> String {
    let mean = |x: &[f64]| if x.is_empty() { f64::NAN } else { x.iter().sum::<f64>() / x.len() as f64 };
    let mut s = String::new();
    let mut best: Option<(f64, f64)> = None;
    // the plain values inside the range the design by gradient searched
    let (from, to) = cfg.gradient_range();
    let values: Vec<(usize, f64)> =
        cfg.values().into_iter().enumerate().filter(|(_, v)| (from..=to).contains(v)).collect();
    let mut plain_seconds = 0.0;
    for &(k, v) in &values {
        let acc: Vec<f64> =
            plain.iter().filter(|r| r.value == v).map(|r| r.accuracy_physics).filter(|a| a.is_finite()).collect();
        if !acc.is_empty() && best.is_none_or(|(_, b)| mean(&acc) > b) {
            best = Some((v, mean(&acc)));
        }
        plain_seconds += cfg
            .seeds
            .iter()
            .filter_map(|s| training_seconds(&value_dir(out, k).join(format!("seed-{s}"))))
            .sum::<f64>();
    }
    let found_seconds: f64 =
        cfg.seeds.iter().filter_map(|s| training_seconds(&gradient_dir(out).join(format!("seed-{s}")))).sum();
    if let Some((v, a)) = best {
        s.push_str(&format!(
            "plain sweep: best {} = {v}: {:.2}% on the physics (mean over seeds); training {:.0} s over the {} values in \
             [{from}, {to}]\n",
            cfg.constant,
            100.0 * a,
            plain_seconds,
            values.len()
        ));
    }
    for r in found {
        if !r.accuracy_physics.is_finite() {
            s.push_str(&format!(
                "design by gradient, seed {}: {} (conditioned surrogate error {:.3}% of range)\n",
                r.seed, r.status, r.surrogate_rmse_percent
            ));
            continue;
        }
        s.push_str(&format!(
            "design by gradient, seed {}: {} = {:.6}: {:.2}% on the physics ({} images, +-{:.2}), {:.2}% on the \
             surrogates; surrogate error {:.3}% of range\n",
            r.seed,
            cfg.constant,
            r.value,
            100.0 * r.accuracy_physics,
            r.physics_images,
            100.0 * r.physics_stderr,
            100.0 * r.accuracy_surrogates,
            r.surrogate_rmse_percent
        ));
    }
    if found.iter().any(|r| r.accuracy_physics.is_finite()) {
        s.push_str(&format!("design by gradient: training {found_seconds:.0} s\n"));
    }
    s
}
