//! What a device declares about itself: its inputs x, parameters A, outputs and constants.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, SimError};

/// One named scalar quantity with a unit and an interval.
///
/// For inputs x the interval is the range the device is meant to be driven over; for
/// parameters A it is the *physical* bound that a trained network must never leave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantity {
    /// Name, e.g. `x3` or `A3`.
    pub name: String,
    /// SI unit or `1` for dimensionless.
    pub unit: String,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
}

impl Quantity {
    /// A quantity with the given name, unit and interval.
    pub fn new(name: impl Into<String>, unit: impl Into<String>, lo: f64, hi: f64) -> Self {
        Self { name: name.into(), unit: unit.into(), lo, hi }
    }

    /// `n` quantities named `{prefix}0..{prefix}{n-1}` sharing unit and interval.
    pub fn family(prefix: &str, unit: &str, lo: f64, hi: f64, n: usize) -> Vec<Self> {
        (0..n).map(|i| Self::new(format!("{prefix}{i}"), unit, lo, hi)).collect()
    }

    /// Width of the interval.
    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }

    /// Whether `v` lies inside the interval (inclusive).
    pub fn contains(&self, v: f64) -> bool {
        v >= self.lo && v <= self.hi
    }
}

/// The full self-description of a device; its hash identifies the physics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// Device kind, e.g. `diode-node`.
    pub kind: String,
    /// One-line description of the physics.
    pub summary: String,
    /// Inputs x (fan-in n = `inputs.len()`).
    pub inputs: Vec<Quantity>,
    /// Tunable parameters A with their physical bounds.
    pub params: Vec<Quantity>,
    /// Outputs y (interval = the expected output range, informative only).
    pub outputs: Vec<Quantity>,
    /// Fixed physical constants, by name, in SI units unless the doc says otherwise.
    pub constants: BTreeMap<String, f64>,
    /// Extra identity (e.g. the DiffSL source text) that changes the physics but is not a number.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

impl DeviceSpec {
    /// Fan-in: number of inputs.
    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Number of tunable parameters.
    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    /// Number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Hex SHA-256 of the canonical JSON of the spec: equal hashes mean equal physics.
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex_sha256(&json)
    }

    /// Checks that every interval is finite and non-empty and names are unique.
    pub fn validate(&self) -> Result<()> {
        let origin = format!("device '{}'", self.kind);
        if self.outputs.is_empty() {
            return Err(SimError::config(origin, "declares no outputs"));
        }
        let mut seen = std::collections::HashSet::new();
        for q in self.inputs.iter().chain(&self.params).chain(&self.outputs) {
            if !(q.lo.is_finite() && q.hi.is_finite()) || q.lo >= q.hi {
                return Err(SimError::config(
                    origin,
                    format!("quantity '{}' has an empty or non-finite range [{}, {}]", q.name, q.lo, q.hi),
                ));
            }
            if !seen.insert(q.name.as_str()) {
                return Err(SimError::config(origin, format!("quantity name '{}' is used twice", q.name)));
            }
        }
        for (k, v) in &self.constants {
            if !v.is_finite() {
                return Err(SimError::config(origin, format!("constant '{k}' = {v} is not finite")));
            }
        }
        Ok(())
    }

    /// Checks the lengths of an (x, A) pair against the spec.
    pub fn check_dims(&self, x: &[f64], a: &[f64]) -> Result<()> {
        if x.len() != self.n_inputs() {
            return Err(SimError::Dimension {
                device: self.kind.clone(),
                what: "x",
                expected: self.n_inputs(),
                found: x.len(),
            });
        }
        if a.len() != self.n_params() {
            return Err(SimError::Dimension {
                device: self.kind.clone(),
                what: "A",
                expected: self.n_params(),
                found: a.len(),
            });
        }
        Ok(())
    }
}

/// Lower-case hex SHA-256 of some bytes.
pub fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DeviceSpec {
        DeviceSpec {
            kind: "t".into(),
            summary: String::new(),
            inputs: Quantity::family("x", "V", -1.0, 1.0, 2),
            params: Quantity::family("A", "1", -1.0, 1.0, 2),
            outputs: vec![Quantity::new("y", "V", -1.0, 1.0)],
            constants: BTreeMap::from([("c".to_string(), 1.0)]),
            source: String::new(),
        }
    }

    #[test]
    fn hash_changes_with_constants() {
        let a = spec();
        let mut b = spec();
        b.constants.insert("c".into(), 2.0);
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), spec().hash());
        assert_eq!(a.hash().len(), 64);
    }

    #[test]
    fn validate_rejects_empty_range_and_duplicates() {
        let mut s = spec();
        s.inputs[0].hi = -1.0;
        assert!(s.validate().unwrap_err().to_string().contains("empty"));
        let mut s = spec();
        s.params[1].name = "A0".into();
        assert!(s.validate().unwrap_err().to_string().contains("twice"));
        assert!(spec().validate().is_ok());
    }

    #[test]
    fn check_dims_names_the_vector() {
        let err = spec().check_dims(&[0.0], &[0.0, 0.0]).unwrap_err().to_string();
        assert!(err.contains("x has length 1"), "{err}");
    }
}
