//! The physical devices a trained network is run on.

use std::sync::Arc;

use almost_sim::DeviceModel;
use almost_sim::solver::SolverOverrides;
use almost_surrogate::SurrogateMeta;

use crate::error::{NetError, Result};

/// What answers for device `device` of layer `layer` on real hardware (or its simulation).
pub trait Hardware: Sync {
    /// The physical response of one device instance.
    fn respond(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>>;
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
    let overrides = meta.solver.as_ref().map(SolverOverrides::from).unwrap_or_default();
    let device = meta.device_config.build(&overrides)?;
    if device.spec().hash() != meta.device_hash {
        return Err(NetError::dimension(
            layer,
            format!(
                "the device rebuilt for the surrogate of {} no longer matches its hash: device code changed",
                meta.device.kind
            ),
        ));
    }
    Ok(device)
}

impl Hardware for NominalHardware {
    fn respond(&self, layer: usize, _device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>> {
        almost_sim::respond_guarded(self.devices[layer].as_ref(), x, a)
    }
}
