//! The network config (`almost-train network --config net.toml`).
//!
//! ```toml
//! name = "digits"
//! [data]
//! dir = "../../datasets/mnist-10k"    # IDX folder (datasets/fetch installs it)
//! train = 8000
//! test = 2000
//! seed = 1
//!
//! [[layers]]                     # input: pixels / 255 in [0, 1]
//! surrogate = "../../models/diode-node"
//! wiring = { kind = "patches", kernel = 4, stride = 2, channels = 4 }
//!
//! [[layers]]
//! surrogate = "../../models/diode-node"
//! wiring = { kind = "random", devices = 100, fan_in = 16, seed = 7 }
//!
//! [readout]                      # logits[c] = scale * sum of per_class device outputs
//! classes = 10
//! per_class = 10
//! scale = 4.0                  # omitted: 40 / (per_class x the device's output range)
//! auto = "range"               # or "start": an omitted scale measured at the alive start
//! order = "blocks"             # or "interleaved": class c sums devices c, c + classes, ...
//!
//! [training]
//! mode = "surrogate"             # surrogate | physics-aware | exact
//! epochs = 20
//! batch_size = 64
//! learning_rate = 0.01
//! seed = 1
//! max_surrogate_error = 0.02     # refuse surrogates whose held-out RMSE is above 2% of range
//! physics_check_images = 500     # the run ends on the physics: this many test images (0 = all)
//! physics_check_solves = 2000000 # ... within this many device solves (0 = no budget)
//! probe_images = 64              # per epoch: box exits and surrogate error where the net operates
//! probe_solves = 256             # ... measured with this many device solves per layer
//!
//! [hardware]                     # optional: imperfect devices (physics modes, evaluation)
//! variability = 0.05             # relative sigma of c, g_max, i_s per device instance
//! read_noise = 0.0
//! bits = 0
//! ```
//! Relative paths are taken from the folder of the config file (the shipped configs in
//! simulations/networks/ name `../../models/...`). Unknown keys are errors. Every key, with
//! its default, is in `simulations/networks/reference.toml`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::images::DataConfig;
use crate::error::{NetError, Result};
use crate::network::hardware_config::HardwareConfig;
use crate::network::wiring::WiringConfig;

/// One `[[layers]]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerConfig {
    /// Folder of the frozen surrogate of this layer's device.
    pub surrogate: PathBuf,
    /// How the devices are fed.
    pub wiring: WiringConfig,
    /// Which device output feeds on (default 0).
    #[serde(default)]
    pub output: usize,
    /// Initial A drawn uniformly from this fraction of the bounds around their middle.
    #[serde(default = "half")]
    pub init_fraction: f64,
    /// Give every device one more input tied to a constant reference voltage (the top of its
    /// input box): a bias line. The device's fan-in is then the wiring's fan-in plus one.
    #[serde(default)]
    pub reference: bool,
}

fn half() -> f64 {
    0.5
}

/// The `[readout]` table: a fixed summing readout, K device outputs per class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadoutConfig {
    /// Number of classes.
    pub classes: usize,
    /// Device outputs summed per class (like currents joined on a wire).
    pub per_class: usize,
    /// Fixed gain from the summed outputs to logits; omitted: chosen by `auto` (measured at the
    /// start by default, else [`auto_scale`] of the last layer's output range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// How the gain is chosen when `scale` is omitted ([`AutoGain`]).
    #[serde(default, skip_serializing_if = "AutoGain::is_start")]
    pub auto: AutoGain,
    /// Which last-layer devices a class sums: consecutive blocks (default) or every
    /// `classes`-th device ([`ReadoutOrder`]).
    #[serde(default, skip_serializing_if = "ReadoutOrder::is_blocks")]
    pub order: ReadoutOrder,
}

/// How the readout gain is chosen when no `scale` is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoGain {
    /// From the device's output range ([`auto_scale`]): logits move by about 10 when a class's
    /// devices move by a quarter of their range.
    Range,
    /// The default. Measured at the start (with `alive_start`) on the start images through the
    /// surrogates: the gain that spreads an image's class scores by [`START_LOGIT_SPREAD`]
    /// (standard deviation across classes, mean over images), as LSUV sets unit variance; the
    /// range rule when the start is not searched (`alive_start = false`; a run fine-tuned from
    /// `init` keeps the gain that run recorded, if any).
    #[default]
    Start,
}

impl AutoGain {
    /// Whether this is the default (not written to saved configs).
    pub fn is_start(&self) -> bool {
        *self == Self::Start
    }
}

/// The spread of an image's class scores at the start that [`AutoGain::Start`] sets.
pub const START_LOGIT_SPREAD: f64 = 2.0;

/// How the last layer's devices are grouped into classes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadoutOrder {
    /// Class `c` sums devices `c*K .. (c+1)*K` (a `random` or `dense` last layer).
    #[default]
    Blocks,
    /// Class `c` sums devices `c, c + classes, c + 2*classes, ...`: with a `patches` last layer
    /// of `channels` a multiple of the classes, every position has its own devices for each
    /// class (channel `ch` belongs to class `ch % classes`), summed over the whole image.
    Interleaved,
}

impl ReadoutOrder {
    /// Whether this is the default grouping (not written to saved configs).
    pub fn is_blocks(&self) -> bool {
        *self == Self::Blocks
    }
}

/// The readout gain used when none is given: logits move by about 10 when the `per_class`
/// devices of a class move by a quarter of their output `range` (4.0 for 10 devices of
/// range 1), whatever the device's units.
pub fn auto_scale(per_class: usize, range: f64) -> f64 {
    if range > 0.0 && range.is_finite() { 40.0 / (per_class.max(1) as f64 * range) } else { 4.0 }
}

/// Training mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Forward and backward through the surrogates (in-silico training).
    #[default]
    Surrogate,
    /// Forward through the devices' physics, backward through the surrogates' Jacobians at
    /// the physical activations (Wright et al. 2022).
    PhysicsAware,
    /// Forward through the physics, backward with the devices' exact derivatives (ODE
    /// forward sensitivities); no surrogate.
    Exact,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Surrogate => "surrogate",
            Self::PhysicsAware => "physics-aware",
            Self::Exact => "exact",
        })
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "surrogate" => Ok(Self::Surrogate),
            "physics-aware" => Ok(Self::PhysicsAware),
            "exact" => Ok(Self::Exact),
            other => Err(format!("unknown mode '{other}': surrogate, physics-aware or exact")),
        }
    }
}

/// The `[training]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetTrainingConfig {
    /// Training mode.
    pub mode: Mode,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per Adam step.
    pub batch_size: usize,
    /// Peak Adam learning rate (cosine-decayed to 1 % over the run), as a share of each
    /// parameter's half-range (for A in [-1, 1], in A's units).
    pub learning_rate: f64,
    /// Seed of the initial A and the batch order.
    pub seed: u64,
    /// Random shifts of up to this many pixels as augmentation (0 = off).
    pub max_shift: usize,
    /// Test images evaluated per epoch on the surrogates (0 = all).
    pub eval_images: usize,
    /// Threads that share each batch (data parallel; the result does not depend on it
    /// beyond floating-point summation order).
    pub threads: usize,
    /// Start from the trained A of this run folder (fine-tuning), unless resuming.
    pub init: Option<PathBuf>,
    /// Training images used per epoch, a fresh seeded subset each epoch (0 = all): the
    /// physics modes cost one device solve per device and image.
    pub train_images: usize,
    /// Test images evaluated on the hardware after every epoch (0 = none).
    pub physics_eval_images: usize,
    /// Largest held-out RMSE of a layer's surrogate, as a share of its output range, that
    /// training accepts (surrogate and physics-aware modes); above it training is refused.
    pub max_surrogate_error: f64,
    /// Test images of the check on the physics that ends every run (0 = all of them).
    pub physics_check_images: usize,
    /// Budget of that check in device solves (images x devices; 0 = no budget): slow devices
    /// get fewer images.
    pub physics_check_solves: usize,
    /// Training images pushed through the network after every epoch to see where it drives
    /// its devices (box exits, surrogate error at the operating points; 0 = off).
    pub probe_images: usize,
    /// Device evaluations per layer of that probe solved on the device itself.
    pub probe_solves: usize,
    /// Before the first step, measure each layer on real training images and, where most
    /// of its devices would not respond, move its input map and initial A to where they do
    /// (data-driven initialisation; see `training::start`).
    pub alive_start: bool,
    /// Where the surrogates' forward and backward passes run: `fused`, the host kernel (the
    /// CPU backend and MLP surrogates; anything else falls back, with a line saying so), or
    /// `reference`, burn's autodiff graph (any backend). The two agree to f32 rounding.
    #[serde(skip_serializing_if = "Kernel::is_fused")]
    pub kernel: Kernel,
    /// How the physics-aware mode solves its forward passes (evaluation and checks keep the
    /// dataset's solver).
    #[serde(skip_serializing_if = "PhysicsSolver::is_default")]
    pub physics_solver: PhysicsSolver,
}

pub use crate::network::physics_solver::{PhysicsMethod, PhysicsSolver};

pub use almost_surrogate::kernel::Kernel;

impl Default for NetTrainingConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Surrogate,
            epochs: 20,
            batch_size: 64,
            learning_rate: 0.01,
            seed: 1,
            max_shift: 0,
            eval_images: 0,
            threads: 2,
            init: None,
            train_images: 0,
            physics_eval_images: 0,
            max_surrogate_error: 0.02,
            physics_check_images: 500,
            physics_check_solves: 2_000_000,
            probe_images: 64,
            probe_solves: 256,
            alive_start: true,
            kernel: Kernel::Fused,
            physics_solver: PhysicsSolver::default(),
        }
    }
}

/// A whole network config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetConfig {
    /// Run name.
    pub name: String,
    /// The images.
    pub data: DataConfig,
    /// The device layers, input first.
    pub layers: Vec<LayerConfig>,
    /// The readout.
    pub readout: ReadoutConfig,
    /// Training settings.
    #[serde(default)]
    pub training: NetTrainingConfig,
    /// The physical devices of the physics modes and of evaluation (default: nominal).
    #[serde(default)]
    pub hardware: HardwareConfig,
}

impl NetConfig {
    /// Reads a TOML network config.
    /// Relative paths in it (`data.dir`, each `surrogate`, `training.init`) are taken from
    /// the config file's folder, like every path written in a file.
    pub fn load(path: &Path) -> Result<Self> {
        let mut cfg: Self = almost_sim::fsutil::read_toml(path)?;
        cfg.validate(&path.display().to_string())?;
        let resolve = |p: &Path| almost_sim::fsutil::relative_to_file(path, p);
        cfg.data.dir = resolve(&cfg.data.dir);
        for layer in &mut cfg.layers {
            layer.surrogate = resolve(&layer.surrogate);
        }
        cfg.training.init = cfg.training.init.as_deref().map(resolve);
        Ok(cfg)
    }

    /// Checks values that need no files.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let bad = |m: &str| Err(NetError::config(origin, m));
        if self.layers.is_empty() {
            return bad("a network needs at least one [[layers]] table");
        }
        let t = &self.training;
        if t.epochs == 0 || t.batch_size == 0 {
            return bad("training.epochs and training.batch_size must be at least 1");
        }
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            return bad("training.learning_rate must be positive");
        }
        if !(t.max_surrogate_error.is_finite() && t.max_surrogate_error > 0.0) {
            return bad("training.max_surrogate_error must be a positive share of the output range (0.02 = 2%)");
        }
        if self.readout.classes < 2 || self.readout.per_class == 0 {
            return bad("readout needs at least 2 classes and 1 device per class");
        }
        if self.readout.scale.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
            return bad("readout.scale must be positive");
        }
        if self.layers.iter().any(|l| !(l.init_fraction > 0.0 && l.init_fraction <= 1.0)) {
            return bad("layers.init_fraction must lie in (0, 1]");
        }
        t.physics_solver.validate(origin)?;
        self.hardware.validate(origin)
    }

    /// Hex SHA-256 of the config (identifies a run for resuming).
    pub fn hash(&self) -> String {
        almost_sim::spec::hex_sha256(&serde_json::to_vec(self).unwrap_or_default())
    }
}

#[cfg(test)]
mod reference_tests {
    use super::*;

    #[test]
    fn paths_in_a_network_config_resolve_against_its_folder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let text = include_str!("../../../../simulations/networks/reference.toml")
            .replace("# init = \"../../runs/digits-diode\"", "init = \"../../runs/digits-diode\"");
        let path = tmp.path().join("simulations").join("networks").join("net.toml");
        std::fs::create_dir_all(path.parent().expect("folder")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        let cfg = NetConfig::load(&path).expect("loads");
        assert_eq!(cfg.data.dir, tmp.path().join("datasets/mnist-10k"));
        assert_eq!(cfg.layers[0].surrogate, tmp.path().join("models/diode-node"));
        assert_eq!(cfg.training.init, Some(tmp.path().join("runs/digits-diode")));
    }

    #[test]
    fn the_reference_config_parses_and_shows_the_defaults() {
        let text = include_str!("../../../../simulations/networks/reference.toml");
        let cfg: NetConfig = toml::from_str(text).expect("reference.toml parses");
        cfg.validate("reference.toml").expect("reference.toml is valid");
        assert_eq!(cfg.training, NetTrainingConfig::default());
        assert_eq!(cfg.hardware, HardwareConfig::default());
        assert_eq!(cfg.readout.scale, Some(2.0));
        assert_eq!(cfg.readout.auto, AutoGain::default());
        let l = &cfg.layers[0];
        assert_eq!((l.output, l.init_fraction, l.reference), (0, 0.5, false));
    }

    #[test]
    fn an_omitted_gain_rule_is_measured_at_the_start_and_range_stays_available() {
        let readout = |extra: &str| -> ReadoutConfig {
            toml::from_str(&format!("classes = 10\nper_class = 20\n{extra}")).expect("readout parses")
        };
        assert_eq!(readout("").auto, AutoGain::Start);
        assert_eq!(readout("auto = \"range\"").auto, AutoGain::Range);
        // the default is not written to a saved config; the range rule is
        let saved = serde_json::to_string(&readout("auto = \"range\"")).expect("serialises");
        assert!(saved.contains("\"auto\":\"range\""), "{saved}");
        assert!(!serde_json::to_string(&readout("")).expect("serialises").contains("auto"));
    }
}
