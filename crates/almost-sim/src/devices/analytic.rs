//! `analytic`: the seed's almost neuron, in closed form (no ODE).
//!
//! y = f_nl( sum_i A_i x_i - eps * sum_i A_i x_i^2 ),  f_nl in {tanh, sigmoid},
//! x_i in [-1, 1], A_i in [-1, 1], eps = 0.1 by default. The quadratic term is the
//! "almost": a dot-product neuron with a small even-order distortion in each input line.
//! It is the reference device every later stage is validated against.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};
use crate::model::DeviceModel;
use crate::spec::{DeviceSpec, Quantity};

/// Output nonlinearity of the analytic neuron.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// Hyperbolic tangent, output in (-1, 1).
    #[default]
    Tanh,
    /// Logistic sigmoid, output in (0, 1).
    Sigmoid,
}

impl Activation {
    /// Applies the nonlinearity.
    pub fn apply(self, z: f64) -> f64 {
        match self {
            Self::Tanh => z.tanh(),
            Self::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        }
    }
}

/// `[device]` table for `kind = "analytic"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticConfig {
    /// Number of inputs n.
    pub fan_in: usize,
    /// Output nonlinearity.
    #[serde(default)]
    pub activation: Activation,
    /// Strength of the quadratic distortion.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

pub(crate) fn default_eps() -> f64 {
    0.1
}

/// The closed-form almost neuron.
#[derive(Clone, Debug)]
pub struct AnalyticNeuron {
    spec: DeviceSpec,
    activation: Activation,
    eps: f64,
}

impl AnalyticNeuron {
    /// Builds the device; errors on zero fan-in or non-finite eps.
    pub fn new(config: &AnalyticConfig) -> Result<Self> {
        if config.fan_in == 0 {
            return Err(SimError::config("device 'analytic'", "fan_in must be at least 1"));
        }
        if !config.eps.is_finite() {
            return Err(SimError::config("device 'analytic'", format!("eps = {} is not finite", config.eps)));
        }
        let (lo, hi) = match config.activation {
            Activation::Tanh => (-1.0, 1.0),
            Activation::Sigmoid => (0.0, 1.0),
        };
        let n = config.fan_in;
        let spec = DeviceSpec {
            kind: "analytic".into(),
            summary: format!("y = {:?}(sum A_i x_i - eps sum A_i x_i^2), closed form", config.activation)
                .to_lowercase(),
            inputs: Quantity::family("x", "1", -1.0, 1.0, n),
            params: Quantity::family("A", "1", -1.0, 1.0, n),
            outputs: vec![Quantity::new("y", "1", lo, hi)],
            constants: BTreeMap::from([("eps".to_string(), config.eps)]),
            source: format!("activation={:?}", config.activation),
        };
        Ok(Self { spec, activation: config.activation, eps: config.eps })
    }

    /// The pre-activation sum_i A_i (x_i - eps x_i^2).
    pub fn preactivation(&self, x: &[f64], a: &[f64]) -> f64 {
        x.iter().zip(a).map(|(&x, &a)| a * x - self.eps * a * x * x).sum()
    }
}

impl DeviceModel for AnalyticNeuron {
    fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    fn respond(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>> {
        self.spec.check_dims(x, a)?;
        Ok(vec![self.activation.apply(self.preactivation(x, a))])
    }

    /// Closed form: dy/dx_i = f'(z) A_i (1 - 2 eps x_i), dy/dA_i = f'(z) (x_i - eps x_i^2).
    fn provides_sensitivities(&self) -> bool {
        true
    }

    fn sensitivities(&self, x: &[f64], a: &[f64]) -> Option<Result<crate::model::Jacobian>> {
        Some(self.spec.check_dims(x, a).map(|()| {
            let y = self.activation.apply(self.preactivation(x, a));
            let slope = match self.activation {
                Activation::Tanh => 1.0 - y * y,
                Activation::Sigmoid => y * (1.0 - y),
            };
            crate::model::Jacobian {
                y: vec![y],
                dy_dx: vec![x.iter().zip(a).map(|(x, a)| slope * a * (1.0 - 2.0 * self.eps * x)).collect()],
                dy_da: vec![x.iter().map(|x| slope * (x - self.eps * x * x)).collect()],
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_closed_form_and_dot_product_limit() {
        let cfg = AnalyticConfig { fan_in: 3, activation: Activation::Tanh, eps: 0.1 };
        let d = AnalyticNeuron::new(&cfg).unwrap();
        let (x, a) = ([0.5, -0.2, 0.9], [0.3, -0.7, 0.1]);
        let z: f64 = (0..3).map(|i| a[i] * x[i] - 0.1 * a[i] * x[i] * x[i]).sum();
        assert!((d.respond(&x, &a).unwrap()[0] - z.tanh()).abs() < 1e-15);
        // eps = 0 is the plain dot-product neuron
        let d0 = AnalyticNeuron::new(&AnalyticConfig { eps: 0.0, ..cfg }).unwrap();
        let dot: f64 = (0..3).map(|i| a[i] * x[i]).sum();
        assert!((d0.respond(&x, &a).unwrap()[0] - dot.tanh()).abs() < 1e-15);
    }

    #[test]
    fn sigmoid_range_and_errors() {
        let cfg = AnalyticConfig { fan_in: 1, activation: Activation::Sigmoid, eps: 0.1 };
        let d = AnalyticNeuron::new(&cfg).unwrap();
        assert!((d.respond(&[0.0], &[1.0]).unwrap()[0] - 0.5).abs() < 1e-15);
        assert_eq!(d.spec().outputs[0].lo, 0.0);
        assert!(AnalyticNeuron::new(&AnalyticConfig { fan_in: 0, ..cfg }).is_err());
    }
}
