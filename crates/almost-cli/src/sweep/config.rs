//! The sweep config (`almost-train sweep FILE`): one constant of a device, the values it
//! takes, and what is done at each (generate, fit, train, check on physics).
//!
//! ```toml
//! name = "analytic-eps"
//! simulation = "../analytic.toml"            # generation config of the device (relative to this file)
//! constant = "eps"                           # a constant of [device] or [device.constants]
//! values = [0.0, 0.1, 0.5]                   # or: range = { from = 1e-10, to = 1e-8, count = 5, scale = "log" }
//! network = "../networks/digits-analytic.toml"
//! seeds = [1, 2]                             # training seeds per value
//! reference = 0.0                            # the plain-neuron value, marked in sweep.svg
//! samples = 20000                            # optional: override the design's samples
//! epochs = 10                                # optional: override training.epochs
//! fit = "../surrogates/x.toml"               # optional: fit config (default: the trainer's default)
//!
//! [gradient]                                 # optional: design by gradient (`--gradient`)
//! from = 0.0                                 # the constant's range (default: the values' span)
//! to = 0.5
//! samples = 40000                            # the one conditioned dataset (default: twice a value's)
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// Linear or logarithmic spacing of a range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// Evenly spaced values.
    #[default]
    Linear,
    /// Evenly spaced logarithms (positive ends only).
    Log,
}

/// `range = { from, to, count, scale }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueRange {
    /// First value.
    pub from: f64,
    /// Last value.
    pub to: f64,
    /// Number of values, ends included.
    pub count: usize,
    /// Spacing.
    #[serde(default)]
    pub scale: Scale,
}

/// `[gradient]`: design by gradient over the swept constant (every key optional).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradientConfig {
    /// Lower end of the constant's range (default: the smallest swept value).
    #[serde(default)]
    pub from: Option<f64>,
    /// Upper end (default: the largest swept value).
    #[serde(default)]
    pub to: Option<f64>,
    /// Samples of the conditioned dataset (default: twice a value's).
    #[serde(default)]
    pub samples: Option<u64>,
}

/// A whole sweep config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Sweep name (figure title).
    pub name: String,
    /// Generation config of the device.
    pub simulation: PathBuf,
    /// The constant swept: `eps` of the analytic device, a built-in ODE device's constant
    /// (`i_s`, `g_l`, `t_end`, ...), a DiffSL device's declared constant.
    pub constant: String,
    /// The values, in order (or `range`).
    #[serde(default)]
    pub values: Vec<f64>,
    /// The values as a range (or `values`).
    #[serde(default)]
    pub range: Option<ValueRange>,
    /// The network config trained at each value (its surrogates are replaced by the value's).
    pub network: PathBuf,
    /// Training seeds per value.
    #[serde(default = "one_seed")]
    pub seeds: Vec<u64>,
    /// Fit config (default: the trainer's default for the device's shape).
    #[serde(default)]
    pub fit: Option<PathBuf>,
    /// The value at which the device is a plain neuron, marked in the figure.
    #[serde(default)]
    pub reference: Option<f64>,
    /// Override of the design's number of samples.
    #[serde(default)]
    pub samples: Option<u64>,
    /// Override of `training.epochs`.
    #[serde(default)]
    pub epochs: Option<usize>,
    /// Design by gradient over the same constant.
    #[serde(default)]
    pub gradient: Option<GradientConfig>,
}

fn one_seed() -> Vec<u64> {
    vec![1]
}

impl SweepConfig {
    /// Reads a sweep config; its paths are taken from the file's folder.
    pub fn load(path: &Path) -> Result<Self> {
        let mut cfg: Self = almost_sim::fsutil::read_toml(path)?;
        let origin = path.display().to_string();
        cfg.validate(&origin)?;
        let resolve = |p: &Path| almost_sim::fsutil::relative_to_file(path, p);
        cfg.simulation = resolve(&cfg.simulation);
        cfg.network = resolve(&cfg.network);
        cfg.fit = cfg.fit.as_deref().map(resolve);
        Ok(cfg)
    }

    /// Checks what needs no files.
    pub fn validate(&self, origin: &str) -> Result<()> {
        if self.name.trim().is_empty() || self.name.contains(['/', '\\']) {
            bail!("{origin}: name must be a non-empty folder name");
        }
        if self.constant.trim().is_empty() {
            bail!("{origin}: constant names the device constant to sweep (eps, i_s, t_end, ...)");
        }
        match (&self.range, self.values.is_empty()) {
            (Some(_), false) => bail!("{origin}: give values or range, not both"),
            (None, true) => {
                bail!("{origin}: give the values (values = [...]) or a range (range = {{ from, to, count }})")
            }
            (Some(r), true) => {
                if r.count == 0 {
                    bail!("{origin}: range.count must be at least 1");
                }
                if !(r.from.is_finite() && r.to.is_finite()) {
                    bail!("{origin}: range.from and range.to must be numbers");
                }
                if r.scale == Scale::Log && !(r.from > 0.0 && r.to > 0.0) {
                    bail!("{origin}: a log range needs positive ends, got {} and {}", r.from, r.to);
                }
            }
            (None, false) => {
                if self.values.iter().any(|v| !v.is_finite()) {
                    bail!("{origin}: every value must be a number");
                }
            }
        }
        if self.seeds.is_empty() {
            bail!("{origin}: seeds needs at least one training seed");
        }
        if self.samples == Some(0) || self.epochs == Some(0) {
            bail!("{origin}: samples and epochs must be at least 1");
        }
        if let Some(g) = &self.gradient {
            if g.samples == Some(0) {
                bail!("{origin}: gradient.samples must be at least 1");
            }
            let (from, to) = self.gradient_range();
            if !(from.is_finite() && to.is_finite() && from < to) {
                bail!("{origin}: design by gradient needs a range with from < to, got {from} to {to}");
            }
        }
        Ok(())
    }

    /// The swept values, in order. A range's values are rounded to 12 significant digits, so a
    /// log range from 1e-11 to 1e-8 gives exactly the doubles of 1e-10 and 1e-9 (not
    /// 9.999999999999996e-11), which is what a person reads in the table and types elsewhere.
    pub fn values(&self) -> Vec<f64> {
        let Some(r) = &self.range else {
            return self.values.clone();
        };
        if r.count == 1 {
            return vec![r.from];
        }
        (0..r.count)
            .map(|k| {
                let t = k as f64 / (r.count - 1) as f64;
                let v = match r.scale {
                    Scale::Linear => r.from + t * (r.to - r.from),
                    Scale::Log => (r.from.ln() + t * (r.to.ln() - r.from.ln())).exp(),
                };
                round_significant(v)
            })
            .collect()
    }

    /// The range design by gradient searches: `[gradient]`'s ends, else the values' span.
    pub fn gradient_range(&self) -> (f64, f64) {
        let values = self.values();
        let g = self.gradient.clone().unwrap_or_default();
        (
            g.from.unwrap_or_else(|| values.iter().copied().fold(f64::INFINITY, f64::min)),
            g.to.unwrap_or_else(|| values.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        )
    }

    /// Whether the figure's value axis is logarithmic.
    pub fn log_axis(&self) -> bool {
        self.range.as_ref().is_some_and(|r| r.scale == Scale::Log)
    }
}

/// `v` rounded to 12 significant digits (finite values; others unchanged).
fn round_significant(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    format!("{v:.11e}").parse().unwrap_or(v)
}

/// A value as a person writes it: plain for ordinary magnitudes, 1e-9 for tiny or huge ones.
pub fn show(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) { format!("{v:e}") } else { format!("{v}") }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_shipped_sweeps_load_and_name_existing_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulations/sweeps");
        for name in ["analytic-eps.toml", "diode-is.toml"] {
            let cfg = SweepConfig::load(&dir.join(name)).unwrap();
            assert!(cfg.simulation.exists() && cfg.network.exists(), "{name}: {cfg:?}");
            assert!(cfg.values().len() >= 4 && cfg.seeds.len() >= 2, "{name}");
        }
        // the commented reference names every key
        let reference = SweepConfig::load(&dir.join("reference.toml")).unwrap();
        assert!(reference.simulation.exists() && reference.network.exists());
        let text = std::fs::read_to_string(dir.join("reference.toml")).unwrap();
        for key in ["name", "simulation", "constant", "values", "range", "network", "seeds", "reference", "samples"] {
            assert!(text.contains(&format!("{key} =")), "reference.toml lacks {key}");
        }
        for key in ["epochs", "fit", "[gradient]", "from", "to"] {
            assert!(text.contains(key), "reference.toml lacks {key}");
        }
        assert_eq!(reference.gradient_range(), (0.0, 1.0));
    }

    #[test]
    fn range_values_are_the_round_numbers() {
        assert_eq!(round_significant(0.1 + 0.2), 0.3);
        assert_eq!(round_significant((1e-11f64.ln() + (1e-8f64.ln() - 1e-11f64.ln()) / 3.0).exp()), 1e-10);
        assert_eq!(round_significant(0.0), 0.0);
        assert_eq!(
            (show(1e-9), show(0.5), show(0.0), show(2e6)),
            ("1e-9".into(), "0.5".into(), "0".into(), "2e6".into())
        );
        assert_eq!(round_significant(-2.5e-7), -2.5e-7);
        assert!((round_significant(std::f64::consts::PI) - std::f64::consts::PI).abs() < 1e-11);
    }

    #[test]
    fn values_ranges_and_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sweeps").join("s.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "name = \"s\"\nsimulation = \"../sim.toml\"\nconstant = \"i_s\"\nnetwork = \"../networks/n.toml\"\n\
             range = { from = 1e-10, to = 1e-8, count = 3, scale = \"log\" }\n",
        )
        .unwrap();
        let cfg = SweepConfig::load(&path).unwrap();
        assert_eq!(cfg.simulation, tmp.path().join("sim.toml"));
        assert_eq!(cfg.network, tmp.path().join("networks/n.toml"));
        let v = cfg.values();
        assert_eq!(v, vec![1e-10, 1e-9, 1e-8], "rounded onto the typed decades");
        assert_eq!(cfg.seeds, vec![1]);
        std::fs::write(&path, "name = \"s\"\nsimulation = \"a\"\nconstant = \"eps\"\nnetwork = \"n\"\n").unwrap();
        let err = SweepConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("s.toml") && err.contains("values"), "{err}");
    }
}
