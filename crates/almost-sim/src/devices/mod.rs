//! The built-in devices and the `[device]` config table that selects one.
//!
//! | kind | physics | state |
//! |---|---|---|
//! | `analytic` | closed-form almost neuron (the reference) | none |
//! | `diode-node` | capacitor node with an anti-parallel diode clamp | V |
//! | `fhn-neuron` | FitzHugh-Nagumo neuron with conductance synapses | v, w, quadrature |
//! | `duffing-mems` | multi-tone driven Duffing resonator | z, z', quadrature |
//! | `diffsl` | equations from a DiffSL text file (JIT) | any |
//! | `conditioned` | any built-in device with one constant turned into a last parameter | its own |

pub mod analytic;
pub mod conditioned;
pub mod constants;
pub mod diffsl;
pub mod diffsl_constants;
mod diffsl_floor;
pub mod diode_node;
pub mod duffing_mems;
pub mod fhn_neuron;
pub mod variation;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};
use crate::model::DeviceModel;
use crate::ode::{OdeDevice, OdeSystem};
use crate::solver::SolverOverrides;

pub use analytic::{Activation, AnalyticConfig, AnalyticNeuron};
pub use conditioned::{ConditionedConfig, ConditionedDevice};
pub use constants::OdeDeviceConfig;
pub use diffsl::{DiffSlDescription, DiffSlDevice};
pub use diode_node::DiodeNode;
pub use duffing_mems::DuffingMems;
pub use fhn_neuron::FhnNeuron;
pub use variation::rebuild_recorded;

/// The `[device]` table: which device, and its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DeviceConfig {
    /// The closed-form almost neuron.
    Analytic(AnalyticConfig),
    /// The diode-clamped capacitor node.
    DiodeNode(OdeDeviceConfig),
    /// The FitzHugh-Nagumo neuron.
    FhnNeuron(OdeDeviceConfig),
    /// The multi-tone Duffing resonator.
    DuffingMems(OdeDeviceConfig),
    /// A DiffSL-defined device.
    Diffsl(DiffSlRef),
    /// A built-in device with one constant turned into its last parameter (design by gradient).
    Conditioned(ConditionedConfig),
    /// A device implemented in Rust by the user (see `Job::for_device`); it cannot be
    /// rebuilt from a config, only recorded.
    Rust(RustDeviceRef),
}

/// Record of a user-implemented device (`kind = "rust"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RustDeviceRef {
    /// The device's `spec().kind`.
    pub name: String,
}

/// `[device]` table for `kind = "diffsl"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffSlRef {
    /// The device description TOML (relative paths are resolved against the config's folder).
    pub file: PathBuf,
    /// Overrides of the constants declared in the description (`[device.constants]`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub constants: std::collections::BTreeMap<String, f64>,
}

impl DeviceConfig {
    /// The device kind as written in configs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Analytic(_) => "analytic",
            Self::DiodeNode(_) => "diode-node",
            Self::FhnNeuron(_) => "fhn-neuron",
            Self::DuffingMems(_) => "duffing-mems",
            Self::Diffsl(_) => "diffsl",
            Self::Conditioned(_) => "conditioned",
            Self::Rust(_) => "rust",
        }
    }

    /// Makes relative file paths absolute against `base` (the folder of the config file). The
    /// result is absolute even when `base` is relative (a config named from the current folder):
    /// the path is recorded in the dataset and the surrogate, whose device is rebuilt from
    /// another folder for the physics check.
    pub fn resolve_paths(&mut self, base: &Path) {
        match self {
            Self::Diffsl(r) if r.file.is_relative() => {
                let joined = base.join(&r.file);
                r.file = std::path::absolute(&joined).unwrap_or(joined);
            }
            Self::Conditioned(c) => c.device.resolve_paths(base),
            _ => {}
        }
    }

    /// The constant a conditioned device turned into its last parameter, with its range.
    pub fn conditioned_on(&self) -> Option<(&str, f64, f64)> {
        match self {
            Self::Conditioned(c) => Some((c.constant.as_str(), c.from, c.to)),
            _ => None,
        }
    }

    /// Builds the device; `solver` overrides the device's default solver settings.
    pub fn build(&self, solver: &SolverOverrides) -> Result<Arc<dyn DeviceModel>> {
        fn ode<S: OdeSystem + 'static>(system: S, solver: &SolverOverrides) -> Result<Arc<dyn DeviceModel>> {
            let settings = solver.apply(&system.default_solver());
            settings.validate(&format!("device '{}'", system.spec().kind))?;
            Ok(Arc::new(OdeDevice::new(system).with_solver(settings)))
        }
        match self {
            Self::Analytic(c) => Ok(Arc::new(AnalyticNeuron::new(c)?)),
            Self::DiodeNode(c) => ode(DiodeNode::new(c)?, solver),
            Self::FhnNeuron(c) => ode(FhnNeuron::new(c)?, solver),
            Self::DuffingMems(c) => ode(DuffingMems::new(c)?, solver),
            Self::Diffsl(r) => {
                let device = DiffSlDevice::load_with(&r.file, &r.constants)?;
                let settings = solver.apply(device.settings());
                settings.validate(&r.file.display().to_string())?;
                Ok(Arc::new(device.with_solver(settings)))
            }
            Self::Conditioned(c) => Ok(Arc::new(ConditionedDevice::new(c, solver)?)),
            Self::Rust(r) => Err(SimError::config(
                format!("device '{}'", r.name),
                "is implemented in Rust and cannot be built from a config; construct it in code and use Job::for_device",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_device_files_become_absolute() {
        let mut cfg: DeviceConfig = toml::from_str("kind = \"diffsl\"\nfile = \"devices/x.toml\"\n").unwrap();
        cfg.resolve_paths(Path::new("simulations"));
        let DeviceConfig::Diffsl(r) = &cfg else { panic!("not diffsl: {cfg:?}") };
        assert!(r.file.is_absolute() && r.file.ends_with("simulations/devices/x.toml"), "{:?}", r.file);
    }

    #[test]
    fn toml_selects_device_and_rejects_unknown_keys_and_kinds() {
        let cfg: DeviceConfig = toml::from_str("kind = \"diode-node\"\nfan_in = 3\n[constants]\ni_s = 0.0\n").unwrap();
        let d = cfg.build(&SolverOverrides::default()).unwrap();
        assert_eq!(d.spec().n_inputs(), 3);
        assert_eq!(d.spec().constants["i_s"], 0.0);
        let err = toml::from_str::<DeviceConfig>("kind = \"diode-node\"\nfan_in = 3\nfanin = 2\n").unwrap_err();
        assert!(err.to_string().contains("fanin"), "{err}");
        let err = toml::from_str::<DeviceConfig>("kind = \"transistor\"\nfan_in = 3\n").unwrap_err();
        assert!(err.to_string().contains("transistor"), "{err}");
        let cfg: DeviceConfig = toml::from_str("kind = \"fhn-neuron\"\nfan_in = 2\n[constants]\ntau = 1.0\n").unwrap();
        let err = cfg.build(&SolverOverrides::default()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("unknown constant 'tau'"), "{err}");
    }
}
