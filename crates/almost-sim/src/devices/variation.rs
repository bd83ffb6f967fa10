//! What a device config knows about its own constants: which ones device-to-device
//! variability varies, a copy of the config with some constants changed (variability,
//! sweeps), and the rebuild of a recorded device with its hash check. The one place outside
//! each device's own file that knows the device kinds.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{AnalyticConfig, DeviceConfig, DiffSlDescription, OdeDeviceConfig};
use crate::error::{Result, SimError};
use crate::model::DeviceModel;
use crate::solver::{SolverOverrides, SolverSettings};

impl DeviceConfig {
    /// A built-in device of `kind` (`analytic`, `diode-node`, `fhn-neuron`, `duffing-mems`)
    /// at fan-in `fan_in` with its default constants.
    pub fn builtin(kind: &str, fan_in: usize) -> Result<Self> {
        let ode = OdeDeviceConfig { fan_in, constants: BTreeMap::new() };
        Ok(match kind {
            "analytic" => Self::Analytic(AnalyticConfig {
                fan_in,
                activation: Default::default(),
                eps: super::analytic::default_eps(),
            }),
            "diode-node" => Self::DiodeNode(ode),
            "fhn-neuron" => Self::FhnNeuron(ode),
            "duffing-mems" => Self::DuffingMems(ode),
            other => {
                return Err(SimError::config(
                    format!("device '{other}'"),
                    "is not a built-in device: analytic, diode-node, fhn-neuron or duffing-mems",
                ));
            }
        })
    }

    /// The constants that device-to-device variability varies when the user names none:
    /// the physical constants of each built-in ODE device, the `vary` list (or every
    /// declared constant) of a DiffSL device's description; none for the closed form.
    pub fn default_varied(&self) -> Result<Vec<String>> {
        let names: &[&str] = match self {
            Self::DiodeNode(_) => &["c", "g_max", "i_s"],
            Self::FhnNeuron(_) => &["a", "b", "phi", "g_max"],
            Self::DuffingMems(_) => &["c", "k", "beta"],
            Self::Diffsl(r) => return Ok(DiffSlDescription::read(&r.file)?.varied()),
            Self::Conditioned(c) => {
                return Ok(c.device.default_varied()?.into_iter().filter(|n| *n != c.constant).collect());
            }
            Self::Analytic(_) | Self::Rust(_) => &[],
        };
        Ok(names.iter().map(|s| s.to_string()).collect())
    }

    /// A copy with the named constants set to new values (merged over the ones it already
    /// overrides). Names are checked when the copy is built: an unknown one is an error there.
    pub fn with_constants(&self, changes: &BTreeMap<String, f64>) -> Result<Self> {
        let mut out = self.clone();
        match &mut out {
            Self::DiodeNode(c) | Self::FhnNeuron(c) | Self::DuffingMems(c) => c.constants.extend(changes.clone()),
            Self::Diffsl(r) => r.constants.extend(changes.clone()),
            Self::Conditioned(c) => {
                if changes.contains_key(&c.constant) {
                    return Err(SimError::config(
                        format!("device 'conditioned' on '{}'", c.constant),
                        format!(
                            "'{}' is a parameter of this device (from {} to {}), not a constant",
                            c.constant, c.from, c.to
                        ),
                    ));
                }
                *c.device = c.device.with_constants(changes)?;
            }
            Self::Analytic(c) => {
                for (k, v) in changes {
                    match k.as_str() {
                        "eps" => c.eps = *v,
                        other => {
                            return Err(SimError::config(
                                "device 'analytic'",
                                format!("unknown constant '{other}'; known constants: eps"),
                            ));
                        }
                    }
                }
            }
            Self::Rust(r) => {
                return Err(SimError::config(
                    format!("device '{}'", r.name),
                    "is implemented in Rust: its constants cannot be changed from a config",
                ));
            }
        }
        Ok(out)
    }
}

/// Rebuilds a recorded device (a dataset's or a surrogate's) with the solver it was recorded
/// with, and checks that it still hashes to the recorded spec hash.
pub fn rebuild_recorded(
    config: &DeviceConfig,
    solver: Option<&SolverSettings>,
    hash: &str,
) -> Result<Arc<dyn DeviceModel>> {
    let overrides = solver.map(SolverOverrides::from).unwrap_or_default();
    let device = config.build(&overrides)?;
    if device.spec().hash() != hash {
        return Err(SimError::DeviceChanged { kind: device.spec().kind.clone() });
    }
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_change_in_a_copy_and_unknown_ones_are_named() {
        let cfg: DeviceConfig = toml::from_str("kind = \"diode-node\"\nfan_in = 2\n").unwrap();
        let changed = cfg.with_constants(&BTreeMap::from([("i_s".to_string(), 0.0)])).unwrap();
        let d = changed.build(&SolverOverrides::default()).unwrap();
        assert_eq!(d.spec().constants["i_s"], 0.0);
        let bad = cfg.with_constants(&BTreeMap::from([("i_z".to_string(), 0.0)])).unwrap();
        let err = bad.build(&SolverOverrides::default()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("unknown constant 'i_z'"), "{err}");
        assert_eq!(cfg.default_varied().unwrap(), vec!["c", "g_max", "i_s"]);
        let analytic: DeviceConfig = toml::from_str("kind = \"analytic\"\nfan_in = 2\n").unwrap();
        let a = analytic.with_constants(&BTreeMap::from([("eps".to_string(), 0.5)])).unwrap();
        assert_eq!(a.build(&SolverOverrides::default()).unwrap().spec().constants["eps"], 0.5);
        assert!(analytic.with_constants(&BTreeMap::from([("gain".to_string(), 1.0)])).is_err());
    }

    #[test]
    fn a_recorded_device_is_rebuilt_or_refused_by_its_hash() {
        let cfg: DeviceConfig = toml::from_str("kind = \"analytic\"\nfan_in = 2\n").unwrap();
        let hash = cfg.build(&SolverOverrides::default()).unwrap().spec().hash();
        assert!(rebuild_recorded(&cfg, None, &hash).is_ok());
        let err = rebuild_recorded(&cfg, None, "0000").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("no longer matches"), "{err}");
    }
}
