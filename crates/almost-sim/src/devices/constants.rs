//! Named physical constants with defaults, overridable from a config's `constants` table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};

/// `[device]` table shared by the built-in ODE devices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OdeDeviceConfig {
    /// Number of inputs n (each input comes with one parameter A_i).
    pub fan_in: usize,
    /// Overrides of the device's physical constants, by name.
    #[serde(default)]
    pub constants: BTreeMap<String, f64>,
}

/// One constant: name, default value, and a description with its unit.
pub type ConstantDef = (&'static str, f64, &'static str);

/// Merges `overrides` into `defaults`; unknown names and non-finite values are errors.
pub fn resolve(
    device: &str,
    defaults: &[ConstantDef],
    overrides: &BTreeMap<String, f64>,
) -> Result<BTreeMap<String, f64>> {
    let mut out: BTreeMap<String, f64> = defaults.iter().map(|(k, v, _)| (k.to_string(), *v)).collect();
    for (k, v) in overrides {
        if !out.contains_key(k) {
            let known: Vec<&str> = defaults.iter().map(|d| d.0).collect();
            return Err(SimError::config(
                format!("device '{device}'"),
                format!("unknown constant '{k}'; known constants: {}", known.join(", ")),
            ));
        }
        if !v.is_finite() {
            return Err(SimError::config(format!("device '{device}'"), format!("constant '{k}' = {v} is not finite")));
        }
        out.insert(k.clone(), *v);
    }
    Ok(out)
}

/// Checks the fan-in of a built-in device.
pub fn check_fan_in(device: &str, fan_in: usize) -> Result<()> {
    if fan_in == 0 || fan_in > 4096 {
        return Err(SimError::config(format!("device '{device}'"), format!("fan_in = {fan_in} must lie in 1..=4096")));
    }
    Ok(())
}

/// Requires a constant to be strictly positive.
pub fn require_positive(device: &str, constants: &BTreeMap<String, f64>, names: &[&str]) -> Result<()> {
    for name in names {
        let v = constants.get(*name).copied().unwrap_or(f64::NAN);
        if v.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(SimError::config(
                format!("device '{device}'"),
                format!("constant '{name}' = {v} must be positive"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_constant_is_named() {
        let defs: [ConstantDef; 1] = [("c", 1.0, "F")];
        let over = BTreeMap::from([("C".to_string(), 2.0)]);
        let err = resolve("d", &defs, &over).unwrap_err().to_string();
        assert!(err.contains("unknown constant 'C'") && err.contains("known constants: c"), "{err}");
        let over = BTreeMap::from([("c".to_string(), 2.0)]);
        assert_eq!(resolve("d", &defs, &over).unwrap()["c"], 2.0);
    }
}
