//! `conditioned`: a device whose chosen constant theta becomes one more parameter, the last
//! one, bounded by the range a researcher could still build it with.
//!
//! One dataset over (x, A, theta) and one surrogate f(x, A; theta) then answer for every
//! theta in the range at once: a sweep needs no dataset per value, and a network can train
//! theta (shared by its devices) together with the A's: design by gradient.
//!
//! ```toml
//! [device]
//! kind = "conditioned"
//! constant = "eps"          # a constant of the inner device
//! from = 0.0                # the range theta may take (the bounds of the new parameter)
//! to = 0.5
//! [device.device]           # the device itself, as it would be written alone
//! kind = "analytic"
//! fan_in = 16
//! ```
//!
//! Each response builds the inner device with the constant set to theta (cheap for the
//! built-in devices) and answers with it, so the physics at a given theta is exactly the
//! plain device's. DiffSL devices are refused: every value of a constant would compile the
//! model anew.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::DeviceConfig;
use crate::error::{Result, SimError};
use crate::model::DeviceModel;
use crate::solver::{SolverOverrides, SolverSettings};
use crate::spec::{DeviceSpec, Quantity};

/// `[device]` table for `kind = "conditioned"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionedConfig {
    /// The inner device's constant that becomes the last parameter.
    pub constant: String,
    /// Lower end of the constant's range.
    pub from: f64,
    /// Upper end of the constant's range.
    pub to: f64,
    /// The inner device.
    pub device: Box<DeviceConfig>,
}

impl ConditionedConfig {
    /// Where this config's errors point.
    fn origin(&self) -> String {
        format!("device 'conditioned' on '{}'", self.constant)
    }

    /// Checks the range and the inner device (no nesting, no DiffSL, no Rust device).
    pub fn validate(&self) -> Result<()> {
        if !(self.from.is_finite() && self.to.is_finite() && self.from < self.to) {
            return Err(SimError::config(
                self.origin(),
                format!("from = {} and to = {} must be finite with from < to", self.from, self.to),
            ));
        }
        match self.device.as_ref() {
            DeviceConfig::Conditioned(_) => {
                Err(SimError::config(self.origin(), "a conditioned device cannot be conditioned again"))
            }
            DeviceConfig::Diffsl(r) => Err(SimError::config(
                self.origin(),
                format!(
                    "{} is a DiffSL device: each value of a constant compiles the model anew; declare '{}' as an \
                     input of the model instead (in_i), then it is one more parameter",
                    r.file.display(),
                    self.constant
                ),
            )),
            DeviceConfig::Rust(r) => {
                Err(SimError::config(self.origin(), format!("'{}' is a Rust device: it has no config to vary", r.name)))
            }
            _ => Ok(()),
        }
    }

    /// The inner device's config with the constant set to `theta`.
    pub fn at(&self, theta: f64) -> Result<DeviceConfig> {
        self.device.with_constants(&BTreeMap::from([(self.constant.clone(), theta)]))
    }
}

/// The built conditioned device.
pub struct ConditionedDevice {
    config: ConditionedConfig,
    overrides: SolverOverrides,
    spec: DeviceSpec,
    solver: Option<SolverSettings>,
}

impl ConditionedDevice {
    /// Builds it; the inner device is built once at the middle of the range to check the
    /// constant's name and to learn its spec and solver.
    pub fn new(config: &ConditionedConfig, overrides: &SolverOverrides) -> Result<Self> {
        config.validate()?;
        let mid = config.at(0.5 * (config.from + config.to))?.build(overrides)?;
        let mut spec = mid.spec().clone();
        if spec.constants.remove(&config.constant).is_none() {
            return Err(SimError::config(
                config.origin(),
                format!(
                    "the device '{}' has no constant '{}'; its constants: {}",
                    spec.kind,
                    config.constant,
                    spec.constants.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        spec.kind = format!("{}|{}", spec.kind, config.constant);
        spec.summary =
            format!("{} (conditioned on {} in [{}, {}])", spec.summary, config.constant, config.from, config.to);
        spec.params.push(Quantity::new(config.constant.clone(), "1", config.from, config.to));
        Ok(Self { config: config.clone(), overrides: overrides.clone(), spec, solver: mid.solver().cloned() })
    }
}

impl DeviceModel for ConditionedDevice {
    fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    fn respond(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>> {
        self.spec.check_dims(x, a)?;
        let (inner, theta) = a.split_at(a.len() - 1);
        self.config.at(theta[0])?.build(&self.overrides)?.respond(x, inner)
    }

    fn solver(&self) -> Option<&SolverSettings> {
        self.solver.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analytic(eps_range: (f64, f64)) -> ConditionedConfig {
        ConditionedConfig {
            constant: "eps".into(),
            from: eps_range.0,
            to: eps_range.1,
            device: Box::new(DeviceConfig::builtin("analytic", 3).unwrap()),
        }
    }

    #[test]
    fn answers_exactly_as_the_plain_device_at_that_constant() {
        let d = ConditionedDevice::new(&analytic((0.0, 0.5)), &SolverOverrides::default()).unwrap();
        assert_eq!(d.spec().n_params(), 4);
        assert_eq!(d.spec().params[3].name, "eps");
        assert!(!d.spec().constants.contains_key("eps"));
        let (x, a) = ([0.3, -0.7, 0.9], [0.5, 0.2, -0.4]);
        for eps in [0.0, 0.13, 0.5] {
            let plain = analytic((0.0, 0.5)).at(eps).unwrap().build(&SolverOverrides::default()).unwrap();
            let mut with = a.to_vec();
            with.push(eps);
            assert_eq!(d.respond(&x, &with).unwrap(), plain.respond(&x, &a).unwrap());
        }
        // an ODE device too, through its own solver
        let ode = ConditionedConfig {
            constant: "i_s".into(),
            from: 1e-10,
            to: 1e-8,
            device: Box::new(DeviceConfig::builtin("diode-node", 2).unwrap()),
        };
        let d = ConditionedDevice::new(&ode, &SolverOverrides::default()).unwrap();
        let plain = ode.at(3e-9).unwrap().build(&SolverOverrides::default()).unwrap();
        assert_eq!(
            d.respond(&[0.4, -0.2], &[0.5, 0.1, 3e-9]).unwrap(),
            plain.respond(&[0.4, -0.2], &[0.5, 0.1]).unwrap()
        );
        assert!(d.solver().is_some());
    }

    #[test]
    fn refuses_bad_ranges_unknown_constants_and_diffsl() {
        let err =
            |c: &ConditionedConfig| ConditionedDevice::new(c, &SolverOverrides::default()).err().unwrap().to_string();
        assert!(err(&analytic((0.5, 0.5))).contains("from < to"));
        let mut c = analytic((0.0, 1.0));
        c.constant = "gain".into();
        assert!(err(&c).contains("gain"), "{}", err(&c));
        *c.device =
            DeviceConfig::Diffsl(super::super::DiffSlRef { file: "dev.toml".into(), constants: Default::default() });
        assert!(err(&c).contains("DiffSL"), "{}", err(&c));
        let toml_text = "kind = \"conditioned\"\nconstant = \"eps\"\nfrom = 0.0\nto = 0.5\n[device]\nkind = \"analytic\"\nfan_in = 2\n";
        let cfg: DeviceConfig = toml::from_str(toml_text).unwrap();
        assert_eq!(cfg.build(&SolverOverrides::default()).unwrap().spec().n_params(), 3);
    }
}
