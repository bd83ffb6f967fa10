//! The one host-side forward pass through the devices: every layer's inputs computed in f64
//! from the previous layer's physical outputs, every device solved by the hardware (in
//! parallel), or with its exact derivatives ([`forward_host_derivatives`]). Evaluation on physics, the
//! physics-aware step and the exact step all run through it.

use crate::error::{NetError, Result};
use crate::network::chain::DeviceNetwork;
use crate::physics::hardware::{Hardware, LayerCall};
use crate::physics::imperfect::quantize;

/// One layer of a host pass over a batch.
#[derive(Clone, Debug, Default)]
pub struct LayerPass {
    /// Device inputs, row-major `[batch, devices, fan_in]`.
    pub x: Vec<f64>,
    /// Device outputs passed on, row-major `[batch, devices]` (failed solves replaced by the
    /// caller's fallback).
    pub out: Vec<f64>,
    /// Solves that failed.
    pub failed: usize,
    /// dy/dx `[batch, devices, fan_in]` and dy/dA `[batch, devices, n_a]` of every call, when asked.
    pub derivatives: Option<(Vec<f64>, Vec<f64>)>,
}

/// A in host memory as the hardware sees it (quantised to `bits` if non-zero), per layer.
pub fn hardware_a(network: &DeviceNetwork, bits: u32) -> Vec<Vec<f64>> {
    network
        .layers
        .iter()
        .zip(network.a_values())
        .map(|(layer, mut a)| {
            quantize(&mut a, &layer.a_lo, &layer.a_hi, bits);
            a
        })
        .collect()
}

/// What replaces the outputs of failed solves: given the layer and its device inputs, the
/// values for every call of the layer (only those of failed calls are used).
pub type Fallback<'a> = &'a dyn Fn(usize, &[f64]) -> Vec<f64>;

/// Runs `input` (row-major `[batch, width]`) through every layer on `hardware` with the
/// parameters `a_host`; failed solves are replaced by `fallback`'s values.
pub fn forward_host(
    network: &DeviceNetwork,
    hardware: &dyn Hardware,
    a_host: &[Vec<f64>],
    input: &[f64],
    batch: usize,
    fallback: Fallback<'_>,
) -> Vec<LayerPass> {
    let solve = |l: usize, call: &LayerCall<'_>| -> std::result::Result<LayerPass, std::convert::Infallible> {
        let outputs = hardware.respond_layer(call);
        let failed = outputs.iter().filter(|o| o.is_none()).count();
        let filled = if failed > 0 { fallback(l, call.x) } else { Vec::new() };
        let out = outputs
            .iter()
            .enumerate()
            .map(|(c, o)| o.unwrap_or_else(|| filled.get(c).copied().unwrap_or(0.0)))
            .collect();
        Ok(LayerPass { out, failed, ..Default::default() })
    };
    // failures are filled in: this solve cannot fail
    match pass_layers(network, a_host, input, batch, &solve) {
        Ok(passes) => passes,
        Err(never) => match never {},
    }
}

/// [`forward_host`] where every device also returns dy/dx and dy/dA; a device without
/// derivatives, or a failed solve, is an error naming the layer.
pub fn forward_host_derivatives(
    network: &DeviceNetwork,
    hardware: &dyn Hardware,
    a_host: &[Vec<f64>],
    input: &[f64],
    batch: usize,
) -> Result<Vec<LayerPass>> {
    let solve = |l: usize, call: &LayerCall<'_>| -> Result<LayerPass> {
        let output = call.output;
        let jacs = hardware.jacobian_layer(call);
        let (mut y, mut dx, mut da) = (Vec::with_capacity(jacs.len()), Vec::new(), Vec::new());
        for jac in jacs {
            let jac = jac
                .ok_or_else(|| NetError::NoDerivatives { layer: l, kind: hardware.kind(l) })?
                .map_err(|source| NetError::Derivatives { layer: l, source })?;
            y.push(jac.y[output]);
            dx.extend_from_slice(&jac.dy_dx[output]);
            da.extend_from_slice(&jac.dy_da[output]);
        }
        Ok(LayerPass { out: y, derivatives: Some((dx, da)), ..Default::default() })
    };
    pass_layers(network, a_host, input, batch, &solve)
}

type Solve<'a, E> = &'a dyn Fn(usize, &LayerCall<'_>) -> std::result::Result<LayerPass, E>;

fn pass_layers<E>(
    network: &DeviceNetwork,
    a_host: &[Vec<f64>],
    input: &[f64],
    batch: usize,
    solve: Solve<'_, E>,
) -> std::result::Result<Vec<LayerPass>, E> {
    let mut passes = Vec::with_capacity(network.layers.len());
    let mut u = input.to_vec();
    for (l, layer) in network.layers.iter().enumerate() {
        let m = layer.devices();
        let x = layer.device_inputs_host(&u, batch);
        let a = &a_host[l];
        let call =
            LayerCall { layer: l, x: &x, fan_in: layer.fan_in, a, n_a: a.len() / m.max(1), output: layer.output };
        let mut pass = solve(l, &call)?;
        pass.x = x;
        u.clone_from(&pass.out);
        passes.push(pass);
    }
    Ok(passes)
}
