//! The physical devices a network runs on: nominal, perturbed, or (for tests) the surrogate.

use std::sync::Arc;

use rayon::prelude::*;

use almost_sim::{DeviceModel, Jacobian};
use almost_surrogate::SurrogateMeta;

use crate::error::{NetError, Result};

/// One layer's device calls for a batch: `x` is `[batch, devices, fan_in]` row-major and `a`
/// is `[devices, n_a]` row-major.
#[derive(Clone, Copy, Debug)]
pub struct LayerCall<'a> {
    /// Layer index.
    pub layer: usize,
    /// Device inputs.
    pub x: &'a [f64],
    /// Inputs per device.
    pub fan_in: usize,
    /// Device parameters.
    pub a: &'a [f64],
    /// Parameters per device.
    pub n_a: usize,
    /// Which device output is wanted.
    pub output: usize,
}

impl LayerCall<'_> {
    /// Devices in the layer.
    pub fn devices(&self) -> usize {
        self.a.len() / self.n_a.max(1)
    }

    /// Number of (sample, device) calls.
    pub fn calls(&self) -> usize {
        self.x.len() / self.fan_in.max(1)
    }

    /// Inputs and parameters of call `c` (device `c % devices`).
    pub fn call(&self, c: usize) -> (usize, &[f64], &[f64]) {
        let j = c % self.devices();
        (j, &self.x[c * self.fan_in..(c + 1) * self.fan_in], &self.a[j * self.n_a..(j + 1) * self.n_a])
    }
}

/// What answers for device `device` of layer `layer` on real hardware (or its simulation).
pub trait Hardware: Sync {
    /// The physical response of one device instance.
    fn respond(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>>;

    /// Outputs and exact derivatives of one device instance, if the device provides them.
    fn jacobian(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> Option<almost_sim::Result<Jacobian>>;

    /// Where layer `layer`'s derivatives come from (for the exact mode's messages), if known.
    fn derivative_source(&self, _layer: usize) -> Option<almost_sim::DerivativeSource> {
        None
    }

    /// The name of layer `layer`'s device, for messages.
    fn kind(&self, _layer: usize) -> String {
        "layer's".into()
    }

    /// The wanted output of every call of a layer; `None` where a solve failed. Solves in
    /// parallel (rayon) by default.
    fn respond_layer(&self, call: &LayerCall<'_>) -> Vec<Option<f64>> {
        (0..call.calls())
            .into_par_iter()
            .map(|c| {
                let (j, x, a) = call.call(c);
                self.respond(call.layer, j, x, a).ok().and_then(|y| y.get(call.output).copied())
            })
            .collect()
    }
}

/// Every device instance of a layer is the nominal device its surrogate was fitted to.
pub struct NominalHardware {
    /// One device model per layer.
    pub devices: Vec<Arc<dyn DeviceModel>>,
}

impl NominalHardware {
    /// Rebuilds each layer's device from its surrogate's metadata, with the dataset's solver,
    /// and checks that the device still hashes to what the surrogate was fitted to.
    pub fn from_metas(metas: &[SurrogateMeta]) -> Result<Self> {
        let devices = metas.iter().enumerate().map(|(l, m)| rebuild(l, m)).collect::<Result<_>>()?;
        Ok(Self { devices })
    }
}

/// The device behind a surrogate, checked against its recorded hash.
pub fn rebuild(layer: usize, meta: &SurrogateMeta) -> Result<Arc<dyn DeviceModel>> {
    almost_sim::devices::rebuild_recorded(&meta.device_config, meta.solver.as_ref(), &meta.device_hash).map_err(|e| {
        match e {
            almost_sim::SimError::DeviceChanged { kind } => NetError::DeviceChanged { layer, kind },
            other => other.into(),
        }
    })
}

impl Hardware for NominalHardware {
    fn kind(&self, layer: usize) -> String {
        self.devices.get(layer).map_or_else(|| "unknown".into(), |d| d.spec().kind.clone())
    }

    fn respond(&self, layer: usize, _device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>> {
        almost_sim::respond_guarded(self.devices[layer].as_ref(), x, a)
    }

    fn jacobian(&self, layer: usize, _device: usize, x: &[f64], a: &[f64]) -> Option<almost_sim::Result<Jacobian>> {
        // the device's own derivatives, or finite differences of its solve
        Some(almost_sim::derivatives(self.devices[layer].as_ref(), x, a))
    }

    fn derivative_source(&self, layer: usize) -> Option<almost_sim::DerivativeSource> {
        self.devices.get(layer).map(|d| almost_sim::derivatives::derivative_source(d.as_ref()))
    }
}
