//! The `[hardware]` table of a network config and its command-line overrides.

use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};

/// The `[hardware]` table: how the physical network differs from the nominal devices.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HardwareConfig {
    /// Relative standard deviation of each varied constant, per device instance (0 = none).
    pub variability: f64,
    /// Constants that vary (empty = the device kind's defaults, e.g. c, g_max, i_s for the
    /// diode node).
    pub vary: Vec<String>,
    /// Relative standard deviation of each realised parameter A (conductance mismatch).
    pub mismatch: f64,
    /// Standard deviation of additive read noise on every device output.
    pub read_noise: f64,
    /// Quantise A to this many bits within its bounds (0 = no quantisation).
    pub bits: u32,
    /// Seed of the instances and the noise.
    pub seed: u64,
}

impl HardwareConfig {
    /// Whether the hardware is the nominal device everywhere.
    pub fn is_nominal(&self) -> bool {
        self.variability == 0.0 && self.mismatch == 0.0 && self.read_noise == 0.0 && self.bits == 0
    }

    /// Checks the values.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let sigma_ok = (0.0..0.33).contains(&self.variability) && (0.0..0.33).contains(&self.mismatch);
        if !(sigma_ok && self.read_noise >= 0.0 && self.read_noise.is_finite()) {
            return Err(NetError::config(
                origin,
                "hardware.variability and hardware.mismatch must lie in [0, 0.33) and read_noise be >= 0",
            ));
        }
        if self.bits > 24 {
            return Err(NetError::config(origin, format!("hardware.bits = {} must be at most 24", self.bits)));
        }
        Ok(())
    }
}

/// Command-line style overrides of a [`HardwareConfig`] (unset fields keep the base value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HardwareOverrides {
    /// Variability.
    pub variability: Option<f64>,
    /// Conductance mismatch.
    pub mismatch: Option<f64>,
    /// Read noise.
    pub read_noise: Option<f64>,
    /// Bits of A.
    pub bits: Option<u32>,
    /// Seed.
    pub seed: Option<u64>,
}

impl HardwareOverrides {
    /// `base` with the set fields replaced.
    pub fn apply(&self, base: &HardwareConfig) -> HardwareConfig {
        HardwareConfig {
            variability: self.variability.unwrap_or(base.variability),
            vary: base.vary.clone(),
            mismatch: self.mismatch.unwrap_or(base.mismatch),
            read_noise: self.read_noise.unwrap_or(base.read_noise),
            bits: self.bits.unwrap_or(base.bits),
            seed: self.seed.unwrap_or(base.seed),
        }
    }
}
