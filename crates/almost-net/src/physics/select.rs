//! Which hardware answers for a network: the nominal devices, or perturbed instances.

use almost_surrogate::SurrogateMeta;

use crate::error::Result;
use crate::network::chain::DeviceNetwork;
use crate::network::hardware_config::HardwareConfig;
use crate::physics::hardware::{Hardware, NominalHardware};
use crate::physics::imperfect::PerturbedHardware;

/// The hardware described by `cfg` for this network (each layer's device rebuilt from its
/// surrogate's metadata): nominal devices, or perturbed instances.
pub fn hardware_for(network: &DeviceNetwork, cfg: &HardwareConfig) -> Result<Box<dyn Hardware>> {
    hardware_from_metas(network, &network.metas()?, cfg)
}

/// [`hardware_for`] with each layer's device rebuilt from `metas` (a layer's solver there is
/// the one its devices are solved with).
pub fn hardware_from_metas(
    network: &DeviceNetwork,
    metas: &[SurrogateMeta],
    cfg: &HardwareConfig,
) -> Result<Box<dyn Hardware>> {
    if cfg.variability == 0.0 && cfg.mismatch == 0.0 && cfg.read_noise == 0.0 {
        return Ok(Box::new(NominalHardware::from_metas(metas)?));
    }
    let devices: Vec<usize> = network.layers.iter().map(|l| l.devices()).collect();
    Ok(Box::new(PerturbedHardware::build(metas, &devices, cfg)?))
}
